"""Quantized networks: the [C] VGG of docs/physics.md section 5, a small MLP and a small conv net.

Every conv and FC layer is a quantized layer (first and last included), without bias, followed by
an affine batch norm. Activation function: Hardtanh when weights and activations are both
quantized, ReLU otherwise ([C]); the activation quantizer then acts at the input of the next
quantized layer. The first layer sees the raw input, never quantized ([C]).

Each model is a :class:`QuantizedNet` whose ``config`` dict rebuilds it:
``build_model(**model.config)`` has the same architecture (same state_dict keys and shapes).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ternary_rram.errors import InputError
from ternary_rram.nn.layers import QConv2d, QLinear, quantized_layers
from ternary_rram.nn.quantizers import canonical_kind

__all__ = [
    "MODEL_NAMES",
    "QuantizedNet",
    "activation",
    "build_model",
    "convnet",
    "mlp",
    "quantized_layers",
    "vgg",
]

VGG_FC_WIDTH = 512  # [C] hidden FC width


class QuantizedNet(nn.Sequential):
    """A sequential quantized network with its build configuration in ``config``.

    Input (N, in_channels, image_size, image_size) -> logits (N, num_classes).
    """

    def __init__(self, layers: list[nn.Module], config: dict[str, Any]) -> None:
        super().__init__(*layers)
        self.config = dict(config)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config.items())


def _check_int(name: str, value: int, minimum: int) -> int:
    try:
        ok = not isinstance(value, bool) and int(value) == value and value >= minimum
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InputError(f"{name}={value!r} is not allowed: must be an integer >= {minimum}")
    return int(value)


def _kinds(weights: str, activations: str) -> tuple[str, str]:
    """Canonical (weights, activations) kinds, naming the option on error."""
    return canonical_kind(weights, "weights"), canonical_kind(activations, "activations")


def activation(weights: str, activations: str) -> nn.Module:
    """Hardtanh when both weights and activations are quantized, else ReLU ([C])."""
    quantized = canonical_kind(weights) != "float" and canonical_kind(activations) != "float"
    return nn.Hardtanh() if quantized else nn.ReLU()


def _config(name: str, width: int, weights: str, activations: str, in_channels: int,
            num_classes: int, image_size: int, min_image: int) -> dict[str, Any]:
    w, a = _kinds(weights, activations)
    return {
        "name": name,
        "width": _check_int("width", width, 1),
        "weights": w,
        "activations": a,
        "in_channels": _check_int("in_channels", in_channels, 1),
        "num_classes": _check_int("num_classes", num_classes, 1),
        "image_size": _check_int("image_size", image_size, min_image),
    }


def vgg(width: int = 128, weights: str = "ternary", activations: str = "binary", *,
        in_channels: int = 3, num_classes: int = 10, image_size: int = 32) -> QuantizedNet:
    """The [C] VGG: three conv pairs (F, 2F, 4F) with max pooling, FC(-> 512), FC(512 -> classes).

    Input (N, in_channels, S, S) -> (N, num_classes); the flatten size is 4F * (S // 8)^2.
    Quantized weight count: 1,340,256 / 3,246,784 / 8,774,016 / 26,685,184 for F = 32/64/128/256.
    """
    cfg = _config("vgg", width, weights, activations, in_channels, num_classes, image_size, 8)
    w, a, f = cfg["weights"], cfg["activations"], cfg["width"]
    layers: list[nn.Module] = []
    # (in, out, pool) per conv; the first sees the raw image.
    plan = [(cfg["in_channels"], f, False), (f, f, True), (f, 2 * f, False), (2 * f, 2 * f, True),
            (2 * f, 4 * f, False), (4 * f, 4 * f, True)]
    for i, (cin, cout, pool) in enumerate(plan):
        layers.append(QConv2d(cin, cout, 3, padding=1, weight_quantizer=w,
                              input_quantizer="float" if i == 0 else a))
        if pool:
            layers.append(nn.MaxPool2d(2))
        layers += [nn.BatchNorm2d(cout), activation(w, a)]
    side = cfg["image_size"] // 8  # three 2x2 poolings, each flooring
    layers += [nn.Flatten(),
               QLinear(4 * f * side * side, VGG_FC_WIDTH, weight_quantizer=w, input_quantizer=a),
               nn.BatchNorm1d(VGG_FC_WIDTH), activation(w, a),
               QLinear(VGG_FC_WIDTH, cfg["num_classes"], weight_quantizer=w, input_quantizer=a),
               nn.BatchNorm1d(cfg["num_classes"])]
    return QuantizedNet(layers, cfg)


def mlp(width: int = 256, weights: str = "ternary", activations: str = "binary", *,
        in_channels: int = 1, num_classes: int = 10, image_size: int = 28) -> QuantizedNet:
    """Flatten, FC(C*S*S -> W) BN act, FC(W -> W) BN act, FC(W -> classes) BN.

    Input (N, C, S, S) (or already flat (N, C*S*S)) -> (N, num_classes); e.g. 8x8 digits, MNIST.
    """
    cfg = _config("mlp", width, weights, activations, in_channels, num_classes, image_size, 1)
    w, a, h = cfg["weights"], cfg["activations"], cfg["width"]
    n_in = cfg["in_channels"] * cfg["image_size"] ** 2
    layers: list[nn.Module] = [
        nn.Flatten(),
        QLinear(n_in, h, weight_quantizer=w, input_quantizer="float"), nn.BatchNorm1d(h), activation(w, a),
        QLinear(h, h, weight_quantizer=w, input_quantizer=a), nn.BatchNorm1d(h), activation(w, a),
        QLinear(h, cfg["num_classes"], weight_quantizer=w, input_quantizer=a),
        nn.BatchNorm1d(cfg["num_classes"]),
    ]
    return QuantizedNet(layers, cfg)


def convnet(width: int = 32, weights: str = "ternary", activations: str = "binary", *,
            in_channels: int = 1, num_classes: int = 10, image_size: int = 28) -> QuantizedNet:
    """Small conv net: conv(C -> F) BN act, conv(F -> F) pool BN act, conv(F -> 2F) pool BN act,
    flatten, FC(2F * (S // 4)^2 -> classes) BN. Input (N, C, S, S) -> (N, num_classes), S >= 4.
    """
    cfg = _config("convnet", width, weights, activations, in_channels, num_classes, image_size, 4)
    w, a, f = cfg["weights"], cfg["activations"], cfg["width"]
    layers: list[nn.Module] = [
        QConv2d(cfg["in_channels"], f, 3, padding=1, weight_quantizer=w, input_quantizer="float"),
        nn.BatchNorm2d(f), activation(w, a),
        QConv2d(f, f, 3, padding=1, weight_quantizer=w, input_quantizer=a),
        nn.MaxPool2d(2), nn.BatchNorm2d(f), activation(w, a),
        QConv2d(f, 2 * f, 3, padding=1, weight_quantizer=w, input_quantizer=a),
        nn.MaxPool2d(2), nn.BatchNorm2d(2 * f), activation(w, a),
        nn.Flatten(),
    ]
    side = cfg["image_size"] // 4
    layers += [QLinear(2 * f * side * side, cfg["num_classes"], weight_quantizer=w, input_quantizer=a),
               nn.BatchNorm1d(cfg["num_classes"])]
    return QuantizedNet(layers, cfg)


_BUILDERS = {"vgg": vgg, "mlp": mlp, "convnet": convnet}
MODEL_NAMES = tuple(_BUILDERS)
_DEFAULTS = {  # per-model defaults when build_model gets None
    "vgg": {"width": 128, "in_channels": 3, "image_size": 32},
    "mlp": {"width": 256, "in_channels": 1, "image_size": 28},
    "convnet": {"width": 32, "in_channels": 1, "image_size": 28},
}


def build_model(name: str, *, width: int | None = None, weights: str = "ternary",
                activations: str = "binary", in_channels: int | None = None,
                num_classes: int = 10, image_size: int | None = None) -> QuantizedNet:
    """Build "vgg", "mlp" or "convnet"; None picks that model's default. Inverse of ``model.config``."""
    if name not in _BUILDERS:
        raise InputError(f"model={name!r} is not allowed: must be one of {', '.join(MODEL_NAMES)}")
    d = _DEFAULTS[name]
    return _BUILDERS[name](
        d["width"] if width is None else width, weights, activations,
        in_channels=d["in_channels"] if in_channels is None else in_channels,
        num_classes=num_classes,
        image_size=d["image_size"] if image_size is None else image_size,
    )
