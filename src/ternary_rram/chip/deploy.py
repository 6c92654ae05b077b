"""Deploy a trained quantized network on simulated 2T2R arrays and read it back through the PCSAs.

:func:`deploy` programs every quantized layer's int8 weights into 2T2R cells (devices drawn once
from the device model: the chip), tiled over arrays of ``array_shape`` (the layer's unrolled matrix,
conv (C_out, C_in, k, k) -> (C_in*k*k, C_out), ``ternary_rram.array.tiling``), and returns a
:class:`Chip`. Reading goes through a :class:`~ternary_rram.circuit.sensemap.SenseMap` at one
operating point (default) and hands the read-out weights to the network (``set_read_weights``).

Read modes:

* ``"once"``: each weight is sensed once after programming and latched into a digital buffer; every
  inference uses those weights (the sense errors of that one read stay for the whole test set).
* ``"every-inference"``: the arrays are sensed again for every inference: fresh sense errors per
  batch of the evaluation (one read per batch stands for the batch's inferences), and the energy
  per inference counts every sense.

Energy and latency per inference: :mod:`ternary_rram.chip.energy`; programming energy (one SET or
RESET pulse per device, ``E = |V| I t_pulse`` as in ``ternary_rram.array.params``) apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import Tensor, nn

from ternary_rram.array import ArrayParams, ErrorCounts, count_errors, encode, tile_counts
from ternary_rram.array.array2t2r import pulse_energies
from ternary_rram.array.params import DEFAULT_ARRAY
from ternary_rram.chip.energy import EnergyReport, LayerRead, check_reads, energy_per_inference
from ternary_rram.chip.integer import IntegerNetwork, compile_network
from ternary_rram.chip.params import DEFAULT_PERIPHERY, PeripheryParams
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.sensemap import SenseMap
from ternary_rram.device import DeviceModel
from ternary_rram.errors import InputError
from ternary_rram.nn.layers import quantized_layers

__all__ = ["DeployedLayer", "Chip", "deploy", "build_sense_map", "parse_array_shape", "pair_tables",
           "sample_reads",
           "sense_map_grid", "EvaluationResult", "evaluate_chip", "SENSE_GRID", "SENSE_MC"]

#: Sense-map grid points per axis and Monte Carlo draws per point when :func:`deploy` builds the
#: map itself. [D] chosen: 17 x 17 points over the device range (step ~0.6 in ln R) and 64
#: mismatch draws keep the transient Monte Carlo to ~18k senses.
SENSE_GRID: int = 17
SENSE_MC: int = 64
#: Half-width of the sense-map grid around the device medians, in ln-sigmas. [D] chosen.
GRID_SIGMAS: float = 4.5


def parse_array_shape(value: Any) -> tuple[int, int]:
    """(rows, cols) from "128x128", (128, 128) or 128; :class:`InputError` unless both >= 1."""
    if isinstance(value, str):
        parts = value.lower().replace("*", "x").split("x")
        if len(parts) == 1:
            parts = parts * 2
        try:
            shape = tuple(int(p) for p in parts)
        except ValueError:
            shape = ()
    elif isinstance(value, (int,)) and not isinstance(value, bool):
        shape = (int(value), int(value))
    else:
        try:
            shape = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            shape = ()
    if len(shape) != 2 or min(shape) < 1:
        raise InputError(f"array={value!r} is not allowed: must be ROWSxCOLS with positive integers, "
                         "e.g. 128x128")
    return shape  # type: ignore[return-value]


def sense_map_grid(device_model: DeviceModel, t_relax: float = 0.0,
                   sigmas: float = GRID_SIGMAS) -> tuple[float, float]:
    """(r_min, r_max) in ohm covering both states' distributions to ``sigmas`` ln-sigmas."""
    lo = device_model.lrs.median * math.exp(-sigmas * device_model.sigma("LRS", t_relax))
    hi = device_model.hrs.median * math.exp(sigmas * device_model.sigma("HRS", t_relax))
    lo = min(lo, device_model.hrs.median * math.exp(-sigmas * device_model.sigma("HRS", t_relax)))
    return lo, hi


