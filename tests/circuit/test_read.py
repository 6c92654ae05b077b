"""Read physics of the circuit layer: the one state encoding, window reading, margins, parameter transforms."""

from __future__ import annotations

import math

import pytest
import torch

from ternary_rram.array import encode
from ternary_rram.circuit.params import DEFAULT_PCSA, PROCESS_SIGMA_VT
from ternary_rram.circuit.read import CELL_STATES, STATES, Outcomes, lrs_masks, sample_cells, seeded_generator
from ternary_rram.circuit.transforms import process_corner, scale_latch_area, scale_mismatch
from ternary_rram.circuit.window import margin_windows
from ternary_rram.device.model import DeviceModel, State
from ternary_rram.errors import InputError


def test_one_encoding_of_a_programmed_cell():
    assert CELL_STATES[+1] == (State.LRS, State.HRS) and CELL_STATES[-1] == (State.HRS, State.LRS)
    assert CELL_STATES[0] == (State.HRS, State.HRS)
    assert list(STATES) == ["LRS/HRS", "HRS/LRS", "HRS/HRS"]
    assert [v for *_, v in STATES.values()] == [1, -1, 0]
    w = torch.tensor([[1, 0], [-1, 1]], dtype=torch.int8)
    bl, blb = lrs_masks(w)
    assert bl.tolist() == [[True, False], [False, True]] and blb.tolist() == [[False, False], [True, False]]
    # the array programs by the same table
    assert all(torch.equal(a, b) for a, b in zip(encode(w), (bl, blb)))


def test_sampled_cells_follow_the_encoding():
    dm = DeviceModel()
    r_bl, r_blb = sample_cells(dm, (1, -1, 0), 200, torch.Generator().manual_seed(0))
    geo = lambda r: float(torch.log(r).mean().exp())  # noqa: E731
    mid = math.sqrt(dm.lrs.median * dm.hrs.median)
    assert geo(r_bl[:200]) < mid < geo(r_blb[:200])  # +1: BL low
    assert geo(r_blb[200:400]) < mid < geo(r_bl[200:400])  # -1: BLb low
    assert geo(r_bl[400:]) > mid and geo(r_blb[400:]) > mid  # 0: both high


def test_window_reading_from_decision_times():
    out = Outcomes(value=torch.tensor([1, -1, 1], dtype=torch.int8),
                   t_decide=torch.tensor([1e-10, 3e-10, float("nan")], dtype=torch.float64),
                   energy=torch.zeros(3, dtype=torch.float64))
    v = out.at_windows([0.5e-10, 2e-10, 5e-10])
    assert v.tolist() == [[0, 0, 0], [1, 0, 0], [1, -1, 0]]


def test_margin_windows_are_order_statistics_of_the_decision_times():
    lh = torch.linspace(1e-9, 2e-9, 100, dtype=torch.float64)
    hh = torch.cat([torch.linspace(10e-9, 20e-9, 11, dtype=torch.float64), torch.full((89,), math.nan)])
    w_low, w_high = margin_windows({"LRS/HRS": lh, "HRS/LRS": lh, "HRS/HRS": hh}, 100e-9)
    assert w_low == pytest.approx(float(lh[98]))  # 198 of 200 decided
    assert w_high == pytest.approx(20e-9)  # the 11th of 100 (HRS, HRS): P(0) falls below 0.9
    assert math.isinf(margin_windows({"LRS/HRS": lh, "HRS/LRS": lh, "HRS/HRS": hh}, 15e-9)[1])


def test_seeded_streams_depend_on_every_key_at_their_resolution():
    draw = lambda g: torch.rand(3, generator=g).tolist()  # noqa: E731
    assert draw(seeded_generator(0, 1.0, 2.0)) == draw(seeded_generator(0, 1.0, 2.0))
    assert draw(seeded_generator(0, 1.0, 2.0)) != draw(seeded_generator(0, 2.0, 1.0))
    assert draw(seeded_generator(0, 1e-10)) == draw(seeded_generator(0, 2e-10))  # below 1e-6: one stream
    assert draw(seeded_generator(0, 1e-10, resolution=1e12)) != draw(seeded_generator(0, 2e-10, resolution=1e12))


def test_latch_area_scales_gate_area_and_keeps_drive():
    p4 = scale_latch_area(DEFAULT_PCSA, 4.0)
    s1, s4 = DEFAULT_PCSA.sigma_vt(), p4.sigma_vt()
    assert s4[3] == pytest.approx(s1[3] / 2) and s4[0] == pytest.approx(s1[0])  # MN1 halves, MPC1 same
    assert p4.widths[3] / p4.lengths[3] == pytest.approx(DEFAULT_PCSA.widths[3] / DEFAULT_PCSA.lengths[3])
    with pytest.raises(InputError, match="transistor='MX'"):
        scale_latch_area(DEFAULT_PCSA, 2.0, ("MX",))


def test_mismatch_scale_and_corner():
    m = scale_mismatch(DEFAULT_PCSA, 2.0)
    assert m.nmos.a_vt == pytest.approx(2 * DEFAULT_PCSA.nmos.a_vt) and m.pmos.a_vt == pytest.approx(
        2 * DEFAULT_PCSA.pmos.a_vt)
    with pytest.raises(InputError, match="mismatch_scale"):
        scale_mismatch(DEFAULT_PCSA, 0.0)
    slow = process_corner(DEFAULT_PCSA, 3.0)
    assert slow.nmos.vt0 == pytest.approx(DEFAULT_PCSA.nmos.vt0 + 3 * PROCESS_SIGMA_VT)
    assert slow.pmos.vt0 == pytest.approx(DEFAULT_PCSA.pmos.vt0 + 3 * PROCESS_SIGMA_VT)


def test_timing_margin_is_w_high_over_w_low_and_nan_where_w_low_is_unknown():
    from ternary_rram.circuit.window import timing_margin

    assert timing_margin(1e-9, 3e-9) == pytest.approx(3.0)
    assert timing_margin(1e-9, float("inf")) == float("inf")  # zeros hold beyond the scan
    for w_low in (float("inf"), float("nan"), 0.0):
        assert math.isnan(timing_margin(w_low, 2e-9))
