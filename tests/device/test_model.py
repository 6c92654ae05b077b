"""Tests of the lognormal device model: sampling statistics, programming trends, relaxation."""

import math

import pytest
import torch

from ternary_rram.device import (
    DeviceModel,
    LognormalState,
    ProgrammingConditions,
    Relaxation,
    State,
    hrs_from_reset,
    lrs_from_compliance,
)
from ternary_rram.errors import InputError

N = 200_000


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _ln_stats(x: torch.Tensor) -> tuple[float, float]:
    ln_x = torch.log(x)
    return float(ln_x.mean()), float(ln_x.std())


def test_state_is_string_enum():
    assert State.LRS == "LRS" and State.HRS == "HRS"
    assert State("HRS") is State.HRS


@pytest.mark.parametrize("state", ["LRS", "HRS"])
def test_sample_matches_parameters(state):
    m = DeviceModel(lrs=LognormalState(4e3, 0.1, 0.12), hrs=LognormalState(5e5, 0.6, 0.5))
    x = m.sample(state, N, _gen(1))
    assert x.dtype == torch.float64 and x.shape == (N,)
    assert bool(torch.all(x > 0))
    st = m.stats(state)
    mu, sd = _ln_stats(x)
    # MC noise: se(mu) = sigma/sqrt(N), se(sd) = sigma/sqrt(2N); allow 5 standard errors.
    assert abs(mu - math.log(st.median)) < 5 * st.sigma / math.sqrt(N)
    assert abs(sd - st.sigma) < 5 * st.sigma / math.sqrt(2 * N)


def test_sample_reproducible_with_generator():
    m = DeviceModel()
    assert torch.equal(m.sample("HRS", 10, _gen(3)), m.sample("HRS", 10, _gen(3)))


def test_d2d_persists_and_c2c_redrawn():
    m = DeviceModel(lrs=LognormalState(5e3, 0.3, 0.1), hrs=LognormalState(3e5, 0.5, 0.2))
    g = _gen(2)
    d = m.sample_d2d(State.HRS, N, g)
    assert abs(float(d.std()) - 0.5) < 0.01
    r1 = m.program(State.HRS, d, g)
    r2 = m.program(State.HRS, d, g)
    diff = torch.log(r1) - torch.log(r2)
    # two pulses on the same devices differ only by the c2c part: var = 2 sigma_c2c^2
    assert abs(float(diff.std()) - math.sqrt(2) * 0.2) < 0.01
    # and the pulses are correlated through the d2d part: corr = 0.25/(0.25+0.04)
    c = torch.corrcoef(torch.stack([torch.log(r1), torch.log(r2)]))[0, 1]
    assert abs(float(c) - 0.25 / 0.29) < 0.01


def test_compliance_trend():
    lo, hi = lrs_from_compliance(20e-6), lrs_from_compliance(200e-6)
    assert lo.median > hi.median          # lower compliance -> higher LRS
    assert lo.sigma > hi.sigma            # ... and more variable
    ref = lrs_from_compliance(100e-6)
    assert 4e3 <= ref.median <= 6e3 and 0.1 <= ref.sigma <= 0.2


def test_reset_trend_and_defaults():
    lo, hi = hrs_from_reset(-1.0), hrs_from_reset(-2.0)
    assert hi.median > lo.median          # larger |V_reset| -> higher HRS
    assert hi.sigma >= lo.sigma
    assert hrs_from_reset(1.5).median == hrs_from_reset(-1.5).median  # sign ignored
    ref = hrs_from_reset(-1.5)
    assert 1e5 <= ref.median <= 1e6 and 0.5 <= ref.sigma <= 1.0


def test_from_programming_uses_laws():
    m = DeviceModel.from_programming(ProgrammingConditions(i_compliance=30e-6, v_reset=-2.0))
    assert m.lrs == lrs_from_compliance(30e-6)
    assert m.hrs == hrs_from_reset(-2.0)
    m2 = DeviceModel.from_programming(i_compliance=30e-6, v_reset=-2.0)
    assert m2.lrs == m.lrs and m2.hrs == m.hrs
    x_lo = DeviceModel.from_programming(i_compliance=30e-6).sample("LRS", 20_000, _gen(0))
    x_hi = DeviceModel.from_programming(i_compliance=300e-6).sample("LRS", 20_000, _gen(0))
    assert float(x_lo.median()) > float(x_hi.median())


def test_relaxation_widens_hrs_not_median():
    m = DeviceModel(relaxation=Relaxation(k_hrs=0.05, k_lrs=0.0, tau=1.0))
    t = 1e5
    x0 = m.sample("HRS", N, _gen(4))
    xt = m.sample("HRS", N, _gen(5), t_relax=t)
    mu0, sd0 = _ln_stats(x0)
    mut, sdt = _ln_stats(xt)
    expected = math.sqrt(m.hrs.sigma ** 2 + 0.05 * math.log1p(t))
    assert abs(sdt - expected) < 5 * expected / math.sqrt(2 * N)
    assert sdt > sd0 + 0.1
    assert abs(mut - mu0) < 5 * expected / math.sqrt(N)
    # LRS does not relax with k_lrs = 0
    _, sl = _ln_stats(m.sample("LRS", N, _gen(6), t_relax=t))
    assert abs(sl - m.lrs.sigma) < 5 * m.lrs.sigma / math.sqrt(2 * N)


def test_sample_pairs_mask():
    m = DeviceModel()
    mask = torch.zeros(300, 400, dtype=torch.bool)
    mask[:150] = True
    r = m.sample_pairs(mask, _gen(7))
    assert r.shape == (300, 400) and r.dtype == torch.float64
    assert float(r[:150].median()) < 1e4 < float(r[150:].median())


@pytest.mark.parametrize("kwargs", [dict(i_compliance=0.0), dict(i_compliance=-1e-6),
                                    dict(v_reset=0.0), dict(i_compliance=float("nan"))])
def test_bad_programming_conditions(kwargs):
    with pytest.raises(InputError):
        ProgrammingConditions(**kwargs)


def test_bad_inputs():
    m = DeviceModel()
    with pytest.raises(InputError, match="state"):
        m.sample("XRS", 3)
    with pytest.raises(InputError, match="n="):
        m.sample("LRS", -1)
    with pytest.raises(InputError, match="t_relax"):
        m.sample("HRS", 3, t_relax=-1.0)
    with pytest.raises(InputError, match="median"):
        LognormalState(0.0, 0.1, 0.1)
