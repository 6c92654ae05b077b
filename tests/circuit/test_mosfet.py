"""EKV compact model: inversion continuity, slopes, symmetry, PMOS mirror, temperature, Pelgrom."""

import math
from dataclasses import replace

import pytest
import torch

from ternary_rram.circuit.mosfet import EKVCoefficients, drain_current, ekv_current, pelgrom_sigma
from ternary_rram.circuit.params import NMOS_130, PMOS_130, T_NOMINAL, thermal_voltage
from ternary_rram.circuit.pcsa import PCSA

W, L = 0.5e-6, 0.13e-6
NO_CLM = replace(NMOS_130, lambda_clm=0.0)


def _id(p, vg, vs=0.0, vd=1.2, **kw):
    return drain_current(p, torch.as_tensor(vg, dtype=torch.float64), vs, vd, w=W, l=L, **kw)


def test_continuous_and_monotone_from_weak_to_strong_inversion():
    vg = torch.linspace(0.0, 1.2, 2401, dtype=torch.float64)
    i = _id(NMOS_130, vg)
    assert torch.all(i > 0)
    assert torch.all(torch.diff(i) > 0)
    # No jump anywhere: log-current steps stay small and smooth on a 0.5 mV grid.
    dlog = torch.diff(torch.log(i))
    assert float(dlog.max()) < 0.02
    assert float(torch.diff(dlog).abs().max()) < 1e-3
    assert float(i[-1] / i[0]) > 1e5  # off/on span of a real transistor


def test_subthreshold_slope_is_n_ut_ln10_per_decade():
    vg = torch.tensor([0.0, 0.1], dtype=torch.float64)
    i = _id(NMOS_130, vg)
    mv_per_decade = 0.1 / math.log10(float(i[1] / i[0]))
    expected = NMOS_130.n * thermal_voltage(T_NOMINAL) * math.log(10)
    assert mv_per_decade == pytest.approx(expected, rel=0.03)


def test_square_law_in_strong_inversion():
    vt, n = NMOS_130.vt0, NMOS_130.n
    vov = torch.tensor([0.5, 1.0], dtype=torch.float64)  # far above threshold, saturated (Vd high)
    i = _id(NO_CLM, vt + vov, vd=3.0)
    assert float(i[1] / i[0]) == pytest.approx(4.0, rel=0.08)
    # Saturation current ~ I_spec/4 * (V_P/U_T)^2, i.e. (mu Cox W/L)/(2n) Vov^2.
    k = NMOS_130.mu0 * NMOS_130.cox * W / L
    assert float(i[1]) == pytest.approx(k / (2 * n) * 1.0 ** 2, rel=0.1)


def test_source_drain_symmetry():
    g = torch.Generator().manual_seed(0)
    vg, va, vb = (torch.rand(500, generator=g, dtype=torch.float64) * 1.2 for _ in range(3))
    c = EKVCoefficients.build([NMOS_130], [W], [L], T_NOMINAL)
    forward = ekv_current(c, vg, va, vb, 0.0)
    backward = ekv_current(c, vg, vb, va, 0.0)
    torch.testing.assert_close(forward, -backward, rtol=1e-12, atol=1e-18)
    assert float(ekv_current(c, vg, va, va, 0.0).abs().max()) == 0.0


def test_pmos_is_the_mirror_of_an_nmos_with_the_same_parameters():
    vdd = 1.2
    g = torch.Generator().manual_seed(1)
    vg, vs, vd = (torch.rand(300, generator=g, dtype=torch.float64) * vdd for _ in range(3))
    i_p = drain_current(PMOS_130, vg, vs, vd, w=W, l=L, vbulk=vdd)
    as_n = replace(PMOS_130, polarity=+1)
    i_n = drain_current(as_n, vdd - vg, vdd - vs, vdd - vd, w=W, l=L, vbulk=0.0)
    torch.testing.assert_close(i_p, -i_n, rtol=1e-12, atol=1e-20)
    # A PMOS with its gate low and source at VDD pulls its drain up: current flows source -> drain.
    assert float(drain_current(PMOS_130, 0.0, vdd, 0.0, w=W, l=L, vbulk=vdd)) < 0


