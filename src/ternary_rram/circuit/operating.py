"""Operating point of a sense operation: supply voltage, sense window, temperature."""

from __future__ import annotations

from dataclasses import dataclass

from ternary_rram.errors import check_positive, check_range

VDD_MAX = 2.0  # V, beyond any 130 nm core device rating
TEMPERATURE_MIN = 200.0  # K, the compact model's temperature laws are not meant for colder
TEMPERATURE_MAX = 450.0  # K
ZERO_CELSIUS = 273.15  # K


@dataclass(frozen=True)
class OperatingPoint:
    """vdd (V) in (0, 2], t_sense: evaluation window (s) > 0, temperature (K) in [200, 450]."""

    vdd: float
    t_sense: float
    temperature: float = 300.15

    def __post_init__(self) -> None:
        object.__setattr__(self, "vdd", check_range("vdd", self.vdd, 0.0, VDD_MAX, low_open=True, unit="V"))
        object.__setattr__(self, "t_sense", check_positive("t_sense", self.t_sense, unit="s"))
        object.__setattr__(self, "temperature", check_range("temperature", self.temperature, TEMPERATURE_MIN,
                                                            TEMPERATURE_MAX, unit="K"))

    @classmethod
    def from_celsius(cls, vdd: float, t_sense: float, temperature_c: float) -> OperatingPoint:
        """Build from a temperature in degrees Celsius."""
        return cls(vdd, t_sense, float(temperature_c) + ZERO_CELSIUS)

    @property
    def temperature_c(self) -> float:
        """Temperature in degrees Celsius."""
        return self.temperature - ZERO_CELSIUS
