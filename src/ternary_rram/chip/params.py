"""Default energy and timing of the digital periphery around the 2T2R arrays, at 130 nm.

Labels as in ``docs/physics.md``: [S Pn] a source states it, [D] a default we chose (every value here
is a field of :class:`PeripheryParams` so users can calibrate it). SI units (J, s, Hz, V).

No source in docs/physics.md gives the periphery's energies, so all are ``[D] chosen``, derived the same
way: the 45 nm, 0.9 V figures of M. Horowitz, "Computing's energy problem", ISSCC 2014 (8-bit add
0.03 pJ, 16-bit add ~0.05 pJ, 16-bit multiply ~0.8 pJ (between 8-bit 0.2 pJ and 32-bit 3.1 pJ),
8 kB SRAM read 10 pJ per 64 bits) scaled to 130 nm, 1.2 V by C * V^2: capacitance x 130/45 = 2.9,
V^2 x (1.2/0.9)^2 = 1.78, together x ``SCALE_45_TO_130`` = 5.1.

Energy laws (see :mod:`ternary_rram.chip.energy`):

* in-array layers (binary inputs): each MAC is one XNOR and one bit into a popcount counter
  (``e_popcount_bit``); a ternary layer runs the second counter #(not z) as well (docs/physics.md section 6),
  so 2 counter bits per MAC; then one threshold compare per neuron (``e_threshold``);
* activations: every output bit written once to the activation SRAM and every input bit read once
  from it (``e_sram_bit``); operands move through registers (``e_register_bit`` per bit per MAC);
* weights: with ``reads="once"`` the read weights sit in a digital buffer (SRAM, 1 bit per binary,
  2 bits per ternary weight) read once per inference; with ``"every-inference"`` the arrays are
  sensed for every inference and each sensed weight is latched into a register;
* first layer (real inputs, ``input_bits`` fixed point): one add/subtract per non-gated MAC
  (``e_first_mac``); last layer: popcount MACs in the periphery plus one multiply-add per class for
  the batch-norm affine (``e_last_affine``) and an argmax compare per class (``e_threshold``).
* All periphery energies scale with (vdd_logic / VDD_LOGIC_REF)^2: the periphery runs on its own
  supply, nominal by default, whatever the sense amplifiers' VDD.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ternary_rram.errors import check_positive, check_range

#: C*V^2 scaling from Horowitz's 45 nm / 0.9 V to 130 nm / 1.2 V. [D] (130/45) * (1.2/0.9)^2.
SCALE_45_TO_130: float = (130.0 / 45.0) * (1.2 / 0.9) ** 2
#: Supply of the digital periphery the energies below refer to, V. [D] docs/physics.md section 1.7 nominal 1.2 V.
VDD_LOGIC_REF: float = 1.2

#: XNOR + one bit of a popcount adder tree (about one full adder per input bit), J.
#: [D] chosen: Horowitz 8-bit add 0.03 pJ / 8 bits = 3.75 fJ per full-adder bit at 45 nm, x5.1,
#: plus ~1 fJ for the XNOR gate -> 20 fJ.
E_POPCOUNT_BIT: float = 20e-15
#: One neuron threshold compare (a ~14-bit comparator with sign select), J.
#: [D] chosen: 14 full-adder bits x 19 fJ -> 0.27 pJ.
E_THRESHOLD: float = 0.27e-12
#: One bit read or written in the activation / weight-buffer SRAM, J.
#: [D] chosen: Horowitz 8 kB SRAM 10 pJ / 64 bits = 0.156 pJ/bit at 45 nm, x5.1 -> 0.8 pJ.
E_SRAM_BIT: float = 0.8e-12
#: One bit moved through a pipeline register (flip-flop write + read), J.
#: [D] chosen: a 130 nm D flip-flop switches ~8 fF at 1.2 V (C V^2 ~ 11 fJ) -> 10 fJ.
E_REGISTER_BIT: float = 10e-15
#: One first-layer MAC: add/subtract of an ``input_bits`` fixed-point input into a 16-bit
#: accumulator (the weight is +-1; a zero weight gates the adder), J.
#: [D] chosen: Horowitz 16-bit add ~0.05 pJ at 45 nm, x5.1 -> 0.25 pJ.
E_FIRST_MAC: float = 0.25e-12
#: Batch-norm affine of one logit in the last layer (16-bit multiply + add), J.
#: [D] chosen: Horowitz 16-bit multiply ~0.8 pJ + add 0.05 pJ at 45 nm, x5.1 -> 4.3 pJ.
E_LAST_AFFINE: float = 4.3e-12
#: Fixed-point width of the real-valued first-layer input, bits. [D] chosen (8-bit pixels).
INPUT_BITS: int = 8

#: Clock of the digital periphery, Hz. [D] chosen (a modest 130 nm logic clock).
CLOCK_HZ: float = 200e6
#: Popcount bit operations the periphery completes per clock (32 counters of 128 bits), 1/cycle.
#: [D] chosen.
BITOPS_PER_CYCLE: int = 4096
#: First-layer fixed-point MACs per clock. [D] chosen.
MACS_PER_CYCLE: int = 64


@dataclass(frozen=True)
class PeripheryParams:
    """Energy per operation and throughput of the digital periphery (defaults and sources above).

    Attributes:
        e_popcount_bit, e_threshold, e_sram_bit, e_register_bit, e_first_mac, e_last_affine: J,
            at ``VDD_LOGIC_REF``.
        vdd_logic: supply of the periphery, V (energies scale as (vdd_logic / 1.2)^2).
        input_bits: fixed-point width of first-layer inputs.
        clock_hz: periphery clock, Hz; bitops_per_cycle, macs_per_cycle: throughput.
    """

    e_popcount_bit: float = E_POPCOUNT_BIT
    e_threshold: float = E_THRESHOLD
    e_sram_bit: float = E_SRAM_BIT
    e_register_bit: float = E_REGISTER_BIT
    e_first_mac: float = E_FIRST_MAC
    e_last_affine: float = E_LAST_AFFINE
    vdd_logic: float = VDD_LOGIC_REF
    input_bits: int = INPUT_BITS
    clock_hz: float = CLOCK_HZ
    bitops_per_cycle: int = BITOPS_PER_CYCLE
    macs_per_cycle: int = MACS_PER_CYCLE

    def __post_init__(self) -> None:
        inf = float("inf")
        for name in ("e_popcount_bit", "e_threshold", "e_sram_bit", "e_register_bit", "e_first_mac",
                     "e_last_affine"):
            check_range(name, getattr(self, name), 0.0, inf, high_open=True, unit="J")
        check_range("vdd_logic", self.vdd_logic, 0.0, 2.0, low_open=True, unit="V")
        check_range("input_bits", self.input_bits, 1, 64)
        check_positive("clock_hz", self.clock_hz, "Hz")
        check_range("bitops_per_cycle", self.bitops_per_cycle, 1, inf, high_open=True)
        check_range("macs_per_cycle", self.macs_per_cycle, 1, inf, high_open=True)

    def defaults(self) -> tuple[str, ...]:
        """Names of the energy and throughput fields still at their [D] default values."""

        return tuple(f.name for f in fields(self) if getattr(self, f.name) == f.default)

    @property
    def scale(self) -> float:
        """Energy scale of the periphery supply, (vdd_logic / VDD_LOGIC_REF)^2."""
        return (self.vdd_logic / VDD_LOGIC_REF) ** 2


DEFAULT_PERIPHERY = PeripheryParams()


# ----------------------------------------------------------------------------------------------
# chip instances
# ----------------------------------------------------------------------------------------------
#: Write-verify acceptance band of a chip's programming, in ln-sigmas of each state's total spread:
#: an LRS device passes at <= median * exp(+VERIFY_SIGMAS * sigma_LRS), an HRS device at
#: >= median * exp(-VERIFY_SIGMAS * sigma_HRS). [D] chosen (resistance-window verify as in
#: write-verify schemes of 2T2R arrays; the budget of attempts is ``array.params.MAX_PULSES``).
VERIFY_SIGMAS: float = 2.0
#: Most chip instances one Monte Carlo over chips may ask for. [D] chosen: chips are simulated one
#: after another, so memory holds one chip plus a small record per chip; beyond this the per-chip
#: records and the run time are not reasonable.
MAX_CHIPS: int = 10_000

# Operating point of a chip (chip/operating.py).
#: Supply range in which a chip accepts an operating point, V. [D] chosen: up to the 1.8 V
#: nominal supply of the default (SKY130 core) transistors plus 0.1 V (docs/physics.md section 1.7);
#: down to 0.3 V so that the generic 130 nm set (|Vth| 0.40 V, `--process generic-130`) stays usable.
VDD_RANGE: tuple[float, float] = (0.3, 1.9)
#: Temperature range, degrees C (that of ``OperatingPoint``).
TEMPERATURE_C_RANGE: tuple[float, float] = (-73.15, 176.85)
#: Sense-window range, s. [D] chosen: 10 ps .. 1 us.
T_SENSE_RANGE: tuple[float, float] = (1e-11, 1e-6)
#: A window "reads nothing" when P(correct | LRS, HRS) falls below this. [D] chosen.
MIN_P_CORRECT: float = 0.05
#: Monte Carlo cells per state in the window choice / probe. [D] chosen (a few seconds).
WINDOW_SAMPLES: int = 64
