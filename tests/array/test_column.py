"""Column sense amplifiers of a chip: static mismatch and resistances, per-read noise only.

Operating points are set relative to the PCSA's own characteristic time (no number that depends on
today's transistor defaults): a short window at a low VDD, where (HRS, HRS) cells are read wrong
depending on each amplifier's mismatch.
"""

from __future__ import annotations

import math

import pytest
import torch

from ternary_rram.array import Array2T2R
from ternary_rram.array.column import AmplifierPool, build_pool
from ternary_rram.array.params import DEFAULT_NOISE, NO_NOISE, ReadNoise
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.device import DeviceModel
from ternary_rram.errors import InputError

PCSA_ = PCSA()
DM = DeviceModel()


# The low VDD of these tests: with the default SKY130 transistors (|Vth| about 0.69 V) 0.9 V sits at the low
# edge of the ternary margin, where each amplifier's mismatch decides which cells read wrong (0.5 V was that
# point for the generic 130 nm set, whose threshold is 0.3 V lower).
LOW_VDD = 0.9


def _op(vdd: float, factor: float) -> OperatingPoint:
    return OperatingPoint(vdd, factor * PCSA_.characteristic_time(OperatingPoint(vdd, 1e-9)))


def _pool(op, noise, *, k=4, g=13, m=4, seed=0) -> AmplifierPool:
    return build_pool(PCSA_, op, r_min=1e3, r_max=3e7, n_amplifiers=k, n_grid=g, n_mc=m, noise=noise,
                      generator=torch.Generator().manual_seed(seed))


def _array(rows, cols, pool, seed=1, weights=None) -> Array2T2R:
    g = torch.Generator().manual_seed(seed)
    arr = Array2T2R(rows, cols, DM)
    w = weights if weights is not None else torch.randint(-1, 2, (rows, cols), generator=g)
    arr.program(w, g)
    arr.assign_amplifiers(pool, g)
    return arr


def test_noise_off_reads_repeat_exactly():
    pool = _pool(_op(LOW_VDD, 20), NO_NOISE)
    arr = _array(48, 16, pool)
    a = arr.read_columns(pool, torch.Generator().manual_seed(5)).weights
    b = arr.read_columns(pool, torch.Generator().manual_seed(6)).weights
    assert torch.equal(a, b)
    assert int((a != arr.weights).sum()) > 0  # the point reads some cells wrong, and always the same
    # some cells sit between grid corners of different outcomes: a fresh draw per read would differ
    cum, _ = pool.cell_tables(arr.pool_index[arr.amplifier_index().reshape(-1)], arr.r_bl.reshape(-1),
                              arr.r_blb.reshape(-1))
    assert bool(((cum > 0) & (cum < 1)).any())


def test_noise_on_moves_only_cells_near_the_decision_boundary():
    op = _op(LOW_VDD, 20)
    noise = ReadNoise.scaled(2.0)
    pool = _pool(op, noise, k=2, g=25, m=6)
    arr = _array(32, 8, pool, weights=torch.zeros(32, 8, dtype=torch.int8))  # (HRS, HRS): at the boundary
    reads = torch.stack([arr.read_columns(pool, torch.Generator().manual_seed(s)).weights for s in range(12)])
    changed = (reads != reads[0]).any(0).reshape(-1)
    assert bool(changed.any())  # noise on: some cells do change from read to read
    # "far from the boundary", measured with the transient PCSA itself: the noiseless outcome of the
    # column's amplifier stays put when each resistance moves by 5 noise sigmas either way
    rb, rbb = arr.r_bl.reshape(-1), arr.r_blb.reshape(-1)
    dv = arr.pcsa_mismatch[arr.amplifier_index().reshape(-1)]
    outs = []
    for sa in (-5.0, 0.0, 5.0):
        for sb in (-5.0, 0.0, 5.0):
            a = rb * torch.exp(sa * noise.sigma_ln_r(rb))
            b = rbb * torch.exp(sb * noise.sigma_ln_r(rbb))
            outs.append(PCSA_.sense(a, b, op, dvth=dv).value)
    outs = torch.stack(outs)
    far = (outs == outs[0]).all(0)
    assert int(far.sum()) > 0
    assert not bool(changed[far].any())


def test_two_amplifier_draws_give_different_error_patterns():
    op = _op(LOW_VDD, 10)
    pool = _pool(op, NO_NOISE, k=8)
    w = torch.randint(-1, 2, (48, 32), generator=torch.Generator().manual_seed(9))
    e = []
    for seed in (1, 2):
        arr = _array(48, 32, pool, seed=seed, weights=w)
        e.append(arr.read_columns(pool).weights != arr.weights)
    assert int(e[0].sum()) > 0 and int(e[1].sum()) > 0
    assert not torch.equal(e[0], e[1])


