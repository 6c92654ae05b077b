"""Experiments that one point of a design-space sweep runs, each with a declared parameter schema.

A point function has the signature ``fn(params: dict, seed: int) -> dict[str, scalar]``: ``params``
holds every parameter of the schema (defaults filled in, values checked), ``seed`` seeds every random
draw, so a point is a pure function of ``(params, seed)``. The result is a flat dict of scalars
(float, int, bool, str), one entry per declared metric.

Registered here: "sense" (PCSA Monte Carlo at one operating point), "energy-per-inference" (a
network deployed on 2T2R arrays, untrained weights), "deployed-accuracy" (a trained checkpoint
deployed and evaluated), "accuracy-vs-error-rate" (a trained checkpoint under injected weight
errors). The registry maps a name to an :class:`Experiment`: the import path of its point
function (``"package.module:function"``, so that Dask workers, separate processes, import it
themselves), its :class:`Param` schema (names, types, allowed ranges or choices, defaults, units) and
the metrics it returns. Specs are checked against the schema before anything runs.

Adding an experiment takes a few lines::

    register(Experiment(
        name="my-study", target="my_pkg.my_module:my_point",
        params=(Param("vdd", "float", 1.2, low=0.0, high=2.0, low_open=True, unit="V"),),
        metrics=("accuracy", "energy_per_inference"),
        accuracy_metric="accuracy", energy_metric="energy_per_inference"))
"""

from __future__ import annotations

import importlib
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from ternary_rram.array.params import ReadNoise
from ternary_rram.chip.deploy import deploy, evaluate_chip
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.params import PCSAParams
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.circuit.read import CELL_STATES
from ternary_rram.circuit.transforms import scale_latch_area
from ternary_rram.device import DeviceModel, LognormalState
from ternary_rram.errors import InputError
from ternary_rram.nn.checkpoint import model_from_checkpoint
from ternary_rram.nn.data import load_dataset
from ternary_rram.nn.models import build_model
from ternary_rram.nn.packed import load_network
from ternary_rram.nn.train import evaluate

#: Column names the sweep engine adds to every result row; no parameter or metric may use them.
RESERVED_NAMES: frozenset[str] = frozenset(
    {"hash", "experiment", "status", "error", "traceback", "seed", "duration_s", "finished_at", "worker"})

_TYPES = ("float", "int", "str", "bool")


