"""Chip layer: deploy trained networks on simulated arrays; integer in-memory inference and energy.

Public names:

* integer inference (:mod:`ternary_rram.chip.integer`): :func:`compile_network`,
  :class:`IntegerNetwork`, :class:`LayerOps`, :func:`xnor_popcount_dot`, :func:`ternary_dot_counts`;
* deployment (:mod:`ternary_rram.chip.deploy`): :func:`deploy`, :class:`Chip`, :class:`DeployedLayer`,
  :func:`evaluate_chip`, :class:`EvaluationResult`, :func:`build_sense_map`, :func:`parse_array_shape`,
  :func:`pair_tables`, :func:`sample_reads`;
* energy (:mod:`ternary_rram.chip.energy`): :func:`energy_per_inference`, :class:`EnergyReport`,
  :class:`LayerRead`, ``READ_MODES``, ``ENERGY_PARTS``;
* periphery parameters and their sources: :mod:`ternary_rram.chip.params`
  (:class:`PeripheryParams`, ``DEFAULT_PERIPHERY``).
"""

from ternary_rram.chip import params
from ternary_rram.chip.deploy import (
    Chip,
    DeployedLayer,
    EvaluationResult,
    build_sense_map,
    deploy,
    evaluate_chip,
    pair_tables,
    parse_array_shape,
    sample_reads,
)
from ternary_rram.chip.energy import ENERGY_PARTS, READ_MODES, EnergyReport, LayerRead, energy_per_inference
from ternary_rram.chip.integer import IntegerNetwork, LayerOps, compile_network, ternary_dot_counts, xnor_popcount_dot
from ternary_rram.chip.params import DEFAULT_PERIPHERY, PeripheryParams

__all__ = [
    "Chip", "DEFAULT_PERIPHERY", "DeployedLayer", "ENERGY_PARTS", "EnergyReport", "EvaluationResult",
    "IntegerNetwork", "LayerOps", "LayerRead", "PeripheryParams", "READ_MODES", "build_sense_map",
    "compile_network", "deploy", "energy_per_inference", "evaluate_chip", "pair_tables", "params",
    "parse_array_shape", "sample_reads", "ternary_dot_counts", "xnor_popcount_dot",
]
