"""Plain PyTorch ``state_dict`` files into the project's models, with a key map for other code bases.

A network trained by other code reaches ``ternary-rram deploy`` as ``torch.save(model.state_dict())``:

* :func:`load_state_dict_file` reads it with ``weights_only=True`` (tensors only, no code runs);
* :func:`read_key_map` / :func:`map_keys` rename its keys to ours (a JSON file: an object of exact
  names, or a list of ``[regex, replacement]`` pairs; ``null`` drops a key; docs/user-guide.md);
* :func:`load_plain_state` checks it against a model (every key present, none extra, every shape
  equal, float weights only where a threshold says how to ternarize them) and loads it;
* :func:`model_from_state_dict` does all of it for a model of :mod:`ternary_rram.nn.models`.

Every refusal is one :class:`~ternary_rram.errors.InputError` line, raised before anything is built
from the file.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from ternary_rram.errors import InputError
from ternary_rram.fileio import read_text_bounded
from ternary_rram.nn.checkpoint import torch_load_safely
from ternary_rram.nn.layers import quantized_layers
from ternary_rram.nn.models import QuantizedNet, build_model

__all__ = [
    "OPTIONAL_SUFFIXES",
    "KeyMap",
    "load_plain_state",
    "load_state_dict_file",
    "map_keys",
    "model_from_state_dict",
    "read_key_map",
]

#: Keys a state_dict may leave out: batch-norm step counters (not used in evaluation).
OPTIONAL_SUFFIXES: tuple[str, ...] = (".num_batches_tracked",)
#: Largest key-map file read, bytes. [D] chosen: a key map lists a few hundred names at most.
KEY_MAP_MAX_BYTES = 1_000_000
_SHOWN = 4  # names listed in a missing/extra message before "(+N more)"


def _names(keys: list[str]) -> str:
    more = f" (+{len(keys) - _SHOWN} more)" if len(keys) > _SHOWN else ""
    return ", ".join(keys[:_SHOWN]) + more


def load_state_dict_file(path: str | os.PathLike) -> dict[str, Tensor]:
    """``{name: tensor}`` saved by ``torch.save(model.state_dict(), path)``, read with
    ``weights_only=True``. :class:`InputError` for an unreadable file or anything but str -> tensor."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"state_dict={str(p)!r} is not allowed: no such file")
    obj = torch_load_safely(p, lambda first: InputError(f"state_dict={str(p)!r} is not allowed: not a PyTorch "
                                                        f"weights file ({first[:160]})"))
    if not isinstance(obj, dict) or not obj:
        raise InputError(f"state_dict={str(p)!r} is not allowed: must hold a non-empty mapping of parameter "
                         f"names to tensors (torch.save(model.state_dict(), ...)), found {type(obj).__name__}")
    for k, v in obj.items():
        if not isinstance(k, str) or not isinstance(v, Tensor):
            raise InputError(f"state_dict={str(p)!r} is not allowed: key {k!r} holds a {type(v).__name__}, "
                             "not a tensor (save model.state_dict(), not a training checkpoint)")
    return dict(obj)


@dataclass(frozen=True)
class KeyMap:
    """How their key names become ours.

    Attributes:
        exact: their name -> our name (None: drop the key); names not listed are kept.
        patterns: (compiled regex, replacement or None) pairs applied in order with ``re.sub``;
            None drops every key the regex finds.
    """

    exact: dict[str, str | None]
    patterns: tuple[tuple[re.Pattern[str], str | None], ...] = ()

    def rename(self, key: str) -> str | None:
        """Our name for their ``key`` (None: dropped)."""
        if key in self.exact:
            return self.exact[key]
        out: str | None = key
        for rx, repl in self.patterns:
            if out is None:
                break
            if rx.search(out):
                out = None if repl is None else rx.sub(repl, out)
        return out


def read_key_map(path: str | os.PathLike) -> KeyMap:
    """Read a key map JSON file: ``{"theirs": "ours" | null, ...}`` or ``[["regex", "repl" | null], ...]``."""
    p = Path(path)
    text = read_text_bounded(p, KEY_MAP_MAX_BYTES, "key-map")  # a folder, huge or non-UTF-8 file: one line
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"key-map={str(p)!r} is not allowed: not JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(doc, dict):
        bad = [k for k, v in doc.items() if not (v is None or isinstance(v, str))]
        if bad:
            raise InputError(f"key-map={str(p)!r}: the value of {bad[0]!r} is not allowed: must be our key "
                             "name (a string) or null")
        return KeyMap(exact=dict(doc))
    if isinstance(doc, list):
        pats = []
        for i, pair in enumerate(doc):
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)
                    and (pair[1] is None or isinstance(pair[1], str))):
                raise InputError(f"key-map={str(p)!r}: entry {i} is not allowed: must be [\"regex\", "
                                 "\"replacement\"] or [\"regex\", null]")
            try:
                rx = re.compile(pair[0])
            except re.error as exc:
                raise InputError(f"key-map={str(p)!r}: regex {pair[0]!r} is not allowed ({exc})") from None
            pats.append((rx, pair[1]))
        return KeyMap(exact={}, patterns=tuple(pats))
    raise InputError(f"key-map={str(p)!r} is not allowed: must hold a JSON object (their key -> our key) "
                     "or a list of [regex, replacement] pairs")


