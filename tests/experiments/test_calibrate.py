"""Calibration: recover known parameters from synthetic measurements; reject bad files; PARAMS.json."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from ternary_rram.chip.params_file import load_params
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.params import DEFAULT_PCSA
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.circuit.transforms import scale_mismatch
from ternary_rram.device import DeviceModel, LognormalState
from ternary_rram.errors import InputError
from ternary_rram.experiments.calibrate import (
    OutcomeCounts,
    calibrate,
    fit_sense,
    read_counts_csv,
    read_measurements,
    write_counts_csv,
    write_params,
)

# Coarser time step than the default: data and fit use the same model, so accuracy is not at stake.
FAST = replace(DEFAULT_PCSA, steps_per_tau=4.0)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)  # the batched 7x7 solves are much faster single-threaded
    yield
    torch.set_num_threads(old)


# (state, VDD V, window s): rows where the outcome of the default (SKY130) transistors is neither certain nor
# hopeless, so that the likelihood is informative: (HRS, HRS) partly resolved (P(0) about 0.8-0.9, set by the HRS
# spread) and +-1 at 0.8 V with a long window, the mismatch floor, where sign flips rise with the mismatch
# (about 1 % at mismatch_scale 0.8, 3.5 % at 1.5).
ROWS = ((0, 1.2, 2e-9), (1, 0.8, 8e-9), (-1, 0.8, 8e-9), (1, 0.78, 8e-9), (0, 0.9, 3e-9))


def synthetic_counts(device: DeviceModel, pcsa_params, n: int, seed: int) -> OutcomeCounts:
    """Read-outcome counts drawn from the transient model with known parameters."""
    g = torch.Generator().manual_seed(seed)
    pcsa = PCSA(pcsa_params)
    counts = []
    for state, vdd, t_sense in ROWS:
        r_bl = device.sample_pairs(torch.full((n,), state == 1), g)
        r_blb = device.sample_pairs(torch.full((n,), state == -1), g)
        v = pcsa.sense(r_bl, r_blb, OperatingPoint(vdd, t_sense), generator=g).value.numpy()
        counts.append([(v == k).sum() for k in (-1, 0, 1)])
    return OutcomeCounts(state=np.array([r[0] for r in ROWS]), vdd=np.array([r[1] for r in ROWS]),
                         t_sense=np.array([r[2] for r in ROWS]), temperature_c=np.full(len(ROWS), 27.0),
                         counts=np.array(counts, dtype=np.int64))


def test_sense_fit_recovers_mismatch_scale_and_hrs_sigma(tmp_path):
    true_dev = DeviceModel()
    true_dev = replace(true_dev, hrs=LognormalState.from_total(true_dev.hrs.median, 0.55))
    data = synthetic_counts(true_dev, scale_mismatch(FAST, 1.5), n=200, seed=123)
    path = tmp_path / "counts.csv"
    write_counts_csv(path, data)
    back = read_counts_csv(path)
    np.testing.assert_array_equal(back.counts, data.counts)
    fit = fit_sense(back, DeviceModel(), FAST, n_mc=200, seed=7,
                    ln_scale_grid=tuple(np.linspace(math.log(0.8), math.log(2.0), 4)))
    for name, true in (("mismatch_scale", 1.5), ("hrs_sigma", 0.55)):
        v = fit[name]
        assert math.isfinite(v.se) and v.se > 0
        assert abs(v.value - true) < 3.5 * v.se, (name, v.value, v.se, true)
        assert v.se < 0.25 * true  # informative, not a flat likelihood
    assert fit.transient_passes <= 8
    assert fit.predicted.shape == (len(ROWS), 3)
    np.testing.assert_allclose(fit.predicted.sum(axis=1), 1.0)


def test_device_fit_from_resistances_and_params_roundtrip(tmp_path):
    g = torch.Generator().manual_seed(3)
    dev = DeviceModel()
    lrs = dev.sample("LRS", 400, g).numpy()
    hrs = dev.sample("HRS", 300, g).numpy()
    csv = tmp_path / "res.csv"
    lines = ["LRS,HRS"] + [f"{a:.6g},{hrs[i]:.6g}" if i < hrs.size else f"{a:.6g}," for i, a in enumerate(lrs)]
    csv.write_text("\n".join(lines) + "\n")
    cal = calibrate(read_measurements([csv]))
    fit = cal.document["fit"]
    for key, true in (("device.LRS.median", dev.lrs.median), ("device.LRS.sigma", dev.lrs.sigma),
                      ("device.HRS.median", dev.hrs.median), ("device.HRS.sigma", dev.hrs.sigma)):
        assert abs(fit[key]["value"] - true) < 4 * fit[key]["se"], key
    out = write_params(tmp_path / "params.json", cal)
    device, pcsa = load_params(out)
    assert device.hrs.median == pytest.approx(fit["device.HRS.median"]["value"])
    assert device.lrs.sigma == pytest.approx(fit["device.LRS.sigma"]["value"])
    assert pcsa.nmos.a_vt == pytest.approx(DEFAULT_PCSA.nmos.a_vt)
    doc = json.loads(out.read_text())
    assert doc["schema"] == "ternary-rram.params/1"


def test_load_params_scale_and_overrides(tmp_path):
    p = tmp_path / "p.json"
    p.write_text(json.dumps({"schema": "ternary-rram.params/1", "pcsa": {"mismatch_scale": 2.0,
                                                                         "overrides": {"c_bl": 2e-14}}}))
    device, pcsa = load_params(p)
    assert pcsa.nmos.a_vt == pytest.approx(2 * DEFAULT_PCSA.nmos.a_vt)
    assert pcsa.c_bl == pytest.approx(2e-14)
    assert device.hrs.median == DeviceModel().hrs.median
    p.write_text(json.dumps({"pcsa": {"overrides": {"bogus": 1}}}))
    with pytest.raises(InputError):
        load_params(p)
    p.write_text("{not json")
    with pytest.raises(InputError):
        load_params(p)


@pytest.mark.parametrize("text", [
    "state,vdd,t_sense,temperature_c,n_plus,n_minus\n0,0.7,2e-9,27,1,2\n",          # missing column
    "state,vdd,t_sense,temperature_c,n_plus,n_minus,n_zero\n0,0.7,2e-9,27,-1,2,3\n",  # negative count
    "state,vdd,t_sense,temperature_c,n_plus,n_minus,n_zero\n0,nan,2e-9,27,1,2,3\n",   # NaN
    "state,vdd,t_sense,temperature_c,n_plus,n_minus,n_zero\n2,0.7,2e-9,27,1,2,3\n",   # bad state
    "state,vdd,t_sense,temperature_c,n_plus,n_minus,n_zero\n0,0.7,2e-9,27,0,0,0\n",   # no reads
    "foo,bar\n1,2\n",                                                                 # unknown kind
    "LRS,HRS\n5000,nan\n5100,1e5\n",                                                  # NaN resistance
])
def test_bad_files_give_one_line_input_error(tmp_path, text):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(InputError) as exc:
        read_measurements([p])
    assert "\n" not in str(exc.value)
