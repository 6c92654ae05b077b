"""The Python face of ternary-rram: a chip you program with any converted PyTorch model.

``import ternary_rram as tr`` gives (lazily, see ``ternary_rram/__init__.py``) :class:`Chip` and
:class:`ChipResult` from here, plus ``tr.convert``, ``tr.vgg``, ``tr.train`` / ``tr.TrainConfig``,
``tr.load_params`` and ``tr.load_dataset`` from their layers::

    model = tr.convert(my_torch_model, weights="ternary", activations="binary", threshold=0.05)
    chip = tr.Chip(vdd=1.0, seed=0)           # one fabricated chip instance at one operating point
    chip.program(model)                        # write-verified cells, static column amplifiers
    result = chip.evaluate((x_test, y_test))   # accuracy, read errors, energy per inference

:class:`Chip` is a thin holder of settings over the chip layer: the operating point (the sense
window chosen per VDD when ``window`` is None) and the amplifier pool are made once per chip on
first use (``ternary_rram.chip.operating.operating_point_for`` / ``pool_at``, the functions
``ternary-rram deploy`` uses), programming is :func:`ternary_rram.chip.deploy` and evaluation
:func:`ternary_rram.chip.evaluate_chip`: the ONE program-and-read path of the project.

This module sits at the top, beside ``cli``: it may import every layer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ternary_rram.array import ErrorCounts
from ternary_rram.array.column import AmplifierPool
from ternary_rram.array.params import ReadNoise
from ternary_rram.chip.deploy import N_AMPLIFIERS, N_GRID, N_MC, evaluate_chip, parse_array_shape
from ternary_rram.chip.deploy import Chip as ChipInstance
from ternary_rram.chip.deploy import deploy as chip_deploy
from ternary_rram.chip.energy import EnergyReport, check_reads
from ternary_rram.chip.operating import WindowInfo, check_vdd, operating_point_for, pool_at
from ternary_rram.chip.params import T_SENSE_RANGE, TEMPERATURE_C_RANGE
from ternary_rram.chip.params_file import PRESETS, load_params, preset_path
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.params import DEFAULT_VDD_LOW
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.device import DeviceModel
from ternary_rram.errors import InputError, check_int, check_range, check_seed
from ternary_rram.nn.layers import QuantizedLayer, quantized_layers

__all__ = ["PROCESSES", "Chip", "ChipResult"]

#: Shipped process presets (transistors fitted to a foundry PDK by ``calibrate --pdk-lib``; the
#: files and the command that regenerates them are in src/ternary_rram/presets/), as ``--process``.
PROCESSES: tuple[str, ...] = PRESETS


def _process_models(process: str | None) -> tuple[DeviceModel | None, PCSA | None]:
    """(device model, PCSA) of a process preset; (None, None) for the defaults."""
    if process is None:
        return None, None
    if process not in PROCESSES:
        raise InputError(f"process={process!r} is not allowed: must be one of {', '.join(PROCESSES)} "
                         "(process=None uses the default device and PCSA models)")
    return _params_models(preset_path(process))


def _params_models(params: Any) -> tuple[DeviceModel | None, PCSA | None]:
    """(device model, PCSA) from a PARAMS.json path or a (DeviceModel, PCSAParams) pair."""
    if params is None:
        return None, None
    if isinstance(params, (str, os.PathLike)):

        params = load_params(params)
    if not (isinstance(params, tuple) and len(params) == 2 and isinstance(params[0], DeviceModel)):
        raise InputError(f"params={params!r} is not allowed: must be a PARAMS.json path or the "
                         "(DeviceModel, PCSAParams) pair tr.load_params returns")
    return params[0], PCSA(params[1])


@dataclass(frozen=True)
class ChipResult:
    """What one evaluation on a chip gave (SI units: J, s, V).

    Attributes:
        accuracy: test accuracy with the weights the chip read, fraction in [0, 1].
        accuracy_ideal: the same network with its ideal (programmed) weights.
        errors: read errors of every read of the evaluation by type (to zero, from zero, sign flip)
            and the weight reads they are counted over; errors_per_layer: the same per layer name.
        energy_per_inference: J per inference (one image); energy_parts: its parts by name, J
            (``sense``, ``bitline``, periphery parts; see :mod:`ternary_rram.chip.energy`).
        latency_per_inference: s per inference.
        energy: the full :class:`~ternary_rram.chip.energy.EnergyReport` (per layer, one-time costs,
            what the total leaves out).
        vdd, t_sense, temperature_c: the operating point (V, s, degrees C).
        chip_seed: the chip instance. reads: "every-inference" or "once". engine: "float" or "integer".
        n_test: images evaluated. n_reads: full reads of the chip.
        predictions: (n_test,) int64 class decisions with the chip-read weights.
    """

    accuracy: float
    accuracy_ideal: float
    errors: ErrorCounts
    errors_per_layer: Mapping[str, ErrorCounts]
    energy_per_inference: float
    energy_parts: Mapping[str, float]
    latency_per_inference: float
    energy: EnergyReport
    vdd: float
    t_sense: float
    temperature_c: float
    chip_seed: int
    reads: str
    engine: str
    n_test: int
    n_reads: int
    predictions: Tensor = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (errors as counts, energy in J, time in s)."""
        def ed(e: ErrorCounts) -> dict[str, Any]:
            return {"to_zero": e.to_zero, "from_zero": e.from_zero, "sign_flip": e.sign_flip,
                    "n_weights": e.n_weights}
        return {"accuracy": self.accuracy, "accuracy_ideal": self.accuracy_ideal,
                "errors": ed(self.errors), "errors_per_layer": {k: ed(v) for k, v in self.errors_per_layer.items()},
                "energy_per_inference": self.energy_per_inference, "energy_parts": dict(self.energy_parts),
                "latency_per_inference": self.latency_per_inference, "vdd": self.vdd, "t_sense": self.t_sense,
                "temperature_c": self.temperature_c, "chip_seed": self.chip_seed, "reads": self.reads,
                "engine": self.engine, "n_test": self.n_test, "n_reads": self.n_reads}

    def __str__(self) -> str:
        e = self.errors
        return (f"VDD {self.vdd:g} V, window {self.t_sense * 1e9:.3g} ns, chip {self.chip_seed}: accuracy "
                f"{100 * self.accuracy:.2f} % (ideal weights {100 * self.accuracy_ideal:.2f} %); read errors "
                f"to zero {e.to_zero}, from zero {e.from_zero}, sign flips {e.sign_flip} of {e.n_weights}; "
                f"energy per inference {self.energy_per_inference * 1e9:.4g} nJ")


