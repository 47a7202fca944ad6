"""The injected-attack check and the deployment choice on the models of a finished run.

    python benchmarks/injected_check.py --project <folder> --dataset <name> [--out CSV]

Runs this checkout's `build_injected_graphs`, `score_injected` (per detector of the roster),
`injected_detection` and `kd_gat.deployment.choose_deployment` on what an earlier whole-roster
`kedro run` left in `<folder>/data` (its profile recordings, matches, vocabulary, feature
statistics, graph parameters, models, thresholds, validation outputs and model sizes), with the
default `profiles.injection` and `evaluation` parameters: the check a run of today's pipeline
makes, without training again. Prints each candidate's recall per (car, injected kind), and the
deployment that run chose beside the one chosen now.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from kd_gat import deployment, roster
from kd_gat.params.evaluation import EvaluationParams
from kd_gat.params.profiles import ProfilesParams
from kd_gat.params.scoring import ScoringParams
from kd_gat.pipelines.calibration.nodes import injected_detection, score_injected
from kd_gat.pipelines.graphs.nodes import build_injected_graphs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", required=True, type=Path)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    bootstrap_project(args.project)
    session = KedroSession.create(
        project_path=args.project, runtime_params={"dataset": args.dataset}
    )
    catalog = session.load_context().catalog
    profiles = ProfilesParams().model_dump()
    scoring = ScoringParams(persistence={}).model_dump()  # as the run scored: no persistence
    graphs = build_injected_graphs(
        catalog.load("calibration_frames"),
        catalog.load("vehicle_profiles"),
        catalog.load("calibration_matches"),
        catalog.load("vocabulary"),
        catalog.load("feature_stats"),
        catalog.load("graphs_report")["params"],
        profiles,
    )
    outputs = {
        d.name: score_injected(
            catalog.load(f"{d.name}.model"), graphs, scoring, profiles, detector=d
        )
        for d in roster.DETECTORS
    }
    table = injected_detection(catalog.load("profile_thresholds"), **outputs)
    if args.out:
        table.to_csv(args.out, index=False)
    p = EvaluationParams()
    choice = deployment.choose_deployment(
        {d: catalog.load(f"{d}.window_outputs") for d in roster.detector_names()},
        catalog.load("zero_shot_thresholds"),
        catalog.load("model_sizes"),
        p.deployment_tolerance,
        table,
        p.min_injected_recall,
    )
    before = json.loads(
        (args.project / f"data/08_reporting/{args.dataset}/deployment_choice.json").read_text()
    )
    pd.set_option("display.width", 250)
    print(table.pivot_table(index="model", columns=["vehicle", "kind"], values="recall").round(3))
    print(f"the run deployed: {before['detector']} ({before['why']})")
    print(f"chosen now: {choice['detector']} ({choice['why']})")


if __name__ == "__main__":
    main()
