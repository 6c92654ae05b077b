"""Packed networks: trained binary/ternary networks as compact files, and the pretrained registry.

A packed file holds what inference needs and nothing else: the quantized weights at 2 bits each
(four per byte), the batch-norm parameters and running statistics, the model configuration, and
metadata (training command, test accuracy, the data it was trained on). It is a ``torch.save``
dict of plain containers, read back with ``weights_only=True`` (loading never runs code)::

    {"format": "ternary-rram-packed", "version": 1,
     "model_config": str (JSON; build_model(**config) rebuilds the network),
     "metadata": str (JSON),
     "packed": {state key of a quantized weight: uint8 (ceil(n / 4),) codes},
     "shapes": {same key: [int, ...]},
     "state": {every other state_dict entry: tensor (batch norms; float weights if any)}}

Codes: 0 -> 0, 1 -> +1, 2 -> -1 (3 is invalid), weight ``i`` in bits ``2 (i % 4)`` of byte
``i // 4``. Loading sets each latent weight to its quantized value (+-1 or 0), which every weight
quantizer maps to itself, so the loaded network computes exactly what the packed one did.

Names: :func:`pretrained` and the CLI's ``pretrained:NAME`` look in the package folder
``ternary_rram/nn/pretrained/NAME.packed``. Only networks trained to convergence are shipped there.
"""

from __future__ import annotations

import io
import json
import math
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ternary_rram.errors import InputError
from ternary_rram.fileio import atomic_write_bytes, check_output_file
from ternary_rram.nn.checkpoint import (
    canonical_json,
    check_same_architecture,
    load_checkpoint,
    load_model_state,
    model_from_checkpoint,
    torch_load_safely,
)
from ternary_rram.nn.layers import quantized_layers

FORMAT = "ternary-rram-packed"
VERSION = 1
SUFFIX = ".packed"
PACKED_NAME = "model.packed"  # what `train` writes into its output folder
PREFIX = "pretrained:"
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
#: The converged CIFAR-10 VGGs (width 32, binary activations, all 50,000 images, 100 epochs; the
#: training command is in each file's metadata) shipped in PRETRAINED_DIR, by weight kind. The demo's
#: CIFAR-10 variant reads them and ``reproduce --quick`` judges its network claims on them.
SHIPPED_CIFAR10: dict[str, str] = {"binary": "cifar10-vgg32-binary", "ternary": "cifar10-vgg32-ternary"}

__all__ = ["FORMAT", "PACKED_NAME", "PREFIX", "PRETRAINED_DIR", "SHIPPED_CIFAR10", "SUFFIX", "load_network", "load_packed",
           "pack_codes", "pretrained", "save_packed", "shipped_networks", "shipped_path", "unpack_codes"]


# --------------------------------------------------------------------------------------------
# 2-bit codes
# --------------------------------------------------------------------------------------------

def pack_codes(w: Tensor) -> Tensor:
    """Values in {-1, 0, +1} (any shape) -> uint8 (ceil(n / 4),) 2-bit codes, row-major order."""
    values = torch.as_tensor(w).detach().reshape(-1).cpu()
    if not bool(((values == -1) | (values == 0) | (values == 1)).all()):
        raise InputError("weights to pack are not allowed: values must lie in {-1, 0, +1}")
    flat = values.to(torch.int64)
    codes = torch.where(flat < 0, 2, flat)  # -1 -> 2, 0 -> 0, +1 -> 1
    pad = (-codes.numel()) % 4
    codes = torch.cat([codes, codes.new_zeros(pad)]).reshape(-1, 4)
    return (codes << torch.tensor([0, 2, 4, 6])).sum(1).to(torch.uint8)


