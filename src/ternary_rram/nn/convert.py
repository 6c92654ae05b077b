"""Turn any PyTorch model's ``Conv2d`` / ``Linear`` layers into quantized ones, in place.

This is how a network trained by other code reaches the chip: every ``nn.Conv2d`` and ``nn.Linear``
becomes a :class:`~ternary_rram.nn.layers.QConv2d` / :class:`~ternary_rram.nn.layers.QLinear` that
keeps the trained float weights as its latent weights, so the quantizer (sign, or sign above a
threshold) decides what is programmed. The rest of the model (batch norm, pooling, residual
additions, any custom ``forward``) is left as it is, so non-sequential models convert too.

Activations: with ``activations="binary"`` (or ``"ternary"``) every converted layer quantizes its
input except the first one met in module order, which sees the raw image, as in the seed VGG
(docs/physics.md, section 5).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from ternary_rram.errors import InputError
from ternary_rram.nn.layers import QConv2d, QLinear, QuantizedLayer
from ternary_rram.nn.quantizers import TERNARY_THRESHOLD, Quantizer, canonical_kind

__all__ = ["convert"]


def _replacement(module: nn.Module, wq: Quantizer, aq: Quantizer) -> QuantizedLayer:
    """A quantized twin of ``module`` holding its weights (and bias, added after the array)."""
    if isinstance(module, nn.Conv2d):
        if module.groups != 1 or module.padding_mode != "zeros":
            raise InputError(f"Conv2d with groups={module.groups}, padding_mode={module.padding_mode!r} "
                             "is not allowed: must be groups=1, padding_mode='zeros'")
        new: QuantizedLayer = QConv2d(module.in_channels, module.out_channels, module.kernel_size,
                                      stride=module.stride, padding=module.padding,
                                      weight_quantizer=wq, input_quantizer=aq,
                                      bias=module.bias is not None)
        new.dilation = module.dilation
    else:
        new = QLinear(module.in_features, module.out_features, weight_quantizer=wq,
                      input_quantizer=aq, bias=module.bias is not None)
    with torch.no_grad():
        new.weight.copy_(module.weight)
        if module.bias is not None:
            new.bias.copy_(module.bias)
    return new.to(device=module.weight.device, dtype=module.weight.dtype)


def convert(model: nn.Module, weights: str = "ternary", activations: str = "float", *,
            threshold: float = TERNARY_THRESHOLD, keep_float: Iterable[str] = ()) -> nn.Module:
    """Replace, in place, every ``nn.Conv2d`` / ``nn.Linear`` of ``model`` by a quantized layer.

    Args:
        model: any ``nn.Module``; already quantized layers are left alone.
        weights: "ternary" (sign above ``threshold``), "binary" (sign) or "float".
        activations: quantizer at the input of every converted layer but the first
            ("float", "binary" or "ternary").
        threshold: absolute ternary threshold on the trained weight (default 0.05, the seed's).
        keep_float: names (as in ``model.named_modules()``) of layers that stay full precision;
            the seed keeps none.

    Returns:
        ``model`` itself, converted. Raises :class:`InputError` for a name in ``keep_float`` that
        is not a Conv2d/Linear of the model, or an unsupported layer configuration.
    """
    w_kind = canonical_kind(weights, "weights")
    a_kind = canonical_kind(activations, "activations")
    if not (threshold >= 0.0 and threshold < float("inf")):
        raise InputError(f"threshold={threshold!r} is not allowed: must be a finite number >= 0")
    if isinstance(model, (nn.Conv2d, nn.Linear)):
        raise InputError(f"model={type(model).__name__} is not allowed: must contain its layers "
                         "(wrap a single layer in nn.Sequential)")
    targets = [(name, m) for name, m in model.named_modules()
               if isinstance(m, (nn.Conv2d, nn.Linear)) and not isinstance(m, QuantizedLayer)]
    names = {name for name, _ in targets}
    keep = set(keep_float)
    unknown = sorted(keep - names)
    if unknown:
        raise InputError(f"keep_float={unknown!r} is not allowed: must name Conv2d/Linear layers of the "
                         f"model ({', '.join(sorted(names)) or 'none'})")
    for index, (name, module) in enumerate(targets):
        kind = "float" if name in keep else w_kind
        inputs = "float" if index == 0 else a_kind
        new = _replacement(module, Quantizer(kind, threshold=threshold),
                          Quantizer(inputs, threshold=threshold))
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name) if parent_name else model, child, new)
    return model
