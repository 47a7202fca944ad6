"""Metrics tables, leaderboards and plots from per-window scores (pure: data in, data out).

`window_scores` has one row per (model, operating point, scenario, window): `label`, `score` and
the window's `threshold` at that operating point (`kd_gat.operating_points`).

Plots are matplotlib `Figure`s built without pyplot (no backend is chosen or forced here, so a
notebook importing this module keeps its own), sized so that every text is at least 9 pt at
the saved size, and saved by catalog datasets (PNG and SVG, docs/figures.md); the ROC and PR
curves and the score timelines also come as plotly figures (interactive, kedro-viz previews).
Each model keeps one line style in every figure of a run (`model_styles`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from plotly.subplots import make_subplots
from sklearn import metrics as skm

from kd_gat import roster
from kd_gat.metrics import binary_metrics

LEADERBOARD_COLUMNS = ["f1", "auroc", "auprc", "mcc", "recall", "precision", "dr_at_fpr_1pct"]


def metrics_table(window_scores: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, operating point, scenario): every metric of
    `kd_gat.metrics.binary_metrics`, decisions at each window's own threshold.

    `threshold` is the median of the windows' finite thresholds (one value at the validation
    operating point, which `calibrated_share` = 0 marks; at the profile one, calibrated windows
    and the zero-shot windows before the match can differ; +inf: a capture's warm-up). A table
    without `operating_point` is one model threshold per window set: the validation operating
    point."""
    if "operating_point" not in window_scores:
        window_scores = window_scores.assign(operating_point="validation", calibrated=False)
    rows = []
    keys = ["model", "operating_point", "scenario"]
    for (model, point, scenario), group in window_scores.groupby(keys, sort=True):
        calibrated = group["calibrated"].to_numpy(bool)
        thresholds = group["threshold"].to_numpy(np.float64)
        if not calibrated.any() and len(np.unique(thresholds[np.isfinite(thresholds)])) > 1:
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


# ---------------------------------------------------------------------------------------------
# Figures

CLASS_NAMES = ("normal", "attack")  # label 0, label 1

# Okabe-Ito colours (colour-blind safe), each with its own marker, so that within a figure
# (marker, line style) tells the models apart in greyscale print as (colour, line style) does
# in colour; matplotlib's and plotly's names of the same marker and line style.
_COLOURS = ("#000000", "#E69F00", "#0072B2", "#009E73", "#CC79A7", "#D55E00", "#56B4E9")
_MARKERS = (
    ("o", "circle"),
    ("s", "square"),
    ("^", "triangle-up"),
    ("D", "diamond"),
    ("v", "triangle-down"),
    ("P", "cross"),
    ("X", "x"),
)
_LINESTYLES = (("-", "solid"), ("--", "dash"), ("-.", "dashdot"), (":", "dot"))
_PLOTLY_DASH = dict(_LINESTYLES)
_PLOTLY_SYMBOL = dict(_MARKERS)


def _style_groups(models: Iterable[str]) -> list[list[str]]:
    """The models grouped for styling: each detector kind of the roster (its detectors in roster
    order: teacher, student, KD student, profile-KD student), each fusion pair (its methods
    `<pair>.<method>` by name), then every other model by name."""
    detectors = {d.name: (d.kind, i) for i, d in enumerate(roster.DETECTORS)}
    pairs = set(roster.fusion_names())
    groups: dict[str, list[tuple[int, str]]] = {}
    for kind, _ in detectors.values():
        groups.setdefault(kind, [])
    for pair in roster.fusion_names():
        groups.setdefault(pair, [])
    groups["other"] = []
    for model in sorted(set(models)):
        pair = model.split(".", 1)[0]
        if model in detectors:
            kind, rank = detectors[model]
            groups[kind].append((rank, model))
        elif "." in model and pair in pairs:
            groups[pair].append((0, model))
        else:
            groups["other"].append((0, model))
    return [[m for _, m in sorted(members)] for members in groups.values() if members]


