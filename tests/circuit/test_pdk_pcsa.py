"""Foundry reference: window metrics, the SKY130 preset's margin against VDD, agreement with BSIM4."""

import math
import shutil

import numpy as np
import pytest

from ternary_rram.chip.params_file import load_params, preset_path
from ternary_rram.circuit import pdk, pdk_pcsa

needs_sky130 = pytest.mark.skipif(pdk.sky130_lib() is None or shutil.which("ngspice") is None,
                                  reason="SKY130 models not fetched (python -m ternary_rram.circuit.pdk fetch-sky130) "
                                         "or ngspice missing")


def test_window_metrics_from_decision_times():
    lh = pdk_pcsa.Batch(np.array([1] * 99 + [-1]), np.linspace(1e-9, 2e-9, 100))
    hh = pdk_pcsa.Batch(np.zeros(100), np.r_[np.linspace(10e-9, 20e-9, 11), np.full(89, np.nan)])
    m = pdk_pcsa.window_metrics(lh, hh)
    assert m.w_low == pytest.approx(np.linspace(1e-9, 2e-9, 100)[98])  # the 99th of 100 has decided
    assert m.w_high == pytest.approx(20e-9)  # the 11th (HRS, HRS) decision: P(0) falls below 0.9 there
    assert m.margin == pytest.approx(m.w_high / m.w_low)
    assert m.flip_rate == pytest.approx(0.01) and m.decided_lrs == 1.0
    few = pdk_pcsa.Batch(np.ones(100), np.r_[np.full(5, 1e-9), np.full(95, np.nan)])
    assert math.isinf(pdk_pcsa.window_metrics(few, hh).w_low)


def test_sky130_preset_margin_shrinks_from_1v2_to_0v9():
    """physics.md 1.5: with foundry transistors the margin W_high / W_low is widest at high VDD."""
    _, params = load_params(preset_path("sky130-tt"))
    pairs = pdk_pcsa.draw_pairs(200, 0)
    margins = {}
    for vdd in (1.2, 0.9):
        lh = pdk_pcsa.compact_batch(params, vdd, *pairs["LRS,HRS"], 200e-9, 0)[0]
        hh = pdk_pcsa.compact_batch(params, vdd, *pairs["HRS,HRS"], 200e-9, 1)[0]
        margins[vdd] = pdk_pcsa.window_metrics(lh, hh).margin
    assert margins[1.2] > margins[0.9] > 1.0


@needs_sky130
def test_fitted_model_tracks_the_bsim4_pcsa_at_1v2():
    _, params = load_params(preset_path("sky130-tt"))
    pairs = pdk_pcsa.draw_pairs(12, 0)
    row = pdk_pcsa.compare_vdd(pdk.sky130_lib(), "tt", params, 1.2, pairs, nfet=pdk.SKY130_NFET,
                               pfet=pdk.SKY130_PFET, t_stop=6e-9)
    ref, cmp_ = row["reference"], row["compact"]
    assert 0.25e-9 < ref["t_median"] < 0.45e-9  # physics.md 8: about 0.34 ns at 1.2 V
    assert pdk_pcsa.relative_error(cmp_["t_median"], ref["t_median"]) < 0.20
    assert pdk_pcsa.relative_error(cmp_["energy"], ref["energy"]) < 0.15
    assert ref["flip_rate"] == cmp_["flip_rate"] == 0.0


@needs_sky130
def test_flip_onset_of_the_sky130_preset_matches_the_foundry_reference():
    """Sign flips of (LRS, HRS) set in at the same VDD (within 0.05 V) in BSIM4 and in the fitted model."""
    _, params = load_params(preset_path("sky130-tt"))
    res = pdk_pcsa.foundry_reference(pdk.sky130_lib(), "tt", params, (0.8, 0.75, 0.7), n=20, nfet=pdk.SKY130_NFET,
                                     pfet=pdk.SKY130_PFET, t_cap=100e-9)
    onset = res["flip_onset"]
    assert onset["reference"] is not None and onset["compact"] is not None
    assert abs(onset["reference"] - onset["compact"]) <= 0.05 + 1e-9
    assert onset["agree"]


def test_foundry_figure_is_written_from_a_result(tmp_path):
    import json
    from pathlib import Path

    from ternary_rram.experiments.pdk_calibrate import foundry_figure

    res = json.loads((Path(__file__).parents[2] / "docs" / "foundry-sky130-tt.json").read_text())
    path = foundry_figure(res, tmp_path / "f.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
