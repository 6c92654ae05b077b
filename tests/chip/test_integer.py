"""Exact integer inference: bit-identical pre-activations and class decisions vs the float network."""

from __future__ import annotations

import pytest
import torch

from ternary_rram.chip.integer import compile_network, ternary_dot_counts, xnor_popcount_dot
from ternary_rram.errors import InputError
from ternary_rram.nn.layers import quantized_layers
from ternary_rram.nn.models import build_model
from tests.chip.helpers import input_for, small_model


def _float_preacts(model, x):
    pre = {}
    hooks = [layer.register_forward_hook(lambda mod, inp, out, n=name: pre.__setitem__(n, out))
             for name, layer in quantized_layers(model)]
    try:
        with torch.no_grad():
            logits = model(x)
    finally:
        for h in hooks:
            h.remove()
    return logits, pre


@pytest.mark.parametrize("name", ["mlp", "convnet", "vgg"])
@pytest.mark.parametrize("weights", ["binary", "ternary"])
@pytest.mark.parametrize("activations", ["binary", "ternary"])
@pytest.mark.parametrize("seed", [0, 1])
def test_integer_path_is_bit_identical(name, weights, activations, seed):
    model = small_model(name, weights, activations, seed=seed)
    x = input_for(model, 48, seed=seed + 10)
    logits, pre = _float_preacts(model, x)
    net = compile_network(model)
    out, ipre = net.forward(x, return_preacts=True)
    assert torch.equal(out.argmax(1), logits.argmax(1))
    assert torch.equal(out, logits)
    assert torch.equal(net.forward(x), logits)  # the fast path (binary activations as 0/1 floats)
    stages = net.stages
    for st in stages:
        if st.real_input:
            assert torch.equal(ipre[st.name], pre[st.name])
        else:
            assert ipre[st.name].dtype == torch.int32
            assert torch.equal(ipre[st.name].float(), pre[st.name])  # integer pre-activations


def test_negative_gamma_and_pool_before_norm_are_folded():
    model = small_model("convnet", "ternary", "binary", seed=3)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data = -m.weight.data.abs()  # every gamma < 0
    x = input_for(model, 32, seed=4)
    logits, _ = _float_preacts(model, x)
    net = compile_network(model)
    assert all(bool((st.sign == -1).all()) for st in net.stages[1:-1] if st.is_conv)
    assert any(st.pool is not None and st.pool_before_norm for st in net.stages)
    assert torch.equal(net.predict(x), logits.argmax(1))


def test_chip_read_weights_match_set_read_weights():
    model = small_model("convnet", "ternary", "binary", seed=5)
    g = torch.Generator().manual_seed(0)
    read = {n: torch.randint(-1, 2, l.weight.shape, generator=g, dtype=torch.int8)
            for n, l in quantized_layers(model)}
    x = input_for(model, 32, seed=6)
    for n, l in quantized_layers(model):
        l.set_read_weights(read[n])
    with torch.no_grad():
        ref = model(x)
    for _, l in quantized_layers(model):
        l.set_read_weights(None)
    net = compile_network(model).with_weights(read)
    assert torch.equal(net.forward(x), ref)


def test_xnor_popcount_reference_equals_counts_and_dot():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 2, (7, 37), generator=g) * 2 - 1
    w = torch.randint(-1, 2, (5, 37), generator=g)
    dot = x @ w.T
    s = xnor_popcount_dot(x > 0, w > 0, w == 0)
    agree, nonzero = ternary_dot_counts(x, w)
    assert torch.equal(s, dot)
    assert torch.equal(2 * agree - nonzero, dot)


def test_op_counts_of_vgg():
    model = build_model("vgg", width=4, in_channels=3, image_size=16)
    ops = compile_network(model.eval()).op_counts((3, 16, 16))
    assert sum(o.weights for o in ops) == sum(l.weight.numel() for _, l in quantized_layers(model))
    assert ops[0].real_input and ops[0].macs == 16 * 16 * 4 * 27
    assert ops[1].neurons == 8 * 8 * 4  # after the 2x2 pool
    assert ops[-1].in_periphery and ops[-1].neurons == 10


def test_float_weights_are_refused():
    model = build_model("mlp", width=8, weights="float", activations="binary", image_size=4)
    with pytest.raises(InputError, match="float"):
        compile_network(model.eval())
