"""Neural-network layer: quantizers, quantized layers, models, data, training."""

# Quantizers, quantized layers, error injection, models, summary.
from ternary_rram.nn.injection import ErrorInjector, set_error_model
from ternary_rram.nn.layers import QConv2d, QLinear, QuantizedLayer, quantized_layers
from ternary_rram.nn.models import QuantizedNet, build_model, convnet, mlp, vgg
from ternary_rram.nn.packed import load_network, pretrained, save_packed, shipped_networks
from ternary_rram.nn.quantizers import (
    Quantizer,
    binarize,
    get_quantizer,
    identity,
    ternarize,
    ternarize_relative,
)
from ternary_rram.nn.summary import LayerSummary, format_summary, summarize

__all__ = [
    "ErrorInjector", "LayerSummary", "QConv2d", "QLinear", "QuantizedLayer", "QuantizedNet", "Quantizer",
    "binarize", "build_model", "convnet", "format_summary", "get_quantizer", "identity", "load_network", "mlp",
    "pretrained", "quantized_layers", "save_packed", "set_error_model", "shipped_networks", "summarize",
    "ternarize", "ternarize_relative", "vgg",
]
