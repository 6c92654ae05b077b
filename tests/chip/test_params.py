"""Periphery parameters: documented, validated."""

from pathlib import Path

import pytest

from ternary_rram.chip import params as P
from ternary_rram.errors import InputError


def test_defaults_are_positive_and_documented():
    p = P.DEFAULT_PERIPHERY
    assert p.scale == 1.0
    assert 10e-15 <= p.e_popcount_bit <= 100e-15  # tens of fJ per bit at 130 nm
    source = Path(P.__file__).read_text()
    for name in ("E_POPCOUNT_BIT", "E_THRESHOLD", "E_SRAM_BIT", "E_REGISTER_BIT", "E_FIRST_MAC",
                 "E_LAST_AFFINE", "CLOCK_HZ", "BITOPS_PER_CYCLE", "MACS_PER_CYCLE", "INPUT_BITS"):
        block = source.split(f"\n{name}:")[0].rsplit("\n\n", 1)[-1]
        assert "[D]" in block or "[S" in block, name


def test_validation_and_scaling():
    with pytest.raises(InputError):
        P.PeripheryParams(e_sram_bit=-1.0)
    with pytest.raises(InputError):
        P.PeripheryParams(vdd_logic=0.0)
    assert P.PeripheryParams(vdd_logic=0.6).scale == pytest.approx(0.25)
