"""Checkpoints: atomic writes of plain containers and tensors, read back with ``weights_only=True``.

A checkpoint is a dict (nothing else is pickled, so loading never runs code from the file)::

    {"format": "ternary-rram-checkpoint", "version": 1,
     "model_config": str (JSON, ``build_model(**config)`` rebuilds the network),
     "train_config": str (JSON of TrainConfig), "data": str (JSON of ImageData.describe()),
     "epoch": int (epochs completed), "history": str (JSON list of per-epoch metrics),
     "model_state": state_dict, "optimizer_state": dict, "scheduler_state": dict,
     "rng": {name: uint8 tensor}}

Writes go to a temporary file in the same folder, are fsync'ed, then ``os.replace``d over the
target, so a kill leaves either the old or the new checkpoint, never half of one.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ternary_rram.errors import InputError
from ternary_rram.fileio import atomic_write_bytes, atomic_write_text
from ternary_rram.nn.models import build_model

FORMAT = "ternary-rram-checkpoint"
VERSION = 1
CHECKPOINT_NAME = "checkpoint.pt"
_REQUIRED = ("format", "version", "model_config", "epoch", "model_state")


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys (tuples become lists): equal configs give equal strings."""
    return json.dumps(obj, sort_keys=True)


def save_checkpoint(path: str | os.PathLike, *, model_config: dict[str, Any],
                    model_state: dict[str, torch.Tensor], epoch: int,
                    train_config: dict[str, Any] | None = None, data: dict[str, Any] | None = None,
                    history: list[dict[str, Any]] | None = None,
                    optimizer_state: dict[str, Any] | None = None,
                    scheduler_state: dict[str, Any] | None = None,
                    rng: dict[str, torch.Tensor] | None = None) -> Path:
    """Write a checkpoint atomically; tensors are moved to CPU first. Returns the path."""
    path = Path(path)
    obj = {
        "format": FORMAT,
        "version": VERSION,
        "model_config": canonical_json(model_config),
        "train_config": canonical_json(train_config or {}),
        "data": canonical_json(data or {}),
        "history": json.dumps(history or []),
        "epoch": int(epoch),
        "model_state": {k: v.detach().cpu() for k, v in model_state.items()},
        "optimizer_state": _to_cpu(optimizer_state or {}),
        "scheduler_state": dict(scheduler_state or {}),
        "rng": {k: v.cpu() for k, v in (rng or {}).items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def _to_cpu(obj: Any) -> Any:
    """Copy of nested dicts/lists with every tensor on the CPU (optimiser state may live on CUDA)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_cpu(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_to_cpu(v) for v in obj)
    return obj


def resolve_checkpoint_path(path: str | os.PathLike) -> Path:
    """A checkpoint file, or a run folder holding ``checkpoint.pt``."""
    path = Path(path)
    return path / CHECKPOINT_NAME if path.is_dir() else path


#: What ``torch.load(weights_only=True)`` raises on a damaged, truncated or foreign file.
TORCH_LOAD_ERRORS: tuple[type[BaseException], ...] = (
    pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, AttributeError,
    TypeError, KeyError, IndexError, MemoryError)


def torch_load_safely(path: str | os.PathLike, refuse: Callable[[str], InputError]) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU; on failure ``refuse(first line of the
    error)`` is raised (one line, no traceback). Warnings torch prints before failing are dropped."""
    try:
        with warnings.catch_warnings():  # a damaged file may make torch warn before it fails: one line only
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except TORCH_LOAD_ERRORS as exc:
        raise refuse((str(exc).strip().splitlines() or [type(exc).__name__])[0]) from None


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)``; JSON fields are decoded.

    Returns the dict with ``model_config``, ``train_config``, ``data`` and ``history`` parsed.
    Raises InputError (one line naming the file) when it is missing, truncated or not ours.
    """
    path = resolve_checkpoint_path(path)
    if not path.is_file():
        raise InputError(f"checkpoint {path} does not exist")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise InputError(f"checkpoint {path} cannot be read: {exc.strerror}") from None
    if magic[:4] != b"PK\x03\x04" and magic[:1] != b"\x80":  # torch's zip format, or a legacy pickle
        raise InputError(f"checkpoint {path} is not a ternary-rram checkpoint (not a torch file)")
    obj = torch_load_safely(path, lambda first: InputError(f"checkpoint {path} cannot be read safely: {first[:200]}"))
    if not isinstance(obj, dict) or obj.get("format") != FORMAT or any(k not in obj for k in _REQUIRED):
        raise InputError(f"checkpoint {path} is not a ternary-rram checkpoint")
    if obj["version"] != VERSION:
        raise InputError(f"checkpoint {path} has format version {obj['version']}, this tool reads {VERSION}")
    try:
        for key in ("model_config", "train_config", "data", "history"):
            obj[key] = json.loads(obj.get(key) or ("[]" if key == "history" else "{}"))
    except (TypeError, json.JSONDecodeError, RecursionError):
        raise InputError(f"checkpoint {path} has a malformed {key} entry") from None
    for key, kind in (("model_config", dict), ("train_config", dict), ("data", dict), ("history", list)):
        if not isinstance(obj[key], kind):
            raise InputError(f"checkpoint {path} has a malformed {key} entry: a JSON "
                             f"{'object' if kind is dict else 'list'} is expected, found {type(obj[key]).__name__}")
    if isinstance(obj["epoch"], bool) or not isinstance(obj["epoch"], int) or obj["epoch"] < 0:
        raise InputError(f"checkpoint {path} has a malformed epoch entry: {obj['epoch']!r}")
    if not isinstance(obj["model_state"], dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj["model_state"].items()):
        raise InputError(f"checkpoint {path} has a malformed model_state entry: must map names to tensors")
    obj["path"] = str(path)
    return obj


def check_data_fits(ckpt: dict[str, Any], data: Any) -> None:
    """InputError when a data set's images or classes do not fit the checkpoint's network.

    ``data``: an ``ImageData`` (in_channels, image_size, num_classes). Compares with the checkpoint's
    model configuration where it states them (e.g. MNIST 1x28x28 on a digits 1x8x8 network).
    """
    cfg = ckpt.get("model_config") or {}
    diffs = []
    for key in ("in_channels", "image_size", "num_classes"):
        want = cfg.get(key)
        have = getattr(data, key, None)
        if isinstance(want, int) and isinstance(have, int) and want != have:
            diffs.append(f"{key} {have} (network: {want})")
    if diffs:
        raise InputError(f"data {getattr(data, 'name', '?')!r} is not allowed with checkpoint {ckpt.get('path')}: "
                         f"{', '.join(diffs)}; pass the data set the network was trained on")


def check_same_architecture(expected: dict[str, Any], found: dict[str, Any], where: str) -> None:
    """InputError listing the model-config keys that differ (after a JSON round trip)."""
    a, b = json.loads(canonical_json(expected)), json.loads(canonical_json(found))
    if a == b:
        return
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    diffs = ", ".join(f"{k}={b.get(k)!r} (expected {a.get(k)!r})" for k in keys)
    raise InputError(f"checkpoint {where} holds another architecture: {diffs}")


def model_from_checkpoint(ckpt: dict[str, Any]) -> nn.Module:
    """Rebuild the network of a loaded checkpoint and load its weights (on the CPU)."""

    try:
        model = build_model(**ckpt["model_config"])
    except (TypeError, ValueError) as exc:
        raise InputError(f"checkpoint {ckpt.get('path')} has a model configuration this version "
                         f"cannot build: {str(exc).splitlines()[0] if str(exc) else exc!r}") from None
    load_model_state(model, ckpt["model_state"], ckpt.get("path", "?"))
    return model


def load_model_state(model: nn.Module, state: dict[str, torch.Tensor], where: str) -> None:
    """``model.load_state_dict(state)`` with a one-line InputError when keys or shapes differ."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    shapes = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    if missing or extra or shapes:
        parts = [f"{n} {', '.join(v[:3])}{' ...' if len(v) > 3 else ''}"
                 for n, v in (("missing", missing), ("unexpected", extra), ("shape differs:", shapes)) if v]
        raise InputError(f"checkpoint {where} holds another architecture: {'; '.join(parts)}")
    model.load_state_dict(state)


__all__ = [
    "CHECKPOINT_NAME", "atomic_write_bytes", "atomic_write_text", "canonical_json",
    "check_data_fits", "check_same_architecture", "load_checkpoint", "load_model_state", "model_from_checkpoint",
    "resolve_checkpoint_path", "save_checkpoint",
]
