"""Sense map: interpolation, sampling, counts CSV, storage, speed, and agreement with direct transient MC."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.circuit.read import simulate_state
from ternary_rram.circuit.sensemap import SenseMap, mean_probabilities, read_counts_csv
from ternary_rram.device.model import DeviceModel
from ternary_rram.errors import InputError

OP = OperatingPoint(0.9, 1e-9)


def _smooth_map(g: int = 9) -> SenseMap:
    """P(+1) rises with ln(R_blb / R_bl), P(-1) falls, P(0) in between: a smooth known field."""
    ax = torch.linspace(math.log(1e3), math.log(1e7), g, dtype=torch.float64)
    d = ax.view(1, g) - ax.view(g, 1)          # ln R_blb - ln R_bl
    pp = torch.sigmoid(d - 1.0)
    pm = torch.sigmoid(-d - 1.0)
    probs = torch.stack([pm, 1 - pp - pm, pp], dim=2)
    e = torch.full((g, g), 1e-14, dtype=torch.float64)
    t = torch.full((g, g), 1e-10, dtype=torch.float64)
    return SenseMap(op=OP, ln_r_min=float(ax[0]), ln_r_max=float(ax[-1]), probs=probs, energy_grid=e,
                    t_decide_grid=t, n_mc=100)


def test_probabilities_exact_on_grid_and_bilinear_between():
    sm = _smooth_map()
    r_bl, r_blb = sm.grid_pairs()
    p = sm.probabilities(r_bl, r_blb)
    assert torch.allclose(p, sm.probs.reshape(-1, 3), atol=1e-9)
    # the centre (in ln R) of four neighbouring grid points = average of their values
    r = torch.exp(sm.ln_r)
    mid = sm.probabilities(torch.sqrt(r[3] * r[4]).reshape(1), torch.sqrt(r[5] * r[6]).reshape(1))[0]
    assert torch.allclose(mid, sm.probs[3:5, 5:7].reshape(4, 3).mean(0), atol=1e-9)
    assert torch.allclose(p.sum(1), torch.ones(len(p), dtype=torch.float64))


def test_clamped_outside_grid():
    sm = _smooth_map()
    lo, hi = math.exp(sm.ln_r_min), math.exp(sm.ln_r_max)
    far = sm.probabilities(torch.tensor([1.0, 1e12]), torch.tensor([1e12, 1.0]))
    edge = sm.probabilities(torch.tensor([lo, hi]), torch.tensor([hi, lo]))
    assert torch.allclose(far, edge, atol=1e-6)


def test_sample_matches_probabilities():
    sm = _smooth_map()
    g = torch.Generator().manual_seed(0)
    n = 400_000
    r_bl = torch.full((n,), 2e4, dtype=torch.float64)
    r_blb = torch.full((n,), 5e4, dtype=torch.float64)
    v = sm.sample(r_bl, r_blb, g)
    assert v.dtype == torch.int8 and v.shape == (n,)
    freq = torch.bincount(v.long() + 1, minlength=3).double() / n
    p = sm.probabilities(r_bl[:1], r_blb[:1])[0]
    assert torch.allclose(freq, p, atol=4e-3)


def test_energy_and_decision_time_interpolated():
    sm = _smooth_map()
    r = torch.tensor([3e4, 7e5])
    assert torch.allclose(sm.energy_per_sense(r, r), torch.full((2,), 1e-14, dtype=torch.float64))
    assert torch.allclose(sm.t_decide_mean(r, r), torch.full((2,), 1e-10, dtype=torch.float64))


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_save_load_roundtrip(tmp_path, suffix):
    sm = _smooth_map()
    tg = sm.t_decide_grid.clone()
    tg[0, 0] = float("nan")
    sm = SenseMap(sm.op, sm.ln_r_min, sm.ln_r_max, sm.probs, sm.energy_grid, tg, 100)
    back = SenseMap.load(sm.save(tmp_path / f"map{suffix}"))
    assert back.op == sm.op and back.n_mc == 100
    assert torch.allclose(back.probs, sm.probs)
    assert torch.allclose(back.t_decide_grid, sm.t_decide_grid, equal_nan=True)


def _write_counts(path, rows, header="r_bl,r_blb,n_minus,n_zero,n_plus,vdd,t_sense,temperature_c"):
    path.write_text(header + "\n" + "\n".join(",".join(str(x) for x in r) for r in rows) + "\n")
    return path


def test_counts_regular_grid(tmp_path):
    axis = np.exp(np.linspace(np.log(1e3), np.log(1e6), 4))
    rows = []
    for i, a in enumerate(axis):
        for j, b in enumerate(axis):
            rows.append((a, b, 10 * (i > j), 10 * (i == j), 10 * (i < j), 0.7, 2e-9, 27))
    rows.append((1e4, 1e4, 1, 1, 1, 1.2, 1e-9, 85))  # a second operating point
    tables = read_counts_csv(_write_counts(tmp_path / "c.csv", rows))
    assert len(tables) == 2
    t07 = next(t for t in tables if t.vdd == 0.7)
    sm = SenseMap.from_counts(t07)
    assert sm.source == "counts" and sm.n_mc == 10
    assert sm.op.vdd == 0.7 and abs(sm.op.temperature_c - 27) < 1e-9
    p = sm.probabilities(torch.tensor([axis[0], axis[3], axis[1]]), torch.tensor([axis[3], axis[0], axis[1]]))
    assert torch.allclose(p[:2], torch.tensor([[0, 0, 1.0], [1.0, 0, 0]], dtype=torch.float64), atol=1e-9)
    assert p[2, 1] > 0.9  # between grid points of the resampling grid: linear in the data triangles
    assert torch.isnan(sm.energy_grid).all()


def test_counts_irregular_points_interpolated_and_nearest(tmp_path):
    rng = np.random.default_rng(0)
    lb, lbb = rng.uniform(8, 14, 60), rng.uniform(8, 14, 60)
    plus = (lbb > lb).astype(int) * 50
    table = {"r_bl": np.exp(lb), "r_blb": np.exp(lbb), "n_minus": 50 - plus, "n_zero": np.zeros(60, int),
             "n_plus": plus, "vdd": 0.9, "t_sense": 1e-9, "temperature_c": 27.0}
    sm = SenseMap.from_counts(table, n_grid=21)
    p = sm.probabilities(torch.tensor([math.exp(9.0), math.exp(13.0)]), torch.tensor([math.exp(13.0), math.exp(9.0)]))
    assert p[0, 2] > 0.9 and p[1, 0] > 0.9
    assert torch.allclose(sm.probs.sum(2), torch.ones(21, 21, dtype=torch.float64))


@pytest.mark.parametrize("row, needle", [
    ((float("nan"), 1e5, 1, 1, 1, 0.9, 1e-9, 27), "r_bl=nan"),
    ((1e4, 1e5, -1, 1, 1, 0.9, 1e-9, 27), "n_minus=-1.0"),
    ((1e4, 0.0, 1, 1, 1, 0.9, 1e-9, 27), "r_blb=0.0"),
    ((1e4, 1e5, 1, 1, "x", 0.9, 1e-9, 27), "n_plus='x'"),
    ((1e4, 1e5, 0, 0, 0, 0.9, 1e-9, 27), "n_minus+n_zero+n_plus=0"),
])
def test_counts_bad_values(tmp_path, row, needle):
    with pytest.raises(InputError) as exc:
        tables = read_counts_csv(_write_counts(tmp_path / "bad.csv", [row]))
        SenseMap.from_counts(tables[0])
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_counts_missing_column(tmp_path):
    with pytest.raises(InputError, match="'n_zero' is missing"):
        read_counts_csv(_write_counts(tmp_path / "m.csv", [(1e4, 1e5, 1, 1, 0.9, 1e-9, 27)],
                                      header="r_bl,r_blb,n_minus,n_plus,vdd,t_sense,temperature_c"))


# ---------------------------------------------------------------------------- against direct MC
def test_sense_map_matches_direct_transient_mc():
    """At VDD 1.0 V (the default low-VDD point) and a window of 30 characteristic times, where (HRS, HRS)
    pairs start to resolve (P(0 | HRS, HRS) about 0.9),
    the map built by transient MC over mismatch and sampled for default-distributed devices agrees
    with direct transient MC (devices and mismatch together) on every probability of every state.

    Criterion: |map - direct| <= 1 % + 2 standard errors of the direct estimate. The grid (step 0.25
    in ln R, 3 draws per point) is coarser than the default (step 0.1) to fit the test budget; the
    interpolation error shrinks with the step (docs/benchmarks.md records measured comparisons). With the
    default SKY130 transistors the map needs 8 mismatch draws per point here: with 3 its P(0 | HRS, HRS) came out
    4 points below the direct estimate (0.847 vs 0.890), outside the criterion; with 8, 0.867.
    """
    pcsa, dev = PCSA(), DeviceModel()
    vdd = 1.0
    op = OperatingPoint(vdd, 30 * pcsa.characteristic_time(OperatingPoint(vdd, 1.0)))
    n_direct = 800
    sm = SenseMap.from_pcsa(pcsa, op, 2.5e3, 5e6, 31, 8, torch.Generator().manual_seed(11), batch=8192)
    g = torch.Generator().manual_seed(12)
    for k, state in enumerate(("LRS/HRS", "HRS/LRS", "HRS/HRS")):
        direct = simulate_state(pcsa, dev, op, state, n_direct, torch.Generator().manual_seed(13 + k))
        d = torch.tensor(direct.fractions(), dtype=torch.float64)
        a, b = state.split("/")
        r_bl, r_blb = dev.sample(a, 200_000, g), dev.sample(b, 200_000, g)
        v = sm.sample(r_bl, r_blb, g)
        m = torch.bincount(v.long() + 1, minlength=3).double() / v.numel()
        se = torch.sqrt(d * (1 - d) / n_direct)
        assert torch.all((m - d).abs() <= 0.01 + 2 * se), (state, m.tolist(), d.tolist())


def _random_map(seed: int, n_grid: int = 7, ln_r_max: float = math.log(1e7)) -> SenseMap:
    g = torch.Generator().manual_seed(seed)
    probs = torch.rand(n_grid, n_grid, 3, generator=g, dtype=torch.float64)
    return SenseMap(op=OperatingPoint(0.8, 2e-9), ln_r_min=math.log(1e3), ln_r_max=ln_r_max,
                    probs=probs / probs.sum(-1, keepdim=True),
                    energy_grid=torch.full((n_grid, n_grid), 1e-14, dtype=torch.float64),
                    t_decide_grid=torch.full((n_grid, n_grid), 1e-9, dtype=torch.float64), n_mc=10,
                    source="counts")


@pytest.mark.parametrize("other_grid", [False, True])
def test_mean_probabilities_is_the_mean_of_each_map(other_grid: bool) -> None:
    maps = [_random_map(0), _random_map(1), _random_map(2, n_grid=9 if other_grid else 7)]
    g = torch.Generator().manual_seed(5)
    r_bl = torch.exp(torch.empty(5000, dtype=torch.float64).uniform_(math.log(5e2), math.log(2e7), generator=g))
    r_blb = torch.exp(torch.empty(5000, dtype=torch.float64).uniform_(math.log(5e2), math.log(2e7), generator=g))
    expected = torch.stack([m.probabilities(r_bl, r_blb) for m in maps]).mean(0)
    got = mean_probabilities(maps, r_bl, r_blb)
    assert got.shape == (5000, 3) and torch.allclose(got, expected, atol=1e-12, rtol=0)
    assert not torch.allclose(got, maps[0].probabilities(r_bl, r_blb), atol=1e-3)
    with pytest.raises(InputError, match="maps"):
        mean_probabilities([], r_bl, r_blb)
