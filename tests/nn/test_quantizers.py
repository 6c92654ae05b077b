"""Quantizer forward values and straight-through gradients."""

import pytest
import torch

from ternary_rram.errors import InputError
from ternary_rram.nn.quantizers import (
    Quantizer,
    binarize,
    get_quantizer,
    relative_threshold,
    ternarize,
    ternarize_relative,
)

X = torch.tensor([-2.0, -0.5, -0.05, -0.01, 0.0, 0.01, 0.05, 0.06, 0.5, 2.0])


def test_binarize_values_sign_zero_is_plus_one():
    assert binarize(X).tolist() == [-1, -1, -1, -1, 1, 1, 1, 1, 1, 1]


def test_ternarize_absolute_threshold_strict():
    # |x| > 0.05 -> sign, |x| = 0.05 stays 0
    assert ternarize(X).tolist() == [-1, -1, 0, 0, 0, 0, 0, 1, 1, 1]
    assert ternarize(X, threshold=1.0).tolist() == [-1, 0, 0, 0, 0, 0, 0, 0, 0, 1]


def test_ternarize_relative_threshold():
    w = torch.tensor([1.0, -1.0, 0.2, -0.3, 0.5, 0.0])
    delta = 0.7 * w.abs().mean().item()  # 0.35
    assert relative_threshold(w).item() == pytest.approx(delta)
    assert ternarize_relative(w).tolist() == [1, -1, 0, 0, 1, 0]
    assert Quantizer("ternary-relative")(w).tolist() == [1, -1, 0, 0, 1, 0]


@pytest.mark.parametrize("fn", [binarize, ternarize, ternarize_relative])
def test_ste_unclipped_passes_gradient(fn):
    x = X.clone().requires_grad_(True)
    g = torch.arange(1.0, 11.0)
    (fn(x) * g).sum().backward()
    assert torch.equal(x.grad, g)


@pytest.mark.parametrize("fn", [binarize, ternarize])
def test_ste_clipped_zero_outside(fn):
    x = X.clone().requires_grad_(True)
    fn(x, clip=1.0).sum().backward()
    assert x.grad.tolist() == [0, 1, 1, 1, 1, 1, 1, 1, 1, 0]


def test_is_autograd_function_not_data_swap():
    x = X.clone().requires_grad_(True)
    y = binarize(x)
    assert y.grad_fn is not None and torch.equal(x.detach(), X)


def test_registry_and_errors():
    assert get_quantizer("fp").kind == "float"
    assert get_quantizer(None).kind == "float"
    assert not get_quantizer("float").is_quantized
    assert torch.equal(get_quantizer("float")(X), X)
    q = Quantizer("binary", clip=1.0)
    assert get_quantizer(q) is q
    with pytest.raises(InputError, match="quaternary.*binary"):
        get_quantizer("quaternary")
    with pytest.raises(InputError, match="clip"):
        Quantizer("binary", clip=0.0)