@dataclass(frozen=True)
class Param:
    """One parameter of an experiment.

    Attributes:
        name: parameter name as written in a spec.
        type: "float", "int", "str" or "bool".
        default: value used when a spec does not set it.
        low, high: allowed range (numbers); either end open with ``low_open`` / ``high_open``.
        choices: allowed values (str parameters, or any type with a closed set).
        unit: unit of the value, for messages and docs ("V", "s", "ohm", ...).
        log: the natural scale of the parameter is logarithmic (random sampling, grid ranges).
        help: one line of documentation.
        required: a spec must give it (the default is only a placeholder).
    """

    name: str
    type: str
    default: Any
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple | None = None
    unit: str = ""
    log: bool = False
    help: str = ""
    required: bool = False

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"Param {self.name}: type must be one of {_TYPES}, not {self.type!r}")
        if self.name in RESERVED_NAMES:
            raise ValueError(f"Param name {self.name!r} is reserved for result columns")
        self.check(self.default)  # the default itself must be allowed

    def allowed(self) -> str:
        """What the parameter allows, in words (used in error messages)."""
        if self.choices is not None:
            return "must be one of " + ", ".join(repr(c) for c in self.choices)
        if self.type in ("float", "int") and (self.low is not None or self.high is not None):
            lo = "-inf" if self.low is None else f"{self.low:g}"
            hi = "inf" if self.high is None else f"{self.high:g}"
            lb = "(" if self.low_open or self.low is None else "["
            rb = ")" if self.high_open or self.high is None else "]"
            kind = "an integer" if self.type == "int" else "a number"
            unit = f" {self.unit}" if self.unit else ""
            return f"must be {kind} in {lb}{lo}, {hi}{rb}{unit}"
        return {"float": "must be a number", "int": "must be an integer", "str": "must be a string",
                "bool": "must be true or false"}[self.type]

    def check(self, value: Any, where: str = "") -> Any:
        """Return ``value`` converted to the parameter's type, or raise :class:`InputError`.

        ``where`` prefixes the name in the message (e.g. ``"grid."``).
        """
        bad = InputError(f"{where}{self.name}={value!r} is not allowed: {self.allowed()}")
        if self.type == "float":
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise bad
            v: Any = float(value)
            if math.isnan(v):
                raise bad
        elif self.type == "int":
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise bad
            if isinstance(value, numbers.Integral):
                v = int(value)
            elif math.isfinite(float(value)) and float(value).is_integer():
                v = int(value)  # 1e4 in TOML is a float; accept it when it is a whole number
            else:
                raise bad
        elif self.type == "str":
            if not isinstance(value, str):
                raise bad
            v = value
        else:
            if not isinstance(value, bool):
                raise bad
            v = value
        if self.choices is not None and v not in self.choices:
            raise bad
        if self.type in ("float", "int"):
            if self.low is not None and (v <= self.low if self.low_open else v < self.low):
                raise bad
            if self.high is not None and (v >= self.high if self.high_open else v > self.high):
                raise bad
        return v


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: point function (import path), parameter schema, metrics.

    Attributes:
        name: registry name, as written in a spec (``experiment = "sense"``).
        target: ``"package.module:function"`` of the point function ``fn(params, seed) -> dict``.
        params: the parameter schema.
        metrics: names of the scalar results every point returns.
        help: one line of documentation.
        accuracy_metric / energy_metric: metrics the sweep summary plots as a Pareto front
            (maximise accuracy, minimise energy); None when the experiment has none.
        default_metric: metric of the heat maps when a spec does not name one.
        version: part of every point's hash; bump it when the point function's results change, so
            that reruns do not reuse stale results.
    """

    name: str
    target: str
    params: tuple[Param, ...]
    metrics: tuple[str, ...]
    help: str = ""
    accuracy_metric: str | None = None
    energy_metric: str | None = None
    default_metric: str | None = None
    version: int = 1
    _by_name: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if ":" not in self.target:
            raise ValueError(f"Experiment {self.name}: target must be 'package.module:function'")
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"Experiment {self.name}: duplicate parameter names")
        clash = (set(names) | RESERVED_NAMES) & set(self.metrics)
        if clash:
            raise ValueError(f"Experiment {self.name}: metric names clash with parameters/columns: {sorted(clash)}")
        for m in (self.accuracy_metric, self.energy_metric, self.default_metric):
            if m is not None and m not in self.metrics:
                raise ValueError(f"Experiment {self.name}: {m!r} is not one of its metrics")
        self._by_name.update({p.name: p for p in self.params})

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def param(self, name: str, where: str = "") -> Param:
        """The schema entry of ``name``, or :class:`InputError` naming the allowed parameters."""
        try:
            return self._by_name[name]
        except KeyError:
            raise InputError(f"{where}{name} is not allowed: experiment {self.name!r} has no parameter "
                             f"{name!r}; its parameters are {', '.join(self.param_names)}") from None

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def resolve(self, values: Mapping[str, Any], where: str = "") -> dict[str, Any]:
        """Every parameter: defaults overridden by ``values`` (each checked), in schema order."""
        for name in values:
            self.param(name, where)
        out = {}
        for p in self.params:
            if p.name in values:
                out[p.name] = p.check(values[p.name], where)
            elif p.required:
                raise InputError(f"{p.name} is missing: experiment {self.name!r} needs it ({p.help})")
            else:
                out[p.name] = p.default
        return out

    def load(self) -> Callable[[dict, int], dict]:
        """Import and return the point function."""
        return load_target(self.target)


_REGISTRY: dict[str, Experiment] = {}


def register(experiment: Experiment, *, replace: bool = False) -> Experiment:
    """Add ``experiment`` to the registry (``replace=True`` to overwrite a name); returns it."""
    if experiment.name in _REGISTRY and not replace and _REGISTRY[experiment.name] != experiment:
        raise ValueError(f"an experiment named {experiment.name!r} is already registered")
    _REGISTRY[experiment.name] = experiment
    return experiment


def unregister(name: str) -> None:
    """Remove ``name`` from the registry (no error when absent)."""
    _REGISTRY.pop(name, None)


def get_experiment(name: str) -> Experiment:
    """The registered experiment ``name``, or :class:`InputError` listing the registered ones."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise InputError(f"experiment={name!r} is not allowed: must be one of "
                         f"{', '.join(repr(n) for n in sorted(_REGISTRY))}") from None