def test_errors_correlate_within_columns_more_than_across():
    """At a low VDD the column's fixed mismatch decides most errors: error counts vary much more
    from column to column than from row to row (rows share no amplifier)."""
    op = _op(LOW_VDD, 10)
    pool = _pool(op, DEFAULT_NOISE, k=16)
    arr = _array(64, 64, pool)
    err = torch.zeros(64, 64)
    g = torch.Generator().manual_seed(3)
    for _ in range(4):
        err += (arr.read_columns(pool, g).weights != arr.weights).float()
    assert err.sum() > 0
    per_col, per_row = err.sum(0), err.sum(1)
    assert per_col.var() > 3 * per_row.var()
    # the per-amplifier counts of the array layer agree with the positions
    res = arr.read_columns(pool, g)
    assert int(arr.errors_per_amplifier(res.weights).sum()) == res.errors.total


def test_pool_map_matches_direct_transient_mc_of_the_same_column_and_cells():
    """The amplifier's map against direct transient Monte Carlo of the same amplifier (mismatch),
    the same cells and the same noise law: |map - direct| <= 1 % + 2 SE on each outcome, averaged
    over the cells (SE: the binomial error of the direct estimate on these cells)."""
    op = _op(LOW_VDD, 40)
    g = torch.Generator().manual_seed(3)
    mm = PCSA_.sample_mismatch(1, g)
    n, reps = 48, 12
    arr = Array2T2R(n, 1, DM)
    arr.program(torch.zeros(n, 1, dtype=torch.int8), g)
    r_lo = float(torch.minimum(arr.r_bl, arr.r_blb).min()) * 0.8
    r_hi = float(torch.maximum(arr.r_bl, arr.r_blb).max()) * 1.25
    pool = build_pool(PCSA_, op, r_min=r_lo, r_max=r_hi, n_grid=33, n_mc=8, noise=DEFAULT_NOISE,
                      generator=g, mismatch=mm)
    arr.assign_amplifiers(pool, g)
    assert torch.equal(arr.pcsa_mismatch, mm)
    cum, _ = pool.cell_tables(torch.zeros(n, dtype=torch.int64), arr.r_bl.reshape(-1), arr.r_blb.reshape(-1))
    p_map = torch.stack([cum[:, 0], cum[:, 1] - cum[:, 0], 1 - cum[:, 1]], 1).double().mean(0)
    counts = torch.zeros(n, 3, dtype=torch.float64)
    for _ in range(reps):
        v = arr.read_transient(PCSA_, op, g, noise=DEFAULT_NOISE).weights.reshape(-1).long() + 1
        counts[torch.arange(n), v] += 1
    p_cell = counts / reps
    p_direct = p_cell.mean(0)
    se = torch.sqrt((p_cell * (1 - p_cell)).sum(0) / (reps - 1)) / n
    assert 0.05 < float(p_direct[1]) < 0.95  # the point is at the boundary: the check means something
    assert bool(((p_map - p_direct).abs() <= 0.01 + 2 * se).all()), (p_map, p_direct, se)


def test_read_noise_law_and_validation():
    n = ReadNoise()
    s = n.sigma_ln_r(torch.tensor([5e3, 3e5, 1e9]))
    assert s[0] < s[1] <= s[2] <= n.rtn_sigma_max  # grows with R, capped
    assert NO_NOISE.off and not DEFAULT_NOISE.off
    assert ReadNoise.scaled(0.0).off
    for bad in (-1.0, float("nan")):
        with pytest.raises(InputError, match="noise_scale="):
            ReadNoise.scaled(bad)
    with pytest.raises(InputError, match="rtn_sigma_ref="):
        ReadNoise(rtn_sigma_ref=-0.1)
    # latch noise: kT/C of the PCSA's output node, recomputed
    k_b = 1.380649e-23
    assert n.latch_sigma(300.0, PCSA_.params.c_out) == pytest.approx(math.sqrt(k_b * 300.0 / PCSA_.params.c_out))


def test_reading_needs_amplifiers_and_column_groups_share_one():
    arr = Array2T2R(8, 8, DM, tile=(4, 8), column_group=4)
    assert arr.n_amplifiers == 2 * 2  # 2 tiles down x 2 groups across
    idx = arr.amplifier_index()
    assert torch.equal(idx[0, :4], torch.zeros(4, dtype=torch.int64)) and int(idx[0, 4]) == 1
    assert int(idx[4, 0]) == 2  # the next tile down has its own amplifiers
    arr.program(torch.ones(8, 8, dtype=torch.int8))
    pool = AmplifierPool(mismatch=torch.zeros(1, 9, dtype=torch.float64), maps=(_pool(_op(1.0, 20), NO_NOISE,
                         k=1, g=3, m=1).maps[0],), noise=NO_NOISE)
    with pytest.raises(InputError, match="assign_amplifiers"):
        arr.read_columns(pool)
    with pytest.raises(InputError, match="column_group="):
        Array2T2R(4, 4, DM, column_group=5)
