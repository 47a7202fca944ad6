"""Metrics tables, leaderboard and plots built from per-window scores."""

import base64
import io

import numpy as np
import pandas as pd
import pytest
from kedro.io.core import DatasetError
from matplotlib.figure import Figure
from matplotlib.text import Text
from sklearn.metrics import roc_curve

from kd_gat import roster
from kd_gat.datasets.figures import FigureDataset
from kd_gat.metrics import binary_metrics
from kd_gat.reporting import (
    CLASS_NAMES,
    confusion_figures,
    curve_figures,
    leaderboard,
    leaderboard_html,
    leaderboard_markdown,
    learning_curves_figure,
    loss_name,
    metrics_table,
    model_styles,
    size_vs_metric_figure,
)


@pytest.fixture
def window_scores() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    parts = []
    for model, noise, threshold in (("good", 0.1, 0.5), ("poor", 0.6, 0.4)):
        for scenario in ("test_01_known_vehicle_known_attack", "test_05_suppress"):
            label = rng.integers(0, 2, 200)
            score = np.clip(label + rng.normal(0, noise, 200), 0, 1)
            parts.append(
                pd.DataFrame(
                    {
                        "model": model,
                        "scenario": scenario,
                        "window": np.arange(200),
                        "label": label,
                        "score": score,
                        "threshold": threshold,
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


def test_metrics_table_has_one_row_per_model_and_scenario(window_scores) -> None:
    table = metrics_table(window_scores)
    assert len(table) == 4
    assert {"model", "scenario", "f1", "auroc", "precision", "recall", "mcc"} <= set(table.columns)
    one = window_scores[
        (window_scores.model == "poor") & (window_scores.scenario == "test_05_suppress")
    ]
    expected = binary_metrics(one.label.to_numpy(), one.score.to_numpy(), 0.4)
    row = table[(table.model == "poor") & (table.scenario == "test_05_suppress")].iloc[0]
    for key, value in expected.items():
        assert row[key] == pytest.approx(value, nan_ok=True)


def test_metrics_table_rejects_two_thresholds_for_one_model(window_scores) -> None:
    window_scores.loc[0, "threshold"] = 0.9
    with pytest.raises(ValueError, match="one validation threshold"):
        metrics_table(window_scores)


def test_leaderboard_ranks_by_mean_mcc_and_renders(window_scores) -> None:
    sizes = pd.DataFrame(
        {"model": ["good", "poor"], "parameters": [1200, 100], "checkpoint_bytes": [5 << 20, 900]}
    )
    board = leaderboard(metrics_table(window_scores), sizes)
    assert list(board["model"]) == ["good", "poor"]
    assert board["mcc"].is_monotonic_decreasing
    assert "f1 test_05_suppress" in board.columns
    assert board.loc[0, "parameters"] == 1200
    assert board.loc[0, "best_in"] == "test_01_known_vehicle_known_attack test_05_suppress"
    assert board.loc[1, "best_in"] == ""
    md, html = leaderboard_markdown(board, caption="ranked by MCC"), leaderboard_html(board)
    assert md.count("\n|") >= 3  # header, rule, two rows
    assert "ranked by MCC" in md
    assert "1.2K" in md and "5.0 MB" in md and "900 B" in md  # noqa: PT018
    assert "**" in md  # the best F1 of a scenario in bold
    assert "nan" not in md.lower()
    assert "<table" in html and "<b>" in html  # noqa: PT018


def test_a_detector_that_flags_everything_ranks_below_a_useful_one() -> None:
    """60 % attack windows: flagging all of them gives F1 0.75, above a useful detector's 0.63;
    its MCC is 0, so it ranks below; a flag-nothing detector likewise."""
    label = np.array([1] * 60 + [0] * 40)
    useful = np.zeros(100)
    useful[:30] = useful[60:65] = 1.0  # 30 of the 60 attacks, 5 false alarms
    scores = pd.concat(
        [
            pd.DataFrame(
                {"model": m, "scenario": "s", "window": np.arange(100), "label": label,
                 "score": sc, "threshold": 0.5}
            )
            for m, sc in (("all", np.ones(100)), ("useful", useful), ("none", np.zeros(100)))
        ],
        ignore_index=True,
    )  # fmt: skip
    metrics = metrics_table(scores).set_index("model")
    assert metrics.loc["all", "f1"] > metrics.loc["useful", "f1"]
    board = leaderboard(metrics.reset_index())
    assert board["model"].tolist()[0] == "useful"
    assert board.set_index("model").loc["all", "flagged"] == 1.0
    assert board.set_index("model").loc["none", "flagged"] == 0.0


def small_texts(figure: Figure) -> list[tuple[float, str]]:
    """Every text drawn under 9 pt at the figure's own size (tick labels exist once drawn)."""
    figure.savefig(io.BytesIO(), format="png")
    return [
        (text.get_fontsize(), text.get_text())
        for text in figure.findobj(Text)
        if text.get_visible() and text.get_text().strip() and text.get_fontsize() < 9
    ]


def model_lines(ax) -> list:
    """The lines of models (their gid is the model's name), not the chance level."""
    return [line for line in ax.get_lines() if line.get_gid() not in (None, "chance")]


def test_curves_one_distinct_line_per_model_labelled(window_scores) -> None:
    metrics = metrics_table(window_scores).set_index(["model", "scenario"])
    for kind, metric, value in (("roc", "AUC", "auroc"), ("pr", "AP", "auprc")):
        figures = curve_figures(window_scores, kind)
        assert set(figures) == set(window_scores.scenario)
        for scenario, figure in figures.items():
            (ax,) = figure.axes
            lines = model_lines(ax)
            assert sorted(line.get_gid() for line in lines) == ["good", "poor"]
            pairs = {(line.get_color(), line.get_linestyle()) for line in lines}
            assert len(pairs) == len(lines)  # distinguishable, in greyscale by the line style
            assert ax.get_xlabel().startswith("false-positive rate" if kind == "roc" else "recall")
            assert ax.get_ylabel().startswith(
                "true-positive rate" if kind == "roc" else "precision"
            )
            assert scenario in ax.get_title()
            legend = [text.get_text() for text in figure.legends[0].get_texts()]
            for model in ("good", "poor"):
                assert f"{model} ({metric} = {metrics.loc[(model, scenario), value]:.3f})" in legend
            assert small_texts(figure) == []
    # the ROC line is the model's own curve
    line = next(
        li for li in model_lines(curve_figures(window_scores, "roc")["test_05_suppress"].axes[0])
        if li.get_gid() == "poor"
    )  # fmt: skip
    poor = window_scores[
        (window_scores.model == "poor") & (window_scores.scenario == "test_05_suppress")
    ]
    fpr, tpr, _ = roc_curve(poor.label, poor.score)
    np.testing.assert_allclose(line.get_xdata(), fpr)
    np.testing.assert_allclose(line.get_ydata(), tpr)


def test_model_styles_tell_every_model_apart_in_colour_and_in_greyscale() -> None:
    names = [*roster.detector_names(), *(f"{f}.{m}" for f in roster.fusion_names()
             for m in ("dqn", "stacker", "weighted_average", roster.ALARM_OR))]  # fmt: skip
    for models in (names, [f"model_{i}" for i in range(28)]):
        styles = model_styles(models)
        assert set(styles) == set(models)
        assert len({(s["color"], s["linestyle"]) for s in styles.values()}) == len(models)
        assert len({(s["marker"], s["linestyle"]) for s in styles.values()}) == len(models)
        assert model_styles(reversed(models)) == styles  # the same in every figure of a run
    styles = model_styles(names)
    # a detector kind shares a colour, its roles a line style each; each fusion pair its colour
    assert len({styles[d.name]["color"] for d in roster.DETECTORS if d.kind == "gat"}) == 1
    assert styles["gat_teacher"]["linestyle"] == styles["vgae_teacher"]["linestyle"] == "-"
    assert styles["fusion_teacher.dqn"]["color"] != styles["fusion_student.dqn"]["color"]


def test_confusion_matrices_labelled_with_the_counts_of_the_table(window_scores) -> None:
    metrics = metrics_table(window_scores)
    figures = confusion_figures(metrics)
    assert set(figures) == {"validation"}  # a figure per operating point
    figure = figures["validation"]
    models, scenarios = sorted(metrics.model.unique()), sorted(metrics.scenario.unique())
    assert len(figure.subfigs) == len(models)
    for row, model in zip(figure.subfigs, models, strict=True):
        assert row.get_supylabel().replace("\n", "") == model
        for ax, scenario in zip(row.axes, scenarios, strict=True):
            assert [t.get_text() for t in ax.get_xticklabels()] == list(CLASS_NAMES)
            assert [t.get_text() for t in ax.get_yticklabels()] == list(CLASS_NAMES)
            assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted", "actual")
            r = metrics[(metrics.model == model) & (metrics.scenario == scenario)].iloc[0]
            shown = [int(t.get_text().replace(",", "")) for t in ax.texts]
            assert shown == [r.tn, r.fp, r.fn, r.tp]  # rows actual, columns predicted
    assert [ax.get_title().replace("\n", "") for ax in figure.subfigs[0].axes] == scenarios
    assert small_texts(figure) == []


def test_size_against_the_ranking_metric_places_fusion_at_its_members_size(window_scores) -> None:
    good = window_scores[window_scores.model == "good"]
    poor = window_scores[window_scores.model == "poor"]
    fused = good.assign(
        model="pair.mean", score=(good.score.to_numpy() + poor.score.to_numpy()) / 2
    )
    board = leaderboard(
        metrics_table(pd.concat([window_scores, fused], ignore_index=True)),
        pd.DataFrame({"model": ["good", "poor"], "parameters": [1200, 100]}),
    )
    figure = size_vs_metric_figure(board, {"pair": ("good", "poor")})
    (ax,) = figure.axes  # one operating point
    assert "MCC" in figure.get_suptitle()
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel().startswith("parameters")
    assert "MCC" in ax.get_ylabel()
    points = {c.get_gid(): tuple(c.get_offsets()[0]) for c in ax.collections}
    mcc = board.set_index("model")["mcc"]
    expected = {"good": 1200, "poor": 100, "pair.mean": 1300}  # the fusion: 1200 + 100
    assert set(points) == set(expected)
    for model, parameters in expected.items():
        np.testing.assert_allclose(points[model], (parameters, mcc[model]))
    hollow = {
        c.get_gid()
        for c in ax.collections
        if len(c.get_facecolor()) == 0 or c.get_facecolor()[0][3] == 0
    }
    assert hollow == {"pair.mean"}  # a fusion method: at the sum of its members, drawn hollow
    legend = " ".join(t.get_text() for t in figure.legends[0].get_texts())
    assert "fusion method" in legend and "sum" in legend  # noqa: PT018
    assert {t.get_text() for t in ax.texts} == {"good", "poor", "pair.mean"}  # each point named
    assert small_texts(figure) == []
    # without the pair's members the fusion method has no size to stand at
    assert "pair.mean" not in {
        c.get_gid() for c in size_vs_metric_figure(board).axes[0].collections
    }


def test_learning_curves_name_their_loss_and_epochs() -> None:
    history = pd.DataFrame(
        {"epoch": [0, 1, 2], "train_loss": [1.0, 0.7, 0.6], "val_loss": [1.1, 0.8, 0.7],
         "val_f1": [0.5, 0.7, 0.8], "val_auroc": [0.6, 0.8, 0.9]}
    )  # fmt: skip
    figure = learning_curves_figure(gat_student_kd=history, vgae_teacher=history, other=history)
    loss_axes = figure.axes[::2]
    assert [ax.get_ylabel().replace("\n", " ") for ax in loss_axes] == [
        "cross-entropy + soft-label KD loss",
        "loss",
        "reconstruction + KL loss",
    ]
    assert loss_name("gat_student_pkd") == "cross-entropy + soft-label KD + profile KD loss"
    assert all(ax.get_xlabel() == "epoch" for ax in figure.axes)
    assert all(ax.get_ylabel() for ax in figure.axes)
    assert small_texts(figure) == []


def test_figure_dataset_writes_every_format_and_logs_each_file(tmp_path, monkeypatch) -> None:
    import mlflow

    logged = []
    monkeypatch.setattr(mlflow, "active_run", lambda: object())
    monkeypatch.setattr(mlflow, "log_artifact", lambda path, where: logged.append((path, where)))
    figure = Figure()
    figure.add_subplot().plot([0, 1], [0, 1])
    one = FigureDataset(filepath=str(tmp_path / "size_vs_mcc"), mlflow_artifact_path="reporting")
    one.save(figure)
    many = FigureDataset(filepath=str(tmp_path / "roc"), mlflow_artifact_path="reporting")
    many.save({"test_01": figure, "fusion_teacher.dqn": figure})
    assert sorted(p.name for p in tmp_path.rglob("*.*")) == sorted(
        f"{stem}.{fmt}" for stem in ("size_vs_mcc", "test_01", "fusion_teacher.dqn")
        for fmt in ("png", "svg")
    )  # fmt: skip
    assert (tmp_path / "size_vs_mcc.png").read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in (tmp_path / "roc" / "test_01.svg").read_bytes()
    assert sorted(where for _, where in logged) == ["reporting"] * 2 + ["reporting/roc"] * 4
    assert one.exists() and many.exists()  # noqa: PT018
    assert base64.b64decode(one.preview()).startswith(b"\x89PNG")
    with pytest.raises(DatasetError, match="written, not read"):
        one.load()
    with pytest.raises(DatasetError, match="plain file name"):
        many.save({"../escape": figure})
    with pytest.raises(DatasetError, match="without its extension"):
        FigureDataset(filepath=str(tmp_path / "plot.png"))