def model_styles(models: Iterable[str]) -> dict[str, dict[str, str]]:
    """Matplotlib `color`, `marker` and `linestyle` of each model, the same in every figure of a
    run (the same set of models gives the same styles): colour and marker by group (a detector
    kind, a fusion pair; `_style_groups`), line style by the model's place in its group. Every
    model has its own (colour, line style) and (marker, line style) pair, up to 28 models; a
    group of more than four takes the next colours."""
    slots = len(_COLOURS) * len(_LINESTYLES)
    used: set[int] = set()
    styles = {}
    for g, members in enumerate(_style_groups(models)):
        for r, model in enumerate(members):
            slot = (g * len(_LINESTYLES) + r) % slots
            while slot in used and len(used) < slots:
                slot = (slot + 1) % slots
            used.add(slot)
            colour, line = divmod(slot, len(_LINESTYLES))
            styles[model] = {
                "color": _COLOURS[colour],
                "marker": _MARKERS[colour][0],
                "linestyle": _LINESTYLES[line][0],
            }
    return styles


def _wrap(text: str, width: int) -> str:
    """`text` on lines of at most `width` characters where it can, broken after `_`, `.`, `/`
    or a space (model and scenario names have no spaces)."""
    lines = [""]
    for token in re.findall(r"[^_./ ]+[_./ ]?|[_./ ]", text):
        if lines[-1] and len(lines[-1]) + len(token) > width:
            lines.append("")
        lines[-1] += token
    return "\n".join(line.rstrip() for line in lines)


def _first_operating_point(window_scores: pd.DataFrame) -> pd.DataFrame:
    """The rows of one operating point: scores do not depend on it, only the thresholds do."""
    if "operating_point" not in window_scores or window_scores.empty:
        return window_scores
    return window_scores[
        window_scores["operating_point"] == window_scores["operating_point"].iloc[0]
    ]


# kind → (curve name, legend metric, x label, y label)
_CURVES = {
    "roc": (
        "ROC",
        "AUC",
        "false-positive rate (normal windows flagged)",
        "true-positive rate (attack windows flagged)",
    ),
    "pr": (
        "Precision-recall",
        "AP",
        "recall (attack windows flagged)",
        "precision (flagged windows that are attacks)",
    ),
}


def curve_displays(
    window_scores: pd.DataFrame, kind: str
) -> dict[str, dict[str, skm.RocCurveDisplay | skm.PrecisionRecallDisplay]]:
    """Per test scenario, per model: scikit-learn's `RocCurveDisplay` (`kind="roc"`, with the
    AUROC) or `PrecisionRecallDisplay` (`"pr"`, with the average precision and the attack
    prevalence), one operating point's rows (`_first_operating_point`). A scenario with one
    class only has no curve: its dict is empty."""
    if kind not in _CURVES:
        raise ValueError(f"kind must be one of {sorted(_CURVES)}, not {kind!r}")
    displays: dict[str, dict] = {}
    for scenario, group in _first_operating_point(window_scores).groupby("scenario", sort=True):
        displays[scenario] = {}
        for model, mine in group.groupby("model", sort=True):
            y, s = mine["label"].to_numpy(), mine["score"].to_numpy()
            if len(np.unique(y)) < 2:
                continue
            if kind == "roc":
                fpr, tpr, _ = skm.roc_curve(y, s)
                display = skm.RocCurveDisplay(
                    fpr=fpr, tpr=tpr, roc_auc=skm.roc_auc_score(y, s), name=model
                )
            else:
                precision, recall, _ = skm.precision_recall_curve(y, s, drop_intermediate=True)
                display = skm.PrecisionRecallDisplay(
                    precision,
                    recall,
                    average_precision=skm.average_precision_score(y, s),
                    name=model,
                    prevalence_pos_label=float(np.mean(y)),
                )
            displays[scenario][model] = display
    return displays


def _curve_value(display) -> float:
    return (
        display.roc_auc if isinstance(display, skm.RocCurveDisplay) else display.average_precision
    )


def _curve_xy(display) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(display, skm.RocCurveDisplay):
        return display.fpr, display.tpr
    return display.recall, display.precision


