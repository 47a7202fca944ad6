"""Metrics tables, leaderboards and plots from per-window scores (pure: data in, data out).

`window_scores` has one row per (model, operating point, scenario, window): `label`, `score` and
the window's `threshold` at that operating point (`kd_gat.operating_points`). Plots are
matplotlib figures saved by catalog datasets.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn import metrics as skm

from kd_gat.metrics import binary_metrics

LEADERBOARD_COLUMNS = ["f1", "auroc", "auprc", "mcc", "recall", "precision", "dr_at_fpr_1pct"]


def metrics_table(window_scores: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, operating point, scenario): every metric of
    `kd_gat.metrics.binary_metrics`, decisions at each window's own threshold.

    `threshold` is the median of the windows' thresholds (one value at the validation operating
    point, which `calibrated_share` = 0 marks; at the profile one, calibrated windows and the
    zero-shot windows before the match can differ). A table without `operating_point` is one
    model threshold per window set: the validation operating point."""
    if "operating_point" not in window_scores:
        window_scores = window_scores.assign(operating_point="validation", calibrated=False)
    rows = []
    keys = ["model", "operating_point", "scenario"]
    for (model, point, scenario), group in window_scores.groupby(keys, sort=True):
        calibrated = group["calibrated"].to_numpy(bool)
        thresholds = group["threshold"].to_numpy(np.float64)
        if not calibrated.any() and len(np.unique(thresholds)) != 1:
            raise ValueError(
                f"{model} on {scenario} ({point}): one validation threshold expected where no "
                "window is calibrated"
            )
        m = binary_metrics(group["label"].to_numpy(), group["score"].to_numpy(), thresholds)
        rows.append(
            {
                "model": model,
                "operating_point": point,
                "scenario": scenario,
                **m,
                "calibrated_share": float(calibrated.mean()),
            }
        )
    return pd.DataFrame(rows)


RANK_METRIC = "mcc"  # 0 for a detector that flags everything or nothing, whatever its F1


