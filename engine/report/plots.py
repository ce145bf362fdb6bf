"""The pictures of a report, drawn with matplotlib and kept as SVG text.

Figures are made with ``matplotlib.figure.Figure`` (no pyplot), so drawing a report never
changes the backend of a notebook it runs in. SVG keeps text as text (smaller files) and
gets ids salted with the figure's name, so several figures can sit in one HTML page and
the same trace always gives the same bytes. Long curves are drawn from at most
``MAX_POINTS`` points: beyond that, each point is the mean of a bin of steps and a band
shows the bin's min and max.
"""

from __future__ import annotations

import io
import math
import re
import warnings

import numpy as np

from engine.i18n import _, language

#: Fonts with Chinese glyphs that matplotlib measures labels with (the first installed wins).
CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "Source Han Sans SC"]

MAX_POINTS = 500
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"]


def new_figure(width: float = 7.0, height: float = 3.0, margins=(0.9, 0.2, 0.55, 0.4)):
    """A figure with fixed margins in inches (left, right, bottom, top): faster than an
    automatic layout, which measures every label; ``margins=None`` lays out automatically."""
    from matplotlib.figure import Figure

    if margins is None:
        return Figure(figsize=(width, height), layout="constrained")
    figure = Figure(figsize=(width, height))
    left, right, bottom, top = margins
    figure.subplots_adjust(
        left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height
    )
    return figure


def to_svg(figure, name: str) -> str:
    """The figure as SVG text, deterministic for a given ``name``."""
    import matplotlib

    buffer = io.StringIO()
    settings = {"svg.fonttype": "none", "svg.hashsalt": name}
    if language() != "en":  # labels in another script: measure them with a font that has it
        settings["font.sans-serif"] = [*CJK_FONTS, *matplotlib.rcParams["font.sans-serif"]]
    with matplotlib.rc_context(settings), np.errstate(over="ignore"), warnings.catch_warnings():
        # without such a font the browser still draws the text; only the layout is estimated
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    # matplotlib names every group figure_1, axes_1, patch_1...: the same ids in every figure
    # of a page; and two equal pictures in one figure share an image id. Nothing refers to
    # either (references go to the salted ids of clip paths and markers)
    svg = re.sub(r' id="(?:[A-Za-z][A-Za-z0-9.]*_\d+|image[0-9a-f]+)"', "", svg)
    return svg[svg.index("<svg") :]


def binned(steps: np.ndarray, values: np.ndarray):
    """(steps, mean, low, high) with at most MAX_POINTS points; NaNs dropped."""
    keep = np.isfinite(values)
    steps, values = steps[keep], values[keep]
    if len(values) <= MAX_POINTS:
        return steps, values, None, None
    edges = np.linspace(0, len(values), MAX_POINTS + 1).astype(int)
    centers, means, lows, highs = [], [], [], []
    for start, stop in zip(edges[:-1], edges[1:]):
        if stop > start:
            chunk = values[start:stop]
            centers.append(steps[start:stop].mean())
            means.append(chunk.mean())
            lows.append(chunk.min())
            highs.append(chunk.max())
    return np.array(centers), np.array(means), np.array(lows), np.array(highs)


def line(ax, steps, values, label, color, marker=None, band=True):
    """Plot one curve (binned when long, with the bins' min-max ``band``); returns False
    when it has no finite value."""
    x, y, low, high = binned(np.asarray(steps, float), np.asarray(values, float))
    if len(y) == 0:
        return False
    if low is not None and band:
        ax.fill_between(x, low, high, color=color, alpha=0.2, linewidth=0)
    style = {"marker": marker, "markersize": 3} if marker or len(y) < 3 else {}
    if len(y) < 3 and not marker:
        style = {"marker": "o", "markersize": 3}
    ax.plot(x, y, label=label, color=color, linewidth=1.2, **style)
    return True


def _finite(columns) -> np.ndarray:
    return np.concatenate([c[np.isfinite(c)] for c in columns] or [np.array([])])


def log_scale(ax, columns) -> None:
    """A log y axis; spanning more than a factor of 30 it is labelled at powers of ten only
    (minor labels crowd the axis and are slow to lay out)."""
    from matplotlib.ticker import NullFormatter

    with np.errstate(over="ignore"):  # autoscaling a curve that reached 1e300
        ax.set_yscale("log")
    values = _finite(columns)
    values = values[values > 0]
    if len(values) and values.max() / values.min() > 30:
        ax.yaxis.set_minor_formatter(NullFormatter())


def is_wide(*columns: np.ndarray) -> bool:
    """True when all values are positive and span more than a factor of 30: the rule that
    gives ``curves(log=None)`` a log axis (captions use it to say which axis they got)."""
    values = _finite([np.asarray(c, float) for c in columns])
    return bool(len(values) and values.min() > 0 and values.max() / values.min() > 30)