def experiment_names() -> list[str]:
    return sorted(_REGISTRY)


def load_target(target: str) -> Callable[[dict, int], dict]:
    """Import ``"package.module:function"`` and return the function."""
    module_name, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def as_scalar(name: str, value: Any) -> Any:
    """``value`` as a plain Python scalar (numpy/torch 0-d values converted), else ``TypeError``."""
    if not isinstance(value, (bool, str, int, float)) and hasattr(value, "item"):
        try:
            value = value.item()  # numpy scalar, 0-d / one-element array or tensor
        except (ValueError, RuntimeError):
            raise TypeError(f"result {name!r} is not a scalar: {type(value).__name__}") from None
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(f"result {name!r} is not a scalar: {type(value).__name__}")


# ------------------------------------------------------------------------------------------------
# "sense": transient Monte Carlo of the PCSA at one operating point
# ------------------------------------------------------------------------------------------------

STATE_SETS: dict[str, tuple[int, ...]] = {"binary": (+1, -1), "ternary": (+1, 0, -1)}
_STATE_LABEL = {+1: "plus", -1: "minus", 0: "zero"}

SENSE_PARAMS: tuple[Param, ...] = (
    # Defaults: the default transistors' low-VDD point (circuit/params.py DEFAULT_VDD_LOW, 1.0 V) and a window
    # near the centre of its ternary margin (W_low 0.80 ns, W_high 2.19 ns there, docs/results.md).
    Param("vdd", "float", 1.0, low=0.0, high=2.0, low_open=True, unit="V", help="supply voltage"),
    Param("t_sense", "float", 1.3e-9, low=0.0, high=1e-6, low_open=True, unit="s", log=True,
          help="sense (evaluation) window"),
    Param("temperature_c", "float", 27.0, low=-73.15, high=176.85, unit="degC", help="temperature"),
    Param("lrs_median", "float", 5e3, low=10.0, high=1e9, unit="ohm", log=True, help="LRS median resistance"),
    Param("lrs_sigma", "float", 0.15, low=0.0, high=3.0, help="LRS spread of ln R (total)"),
    Param("hrs_median", "float", 300e3, low=10.0, high=1e9, unit="ohm", log=True, help="HRS median resistance"),
    Param("hrs_sigma", "float", 0.7, low=0.0, high=3.0, help="HRS spread of ln R (total)"),
    Param("t_relax", "float", 0.0, low=0.0, high=1e9, unit="s",
          help="time since programming (HRS relaxation spread)"),
    Param("latch_area_scale", "float", 1.0, low=0.0, high=100.0, low_open=True, log=True,
          help="latch transistor gate-area multiplier (W and L by sqrt: drive kept, mismatch sigma "
                "scales as 1/sqrt; circuit.transforms.scale_latch_area)"),
    Param("samples", "int", 1000, low=1, high=10_000_000, log=True, help="Monte Carlo samples per state"),
    Param("states", "str", "ternary", choices=tuple(STATE_SETS), help="programmed states to sense"),
)

SENSE_METRICS: tuple[str, ...] = (
    "p_plus_given_plus", "p_zero_given_plus", "p_minus_given_plus",
    "p_plus_given_zero", "p_zero_given_zero", "p_minus_given_zero",
    "p_plus_given_minus", "p_zero_given_minus", "p_minus_given_minus",
    "error_rate_plus", "error_rate_zero", "error_rate_minus",
    "error_rate", "accuracy", "energy_per_sense", "t_decide_mean", "undecided_rate",
)