def map_keys(state: dict[str, Tensor], key_map: KeyMap | None) -> dict[str, Tensor]:
    """``state`` with its keys renamed by ``key_map`` (None: unchanged); two keys onto one name
    raise :class:`InputError`."""
    if key_map is None:
        return dict(state)
    out: dict[str, Tensor] = {}
    source: dict[str, str] = {}
    for k, v in state.items():
        new = key_map.rename(k)
        if new is None:
            continue
        if new in out:
            raise InputError(f"key-map is not allowed: it maps both {source[new]!r} and {k!r} to {new!r}")
        out[new] = v
        source[new] = k
    return out


def _is_ternary_valued(w: Tensor) -> bool:
    return bool(((w == -1) | (w == 0) | (w == 1)).all())


def load_plain_state(model: nn.Module, state: dict[str, Tensor], *, threshold: float | None = None,
                     where: str = "state_dict") -> nn.Module:
    """Check ``state`` against ``model`` and load it (in place); returns ``model``.

    Refused with one :class:`InputError` line: keys the model needs that ``state`` lacks (batch-norm
    ``num_batches_tracked`` may be left out), keys it does not have, a shape that differs, and float
    weights for a ternary layer when ``threshold`` is None (values already in {-1, 0, +1} need
    none). A given ``threshold`` becomes the absolute threshold of every ternary layer.
    """
    ours = model.state_dict()
    missing = [k for k in ours if k not in state and not k.endswith(OPTIONAL_SUFFIXES)]
    if missing:
        raise InputError(f"{where} is missing keys the model needs: {_names(missing)}; map their names with "
                         "a key map (docs/user-guide.md)")
    extra = [k for k in state if k not in ours]
    if extra:
        raise InputError(f"{where} has keys the model does not have: {_names(extra)}; map or drop them with a "
                         "key map (docs/user-guide.md)")
    for k, v in state.items():
        if tuple(v.shape) != tuple(ours[k].shape):
            raise InputError(f"{where} key {k!r} shape {tuple(v.shape)} is not allowed: the model holds "
                             f"{tuple(ours[k].shape)} there")
    if threshold is not None and not (0.0 <= float(threshold) < float("inf")):
        raise InputError(f"threshold={threshold!r} is not allowed: must be a finite number >= 0")
    for name, layer in quantized_layers(model):
        if layer.weight_quantizer.kind != "ternary":
            continue
        w = state[f"{name}.weight" if name else "weight"]
        if threshold is None and not _is_ternary_valued(w):
            raise InputError(f"{where} key {name}.weight holds float weights, not allowed for ternary weights "
                             "without a threshold: give one (--threshold T, e.g. 0.05, the seed's) or store "
                             "values in {-1, 0, +1}")
    with torch.no_grad():
        model.load_state_dict(state, strict=False)
    if threshold is not None:
        for _, layer in quantized_layers(model):
            if layer.weight_quantizer.kind == "ternary":
                layer.weight_quantizer.threshold = float(threshold)
    return model


def model_from_state_dict(state: str | os.PathLike | dict[str, Tensor], name: str = "vgg", *,
                          width: int | None = None,
                          weights: str = "ternary", activations: str = "binary",
                          threshold: float | None = None, key_map: KeyMap | str | os.PathLike | None = None,
                          in_channels: int | None = None, num_classes: int = 10,
                          image_size: int | None = None) -> QuantizedNet:
    """A model of :mod:`ternary_rram.nn.models` (``name``, ``width``, ...) holding the weights of a
    plain ``state_dict`` (a file, or one already read by :func:`load_state_dict_file`), its keys
    renamed by ``key_map`` (a :class:`KeyMap` or a JSON file); in eval mode. See
    :func:`load_plain_state` for what is refused."""
    km = key_map if isinstance(key_map, KeyMap) or key_map is None else read_key_map(key_map)
    where = "state_dict" if isinstance(state, dict) else f"state_dict {Path(state).name}"
    raw = state if isinstance(state, dict) else load_state_dict_file(state)
    mapped = map_keys(raw, km)
    model = build_model(name, width=width, weights=weights, activations=activations, in_channels=in_channels,
                        num_classes=num_classes, image_size=image_size)
    load_plain_state(model, mapped, threshold=threshold, where=where)
    return model.eval()

