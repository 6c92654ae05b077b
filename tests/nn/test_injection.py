"""Error injection rates (docs/physics.md section 2.4) over >= 1e6 weights, modes, validation, gradients."""

import math

import pytest
import torch

from ternary_rram.errors import InputError
from ternary_rram.nn.injection import ErrorInjector, set_error_model, ternary_errors
from ternary_rram.nn.layers import QLinear

N = 1_200_000


def _close(count: int, n: int, p: float, sigmas: float = 5.0) -> bool:
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p)) + 1


def _ternary_weights(n: int, p0: float, g: torch.Generator) -> torch.Tensor:
    u = torch.rand(n, generator=g)
    w = torch.where(u < (1 - p0) / 2, 1.0, -1.0)
    return torch.where(u >= 1 - p0, 0.0, w)


def test_sign_flip_rate():
    g = torch.Generator().manual_seed(0)
    w = torch.where(torch.rand(N, generator=g) < 0.5, 1.0, -1.0)
    out = ErrorInjector("sign-flip", 0.03, generator=g)(w)
    assert _close(int((out != w).sum()), N, 0.03)
    assert torch.equal(out.abs(), w.abs())


@pytest.mark.parametrize("p0", [0.0, 0.4, 0.9])
def test_ternary_rates_and_no_sign_flip(p0):
    g = torch.Generator().manual_seed(1)
    ber = 0.05
    w = _ternary_weights(N, p0, g)
    out = ErrorInjector("ternary", ber, generator=g)(w)
    p0_hat = (w == 0).float().mean().item()
    q = ber / (1 + p0_hat)
    for src, dst in [(1, 0), (-1, 0), (0, 1), (0, -1)]:
        n_src = int((w == src).sum())
        if n_src:
            assert _close(int(((w == src) & (out == dst)).sum()), n_src, q), (src, dst)
    assert int((w * out < 0).sum()) == 0  # never a sign flip
    assert _close(int((out != w).sum()), N, ber)  # total error fraction = ber


def test_per_forward_redraws_fixed_does_not():
    layer = QLinear(1000, 1000)
    x = torch.randn(4, 1000)
    g = torch.Generator().manual_seed(2)
    set_error_model(layer, "sign-flip", 0.1, generator=g)
    assert not torch.allclose(layer(x), layer(x))
    set_error_model(layer, "ternary", 0.1, mode="fixed", generator=g)
    a, b = layer(x), layer(x)
    assert torch.equal(a, b)
    set_error_model(layer, None)
    clean = layer(x)
    assert not torch.allclose(a, clean)
    assert torch.equal(clean, layer(x))


def test_gradient_straight_through_with_errors():
    layer = QLinear(50, 3)
    x = torch.randn(8, 50)
    set_error_model(layer, "sign-flip", 0.5, generator=torch.Generator().manual_seed(3))
    layer(x).sum().backward()
    # d/dW of sum(x @ W.T) is x.sum(0) per row, whatever the flips
    assert torch.allclose(layer.weight.grad, x.sum(0).expand(3, 50))


def test_validation():
    layer = QLinear(2, 2)
    with pytest.raises(InputError, match="ber"):
        set_error_model(layer, "sign-flip", 1.0)
    with pytest.raises(InputError, match="ber"):
        set_error_model(layer, "sign-flip", -0.1)
    with pytest.raises(InputError, match="kind='bitflip'"):
        set_error_model(layer, "bitflip", 0.1)
    with pytest.raises(InputError, match="mode"):
        set_error_model(layer, "ternary", 0.1, mode="sometimes")


def test_ternary_errors_zero_ber_identity():
    w = torch.tensor([1.0, 0.0, -1.0])
    assert torch.equal(ternary_errors(w, 0.0, torch.rand(3)), w)
