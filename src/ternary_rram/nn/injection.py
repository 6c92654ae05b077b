"""Bit-error injection into quantized weights (docs/physics.md section 2.4, [C]).

Two error models, applied to the quantized weight tensor of a layer:

- "sign-flip" (binary): each weight flips sign with probability ``ber`` (a zero stays 0).
- "ternary": with p0 the layer's fraction of zero weights,
  P(+1 -> 0) = P(-1 -> 0) = ber / (1 + p0) and P(0 -> +1) = P(0 -> -1) = ber / (1 + p0).
  The fraction in error is (1 - p0) ber/(1+p0) + p0 2 ber/(1+p0) = ber; a sign never flips.
  (Exact when 2 ber <= 1 + p0; beyond that the zero -> nonzero probability saturates at 1.)

Two modes:

- "per-forward" ([C], in training and at test): new errors at every forward pass.
- "fixed" (a programmed chip): the uniform draws that decide the errors are made once, at the
  first forward pass, and reused. With frozen weights the corrupted weights are then the same at
  every pass; if the weights change, the same cells stay the weak ones.

Errors act on the forward values only; the layer passes the gradient straight through to the
latent weights (see ``layers.QuantizedLayer.effective_weight``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ternary_rram.errors import InputError, check_range
from ternary_rram.nn.layers import quantized_layers

ERROR_KINDS = ("sign-flip", "ternary")
ERROR_MODES = ("per-forward", "fixed")


def _uniform(like: Tensor, generator: torch.Generator | None) -> Tensor:
    """U[0, 1) draws with the shape, dtype and device of ``like``."""
    if generator is None:
        return torch.rand(like.shape, dtype=like.dtype, device=like.device)
    u = torch.rand(like.shape, generator=generator, device=generator.device)
    return u.to(device=like.device, dtype=like.dtype)


def sign_flip(w: Tensor, ber: float, u: Tensor) -> Tensor:
    """Flip the sign of ``w`` where ``u < ber``; ``u`` uniform, same shape as ``w``."""
    return torch.where(u < ber, -w, w)


def ternary_errors(w: Tensor, ber: float, u: Tensor) -> Tensor:
    """Ternary error model on ``w`` in {-1, 0, +1}; ``u`` uniform, same shape as ``w``.

    Nonzero -> 0 where u < q; 0 -> +1 where u < q and 0 -> -1 where q <= u < 2q,
    with q = ber / (1 + p0) and p0 the fraction of zeros of ``w``.
    """
    zero = w == 0
    q = ber / (1.0 + zero.to(w.dtype).mean())  # 0-d tensor: no device sync
    out = torch.where(~zero & (u < q), torch.zeros_like(w), w)
    out = torch.where(zero & (u < q), torch.ones_like(w), out)
    return torch.where(zero & (u >= q) & (u < 2 * q), -torch.ones_like(w), out)


class ErrorInjector:
    """Callable error hook for one layer: quantized weights (any shape) -> corrupted copy.

    Args:
        kind: "sign-flip" or "ternary".
        ber: bit error rate in [0, 1).
        mode: "per-forward" (redraw every call) or "fixed" (draw once, at the first call).
        generator: optional ``torch.Generator`` for reproducible draws.
    """

    def __init__(self, kind: str, ber: float, mode: str = "per-forward",
                 generator: torch.Generator | None = None) -> None:
        self.kind, self.ber, self.mode = validate(kind, ber, mode)
        self.generator = generator
        self._u: Tensor | None = None  # the fixed draws, mode "fixed" only

    def draws(self, w: Tensor) -> Tensor:
        """The uniform draws for this call (fresh, or the fixed ones)."""
        if self.mode == "per-forward":
            return _uniform(w, self.generator)
        if self._u is None or self._u.shape != w.shape or self._u.device != w.device:
            self._u = _uniform(w, self.generator)
        return self._u.to(w.dtype)

    def __call__(self, w: Tensor) -> Tensor:
        if self.ber == 0.0:
            return w
        u = self.draws(w)
        if self.kind == "sign-flip":
            return sign_flip(w, self.ber, u)
        return ternary_errors(w, self.ber, u)

    def __repr__(self) -> str:
        return f"ErrorInjector(kind={self.kind!r}, ber={self.ber:g}, mode={self.mode!r})"


def validate(kind: str, ber: float, mode: str) -> tuple[str, float, str]:
    """Check the error-model options; :class:`InputError` naming the bad value otherwise."""
    if kind not in ERROR_KINDS:
        raise InputError(f"kind={kind!r} is not allowed: must be one of {', '.join(ERROR_KINDS)} or None")
    if mode not in ERROR_MODES:
        raise InputError(f"mode={mode!r} is not allowed: must be one of {', '.join(ERROR_MODES)}")
    return kind, check_range("ber", ber, 0.0, 1.0, high_open=True), mode


def set_error_model(model: nn.Module, kind: str | None, ber: float = 0.0, mode: str = "per-forward",
                    generator: torch.Generator | None = None) -> None:
    """Install (or with ``kind=None`` remove) weight errors in every quantized layer of ``model``.

    Each layer gets its own :class:`ErrorInjector` (sharing ``generator`` when given), so the
    ternary p0 is the layer's own fraction of zeros.
    """
    if kind is None:
        for _, layer in quantized_layers(model):
            layer.error_hook = None
        return
    kind, ber, mode = validate(kind, ber, mode)
    for _, layer in quantized_layers(model):
        layer.error_hook = ErrorInjector(kind, ber, mode, generator)
