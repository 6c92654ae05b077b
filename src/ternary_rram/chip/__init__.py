"""Chip layer: deploy trained networks on simulated arrays; integer in-memory inference and energy.

Public names:

* integer inference (:mod:`ternary_rram.chip.integer`): :func:`compile_network`,
  :class:`IntegerNetwork`, :class:`LayerOps`, :func:`xnor_popcount_dot`, :func:`ternary_dot_counts`;
* chip instances (:mod:`ternary_rram.chip.deploy`): :func:`deploy`, :class:`Chip`, :class:`ChipLayer`,
  :func:`evaluate_chip`, :class:`EvaluationResult`, :func:`build_amplifier_pool`,
  :func:`parse_array_shape`, :func:`read_layer_as_chip` (weights as a chip reads them, for
  chip-aware training), :func:`check_chips`;
* energy (:mod:`ternary_rram.chip.energy`): :func:`energy_per_inference`, :class:`EnergyReport`,
  :class:`LayerRead`, ``READ_MODES``, ``ENERGY_PARTS``;
* periphery parameters and their sources: :mod:`ternary_rram.chip.params`
  (:class:`PeripheryParams`, ``DEFAULT_PERIPHERY``).
"""

from ternary_rram.chip import params
from ternary_rram.chip.deploy import (
    Chip,
    ChipLayer,
    EvaluationResult,
    build_amplifier_pool,
    check_chips,
    deploy,
    evaluate_chip,
    parse_array_shape,
    read_layer_as_chip,
)
from ternary_rram.chip.energy import ENERGY_PARTS, READ_MODES, EnergyReport, LayerRead, energy_per_inference
from ternary_rram.chip.integer import IntegerNetwork, LayerOps, compile_network, ternary_dot_counts, xnor_popcount_dot
from ternary_rram.chip.params import DEFAULT_PERIPHERY, PeripheryParams

__all__ = [
    "DEFAULT_PERIPHERY",
    "ENERGY_PARTS",
    "READ_MODES",
    "Chip",
    "ChipLayer",
    "EnergyReport",
    "EvaluationResult",
    "IntegerNetwork",
    "LayerOps",
    "LayerRead",
    "PeripheryParams",
    "build_amplifier_pool",
    "check_chips",
    "compile_network",
    "deploy",
    "energy_per_inference",
    "evaluate_chip",
    "params",
    "parse_array_shape",
    "read_layer_as_chip",
    "ternary_dot_counts",
    "xnor_popcount_dot",
]
