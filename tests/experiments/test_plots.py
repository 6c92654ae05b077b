"""Figure conventions: zero rates are bounds not data, closed region outlines, legends outside, layer names."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from ternary_rram.experiments.plots import (
    cell_edges,
    layer_names,
    legend_below,
    new_figure,
    plot_rates,
    rate_points,
    region_outline,
    save_figure,
)


def test_zero_rates_are_upper_bounds_not_data():
    values, bounds = rate_points([0.0, 0.01, 0.0, float("nan")], [1000, 1000, 20, 1000])
    assert np.isnan(values[0]) and np.isnan(values[2]) and values[1] == pytest.approx(0.01)
    assert bounds[0] == pytest.approx(1 - 0.05 ** (1 / 1000)) and 2.9e-3 < bounds[0] < 3.1e-3
    assert bounds[2] == pytest.approx(1 - 0.05 ** (1 / 20))
    assert np.isnan(bounds[1]) and np.isnan(bounds[3])


def test_plot_rates_draws_no_data_point_for_a_zero_and_marks_its_bound():
    _, axes = new_figure()
    ax = axes[0][0]
    line = plot_rates(ax, [0.6, 0.9, 1.2], [0.0, 2e-3, 5e-4], 2000, label="flip")
    ys = np.asarray(line.get_ydata(), dtype=float)
    assert np.isnan(ys[0]) and ys[1] == pytest.approx(2e-3)
    bound_lines = [ln for ln in ax.get_lines() if ln is not line]
    assert len(bound_lines) == 1 and bound_lines[0].get_marker() == "v"
    assert np.isfinite(np.asarray(bound_lines[0].get_ydata(), dtype=float)).sum() == 1
    assert ax.get_yscale() == "log"


def test_logit_axis_marks_certain_outcomes_as_lower_bounds():
    _, axes = new_figure()
    ax = axes[0][0]
    line = plot_rates(ax, [1, 2], [1.0, 0.999], 1000, label="read +1", logit=True)
    assert np.isnan(line.get_ydata()[0]) and ax.get_yscale() == "logit"
    ups = [ln for ln in ax.get_lines() if ln.get_marker() == "^"]
    assert len(ups) == 1 and 0.99 < np.nanmax(np.asarray(ups[0].get_ydata(), dtype=float)) < 1.0


def _degrees(segments):
    deg = Counter()
    for (a, b) in segments:
        deg[tuple(np.round(a, 9))] += 1
        deg[tuple(np.round(b, 9))] += 1
    return deg


@pytest.mark.parametrize("mask", [
    [[1, 1, 0], [1, 0, 0], [0, 0, 0]],  # touches two edges of the map: a contour would stay open there
    [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    [[1, 1, 1], [1, 1, 1]],
])
def test_region_outline_is_closed(mask):
    m = np.array(mask, dtype=bool)
    xe, ye = cell_edges(np.geomspace(0.5, 2.0, m.shape[1]), log=True), cell_edges(np.linspace(1.2, 0.6, m.shape[0]))
    segs = region_outline(xe, ye, m)
    assert segs
    assert all(d % 2 == 0 for d in _degrees(segs).values())  # every corner is entered and left: closed
    # perimeter in cell sides equals the count of inside/outside borders
    padded = np.pad(m, 1)
    sides = sum(int(padded[i + 1, j + 1] != padded[i + 1 + di, j + 1 + dj]) for i in range(m.shape[0])
                for j in range(m.shape[1]) if m[i, j] for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)))
    assert len(segs) == sides


def test_legend_below_sits_outside_every_axes(tmp_path):
    fig, axes = new_figure(1, 2)
    for ax in axes[0]:
        ax.plot([0, 1], [0, 1], label="a")
        ax.plot([0, 1], [1, 0], label="b")
    leg = legend_below(fig, axes[0])
    assert [t.get_text() for t in leg.get_texts()] == ["a", "b"]  # deduplicated
    fig.canvas.draw()
    box = leg.get_window_extent()
    for ax in axes[0]:
        assert box.y1 <= ax.get_window_extent().y0
        assert ax.get_legend() is None
    save_figure(fig, tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 0


def test_layer_names_read_conv_and_fc():
    from ternary_rram.nn.models import vgg

    names = layer_names(vgg(2, "ternary", "binary", in_channels=1, num_classes=10, image_size=8))
    labels = list(names.values())
    assert labels[:2] == ["conv1", "conv2"] and labels[-2:] == ["fc1", "fc2"]
    assert all(k not in v for k, v in names.items())  # module indices replaced
