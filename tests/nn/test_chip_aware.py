"""Chip-aware training: read errors drawn with the per-state rates of the chip's read model."""

from __future__ import annotations

import pytest
import torch

from ternary_rram.array import encode
from ternary_rram.device import DeviceModel
from ternary_rram.errors import InputError
from ternary_rram.nn.chip_aware import ReadErrorInjector, check_rates, state_read_rates
from ternary_rram.nn.data import make_synthetic
from ternary_rram.nn.layers import quantized_layers
from ternary_rram.nn.train import TrainConfig, init_model, train
from tests.chip.helpers import threshold_map


def _confusion(programmed: torch.Tensor, read: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(3, 3) empirical P(read | programmed) and the count per programmed state."""
    counts = torch.zeros(3, 3, dtype=torch.float64)
    idx = (programmed.long() + 1) * 3 + (read.long() + 1)
    counts.view(-1).index_add_(0, idx.reshape(-1), torch.ones(idx.numel(), dtype=torch.float64))
    n = counts.sum(1, keepdim=True)
    return counts / n, n


def _within_5_sigma(p_hat, n, p):
    sigma = torch.sqrt(p * (1 - p) / n).clamp_min(1e-12)
    return bool(((p_hat - p).abs() <= 5 * sigma + 1e-9).all()), ((p_hat - p).abs() / sigma).max().item()


def test_drawn_read_errors_match_the_read_model_rates():
    sm = threshold_map(zero_band=2.5, p_flip=0.02)  # every kind of error at a few per cent
    dm = DeviceModel()
    rates = state_read_rates(sm, dm, n=100_000, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(rates.sum(1), torch.ones(3, dtype=torch.float64))
    assert all(0.005 < 1 - rates[i, i] < 0.1 for i in range(3))
    n = 300_000
    w = torch.tensor([-1.0, 0.0, 1.0]).repeat_interleave(n)
    # The read model itself: the sense map sampled over freshly drawn devices of each state.
    g = torch.Generator().manual_seed(1)
    bl, blb = encode(w.to(torch.int8))
    direct = sm.sample(dm.sample_pairs(bl, g), dm.sample_pairs(blb, g), g)
    p_direct, n_direct = _confusion(w, direct)
    ok, worst = _within_5_sigma(p_direct, n_direct, rates)
    assert ok, worst
    # The training hook's draws over many weights (a shuffled layer-shaped tensor).
    layer_w = w[torch.randperm(w.numel(), generator=torch.Generator().manual_seed(2))].reshape(900, 1000)
    injector = ReadErrorInjector(rates, torch.Generator().manual_seed(3))
    read = injector(layer_w)
    assert set(read.unique().tolist()) <= {-1.0, 0.0, 1.0}
    p_hook, n_hook = _confusion(layer_w, read)
    ok, worst = _within_5_sigma(p_hook, n_hook, rates)
    assert ok, worst
    assert not torch.equal(injector(layer_w), read)  # fresh draws at every forward pass


def test_chip_aware_training_installs_the_rates_and_records_them(tmp_path):
    rates = [[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.0, 0.2, 0.8]]
    config = TrainConfig(epochs=1, cycles=(1,), batch_size=64, read_rates=rates, read_source="test point")
    model = init_model({"name": "mlp", "width": 16, "weights": "ternary", "activations": "binary",
                        "in_channels": 1, "num_classes": 4, "image_size": 8}, 0)
    res = train(model, make_synthetic(n_train=128, n_test=64), config, tmp_path / "run", progress=False)
    hooks = [layer.error_hook for _, layer in quantized_layers(model)]
    assert all(isinstance(h, ReadErrorInjector) for h in hooks)
    assert torch.equal(hooks[0].rates, torch.tensor(rates, dtype=torch.float64))
    assert res.history and TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(InputError, match="rows of probabilities"):
        check_rates([[0.5, 0.5, 0.5], [0, 1, 0], [0, 0, 1]])
    with pytest.raises(InputError, match="read_rates"):
        TrainConfig(read_rates=rates, error_model="ternary", ber=0.01)