def sense_point(params: dict, seed: int) -> dict:
    """PCSA Monte Carlo at one operating point; probabilities per programmed state, energy, delay.

    For each programmed state s of ``params["states"]``: ``samples`` fresh device pairs drawn from the
    device model, each sensed once with freshly drawn transistor mismatch. Returns
    ``p_<read>_given_<s>`` (NaN for states not in the set), ``error_rate_<s>`` = P(read != s),
    ``error_rate`` (mean over the set), ``accuracy`` = 1 - error_rate, ``energy_per_sense`` (J, mean
    over all senses), ``t_decide_mean`` (s, mean over decided senses, NaN if none) and
    ``undecided_rate`` (fraction of senses that read 0).
    """



    p = params
    gen = torch.Generator().manual_seed(int(seed))
    device = DeviceModel(lrs=LognormalState.from_total(p["lrs_median"], p["lrs_sigma"]),
                         hrs=LognormalState.from_total(p["hrs_median"], p["hrs_sigma"]),
                         programming=None)
    pcsa = PCSA(scale_latch_area(PCSAParams(), float(p["latch_area_scale"])))
    op = OperatingPoint.from_celsius(p["vdd"], p["t_sense"], p["temperature_c"])
    n = int(p["samples"])
    states = STATE_SETS[p["states"]]

    out: dict[str, Any] = dict.fromkeys(SENSE_METRICS, math.nan)
    r_bl, r_blb = [], []
    for s in states:
        bl_state, blb_state = CELL_STATES[s]  # the one encoding (circuit/read.py)
        r_bl.append(device.sample(bl_state, n, gen, t_relax=p["t_relax"]))
        r_blb.append(device.sample(blb_state, n, gen, t_relax=p["t_relax"]))
    # one batched transient for every state: the fixed cost (precharge solve, time loop) is paid once
    res = pcsa.sense(torch.cat(r_bl), torch.cat(r_blb), op, generator=gen)
    value = torch.as_tensor(res.value).to(torch.int64).reshape(len(states), n)
    errors = []
    for i, s in enumerate(states):
        for read in (+1, 0, -1):
            out[f"p_{_STATE_LABEL[read]}_given_{_STATE_LABEL[s]}"] = float((value[i] == read).double().mean())
        err = float((value[i] != s).double().mean())
        out[f"error_rate_{_STATE_LABEL[s]}"] = err
        errors.append(err)
    out["error_rate"] = sum(errors) / len(errors)
    out["accuracy"] = 1.0 - out["error_rate"]
    out["energy_per_sense"] = float(torch.as_tensor(res.energy, dtype=torch.float64).mean())
    t = torch.as_tensor(res.t_decide, dtype=torch.float64).reshape(-1)
    t = t[torch.isfinite(t)]
    out["t_decide_mean"] = float(t.mean()) if t.numel() else math.nan
    out["undecided_rate"] = float((value == 0).double().mean())
    return out


register(Experiment(
    name="sense", target="ternary_rram.experiments.points:sense_point", params=SENSE_PARAMS,
    metrics=SENSE_METRICS, accuracy_metric="accuracy", energy_metric="energy_per_sense",
    default_metric="error_rate",
    help="transient Monte Carlo of the precharge sense amplifier at one operating point",
    version=2))  # 2: latch_area_scale scales W and L by sqrt(scale) (version 1 widened only)


# ------------------------------------------------------------------------------------------------
# Chip level: "energy-per-inference", "deployed-accuracy", "accuracy-vs-error-rate"
# ------------------------------------------------------------------------------------------------

