"""Weight and activation quantizers with straight-through gradients (docs/physics.md section 5, [C]).

Each quantizer is a :class:`torch.autograd.Function` (the values are never swapped into ``.data``):

- ``binarize``: sign, with sign(0) = +1 so every value lands in {-1, +1}.
- ``ternarize``: sign(x) where |x| > threshold, else 0. The threshold is absolute (the [C] default
  0.05 on the latent float weight) or, for ``ternarize_relative``, relative to the tensor:
  delta = 0.7 * mean|x| (ternary weight networks, Li & Liu 2016).
- ``identity``: full precision.

Gradient: straight-through estimator. With ``clip=None`` the incoming gradient passes unchanged;
with ``clip=c`` it is zeroed where |x| > c (Larq's ``ste_sign`` with ``clip_value``).

:class:`Quantizer` wraps one of these as an ``nn.Module`` so that layers show it in their repr;
:func:`get_quantizer` builds one by registry name ("binary", "ternary", "ternary-relative",
"float", alias "fp").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ternary_rram.errors import InputError

TERNARY_THRESHOLD = 0.05  # [C] absolute threshold on the latent weight
RELATIVE_FACTOR = 0.7  # delta = 0.7 * mean|w|, ternary weight networks (Li & Liu 2016)

QUANTIZER_KINDS = ("binary", "ternary", "ternary-relative", "float")
_ALIASES = {"fp": "float"}


def _ste_backward(grad: Tensor, x: Tensor | None, clip: float | None) -> Tensor:
    """Straight-through gradient, zeroed where |x| > clip when a clip is set."""
    if clip is None:
        return grad
    return grad * (x.abs() <= clip).to(grad.dtype)


class _Binarize(torch.autograd.Function):
    """sign(x) with sign(0) = +1; straight-through (optionally clipped) gradient."""

    @staticmethod
    def forward(ctx, x: Tensor, clip: float | None) -> Tensor:  # type: ignore[override]
        ctx.clip = clip
        # Saving x is only needed for the clipped gradient; skip the memory otherwise.
        ctx.save_for_backward(x if clip is not None else None)
        # sign(x) + 0.5 lies in {-0.5, 0.5, 1.5}: its sign maps 0 (and -0.0) to +1. Two sign
        # kernels run several times faster on CPU than torch.where(x >= 0, 1, -1).
        return torch.sign(x).add_(0.5).sign_()

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return _ste_backward(grad, x, ctx.clip), None


class _Ternarize(torch.autograd.Function):
    """sign(x) where |x| > threshold else 0; straight-through (optionally clipped) gradient."""

    @staticmethod
    def forward(ctx, x: Tensor, threshold: float | Tensor, clip: float | None) -> Tensor:  # type: ignore[override]
        ctx.clip = clip
        ctx.save_for_backward(x if clip is not None else None)
        # hardshrink zeroes |x| <= threshold (strict >, as [C]); its sign is the ternary value.
        # Faster on CPU than sign(x) * (|x| > t), which goes through a bool tensor.
        return F.hardshrink(x, float(threshold)).sign_()

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return _ste_backward(grad, x, ctx.clip), None, None


def binarize(x: Tensor, clip: float | None = None) -> Tensor:
    """Binary quantizer: +1 where x >= 0, -1 elsewhere. Same shape as ``x``.

    Gradient: straight-through, zero where |x| > ``clip`` (None: unclipped).
    """
    return _Binarize.apply(x, clip)


def ternarize(x: Tensor, threshold: float = TERNARY_THRESHOLD, clip: float | None = None) -> Tensor:
    """Ternary quantizer with an absolute threshold: sign(x) where |x| > threshold, else 0.

    Same shape as ``x``; gradient straight-through, zero where |x| > ``clip`` (None: unclipped).
    """
    return _Ternarize.apply(x, threshold, clip)


def relative_threshold(x: Tensor, factor: float = RELATIVE_FACTOR) -> Tensor:
    """delta = factor * mean|x| over the whole tensor, as a detached 0-d tensor."""
    return factor * x.detach().abs().mean()


def ternarize_relative(x: Tensor, factor: float = RELATIVE_FACTOR, clip: float | None = None) -> Tensor:
    """Ternary quantizer with the layer-relative threshold delta = factor * mean|x| (TWN)."""
    return _Ternarize.apply(x, relative_threshold(x, factor), clip)


def identity(x: Tensor, clip: float | None = None) -> Tensor:
    """Full precision: returns ``x`` unchanged (``clip`` is accepted and ignored)."""
    return x


def canonical_kind(name: str, option: str = "quantizer") -> str:
    """Registry name for ``name`` ("fp" -> "float"); :class:`InputError` naming ``option`` if unknown."""
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    if key not in QUANTIZER_KINDS:
        allowed = ", ".join(QUANTIZER_KINDS + tuple(_ALIASES))
        raise InputError(f"{option}={name!r} is not allowed: must be one of {allowed}")
    return key


class Quantizer(nn.Module):
    """A quantizer by kind, as a module: ``Quantizer("ternary")(x)`` has the shape of ``x``.

    Args:
        kind: "binary", "ternary", "ternary-relative" or "float" (alias "fp").
        threshold: absolute ternary threshold ("ternary"), default 0.05 [C].
        factor: relative factor for "ternary-relative" (delta = factor * mean|x|), default 0.7.
        clip: gradient clip of the straight-through estimator; None = unclipped.
    """

    def __init__(self, kind: str = "ternary", *, threshold: float = TERNARY_THRESHOLD,
                 factor: float = RELATIVE_FACTOR, clip: float | None = None) -> None:
        super().__init__()
        self.kind = canonical_kind(kind)
        if threshold < 0:
            raise InputError(f"threshold={threshold!r} is not allowed: must be >= 0")
        if factor < 0:
            raise InputError(f"factor={factor!r} is not allowed: must be >= 0")
        if clip is not None and not clip > 0:
            raise InputError(f"clip={clip!r} is not allowed: must be > 0 or None")
        self.threshold = float(threshold)
        self.factor = float(factor)
        self.clip = None if clip is None else float(clip)

    @property
    def is_quantized(self) -> bool:
        """True unless the kind is "float"."""
        return self.kind != "float"

    def forward(self, x: Tensor) -> Tensor:
        if self.kind == "binary":
            return binarize(x, self.clip)
        if self.kind == "ternary":
            return ternarize(x, self.threshold, self.clip)
        if self.kind == "ternary-relative":
            return ternarize_relative(x, self.factor, self.clip)
        return x

    def extra_repr(self) -> str:
        parts = [repr(self.kind)]
        if self.kind == "ternary":
            parts.append(f"threshold={self.threshold:g}")
        if self.kind == "ternary-relative":
            parts.append(f"factor={self.factor:g}")
        if self.clip is not None:
            parts.append(f"clip={self.clip:g}")
        return ", ".join(parts)


def get_quantizer(spec: str | Quantizer | None, **options) -> Quantizer:
    """A :class:`Quantizer` from a registry name (options passed on), an instance, or None (float)."""
    if isinstance(spec, Quantizer):
        return spec
    if spec is None:
        return Quantizer("float")
    if not isinstance(spec, str):
        raise InputError(f"quantizer={spec!r} is not allowed: must be a name or a Quantizer")
    return Quantizer(spec, **options)