def curve_figures(window_scores: pd.DataFrame, kind: str) -> dict[str, Figure]:
    """ROC (`kind="roc"`) or precision-recall (`"pr"`) curves, one figure per test scenario:
    one line per model (drawn by its scikit-learn display, `curve_displays`; its `gid` is the
    model's name), its AUC or AP in the figure's legend, and the chance level."""
    styles = model_styles(window_scores["model"].unique())
    return {
        scenario: _curve_figure(scenario, _in_style_order(displays, styles), kind, styles)
        for scenario, displays in curve_displays(window_scores, kind).items()
    }


def _in_style_order(by_model: dict, styles: dict) -> dict:
    """`by_model` in the order of `model_styles` (detectors by kind and role, then fusion
    pairs): the legends read teacher, student, KD student, ... ."""
    order = {model: i for i, model in enumerate(styles)}
    return dict(sorted(by_model.items(), key=lambda item: order.get(item[0], len(order))))


def _curve_figure(scenario: str, displays: dict, kind: str, styles: dict) -> Figure:
    name, metric, xlabel, ylabel = _CURVES[kind]
    fig = Figure(figsize=(9.5, 5.2), layout="constrained")
    ax = fig.add_subplot()
    for i, (model, display) in enumerate(displays.items()):
        display.plot(
            ax=ax,
            curve_kwargs={
                **styles[model],
                "label": f"{model} ({metric} = {_curve_value(display):.3f})",
                "gid": model,
                "linewidth": 1.4,
                "markersize": 4,
                "markevery": ((0.013 * i) % 0.1, 0.1),  # staggered: markers do not pile up
            },
        )
    if displays:
        if kind == "roc":
            ax.plot([0, 1], [0, 1], color="0.6", ls=":", lw=1, label="chance", gid="chance")
        else:
            prevalence = next(iter(displays.values())).prevalence_pos_label
            ax.axhline(
                prevalence, color="0.6", ls=":", lw=1, label=f"chance ({prevalence:.2f})",
                gid="chance",
            )  # fmt: skip
        ax.get_legend().remove()  # the display's, inside the axes
        fig.legend(
            *ax.get_legend_handles_labels(),
            loc="outside right upper",
            fontsize=9,
            title=f"model ({metric})",
            title_fontsize=9,
        )
    else:
        ax.text(
            0.5,
            0.5,
            f"no attack windows:\nno {name} curve",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
    ax.set(xlabel=xlabel, ylabel=ylabel, xlim=(-0.01, 1.01), ylim=(-0.01, 1.01), aspect="equal")
    ax.set_title(f"{name} curves, {scenario}", fontsize=10)
    ax.grid(alpha=0.3)
    return fig


def curve_plotly(window_scores: pd.DataFrame, kind: str) -> go.Figure:
    """The curves of `curve_figures` as one interactive plotly figure: a menu picks the test
    scenario; each scenario has one trace per model (`meta`: its scenario and model), styled as
    in the matplotlib figures, the models of one legend group shown and hidden together."""
    name, metric, xlabel, ylabel = _CURVES[kind]
    styles = model_styles(window_scores["model"].unique())
    displays = curve_displays(window_scores, kind)
    fig = go.Figure()
    titles = {}
    for i, (scenario, curves) in enumerate(displays.items()):
        titles[scenario] = f"{name} curves, {scenario}" + ("" if curves else ": no attack windows")
        for model, display in _in_style_order(curves, styles).items():
            x, y = _curve_xy(display)
            style = styles[model]
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    mode="lines+markers",
                    name=f"{model} ({metric} = {_curve_value(display):.3f})",
                    legendgroup=model,
                    line={"color": style["color"], "dash": _PLOTLY_DASH[style["linestyle"]]},
                    marker={"symbol": _PLOTLY_SYMBOL[style["marker"]], "maxdisplayed": 12},
                    visible=i == 0,
                    meta={"scenario": scenario, "model": model},
                    hovertemplate=f"{model}<br>{xlabel}: %{{x:.3f}}<br>{ylabel}: %{{y:.3f}}"
                    "<extra></extra>",
                )
            )
    buttons = [
        {
            "label": scenario,
            "method": "update",
            "args": [
                {"visible": [trace.meta["scenario"] == scenario for trace in fig.data]},
                {"title.text": title},
            ],
        }
        for scenario, title in titles.items()
    ]
    if kind == "roc":
        fig.add_shape(type="line", x0=0, y0=0, x1=1, y1=1, line={"color": "grey", "dash": "dot"})
    fig.update_layout(
        title={"text": next(iter(titles.values()), name)},
        xaxis={"title": {"text": xlabel}, "range": [-0.01, 1.01]},
        yaxis={"title": {"text": ylabel}, "range": [-0.01, 1.01]},
        legend={"title": {"text": f"model ({metric})"}},
        updatemenus=[{"buttons": buttons, "x": 1.0, "xanchor": "right", "y": 1.12}],
        template="plotly_white",
    )
    return fig


