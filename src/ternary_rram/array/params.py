"""Default parameters of the array layer (2T2R arrays, bit lines, programming pulses, tiling).

Labels as in ``docs/physics.md``: [S Pn] a source states it, [D] a default we chose (exposed as a
field of :class:`ArrayParams` so users can calibrate it). SI units throughout.

Energy and timing laws (docs/physics.md section 1.7, 4, 6):

* Bit-line capacitance of one bit line:  C_bl(rows) = c_bl0 + rows * c_cell  [D] linear form.
* Bit-line energy per column read:       E_bl = bitlines_per_column * C_bl(rows) * VDD^2
  (charge drawn from VDD to bring a bit line to VDD is C VDD^2: half stored, half dissipated).
  This is the wiring load of the column; the PCSA's own energy per sense (from the sense map /
  transient PCSA) is added on top. The PCSA model carries a fixed local bit-line node capacitance
  of its own (``circuit.params.PCSAParams.c_bl``); where that already stands for the whole column,
  set ``c_bl0 = c_cell = 0`` here to avoid counting it twice.
* Read latency of an array: rows are read one at a time [S P5], each in t_precharge + t_sense.
* Programming energy per pulse: E = |V| * I * t_pulse, with I the SET compliance current for a SET
  and I_reset = reset_current_ratio * I_compliance for a RESET [D] (RESET currents of HfO2 1T1R are
  of the order of the compliance current).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ternary_rram.circuit.params import K_BOLTZMANN
from ternary_rram.errors import InputError, check_positive, check_range

#: Array rows (synapses per column / bit line). [D] chosen: 64 rows matches the PCSA default local
#: bit-line node of about 10 fF (circuit.params). [S P5] used kilobit 2T2R arrays.
ROWS: int = 64
#: Array columns (one PCSA per column). [D] chosen.
COLS: int = 64
#: Fixed part of one bit line's capacitance (sense-amplifier input, column switch), F. [D] chosen.
C_BL0: float = 2.0e-15
#: Bit-line capacitance added per row (access-transistor drain junction + wire pitch), F. [D] chosen
#: (about 0.15 fF per 130 nm cell; 64 rows -> about 10 fF, docs/physics.md section 1.7 "a few fF to tens of fF").
C_CELL: float = 0.15e-15
#: Bit lines charged per column read (BL and BLb of the 2T2R column). [S P1, P2] differential cell.
BITLINES_PER_COLUMN: int = 2
#: Precharge phase duration per row read, s. [D] chosen.
T_PRECHARGE: float = 1.0e-9
#: SET pulse amplitude, V. [D] chosen (HfO2 1T1R SET at 1.5-2.5 V on the top electrode).
V_SET: float = 2.0
#: SET pulse width, s. [D] chosen.
T_PULSE_SET: float = 100e-9
#: RESET pulse width, s. [D] chosen.
T_PULSE_RESET: float = 100e-9
#: I_reset / I_compliance. [D] chosen.
RESET_CURRENT_RATIO: float = 1.0
#: Write-verify budget: programming attempts per cell, the first included. [D] chosen.
MAX_PULSES: int = 10


def _check_int(name: str, value: int, low: int) -> int:
    if isinstance(value, bool) or int(value) != value or int(value) < low:
        raise InputError(f"{name}={value!r} is not allowed: must be an integer >= {low}")
    return int(value)


@dataclass(frozen=True)
class ArrayParams:
    """Array geometry, bit-line load, timing and programming pulses (defaults and sources above).

    Attributes:
        rows, cols: array size (>= 1).
        c_bl0: fixed bit-line capacitance, F; c_cell: per-row bit-line capacitance, F.
        bitlines_per_column: bit lines charged per column read.
        t_precharge: precharge time per row read, s.
        v_set: SET amplitude, V; t_pulse_set, t_pulse_reset: pulse widths, s.
        reset_current_ratio: I_reset / I_compliance.
    """

    rows: int = ROWS
    cols: int = COLS
    c_bl0: float = C_BL0
    c_cell: float = C_CELL
    bitlines_per_column: int = BITLINES_PER_COLUMN
    t_precharge: float = T_PRECHARGE
    v_set: float = V_SET
    t_pulse_set: float = T_PULSE_SET
    t_pulse_reset: float = T_PULSE_RESET
    reset_current_ratio: float = RESET_CURRENT_RATIO

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", _check_int("rows", self.rows, 1))
        object.__setattr__(self, "cols", _check_int("cols", self.cols, 1))
        object.__setattr__(self, "bitlines_per_column",
                           _check_int("bitlines_per_column", self.bitlines_per_column, 0))
        inf = float("inf")
        check_range("c_bl0", self.c_bl0, 0.0, inf, high_open=True, unit="F")
        check_range("c_cell", self.c_cell, 0.0, inf, high_open=True, unit="F")
        check_range("t_precharge", self.t_precharge, 0.0, inf, high_open=True, unit="s")
        check_positive("v_set", self.v_set, "V")
        check_positive("t_pulse_set", self.t_pulse_set, "s")
        check_positive("t_pulse_reset", self.t_pulse_reset, "s")
        check_range("reset_current_ratio", self.reset_current_ratio, 0.0, inf, high_open=True)

    def c_bitline(self, rows: int | None = None) -> float:
        """Capacitance of one bit line with ``rows`` rows (default: this array's), F."""
        r = self.rows if rows is None else rows
        return self.c_bl0 + r * self.c_cell

    def bitline_energy_per_column_read(self, vdd: float, rows: int | None = None) -> float:
        """Energy drawn from VDD to charge the column's bit lines for one read, J."""
        return self.bitlines_per_column * self.c_bitline(rows) * vdd * vdd

    def read_latency(self, t_sense: float, rows: int | None = None) -> float:
        """Time to read every row of an array once, s: rows * (t_precharge + t_sense)."""
        r = self.rows if rows is None else rows
        return r * (self.t_precharge + t_sense)


DEFAULT_ARRAY = ArrayParams()


# ----------------------------------------------------------------------------------------------
# per-read noise of a programmed cell and its sense amplifier (what changes from read to read)
# ----------------------------------------------------------------------------------------------
#: Relative RRAM read-current fluctuation (random telegraph / 1/f noise), as a standard deviation of
#: ln R per read, at the reference resistance below. Law: sigma(R) = RTN_SIGMA_REF * (R / RTN_R_REF)
#: ** RTN_EXPONENT, capped at RTN_SIGMA_MAX. Sources for the physics and its trend: the RTN amplitude
#: of the RRAM read current grows with the cell resistance (D. Ielmini, F. Nardi, C. Cagli,
#: "Resistance-dependent amplitude of random telegraph-signal noise in resistive switching
#: memories", Appl. Phys. Lett. 96, 053503, 2010), and 1/f and RTN current fluctuations broaden the
#: resistance levels of every state from read to read (S. Ambrogio et al., "Noise-induced resistance
#: broadening in resistive switching memory, part I: intrinsic cell behavior", IEEE Trans. Electron
#: Devices, 2015, doi:10.1109/TED.2015.2475598). The Gaussian-in-ln R form, the reference point
#: (1 % at 5 kohm) and the exponent are [D] chosen (not read off those papers' figures): calibrate
#: them to measured read noise.
RTN_SIGMA_REF: float = 0.01
#: Reference resistance of the read-noise law, ohm. [D] chosen (the default LRS median).
RTN_R_REF: float = 5e3
#: Exponent of the read-noise law. [D] chosen (1 % at 5 kohm -> 7.7 % at 300 kohm -> 14 % at 1 Mohm).
RTN_EXPONENT: float = 0.5
#: Cap of the read-noise ln-sigma. [D] chosen.
RTN_SIGMA_MAX: float = 0.3
#: Latch thermal noise, input-referred: each latch NMOS (MN1, MN2) gets a fresh threshold offset per
#: read with sigma = LATCH_NOISE_SCALE * sqrt(k T / C_out), the kT/C noise sampled on an output node
#: (textbook: B. Razavi, "Design of Analog CMOS Integrated Circuits", ch. 7). Referring it to the
#: latch thresholds is [D] chosen; about 1.2 mV at 300 K with 3 fF.
LATCH_NOISE_SCALE: float = 1.0
#: Latch transistors that carry the input-referred thermal noise (circuit TRANSISTOR_NAMES). [D]
LATCH_NOISE_TRANSISTORS: tuple[str, ...] = ("MN1", "MN2")


@dataclass(frozen=True)
class ReadNoise:
    """Per-read noise of a cell and its sense amplifier (laws and sources above).

    Attributes:
        rtn_sigma_ref: ln-sigma of the RRAM read-current fluctuation at ``rtn_r_ref`` ohm (>= 0).
        rtn_r_ref: reference resistance, ohm. rtn_exponent: growth with R. rtn_sigma_max: cap.
        latch_scale: multiplier of the kT/C latch noise (>= 0; 0 switches it off).
    """

    rtn_sigma_ref: float = RTN_SIGMA_REF
    rtn_r_ref: float = RTN_R_REF
    rtn_exponent: float = RTN_EXPONENT
    rtn_sigma_max: float = RTN_SIGMA_MAX
    latch_scale: float = LATCH_NOISE_SCALE

    def __post_init__(self) -> None:
        inf = float("inf")
        check_range("rtn_sigma_ref", self.rtn_sigma_ref, 0.0, inf, high_open=True)
        check_positive("rtn_r_ref", self.rtn_r_ref, "ohm")
        check_range("rtn_exponent", self.rtn_exponent, -inf, inf, low_open=True, high_open=True)
        check_range("rtn_sigma_max", self.rtn_sigma_max, 0.0, inf, high_open=True)
        check_range("latch_scale", self.latch_scale, 0.0, inf, high_open=True)

    @classmethod
    def scaled(cls, scale: float) -> ReadNoise:
        """The default magnitudes times ``scale`` (>= 0, finite; 0: no noise)."""
        check_range("noise_scale", scale, 0.0, float("inf"), high_open=True)
        return cls(rtn_sigma_ref=RTN_SIGMA_REF * scale, latch_scale=LATCH_NOISE_SCALE * scale)

    @property
    def off(self) -> bool:
        """True when neither source is on (reads are then deterministic)."""
        return self.rtn_sigma_ref == 0.0 and self.latch_scale == 0.0

    def sigma_ln_r(self, r: torch.Tensor) -> torch.Tensor:
        """ln-sigma of the read fluctuation of devices of resistance ``r`` (ohm), same shape."""

        s = self.rtn_sigma_ref * torch.pow(torch.as_tensor(r, dtype=torch.float64) / self.rtn_r_ref,
                                           self.rtn_exponent)
        return s.clamp(max=self.rtn_sigma_max)

    def latch_sigma(self, temperature: float, c_out: float) -> float:
        """Input-referred latch noise per latch NMOS threshold, V: scale * sqrt(k T / C_out)."""

        return self.latch_scale * (K_BOLTZMANN * temperature / c_out) ** 0.5


NO_NOISE = ReadNoise(rtn_sigma_ref=0.0, latch_scale=0.0)
DEFAULT_NOISE = ReadNoise()
