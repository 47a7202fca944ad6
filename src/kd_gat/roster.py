"""The roster: every detector and fusion pair of the project, declared once.

Every namespaced pipeline (training, distillation, scoring, fusion), the evaluation and
reporting inputs, the parameter checks and the tests are generated from these two tuples, and
a model's name is its Kedro namespace (`gat_teacher.model`, `gat_teacher.window_outputs`, ...).
Adding a detector or a fusion pair is one entry here; its artifacts come from the catalog's
`{namespace}.*` factories. Plain Python (no torch), so importing it is cheap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

Kind = Literal["gat", "vgae"]


@dataclass(frozen=True)
class Detector:
    """A window detector: `kind` (model family), `scale` (a `model_scales` preset) and, for a
    distilled student, the `teacher` it learns from (trained in the distillation stage);
    `profile_kd`: the student also learns its teacher's outputs on the profiles' unlabelled
    windows of other cars (`distillation_graphs`)."""

    name: str
    kind: Kind
    scale: str
    teacher: str | None = None
    profile_kd: bool = False


@dataclass(frozen=True)
class FusionPair:
    """A fusion namespace: the VGAE and the GAT whose per-window outputs it fuses."""

    name: str
    vgae: str
    gat: str


DETECTORS: tuple[Detector, ...] = (
    Detector("gat_teacher", "gat", "large"),
    Detector("gat_student", "gat", "small"),
    Detector("gat_student_kd", "gat", "small", teacher="gat_teacher"),
    Detector("gat_student_pkd", "gat", "small", teacher="gat_teacher", profile_kd=True),
    Detector("vgae_teacher", "vgae", "large"),
    Detector("vgae_student", "vgae", "small"),
    Detector("vgae_student_kd", "vgae", "small", teacher="vgae_teacher"),
    Detector("vgae_student_pkd", "vgae", "small", teacher="vgae_teacher", profile_kd=True),
)

FUSIONS: tuple[FusionPair, ...] = (
    FusionPair("fusion_teacher", vgae="vgae_teacher", gat="gat_teacher"),
    FusionPair("fusion_student", vgae="vgae_student_kd", gat="gat_student_kd"),
)


# Ablation runs train a part of the roster: `KD_GAT_DETECTORS=gat_student,vgae_student kedro run`
# generates every pipeline for those detectors only (a distilled student needs its teacher listed
# too) and drops the fusion pairs they do not complete. Unset: the whole roster.
SELECTION_VARIABLE = "KD_GAT_DETECTORS"


def select(
    names: str | None, detectors: tuple[Detector, ...], fusions: tuple[FusionPair, ...]
) -> tuple[tuple[Detector, ...], tuple[FusionPair, ...]]:
    """The detectors named in the comma-separated `names` (all when empty or None) and the fusion
    pairs whose two members are among them; an unknown name is a ValueError listing the roster."""
    if not names:
        return detectors, fusions
    wanted = {n.strip() for n in names.split(",") if n.strip()}
    unknown = sorted(wanted - {d.name for d in detectors})
    if unknown:
        raise ValueError(
            f"{SELECTION_VARIABLE}: unknown detector(s) {unknown}; the roster has "
            f"{[d.name for d in detectors]}"
        )
    kept = tuple(d for d in detectors if d.name in wanted)
    return kept, tuple(f for f in fusions if {f.vgae, f.gat} <= wanted)


DETECTORS, FUSIONS = select(os.environ.get(SELECTION_VARIABLE), DETECTORS, FUSIONS)


def trained() -> tuple[Detector, ...]:
    """Detectors trained alone (the training stage)."""
    return tuple(d for d in DETECTORS if d.teacher is None)


def distilled() -> tuple[Detector, ...]:
    """Students trained from a frozen teacher (the distillation stage)."""
    return tuple(d for d in DETECTORS if d.teacher is not None)


def detector_names() -> tuple[str, ...]:
    return tuple(d.name for d in DETECTORS)


def fusion_names() -> tuple[str, ...]:
    return tuple(f.name for f in FUSIONS)


ALARM_OR = "alarm_or"  # method name of a fusion pair's alarm-level OR (`<pair>.alarm_or`)
# `inference.detector` value that deploys the evaluation stage's choice (`kd_gat.deployment`)
VALIDATED = "validated"


def deployable_names() -> tuple[str, ...]:
    """What batch inference can deploy: a detector, or a fusion pair's alarm-level OR."""
    return detector_names() + tuple(f"{f.name}.{ALARM_OR}" for f in FUSIONS)


def deployed_members(name: str) -> tuple[str, ...]:
    """The detectors a deployable `name` runs: itself, or its pair's VGAE and GAT."""
    if name in detector_names():
        return (name,)
    for f in FUSIONS:
        if name == f"{f.name}.{ALARM_OR}":
            return (f.vgae, f.gat)
    raise ValueError(f"{name!r} is not deployable: one of {list(deployable_names())}")


def deployable_for(members: tuple[str, ...] | list[str]) -> str:
    """The deployable name that runs exactly `members` (inverse of `deployed_members`)."""
    for name in deployable_names():
        if sorted(deployed_members(name)) == sorted(members):
            return name
    raise ValueError(f"no deployable detector runs exactly {sorted(members)}")


def check_roster(
    detectors: tuple[Detector, ...] = DETECTORS, fusions: tuple[FusionPair, ...] = FUSIONS
) -> None:
    """Raise ValueError on a roster that cannot be built: duplicate names, a teacher that is
    missing, distilled itself or of another kind, a fusion pair of the wrong kinds."""
    names = [d.name for d in detectors] + [f.name for f in fusions]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"roster: names used twice: {duplicates}")
    by_name = {d.name: d for d in detectors}
    for d in detectors:
        if d.profile_kd and d.teacher is None:
            raise ValueError(f"roster: {d.name} learns on profile windows but has no teacher")
        if d.teacher is None:
            continue
        teacher = by_name.get(d.teacher)
        if teacher is None or teacher.teacher is not None or teacher.kind != d.kind:
            raise ValueError(
                f"roster: {d.name}'s teacher {d.teacher!r} must be a {d.kind} detector "
                "trained alone"
            )
    for f in fusions:
        for kind in ("vgae", "gat"):
            member = by_name.get(getattr(f, kind))
            if member is None or member.kind != kind:
                raise ValueError(f"roster: {f.name}.{kind} must name a {kind} detector")


check_roster()
