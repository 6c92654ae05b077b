import pytest
import torch
from torch import nn

from ternary_rram.errors import InputError
from ternary_rram.nn import QConv2d, QLinear, quantized_layers, vgg
from ternary_rram.nn.convert import convert


def plain_vgg(width: int, image_size: int = 16) -> nn.Sequential:
    """The seed VGG layout written with plain torch layers, as other code would write it."""
    f = width
    layers: list[nn.Module] = []
    plan = [(3, f, False), (f, f, True), (f, 2 * f, False), (2 * f, 2 * f, True),
            (2 * f, 4 * f, False), (4 * f, 4 * f, True)]
    for cin, cout, pool in plan:
        layers.append(nn.Conv2d(cin, cout, 3, padding=1, bias=False))
        if pool:
            layers.append(nn.MaxPool2d(2))
        layers += [nn.BatchNorm2d(cout), nn.Hardtanh()]
    side = image_size // 8
    layers += [nn.Flatten(), nn.Linear(4 * f * side * side, 512, bias=False), nn.BatchNorm1d(512),
               nn.Hardtanh(), nn.Linear(512, 10, bias=False), nn.BatchNorm1d(10)]
    return nn.Sequential(*layers)


def _train_a_few_steps(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def test_converted_plain_vgg_predicts_like_the_seed_vgg_with_the_same_weights():
    torch.manual_seed(0)
    x, y = torch.randn(16, 3, 16, 16), torch.randint(0, 10, (16,))
    plain = plain_vgg(4)
    _train_a_few_steps(plain, x, y)
    seed = vgg(4, "ternary", "binary", image_size=16)
    seed.load_state_dict(plain.state_dict())  # same layer order, same keys
    convert(plain, weights="ternary", activations="binary", threshold=0.05)
    plain.eval(), seed.eval()
    assert len(quantized_layers(plain)) == 8
    for (_, a), (_, b) in zip(quantized_layers(plain), quantized_layers(seed)):
        assert torch.equal(a.quantized_weight_int8(), b.quantized_weight_int8())
    # The first layer keeps float inputs, the others binarise theirs: the outputs agree exactly.
    assert quantized_layers(plain)[0][1].input_quantizer.kind == "float"
    assert quantized_layers(plain)[1][1].input_quantizer.kind == "binary"
    with torch.no_grad():
        assert torch.equal(plain(x), seed(x))


def test_convert_keeps_trained_weights_biases_and_named_float_layers():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    w0, b0 = model[0].weight.detach().clone(), model[0].bias.detach().clone()
    convert(model, weights="binary", keep_float=["2"])
    assert isinstance(model[0], QLinear) and isinstance(model[2], QLinear)
    assert torch.equal(model[0].weight, w0) and torch.equal(model[0].bias, b0)
    assert torch.equal(model[0].quantized_weight_int8(), torch.sign(w0).to(torch.int8))
    assert model[2].weight_quantizer.kind == "float"
    x = torch.randn(4, 6)
    expected = nn.functional.linear(x, torch.sign(w0), b0)
    assert torch.allclose(model[0](x), expected)


class _Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.body = nn.Sequential(nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1, bias=False))
        self.head = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        h = h + self.body(h)  # a skip connection: not expressible as nn.Sequential
        return self.head(h.mean(dim=(2, 3)))


def test_a_residual_model_converts_and_reads_chip_weights():
    torch.manual_seed(2)
    model = convert(_Residual(), weights="ternary", activations="binary").eval()
    assert isinstance(model.stem, QConv2d) and isinstance(model.body[2], QConv2d)
    x = torch.randn(2, 3, 8, 8)
    before = model(x)
    # Reading back the error-free weights changes nothing; zeroing one layer changes the output.
    for _, layer in quantized_layers(model):
        layer.set_read_weights(layer.quantized_weight_int8())
    assert torch.equal(model(x), before)
    model.body[2].set_read_weights(torch.zeros_like(model.body[2].weight, dtype=torch.int8))
    assert not torch.equal(model(x), before)


@pytest.mark.parametrize("kwargs, match", [
    ({"weights": "quaternary"}, "weights='quaternary'"),
    ({"threshold": -0.1}, "threshold=-0.1"),
    ({"keep_float": ["nope"]}, "keep_float=\\['nope'\\]"),
])
def test_convert_refuses_bad_options_naming_them(kwargs, match):
    with pytest.raises(InputError, match=match):
        convert(nn.Sequential(nn.Linear(2, 2)), **kwargs)
