"""Chips for models the integer compiler does not take: traced operation counts, one-line refusals."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ternary_rram.chip.deploy import deploy, evaluate_chip
from ternary_rram.chip.energy import traced_op_counts
from ternary_rram.chip.integer import compile_network
from ternary_rram.errors import InputError
from ternary_rram.nn.convert import convert
from tests.chip.helpers import input_for, small_model, threshold_pool


@pytest.mark.parametrize("name", ["vgg", "convnet", "mlp"])
def test_traced_op_counts_equal_the_integer_counts_of_sequential_nets(name):
    """Traced counts agree with the compiler's wherever both apply (neurons aside: the trace counts
    pre-activations, the compiler counts after pooling)."""
    model = small_model(name)
    shape = tuple(input_for(model, 1).shape[1:])
    exact = compile_network(model).op_counts(shape)
    traced = traced_op_counts(model, shape)
    assert [o.name for o in traced] == [o.name for o in exact]
    for t, e in zip(traced, exact):
        assert (t.macs, t.outputs, t.weights, t.fan_in, t.activation_bits_in, t.in_periphery, t.real_input) == \
               (e.macs, e.outputs, e.weights, e.fan_in, e.activation_bits_in, e.in_periphery, e.real_input)
        assert t.neurons >= e.neurons
    assert model.training is False  # the probe restores the mode


class _Shared(nn.Module):
    """One conv used twice (a weight-shared block): its MACs count twice."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, padding=1, bias=False)
        self.head = nn.Linear(2 * 4 * 4, 3, bias=True)

    def forward(self, x):
        return self.head(self.conv(self.conv(x)).flatten(1))


def test_traced_counts_a_layer_run_twice_twice_and_bias_models_deploy():
    model = convert(_Shared(), "ternary", "binary").eval()
    ops = {o.name: o for o in traced_op_counts(model, (2, 4, 4))}
    assert ops["conv"].macs == 2 * (2 * 4 * 4) * (2 * 9)
    assert ops["head"].in_periphery and not ops["head"].real_input and ops["conv"].real_input
    chip = deploy(model, threshold_pool(), array_shape="8x8")
    x = torch.randn(6, 2, 4, 4, generator=torch.Generator().manual_seed(0))
    res = evaluate_chip(chip, x, torch.zeros(6, dtype=torch.int64))
    assert res.energy.total > 0 and set(res.energy.per_layer) == {"conv", "head"}
    assert res.predictions.shape == (6,)
    with pytest.raises(InputError, match="model=_Shared is not allowed in integer inference.*use engine='float'"):
        evaluate_chip(chip, x, torch.zeros(6, dtype=torch.int64), engine="integer")


def test_integer_engine_refuses_a_layer_with_a_bias_in_one_line():
    """The counters hold no bias term: a sequential net with one is refused, never run without it."""
    model = convert(nn.Sequential(nn.Flatten(), nn.Linear(16, 8, bias=False), nn.BatchNorm1d(8), nn.Hardtanh(),
                                  nn.Linear(8, 3, bias=True)), "ternary", "binary").eval()
    with pytest.raises(InputError, match="layer 4 with a bias is not allowed in integer inference; use "
                                         "engine='float'") as err:
        compile_network(model)
    assert "\n" not in str(err.value)
    model[4].bias = None  # the same net without the bias compiles
    assert compile_network(model).stages[-1].name == "4"