def confusion_figures(metrics: pd.DataFrame) -> dict[str, Figure]:
    """Per operating point, a grid of confusion matrices: one row per model, one column per
    scenario. Rows of a matrix: actual class, columns: predicted (`CLASS_NAMES`); the counts of
    windows as text, the shading the share of the actual class (a rate, comparable across
    scenarios of different sizes)."""
    if "operating_point" not in metrics:
        metrics = metrics.assign(operating_point="validation")
    scenarios = sorted(metrics["scenario"].unique())
    return {
        point: _confusion_figure(rows, scenarios, point)
        for point, rows in metrics.groupby("operating_point", sort=True)
    }


def _confusion_figure(metrics: pd.DataFrame, scenarios: list[str], point: str) -> Figure:
    models = sorted(metrics["model"].unique())
    fig = Figure(
        figsize=(max(5.5, 1.0 + 1.8 * len(scenarios)), 1.7 + 1.8 * len(models)),
        layout="constrained",
    )
    fig.suptitle(
        f"Confusion matrices, {point} operating point\n"
        "(test windows; shade: share of the actual class)",
        fontsize=11,
    )
    ratios = [1.2] + [1.0] * (len(models) - 1)  # the first row has the scenario titles
    rows = fig.subfigures(len(models), 1, squeeze=False, height_ratios=ratios)[:, 0]
    for row, model in zip(rows, models, strict=True):
        row.supylabel(_wrap(model, 16), fontsize=10)
        axes = row.subplots(1, len(scenarios), squeeze=False)[0]
        for ax, scenario in zip(axes, scenarios, strict=True):
            ax.set_xticks([0, 1], CLASS_NAMES, fontsize=9)
            ax.set_yticks([0, 1], CLASS_NAMES, fontsize=9, rotation=90, va="center")
            ax.set_xlabel("predicted", fontsize=9)
            ax.set_ylabel("actual", fontsize=9)
            if row is rows[0]:
                ax.set_title(_wrap(scenario, 22), fontsize=9)
            mine = metrics[(metrics["model"] == model) & (metrics["scenario"] == scenario)]
            if mine.empty:
                ax.text(0.5, 0.5, "not evaluated", ha="center", va="center", fontsize=9)
                continue
            r = mine.iloc[0]
            counts = np.array([[r["tn"], r["fp"]], [r["fn"], r["tp"]]], dtype=np.int64)
            share = counts / counts.sum(axis=1, keepdims=True).clip(min=1)
            ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
            for (a, b), v in np.ndenumerate(counts):
                colour = "white" if share[a, b] > 0.6 else "black"
                ax.text(b, a, f"{v:,}", ha="center", va="center", fontsize=10, color=colour)
    return fig


FUSION_MEMBERS: dict[str, tuple[str, ...]] = {f.name: (f.vgae, f.gat) for f in roster.FUSIONS}


def plotted_sizes(
    board: pd.DataFrame, fusion_members: Mapping[str, Sequence[str]] | None = None
) -> pd.DataFrame:
    """`model`, `parameters`, `fusion` per model for `size_vs_metric_figure`: a detector's own
    size; a fusion method (`<pair>.<method>`, `fusion_members`: pair → its detectors) has none
    of its own and is placed at the sum of its members' (`fusion` True). Models with neither are
    left out."""
    if "parameters" not in board:
        board = board.assign(parameters=np.nan)
    own = board.dropna(subset=["parameters"]).groupby("model")["parameters"].first()
    rows = []
    for model in sorted(board["model"].unique()):
        members = (fusion_members or {}).get(model.split(".", 1)[0]) if "." in model else None
        if model in own:
            rows.append((model, float(own[model]), False))
        elif members and all(m in own for m in members):
            rows.append((model, float(sum(own[m] for m in members)), True))
    return pd.DataFrame(rows, columns=["model", "parameters", "fusion"])


