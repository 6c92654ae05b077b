"""PCSA transient model: input checks, reads with and without mismatch, integration accuracy, trends."""

import itertools
import math
from dataclasses import replace

import pytest
import torch

from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.params import N_TRANSISTORS, R_HRS, R_LRS
from ternary_rram.circuit.pcsa import PCSA, decode
from ternary_rram.errors import InputError

# The default transistors (SKY130 tt fit, |Vth| about 0.69 V, 1.8 V nominal) read from 0.8 V up: below it
# (LRS, HRS) does not decide within tens of t_char (docs/results.md), so the VDDs span 0.8-1.8 V.
VDDS = (0.8, 0.9, 1.0, 1.2, 1.8)
PCSA_DEFAULT = PCSA()


def window(vdd: float, factor: float) -> OperatingPoint:
    """Sense window of ``factor`` latch time constants at ``vdd``."""
    return OperatingPoint(vdd, factor * PCSA_DEFAULT.characteristic_time(OperatingPoint(vdd, 1.0)))


def t(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def zeros(n: int) -> torch.Tensor:
    return torch.zeros(n, N_TRANSISTORS, dtype=torch.float64)


# ------------------------------------------------------------------------------------- validation
@pytest.mark.parametrize("kwargs, name", [
    (dict(vdd=0.0, t_sense=1e-9), "vdd"), (dict(vdd=2.5, t_sense=1e-9), "vdd"),
    (dict(vdd=float("nan"), t_sense=1e-9), "vdd"), (dict(vdd=1.0, t_sense=0.0), "t_sense"),
    (dict(vdd=1.0, t_sense=1e-9, temperature=20.0), "temperature"),
])
def test_operating_point_rejects_values_out_of_range(kwargs, name):
    with pytest.raises(InputError, match=rf"^{name}=.* is not allowed: must lie in"):
        OperatingPoint(**kwargs)


def test_operating_point_from_celsius():
    op = OperatingPoint.from_celsius(0.8, 1e-9, 85.0)
    assert op.temperature == pytest.approx(358.15)
    assert op.temperature_c == pytest.approx(85.0)


@pytest.mark.parametrize("bad", [0.0, -5e3, float("nan"), float("inf")])
def test_bad_resistance_raises_input_error(bad):
    with pytest.raises(InputError, match=r"r_blb\[1\]=.* is not allowed"):
        PCSA_DEFAULT.sense(t([R_LRS, R_LRS]), t([R_HRS, bad]), window(1.2, 5))


def test_bad_mismatch_shape_raises_input_error():
    with pytest.raises(InputError, match="dvth shape"):
        PCSA_DEFAULT.sense(t([R_LRS]), t([R_HRS]), window(1.2, 5), dvth=zeros(2))


def test_decode_uses_the_explicit_readout_threshold():
    out, outb = t([0.1, 1.1, 1.1, 0.1, 0.7]), t([1.1, 0.1, 1.1, 0.1, 0.5])
    assert decode(out, outb, 1.2, 0.5).tolist() == [1, -1, 0, 0, -1]
    assert decode(out, outb, 1.2, 0.3).tolist() == [1, -1, 0, 0, 0]


# ----------------------------------------------------------------------------------- mismatch off
@pytest.mark.parametrize("vdd", VDDS)
def test_mismatch_off_reads_the_programmed_sign_and_swapping_swaps_outputs(vdd):
    op = window(vdd, 20)
    r_bl, r_blb = t([R_LRS, R_HRS, R_LRS, 10 * R_HRS]), t([R_HRS, R_LRS, 10 * R_HRS, R_LRS])
    res = PCSA_DEFAULT.sense(r_bl, r_blb, op, dvth=zeros(4))
    assert res.value.tolist() == [1, -1, 1, -1]
    assert bool(torch.isfinite(res.t_decide).all())
    swapped = PCSA_DEFAULT.sense(r_blb, r_bl, op, dvth=zeros(4))
    torch.testing.assert_close(swapped.out, res.outb, rtol=0, atol=1e-9 * vdd)
    torch.testing.assert_close(swapped.outb, res.out, rtol=0, atol=1e-9 * vdd)
    torch.testing.assert_close(swapped.t_decide, res.t_decide, rtol=1e-9, atol=0)
    torch.testing.assert_close(swapped.energy, res.energy, rtol=1e-9, atol=0)
    assert swapped.value.tolist() == [-1, 1, -1, 1]


@pytest.mark.parametrize("vdd", (0.8, 1.2, 1.8))
def test_identical_devices_never_resolve(vdd):
    op = window(vdd, 60)
    r = t([R_LRS, R_HRS, 10 * R_HRS, R_HRS])
    dvth = zeros(4)
    dvth[3, [0, 1]] = 5e-3   # a mirror-symmetric offset pattern keeps the circuit symmetric
    dvth[3, [3, 5]] = -7e-3
    res = PCSA_DEFAULT.sense(r, r.clone(), op, dvth=dvth)
    assert res.value.tolist() == [0, 0, 0, 0]
    assert bool(torch.isnan(res.t_decide).all())
    assert float((res.out - res.outb).abs().max()) == 0.0


# ----------------------------------------------------------------------------- integration accuracy
@pytest.mark.parametrize("vdd", (0.8, 1.2, 1.8))
def test_halving_the_time_step_changes_almost_nothing(vdd):
    n = 1000
    gen = torch.Generator().manual_seed(11)
    # Half (LRS, HRS)-like pairs, half (HRS, HRS)-like pairs with a lognormal spread of their ratio.
    r_bl = torch.cat([torch.full((n // 2,), R_LRS), R_HRS * torch.exp(0.5 * torch.randn(n // 2, generator=gen))])
    r_blb = torch.cat([R_HRS * torch.exp(0.5 * torch.randn(n // 2, generator=gen)),
                       R_HRS * torch.exp(0.5 * torch.randn(n // 2, generator=gen))]).double()
    r_bl = r_bl.double()
    op = window(vdd, 30)
    dvth = PCSA_DEFAULT.sample_mismatch(n, gen)
    dt = PCSA_DEFAULT.default_dt(op)
    a = PCSA_DEFAULT.sense(r_bl, r_blb, op, dvth=dvth, dt=dt)
    b = PCSA_DEFAULT.sense(r_bl, r_blb, op, dvth=dvth, dt=dt / 2)
    assert float((a.value != b.value).double().mean()) <= 1e-3
    both = torch.isfinite(a.t_decide) & torch.isfinite(b.t_decide)
    assert int(both.sum()) > n // 4
    rel = ((a.t_decide - b.t_decide).abs() / b.t_decide)[both]
    assert float(rel.max()) < 0.01
    assert float(((a.energy - b.energy).abs() / b.energy).max()) < 0.01


def _mixed_batch(n: int, seed: int):
    """Half (LRS, HRS)-like pairs, half (HRS, HRS)-like pairs with a lognormal spread, and mismatch."""
    gen = torch.Generator().manual_seed(seed)
    r_bl = torch.cat([torch.full((n // 2,), R_LRS), R_HRS * torch.exp(0.5 * torch.randn(n // 2, generator=gen))])
    r_blb = torch.cat([R_HRS * torch.exp(0.5 * torch.randn(n // 2, generator=gen)),
                       R_HRS * torch.exp(0.5 * torch.randn(n // 2, generator=gen))])
    return r_bl.double(), r_blb.double(), PCSA_DEFAULT.sample_mismatch(n, gen)


def _assert_same_reads(a, b, n: int, min_decided: int):
    assert float((a.value != b.value).double().mean()) <= 1e-3
    both = torch.isfinite(a.t_decide) & torch.isfinite(b.t_decide)
    assert int(both.sum()) >= min_decided
    assert bool((torch.isfinite(a.t_decide) == torch.isfinite(b.t_decide)).double().mean() >= 1 - 1e-3)
    if bool(both.any()):
        rel = ((a.t_decide - b.t_decide).abs() / b.t_decide)[both]
        assert float(rel.max()) < 0.01
    assert float(((a.energy - b.energy).abs() / b.energy).max()) < 0.01


def _tighter(p, k: float) -> PCSA:
    """A PCSA whose integration tolerances are all ``k`` times tighter than ``p``'s."""
    return PCSA(replace(p, rtol=p.rtol / k, atol_fraction=p.atol_fraction / k, rtol_diff=p.rtol_diff / k,
                        atol_diff_fraction=p.atol_diff_fraction / k))


# 1.0 V is the lowest VDD where (LRS, HRS) decides within 10 t_char with the default transistors (about 8 t_char
# there, 11 at 0.9 V, 16 at 0.8 V), so the 10 t_char case still compares decided reads.
@pytest.mark.parametrize("vdd", (1.0, 1.2, 1.8))
@pytest.mark.parametrize("factor, min_decided", [(3, 0), (10, 150), (30, 500)])
def test_adaptive_default_matches_tighter_tolerance_and_fine_fixed_step(vdd, factor, min_decided):
    """The default (error-controlled) integration against the same with every tolerance 4x tighter
    (which halves the step of this second-order method) and against the fixed step tau/16."""
    n = 1000
    r_bl, r_blb, dvth = _mixed_batch(n, 11)
    op = window(vdd, factor)
    p = PCSA_DEFAULT.params
    tight = _tighter(p, 4)
    a = PCSA_DEFAULT.sense(r_bl, r_blb, op, dvth=dvth)
    b = tight.sense(r_bl, r_blb, op, dvth=dvth)
    fine = PCSA_DEFAULT.sense(r_bl, r_blb, op, dvth=dvth, dt=PCSA_DEFAULT.characteristic_time(op) / 16)
    _assert_same_reads(a, b, n, min_decided)
    _assert_same_reads(a, fine, n, min_decided)


# float32 evaluation (PCSA(dtype=torch.float32)): benchmarks/pcsa_precision.py measured it within 7e-6 (decision
# time) and 3e-6 (energy) of float64 over these cases, 100x below the integration error itself.
@pytest.mark.parametrize("vdd", (1.0, 1.8))
@pytest.mark.parametrize("factor, min_decided", [(10, 150), (30, 500)])
def test_float32_integration_reads_as_float64_does(vdd, factor, min_decided):
    n = 1000
    r_bl, r_blb, dvth = _mixed_batch(n, 11)
    op = window(vdd, factor)
    p = PCSA_DEFAULT.params
    tight = _tighter(p, 4)
    single = PCSA(p, dtype=torch.float32).sense(r_bl, r_blb, op, dvth=dvth)
    double = PCSA_DEFAULT.sense(r_bl, r_blb, op, dvth=dvth)
    _assert_same_reads(single, tight.sense(r_bl, r_blb, op, dvth=dvth), n, min_decided)
    # Far closer to float64 than the integration error: the rounding of float32 is not what limits it.
    assert single.t_decide.dtype == single.energy.dtype == single.out.dtype == torch.float64
    assert bool((single.value == double.value).all())
    assert bool((torch.isnan(single.t_decide) == torch.isnan(double.t_decide)).all())
    both = torch.isfinite(double.t_decide)
    assert float(((single.t_decide - double.t_decide).abs() / double.t_decide)[both].max()) < 2e-4
    assert float(((single.energy - double.energy).abs() / double.energy).max()) < 1e-4


def test_float32_integration_handles_the_fixed_step_and_waveforms():
    op = window(1.2, 20)
    r_bl, r_blb = t([R_LRS, R_HRS]), t([R_HRS, R_LRS])
    single = PCSA(PCSA_DEFAULT.params, dtype=torch.float32)
    fixed = single.sense(r_bl, r_blb, op, dvth=zeros(2), dt=PCSA_DEFAULT.default_dt(op))
    ref = PCSA_DEFAULT.sense(r_bl, r_blb, op, dvth=zeros(2), dt=PCSA_DEFAULT.default_dt(op))
    assert fixed.value.tolist() == ref.value.tolist() == [1, -1]
    torch.testing.assert_close(fixed.t_decide, ref.t_decide, rtol=1e-4, atol=0)
    time_s, out, _ = single.waveforms(r_bl, r_blb, op, dvth=zeros(2))
    assert out.dtype == torch.float64 and out.shape == (2, time_s.numel())


@pytest.mark.parametrize("dtype", (torch.float16, torch.int32, "float32"))
def test_unsupported_integration_dtype_raises_input_error(dtype):
    with pytest.raises(InputError, match="dtype"):
        PCSA(dtype=dtype)


def test_adaptive_waveforms_land_on_the_window_and_refine_the_sen_edge():
    op = window(1.2, 40)
    time_s, _, _ = PCSA_DEFAULT.waveforms(t([R_LRS, R_HRS]), t([R_HRS, 1.1 * R_HRS]), op, dvth=zeros(2))
    h = time_s.diff()
    assert float(time_s[-1]) == op.t_sense
    assert bool((h > 0).all())
    edge = time_s[1:] <= PCSA_DEFAULT.params.t_rise * (1 + 1e-9)
    assert float(h[edge].max()) <= PCSA_DEFAULT.params.t_rise / 8 * (1 + 1e-9)
    assert bool(torch.isclose(time_s, torch.tensor(PCSA_DEFAULT.params.t_rise, dtype=torch.float64)).any())
    # Error control: steps are neither fixed nor tiny over a long window.
    assert int(h.numel()) < 40 * PCSA_DEFAULT.params.steps_per_tau


# ---------------------------------------------------------------------------------- default mismatch
def test_decision_time_rises_and_energy_falls_as_vdd_falls():
    n = 300
    gen = torch.Generator().manual_seed(5)
    t_dec, energy = [], []
    for vdd in (1.8, 1.5, 1.2, 1.0, 0.9):
        res = PCSA_DEFAULT.sense(torch.full((n,), R_LRS), torch.full((n,), R_HRS), window(vdd, 20), generator=gen)
        assert float((res.value == 1).double().mean()) > 0.99
        t_dec.append(float(res.t_decide.nanmean()))
        energy.append(float(res.energy.mean()))
    assert all(b > a for a, b in itertools.pairwise(t_dec)), t_dec
    assert all(b < a for a, b in itertools.pairwise(energy)), energy
    # Tens of fJ at nominal VDD, a few fJ near threshold (docs/physics.md section 7).
    assert 5e-15 < energy[0] < 100e-15
    assert energy[-1] < energy[0] / 3


def test_hrs_hrs_at_nominal_vdd_stays_unresolved_in_any_short_window_that_reads_lrs_hrs():
    """Pins what the physics gives with the default transistors: at the 1.8 V nominal supply (LRS, HRS)
    decides in ~0.14 ns, while an equal (HRS, HRS) pair, pushed only by mismatch, needs ~1-2 ns to
    regenerate, so a window that reads (LRS, HRS) reliably can leave (HRS, HRS) at 0 with probability ~1.
    P(0 | HRS, HRS) < 5 % needs a window of about 2 ns or more."""
    n = 200
    gen = torch.Generator().manual_seed(3)
    short = OperatingPoint(1.8, 0.3e-9)
    lh = PCSA_DEFAULT.sense(torch.full((n,), R_LRS), torch.full((n,), R_HRS), short, generator=gen)
    hh = PCSA_DEFAULT.sense(torch.full((n,), R_HRS), torch.full((n,), R_HRS), short, generator=gen)
    assert float((lh.value == 1).double().mean()) == 1.0
    assert float((hh.value == 0).double().mean()) > 0.95
    long = OperatingPoint(1.8, 2e-9)
    hh_long = PCSA_DEFAULT.sense(torch.full((n,), R_HRS), torch.full((n,), R_HRS), long, generator=gen)
    lh_long = PCSA_DEFAULT.sense(torch.full((n,), R_LRS), torch.full((n,), R_HRS), long, generator=gen)
    assert float((hh_long.value == 0).double().mean()) < 0.05
    assert float((lh_long.value == 1).double().mean()) == 1.0


def test_generator_draws_reproducible_mismatch_and_none_means_off():
    op = window(1.0, 20)
    r1, r2 = torch.full((50,), R_HRS), torch.full((50,), 1.1 * R_HRS)
    a = PCSA_DEFAULT.sense(r1, r2, op, generator=torch.Generator().manual_seed(7))
    b = PCSA_DEFAULT.sense(r1, r2, op, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a.value, b.value)
    off = PCSA_DEFAULT.sense(r1, r2, op)
    assert len(set(off.value.tolist())) == 1  # every instance identical without mismatch


def test_waveforms_end_where_sense_ends():
    op = window(0.8, 10)
    r1, r2, dvth = t([R_LRS, R_HRS]), t([R_HRS, R_LRS]), zeros(2)
    time_s, out, outb = PCSA_DEFAULT.waveforms(r1, r2, op, dvth=dvth)
    res = PCSA_DEFAULT.sense(r1, r2, op, dvth=dvth)
    assert out.shape == outb.shape == (2, time_s.numel())
    assert float(time_s[-1]) == pytest.approx(op.t_sense)
    torch.testing.assert_close(out[:, -1], res.out, rtol=0, atol=1e-6)
    assert math.isclose(float(out[0, 0]), 0.8, rel_tol=1e-3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_runs_on_the_device_of_its_inputs():
    op = window(1.0, 20)
    r1 = torch.full((64,), R_LRS, dtype=torch.float64, device="cuda")
    r2 = torch.full((64,), R_HRS, dtype=torch.float64, device="cuda")
    res = PCSA_DEFAULT.sense(r1, r2, op, generator=torch.Generator(device="cuda").manual_seed(0))
    assert res.value.device.type == "cuda"
    cpu = PCSA_DEFAULT.sense(r1.cpu(), r2.cpu(), op, dvth=torch.zeros(64, N_TRANSISTORS, dtype=torch.float64))
    assert bool((res.value.cpu() == cpu.value).all())


# ------------------------------------------------------------------------------ the batched kernel
@pytest.mark.parametrize("dibl", (0.0, 0.07))
@pytest.mark.parametrize("h", (1e-14, 1e-12, 1e-10, 1e3))
def test_sparse_lu_solves_the_linearised_node_equations(h, dibl):
    """The kernel's stamped Jacobian and sparse LU against I - h J / C with J taken by central finite
    differences of the node currents (a wrong stamp, sign or fill-in fails): the solution matches a
    dense solve where the system is well conditioned, and leaves a tiny residual at every step size
    (h = 1e3 s is the precharge continuation's, where the system spans many decades)."""
    from dataclasses import replace

    from ternary_rram.circuit.pcsa import N_STATES, _Kernel

    base = PCSA_DEFAULT.params  # dibl > 0: the V_DS dependence of V_P enters every stamp
    params = replace(base, nmos=replace(base.nmos, sigma_dibl=dibl), pmos=replace(base.pmos, sigma_dibl=1.2 * dibl))
    n, vdd = 6, 0.9
    op = OperatingPoint(vdd, 1e-9)
    gen = torch.Generator().manual_seed(3)
    r_bl = R_HRS * torch.exp(torch.randn(n, generator=gen, dtype=torch.float64))
    r_blb = R_LRS * torch.exp(torch.randn(n, generator=gen, dtype=torch.float64))
    dvth = PCSA_DEFAULT.sample_mismatch(n, gen)
    k = _Kernel(params, op, 1.0 / r_bl, 1.0 / r_blb, dvth)
    v = vdd * torch.rand(N_STATES, n, generator=gen, dtype=torch.float64)
    sen = 0.7 * vdd
    # Step of the finite-difference reference: its round-off error grows as 1/eps (with the default SKY130 set
    # the h = 1e3 residual was 4.4e-6 at eps 1e-6 and 6.3e-6 at 1e-7,
    # below 1e-6 at 3e-6 and 1e-5), its truncation error as eps^2 (still
    # < 1e-9 relative at 1e-5 for currents that vary on the n kT/q ~ 37 mV scale).
    eps = 1e-5
    jac = torch.empty(n, N_STATES, N_STATES, dtype=torch.float64)
    for col in range(N_STATES):
        up, down = v.clone(), v.clone()
        up[col] += eps
        down[col] -= eps
        i_up = k.evaluate(up, sen, False)[0].clone()  # the kernel returns a view of its work buffer
        jac[:, :, col] = ((i_up - k.evaluate(down, sen, False)[0]) / (2 * eps)).T
    rhs = torch.randn(N_STATES, n, generator=gen, dtype=torch.float64)
    k.evaluate(v, sen, True)
    k.factorize(h)
    x = k.solve_(rhs.clone())
    dense = torch.eye(N_STATES, dtype=torch.float64) - h * jac / k.cap.view(1, N_STATES, 1)
    residual = (dense @ x.T.unsqueeze(2)).squeeze(2).T - rhs
    scale = (dense.abs() @ x.abs().T.unsqueeze(2)).squeeze(2).T + rhs.abs()
    assert float((residual.abs() / scale).max()) < 1e-6
    if h <= 1e-10:
        expected = torch.linalg.solve(dense, rhs.T.unsqueeze(2)).squeeze(2).T
        torch.testing.assert_close(x, expected, rtol=1e-6, atol=1e-9 * float(expected.abs().max()))


def test_hermite_crossing_finds_the_root_of_the_cubic_for_every_instance():
    """Newton with bisection brackets: each instance lands on its own root (one instance converging
    early must not be moved off it while the others iterate)."""
    from ternary_rram.circuit.pcsa import _hermite_crossing

    gen = torch.Generator().manual_seed(5)
    n, thr = 200, 0.6
    y0 = thr * torch.rand(n, generator=gen, dtype=torch.float64)
    y1 = thr + 0.5 * torch.rand(n, generator=gen, dtype=torch.float64)
    s0 = (y1 - y0) * (0.2 + 1.6 * torch.rand(n, generator=gen, dtype=torch.float64))
    s1 = (y1 - y0) * (0.2 + 1.6 * torch.rand(n, generator=gen, dtype=torch.float64))
    th = _hermite_crossing(y0, y1, s0, s1, thr)
    t2, t3 = th * th, th * th * th
    value = (2 * t3 - 3 * t2 + 1) * y0 + (t3 - 2 * t2 + th) * s0 + (-2 * t3 + 3 * t2) * y1 + (t3 - t2) * s1
    assert bool(((th >= 0) & (th <= 1)).all())
    assert float((value - thr).abs().max()) < 1e-12