def log_scale_if_wide(ax, *columns: np.ndarray) -> None:
    """A log y axis when all values are positive and span more than a factor of 30."""
    if is_wide(*columns):
        log_scale(ax, columns)


def curves(
    steps: np.ndarray,
    series: list[tuple[str, np.ndarray]],
    *,
    title: str,
    ylabel: str,
    log: bool | None = None,
    marks: list[int] = (),
    mark_label: str = "",
    height: float = 2.8,
    band: bool = True,
):
    """One axes of curves over the steps; ``log=None`` decides from the values."""
    figure = new_figure(7.0, height)
    ax = figure.add_subplot()
    drawn = 0
    for index, (label, values) in enumerate(series):
        drawn += line(ax, steps, values, label, COLORS[index % len(COLORS)], band=band)
    if log or (log is None and drawn):
        if log:
            log_scale(ax, [v for _unused, v in series])
        else:
            log_scale_if_wide(ax, *(v for _unused, v in series))
    for position, step in enumerate(marks):
        ax.axvline(
            step,
            color="#888888",
            linewidth=0.6,
            linestyle=":",
            zorder=0,
            label=mark_label if position == 0 and mark_label else None,
        )
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(_("step"))
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if drawn > 1 or mark_label:
        ax.legend(fontsize=8, loc="best")
    return figure


# --- the network as a picture ----------------------------------------------------------------

MAX_NODES = 8


def network_diagram(inputs: int, layers: list[dict], input_label: str = "features"):
    """Columns of units, input to output, joined by their connections.

    ``layers``: dicts with ``name``, ``describe``, ``size`` (units), ``params`` (count) and
    ``weighted`` (True when the layer connects every input to every unit). A column with
    more than MAX_NODES units shows the first and last few with "⋮" between.
    """
    columns = [
        {
            "name": _("input"),
            "describe": f"{inputs} {input_label}",
            "size": inputs,
            "params": 0,
            "weighted": False,
        },
        *layers,
    ]
    from matplotlib.collections import LineCollection

    # one unit of data is about an inch: the picture keeps its proportions at any width
    figure = new_figure(1.05 * (len(columns) + 0.3), 3.7, margins=(0.05, 0.05, 0.05, 0.05))
    ax = figure.add_subplot()
    ax.set_axis_off()
    positions = [_node_positions(c["size"]) for c in columns]
    weights, passes = [], []
    for k in range(1, len(columns)):
        left, right = positions[k - 1], positions[k]
        if columns[k]["weighted"]:
            weights += [[(k - 1, y0), (k, y1)] for _unused, y0 in left for _unused, y1 in right]
        else:
            passes += [[(k - 1, y0), (k, y1)] for (_unused, y0), (_unused, y1) in zip(left, right)]
    ax.add_collection(LineCollection(weights, colors="#9aa7b8", linewidths=0.5, alpha=0.6))
    ax.add_collection(LineCollection(passes, colors="#9aa7b8", linewidths=0.8, linestyles="--"))
    for k, column in enumerate(columns):
        color = "#f2f2f2" if k == 0 else ("#dbe9f6" if column["weighted"] else "#fdf1d8")
        for kind, y in positions[k]:
            if kind == "dots":
                ax.text(k, y, "⋮", ha="center", va="center", fontsize=12, zorder=3)
            else:
                ax.add_patch(_circle(k, y, color))
        label = f"{column['name']}\n" + column["describe"].replace(", ", "\n")
        if column["params"]:
            label += "\n" + _("{count:,} parameters").format(count=column["params"])
        ax.text(k, -1.25, label, ha="center", va="top", fontsize=7.5)
    ax.set_xlim(-0.6, len(columns) - 0.4)
    ax.set_ylim(-2.35, 1.15)
    ax.set_aspect("equal", adjustable="box")
    return figure


def _circle(x, y, color):
    from matplotlib.patches import Circle

    return Circle((x, y), 0.09, facecolor=color, edgecolor="#3b4b5e", linewidth=0.8, zorder=2)


def _node_positions(size: int) -> list[tuple[str, float]]:
    """Vertical positions in [-1, 1] of the nodes drawn for a column of ``size`` units."""
    if size <= MAX_NODES:
        shown = [("node", i) for i in range(size)]
    else:
        shown = [("node", 0), ("node", 1), ("node", 2), ("dots", 3), ("node", 4), ("node", 5)]
    count = len(shown)
    spacing = min(0.28, 2.0 / max(count - 1, 1))
    top = spacing * (count - 1) / 2
    return [(kind, top - i * spacing) for i, (kind, _unused) in enumerate(shown)]


# --- samples (GAN reports) -------------------------------------------------------------------


