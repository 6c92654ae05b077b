"""Quantized layers: forward uses quantized weights, int8 view, read weights, init."""

import pytest
import torch
import torch.nn.functional as F

from ternary_rram.errors import InputError
from ternary_rram.nn.layers import QConv2d, QLinear, quantized_layers
from ternary_rram.nn.quantizers import binarize, ternarize


def test_conv_forward_matches_functional_on_quantized_tensors():
    torch.manual_seed(0)
    layer = QConv2d(3, 5, 3, padding=1, weight_quantizer="ternary", input_quantizer="binary")
    x = torch.randn(2, 3, 6, 6)
    ref = F.conv2d(binarize(x), ternarize(layer.weight.detach()), padding=1)
    assert torch.allclose(layer(x), ref)
    # and not the latent weights
    assert not torch.allclose(layer(x), F.conv2d(binarize(x), layer.weight.detach(), padding=1))


def test_linear_forward_and_float_inputs():
    torch.manual_seed(1)
    layer = QLinear(7, 4, weight_quantizer="binary", input_quantizer=None)
    x = torch.randn(3, 7)
    assert torch.allclose(layer(x), x @ binarize(layer.weight.detach()).T)
    assert layer.bias is None


def test_init_normal_003_no_bias():
    torch.manual_seed(2)
    w = QConv2d(64, 64, 3).weight.detach()
    assert abs(w.std().item() - 0.03) < 0.001 and abs(w.mean().item()) < 0.001


def test_int8_view():
    layer = QLinear(20, 30, weight_quantizer="ternary")
    q = layer.quantized_weight_int8()
    assert q.dtype == torch.int8 and q.shape == layer.weight.shape
    assert torch.equal(q, ternarize(layer.weight.detach()).to(torch.int8))
    assert set(q.unique().tolist()) <= {-1, 0, 1}
    with pytest.raises(InputError):
        QLinear(2, 2, weight_quantizer="float").quantized_weight_int8()


def test_set_read_weights_changes_output_and_restores():
    torch.manual_seed(3)
    layer = QConv2d(2, 3, 3, padding=1, input_quantizer="binary")
    x = torch.randn(1, 2, 5, 5)
    before = layer(x)
    read = -layer.quantized_weight_int8()
    read[0] = 1
    layer.set_read_weights(read)
    out = layer(x)
    assert torch.allclose(out, F.conv2d(binarize(x), read.float(), padding=1))
    assert not torch.allclose(out, before)
    # gradient still reaches the latent weights
    out.sum().backward()
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0
    layer.set_read_weights(None)
    assert torch.allclose(layer(x), before)
    assert "read_weight" not in layer.state_dict()


def test_set_read_weights_validation():
    layer = QLinear(4, 2)
    with pytest.raises(InputError, match="shape"):
        layer.set_read_weights(torch.zeros(3, 3, dtype=torch.int8))
    with pytest.raises(InputError):
        layer.set_read_weights(torch.full((2, 4), 2, dtype=torch.int8))


def test_quantized_layers_lists_in_order():
    net = torch.nn.Sequential(QConv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten(), QLinear(2, 2))
    assert [n for n, _ in quantized_layers(net)] == ["0", "3"]
