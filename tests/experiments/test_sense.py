"""The sense study: ternary region, mismatch floor, HRS spread, window choice, files written as produced.

These tests check the physics the default device spreads and PCSA sizes give; a wrong model (no
zero region, sign flips where the scheme is used, mismatch that does not depend on latch area)
fails them. Sizes are kept small for a shared 2-core machine; the one large run is the 1e5-instance
sign-flip verification of the ternary region.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.circuit.transforms import ACCESS_TRANSISTORS, LATCH_TRANSISTORS
from ternary_rram.errors import InputError
from ternary_rram.experiments.sense import (
    REGION_P_CORRECT,
    REGION_P_FLIP,
    REGION_P_ZERO,
    SenseStudyConfig,
    find_ternary_region,
    floor_crossing,
    mismatch_floor,
    p0_vs_hrs_spread,
    run_sense_study,
    ternary_map,
)


def test_ternary_region_exists(tmp_path):
    """Some (VDD, window) reads (LRS, HRS) correctly > 99 %, with < 1e-4 sign flips over 1e5 direct
    transient instances, and leaves (HRS, HRS) at 0 with > 90 %."""
    # The default SKY130 transistors: 1.2 and 1.0 V have wide margins; at 0.9 V sign flips already reach about
    # 1e-4 (12 in 1e5), on the region's limit.
    tm = ternary_map([1.2, 1.0], factors=(2.0, 4.0, 8.0, 16.0, 64.0), n=300, seed=1, out_dir=tmp_path)
    assert tm.p_correct.shape == (2, 5)
    # too short a window leaves (LRS, HRS) undecided (reads 0): the price is 0-errors, not flips
    assert tm.p_correct[:, 0].min() < 0.99 or tm.p_zero[:, -1].max() < 0.9
    reg = find_ternary_region(tm, n_verify=100_000, n_zero_check=1000, seed=2, out_dir=tmp_path)
    assert reg.exists, reg
    assert reg.n_verify == 100_000 and reg.p_flip < REGION_P_FLIP
    assert reg.p_correct > REGION_P_CORRECT and reg.p_zero > REGION_P_ZERO
    assert (tmp_path / "ternary_map.png").stat().st_size > 0
    assert json.loads((tmp_path / "ternary_region.json").read_text())["exists"] is True


def test_mismatch_floor_moves_down_with_read_path_area(tmp_path):
    """Near threshold (LRS, HRS) sign flips exceed 1e-3; a 4x gate area of the read-path transistors
    (latch and access, half the Pelgrom sigma) moves the VDD where that happens down.

    With the default SKY130 transistors (|Vth| about 0.69 V) flips are 0 in 300 at 1.0 V and about 11 % at
    0.7 V (5 % with the 4x area); the generic set's 0.6 / 0.4 V pair sat 0.3 V lower.
    """
    vdds = [1.0, 0.7]
    mf = mismatch_floor(vdds, (1.0, 4.0), n=300, window_factor=30.0, transistors=READ_PATH, seed=3,
                        out_dir=tmp_path)
    floor_1x, floor_4x = mf.floor_vdd
    assert mf.p_flip[0, 0] < 1e-3          # fine at 1.0 V
    assert mf.p_flip[0, 1] > 1e-2          # flips at 0.7 V
    assert math.isfinite(floor_1x) and 0.7 <= floor_1x <= 1.0, mf.to_json()
    assert mf.p_flip[1, 1] < mf.p_flip[0, 1]
    assert not floor_4x >= floor_1x, mf.to_json()  # NaN (no floor in range) also counts as lower
    assert (tmp_path / "mismatch_floor.png").exists()


READ_PATH = LATCH_TRANSISTORS + ACCESS_TRANSISTORS


def test_floor_crossing_interpolates():
    v = np.array([0.6, 0.5, 0.4])
    assert floor_crossing(v, np.array([0.0, 1e-4, 1e-2]), 10_000) == pytest.approx(0.45)
    assert math.isnan(floor_crossing(v, np.zeros(3), 10_000))
    assert floor_crossing(v, np.full(3, 0.5), 10_000) == math.inf


def test_p0_falls_with_hrs_spread(tmp_path):
    pcsa = PCSA()
    op = OperatingPoint(0.9, 40 * pcsa.characteristic_time(OperatingPoint(0.9, 1.0)))
    sw = p0_vs_hrs_spread(op, sigmas=(0.2, 1.2), n=300, seed=4, out_dir=tmp_path)
    assert sw.p_zero[0] > sw.p_zero[1]
    assert (tmp_path / "p0_vs_hrs_spread.png").exists()


def test_study_writes_each_point_and_chooses_window(tmp_path):
    cfg = SenseStudyConfig(vdds=(1.8, 1.0), n_samples=48, n_window_scan=48, seed=0)
    seen = []
    study = run_sense_study(cfg, tmp_path, on_window=seen.append)
    assert len(study.records) == 6 and len(seen) == 2
    doc = json.loads((tmp_path / "sense.json").read_text())
    assert doc["complete"] is True and len(doc["records"]) == 6
    rec = doc["records"][0]
    for key in ("vdd", "t_sense", "temperature_c", "state", "p_plus", "p_minus", "p_zero", "t_decide_mean",
                "energy_per_sense"):
        assert key in rec
    assert {r["state"] for r in doc["records"]} == {"LRS/HRS", "HRS/LRS", "HRS/HRS"}
    assert doc["windows"][0]["t_sense"] == rec["t_sense"]
    lh = [r for r in study.records if r.state == "LRS/HRS"]
    assert all(r.p_plus > 0.95 for r in lh)
    assert lh[0].energy_per_sense > lh[1].energy_per_sense  # less energy at lower VDD
    for name in ("config.json", "sense.csv", "waveforms.png", "probabilities_vs_vdd.png", "energy_time_vs_vdd.png"):
        assert (tmp_path / name).exists(), name


@pytest.mark.parametrize("kwargs, needle", [
    ({"vdds": (0.0,)}, "vdd=0.0"), ({"vdds": (2.5,)}, "vdd=2.5"), ({"vdds": (1.0,), "t_senses": (-1e-9,)}, "t_sense"),
    ({"vdds": (1.0,), "n_samples": 0}, "samples=0"), ({"vdds": (1.0,), "temperatures_c": (-100.0,)}, "temperature"),
])
def test_config_validation(kwargs, needle):
    with pytest.raises(InputError, match=needle):
        SenseStudyConfig(**kwargs).validate()