def size_vs_metric_figure(
    board: pd.DataFrame,
    fusion_members: Mapping[str, Sequence[str]] | None = None,
    metric: str = RANK_METRIC,
) -> Figure:
    """Parameters (log scale) against the leaderboard's ranking metric (mean over the test
    scenarios), one panel per operating point: what distillation buys per parameter. Detectors
    filled, fusion methods hollow at the sum of their members' parameters (`plotted_sizes`);
    each point named, its `gid` the model's name."""
    sizes = plotted_sizes(board, fusion_members).set_index("model")
    styles = model_styles(board["model"].unique())
    points = sorted(board["operating_point"].unique())
    fig = Figure(figsize=(6.0 * max(len(points), 1), 5.4), layout="constrained")
    axes = fig.subplots(1, max(len(points), 1), squeeze=False, sharey=True)[0]
    named: dict = {}
    for ax, point in zip(axes, points, strict=False):
        named[ax] = []
        for r in board[board["operating_point"] == point].itertuples(index=False):
            if r.model not in sizes.index or pd.isna(getattr(r, metric)):
                continue
            x, y, style = sizes.loc[r.model, "parameters"], getattr(r, metric), styles[r.model]
            ax.scatter(
                [x],
                [y],
                s=45,
                marker=style["marker"],
                facecolors="none" if sizes.loc[r.model, "fusion"] else style["color"],
                edgecolors=style["color"],
                linewidths=1.3,
                gid=r.model,
                zorder=3,
            )
            named[ax].append((x, y, r.model))
        ax.set(xscale="log", xlabel="parameters (log scale)")
        ax.set_title(f"{point} operating point", fontsize=10)
        ax.margins(x=0.35, y=0.08)
        ax.grid(alpha=0.3, which="both")
    for ax, points_of_ax in named.items():  # once the shared y limits are final
        _name_points(ax, points_of_ax)
    axes[0].set_ylabel(f"mean {metric.upper()} over the test scenarios")
    fig.suptitle(f"Model size against mean {metric.upper()} (the leaderboard's ranking)")
    fig.legend(
        handles=[
            Line2D([], [], ls="", marker="o", color="0.3", label="detector"),
            Line2D(
                [], [], ls="", marker="o", mfc="none", mec="0.3",
                label="fusion method (no size of its own: at the sum of its two detectors')",
            ),
        ],
        loc="outside lower center",
        ncols=2,
        fontsize=9,
    )  # fmt: skip
    return fig


def _name_points(ax, points: list[tuple[float, float, str]], gap: float = 0.05) -> None:
    """Name each point (x on a log axis, y, name) to its right, 9 pt; a name that would overlap
    one already placed (near in x, within `gap` of the axes' height) moves up, with a thin line
    to its point."""
    (x0, x1), (y0, y1) = np.log10(ax.get_xlim()), ax.get_ylim()
    placed: list[tuple[float, float]] = []
    for x, y, name in sorted(points, key=lambda p: (p[1], p[0])):
        fx, fy = (np.log10(x) - x0) / (x1 - x0), (y - y0) / ((y1 - y0) or 1.0)
        ly = fy
        while any(abs(fx - px) < 0.3 and abs(ly - py) < gap for px, py in placed):
            ly += gap / 2
        placed.append((fx, ly))
        ax.annotate(
            name,
            (x, y),
            xytext=(fx + 0.025, ly),
            textcoords="axes fraction",
            fontsize=9,
            va="center",
            arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.6} if ly != fy else None,
        )


