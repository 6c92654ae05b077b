"""Models: VGG weight counts and shapes, activation rule, build_model/config round trip."""

import pytest
import torch
from torch import nn

from ternary_rram.errors import InputError
from ternary_rram.nn.layers import QConv2d, QLinear, quantized_layers
from ternary_rram.nn.models import build_model, convnet, mlp, vgg

COUNTS = {32: 1_340_256, 64: 3_246_784, 128: 8_774_016, 256: 26_685_184}


@pytest.mark.parametrize("width", sorted(COUNTS))
def test_vgg_weight_counts(width):
    with torch.device("meta"):  # shapes only, no memory
        model = vgg(width)
    assert sum(l.weight.numel() for _, l in quantized_layers(model)) == COUNTS[width]


def test_vgg_structure_and_output_shape():
    model = vgg(32)
    layers = quantized_layers(model)
    assert len(layers) == 8
    assert [type(l) for _, l in layers] == [QConv2d] * 6 + [QLinear] * 2
    assert all(l.weight_quantizer.kind == "ternary" for _, l in layers)
    assert layers[0][1].input_quantizer.kind == "float"  # raw image never quantized
    assert all(l.input_quantizer.kind == "binary" for _, l in layers[1:])
    assert layers[-2][1].in_features == 4 * 32 * 4 * 4
    assert all(m.bias is None for _, m in layers)
    assert isinstance(model[-1], nn.BatchNorm1d) and model[-1].affine
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("w,a,act", [("ternary", "binary", nn.Hardtanh), ("binary", "ternary", nn.Hardtanh),
                                     ("ternary", "float", nn.ReLU), ("float", "binary", nn.ReLU),
                                     ("fp", "fp", nn.ReLU)])
def test_activation_rule(w, a, act):
    model = convnet(4, w, a, image_size=8)
    acts = [m for m in model if isinstance(m, (nn.Hardtanh, nn.ReLU))]
    assert acts and all(type(m) is act for m in acts)


@pytest.mark.parametrize("name,kw,shape", [
    ("mlp", dict(image_size=8), (5, 1, 8, 8)),
    ("mlp", dict(width=32), (5, 1, 28, 28)),
    ("convnet", dict(image_size=8, width=8), (5, 1, 8, 8)),
    ("convnet", dict(width=8), (5, 1, 28, 28)),
    ("vgg", dict(width=8, in_channels=1, image_size=28, num_classes=4), (5, 1, 28, 28)),
])
def test_build_model_shapes_and_config_round_trip(name, kw, shape):
    model = build_model(name, **kw)
    out = model(torch.randn(*shape))
    assert out.shape == (5, model.config["num_classes"])
    again = build_model(**model.config)
    assert again.config == model.config
    sd, sd2 = model.state_dict(), again.state_dict()
    assert sd.keys() == sd2.keys() and all(sd[k].shape == sd2[k].shape for k in sd)
    again.load_state_dict(sd)


def test_bad_options_name_value_and_allowed():
    with pytest.raises(InputError, match="model='resnet'.*vgg"):
        build_model("resnet")
    with pytest.raises(InputError, match="weights='quad'.*ternary"):
        vgg(8, weights="quad")
    with pytest.raises(InputError, match="activations='x'"):
        mlp(8, activations="x")
    with pytest.raises(InputError, match="width"):
        vgg(0)
    with pytest.raises(InputError, match="image_size"):
        vgg(8, image_size=4)
