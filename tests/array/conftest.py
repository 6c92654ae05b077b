"""Shared fixtures of the array tests: real SenseMap objects built from a simple, documented law.

The probabilities are a function of x = ln(R_blb / R_bl) only (x > 0: the BL branch conducts more,
the (LRS, HRS) = +1 side):

    P(+1) = sigmoid((x - a) / s),  P(-1) = sigmoid((-x - a) / s),  P(0) = 1 - P(+1) - P(-1),

with a >= 0 the half-width (ln units) of the zero band and s its softness. A tiny s makes the map a
deterministic threshold ("perfect" for devices far from the band edges). The energy per sense is a
constant ``energy`` J on the grid.
"""

import math

import pytest
import torch

from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.sensemap import SenseMap
from ternary_rram.device import DeviceModel, LognormalState


def make_map(a: float = 1.5, s: float = 0.3, energy: float = 20e-15, vdd: float = 0.6,
             t_sense: float = 2e-9, n_grid: int = 121) -> SenseMap:
    ln_min, ln_max = math.log(1e2), math.log(1e8)
    ln_r = torch.linspace(ln_min, ln_max, n_grid, dtype=torch.float64)
    x = ln_r[None, :] - ln_r[:, None]  # [i, j] = ln R_blb[j] - ln R_bl[i]
    p_plus = torch.sigmoid((x - a) / s)
    p_minus = torch.sigmoid((-x - a) / s)
    p_zero = (1 - p_plus - p_minus).clamp_min(0.0)
    probs = torch.stack([p_minus, p_zero, p_plus], dim=2)
    return SenseMap(op=OperatingPoint(vdd, t_sense), ln_r_min=ln_min, ln_r_max=ln_max, probs=probs,
                    energy_grid=torch.full((n_grid, n_grid), energy, dtype=torch.float64),
                    t_decide_grid=torch.full((n_grid, n_grid), 1e-9, dtype=torch.float64))


@pytest.fixture
def perfect_map() -> SenseMap:
    """Deterministic threshold at |x| = 1.5 (grid step 0.115 in ln R, s = 0.005)."""
    return make_map(a=1.5, s=0.005)


@pytest.fixture
def tight_model() -> DeviceModel:
    """Narrow distributions: (LRS, HRS) has x = ln 60 +- 0.1, (HRS, HRS) x = 0 +- 0.14."""
    return DeviceModel(lrs=LognormalState(5e3, 0.03, 0.03), hrs=LognormalState(3e5, 0.07, 0.07))