def loss_name(model: str) -> str:
    """The training loss of a roster detector, for an axis label ('loss' for another name)."""
    detector = {d.name: d for d in roster.DETECTORS}.get(model)
    if detector is None:
        return "loss"
    name = {"gat": "cross-entropy", "vgae": "reconstruction + KL"}.get(detector.kind, "")
    if detector.teacher is not None:
        name += {"gat": " + soft-label KD", "vgae": " + latent/reconstruction KD"}.get(
            detector.kind, " + KD"
        )
    if detector.profile_kd:
        name += " + profile KD"
    return f"{name} loss".strip()


def _validation_loss_label(model: str) -> str:
    """A VGAE's `val_loss` is the anomaly score of the normal validation windows, not its loss."""
    kind = {d.name: d.kind for d in roster.DETECTORS}.get(model)
    return "validation: anomaly score of normal windows" if kind == "vgae" else "validation"


def learning_curves_figure(**histories: pd.DataFrame) -> Figure:
    """Per model (keyword = model name, one row each): the training and validation loss per
    epoch (left, the y label names the loss: `loss_name`) and the validation F1 and AUROC
    (right). Used per model by training and for all models by reporting."""
    names = sorted(histories)
    fig = Figure(figsize=(10, 3.4 * max(len(names), 1)), layout="constrained")
    axes = np.atleast_2d(fig.subplots(max(len(names), 1), 2, squeeze=False))
    for (ax_loss, ax_score), name in zip(axes, names, strict=False):
        history = histories[name]
        for column, label in (("train_loss", "train"), ("val_loss", _validation_loss_label(name))):
            if column in history:
                ax_loss.plot(history["epoch"], history[column], marker="o", label=label)
        for column, label in (("val_f1", "F1"), ("val_auroc", "AUROC")):
            if column in history:
                ax_score.plot(history["epoch"], history[column], marker="o", label=label)
        ax_loss.set(xlabel="epoch", ylabel=_wrap(loss_name(name), 28), title=f"{name}: loss")
        ax_score.set(
            xlabel="epoch",
            ylabel="validation F1 / AUROC",
            ylim=(0, 1.02),
            title=f"{name}: validation",
        )
    for ax in axes.ravel():
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if ax.has_data():
            ax.legend(fontsize=9)
    return fig


def _attack_spans(start: np.ndarray, end: np.ndarray, label: np.ndarray) -> list[tuple]:
    """(start, end) of each run of consecutive attack windows (in time order): the attack
    segments of a capture."""
    order = np.argsort(start, kind="stable")
    start, end, attack = start[order], end[order], label[order] == 1
    edges = np.flatnonzero(np.diff(np.concatenate([[0], attack.astype(np.int8), [0]])))
    return [(start[a], end[b - 1]) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _timeline_rows(window_scores: pd.DataFrame, model: str, operating_point: str):
    """(scenario, capture, its windows in time order with `t`, `flagged`) for the timelines."""
    rows = window_scores[
        (window_scores["model"] == model) & (window_scores["operating_point"] == operating_point)
    ]
    for (scenario, capture), mine in rows.groupby(["scenario", "capture"], sort=True):
        mine = mine.sort_values("end_time")
        t0 = mine["start_time"].min()
        yield (
            scenario,
            capture,
            mine.assign(
                t=mine["end_time"] - t0,
                t_start=mine["start_time"] - t0,
                flagged=mine["score"] >= mine["threshold"],
                # warm-up windows (+inf, no alarm): no threshold line drawn
                threshold=mine["threshold"].where(np.isfinite(mine["threshold"])),
            ),
        )


def _timeline_title(capture: str, windows: pd.DataFrame) -> str:
    return f"{capture}: {int(windows['flagged'].sum())} of {len(windows)} windows flagged"


_TIME_LABEL = "time since the capture's first window (s)"


def timeline_figures(window_scores: pd.DataFrame, model: str, operating_point: str) -> dict:
    """Per test scenario, one panel per capture: `model`'s score over time (s from the
    capture's first window; a window's score at its end) at `operating_point`, its threshold
    (per window: a profile's once the capture is matched), the time attack windows cover shaded
    and flagged windows marked. In a suppress capture, where recall cannot be measured, this is
    the alarm timeline to read."""
    by_scenario: dict[str, list] = {}
    for scenario, capture, windows in _timeline_rows(window_scores, model, operating_point):
        by_scenario.setdefault(scenario, []).append((capture, windows))
    figures = {}
    for scenario, captures in by_scenario.items():
        fig = Figure(figsize=(10, 0.6 + 2.6 * len(captures)), layout="constrained")
        axes = fig.subplots(len(captures), 1, squeeze=False)[:, 0]
        for ax, (capture, w) in zip(axes, captures, strict=True):
            spans = _attack_spans(*(w[c].to_numpy() for c in ("t_start", "t", "label")))
            ax.broken_barh(
                [(a, b - a) for a, b in spans],
                (0, 1),
                transform=ax.get_xaxis_transform(),
                color="tab:red",
                alpha=0.15,
                linewidth=0,
                label="attack windows",
            )
            t, score, flagged = w["t"].to_numpy(), w["score"].to_numpy(), w["flagged"].to_numpy()
            ax.plot(t, score, lw=0.7, color="tab:blue", label="score")
            ax.step(t, w["threshold"], where="post", ls="--", color="black", lw=1.0,
                    label="threshold")  # fmt: skip
            ax.plot(t[flagged], score[flagged], "o", ms=2.5, color="tab:orange", label="flagged")
            ax.set(xlabel=_TIME_LABEL, ylabel=f"{model} score")
            ax.set_title(_timeline_title(capture, w), fontsize=10)
            ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1), borderaxespad=0)
        fig.suptitle(f"{scenario}: {model} at the {operating_point} operating point", fontsize=11)
        figures[scenario] = fig
    return figures


