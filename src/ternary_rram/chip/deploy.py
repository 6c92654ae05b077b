"""A chip instance: a trained quantized network programmed into simulated 2T2R arrays and read back.

:func:`deploy` makes ONE fabricated chip, picked by its ``seed``:

* every quantized layer's int8 weights, unrolled to the layer matrix (conv (C_out, C_in, k, k) ->
  (C_in*k*k, C_out), ``ternary_rram.array.tiling``), are programmed into an
  :class:`~ternary_rram.array.Array2T2R` tiled into arrays of ``array_shape``, with write-verify
  (the array layer's programming model: pulses, verify budget, energy), and relax for ``t_relax`` s;
* each column (or group of ``column_group`` columns) of each array has one sense amplifier whose
  transistor mismatch is drawn once: a member of an
  :class:`~ternary_rram.array.column.AmplifierPool` built at one operating point;
* the cells' resistances and the amplifiers are then fixed: every read redraws only the per-read
  noise (RRAM read-current fluctuation, latch thermal noise; ``ternary_rram.array.params``).

Reading goes through the array layer only (:meth:`Array2T2R.read_columns`) and hands the read-out
weights to the network (``set_read_weights``). Read modes (the architecture, energy in
:mod:`ternary_rram.chip.energy`):

* ``"every-inference"`` (default): weights are sensed at every use (XNOR in the sense amplifier);
  the evaluation draws fresh noise per batch (one read per batch stands for its inferences);
* ``"once"``: one read after programming into a digital buffer, used for the whole test set.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from ternary_rram.array import ArrayParams, ErrorCounts, ProgramResult, WriteVerify, tile_counts, weight_matrix
from ternary_rram.array.array2t2r import Array2T2R
from ternary_rram.array.column import N_AMPLIFIERS, N_GRID, N_MC, AmplifierPool, build_pool
from ternary_rram.array.params import DEFAULT_ARRAY, DEFAULT_NOISE, MAX_PULSES, ReadNoise
from ternary_rram.chip.energy import EnergyReport, LayerRead, check_reads, energy_per_inference, traced_op_counts
from ternary_rram.chip.integer import IntegerNetwork, LayerOps, compile_network
from ternary_rram.chip.params import DEFAULT_PERIPHERY, MAX_CHIPS, VERIFY_SIGMAS, PeripheryParams
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.device import DeviceModel
from ternary_rram.errors import InputError, check_int
from ternary_rram.nn.layers import quantized_layers

__all__ = [
    "N_AMPLIFIERS",
    "N_GRID",
    "N_MC",
    "Chip",
    "ChipLayer",
    "EvaluationResult",
    "build_amplifier_pool",
    "check_chips",
    "chip_generator",
    "default_verify",
    "deploy",
    "evaluate_chip",
    "parse_array_shape",
    "read_layer_as_chip",
    "sense_map_grid",
]

#: Half-width of the sense-map grid around the device medians, in ln-sigmas. [D] chosen.
GRID_SIGMAS: float = 4.5
#: Offset of the noise stream's seed from the chip's seed (the chip's reads never disturb the
#: draws that made it).
_NOISE_STREAM: int = 0x5EED_0F_D0


def chip_generator(seed: int, stream: int = 0) -> torch.Generator:
    """Generator of chip ``seed`` (stream 0: fabrication and programming; 1: read noise)."""
    return torch.Generator().manual_seed((int(seed) + stream * _NOISE_STREAM) % (2 ** 63))


def check_chips(n: Any) -> int:
    """``n`` chip instances if an integer in [1, MAX_CHIPS], else :class:`InputError`."""
    return check_int("chips", n, 1, MAX_CHIPS,
                     why="chips are simulated one after another; each keeps a record in memory")


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


def build_amplifier_pool(op: OperatingPoint, pcsa: Any = None, device_model: DeviceModel | None = None, *,
                         n_amplifiers: int = N_AMPLIFIERS, n_grid: int = N_GRID, n_mc: int = N_MC,
                         noise: ReadNoise = DEFAULT_NOISE, t_relax: float = 0.0,
                         generator: torch.Generator | None = None) -> AmplifierPool:
    """Amplifier pool of ``pcsa`` (default ``PCSA()``) at ``op`` over the device model's range.

    ``n_amplifiers * n_grid**2 * n_mc`` transient senses (:func:`ternary_rram.array.column.build_pool`).
    """

    pcsa = pcsa if pcsa is not None else PCSA()
    dm = device_model if device_model is not None else DeviceModel()
    r_min, r_max = sense_map_grid(dm, t_relax)
    return build_pool(pcsa, op, r_min=r_min, r_max=r_max, n_amplifiers=n_amplifiers, n_grid=n_grid,
                      n_mc=n_mc, noise=noise, generator=generator)


def default_verify(device_model: DeviceModel, sigmas: float = VERIFY_SIGMAS,
                   max_pulses: int = MAX_PULSES) -> WriteVerify:
    """Resistance-window write-verify of the chip: LRS <= median e^(+k sigma), HRS >= median e^(-k sigma)."""
    return WriteVerify(max_pulses=max_pulses,
                       r_lrs_max=device_model.lrs.median * math.exp(sigmas * device_model.lrs.sigma),
                       r_hrs_min=device_model.hrs.median * math.exp(-sigmas * device_model.hrs.sigma))


def _to_matrix(w: Tensor) -> Tensor:
    return weight_matrix(w).contiguous()


def _from_matrix(m: Tensor, shape: torch.Size) -> Tensor:
    """Inverse of ``weight_matrix``: (n_rows, n_cols) -> the weight's own shape."""
    if len(shape) == 1:
        return m.reshape(shape)
    return m.t().reshape(shape)