_OP_AND_DEVICE = tuple(p for p in SENSE_PARAMS if p.name not in ("samples", "states"))
CHIP_PARAMS: tuple[Param, ...] = _OP_AND_DEVICE + (
    Param("array_rows", "int", 128, low=1, high=65536, log=True, help="rows of one array"),
    Param("array_cols", "int", 128, low=1, high=65536, log=True, help="columns of one array"),
    Param("reads", "str", "every-inference", choices=("every-inference", "once"),
          help="weights sensed at every use (XNOR in the sense amplifier), or once into a buffer"),
    Param("amplifiers", "int", 4, low=1, high=1024, log=True,
          help="amplifier pool: mismatch draws the chip's column amplifiers come from"),
    Param("noise_scale", "float", 1.0, low=0.0, high=100.0,
          help="multiplier of the default per-read noise (0: none)"),
    Param("sense_grid", "int", 9, low=3, high=65, help="amplifier maps: grid points per resistance axis"),
    Param("sense_mc", "int", 16, low=1, high=4096, log=True, help="amplifier maps: noise draws per grid point"),
)
CHIP_METRICS: tuple[str, ...] = ("energy_per_inference", "latency_per_inference", "senses_per_inference",
                                 "programming_energy", "n_weights", "weight_error_rate")


def _chip_setup(params: dict, seed: int):
    """(generator, device model, PCSA, operating point) of a chip point."""



    p = params
    gen = torch.Generator().manual_seed(int(seed))
    device = DeviceModel(lrs=LognormalState.from_total(p["lrs_median"], p["lrs_sigma"]),
                         hrs=LognormalState.from_total(p["hrs_median"], p["hrs_sigma"]), programming=None)
    op = OperatingPoint.from_celsius(p["vdd"], p["t_sense"], p["temperature_c"])
    return gen, device, PCSA(scale_latch_area(PCSAParams(), float(p["latch_area_scale"]))), op


def _deploy(model, params: dict, seed: int):

    gen, device, pcsa, op = _chip_setup(params, seed)
    return deploy(model, op=op, pcsa=pcsa, device_model=device,
                  array_shape=(params["array_rows"], params["array_cols"]), reads=params["reads"],
                  seed=int(seed), pool_generator=gen, t_relax=params["t_relax"],
                  n_amplifiers=params["amplifiers"], noise=ReadNoise.scaled(params["noise_scale"]),
                  n_grid=params["sense_grid"], n_mc=params["sense_mc"])


def _chip_metrics(chip, input_shape: tuple[int, ...]) -> dict:
    energy = chip.energy(input_shape)
    errors = chip.read_into_model()
    total = sum(e.total for e in errors.values())
    n = sum(e.n_weights for e in errors.values())
    return {"energy_per_inference": energy.total, "latency_per_inference": energy.latency,
            "senses_per_inference": int(energy.senses_per_inference),
            "programming_energy": float(chip.programming_energy), "n_weights": int(chip.n_weights),
            "weight_error_rate": total / n if n else math.nan}


def energy_point(params: dict, seed: int) -> dict:
    """Energy and latency per inference of a network deployed at one operating point.

    The network (``model``, ``width``, ...) is built with weights initialised from ``seed`` (no
    training: energy depends on the architecture and on the fraction of zero weights); the devices,
    the sense map and one read are drawn from ``seed`` too.
    """


    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        model = build_model(params["model"], width=params["width"], weights=params["weights"],
                            activations=params["activations"], in_channels=params["in_channels"],
                            num_classes=params["num_classes"], image_size=params["image_size"])
    model.eval()
    chip = _deploy(model, params, seed)
    s = params["image_size"]
    return _chip_metrics(chip, (params["in_channels"], s, s))


register(Experiment(
    name="energy-per-inference", target="ternary_rram.experiments.points:energy_point",
    params=CHIP_PARAMS + (
        Param("model", "str", "vgg", choices=("vgg", "mlp", "convnet"), help="network architecture"),
        Param("width", "int", 32, low=1, high=4096, log=True, help="network width (channels / units)"),
        Param("weights", "str", "ternary", choices=("binary", "ternary"), help="weight kind"),
        Param("activations", "str", "binary", choices=("binary", "ternary"), help="activation kind"),
        Param("in_channels", "int", 3, low=1, high=64, help="input channels"),
        Param("image_size", "int", 32, low=4, high=1024, help="input image side, pixels"),
        Param("num_classes", "int", 10, low=1, high=100000, help="classes"),
    ),
    metrics=CHIP_METRICS, energy_metric=None, default_metric="energy_per_inference",
    help="energy and latency per inference of a network (untrained weights) deployed on 2T2R arrays",
    version=2))  # 2: latch_area_scale scales W and L by sqrt(scale) (version 1 widened only)


