"""Small matplotlib helpers shared by the experiments: headless backend, atomic PNG writes, and the
conventions of every figure: legends outside the data, error rates on a log axis with zero counts shown
as upper bounds (never as data at a made-up floor), closed region outlines, readable layer names."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator
from torch import nn

from ternary_rram.fileio import atomic_write_with

#: Default resolution of written figures, dots per inch.
DPI: int = 120


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = 5.0, height: float = 3.6,
               **kwargs: Any) -> tuple[Any, Any]:
    """A figure with ``nrows`` x ``ncols`` axes of ``width`` x ``height`` inches each (squeeze off)."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kwargs)
    return fig, axes


def save_figure(fig: Any, path: str | os.PathLike) -> Path:
    """Write ``fig`` as PNG to ``path`` through a temporary file and a rename; close it. Returns the path."""
    p = Path(path)
    try:
        fig.tight_layout()
        # temporary file with the umask mode, removed on failure; a device node at p is refused;
        # "tight" keeps legends placed outside the axes (below or beside them) inside the image
        atomic_write_with(p, lambda tmp: fig.savefig(tmp, dpi=DPI, format="png", bbox_inches="tight",
                                                     pad_inches=0.05))
    finally:
        plt.close(fig)
    return p


#: Confidence of the bound drawn for a rate with no event in n trials: the exact one-sided bound
#: 1 - (1 - CONFIDENCE)**(1/n) (about 3/n for large n, the "rule of three").
CONFIDENCE: float = 0.95
ZERO_BOUND_FACTOR: float = 3.0  # -log(1 - CONFIDENCE), the large-n form 3/n used in captions
#: Marker of such an upper bound (a hollow down-pointing triangle).
BOUND_MARKER: str = "v"
BOUND_NOTE: str = "none in n reads: 95 % upper bound (about 3/n)"