def test_temperature_raises_subthreshold_current_and_lowers_drive_current():
    hot, cold = 360.0, 260.0
    sub_hot, sub_cold = float(_id(NMOS_130, 0.1, temperature=hot)), float(_id(NMOS_130, 0.1, temperature=cold))
    on_hot, on_cold = float(_id(NMOS_130, 1.2, temperature=hot)), float(_id(NMOS_130, 1.2, temperature=cold))
    assert sub_hot > 10 * sub_cold
    assert on_hot < on_cold


@pytest.mark.parametrize("dibl", [0.0, 0.08])
def test_analytic_derivatives_match_finite_differences(dibl):
    c = EKVCoefficients.build([replace(NMOS_130, sigma_dibl=dibl), replace(PMOS_130, sigma_dibl=dibl * 1.2)],
                              [W, W], [L, L], T_NOMINAL)
    vb = torch.tensor([0.0, 1.2], dtype=torch.float64)
    v = torch.tensor([[0.7, 0.2, 0.9], [0.3, 1.2, 0.4]], dtype=torch.float64)  # rows: (vg, vs, vd) per type
    vg, vs, vd = v[:, 0], v[:, 1], v[:, 2]
    _, dg, ds, dd = ekv_current(c, vg, vs, vd, vb, derivatives=True)
    h = 1e-7
    for analytic, k in ((dg, 0), (ds, 1), (dd, 2)):
        up, dn = v.clone(), v.clone()
        up[:, k] += h
        dn[:, k] -= h
        fd = (ekv_current(c, up[:, 0], up[:, 1], up[:, 2], vb) - ekv_current(c, dn[:, 0], dn[:, 1], dn[:, 2], vb)) / (2 * h)
        torch.testing.assert_close(analytic, fd, rtol=1e-5, atol=1e-12)


def test_pelgrom_sigma_scales_with_inverse_root_area_and_sampling_matches():
    s1 = pelgrom_sigma(NMOS_130, W, L)
    s4 = pelgrom_sigma(NMOS_130, 2 * W, 2 * L)
    assert s4 == pytest.approx(s1 / 2)
    assert s1 == pytest.approx(NMOS_130.a_vt / math.sqrt(W * L))
    pcsa = PCSA()
    dv = pcsa.sample_mismatch(40000, torch.Generator().manual_seed(2))
    torch.testing.assert_close(dv.std(0), pcsa.sigma_vt(), rtol=0.03, atol=0.0)
    assert float(dv.mean(0).abs().max()) < 0.05 * float(pcsa.sigma_vt().min())


def _constant_current_threshold(p, vd: float, i_target: float = 100e-9 * W / L) -> float:
    """V_G (V) where the NMOS carries i_target at V_S = 0, V_D = vd, by bisection on the monotone I(V_G)."""
    lo, hi = 0.0, 1.5
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if float(_id(p, mid, vd=vd)) < i_target else (lo, mid)
    return 0.5 * (lo + hi)


@pytest.mark.parametrize("sigma", [0.05, 0.09])
def test_dibl_lowers_the_threshold_by_sigma_per_volt_of_vds(sigma):
    p = replace(NO_CLM, sigma_dibl=sigma)
    v1, v2 = 0.3, 1.2  # both >> U_T: saturated, so V_DS enters only through DIBL (and |V_DS|~)
    shift = _constant_current_threshold(p, v1) - _constant_current_threshold(p, v2)
    u_t = thermal_voltage(T_NOMINAL)
    smooth = lambda v: math.sqrt(v * v + u_t * u_t) - u_t  # noqa: E731
    assert shift == pytest.approx(sigma * (smooth(v2) - smooth(v1)), rel=0.01)
    assert shift == pytest.approx(sigma * (v2 - v1), rel=0.01)
    # Without DIBL the same saturated device shows no shift.
    assert abs(_constant_current_threshold(NO_CLM, v1) - _constant_current_threshold(NO_CLM, v2)) < 1e-4