class Chip:
    """One simulated chip instance at one operating point; program it with a quantized model.

    Args:
        vdd: sense-amplifier supply, V (0.3-1.3).
        window: sense window, s; None picks it per VDD as the sense study does.
        params: calibrated parameters: a PARAMS.json path (``ternary-rram calibrate``) or the pair
            ``tr.load_params`` returns; None: the default device and PCSA models.
        process: a process preset name (:data:`PROCESSES`, e.g. "sky130-tt"); None: the defaults.
        seed: the chip instance (devices, amplifier choice, read noise).
        array: (rows, cols) or "ROWSxCOLS" of one array. reads: "every-inference" (weights sensed at
            every use, fresh noise per batch) or "once" (one read into a digital buffer).
        temperature_c: degrees C. t_relax: s between programming and reading. column_group: columns
            per sense amplifier. noise_scale: multiplier of the default per-read noise (0: off).
        amplifiers, n_grid, n_mc: amplifier pool size, grid points per axis of each amplifier's map,
            noise draws per map point (cost of making the chip: amplifiers * n_grid^2 * n_mc
            transient senses).
        cache_dir: folder to keep amplifier pools in (reused across sessions); None: memory only.

    Everything is validated here (one-line :class:`InputError`); the window and the pool are made
    on first use and kept, so programming several models on one chip costs them once.
    """

    def __init__(self, vdd: float = DEFAULT_VDD_LOW, window: float | None = None, *, params: Any = None,
                 process: str | None = None, seed: int = 0, array: Any = (128, 128),
                 reads: str = "every-inference", temperature_c: float = 27.0, t_relax: float = 0.0,
                 column_group: int = 1, noise_scale: float = 1.0, amplifiers: int = N_AMPLIFIERS,
                 n_grid: int = N_GRID, n_mc: int = N_MC, cache_dir: str | os.PathLike | None = None) -> None:
        self.vdd = check_vdd(vdd)
        self.window = None if window is None else check_range("window", window, *T_SENSE_RANGE, unit="s")
        self.temperature_c = check_range("temperature_c", temperature_c, *TEMPERATURE_C_RANGE, unit="degC")
        self.array = parse_array_shape(array)
        self.reads = check_reads(reads)
        self.seed = check_seed("seed", seed)
        self.t_relax = check_range("t_relax", t_relax, 0.0, float("inf"), high_open=True, unit="s")
        self.column_group = check_int("column_group", column_group, 1, self.array[1])
        check_range("noise_scale", noise_scale, 0.0, float("inf"), high_open=True)
        self.noise: ReadNoise = ReadNoise.scaled(noise_scale)
        self.amplifiers = check_int("amplifiers", amplifiers, 1)
        self.n_grid = check_int("n_grid", n_grid, 2)
        self.n_mc = check_int("n_mc", n_mc, 1)
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        if process is not None and params is not None:
            raise InputError("process and params are not allowed together: give one of them")
        dm, pcsa = _process_models(process)
        if params is not None:
            dm, pcsa = _params_models(params)
        self.process = process
        self.device_model: DeviceModel = dm if dm is not None else DeviceModel()
        self.pcsa: PCSA = pcsa if pcsa is not None else PCSA()
        self._op: OperatingPoint | None = None
        self._window_info: WindowInfo | None = None
        self._pool: AmplifierPool | None = None
        self.instance: ChipInstance | None = None

    def __repr__(self) -> str:
        w = "auto" if self.window is None else f"{self.window:g} s"
        return (f"Chip(vdd={self.vdd:g} V, window={w}, seed={self.seed}, array={self.array[0]}x{self.array[1]}, "
                f"reads={self.reads!r}, programmed={self.instance is not None})")

    @property
    def operating_point(self) -> OperatingPoint:
        """(VDD, sense window, temperature); the window is chosen on first use when not given."""
        if self._op is None:
            self._op, self._window_info = operating_point_for(
                self.vdd, self.window, self.temperature_c, pcsa=self.pcsa, device_model=self.device_model,
                seed=self.seed)
        return self._op

    @property
    def window_info(self) -> WindowInfo:
        """How the window was set (given or chosen) and its probe result."""
        _ = self.operating_point
        assert self._window_info is not None
        return self._window_info

    @property
    def pool(self) -> AmplifierPool:
        """The column-amplifier pool at the operating point (made once per chip)."""
        if self._pool is None:
            self._pool = pool_at(self.operating_point, pcsa=self.pcsa, device_model=self.device_model,
                                 n_amplifiers=self.amplifiers, n_grid=self.n_grid, n_mc=self.n_mc,
                                 noise=self.noise, seed=self.seed, t_relax=self.t_relax, cache_dir=self.cache_dir)
        return self._pool

    def program(self, model: nn.Module) -> Chip:
        """Program every quantized layer of ``model`` (sequential or not) into this chip; returns self.

        ``model`` holds binary/ternary layers (``tr.convert`` of any PyTorch model, or ``tr.vgg``).
        Programming again replaces the previous model (same chip seed: the same devices).
        """
        if not isinstance(model, nn.Module):
            raise InputError(f"model={type(model).__name__} is not allowed: must be a torch nn.Module")
        if not any(m.weight_quantizer.is_quantized for _, m in quantized_layers(model)):
            plain = any(isinstance(m, (nn.Conv2d, nn.Linear)) and not isinstance(m, QuantizedLayer)
                        for m in model.modules())
            hint = ("convert it first: tr.convert(model, weights='ternary')" if plain
                    else "weights must be binary or ternary")
            raise InputError(f"model has no quantized layer: nothing to program into the arrays; {hint}")
        self.instance = chip_deploy(model, self.pool, device_model=self.device_model, array_shape=self.array,
                                    column_group=self.column_group, reads=self.reads, seed=self.seed,
                                    t_relax=self.t_relax)
        return self

    def evaluate(self, data: Any, *, limit: int | None = None, batch_size: int = 500,
                 engine: str = "float") -> ChipResult:
        """Evaluate the programmed model on ``data`` with the weights this chip reads.

        Args:
            data: a ``tr.load_dataset(...)`` data set (its test split) or a pair ``(x, y)``:
                x float (N, ...) as the model takes it, y int (N,) class labels.
            limit: evaluate the first ``limit`` images. batch_size: images per read when
                ``reads="every-inference"`` (one fresh read per batch).
            engine: "float" (the model with the read weights; any model) or "integer" (the exact
                XNOR/popcount network; sequential models without bias only).
        """
        if self.instance is None:
            raise InputError("chip is not programmed: call chip.program(model) first")
        x, y = _eval_pair(data, limit)
        res = evaluate_chip(self.instance, x, y, batch_size=check_int("batch_size", batch_size, 1), engine=engine)
        op = self.instance.op
        return ChipResult(accuracy=res.accuracy_chip, accuracy_ideal=res.accuracy_ideal, errors=res.errors_total,
                          errors_per_layer=dict(res.errors), energy_per_inference=res.energy.total,
                          energy_parts=dict(res.energy.parts), latency_per_inference=res.energy.latency,
                          energy=res.energy, vdd=op.vdd, t_sense=op.t_sense, temperature_c=op.temperature_c,
                          chip_seed=self.seed, reads=self.reads, engine=engine, n_test=res.n_test,
                          n_reads=res.n_reads, predictions=res.predictions)


def _eval_pair(data: Any, limit: int | None = None) -> tuple[Tensor, Tensor]:
    """(x float, y int64) from a data set (test split, normalised) or an (x, y) pair; with ``limit``
    (an integer >= 1, checked once the data is) only the first ``limit`` images (only those are
    normalised)."""
    if hasattr(data, "batch") and hasattr(data, "n_test"):
        n = data.n_test if limit is None else min(check_int("limit", limit, 1), data.n_test)
        return data.batch("test", torch.arange(n))
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = (torch.as_tensor(v) for v in data)
        if x.shape[0] != y.shape[0] or y.dim() != 1:
            raise InputError(f"data=(x, y) with shapes {tuple(x.shape)}, {tuple(y.shape)} is not allowed: y "
                             "must be (N,) labels for the N images of x")
        if x.dtype in (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64):
            raise InputError(f"data x dtype={x.dtype} is not allowed: must be float images as the model takes them")
        if limit is not None:
            n = check_int("limit", limit, 1)
            x, y = x[:n], y[:n]
        return x.float(), y.to(torch.int64)
    raise InputError(f"data={type(data).__name__} is not allowed: must be a data set (tr.load_dataset) "
                     "or a pair (x, y) of tensors")
