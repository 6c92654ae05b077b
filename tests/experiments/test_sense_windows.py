"""Sense windows: margin-centred choice, tracking timing, a fixed clock across VDD, the measured floor window."""

import math

import pytest
import torch

from ternary_rram.chip.params_file import load_params, preset_path
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.circuit.window import replica_delay
from ternary_rram.device.model import DeviceModel
from ternary_rram.experiments.sense import SenseStudyConfig, measured_floor_window, run_sense_study


def _sky130():
    return PCSA(load_params(preset_path("sky130-tt"))[1])


def test_floor_window_comes_from_the_measured_decision_times():
    td = torch.cat([torch.linspace(1e-9, 5e-9, 999, dtype=torch.float64), torch.tensor([math.nan])])
    assert measured_floor_window(td, 1e-6) == pytest.approx(2 * 5e-9)  # 99.9 % decided by 5 ns, x2
    assert measured_floor_window(td, 6e-9) == pytest.approx(6e-9)  # never past the simulated window


def test_fixed_clock_moves_from_binary_towards_ternary_as_vdd_falls():
    """One window for every VDD: P(0 | HRS, HRS) rises as VDD falls while (LRS, HRS) still reads +1."""
    cfg = SenseStudyConfig(vdds=(1.2, 1.0, 0.9), t_senses=(4e-9,), n_samples=200, figures=False)
    study = run_sense_study(cfg, pcsa=_sky130())
    p0 = {r.vdd: r.p_zero for r in study.records if r.state == "HRS/HRS"}
    ok = {r.vdd: r.p_correct for r in study.records if r.state == "LRS/HRS"}
    assert p0[1.2] < p0[1.0] < p0[0.9]
    assert p0[0.9] - p0[1.2] > 0.2
    assert min(ok.values()) >= 0.99


def test_centre_window_sits_in_the_margin_and_tracking_follows_the_replica():
    pcsa, device = _sky130(), DeviceModel()
    centre = run_sense_study(SenseStudyConfig(vdds=(1.2, 0.9), n_samples=50, n_window_scan=200, figures=False),
                             pcsa=pcsa)
    for w in centre.windows:
        assert w.policy == "centre" and w.w_low < w.t_sense < w.w_high
        assert w.t_sense == pytest.approx(math.sqrt(w.w_low * w.w_high), rel=1e-9)
    m = {w.vdd: w.margin for w in centre.windows}
    assert m[1.2] > m[0.9] > 1.0  # the margin is widest at the higher VDD (foundry-fitted transistors)
    track = run_sense_study(SenseStudyConfig(vdds=(1.2, 0.9), n_samples=50, n_window_scan=200, figures=False,
                                             window_policy="tracking"), pcsa=pcsa)
    t = {w.vdd: w for w in track.windows}
    assert all(w.policy == "tracking" for w in track.windows)
    assert t[1.2].t_sense == pytest.approx(math.sqrt(t[1.2].w_low * t[1.2].w_high), rel=1e-6)  # calibrated there
    ratio = replica_delay(pcsa, device, 0.9, 27.0, t[0.9].t_char) / replica_delay(pcsa, device, 1.2, 27.0,
                                                                                    t[1.2].t_char)
    assert t[0.9].t_sense / t[1.2].t_sense == pytest.approx(ratio, rel=1e-6)


def test_sense_cli_refuses_a_window_policy_with_a_fixed_clock(tmp_path, capsys):
    from ternary_rram.cli.main import main

    code = main(["sense", "--vdd", "1.2", "--t-sense", "1e-9", "--window-policy", "tracking", "--out",
                 str(tmp_path / "o"), "--no-figures"])
    assert code == 2 and "leave out --t-sense" in capsys.readouterr().err
    code = main(["sense", "--vdd", "1.2", "--process", "sky130-tt", "--params", "x.json", "--out", str(tmp_path / "o")])
    assert code == 2 and "not both" in capsys.readouterr().err