@dataclass
class ChipLayer:
    """One quantized layer stored on the chip.

    Attributes:
        name: layer name in the model; layer: the module.
        target: int8 programmed weights, shape of ``layer.weight``.
        kind: "binary" or "ternary" (the layer's weight quantizer).
        array: the :class:`Array2T2R` holding the layer matrix, tiled into arrays of the chip's size.
        program: accounting of its programming (pulses, verify, attempts).
        arrays: physical arrays holding the layer.
    """

    name: str
    layer: nn.Module
    target: Tensor
    kind: str
    array: Array2T2R
    program: ProgramResult
    arrays: int

    @property
    def n_weights(self) -> int:
        return int(self.target.numel())

    @property
    def nonzero_fraction(self) -> float:
        return float((self.target != 0).sum()) / max(1, self.n_weights)


@dataclass
class Chip:
    """One fabricated chip with a network programmed into it (see the module docstring).

    Attributes:
        model: the network (its layers receive the read weights).
        pool: the amplifier pool at the operating point ``pool.op``.
        device_model, array_params, periphery: physical models used (array size in ``array_params``).
        reads: "every-inference" or "once". seed: the chip instance. layers: :class:`ChipLayer` list.
        noise_generator: generator of the per-read noise; fab_generator: of the fabrication and
            programming draws (used again by :meth:`reprogram`).
        last_errors: error counts per layer of the latest read; last_amplifier_errors: wrong reads
            per sense amplifier (int64) per layer of the latest read.
    """

    model: nn.Module
    pool: AmplifierPool
    device_model: DeviceModel
    array_params: ArrayParams
    periphery: PeripheryParams
    reads: str
    seed: int
    layers: list[ChipLayer]
    verify: WriteVerify | None = None
    t_relax: float = 0.0
    noise_generator: torch.Generator | None = None
    fab_generator: torch.Generator | None = None
    last_errors: dict[str, ErrorCounts] = field(default_factory=dict)
    last_amplifier_errors: dict[str, Tensor] = field(default_factory=dict)
    _integer: IntegerNetwork | None = field(default=None, repr=False)

    @property
    def op(self) -> OperatingPoint:
        return self.pool.op

    @property
    def n_weights(self) -> int:
        return sum(d.n_weights for d in self.layers)

    @property
    def programming_energy(self) -> float:
        """Energy of programming every device, pulses plus verify reads, J."""
        return sum(d.program.energy for d in self.layers)

    def layer(self, name: str) -> ChipLayer:
        for d in self.layers:
            if d.name == name:
                return d
        raise InputError(f"layer {name!r} is not on the chip: layers are "
                         + ", ".join(d.name for d in self.layers))

    def read(self, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """Sense every stored weight once: int8 weights per layer name (weight shapes).

        Fresh per-read noise from ``generator`` (default: the chip's noise stream); errors per
        layer in ``last_errors``, per amplifier in ``last_amplifier_errors``.
        """
        gen = generator if generator is not None else self.noise_generator
        out: dict[str, Tensor] = {}
        self.last_errors = {}
        self.last_amplifier_errors = {}
        for d in self.layers:
            res = d.array.read_columns(self.pool, gen)
            out[d.name] = _from_matrix(res.weights, d.target.shape)
            self.last_errors[d.name] = res.errors
            self.last_amplifier_errors[d.name] = d.array.errors_per_amplifier(res.weights)
        return out

    def reprogram(self, name: str, weights: Tensor) -> ProgramResult:
        """Program new int8 ``weights`` (the layer's weight shape) into a layer's arrays: same devices
        (device-to-device character kept) and amplifiers, write-verify and relaxation as at deploy."""
        d = self.layer(name)
        w = torch.as_tensor(weights).to(torch.int8)
        if w.shape != d.target.shape:
            raise InputError(f"weights shape {tuple(w.shape)} is not allowed: layer {name} holds "
                             f"{tuple(d.target.shape)}")
        d.program = d.array.program(_to_matrix(w), self.fab_generator, verify=self.verify,
                                    binary=d.kind == "binary", t_relax=self.t_relax)
        d.target = w
        self._integer = None
        return d.program

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

    def read_costs(self) -> dict[str, LayerRead]:
        """Per layer: energy (sense from each cell's amplifier map, bit lines) and latency of one
        full read of the layer's arrays at the operating point."""
        info = {}
        for d in self.layers:
            e_sense, e_bitline, latency = d.array.read_cost(self.pool)
            info[d.name] = LayerRead(
                name=d.name, weights=d.n_weights, ternary=d.kind != "binary",
                nonzero_fraction=d.nonzero_fraction, energy_sense=e_sense, energy_bitline=e_bitline,
                latency=latency)
        return info

    def op_counts(self, input_shape: tuple[int, ...]) -> list[LayerOps]:
        """Operation counts per layer for one input of ``input_shape`` (no batch dim): from the
        integer network where the model compiles to one (sequential, no bias), else traced by one
        forward pass (:func:`~ternary_rram.chip.energy.traced_op_counts`; residual models)."""
        try:
            net = self.integer_network()
        except InputError:
            return traced_op_counts(self.model, tuple(input_shape))
        return net.op_counts(tuple(input_shape))

    def energy(self, input_shape: tuple[int, ...]) -> EnergyReport:
        """Energy and latency per inference of one input of ``input_shape`` (no batch dim)."""
        ops = self.op_counts(tuple(input_shape))
        return energy_per_inference(ops, self.read_costs(), self.reads, self.periphery,
                                    programming_energy=self.programming_energy)


def read_layer_as_chip(chip: Chip, name: str, weights: Tensor,
                       generator: torch.Generator | None = None) -> Tensor:
    """The weights of layer ``name`` as this chip reads them after programming ``weights`` into it.

    For chip-aware training: ``weights`` int8 in the layer's weight shape; they are programmed into
    the layer's arrays (same devices and amplifiers; :meth:`Chip.reprogram`) and read once with fresh
    noise from ``generator`` (default: the chip's noise stream). Returns int8, same shape.
    """
    d = chip.layer(name)
    if not torch.equal(torch.as_tensor(weights).to(torch.int8), d.target):
        chip.reprogram(name, weights)
    res = d.array.read_columns(chip.pool, generator if generator is not None else chip.noise_generator)
    return _from_matrix(res.weights, d.target.shape)


def deploy(model: nn.Module, pool: AmplifierPool | None = None, *, op: OperatingPoint | None = None,
           pcsa: Any = None, device_model: DeviceModel | None = None,
           array_shape: Any = (128, 128), column_group: int = 1, reads: str = "every-inference",
           seed: int = 0, t_relax: float = 0.0, verify: WriteVerify | str | None = "default",
           array_params: ArrayParams | None = None, periphery: PeripheryParams = DEFAULT_PERIPHERY,
           noise: ReadNoise = DEFAULT_NOISE, n_amplifiers: int = N_AMPLIFIERS, n_grid: int = N_GRID,
           n_mc: int = N_MC, pool_generator: torch.Generator | None = None) -> Chip:
    """Make chip instance ``seed`` with every quantized layer of ``model`` programmed into it.

    Args:
        model: a quantized network (binary or ternary weights).
        pool: amplifier pool (its operating point and noise); None builds one at ``op`` from
            ``pcsa`` with ``noise``, ``n_amplifiers``, ``n_grid``, ``n_mc`` (transient Monte Carlo;
            seconds to minutes) from ``pool_generator``.
        device_model: RRAM statistics (default ``DeviceModel()``).
        array_shape: (rows, cols) of one array, or "ROWSxCOLS". column_group: columns per amplifier.
        reads: "every-inference" or "once". seed: the chip instance (devices, amplifier choice).
        t_relax: seconds between programming and reading. verify: write-verify settings,
            "default" (:func:`default_verify`) or None (one pulse per device).
        array_params: bit-line and timing parameters (rows/cols from ``array_shape``).
        periphery: digital periphery energies.
    """
    check_reads(reads)
    rows, cols = parse_array_shape(array_shape)
    base = array_params if array_params is not None else DEFAULT_ARRAY
    params = ArrayParams(**{**base.__dict__, "rows": rows, "cols": cols})
    dm = device_model if device_model is not None else DeviceModel()
    if isinstance(verify, str):
        if verify != "default":
            raise InputError(f"verify={verify!r} is not allowed: a WriteVerify, 'default' or None")
        verify = default_verify(dm)
    layers = [(n, m) for n, m in quantized_layers(model) if m.weight_quantizer.is_quantized]
    if not layers:
        raise InputError("model has no quantized layer: nothing to program into the arrays "
                         "(weights must be binary or ternary)")
    if pool is None:
        if op is None:
            raise InputError("deploy needs an amplifier pool or an operating point op")
        pool = build_amplifier_pool(op, pcsa, dm, n_amplifiers=n_amplifiers, n_grid=n_grid, n_mc=n_mc,
                                    noise=noise, t_relax=t_relax, generator=pool_generator)
    fab = chip_generator(seed)
    chip_layers: list[ChipLayer] = []
    for name, layer in layers:
        w = layer.quantized_weight_int8().contiguous()
        m = _to_matrix(w)
        arr = Array2T2R(m.shape[0], m.shape[1], dm, params, tile=(rows, cols), column_group=column_group)
        kind = layer.weight_quantizer.kind
        prog = arr.program(m, fab, verify=verify, binary=kind == "binary", t_relax=t_relax)
        arr.assign_amplifiers(pool, fab)
        chip_layers.append(ChipLayer(name=name, layer=layer, target=w, kind=kind, array=arr, program=prog,
                                     arrays=tile_counts(tuple(w.shape), params).arrays))
    chip = Chip(model=model, pool=pool, device_model=dm, array_params=params, periphery=periphery,
                reads=reads, seed=int(seed), layers=chip_layers, verify=verify, t_relax=t_relax,
                noise_generator=chip_generator(seed, 1), fab_generator=fab)
    return chip


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
        amplifier_errors: per layer: wrong reads per sense amplifier, int64, summed over reads.
        predictions: class decisions (N,) int64 with the chip-read weights.
    """

    accuracy_ideal: float
    accuracy_chip: float
    errors: dict[str, ErrorCounts]
    n_reads: int
    energy: EnergyReport
    engine: str
    n_test: int
    amplifier_errors: dict[str, Tensor] = field(default_factory=dict)
    predictions: Tensor | None = field(default=None, repr=False)

    def amplifier_summary(self) -> dict[str, Any]:
        """How errors sit on the sense amplifiers (all layers): amplifiers, those with an error, the
        most errors on one, and the share of all errors on the worst 1 % of amplifiers."""
        if not self.amplifier_errors:
            return {}
        a = torch.cat([v.reshape(-1) for v in self.amplifier_errors.values()])
        tot = int(a.sum())
        k = max(1, math.ceil(0.01 * a.numel()))
        top = int(torch.topk(a, k).values.sum()) if tot else 0
        return {"amplifiers": int(a.numel()), "amplifiers_with_errors": int((a > 0).sum()),
                "max_errors_one_amplifier": int(a.max()) if a.numel() else 0,
                "share_of_errors_on_worst_1pct": top / tot if tot else 0.0}

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
                "errors_per_amplifier": self.amplifier_summary(),
                "energy": self.energy.to_dict()}


def _predict(chip: Chip, x: Tensor, engine: str, weights: dict[str, Tensor] | None) -> Tensor:
    if engine == "integer":
        return chip.integer_network(weights).predict(x)
    chip.load(weights)
    with torch.no_grad():
        return chip.model(x).argmax(1)


def evaluate_chip(chip: Chip, x: Tensor, y: Tensor, *, batch_size: int = 500, engine: str = "float",
                  generator: torch.Generator | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  accuracy_ideal: float | None = None) -> EvaluationResult:
    """Test accuracy of the network with ideal weights and with the weights the chip reads.

    ``accuracy_ideal``: the ideal-weight accuracy on the same (x, y) when already known (another
    chip instance of the same network measured it); the ideal pass is then skipped, which halves the
    work per chip. It does not depend on the chip.

    ``reads="once"``: one read for the whole set; ``"every-inference"``: a fresh read (fresh noise,
    same chip) per batch.
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
    amp_totals: dict[str, Tensor] = {d.name: torch.zeros(d.array.n_amplifiers, dtype=torch.int64)
                                     for d in chip.layers}
    n_reads = 0
    weights: dict[str, Tensor] | None = None
    starts = list(range(0, n, int(batch_size)))
    predictions: list[Tensor] = []
    try:
        for i, s in enumerate(starts):
            xb, yb = x[s:s + batch_size], y[s:s + batch_size]
            if accuracy_ideal is None:
                correct_ideal += int((_predict(chip, xb, engine, None) == yb).sum())
            if weights is None or chip.reads == "every-inference":
                weights = chip.read(generator)
                n_reads += 1
                for k, e in chip.last_errors.items():
                    totals[k] = totals[k] + e
                    amp_totals[k] += chip.last_amplifier_errors[k]
            pred = _predict(chip, xb, engine, weights)
            predictions.append(pred.reshape(-1).to(torch.int64))
            correct_chip += int((pred == yb).sum())
            if progress is not None:
                progress(i + 1, len(starts))
    finally:
        chip.load(None)
    energy = chip.energy(tuple(x.shape[1:]))
    ideal = correct_ideal / n if accuracy_ideal is None else float(accuracy_ideal)
    return EvaluationResult(accuracy_ideal=ideal, accuracy_chip=correct_chip / n,
                            errors=totals, n_reads=n_reads, energy=energy, engine=engine, n_test=n,
                            amplifier_errors=amp_totals, predictions=torch.cat(predictions))