#: Drawing order of the sample pictures: the real data above G's samples.
FAKE_LAYER, REAL_LAYER = 2, 3


def histogram_1d(
    real: np.ndarray, fake: np.ndarray, curve=None, title: str = "", verdict_limits=None
):
    """Real vs generated 1-D samples as density histograms, with D's output on a twin axis:
    G's samples filled, the data as an outline on top of them. One legend above the axes,
    clear of the bars.

    ``curve``: (x, D(x)) to draw, or None; ``verdict_limits`` (low, high) fixes its axis so
    that several snapshots compare.
    """
    figure = new_figure(5.2, 3.1, margins=(0.75, 0.75, 0.4, 0.75))
    ax = figure.add_subplot()
    values = np.concatenate([real, fake])
    low, high = np.percentile(values, [0.5, 99.5]) if len(values) else (0.0, 1.0)
    if curve is not None:
        low, high = min(low, curve[0].min()), max(high, curve[0].max())
    bins = np.linspace(low, high, 50) if high > low else 20
    ax.hist(
        fake,
        bins=bins,
        density=True,
        alpha=0.55,
        color=COLORS[1],
        label="generated G(z)",
        zorder=FAKE_LAYER,
    )
    ax.hist(
        real,
        bins=bins,
        density=True,
        histtype="step",
        linewidth=1.4,
        color=COLORS[0],
        label="real data",
        zorder=REAL_LAYER,
    )
    ax.set_ylabel("density")
    handles, labels = ax.get_legend_handles_labels()
    if curve is not None:
        twin = ax.twinx()
        twin.plot(curve[0], curve[1], color="#222222", linewidth=1.2, label="D(x)")
        twin.set_ylabel("D(x)")
        if verdict_limits is not None:
            twin.set_ylim(*verdict_limits)
        elif curve[1].min() >= 0 and curve[1].max() <= 1:
            twin.set_ylim(-0.02, 1.02)
        more = twin.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    ax.legend(
        handles,
        labels,
        fontsize=7,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=len(labels),
        frameon=False,
    )
    ax.set_title(title, fontsize=9, pad=18)
    return figure


def scatter_2d(
    real: np.ndarray, fake: np.ndarray, surface=None, title: str = "", verdict_limits=None
):
    """Real vs generated 2-D samples; ``surface`` (xs, ys, D values on the grid) becomes the
    background heat map of D's decision surface, coloured over ``verdict_limits`` (low, high)
    when given, so that the snapshots of one report share one colour scale."""
    figure = new_figure(4.2, 3.8, margins=None)
    ax = figure.add_subplot()
    if surface is not None:
        xs, ys, values = surface
        low, high = verdict_limits if verdict_limits is not None else (None, None)
        image = ax.pcolormesh(
            xs,
            ys,
            values,
            cmap="RdBu_r",
            shading="auto",
            alpha=0.55,
            rasterized=True,
            vmin=low,
            vmax=high,
        )
        bar = figure.colorbar(image, ax=ax, shrink=0.8)
        bar.set_label("D(x)", fontsize=8)
    # G's samples below, the data on top as rings, so both stay visible where they overlap
    ax.scatter(
        fake[:, 0],
        fake[:, 1],
        s=4,
        color="#111111",
        alpha=0.6,
        label="generated G(z)",
        rasterized=True,
        zorder=FAKE_LAYER,
    )
    ax.scatter(
        real[:, 0],
        real[:, 1],
        s=14,
        facecolors="none",
        edgecolors=COLORS[0],
        linewidths=0.6,
        alpha=0.8,
        label="real data",
        rasterized=True,
        zorder=REAL_LAYER,
    )
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(fontsize=7, loc="upper right", markerscale=2)
    ax.set_title(title, fontsize=9)
    return figure


def image_grid(images: np.ndarray, side: int, title: str = "", columns: int = 8, limits=None):
    """Flattened square images (N, side²) as a grid, values mapped to gray levels;
    ``limits`` (low, high) fixes the mapping, so generated and real images compare."""
    count = len(images)
    rows = max(1, math.ceil(count / columns))
    figure = new_figure(0.55 * columns + 0.3, 0.55 * rows + 0.5, margins=(0.15, 0.15, 0.1, 0.4))
    grid = np.ones((rows * (side + 1) + 1, columns * (side + 1) + 1)) * np.nan
    for index, image in enumerate(images):
        r, c = divmod(index, columns)
        top, left = 1 + r * (side + 1), 1 + c * (side + 1)
        grid[top : top + side, left : left + side] = image.reshape(side, side)
    ax = figure.add_subplot()
    low, high = limits if limits is not None else (None, None)
    ax.imshow(grid, cmap="gray_r", interpolation="nearest", vmin=low, vmax=high)
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    return figure
