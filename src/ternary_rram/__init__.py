"""ternary-rram: binary and ternary neural networks in 2T2R RRAM, read by precharge sense amplifiers.

Layers, each importing only those before it:
device -> circuit -> array -> nn -> chip -> experiments -> cli.

The Python face (``import ternary_rram as tr``; docs/architecture.md, README "Python API"):

* ``tr.convert(model, weights="ternary", activations="binary", threshold=0.05, keep_float=())``:
  any PyTorch model's ``Conv2d`` / ``Linear`` layers become quantized ones, in place;
* ``tr.Chip(vdd=1.0, window=None, params=None, process=None, seed=0, array=(128, 128), ...)``:
  one chip instance; ``chip.program(model)``, ``chip.evaluate(data or (x, y)) -> tr.ChipResult``;
* ``tr.vgg(width, weights, activations, ...)``: the seed VGG;
* ``tr.train(model, data, tr.TrainConfig(...), out_dir)``: the seed training recipe;
* ``tr.load_dataset(name)``: cifar10, mnist, digits, synthetic;
* ``tr.load_params(path)``: a PARAMS.json from ``ternary-rram calibrate``;
* ``tr.pretrained(name)``, ``tr.shipped_networks()``: networks trained to convergence and shipped
  with the package (2-bit packed), rebuilt in eval mode;
* ``tr.InputError``: the one error for bad input.

The names load on first use (module ``__getattr__``), so ``import ternary_rram`` stays cheap and
``ternary-rram --help`` starts without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Face name -> module that defines it (the one place to update when a name moves between layers).
_FACE: dict[str, str] = {
    "Chip": "ternary_rram.api",
    "ChipResult": "ternary_rram.api",
    "convert": "ternary_rram.nn.convert",
    "vgg": "ternary_rram.nn.models",
    "train": "ternary_rram.nn.train",
    "TrainConfig": "ternary_rram.nn.train",
    "load_dataset": "ternary_rram.nn.data",
    "load_params": "ternary_rram.chip.params_file",
    "pretrained": "ternary_rram.nn.packed",
    "shipped_networks": "ternary_rram.nn.packed",
    "InputError": "ternary_rram.errors",
}

__all__ = sorted(_FACE) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in _FACE:
        value = getattr(importlib.import_module(_FACE[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'ternary_rram' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_FACE))
