"""Quantized convolution and linear layers (docs/physics.md section 5, [C]).

A quantized layer keeps latent float weights (init N(0, 0.03), never clipped, no bias) and, at each
forward pass:

1. quantizes its input with the activation quantizer (full precision for the first layer: the raw
   image is never quantized, [C]);
2. uses as weights, in order of precedence:
   - the read weights set by :meth:`set_read_weights` (what a simulated chip read), or
   - the quantized latent weights, passed through the error hook if one is set (see
     ``injection.py``);
   in every case the gradient reaches the latent weights straight through.

:meth:`quantized_weight_int8` gives the error-free int8 {-1, 0, +1} view that a chip programs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ternary_rram.errors import InputError
from ternary_rram.nn.quantizers import Quantizer, get_quantizer

INIT_STD = 0.03  # [C] latent weights ~ N(0, 0.03)

WeightHook = Callable[[Tensor], Tensor]


class QuantizedLayer(nn.Module):
    """Shared behaviour of :class:`QConv2d` and :class:`QLinear` (a mixin placed before the torch
    layer in the bases, so that its ``reset_parameters`` wins).

    Attributes:
        weight_quantizer, input_quantizer: :class:`Quantizer` modules.
        read_weight: float buffer of the chip-read weights, or None (not saved in state_dict).
        error_hook: callable mapping the quantized weight tensor to a corrupted one, or None;
            set by ``injection.set_error_model``.
    """

    weight: nn.Parameter
    weight_quantizer: Quantizer
    input_quantizer: Quantizer
    read_weight: Tensor | None
    error_hook: WeightHook | None

    def _init_quantized(self, weight_quantizer: str | Quantizer | None,
                        input_quantizer: str | Quantizer | None, clip: float | None) -> None:
        self.weight_quantizer = get_quantizer(weight_quantizer, clip=clip)
        self.input_quantizer = get_quantizer(input_quantizer, clip=clip)
        self.register_buffer("read_weight", None, persistent=False)
        self.error_hook = None

    def reset_parameters(self) -> None:
        """Latent weights ~ N(0, INIT_STD), [C]; a bias, where there is one, starts at 0."""
        nn.init.normal_(self.weight, 0.0, INIT_STD)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def quantized_weight(self) -> Tensor:
        """Quantized latent weights (float, same shape as ``weight``), gradient straight-through."""
        return self.weight_quantizer(self.weight)

    def effective_weight(self) -> Tensor:
        """The weights the forward pass uses: read weights if set, else quantized (+ errors)."""
        wq = self.quantized_weight()
        if self.read_weight is not None:
            # Values from the chip, gradient straight through to the latent weights.
            return wq + (self.read_weight.to(wq.dtype) - wq).detach()
        if self.error_hook is not None:
            return wq + (self.error_hook(wq.detach()) - wq).detach()
        return wq

    def quantized_weight_int8(self) -> Tensor:
        """Error-free quantized weights as int8 in {-1, 0, +1}, shape of ``weight``, no grad."""
        if not self.weight_quantizer.is_quantized:
            raise InputError("weights='float' is not allowed here: a full-precision layer has no int8 view")
        with torch.no_grad():
            return self.weight_quantizer(self.weight).to(torch.int8)

    def set_read_weights(self, w_int8: Tensor | None) -> None:
        """Use ``w_int8`` (values in {-1, 0, +1}, shape of ``weight``) in forward; None restores.

        The read weights already carry the chip's errors, so the error hook is not applied on top.
        """
        if w_int8 is None:
            self.read_weight = None
            return
        w = torch.as_tensor(w_int8)
        if tuple(w.shape) != tuple(self.weight.shape):
            raise InputError(f"read weights shape={tuple(w.shape)} is not allowed: "
                             f"must be {tuple(self.weight.shape)}")
        if not bool(((w == -1) | (w == 0) | (w == 1)).all()):
            raise InputError("read weights values are not allowed: must lie in {-1, 0, +1}")
        self.read_weight = w.to(device=self.weight.device, dtype=self.weight.dtype)

    def quantized_extra_repr(self) -> str:
        return f"weights={self.weight_quantizer.kind!r}, inputs={self.input_quantizer.kind!r}"


class QConv2d(QuantizedLayer, nn.Conv2d):
    """2-D convolution with quantized weights and inputs (no bias unless ``bias=True``).

    Input (N, C_in, H, W) -> output (N, C_out, H_out, W_out) as ``nn.Conv2d``.

    Args:
        weight_quantizer / input_quantizer: name ("binary", "ternary", "ternary-relative",
            "float"/"fp"), a :class:`Quantizer`, or None (float).
        clip: straight-through gradient clip for quantizers given by name (None = unclipped).
        bias: a float bias added after the array (digital periphery); the seed's layers have none.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
                 padding: int = 1, *, weight_quantizer: str | Quantizer | None = "ternary",
                 input_quantizer: str | Quantizer | None = None, clip: float | None = None,
                 bias: bool = False) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                         bias=bias)
        self._init_quantized(weight_quantizer, input_quantizer, clip)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(self.input_quantizer(x), self.effective_weight(), self.bias, self.stride,
                        self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, {self.quantized_extra_repr()}"


class QLinear(QuantizedLayer, nn.Linear):
    """Fully connected layer with quantized weights and inputs: (N, in) -> (N, out).

    ``bias=True`` adds a float bias after the array (digital periphery); the seed's layers have none.
    """

    def __init__(self, in_features: int, out_features: int, *,
                 weight_quantizer: str | Quantizer | None = "ternary",
                 input_quantizer: str | Quantizer | None = None, clip: float | None = None,
                 bias: bool = False) -> None:
        super().__init__(in_features, out_features, bias=bias)
        self._init_quantized(weight_quantizer, input_quantizer, clip)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(self.input_quantizer(x), self.effective_weight(), self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, {self.quantized_extra_repr()}"


def quantized_layers(model: nn.Module) -> list[tuple[str, QuantizedLayer]]:
    """Every :class:`QConv2d` / :class:`QLinear` in ``model`` (any weight kind), in module order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, QuantizedLayer)]