def build_sense_map(op: OperatingPoint, pcsa: Any = None, device_model: DeviceModel | None = None, *,
                    n_grid: int = SENSE_GRID, n_mc: int = SENSE_MC, t_relax: float = 0.0,
                    generator: torch.Generator | None = None) -> SenseMap:
    """Sense map of ``pcsa`` (default ``PCSA()``) at ``op`` over the device model's resistance range.

    Monte Carlo over transistor mismatch with the transient PCSA (:meth:`SenseMap.from_pcsa`):
    ``n_grid**2 * n_mc`` senses.
    """
    from ternary_rram.circuit.pcsa import PCSA

    pcsa = pcsa if pcsa is not None else PCSA()
    dm = device_model if device_model is not None else DeviceModel()
    r_min, r_max = sense_map_grid(dm, t_relax)
    return SenseMap.from_pcsa(pcsa, op, r_min=r_min, r_max=r_max, n_grid=n_grid, n_mc=n_mc,
                              generator=generator)


@dataclass
class DeployedLayer:
    """One quantized layer stored on the chip.

    Attributes:
        name: layer name in the model; layer: the module.
        target: int8 programmed weights, shape of ``layer.weight``.
        kind: "binary" or "ternary" (the layer's weight quantizer).
        r_bl, r_blb: float32 (n,) device resistances of the cells (flat, weight order), ohm.
        cum: float32 (n, 2) cumulative read probabilities of each cell (:func:`pair_tables`).
        energy_sense, energy_bitline: J per full read; latency: s per full read (arrays in parallel).
        arrays: arrays holding the layer; pulses_set, pulses_reset: programming pulses.
    """

    name: str
    layer: nn.Module
    target: Tensor
    kind: str
    r_bl: Tensor
    r_blb: Tensor
    cum: Tensor
    energy_sense: float
    energy_bitline: float
    latency: float
    arrays: int
    pulses_set: int
    pulses_reset: int

    @property
    def n_weights(self) -> int:
        return int(self.target.numel())

    @property
    def nonzero_fraction(self) -> float:
        return float((self.target != 0).sum()) / max(1, self.n_weights)


#: Pairs per chunk in :func:`pair_tables` (bounds the working memory). [D]
_CHUNK: int = 1 << 20


def pair_tables(sense_map: SenseMap, r_bl: Tensor, r_blb: Tensor) -> tuple[Tensor, Tensor]:
    """Per stored pair: cumulative read probabilities and mean energy per sense.

    The sense map's tables (P(-1), P(-1) + P(0), energy) interpolated bilinearly in
    (ln R_bl, ln R_blb), clamped to the grid, exactly as :meth:`SenseMap.probabilities` /
    :meth:`SenseMap.energy_per_sense` do, but once per pair: the devices of a programmed chip do not
    change between reads, so every later read is one uniform draw per pair against these.

    Args:
        r_bl, r_blb: (N,) resistances, ohm.

    Returns:
        cum: float32 (N, 2) = (P(-1), P(-1) + P(0)); energy: float64 (N,) J per sense (NaN if the
        map carries no energy). Interpolation in float32 (as ``SenseMap.sample``).
    """
    g = sense_map.n_grid
    p = sense_map.probs.reshape(-1, 3)
    table = torch.stack([p[:, 0], p[:, 0] + p[:, 1], sense_map.energy_grid.reshape(-1)], 1)
    table = table.to(torch.float32)
    scale = (g - 1) / (sense_map.ln_r_max - sense_map.ln_r_min)
    n = r_bl.numel()
    cum = torch.empty(n, 2, dtype=torch.float32)
    energy = torch.empty(n, dtype=torch.float64)
    for s in range(0, n, _CHUNK):
        e = min(n, s + _CHUNK)
        u = (torch.log(r_bl[s:e].to(torch.float32)) - sense_map.ln_r_min).mul_(scale).clamp_(0.0, g - 1)
        v = (torch.log(r_blb[s:e].to(torch.float32)) - sense_map.ln_r_min).mul_(scale).clamp_(0.0, g - 1)
        i0 = u.floor().clamp_(max=g - 2)
        j0 = v.floor().clamp_(max=g - 2)
        fu = (u - i0).unsqueeze(1)
        fv = (v - j0).unsqueeze(1)
        idx = i0.to(torch.int64) * g + j0.to(torch.int64)
        lo = torch.lerp(table[idx], table[idx + g], fu)
        hi = torch.lerp(table[idx + 1], table[idx + g + 1], fu)
        t = torch.lerp(lo, hi, fv)
        cum[s:e] = t[:, :2]
        energy[s:e] = t[:, 2].to(torch.float64)
    return cum, energy