def timeline_plotly(window_scores: pd.DataFrame, model: str, operating_point: str) -> go.Figure:
    """The timelines of `timeline_figures` as one interactive plotly figure: one panel per
    (scenario, capture), each with its attack spans shaded, score, threshold and flagged
    windows (`meta`: the scenario and capture)."""
    rows = list(_timeline_rows(window_scores, model, operating_point))
    n = max(len(rows), 1)
    fig = make_subplots(
        rows=n,
        cols=1,
        subplot_titles=[_timeline_title(c, w) for _, c, w in rows] or None,
        vertical_spacing=min(0.08, 0.3 / n),
    )
    for i, (scenario, capture, w) in enumerate(rows, start=1):
        meta, first = {"scenario": scenario, "capture": capture}, i == 1
        low = float(np.nanmin([0.0, w["score"].min(), w["threshold"].min()]))
        high = float(np.nanmax([w["score"].max(), w["threshold"].max()]))
        high += 0.05 * (high - low) or 1.0
        xs: list = []
        ys: list = []
        for a, b in _attack_spans(*(w[c].to_numpy() for c in ("t_start", "t", "label"))):
            xs += [a, a, b, b, None]
            ys += [low, high, high, low, None]
        traces = [
            go.Scatter(x=xs, y=ys, fill="toself", mode="none", name="attack windows",
                       fillcolor="rgba(214, 39, 40, 0.15)", hoverinfo="skip"),
            go.Scatter(x=w["t"], y=w["score"], mode="lines", name="score",
                       line={"color": "#1f77b4", "width": 1}),
            go.Scatter(x=w["t"], y=w["threshold"], mode="lines", name="threshold",
                       line={"color": "black", "dash": "dash", "shape": "hv", "width": 1}),
            go.Scatter(x=w.loc[w["flagged"], "t"], y=w.loc[w["flagged"], "score"],
                       mode="markers", name="flagged", marker={"color": "#ff7f0e", "size": 4}),
        ]  # fmt: skip
        for trace in traces:
            trace.update(legendgroup=trace.name, showlegend=first, meta=meta)
            fig.add_trace(trace, row=i, col=1)
        fig.update_xaxes(title_text=_TIME_LABEL, row=i, col=1)
        fig.update_yaxes(title_text=f"{model} score", row=i, col=1)
    fig.update_layout(
        title={"text": f"Score timelines: {model} at the {operating_point} operating point"},
        height=150 + 280 * n,
        template="plotly_white",
    )
    return fig
