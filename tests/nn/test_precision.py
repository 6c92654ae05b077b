"""Mixed precision: bf16 autocast keeps float32 latent weights and gives the float32 decisions."""

from __future__ import annotations

import pytest
import torch

from ternary_rram.errors import InputError
from ternary_rram.nn.checkpoint import load_checkpoint
from ternary_rram.nn.data import make_synthetic
from ternary_rram.nn.layers import quantized_layers
from ternary_rram.nn.train import (
    TrainConfig,
    autocast,
    cpu_has_native_bf16,
    init_model,
    memory_format,
    resolve_precision,
    train,
)

MODEL = {"name": "convnet", "width": 8, "weights": "ternary", "activations": "binary", "in_channels": 1,
         "num_classes": 4, "image_size": 8}


def test_auto_precision_follows_the_cpu_flags():
    assert cpu_has_native_bf16("processor : 0\nflags : fpu sse avx512f avx512_bf16\n")
    assert cpu_has_native_bf16("flags\t\t: fpu amx_bf16 amx_tile\n")
    assert not cpu_has_native_bf16("flags : fpu sse avx2 avx512f\nbugs : avx512_bf16\n")
    expected = "bf16" if cpu_has_native_bf16() else "fp32"
    assert resolve_precision("auto", "cpu") == expected
    assert resolve_precision("fp32", "cpu") == "fp32" and resolve_precision("bf16", "cpu") == "bf16"
    with pytest.raises(InputError, match="precision='fp16' is not allowed"):
        resolve_precision("fp16", "cpu")
    with pytest.raises(InputError, match="precision"):
        TrainConfig(precision="half")


def test_a_bf16_step_changes_the_float32_latent_weights(tmp_path):
    data = make_synthetic(n_train=128, n_test=32)
    model = init_model(MODEL, 0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    config = TrainConfig(epochs=1, cycles=(1,), batch_size=64, precision="bf16", lr=0.01)
    res = train(model, data, config, tmp_path / "run", progress=False)
    assert res.history[-1]["precision"] == "bf16"
    state = model.state_dict()
    for name, _ in quantized_layers(model):
        w, w0 = state[f"{name}.weight"], before[f"{name}.weight"]
        assert w.dtype == torch.float32
        assert not torch.equal(w, w0)
        # A float32 update, not a bfloat16 one: most latent weights are not bf16 numbers.
        assert (w.to(torch.bfloat16).float() != w).float().mean() > 0.5
    for key in ("1.running_mean", "1.running_var", "1.weight", "1.bias"):
        assert state[key].dtype == torch.float32 and not torch.equal(state[key], before[key])
    ckpt = load_checkpoint(tmp_path / "run")
    moments = [s["exp_avg"] for s in ckpt["optimizer_state"]["state"].values()]
    assert moments and all(m.dtype == torch.float32 for m in moments)
    assert ckpt["history"][-1]["precision"] == "bf16"


def _forward_record(model, x, precision):
    """Logits and, per quantized layer, the quantized weights and the (quantized) layer inputs."""
    rec = {}
    hooks = []
    for name, layer in quantized_layers(model):
        hooks.append(layer.weight_quantizer.register_forward_hook(
            lambda m, i, o, n=name: rec.__setitem__(f"{n}.w", o.detach().clone())))
        hooks.append(layer.input_quantizer.register_forward_hook(
            lambda m, i, o, n=name: rec.__setitem__(f"{n}.x", o.detach().float().clone())))
    fmt = memory_format(model) if precision == "bf16" else torch.contiguous_format
    model.to(memory_format=fmt)
    try:
        with torch.no_grad(), autocast(precision, torch.device("cpu")):
            logits = model(x.contiguous(memory_format=fmt)).float()
    finally:
        for h in hooks:
            h.remove()
        model.to(memory_format=torch.contiguous_format)
    return logits, rec


def test_bf16_and_fp32_give_the_same_weights_and_nearly_the_same_decisions_on_a_trained_net(tmp_path):
    """Identical, bit for bit: every quantized weight the forward pass uses (and it is exact in
    bfloat16). Not identical, so bounded: the binary activations and the class decisions. bf16
    rounds the real-valued first-layer input and every convolution output to 8 significant bits
    (integer sums above 256, and the logits), so a neuron whose batch-norm output lies within that
    rounding of zero can take the other sign; measured here 0.03-0.09 % of first-hidden-layer
    activations, 0-4 of 256 class decisions over seeds 0-2. A wrong bf16 path (weights quantized
    after a bf16 cast, activations quantized wrongly) changes far more."""
    data = make_synthetic(n_train=512, n_test=256, noise=25.0)
    model = init_model(MODEL, 0)
    res = train(model, data, TrainConfig(epochs=4, cycles=(4,), batch_size=64, precision="fp32"),
                tmp_path / "run", progress=False)
    assert res.test_acc > 0.9
    model.eval()
    x, y = data.batch("test", torch.arange(data.n_test))
    logits32, rec32 = _forward_record(model, x, "fp32")
    logits16, rec16 = _forward_record(model, x, "bf16")
    names = [n for n, _ in quantized_layers(model)]
    for n in names:
        w = rec32[f"{n}.w"]
        assert torch.equal(w, rec16[f"{n}.w"])
        assert torch.equal(w.to(torch.bfloat16).float(), w)  # +-1 and 0 survive the cast
    flips = [float((rec32[f"{n}.x"] != rec16[f"{n}.x"]).float().mean()) for n in names[1:]]
    assert flips[0] < 0.003 and max(flips) < 0.02, flips
    p32, p16 = logits32.argmax(1), logits16.argmax(1)
    assert float((p32 == p16).float().mean()) >= 0.97
    assert abs(float((p32 == y).float().mean()) - float((p16 == y).float().mean())) <= 0.02