def sample_reads(cum: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """One sensed value per pair from its cumulative probabilities (N, 2): int8 (N,).

    -1 if u < P(-1), 0 if u < P(-1) + P(0), else +1, with u uniform in [0, 1) (as ``SenseMap.sample``).
    """
    u = torch.rand(cum.shape[0], generator=generator, dtype=torch.float32)
    return ((u >= cum[:, 0]).to(torch.int8) + (u >= cum[:, 1]).to(torch.int8) - 1).to(torch.int8)


@dataclass
class Chip:
    """A network programmed into simulated arrays, with the sense map that reads it.

    Attributes:
        model: the network (its layers receive the read weights).
        sense_map: the read model at its operating point ``sense_map.op``.
        device_model, array_params, periphery: physical models used.
        reads: "once" or "every-inference". layers: the :class:`DeployedLayer` list.
        generator: generator of the sense draws.
        last_errors: error counts per layer of the latest read.
    """

    model: nn.Module
    sense_map: SenseMap
    device_model: DeviceModel
    array_params: ArrayParams
    periphery: PeripheryParams
    reads: str
    layers: list[DeployedLayer]
    generator: torch.Generator | None = None
    last_errors: dict[str, ErrorCounts] = field(default_factory=dict)
    _integer: IntegerNetwork | None = field(default=None, repr=False)

    @property
    def op(self) -> OperatingPoint:
        return self.sense_map.op

    @property
    def n_weights(self) -> int:
        return sum(d.n_weights for d in self.layers)

    @property
    def programming_energy(self) -> float:
        """Energy of the programming pulses of every device, J."""
        e_set, e_reset = pulse_energies(self.device_model, self.array_params)
        return sum(d.pulses_set * e_set + d.pulses_reset * e_reset for d in self.layers)

    def read(self, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """Sense every stored weight once: int8 weights per layer name; errors in ``last_errors``."""
        gen = generator if generator is not None else self.generator
        out: dict[str, Tensor] = {}
        errors: dict[str, ErrorCounts] = {}
        for d in self.layers:
            values = sample_reads(d.cum, gen).reshape(d.target.shape)
            out[d.name] = values
            errors[d.name] = count_errors(d.target, values)
        self.last_errors = errors
        return out

    def load(self, weights: dict[str, Tensor] | None) -> None:
        """Hand read weights to the network's layers (None: back to the ideal weights)."""
        for d in self.layers:
            d.layer.set_read_weights(None if weights is None else weights[d.name])

    def read_into_model(self, generator: torch.Generator | None = None) -> dict[str, ErrorCounts]:
        """:meth:`read` and :meth:`load`; returns the error counts per layer."""
        self.load(self.read(generator))
        return dict(self.last_errors)

    def integer_network(self, weights: dict[str, Tensor] | None = None) -> IntegerNetwork:
        """The exact integer network of the model with ``weights`` (default: the ideal ones)."""
        if self._integer is None:
            self._integer = compile_network(self.model, {d.name: d.target for d in self.layers})
        return self._integer if weights is None else self._integer.with_weights(weights)

    def energy(self, input_shape: tuple[int, ...]) -> EnergyReport:
        """Energy and latency per inference of one input of ``input_shape`` (no batch dim)."""
        net = self.integer_network()
        ops = net.op_counts(tuple(input_shape))
        info = {d.name: LayerRead(name=d.name, weights=d.n_weights, ternary=d.kind != "binary",
                                  nonzero_fraction=d.nonzero_fraction, energy_sense=d.energy_sense,
                                  energy_bitline=d.energy_bitline, latency=d.latency)
                for d in self.layers}
        return energy_per_inference(ops, info, self.reads, self.periphery,
                                    programming_energy=self.programming_energy)


def deploy(model: nn.Module, sense_map: SenseMap | None = None, *, op: OperatingPoint | None = None,
           pcsa: Any = None, device_model: DeviceModel | None = None,
           array_shape: Any = (128, 128), reads: str = "once",
           generator: torch.Generator | None = None, t_relax: float = 0.0,
           array_params: ArrayParams | None = None, periphery: PeripheryParams = DEFAULT_PERIPHERY,
           n_grid: int = SENSE_GRID, n_mc: int = SENSE_MC) -> Chip:
    """Program every quantized layer of ``model`` into simulated 2T2R arrays.

    Args:
        model: a quantized network (binary or ternary weights).
        sense_map: read model; None builds one at ``op`` from ``pcsa`` (transient Monte Carlo,
            ``n_grid``, ``n_mc``; slow: seconds to minutes).
        op, pcsa: operating point and PCSA, used only when ``sense_map`` is None.
        device_model: RRAM statistics (default ``DeviceModel()``).
        array_shape: (rows, cols) of one array, or "ROWSxCOLS".
        reads: "once" or "every-inference".
        generator: torch generator for the devices, the map and the sense draws.
        t_relax: seconds between programming and reading (HRS relaxation spread).
        array_params: bit-line and timing parameters (rows/cols replaced by ``array_shape``).
        periphery: digital periphery energies.

    Raises:
        InputError: no quantized layer, bad array shape or read mode, no operating point.
    """
    check_reads(reads)
    rows, cols = parse_array_shape(array_shape)
    base = array_params if array_params is not None else DEFAULT_ARRAY
    params = ArrayParams(**{**base.__dict__, "rows": rows, "cols": cols})
    dm = device_model if device_model is not None else DeviceModel()
    layers = [(n, m) for n, m in quantized_layers(model) if m.weight_quantizer.is_quantized]
    if not layers:
        raise InputError("model has no quantized layer: nothing to program into the arrays "
                         "(weights must be binary or ternary)")
    if sense_map is None:
        if op is None:
            raise InputError("deploy needs a sense_map or an operating point op")
        sense_map = build_sense_map(op, pcsa, dm, n_grid=n_grid, n_mc=n_mc, t_relax=t_relax,
                                    generator=generator)
    vdd, t_sense = sense_map.op.vdd, sense_map.op.t_sense
    deployed: list[DeployedLayer] = []
    for name, layer in layers:
        w = layer.quantized_weight_int8().contiguous()
        flat = w.reshape(-1)
        bl_lrs, blb_lrs = encode(flat)
        r_bl = dm.sample_pairs(bl_lrs, generator, t_relax=t_relax).to(torch.float32)
        r_blb = dm.sample_pairs(blb_lrs, generator, t_relax=t_relax).to(torch.float32)
        n = flat.numel()
        n_lrs = int(bl_lrs.sum()) + int(blb_lrs.sum())
        tiles = tile_counts(tuple(w.shape), params)
        cum, e_pair = pair_tables(sense_map, r_bl, r_blb)
        deployed.append(DeployedLayer(
            name=name, layer=layer, target=w, kind=layer.weight_quantizer.kind, r_bl=r_bl, r_blb=r_blb,
            cum=cum, energy_sense=float(e_pair.sum()),
            energy_bitline=n * params.bitline_energy_per_column_read(vdd),
            latency=tiles.latency(t_sense, params), arrays=tiles.arrays,
            pulses_set=n_lrs, pulses_reset=2 * n - n_lrs))
    return Chip(model=model, sense_map=sense_map, device_model=dm, array_params=params,
                periphery=periphery, reads=reads, layers=deployed, generator=generator)


@dataclass(frozen=True)
class EvaluationResult:
    """Accuracy with ideal and chip-read weights, errors per layer, energy per inference.

    Attributes:
        accuracy_ideal, accuracy_chip: fractions in [0, 1].
        errors: per layer: error counts summed over every read of the evaluation.
        n_reads: full reads of the chip during the evaluation.
        energy: :class:`EnergyReport` per inference.
        engine: "float" (the model with read weights) or "integer" (:class:`IntegerNetwork`).
        n_test: images evaluated.
    """

    accuracy_ideal: float
    accuracy_chip: float
    errors: dict[str, ErrorCounts]
    n_reads: int
    energy: EnergyReport
    engine: str
    n_test: int

    @property
    def errors_total(self) -> ErrorCounts:
        tot = ErrorCounts(0, 0, 0, 0)
        for e in self.errors.values():
            tot = tot + e
        return tot

    def to_dict(self) -> dict[str, Any]:
        def ed(e: ErrorCounts) -> dict[str, Any]:
            return {"to_zero": e.to_zero, "from_zero": e.from_zero, "sign_flip": e.sign_flip,
                    "n_weights": e.n_weights, "rate": e.rate}
        return {"accuracy_ideal": self.accuracy_ideal, "accuracy_chip": self.accuracy_chip,
                "n_test": self.n_test, "n_reads": self.n_reads, "engine": self.engine,
                "errors_total": ed(self.errors_total),
                "errors_per_layer": {k: ed(v) for k, v in self.errors.items()},
                "energy": self.energy.to_dict()}


def _predict(chip: Chip, x: Tensor, engine: str, weights: dict[str, Tensor] | None) -> Tensor:
    if engine == "integer":
        return chip.integer_network(weights).predict(x)
    chip.load(weights)
    with torch.no_grad():
        return chip.model(x).argmax(1)


def evaluate_chip(chip: Chip, x: Tensor, y: Tensor, *, batch_size: int = 500, engine: str = "float",
                  generator: torch.Generator | None = None,
                  progress: Callable[[int, int], None] | None = None) -> EvaluationResult:
    """Test accuracy of the network with ideal weights and with the weights the chip reads.

    ``reads="once"``: one read for the whole set; ``"every-inference"``: a fresh read per batch.
    ``engine``: "float" runs the model with ``set_read_weights``; "integer" the exact integer
    network (same decisions, slower). The model is left in eval mode with its ideal weights.
    """
    if engine not in ("float", "integer"):
        raise InputError(f"engine={engine!r} is not allowed: must be 'float' or 'integer'")
    if int(batch_size) < 1:
        raise InputError(f"batch_size={batch_size!r} is not allowed: must be an integer >= 1")
    model = chip.model
    model.eval()
    n = int(x.shape[0])
    if n == 0:
        raise InputError("test set is empty: nothing to evaluate")
    correct_ideal = 0
    correct_chip = 0
    totals: dict[str, ErrorCounts] = {d.name: ErrorCounts(0, 0, 0, 0) for d in chip.layers}
    n_reads = 0
    weights: dict[str, Tensor] | None = None
    starts = list(range(0, n, int(batch_size)))
    try:
        for i, s in enumerate(starts):
            xb, yb = x[s:s + batch_size], y[s:s + batch_size]
            correct_ideal += int((_predict(chip, xb, engine, None) == yb).sum())
            if weights is None or chip.reads == "every-inference":
                weights = chip.read(generator)
                n_reads += 1
                for k, e in chip.last_errors.items():
                    totals[k] = totals[k] + e
            correct_chip += int((_predict(chip, xb, engine, weights) == yb).sum())
            if progress is not None:
                progress(i + 1, len(starts))
    finally:
        chip.load(None)
    energy = chip.energy(tuple(x.shape[1:]))
    return EvaluationResult(accuracy_ideal=correct_ideal / n, accuracy_chip=correct_chip / n,
                            errors=totals, n_reads=n_reads, energy=energy, engine=engine, n_test=n)