def unpack_codes(packed: Tensor, shape: tuple[int, ...] | list[int]) -> Tensor:
    """Inverse of :func:`pack_codes`: float32 values in {-1, 0, +1} of ``shape``."""
    n = math.prod(shape)
    if packed.dtype != torch.uint8 or packed.dim() != 1 or packed.numel() != -(-n // 4):
        raise InputError(f"packed weights of {packed.numel()} bytes ({packed.dtype}) do not hold "
                         f"{n} weights of shape {list(shape)}")
    codes = (packed.to(torch.int64).unsqueeze(1) >> torch.tensor([0, 2, 4, 6])) & 3
    codes = codes.reshape(-1)[:n]
    if bool((codes == 3).any()):
        raise InputError("packed weights hold the invalid code 3")
    values = torch.where(codes == 2, -1, codes).to(torch.float32)
    return values.reshape(tuple(shape))


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------

def save_packed(path: str | os.PathLike, model: nn.Module, *, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` (a network of ``ternary_rram.nn.models``) as a packed file, atomically.

    Quantized weights go in as 2-bit codes of their quantized values; every other state entry
    (batch-norm parameters and statistics, float-weight layers) as it is, on the CPU. ``metadata``
    must be plain JSON (e.g. ``command``, ``test_accuracy``, ``data``).
    """
    config = getattr(model, "config", None)
    if not isinstance(config, dict):
        raise InputError(f"model={type(model).__name__} is not allowed: must carry a config "
                         "(a network of ternary_rram.nn.models)")
    packed: dict[str, Tensor] = {}
    shapes: dict[str, list[int]] = {}
    for name, layer in quantized_layers(model):
        if layer.weight_quantizer.is_quantized:
            key = f"{name}.weight"
            packed[key] = pack_codes(layer.quantized_weight_int8())
            shapes[key] = list(layer.weight.shape)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items() if k not in packed}
    try:
        meta = json.dumps(metadata or {})
    except (TypeError, ValueError) as exc:
        raise InputError(f"metadata is not allowed: must be plain JSON ({exc})") from None
    obj = {"format": FORMAT, "version": VERSION, "model_config": canonical_json(config),
           "metadata": meta, "packed": packed, "shapes": shapes, "state": state}
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    path = Path(path)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def load_packed(path: str | os.PathLike) -> dict[str, Any]:
    """Read a packed file into a checkpoint-like dict (what ``model_from_checkpoint`` takes).

    Returns keys ``model_config``, ``model_state`` (quantized weights as float +-1/0), ``metadata``,
    ``data`` (the metadata's data description), ``epoch``, ``history`` ([]), ``train_config``,
    ``path``, ``format`` and ``packed_keys`` (the state keys stored as 2-bit codes). InputError (one
    line) when the file is missing, unreadable or not ours.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"packed network {path} does not exist")
    obj = torch_load_safely(path, lambda first: InputError(f"packed network {path} cannot be read safely: "
                                                           f"{first[:200]}"))
    keys = ("format", "version", "model_config", "metadata", "packed", "shapes", "state")
    if not isinstance(obj, dict) or obj.get("format") != FORMAT or any(k not in obj for k in keys):
        raise InputError(f"{path} is not a ternary-rram packed network")
    if obj["version"] != VERSION:
        raise InputError(f"packed network {path} has format version {obj['version']}, this tool reads {VERSION}")
    try:
        config, metadata = json.loads(obj["model_config"]), json.loads(obj["metadata"])
    except (TypeError, json.JSONDecodeError):
        raise InputError(f"packed network {path} has a malformed configuration or metadata") from None
    state = dict(obj["state"])
    for key, codes in obj["packed"].items():
        if key not in obj["shapes"]:
            raise InputError(f"packed network {path} has no shape for {key}")
        try:
            state[key] = unpack_codes(codes, obj["shapes"][key])
        except InputError as exc:
            raise InputError(f"packed network {path}, {key}: {exc}") from None
    data = metadata.get("data") if isinstance(metadata.get("data"), dict) else {}
    ckpt = {"format": FORMAT, "model_config": config, "model_state": state, "metadata": metadata,
            "data": data, "epoch": int(metadata.get("epoch", 0) or 0), "history": [],
            "train_config": metadata.get("train_config") or {}, "path": str(path),
            "packed_keys": sorted(obj["packed"])}
    # A configuration that does not fit its own tensors is a damaged file: say so here, before any
    # data set is compared with it.

    model_from_checkpoint(ckpt)
    return ckpt


def load_into(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load a packed file into an existing ``model``; one-line InputError if the architecture differs."""
    ckpt = load_packed(path)
    check_same_architecture(getattr(model, "config", {}), ckpt["model_config"], ckpt["path"])
    load_model_state(model, ckpt["model_state"], ckpt["path"])
    return model


# --------------------------------------------------------------------------------------------
# Registry and resolution
# --------------------------------------------------------------------------------------------

def shipped_networks() -> list[str]:
    """Names of the packed networks shipped with the package (sorted; may be empty)."""
    if not PRETRAINED_DIR.is_dir():
        return []
    return sorted(p.stem for p in PRETRAINED_DIR.glob(f"*{SUFFIX}"))


def shipped_path(name: str) -> Path:
    """The file of a shipped network (InputError listing the shipped names when ``name`` is not one)."""
    names = shipped_networks()
    if name not in names:
        listed = ", ".join(names) if names else "none yet (only networks trained to convergence are shipped)"
        raise InputError(f"pretrained network {name!r} does not exist: shipped networks: {listed}")
    return PRETRAINED_DIR / f"{name}{SUFFIX}"


def load_network(spec: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint-like dict from ``pretrained:NAME``, a ``.packed`` file, or a training checkpoint
    (file or run folder; see ``checkpoint.load_checkpoint``)."""
    text = str(spec)
    if text.startswith(PREFIX):
        return load_packed(shipped_path(text[len(PREFIX):]))
    if text.endswith(SUFFIX):
        return load_packed(text)
    return load_checkpoint(spec)


def pretrained(name_or_path: str | os.PathLike) -> nn.Module:
    """A shipped network by name (``ternary_rram.nn.packed.shipped_networks()``) or a packed file
    by path, rebuilt and in eval mode; its metadata is in ``model.metadata``."""

    text = str(name_or_path)
    if text.startswith(PREFIX):
        text = text[len(PREFIX):]
    looks_like_path = text.endswith(SUFFIX) or os.sep in text or Path(text).is_file()
    ckpt = load_packed(text) if looks_like_path else load_packed(shipped_path(text))
    model = model_from_checkpoint(ckpt)
    model.metadata = ckpt["metadata"]
    return model.eval()


def pack_checkpoint(checkpoint: str | os.PathLike,
                    out: str | os.PathLike | None = None) -> tuple[Path, dict[str, Any], str]:
    """``ternary-rram pack``: the network of a training checkpoint as a packed file (default ``model.packed``
    beside the checkpoint), with its last test accuracy, data set and training configuration.

    Returns (the file written, its metadata, the checkpoint read). ``out`` must end in :data:`SUFFIX`."""
    ckpt = load_checkpoint(checkpoint)
    path = Path(out) if out is not None else Path(ckpt["path"]).parent / PACKED_NAME
    if not str(path).endswith(SUFFIX):
        raise InputError(f"--out {str(path)!r} is not allowed: must end in {SUFFIX}")
    check_output_file(path, "--out")
    model = model_from_checkpoint(ckpt)
    last = ckpt["history"][-1] if ckpt["history"] else {}
    metadata = {"command": f"not recorded (packed by `ternary-rram pack` from {ckpt['path']})",
                "test_accuracy": last.get("test_acc"),
                "test_accuracy_precision": last.get("precision", "fp32"),
                "epoch": ckpt["epoch"], "data": ckpt["data"], "train_config": ckpt["train_config"]}
    return save_packed(path, model, metadata=metadata), metadata, str(ckpt["path"])