def rate_points(rates: Sequence[float], n: Sequence[float] | float) -> tuple[np.ndarray, np.ndarray]:
    """(values, bounds) for plotting rates k/n on a log axis.

    ``values`` holds the rates above 0 and NaN where the rate is 0 (nothing to draw as data there);
    ``bounds`` holds the exact 95 % upper bound 1 - 0.05**(1/n) (about 3/n) where the rate is 0, and NaN
    elsewhere (also NaN where n is 0 or the rate is undefined)."""
    r = np.asarray(rates, dtype=float)
    nn = np.broadcast_to(np.asarray(n, dtype=float), r.shape)
    values = np.where(r > 0, r, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        bounds = np.where((r == 0) & (nn > 0), 1.0 - (1.0 - CONFIDENCE) ** (1.0 / nn), np.nan)
    return values, bounds


def plot_rates(ax: Any, x: Sequence[float], rates: Sequence[float], n: Sequence[float] | float, *,
               label: str, color: Any = None, marker: str = "o", ls: str = "-", logit: bool = False,
               dodge: float = 0.0, **kw: Any) -> Any:
    """Rates k/n on ``ax``: measured rates as a line with markers, zero counts as hollow down-triangles
    at their upper bound 3/n, in the same colour; a log y axis (``logit``: a logit axis, where a rate of
    exactly 1 is drawn as a hollow up-triangle at its lower bound 1 - 3/n). ``dodge`` shifts the bound
    markers along x so that bounds of several series at the same n stay visible. Returns the line."""
    r = np.asarray(rates, dtype=float)
    xs = np.asarray(x, dtype=float)
    values, bounds = rate_points(r, n)
    ones = np.full(r.shape, np.nan)
    if logit:
        _, one_bounds = rate_points(1.0 - r, n)
        ones = 1.0 - one_bounds
        values = np.where(r < 1, values, np.nan)
    (line,) = ax.plot(xs, values, marker=marker, ms=4, ls=ls, color=color, label=label, **kw)
    for b, mk in ((bounds, BOUND_MARKER), (ones, "^")):
        if np.isfinite(b).any():
            ax.plot(xs + dodge, b, ls="none", marker=mk, ms=6, mfc="none", color=line.get_color())
    ax.set_yscale("logit" if logit else "log")
    if logit:
        logit_ticks(ax)
    return line


def logit_ticks(ax: Any) -> None:
    """Plain tick labels (0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999) on a logit y axis."""

    ticks = [1e-4, 1e-3, 1e-2, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(__import__("matplotlib.ticker", fromlist=["FuncFormatter"]).FuncFormatter(
        lambda v, _pos: f"{v:g}"))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_minor_formatter(NullFormatter())


def bound_handle() -> Any:
    """A legend entry explaining the hollow down-triangles of :func:`plot_rates`."""

    return Line2D([], [], ls="none", marker=BOUND_MARKER, mfc="none", color="0.3", label=BOUND_NOTE)


def one_bound_handle() -> Any:
    """A legend entry explaining the hollow up-triangles of :func:`plot_rates` on a logit axis."""

    return Line2D([], [], ls="none", marker="^", mfc="none", color="0.3",
                  label="all n reads: 95 % lower bound (about 1 - 3/n)")


def legend_below(fig: Any, axes: Sequence[Any], *, ncol: int | None = None, extra: Sequence[Any] = (),
                 fontsize: float = 8) -> Any:
    """One legend for ``axes`` (entries deduplicated by label) under the figure, outside every plot."""
    handles: dict[str, Any] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab and not lab.startswith("_"):
                handles.setdefault(lab, h)
    for h in extra:
        handles.setdefault(h.get_label(), h)
    if not handles:
        return None
    fig.tight_layout()
    return fig.legend(list(handles.values()), list(handles), loc="upper center", bbox_to_anchor=(0.5, 0.0),
                      ncol=ncol or min(4, len(handles)), fontsize=fontsize, frameon=False)


def legend_right(ax: Any, *, fontsize: float = 8, **kw: Any) -> Any:
    """The legend of ``ax`` beside it, to the right, outside the plotted area."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize=fontsize,
                     frameon=False, **kw)


def cell_edges(centers: Sequence[float], *, log: bool = False) -> np.ndarray:
    """Edges of the cells around sorted or reverse-sorted grid ``centers`` (midpoints, geometric if ``log``)."""
    c = np.asarray(centers, dtype=float)
    if c.size == 1:
        return np.array([c[0] * 0.9, c[0] * 1.1]) if log else np.array([c[0] - 0.5, c[0] + 0.5])
    v = np.log(c) if log else c
    mid = (v[1:] + v[:-1]) / 2
    edges = np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
    return np.exp(edges) if log else edges


def region_outline(x_edges: Sequence[float], y_edges: Sequence[float], mask: Any) -> list[list[tuple[float, float]]]:
    """Closed outline of the cells where ``mask`` (rows along y, columns along x) is true.

    Returns line segments [(x0, y0), (x1, y1)] on the cell borders between a cell inside and one
    outside (or the edge of the grid), so the outline is closed even where the region touches the edge
    of the map (a contour line would stop there)."""
    m = np.asarray(mask, dtype=bool)
    xe, ye = np.asarray(x_edges, dtype=float), np.asarray(y_edges, dtype=float)
    padded = np.pad(m, 1)
    segs: list[list[tuple[float, float]]] = []
    for i, j in zip(*np.nonzero(m)):
        pi, pj = i + 1, j + 1
        if not padded[pi - 1, pj]:
            segs.append([(xe[j], ye[i]), (xe[j + 1], ye[i])])
        if not padded[pi + 1, pj]:
            segs.append([(xe[j], ye[i + 1]), (xe[j + 1], ye[i + 1])])
        if not padded[pi, pj - 1]:
            segs.append([(xe[j], ye[i]), (xe[j], ye[i + 1])])
        if not padded[pi, pj + 1]:
            segs.append([(xe[j + 1], ye[i]), (xe[j + 1], ye[i + 1])])
    return segs


def layer_names(model: Any) -> dict[str, str]:
    """Readable names of a network's quantized layers in order: conv1, conv2, ..., fc1, fc2, keyed by
    module name (the keys of a chip record's ``errors_per_layer``)."""

    names: dict[str, str] = {}
    n_conv = n_fc = 0
    for name, m in model.named_modules():
        if not hasattr(m, "weight_quantizer"):
            continue
        if isinstance(m, nn.Conv2d):
            n_conv += 1
            names[name] = f"conv{n_conv}"
        else:
            n_fc += 1
            names[name] = f"fc{n_fc}"
    return names


def plain_log_ticks(ax: Any, axis: str = "y") -> None:
    """Numbers such as 0.2, 0.5, 1, 2 instead of 2 x 10^-1 on a log axis spanning a few decades or less."""

    target = ax.yaxis if axis == "y" else ax.xaxis
    lim = ax.get_ylim if axis == "y" else ax.get_xlim

    def minor(v: float, _pos: int) -> str:
        # label 2, 3 and 5 x 10^k only where the axis spans under two decades (few major ticks)
        lo, hi = sorted(lim())
        if lo <= 0 or hi / lo >= 100:
            return ""
        mantissa = v / 10 ** np.floor(np.log10(v) + 1e-9)
        return f"{v:g}" if round(mantissa) in (2, 3, 5) else ""

    target.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    target.set_minor_formatter(FuncFormatter(minor))