def leaderboard(metrics: pd.DataFrame, sizes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Models at each operating point ranked by mean MCC over the scenarios (a flag-all or
    flag-nothing detector scores 0 however high its F1 or AUROC), with the mean of every
    leaderboard metric, the mean share of windows flagged, per-scenario F1, `best_in` (the
    scenarios where the model has the highest MCC at its operating point), the share of
    calibrated windows and size/speed columns."""
    keys = ["model", "operating_point"]
    metrics = metrics.assign(
        flagged=(metrics["tp"] + metrics["fp"]) / metrics["n_windows"].clip(lower=1)
    )
    mean = metrics.groupby(keys)[[*LEADERBOARD_COLUMNS, "flagged", "calibrated_share"]].mean()
    per_scenario = metrics.pivot(index=keys, columns="scenario", values="f1").add_prefix("f1 ")
    top = metrics.loc[metrics.groupby(["operating_point", "scenario"])[RANK_METRIC].idxmax()]
    best = top.groupby(keys)["scenario"].agg(lambda s: " ".join(sorted(s)))  # per model
    board = mean.join(per_scenario).join(best.rename("best_in")).reset_index()
    board["best_in"] = board["best_in"].fillna("")
    if sizes is not None:
        board = board.merge(sizes, on="model", how="left")
    board = board.sort_values(RANK_METRIC, ascending=False, kind="mergesort", na_position="last")
    return board.reset_index(drop=True)


def _si(value: float, unit: str = "", base: float = 1000.0) -> str:
    """1234 → '1.2K', 5_600_000 → '5.6M' (bytes with base 1024 and unit 'B': '5.3 MB')."""
    if pd.isna(value):
        return "–"
    for prefix in ("", "K", "M", "G"):
        if abs(value) < base or prefix == "G":
            text = f"{value:.0f}" if prefix == "" else f"{value:.1f}"
            return f"{text} {prefix}{unit}".strip() if unit else f"{text}{prefix}"
        value /= base
    return str(value)


def leaderboard_display(board: pd.DataFrame, bold: tuple[str, str] = ("**", "**")) -> pd.DataFrame:
    """The leaderboard as text cells: metrics to 3 decimals, parameters in K/M, bytes in KB/MB,
    '–' where a value does not apply (a fusion method has no size), and in each per-scenario F1
    column the best model of each operating point in `bold`."""
    shown = board.copy()
    for column in [c for c in shown.columns if c.startswith("f1 ")]:
        best = shown.groupby("operating_point")[column].transform("max")
        text = shown[column].map(lambda v: "–" if pd.isna(v) else f"{v:.3f}")
        is_best = (shown[column] == best) & shown[column].notna()
        shown[column] = text.where(~is_best, bold[0] + text + bold[1])
    for column in shown.columns:
        if column == "parameters":
            shown[column] = shown[column].map(_si)
        elif column.endswith("_bytes"):
            shown[column] = shown[column].map(lambda v: _si(v, "B", 1024.0))
        elif pd.api.types.is_float_dtype(shown[column]):
            shown[column] = shown[column].map(lambda v: "–" if pd.isna(v) else f"{v:.3f}")
    return shown.fillna("–")


def leaderboard_markdown(
    board: pd.DataFrame, title: str = "KD-GAT leaderboard", caption: str = ""
) -> str:
    """The leaderboard as a Markdown document (`leaderboard_display`), with its caption."""
    table = leaderboard_display(board).to_markdown(index=False)
    return f"# {title}\n\n{caption}\n\n{table}\n" if caption else f"# {title}\n\n{table}\n"


def leaderboard_html(
    board: pd.DataFrame, title: str = "KD-GAT leaderboard", caption: str = ""
) -> str:
    """The leaderboard as a standalone HTML page (`leaderboard_display`), with its caption."""
    table = leaderboard_display(board, ("<b>", "</b>")).to_html(index=False, border=0, escape=False)
    style = "body{font-family:sans-serif}td,th{padding:4px 10px;text-align:right}"
    head = f"<head><title>{title}</title><style>{style}</style></head>"
    return f"<html>{head}<body><h1>{title}</h1><p>{caption}</p>{table}</body></html>"


def _curve_figure(window_scores: pd.DataFrame, scenario: str, kind: str) -> Figure:
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for model, group in window_scores.groupby("model", sort=True):
        y, s = group["label"].to_numpy(), group["score"].to_numpy()
        if len(np.unique(y)) < 2:
            continue
        if kind == "roc":
            x_val, y_val, _ = skm.roc_curve(y, s)
            ax.plot(x_val, y_val, label=f"{model} ({skm.roc_auc_score(y, s):.3f})")
        else:
            precision, recall, _ = skm.precision_recall_curve(y, s)
            ax.plot(recall, precision, label=f"{model} ({skm.average_precision_score(y, s):.3f})")
    labels = (
        ("false-positive rate", "true-positive rate") if kind == "roc" else ("recall", "precision")
    )
    ax.set(xlabel=labels[0], ylabel=labels[1], title=f"{kind.upper()} — {scenario}")
    ax.legend(fontsize=7, loc="lower right" if kind == "roc" else "lower left")
    fig.tight_layout()
    return fig


def curve_figures(window_scores: pd.DataFrame, kind: str) -> dict[str, Figure]:
    """ROC (`kind="roc"`) or precision-recall (`"pr"`) curves of every model, one per scenario
    (scores do not depend on the operating point: one point's rows are drawn)."""
    if "operating_point" in window_scores:
        first = window_scores["operating_point"].iloc[0] if len(window_scores) else None
        window_scores = window_scores[window_scores["operating_point"] == first]
    return {
        scenario: _curve_figure(group, scenario, kind)
        for scenario, group in window_scores.groupby("scenario", sort=True)
    }


def confusion_figure(metrics: pd.DataFrame) -> Figure:
    """A grid of confusion matrices: one row per model (and operating point), one column per
    scenario."""
    if "operating_point" in metrics:
        metrics = metrics.assign(model=metrics["model"] + " @ " + metrics["operating_point"])
    models, scenarios = sorted(metrics["model"].unique()), sorted(metrics["scenario"].unique())
    fig, axes = plt.subplots(
        len(models),
        len(scenarios),
        figsize=(2.6 * len(scenarios), 2.2 * len(models)),
        squeeze=False,
    )
    for (i, model), (j, scenario) in (
        (mi, sj) for mi in enumerate(models) for sj in enumerate(scenarios)
    ):
        ax = axes[i, j]
        row = metrics[(metrics["model"] == model) & (metrics["scenario"] == scenario)]
        ax.set_xticks([0, 1], ["normal", "attack"], fontsize=6)
        ax.set_yticks([0, 1], ["normal", "attack"], fontsize=6)
        if row.empty:
            ax.axis("off")
            continue
        r = row.iloc[0]
        cm = np.array([[r["tn"], r["fp"]], [r["fn"], r["tp"]]])
        ax.imshow(cm, cmap="Blues")
        for (a, b), v in np.ndenumerate(cm):
            ax.text(b, a, f"{int(v)}", ha="center", va="center", fontsize=7)
        ax.set_title(f"{model}\n{scenario}", fontsize=6)
    fig.tight_layout()
    return fig


def learning_curves_figure(**histories: pd.DataFrame) -> Figure:
    """Per model (keyword = model name, one row each): losses per epoch (left) and validation
    scores (right). Used per model by training and for all models by reporting."""
    names = sorted(histories)
    fig = Figure(figsize=(10, 3.2 * max(len(names), 1)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(max(len(names), 1), 2, squeeze=False))
    for (ax_loss, ax_score), name in zip(axes, names, strict=False):
        history = histories[name]
        for column in ("train_loss", "val_loss"):
            if column in history:
                ax_loss.plot(history["epoch"], history[column], marker="o", label=column)
        for column in ("val_f1", "val_auroc"):
            if column in history:
                ax_score.plot(history["epoch"], history[column], marker="o", label=column)
        ax_loss.set(xlabel="epoch", ylabel="loss", title=f"{name}: loss")
        ax_score.set(xlabel="epoch", ylabel="score", ylim=(0, 1.02), title=f"{name}: validation")
    for ax in axes.ravel():
        ax.grid(alpha=0.3)
        if ax.has_data():
            ax.legend(fontsize=7)
    return fig


def size_vs_f1_figure(board: pd.DataFrame) -> Figure:
    """Parameters (log scale) against mean F1: what distillation buys per parameter."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    rows = board.dropna(subset=["parameters"])
    for point, group in rows.groupby("operating_point", sort=True):
        ax.scatter(group["parameters"], group["f1"], label=f"{point} threshold")
    for r in rows.itertuples():
        ax.annotate(
            r.model, (r.parameters, r.f1), fontsize=7, xytext=(3, 3), textcoords="offset points"
        )
    if len(rows):
        ax.legend(fontsize=7)
    ax.set(xscale="log", xlabel="parameters", ylabel="mean F1 over test scenarios")
    fig.tight_layout()
    return fig


def timeline_figures(window_scores: pd.DataFrame, model: str, operating_point: str) -> dict:
    """Per test scenario, one panel per capture: `model`'s score over time (s from the
    capture's first window) at `operating_point`, its threshold (per window: a profile's once
    the capture is matched), attack windows shaded and flagged windows marked. In a suppress
    capture, where recall cannot be measured, this is the alarm timeline to read."""
    rows = window_scores[
        (window_scores["model"] == model) & (window_scores["operating_point"] == operating_point)
    ]
    figures = {}
    for scenario, group in rows.groupby("scenario", sort=True):
        captures = sorted(group["capture"].unique())
        fig = Figure(figsize=(9, 2.2 * len(captures)), layout="constrained")
        axes = np.atleast_1d(fig.subplots(len(captures), 1, squeeze=False)[:, 0])
        for ax, (capture, mine) in zip(axes, group.groupby("capture", sort=True), strict=True):
            mine = mine.sort_values("end_time")
            t = mine["end_time"].to_numpy() - mine["start_time"].min()
            score, threshold = mine["score"].to_numpy(), mine["threshold"].to_numpy()
            ax.fill_between(
                t,
                0,
                1,
                where=mine["label"].to_numpy() == 1,
                step="post",
                transform=ax.get_xaxis_transform(),
                color="tab:red",
                alpha=0.15,
                label="attack windows",
            )
            ax.plot(t, score, lw=0.6, color="tab:blue", label="score")
            ax.step(t, threshold, where="post", ls="--", color="black", lw=0.8, label="threshold")
            flagged = score >= threshold
            ax.plot(t[flagged], score[flagged], "o", ms=2, color="tab:orange", label="flagged")
            ax.set(xlabel="time since the capture's first window (s)", ylabel="score")
            ax.set_title(f"{capture}: {int(flagged.sum())} of {len(t)} windows flagged", fontsize=8)
            ax.legend(fontsize=6, loc="upper right")
        fig.suptitle(f"{scenario}: {model} at the {operating_point} operating point", fontsize=9)
        figures[scenario] = fig
    return figures