_CKPT_PARAMS: tuple[Param, ...] = (
    Param("checkpoint", "str", "", required=True,
          help="trained checkpoint file or run folder, a packed network (FILE.packed) or pretrained:NAME"),
    Param("data", "str", "", choices=("", "cifar10", "mnist", "digits", "synthetic"),
          help="test data set (empty: the checkpoint's)"),
    Param("data_dir", "str", "", help="data folder for cifar10 / mnist (empty: the default)"),
    Param("n_test", "int", 0, low=0, high=10_000_000, help="test images (0: all)"),
    Param("batch_size", "int", 500, low=1, high=100000, help="evaluation batch size"),
)


def _load_checkpoint_and_data(params: dict):

    ckpt = load_network(params["checkpoint"])
    name = params["data"] or ckpt["data"].get("name")
    if not name:
        raise InputError(f"checkpoint {ckpt['path']} does not say its data set: set data")
    data = load_dataset(name, params["data_dir"] or None, limit=params["n_test"] or None)
    return ckpt, data


def deployed_accuracy_point(params: dict, seed: int) -> dict:
    """Test accuracy of a trained checkpoint deployed on 2T2R arrays read by PCSAs at one operating
    point (ideal and chip-read weights), with the energy and latency per inference."""

    ckpt, data = _load_checkpoint_and_data(params)
    model = model_from_checkpoint(ckpt)
    model.eval()
    chip = _deploy(model, params, seed)
    out = _chip_metrics(chip, (data.in_channels, data.image_size, data.image_size))
    gen = __import__("torch").Generator().manual_seed(int(seed) + 1)
    res = evaluate_chip(chip, data.normalise(data.x_test), data.y_test, batch_size=params["batch_size"],
                        generator=gen)
    out.update({"accuracy": float(res.accuracy_chip), "accuracy_ideal": float(res.accuracy_ideal),
                "weight_error_rate": float(res.errors_total.rate), "n_images": int(res.n_test)})
    return out


register(Experiment(
    name="deployed-accuracy", target="ternary_rram.experiments.points:deployed_accuracy_point",
    params=CHIP_PARAMS + _CKPT_PARAMS,
    metrics=("accuracy", "accuracy_ideal", "n_images") + CHIP_METRICS,
    accuracy_metric="accuracy", energy_metric="energy_per_inference", default_metric="accuracy",
    help="accuracy and energy per inference of a trained network deployed on 2T2R arrays",
    version=2))  # 2: latch_area_scale scales W and L by sqrt(scale) (version 1 widened only)


def error_rate_point(params: dict, seed: int) -> dict:
    """Test accuracy of a trained checkpoint with weight errors injected at a bit error rate."""

    ckpt, data = _load_checkpoint_and_data(params)
    res = evaluate(ckpt, data, ber=params["ber"], error_model=params["error_model"], repeats=params["repeats"],
                   error_mode=params["error_mode"], seed=int(seed) % (2**31), batch_size=params["batch_size"])
    return {"accuracy_clean": float(res.accuracy), "accuracy": float(res.mean), "accuracy_std": float(res.std),
            "accuracy_min": float(min(res.accuracies)), "n_images": int(res.n_test)}


register(Experiment(
    name="accuracy-vs-error-rate", target="ternary_rram.experiments.points:error_rate_point",
    params=_CKPT_PARAMS + (
        Param("ber", "float", 0.01, low=0.0, high=1.0, log=True, help="bit error rate of the weights"),
        Param("error_model", "str", "sign-flip", choices=("sign-flip", "ternary"), help="error model"),
        Param("error_mode", "str", "per-forward", choices=("per-forward", "fixed"),
              help="new errors every batch, or one draw per test pass (a chip)"),
        Param("repeats", "int", 1, low=1, high=10000, help="independent error draws"),
    ),
    metrics=("accuracy_clean", "accuracy", "accuracy_std", "accuracy_min", "n_images"),
    default_metric="accuracy",
    help="test accuracy of a trained checkpoint under injected weight errors at a bit error rate"))
