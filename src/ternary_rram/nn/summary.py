"""Per-layer summary of a quantized model: weights, zeros, MACs per inference, 2T2R cells.

One 2T2R cell stores one weight, so cells = weights. MACs per inference = weights times the number
of output positions at which the layer is applied (H_out * W_out for a conv, 1 for a linear layer),
found by running one input through the model with forward hooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn

from ternary_rram.errors import InputError
from ternary_rram.nn.layers import QConv2d, quantized_layers


@dataclass(frozen=True)
class LayerSummary:
    """Counts for one quantized layer (or the total, ``name == "total"``)."""

    name: str
    kind: str  # "conv", "linear", or "" for the total
    weight_shape: tuple[int, ...]
    weights: int
    zero_fraction: float  # of the error-free quantized weights (exact zeros for float weights)
    macs: int  # multiply-accumulates per inference (one input sample)
    cells_2t2r: int  # one 2T2R cell per weight

    def as_dict(self) -> dict:
        return asdict(self)


def _input_shape(model: nn.Module, input_shape: Sequence[int] | None) -> tuple[int, ...]:
    if input_shape is not None:
        return tuple(int(s) for s in input_shape)
    config = getattr(model, "config", None)
    if not config:
        raise InputError("input_shape=None is not allowed for a model without config: give (C, H, W)")
    return (config["in_channels"], config["image_size"], config["image_size"])


def summarize(model: nn.Module, input_shape: Sequence[int] | None = None) -> list[LayerSummary]:
    """One :class:`LayerSummary` per quantized layer, in module order (no total row).

    ``input_shape``: one sample's shape, e.g. (3, 32, 32); default from ``model.config``.
    """
    layers = quantized_layers(model)
    positions: dict[str, int] = {}
    hooks = [layer.register_forward_hook(
        lambda m, i, out, name=name: positions.__setitem__(
            name, out.shape[-2] * out.shape[-1] if isinstance(m, QConv2d) else 1))
        for name, layer in layers]
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    was_training = model.training
    saved_hooks = [(layer, layer.error_hook) for _, layer in layers]
    try:
        for layer, _ in saved_hooks:  # no error draws (a "fixed" injector would draw here)
            layer.error_hook = None
        model.eval()  # batch norm on a single sample needs running statistics
        with torch.no_grad():
            model(torch.zeros((1, *_input_shape(model, input_shape)), device=device))
    finally:
        model.train(was_training)
        for layer, hook in saved_hooks:
            layer.error_hook = hook
        for h in hooks:
            h.remove()

    rows = []
    for name, layer in layers:
        with torch.no_grad():
            wq = layer.weight_quantizer(layer.weight)
        n = layer.weight.numel()
        rows.append(LayerSummary(
            name=name,
            kind="conv" if isinstance(layer, QConv2d) else "linear",
            weight_shape=tuple(layer.weight.shape),
            weights=n,
            zero_fraction=float((wq == 0).sum().item()) / n,
            macs=n * positions.get(name, 0),
            cells_2t2r=n,
        ))
    return rows


def total(rows: Sequence[LayerSummary]) -> LayerSummary:
    """Sum of ``rows``; the zero fraction is weighted by weight count."""
    n = sum(r.weights for r in rows)
    zeros = sum(r.zero_fraction * r.weights for r in rows)
    return LayerSummary(name="total", kind="", weight_shape=(), weights=n,
                        zero_fraction=zeros / n if n else 0.0,
                        macs=sum(r.macs for r in rows), cells_2t2r=sum(r.cells_2t2r for r in rows))


def format_summary(rows: Sequence[LayerSummary]) -> str:
    """Text table of ``rows`` followed by their total."""
    header = ("layer", "kind", "shape", "weights", "zeros", "MACs", "2T2R cells")
    lines = [(r.name, r.kind, "x".join(map(str, r.weight_shape)), f"{r.weights:,}",
              f"{r.zero_fraction:.3f}", f"{r.macs:,}", f"{r.cells_2t2r:,}")
             for r in [*rows, total(rows)]]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines)]
    fmt = lambda cells: "  ".join(  # noqa: E731 - first two columns left, numbers right
        c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    sep = "-" * len(fmt(header))
    return "\n".join([fmt(header), sep, *map(fmt, lines[:-1]), sep, fmt(lines[-1])])
