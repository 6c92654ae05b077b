"""Training loop with the seed recipe (docs/physics.md section 5), exact resume, and evaluation under errors.

Recipe defaults ([C]): AdamW, lr 0.01, batch 128, cosine annealing with warm restarts, cycles of
100, 200 and 400 epochs (restarts at epochs 100 and 300), Adam moments reset at each restart,
weight decay ``decay * sqrt(batch / (N * T_cycle))`` with decay 2.0, N the training-set size and
T_cycle the current cycle length in epochs (so it changes at each restart).

Conventions:

- The learning rate follows the cosine within a cycle per batch (fractional epochs), from ``lr``
  at the cycle start towards ``lr_min`` at its end.
- Weight decay uses torch's AdamW convention: each step multiplies weights by
  ``1 - lr_t * weight_decay`` (so it is annealed with the learning rate).
- ``epochs`` is never used to rescale the cycles. A run shorter than the cycles stops inside a
  cycle (the learning rate then has not annealed; pass e.g. ``cycles=(epochs,)`` to anneal within
  the run, see :func:`cycle_note`). Epochs beyond the listed cycles repeat the last cycle length.

Precision (``TrainConfig.precision``): "bf16" runs the forward pass under bfloat16 autocast (the
quantized weights +-1/0 and binary activations are exact in bfloat16; a convolution's output is
rounded to 8 significant bits); the latent weights, Adam's moments, the batch-norm parameters and
running statistics stay float32, and the loss is computed in float32. "auto" picks bf16 where the
hardware computes it natively (a CPU with AVX512-BF16 or AMX, or a CUDA device supporting it), else
"fp32". Models with convolutions train in the channels_last memory layout. Each epoch's row in the
history records the precision it ran in; its test pass runs in that precision too.

Outputs in ``out_dir`` (every epoch): ``checkpoint.pt`` (atomic), ``metrics.csv``,
``metrics.json`` and ``learning_curve.png``. A kill loses at most the epoch in progress; resume
continues exactly (same weights, bit for bit on CPU, as an uninterrupted run).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import statistics
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from torch import nn
from tqdm.auto import tqdm

from ternary_rram.errors import InputError, check_range
from ternary_rram.nn.checkpoint import (
    CHECKPOINT_NAME,
    atomic_write_bytes,
    atomic_write_text,
    check_data_fits,
    check_same_architecture,
    load_checkpoint,
    load_model_state,
    model_from_checkpoint,
    save_checkpoint,
)
from ternary_rram.nn.chip_aware import AmplifierLayout, check_rates, set_read_errors
from ternary_rram.nn.data import DATASETS, ImageData, augment_batch, iterate_batches, load_dataset, num_batches
from ternary_rram.nn.injection import ERROR_KINDS, ERROR_MODES, set_error_model
from ternary_rram.nn.models import build_model
from ternary_rram.nn.packed import PACKED_NAME, load_network, save_packed
from ternary_rram.nn.quantizers import TERNARY_THRESHOLD

AUGMENTS = ("auto", "none", "flip-crop", "crop", "flip")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16")
METRIC_FIELDS = ("epoch", "cycle", "lr", "weight_decay", "train_loss", "train_acc", "test_loss",
                 "test_acc", "time_s")
# Train-config fields that may change between a run and its resume (they do not alter the result
# of the epochs already done, or are meant to be extended).
# The precision may change on resume (another machine); each history row records its own.
_RESUMABLE_CHANGES = ("epochs", "eval_batch_size", "precision")
#: Latent value of a weight loaded from a packed file, per unit of its code (-1/0/+1): a packed file
#: keeps no latent weights, and codes taken as latent weights would sit 20x the ternary threshold
#: (0.05) from it, where fine-tuning could not move them. At twice the threshold, every weight is as
#: far from changing state as the threshold is from zero, and the codes are unchanged.
PACKED_INIT_SCALE = 2.0 * TERNARY_THRESHOLD


@dataclass(frozen=True)
class TrainConfig:
    """All training hyper-parameters (defaults: the seed recipe, docs/physics.md section 5).

    Attributes:
        epochs: number of epochs to train in total (a resume continues up to this).
        batch_size: images per optimiser step.
        lr, lr_min: learning rate at the start / end of each cosine cycle.
        cycles: cycle lengths in epochs; warm restarts between them; the last repeats.
        decay: normalised weight decay; AdamW weight_decay = decay * sqrt(batch / (N * T_cycle)).
        betas, eps: Adam parameters.
        reset_moments: clear Adam's moments (and step count) at each warm restart.
        augment: "auto" (the data set's default: flip+crop for CIFAR-10, none otherwise), "none",
            "flip-crop", "flip" or "crop".
        crop_padding: edge padding in pixels before the random crop.
        seed: seeds model init (by the caller), data order, augmentation and error draws.
        ber, error_model, error_mode: weight errors injected during training and test (None: off).
        eval_batch_size: batch size for test passes (does not change results).
        max_batches: stop each training epoch after this many batches (timing, smoke tests).
        precision: "fp32", "bf16" (bfloat16 autocast of the forward pass) or "auto" (bf16 where
            the hardware supports it natively, see :func:`resolve_precision`).
        read_rates: chip-aware training: (3, 3) read rates of an operating point (row: programmed
            -1/0/+1, column: read -1/0/+1; ``nn.chip_aware.pair_read_rates``), drawn afresh for
            every forward pass in training and test; or (K, 3, 3), one table per amplifier of the
            chip's pool (``nn.chip_aware.amplifier_read_rates``), with ``read_layout``. None: off.
            Excludes ``error_model``.
        read_layout: with per-amplifier ``read_rates``: (array rows, array columns, columns per
            amplifier) of the chip (``nn.chip_aware.AmplifierLayout``); every forward pass draws
            each amplifier's pool member anew.
        read_source: where ``read_rates`` come from (VDD, window, parameters), for the record.
        init: start from the weights of this trained network (a training checkpoint or run folder,
            a ``.packed`` file or ``pretrained:NAME``; :func:`start_from`) instead of a random
            initialisation: fine-tuning. None: random (``init_model``).
    """

    epochs: int = 700
    batch_size: int = 128
    lr: float = 0.01
    lr_min: float = 0.0
    cycles: tuple[int, ...] = (100, 200, 400)
    decay: float = 2.0
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    reset_moments: bool = True
    augment: str = "auto"
    crop_padding: int = 4
    seed: int = 0
    ber: float = 0.0
    error_model: str | None = None
    error_mode: str = "per-forward"
    eval_batch_size: int = 1000
    max_batches: int | None = None
    precision: str = "fp32"
    read_rates: tuple | None = None
    read_layout: tuple[int, int, int] | None = None
    read_source: str = ""
    init: str | None = None

    def __post_init__(self) -> None:
        # Normalise sequences to tuples so that configs read from JSON compare equal.
        object.__setattr__(self, "cycles", tuple(int(c) for c in self.cycles))
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
        for name in ("epochs", "batch_size", "eval_batch_size"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name}={getattr(self, name)!r} is not allowed: must be >= 1")
        if not self.cycles or min(self.cycles) < 1:
            raise InputError(f"cycles={list(self.cycles)} is not allowed: must be one or more lengths >= 1")
        check_range("lr", self.lr, 0.0, float("inf"), low_open=True, high_open=True)
        check_range("lr_min", self.lr_min, 0.0, self.lr)
        check_range("decay", self.decay, 0.0, float("inf"), high_open=True)
        if len(self.betas) != 2:
            raise InputError(f"betas={list(self.betas)} is not allowed: must be two values in [0, 1)")
        for b in self.betas:
            check_range("beta", b, 0.0, 1.0, high_open=True)
        check_range("eps", self.eps, 0.0, float("inf"), low_open=True, high_open=True)
        if self.augment not in AUGMENTS:
            raise InputError(f"augment={self.augment!r} is not allowed: must be one of {', '.join(AUGMENTS)}")
        if self.crop_padding < 0:
            raise InputError(f"crop_padding={self.crop_padding} is not allowed: must be >= 0")
        check_range("ber", self.ber, 0.0, 1.0, high_open=True)
        if self.error_model is not None and self.error_model not in ERROR_KINDS:
            raise InputError(f"error_model={self.error_model!r} is not allowed: must be one of "
                             f"{', '.join(ERROR_KINDS)}")
        if self.error_mode not in ERROR_MODES:
            raise InputError(f"error_mode={self.error_mode!r} is not allowed: must be one of "
                             f"{', '.join(ERROR_MODES)}")
        if self.read_layout is not None:
            if len(self.read_layout) != 3:
                raise InputError(f"read_layout={list(self.read_layout)} is not allowed: must be (array rows, "
                                 "array columns, columns per amplifier)")
            layout = AmplifierLayout(*self.read_layout)
            object.__setattr__(self, "read_layout", (layout.rows, layout.cols, layout.column_group))
        rates = check_rates(self.read_rates) if self.read_rates is not None else None
        if (rates is not None and rates.ndim == 3) != (self.read_layout is not None):
            raise InputError("read_rates per amplifier (K x 3 x 3) need read_layout, and read_layout needs them")
        if rates is not None:
            object.__setattr__(self, "read_rates", _nested_tuple(rates.tolist()))
            if self.error_model is not None:
                raise InputError(f"error_model={self.error_model!r} is not allowed with read_rates "
                                 "(chip-aware training): use one or the other")
        if self.precision not in PRECISIONS:
            raise InputError(f"precision={self.precision!r} is not allowed: must be one of "
                             f"{', '.join(PRECISIONS)}")
        if self.max_batches is not None and self.max_batches < 1:
            raise InputError(f"max_batches={self.max_batches} is not allowed: must be >= 1")

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON dict (tuples as lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise InputError."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"train configuration has unknown keys: {', '.join(unknown)}")
        return cls(**d)


# --------------------------------------------------------------------------------------------
# Schedule
# --------------------------------------------------------------------------------------------

def cycle_of(epoch: int, cycles: tuple[int, ...]) -> tuple[int, int, int]:
    """(cycle index, first epoch of the cycle, cycle length) for 0-based ``epoch``.

    Beyond the listed cycles the last length repeats.
    """
    start = 0
    for i, length in enumerate(cycles):
        if epoch < start + length:
            return i, start, length
        start += length
    extra, last = epoch - start, cycles[-1]
    k = extra // last
    return len(cycles) + k, start + k * last, last


def learning_rate(epoch: float, config: TrainConfig) -> float:
    """Cosine-annealed learning rate at fractional 0-based ``epoch`` (restarts at cycle starts)."""
    _, start, length = cycle_of(math.floor(epoch), config.cycles)
    t = (epoch - start) / length  # in [0, 1)
    return config.lr_min + 0.5 * (config.lr - config.lr_min) * (1.0 + math.cos(math.pi * t))


def weight_decay(cycle_length: int, n_train: int, config: TrainConfig) -> float:
    """Normalised weight decay decay * sqrt(batch / (N * T_cycle)) (Loshchilov & Hutter)."""
    return config.decay * math.sqrt(config.batch_size / (n_train * cycle_length))


def cycle_note(config: TrainConfig) -> str | None:
    """A one-line note when ``epochs`` does not end at a cycle boundary (else None)."""
    _, start, length = cycle_of(config.epochs - 1, config.cycles)
    if start + length == config.epochs:
        return None
    return (f"epochs={config.epochs} ends inside a {length}-epoch cycle (epochs {start}-{start + length}):"
            f" the learning rate will not have annealed; cycles are not rescaled - pass e.g."
            f" --cycles {config.epochs} to anneal within the run")


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def resolve_device(device: str) -> torch.device:
    """"auto" -> CUDA when available, else CPU; "cuda" without CUDA raises InputError."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise InputError(f"device={device!r} is not allowed: must be one of {', '.join(DEVICES)}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device={device!r} is not allowed: CUDA is not available here (use cpu or auto)")
    return torch.device(device)


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """True when the CPU flags list avx512_bf16 or amx_bf16 (``cpuinfo``: /proc/cpuinfo text)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:  # not Linux: no way to tell, assume no
            return False
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def resolve_precision(precision: str, device: torch.device | str) -> str:
    """"fp32" or "bf16" for ``precision`` on ``device``.

    "auto" gives "bf16" on a CUDA device that supports bfloat16 and on a CPU with AVX512-BF16 or
    AMX (elsewhere bfloat16 is emulated and slower than float32), else "fp32".
    """
    if precision not in PRECISIONS:
        raise InputError(f"precision={precision!r} is not allowed: must be one of {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    dev = torch.device(device)
    if dev.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if dev.type == "cpu" and cpu_has_native_bf16() else "fp32"


def autocast(precision: str, device: torch.device) -> AbstractContextManager:
    """bfloat16 autocast on ``device`` for precision "bf16"; a no-op context for "fp32"."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def memory_format(model: nn.Module) -> torch.memory_format:
    """channels_last for models with 2-D convolutions (faster on CPU and CUDA), else contiguous."""
    has_conv = any(isinstance(m, nn.Conv2d) for m in model.modules())
    return torch.channels_last if has_conv else torch.contiguous_format


def init_model(model_config: dict[str, Any], seed: int) -> nn.Module:
    """Seed torch's global generator with ``seed`` and build the model (reproducible init)."""

    torch.manual_seed(seed)
    return build_model(**model_config)


def start_from(model: nn.Module, spec: str | os.PathLike, data: ImageData | None = None) -> dict[str, Any]:
    """Load the weights of the trained network ``spec`` into ``model`` (fine-tuning) and return it as
    loaded (``packed.load_network``). A training checkpoint gives its latent weights as they were; a
    packed file gives each quantized weight ``code * PACKED_INIT_SCALE`` (same codes, latent values
    near the threshold). One-line InputError when ``data`` (the data to fine-tune on) does not fit
    the network, or the architectures differ."""
    ckpt = load_network(spec)
    if data is not None:
        check_data_fits(ckpt, data)
    check_same_architecture(getattr(model, "config", {}), ckpt["model_config"], ckpt["path"])
    state = dict(ckpt["model_state"])
    for key in ckpt.get("packed_keys", ()):
        state[key] = state[key] * PACKED_INIT_SCALE
    load_model_state(model, state, ckpt["path"])
    return ckpt


def _augment_flags(config: TrainConfig, data: ImageData) -> tuple[bool, int]:
    kind = data.augment if config.augment == "auto" else config.augment
    flip = kind in ("flip-crop", "flip")
    padding = config.crop_padding if kind in ("flip-crop", "crop") else 0
    return flip, padding


def _train_batch(data: ImageData, idx: torch.Tensor, dev: torch.device, generator: torch.Generator,
                 flip: bool, padding: int, fmt: torch.memory_format = torch.contiguous_format
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """Augmented, normalised float32 images (memory layout ``fmt``) and labels of ``idx``.

    Augmentation selects pixels of the raw uint8 images (a quarter of the bytes of float32); the
    batch is then normalised by ``ImageData.normalise`` straight into ``fmt``: the same floats as
    ``augment_batch(data.batch(...))``.
    """
    where = data.x_train.device
    index = idx.to(where)
    x = data.x_train[index].to(dev)
    if flip or padding:
        x = augment_batch(x, generator, flip=flip, padding=padding)
    return data.normalise(x, memory_format=fmt), data.y_train[index].to(dev)


@dataclass
class _Generators:
    """Every random stream of a run (all states go into the checkpoint)."""

    order: torch.Generator
    augment: torch.Generator
    errors: torch.Generator

    @classmethod
    def seeded(cls, seed: int, device: torch.device) -> _Generators:
        # Distinct streams from one seed; errors on the training device (no host transfers).
        return cls(torch.Generator().manual_seed(seed + 1), torch.Generator().manual_seed(seed + 2),
                   torch.Generator(device=device).manual_seed(seed + 3))

    def state(self) -> dict[str, torch.Tensor]:
        rng = {"order": self.order.get_state(), "augment": self.augment.get_state(),
               "errors": self.errors.get_state(), "torch_cpu": torch.get_rng_state()}
        if torch.cuda.is_available():
            for i, s in enumerate(torch.cuda.get_rng_state_all()):
                rng[f"torch_cuda_{i}"] = s
        return rng

    def restore(self, rng: dict[str, torch.Tensor]) -> None:
        self.order.set_state(rng["order"])
        self.augment.set_state(rng["augment"])
        self.errors.set_state(rng["errors"])
        torch.set_rng_state(rng["torch_cpu"])
        cuda = [rng[k] for k in sorted(k for k in rng if k.startswith("torch_cuda_"))]
        if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)


@torch.no_grad()
def eval_metrics(model: nn.Module, data: ImageData, *, split: str = "test", batch_size: int = 1000,
                 device: torch.device | str = "cpu", precision: str = "fp32") -> tuple[float, float]:
    """(mean cross-entropy loss, accuracy in [0, 1]) of ``model`` in eval mode on a split.

    ``precision`` "bf16" runs the forward pass under bfloat16 autocast (training's test passes);
    :func:`evaluate` uses "fp32" (see there why).
    """
    dev = torch.device(device)
    fmt = memory_format(model) if precision == "bf16" else torch.contiguous_format
    was_training = model.training
    model.eval()
    n = data.n_test if split == "test" else data.n_train
    loss_sum, correct = 0.0, 0
    for idx in iterate_batches(n, batch_size, shuffle=False):
        x, y = data.batch(split, idx, device)
        with autocast(precision, dev):
            logits = model(x.contiguous(memory_format=fmt)).float()
        loss_sum += float(F.cross_entropy(logits, y, reduction="sum"))
        correct += int((logits.argmax(1) == y).sum())
    model.train(was_training)
    return loss_sum / max(n, 1), correct / max(n, 1)


def write_metrics(out_dir: Path, history: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    """Rewrite ``metrics.csv`` and ``metrics.json`` (atomically) from the epoch history."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(METRIC_FIELDS), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    atomic_write_text(out_dir / "metrics.csv", buf.getvalue())
    atomic_write_text(out_dir / "metrics.json", json.dumps({**meta, "history": history}, indent=1))


def plot_learning_curve(path: Path, history: list[dict[str, Any]], title: str = "") -> None:
    """Loss and accuracy (train, test) against epoch, as a PNG (Agg canvas, no pyplot state)."""

    fig = Figure(figsize=(9, 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax_loss, ax_acc = fig.subplots(1, 2)
    epochs = [h["epoch"] for h in history]
    for ax, key, label in ((ax_loss, "loss", "cross-entropy loss"), (ax_acc, "acc", "accuracy (%)")):
        scale = 100.0 if key == "acc" else 1.0
        for split, style in (("train", "-"), ("test", "--")):
            ax.plot(epochs, [scale * h[f"{split}_{key}"] for h in history], style, marker=".", label=split)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    # One legend for both panels, below them: never over a curve.
    handles, labels = ax_loss.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, frameon=False)
    if title:
        fig.suptitle(title, fontsize=9)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    atomic_write_bytes(path, buf.getvalue())


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train`: the epoch history and where the files are."""

    out_dir: Path
    checkpoint: Path
    history: tuple[dict[str, Any], ...]
    epochs_run: int  # epochs trained by this call (0 when a resume found the run complete)

    @property
    def test_acc(self) -> float:
        return float(self.history[-1]["test_acc"]) if self.history else float("nan")


def _nested_tuple(x: Any) -> Any:
    """Nested lists of numbers -> nested tuples of floats (configs read from JSON compare equal)."""
    return tuple(_nested_tuple(v) for v in x) if isinstance(x, list) else float(x)


def _short(value: Any, limit: int = 60) -> str:
    """repr of a config value, cut to ``limit`` characters (read rates are long tables)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _check_resume(ckpt: dict[str, Any], model: nn.Module, data: ImageData, config: TrainConfig) -> None:
    where = ckpt["path"]
    check_same_architecture(getattr(model, "config", {}), ckpt["model_config"], where)
    if ckpt["data"] and ckpt["data"] != json.loads(json.dumps(data.describe())):
        raise InputError(f"checkpoint {where} was trained on other data: {ckpt['data'].get('name')} "
                         f"with {ckpt['data'].get('n_train')} training images")
    # Keys a checkpoint from an older version lacks take their defaults (the behaviour it had).
    old, new = {**TrainConfig().to_dict(), **ckpt["train_config"]}, config.to_dict()
    diffs = sorted(k for k in set(old) | set(new) if k not in _RESUMABLE_CHANGES and old.get(k) != new.get(k))
    if diffs:
        text = ", ".join(f"{k}={_short(new.get(k))} (checkpoint: {_short(old.get(k))})" for k in diffs)
        raise InputError(f"resume of {where} with another recipe: {text}")


def train(model: nn.Module, data: ImageData, config: TrainConfig, out_dir: str | os.PathLike, *,
          device: str | torch.device = "cpu", progress: bool = True, resume: bool = False) -> TrainResult:
    """Train ``model`` on ``data`` with ``config``, checkpointing every epoch into ``out_dir``.

    Args:
        model: a network with a ``config`` dict (``build_model(**config)`` rebuilds it); build it
            with :func:`init_model` for a reproducible initialisation.
        data: the data set (uint8 images in memory).
        config: the recipe.
        out_dir: folder for checkpoint.pt, metrics.csv/json and learning_curve.png.
        device: "cpu", "cuda", "auto" or a torch.device.
        progress: show tqdm bars (epochs and batches).
        resume: continue from ``out_dir/checkpoint.pt`` (model, optimiser, schedule and every
            random stream restored); without it an existing checkpoint there is an error.
    Returns:
        :class:`TrainResult`.
    """
    out = Path(out_dir)
    dev = resolve_device(device) if isinstance(device, str) else device
    ckpt_path = out / CHECKPOINT_NAME
    if ckpt_path.exists() and not resume:
        raise InputError(f"{ckpt_path} exists: pass --resume to continue that run or choose another --out")
    if resume and not ckpt_path.exists():
        raise InputError(f"cannot resume: {ckpt_path} does not exist")
    out.mkdir(parents=True, exist_ok=True)

    precision = resolve_precision(config.precision, dev)
    fmt = memory_format(model)
    model.to(dev, memory_format=fmt)  # parameters stay float32 in every precision
    if dev.type == "cuda":
        data = data.to(dev)  # uint8 images on the GPU (CIFAR-10: 180 MB): no per-batch copies
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=config.betas, eps=config.eps,
                                  weight_decay=0.0)
    gens = _Generators.seeded(config.seed, dev)
    history: list[dict[str, Any]] = []
    start_epoch = 0
    if resume:
        ckpt = load_checkpoint(ckpt_path)
        if config.init is None:  # a resume need not repeat --init: the checkpoint holds the weights
            config = dataclasses.replace(config, init=ckpt["train_config"].get("init"))
        _check_resume(ckpt, model, data, config)
        load_model_state(model, ckpt["model_state"], str(ckpt_path))
        model.to(dev, memory_format=fmt)
        optimizer.load_state_dict(ckpt["optimizer_state"])
        gens.restore(ckpt["rng"])
        history = list(ckpt["history"])
        start_epoch = int(ckpt["epoch"])
    elif config.init is not None:
        start_from(model, config.init, data)
        model.to(dev, memory_format=fmt)
    meta = {"model_config": getattr(model, "config", {}), "train_config": config.to_dict(),
            "data": data.describe(), "device": str(dev), "precision": precision}
    if config.error_model is not None:
        set_error_model(model, config.error_model, config.ber, config.error_mode, generator=gens.errors)
    if config.read_rates is not None:
        layout = AmplifierLayout(*config.read_layout) if config.read_layout is not None else None
        set_read_errors(model, config.read_rates, generator=gens.errors, layout=layout)

    flip, padding = _augment_flags(config, data)
    n = data.n_train
    per_epoch = num_batches(n, config.batch_size)
    if config.max_batches is not None:
        per_epoch = min(per_epoch, config.max_batches)
    title = f"{meta['model_config'].get('name', 'model')} {data.name}"
    epoch_bar = tqdm(range(start_epoch, config.epochs), desc="epochs", disable=not progress,
                     initial=start_epoch, total=config.epochs, dynamic_ncols=True)
    for epoch in epoch_bar:
        t0 = time.perf_counter()
        cycle, cycle_start, cycle_len = cycle_of(epoch, config.cycles)
        if config.reset_moments and epoch == cycle_start and epoch > 0:
            optimizer.state.clear()  # warm restart: Adam moments and step counts start afresh
        wd = weight_decay(cycle_len, n, config)
        for group in optimizer.param_groups:
            group["weight_decay"] = wd
        model.train()
        loss_sum = torch.zeros((), device=dev)
        correct = torch.zeros((), device=dev, dtype=torch.long)
        seen = 0
        batches = iterate_batches(n, config.batch_size, generator=gens.order)
        bar = tqdm(batches, total=per_epoch, desc=f"epoch {epoch + 1}", leave=False,
                   disable=not progress, dynamic_ncols=True)
        lr = config.lr
        for b, idx in enumerate(bar):
            if b >= per_epoch:
                break
            lr = learning_rate(epoch + b / per_epoch, config)
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = _train_batch(data, idx, dev, gens.augment, flip, padding, fmt)
            with autocast(precision, dev):
                logits = model(x)
                loss = F.cross_entropy(logits, y)  # autocast computes it in float32
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            # Accumulate on the device: no host sync per batch.
            loss_sum += loss.detach() * len(idx)
            correct += (logits.detach().argmax(1) == y).sum()
            seen += len(idx)
        bar.close()
        train_loss, train_acc = float(loss_sum) / seen, int(correct) / seen  # one host sync
        train_time = time.perf_counter() - t0
        test_loss, test_acc = eval_metrics(model, data, batch_size=config.eval_batch_size, device=dev,
                                           precision=precision)
        row = {"epoch": epoch + 1, "cycle": cycle, "lr": lr, "weight_decay": wd,
               "train_loss": train_loss, "train_acc": train_acc,
               "test_loss": test_loss, "test_acc": test_acc, "time_s": time.perf_counter() - t0,
               "train_time_s": train_time, "precision": precision}
        history.append(row)
        # Checkpoint first: the metric files can always be rebuilt from its history.
        save_checkpoint(ckpt_path, model_config=meta["model_config"], model_state=model.state_dict(),
                        epoch=epoch + 1, train_config=config.to_dict(), data=data.describe(),
                        history=history, optimizer_state=optimizer.state_dict(),
                        scheduler_state={"epoch": epoch + 1, "cycle": cycle, "lr": lr, "weight_decay": wd},
                        rng=gens.state())
        write_metrics(out, history, meta)
        plot_learning_curve(out / "learning_curve.png", history, title)
        epoch_bar.set_postfix(train_acc=f"{row['train_acc']:.3f}", test_acc=f"{test_acc:.3f}")
    epoch_bar.close()
    if history and start_epoch >= config.epochs:  # nothing to do; keep files consistent
        write_metrics(out, history, meta)
    return TrainResult(out, ckpt_path, tuple(history), max(0, config.epochs - start_epoch))


# --------------------------------------------------------------------------------------------
# Evaluation under weight errors
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EvalResult:
    """Test accuracy without errors and over ``repeats`` error draws (fractions in [0, 1])."""

    accuracy: float  # no injected errors
    mean: float  # mean over the error draws (== accuracy when ber is 0 or no error model)
    std: float  # sample standard deviation over the draws (0 for one draw)
    accuracies: tuple[float, ...]  # one per draw
    ber: float
    error_model: str | None
    error_mode: str
    repeats: int
    n_test: int

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["accuracies"] = list(self.accuracies)
        return d


def evaluate(checkpoint: str | os.PathLike | dict[str, Any] | nn.Module, data: ImageData, *,
             ber: float = 0.0, error_model: str | None = "sign-flip", repeats: int = 1,
             error_mode: str = "per-forward", seed: int = 0, device: str | torch.device = "cpu",
             batch_size: int = 1000) -> EvalResult:
    """Test accuracy of a trained network, clean and under ``repeats`` independent error draws.

    Args:
        checkpoint: a checkpoint path (file or run folder), a packed network (``.packed`` path or
            ``pretrained:NAME``), a loaded checkpoint dict, or a model.
        data: test data (its shape and class count must match the network).
        ber: bit error rate injected into the quantized weights.
        error_model: "sign-flip" or "ternary" (None: no errors).
        repeats: number of independent error draws K (each a full test pass).
        error_mode: "per-forward" (new errors every batch) or "fixed" (one draw per pass: a chip).
        seed: seeds the error draws.
    """
    if repeats < 1:
        raise InputError(f"repeats={repeats} is not allowed: must be >= 1")
    dev = resolve_device(device) if isinstance(device, str) else device
    if isinstance(checkpoint, nn.Module):
        model = checkpoint
    else:
        ckpt = checkpoint if isinstance(checkpoint, dict) else load_network(checkpoint)
        model = model_from_checkpoint(ckpt)
    cfg = getattr(model, "config", {})
    want = {"in_channels": data.in_channels, "image_size": data.image_size, "num_classes": data.num_classes}
    bad = {k: (cfg[k], v) for k, v in want.items() if k in cfg and cfg[k] != v}
    if bad:
        text = ", ".join(f"{k}={v} (network: {m})" for k, (m, v) in bad.items())
        raise InputError(f"data {data.name} does not fit the network: {text}")
    # Always float32, contiguous layout, whatever the training precision: in bfloat16 a
    # convolution's output keeps 8 significant bits, so integer pre-activations above 256 (any
    # hidden layer with fan-in > 256, i.e. all of the VGG's) are rounded before the batch norm and
    # the signs that follow; some decisions then differ from float32 (measured in docs/benchmarks.md),
    # and the evaluation must not depend on the machine it runs on.
    model.to(dev, memory_format=torch.contiguous_format).eval()
    if dev.type == "cuda":
        data = data.to(dev)
    set_error_model(model, None)
    _, clean = eval_metrics(model, data, batch_size=batch_size, device=dev)
    if error_model is None or ber == 0.0:
        accs = [clean] * repeats
    else:
        gen = torch.Generator(device=dev).manual_seed(seed)
        accs = []
        for _ in range(repeats):
            set_error_model(model, error_model, ber, error_mode, generator=gen)  # fresh draws
            accs.append(eval_metrics(model, data, batch_size=batch_size, device=dev)[1])
        set_error_model(model, None)
    std = statistics.stdev(accs) if len(accs) > 1 else 0.0
    return EvalResult(clean, statistics.fmean(accs), std, tuple(accs), float(ber), error_model,
                      error_mode, repeats, data.n_test)


__all__ = [
    "PACKED_INIT_SCALE",
    "PRECISIONS",
    "EvalResult",
    "TrainConfig",
    "TrainResult",
    "autocast",
    "cpu_has_native_bf16",
    "cycle_note",
    "cycle_of",
    "eval_metrics",
    "evaluate",
    "init_model",
    "learning_rate",
    "memory_format",
    "plot_learning_curve",
    "resolve_device",
    "resolve_precision",
    "start_from",
    "train",
    "weight_decay",
    "write_metrics",
]


def train_network(model_config: dict[str, Any], data: ImageData, config: TrainConfig, out_dir: str | os.PathLike, *,
                  device: torch.device | str = "cpu", progress: bool = True, resume: bool = False,
                  metadata: dict[str, Any] | None = None) -> tuple[TrainResult, Path | None]:
    """``ternary-rram train``: a model of ``model_config`` initialised from ``config.seed``, trained into
    ``out_dir`` (:func:`train`), and once every epoch is done packed as ``out_dir/model.packed`` with its
    float32 test accuracy, the data set, the training configuration and ``metadata`` (e.g. the command
    and the data copy). Returns (result, packed file or None while epochs remain)."""
    model = init_model(model_config, config.seed)
    result = train(model, data, config, out_dir, device=device, progress=progress, resume=resume)
    if not (result.history and int(result.history[-1]["epoch"]) >= config.epochs):
        return result, None
    acc = evaluate(model, data, error_model=None, device=device, batch_size=config.eval_batch_size).accuracy
    meta = dict(metadata or {})
    meta = {"command": meta.pop("command", "ternary-rram train (called from Python)"), "test_accuracy": acc,
            "test_accuracy_precision": "fp32", "epoch": config.epochs,
            "data": {**data.describe(), **meta.pop("data", {})}, "train_config": config.to_dict(),
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **meta}
    return result, save_packed(Path(out_dir) / PACKED_NAME, model, metadata=meta)


def evaluate_checkpoint(checkpoint: str | os.PathLike, *, data: str | None = None,
                        data_dir: str | os.PathLike | None = None, limit: int | None = None, ber: float = 0.0,
                        error_model: str | None = None, repeats: int = 1, error_mode: str = "per-forward",
                        seed: int = 0, device: str | torch.device = "cpu",
                        batch_size: int = 1000) -> tuple[dict[str, Any], ImageData, EvalResult, str]:
    """``ternary-rram evaluate``: the network of ``checkpoint`` (a checkpoint, packed file or
    ``pretrained:NAME``) on the test split of ``data`` (default: the data set the checkpoint names),
    clean and under ``repeats`` draws of ``error_model`` errors at rate ``ber`` (default: "ternary" for
    ternary weights, else "sign-flip"). Returns (checkpoint, data, result, error model used)."""
    ckpt = load_network(checkpoint)
    name = data or ckpt["data"].get("name")
    if name is None:
        raise InputError(f"checkpoint {ckpt['path']} does not say its data set: pass --data")
    if name not in DATASETS:
        raise InputError(f"--data {name!r} is not allowed: must be one of {', '.join(DATASETS)}")
    kind = error_model or ("ternary" if str(ckpt["model_config"].get("weights")) == "ternary" else "sign-flip")
    if kind not in ERROR_KINDS:
        raise InputError(f"--error-model {kind!r} is not allowed: must be one of {', '.join(ERROR_KINDS)}")
    ds = load_dataset(name, data_dir, limit=limit)
    check_data_fits(ckpt, ds)
    result = evaluate(ckpt, ds, ber=ber, error_model=kind, repeats=repeats, error_mode=error_mode, seed=seed,
                      device=device, batch_size=batch_size)
    return ckpt, ds, result, kind
