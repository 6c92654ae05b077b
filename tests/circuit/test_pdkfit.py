"""Compact-model fit to PDK I-V: recovers known parameters; on SKY130 reaches the pinned error."""

import shutil
from dataclasses import replace

import numpy as np
import pytest

from ternary_rram.circuit import pdk, pdkfit
from ternary_rram.circuit.params import NMOS_130, PMOS_130
from ternary_rram.errors import InputError

needs_sky130 = pytest.mark.skipif(pdk.sky130_lib() is None or shutil.which("ngspice") is None,
                                  reason="SKY130 models not fetched (python -m ternary_rram.circuit.pdk fetch-sky130) "
                                         "or ngspice missing")


def _synthetic(p, sizes=((0.5e-6, 0.15e-6), (1.0e-6, 0.15e-6))):
    vgs = np.arange(0.0, 1.8001, 0.025)
    cols = [[] for _ in range(5)]
    for t in (233.15, 300.15, 398.15):
        for vd in (0.05, 0.45, 0.9, 1.35, 1.8):
            for w, l in sizes:
                for a, v in zip(cols, (vgs, np.full_like(vgs, vd), np.full_like(vgs, t), np.full_like(vgs, w),
                                       np.full_like(vgs, l))):
                    a.append(v)
    arrays = [np.concatenate(a) for a in cols]
    s = pdkfit.Sweep(p.polarity, *arrays, np.ones_like(arrays[0]))
    return replace(s, current=pdkfit.model_current(p, s))


@pytest.mark.parametrize("truth", [
    replace(NMOS_130, vt0=0.62, n=1.45, mu0=0.021, lambda_clm=0.07, sigma_dibl=0.068, k_vt=0.8e-3, mu_exp=-1.2),
    replace(PMOS_130, vt0=0.70, n=1.6, mu0=0.006, lambda_clm=0.12, sigma_dibl=0.081, k_vt=1.4e-3, mu_exp=-0.9),
])
def test_fit_recovers_known_parameters_from_the_compact_models_own_iv(truth):
    s = _synthetic(truth)
    start = pdkfit.initial_guess(truth.polarity, s, truth.cox)
    fit = pdkfit.fit_sweep(s, start)
    for name in pdkfit.FIT_NAMES:
        assert getattr(fit.params, name) == pytest.approx(getattr(truth, name), rel=0.02), name
    assert fit.rms < 1e-3


def test_a_sweep_that_never_turns_on_is_refused():
    s = _synthetic(replace(NMOS_130, vt0=0.6))
    with pytest.raises(InputError, match="does not turn on"):
        pdkfit.fit_sweep(replace(s, current=np.full_like(s.current, 1e-14)), NMOS_130)


def test_a_fit_that_cannot_match_the_data_is_refused():
    s = _synthetic(replace(NMOS_130, vt0=0.6))
    rng = np.random.default_rng(0)
    noise = replace(s, current=10.0 ** rng.uniform(-10, -4, size=len(s)))  # no transistor looks like this
    with pytest.raises(InputError, match="fit did not converge"):
        pdkfit.fit_sweep(noise, NMOS_130)


@needs_sky130
def test_sky130_tt_fit_reaches_the_pinned_error_and_foundry_mismatch():
    from ternary_rram.experiments.pdk_calibrate import calibrate_pdk

    doc, params = calibrate_pdk(pdk.sky130_lib(), "tt", pdk.SKY130_NFET, pdk.SKY130_PFET, instances=40)
    # Pinned from `ternary-rram calibrate --pdk-lib ... --corner tt` (docs/benchmarks.md): 0.080 / 0.087 decades.
    assert doc["fit"]["nmos"]["rms_log10"] < 0.09
    assert doc["fit"]["pmos"]["rms_log10"] < 0.10
    assert doc["fit"]["nmos"]["rms_log10_weak"] < 0.11 and doc["fit"]["pmos"]["rms_log10_strong"] < 0.09
    # Far from the generic 0.40 V set: the foundry threshold (physics.md 8) and DIBL come out.
    assert 0.6 < params.nmos.vt0 < 0.75 and 0.6 < params.pmos.vt0 < 0.8
    assert params.nmos.sigma_dibl > 0.02
    # Pelgrom from 40 instances: a few mV um, pfet above nfet as in the model files.
    assert 3e-9 < params.nmos.a_vt < 10e-9 and 5e-9 < params.pmos.a_vt < 13e-9
    assert min(params.widths) >= 0.42e-6 and set(params.lengths) == {0.15e-6}
