"""Chip-aware training: read errors drawn with the per-state rates of the chip's read model."""

from __future__ import annotations

import pytest
import torch

from ternary_rram.array import Array2T2R, encode, weight_matrix
from ternary_rram.circuit.sensemap import map_probabilities
from ternary_rram.device import DeviceModel
from ternary_rram.errors import InputError
from ternary_rram.nn.chip_aware import (
    AmplifierLayout,
    ReadErrorInjector,
    amplifier_read_rates,
    check_rates,
    pair_read_rates,
    state_read_rates,
)
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


def test_amplifier_layout_gives_each_weight_the_amplifier_of_its_chip_cell():
    layout = AmplifierLayout(rows=16, cols=8, column_group=3)
    shape = (20, 3, 3, 3)  # conv: matrix of 27 rows (inputs) x 20 columns (outputs)
    arr = Array2T2R(27, 20, tile=(16, 8), column_group=3)
    # the layout, unrolled as deploy unrolls a weight, is the array's own cell -> amplifier map
    assert torch.equal(weight_matrix(layout.index(shape)), arr.amplifier_index())
    assert int(layout.index(shape).max()) + 1 <= arr.n_amplifiers
    with pytest.raises(InputError, match="column_group=9 is not allowed"):
        AmplifierLayout(rows=16, cols=8, column_group=9)


def _two_amplifiers() -> torch.Tensor:
    """Pool of two: a perfect amplifier, and one that reads every 0 as +1 and -1 as 0 or -1 evenly."""
    good = torch.eye(3, dtype=torch.float64)
    bad = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    return torch.stack([good, bad])


def test_per_amplifier_errors_cluster_in_the_columns_one_amplifier_reads():
    rates = _two_amplifiers()
    layout = AmplifierLayout(rows=8, cols=4)
    injector = ReadErrorInjector(rates, torch.Generator().manual_seed(0), layout)
    w = torch.zeros(64, 16)  # matrix 16 x 64: 2 arrays down, 128 amplifiers of 8 weights
    segments = []
    for _ in range(200):  # 200 chips
        read = weight_matrix(injector(w)).reshape(2, 8, 64)
        segments.append(read.mean(1))
    seg = torch.stack(segments)  # fraction of each amplifier's 8 zeros read as +1
    assert bool(((seg == 0) | (seg == 1)).all())  # all or none: one amplifier reads the whole segment
    n = seg.numel()
    assert abs(float(seg.mean()) - 0.5) <= 5 * (0.25 / n) ** 0.5  # each chip draws its amplifier uniformly
    # The two arrays down one column have their own amplifiers, so they agree only half the time.
    agree = float((seg[:, 0] == seg[:, 1]).double().mean())
    assert abs(agree - 0.5) <= 5 * (0.25 / (200 * 64)) ** 0.5
    # The same mean rates read independently scatter the errors over the segment.
    independent = ReadErrorInjector(rates.mean(0), torch.Generator().manual_seed(0))
    spread = weight_matrix(independent(w)).reshape(2, 8, 64).mean(1)
    assert float(((spread > 0) & (spread < 1)).double().mean()) > 0.9


def test_per_amplifier_reads_match_the_pool_mean_rates_over_many_chips():
    rates = _two_amplifiers()
    rates[0] = torch.tensor([[0.9, 0.1, 0.0], [0.02, 0.95, 0.03], [0.0, 0.05, 0.95]], dtype=torch.float64)
    layout = AmplifierLayout(rows=4, cols=4)
    w = torch.tensor([-1.0, 0.0, 1.0]).repeat(400 * 100).reshape(400, 300)  # matrix 300 x 400
    injector = ReadErrorInjector(rates, torch.Generator().manual_seed(1), layout)
    p_hat, n = torch.zeros(3, 3, dtype=torch.float64), torch.zeros(3, 1, dtype=torch.float64)
    chips = 5
    for _ in range(chips):
        p, k = _confusion(w, injector(w))
        p_hat += p * k
        n += k
    p_hat /= n
    # The weights of one amplifier share its draw: count amplifiers, not weights, as the samples.
    n_amplifiers = chips * (int(layout.index(w.shape).max()) + 1)
    ok, worst = _within_5_sigma(p_hat, torch.full((3, 1), float(n_amplifiers), dtype=torch.float64),
                                rates.mean(0))
    assert ok, (worst, p_hat)


def test_amplifier_read_rates_are_each_map_own_rates():
    maps = [threshold_map(zero_band=b, p_flip=f) for b, f in ((1.0, 0.0), (2.5, 0.02), (4.0, 0.1))]
    dm = DeviceModel()
    g = torch.Generator().manual_seed(0)
    pairs = {}
    for s in (-1, 0, 1):
        bl, blb = encode(torch.full((20_000,), s, dtype=torch.int8))
        pairs[s] = (dm.sample_pairs(bl, g), dm.sample_pairs(blb, g))
    per_amp = amplifier_read_rates(maps, pairs)
    assert per_amp.shape == (3, 3, 3)
    for k, m in enumerate(maps):
        assert torch.allclose(per_amp[k], pair_read_rates(m, pairs), atol=1e-12)
    assert torch.allclose(per_amp.mean(0), pair_read_rates(maps, pairs), atol=1e-12)
    assert not torch.allclose(per_amp[0], per_amp[2], atol=0.01)  # the maps differ
    r_bl, r_blb = pairs[0]
    stacked = map_probabilities(maps, r_bl, r_blb)
    assert torch.allclose(stacked[:, 1], maps[1].probabilities(r_bl, r_blb), atol=1e-12)


def test_per_amplifier_rates_need_a_layout_and_are_kept_by_the_config(tmp_path):
    rates = _two_amplifiers()
    with pytest.raises(InputError, match="need an amplifier layout"):
        ReadErrorInjector(rates)
    with pytest.raises(InputError, match="need read_layout"):
        TrainConfig(read_rates=rates.tolist())
    with pytest.raises(InputError, match="read rates of shape"):
        check_rates(torch.ones(4, 3, 3))
    config = TrainConfig(epochs=1, cycles=(1,), batch_size=64, read_rates=rates.tolist(), read_layout=(8, 8, 1))
    assert TrainConfig.from_dict(config.to_dict()) == config
    model = init_model({"name": "mlp", "width": 16, "weights": "ternary", "activations": "binary",
                        "in_channels": 1, "num_classes": 4, "image_size": 8}, 0)
    train(model, make_synthetic(n_train=128, n_test=64), config, tmp_path / "run", progress=False)
    hook = next(layer.error_hook for _, layer in quantized_layers(model))
    assert hook.layout == AmplifierLayout(8, 8, 1) and torch.equal(hook.rates, rates)
