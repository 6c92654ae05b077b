"""The read rates chip-aware training injects (`chip_read_rates`, mean or per amplifier) are the rates a
deployed chip reads."""

from __future__ import annotations

import math

import pytest
import torch

from ternary_rram.array import weight_matrix
from ternary_rram.chip.deploy import deploy
from ternary_rram.chip.operating import chip_read_rates, pool_at, programmed_pairs
from ternary_rram.chip.params import VERIFY_SIGMAS
from ternary_rram.device import DeviceModel
from ternary_rram.errors import InputError
from ternary_rram.nn.chip_aware import state_read_rates
from ternary_rram.nn.models import build_model
from tests.chip.helpers import randomize

VDD, T_SENSE = 0.85, 2.5e-9  # near threshold: every kind of read error at 0.1-7 %


def _confusion(target: torch.Tensor, read: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    idx = (target.long().reshape(-1) + 1) * 3 + (read.long().reshape(-1) + 1)
    counts = torch.bincount(idx, minlength=9).reshape(3, 3).double()
    return counts / counts.sum(1, keepdim=True), counts.sum(1, keepdim=True)


def test_chip_read_rates_are_the_rates_a_deployed_chip_reads(tmp_path) -> None:
    rates, op, _ = chip_read_rates(VDD, T_SENSE, n_grid=5, n_mc=2, seed=0, cache_dir=tmp_path, n=30_000)
    rates = torch.tensor(rates, dtype=torch.float64)
    pool = pool_at(op, n_grid=5, n_mc=2, seed=0, cache_dir=tmp_path)  # the same (cached) pool
    model = randomize(build_model("mlp", width=256, weights="ternary", activations="binary", num_classes=10,
                                  in_channels=1, image_size=16), torch.Generator().manual_seed(0))
    per_amp = torch.tensor(chip_read_rates(VDD, T_SENSE, n_grid=5, n_mc=2, seed=0, cache_dir=tmp_path, n=30_000,
                                           per_amplifier=True)[0], dtype=torch.float64)
    assert per_amp.shape == (len(pool), 3, 3) and torch.allclose(per_amp.mean(0), rates, atol=1e-9)
    p_hat, n = torch.zeros(3, 3, dtype=torch.float64), torch.zeros(3, 1, dtype=torch.float64)
    counts = torch.zeros(len(pool), 3, 3, dtype=torch.float64)  # per pool member: programmed x read
    for seed in range(6):  # chips: fresh devices and amplifier choices each
        chip = deploy(model, pool, seed=seed)
        read = chip.read()
        for d in chip.layers:
            p, k = _confusion(d.target, read[d.name])
            p_hat += p * k
            n += k
            member = d.array.pool_index[d.array.amplifier_index()].reshape(-1)
            idx = (member * 9 + (weight_matrix(d.target).long().reshape(-1) + 1) * 3
                   + weight_matrix(read[d.name]).long().reshape(-1) + 1)
            counts.view(-1).index_add_(0, idx, torch.ones(idx.numel(), dtype=torch.float64))
    p_hat /= n
    # Each amplifier of the pool reads its own columns with its own rates (the chip's static part).
    n_k = counts.sum(2, keepdim=True)
    p_k = counts / n_k

    def amplifiers_agree(r: torch.Tensor) -> bool:
        sigma = torch.sqrt(r * (1 - r) / n_k)
        off = ~torch.eye(3, dtype=torch.bool).expand_as(r)
        return bool(((p_k - r).abs()[off] <= 0.15 * r[off] + 5 * sigma[off] + 1e-3).all())

    assert bool((n_k > 2000).all()), n_k.flatten().tolist()
    spread = (1 - torch.diagonal(per_amp, dim1=1, dim2=2)).amax(0) - (1 - torch.diagonal(per_amp, dim1=1, dim2=2)).amin(0)
    assert float(spread.max()) > 0.05  # the amplifiers differ, so the check below can tell them apart
    assert amplifiers_agree(per_amp), (p_k, per_amp)
    assert not amplifiers_agree(per_amp.roll(1, 0))  # another amplifier's rates are not this one's
    assert bool((n > 50_000).all()), n.flatten().tolist()
    # Cells share devices and amplifiers within a chip, so allow 15 % of the rate beyond 5 binomial sigma.
    def agrees(r: torch.Tensor) -> bool:
        sigma = torch.sqrt(r * (1 - r) / n)
        off = ~torch.eye(3, dtype=torch.bool) & (r > 1e-3)
        return bool(((p_hat - r).abs()[off] <= 0.15 * r[off] + 5 * sigma[off]).all())

    assert agrees(rates), (p_hat, rates)
    # Rates over fresh devices (no write-verify: the low tail of HRS kept) are not the chip's.
    fresh = state_read_rates(pool.maps, DeviceModel(), n=30_000, generator=torch.Generator().manual_seed(0))
    assert not agrees(fresh), (p_hat, fresh)


def test_programmed_pairs_obey_the_write_verify_window() -> None:
    dm = DeviceModel()
    pairs = programmed_pairs(dm, n=20_000, generator=torch.Generator().manual_seed(0))
    r_bl, r_blb = pairs[0]  # (HRS, HRS)
    assert r_bl.shape == (20_000,) and r_blb.dtype == torch.float64
    # Only cells that spent every attempt stay outside the window (few of them).
    low = dm.hrs.median * math.exp(-VERIFY_SIGMAS * dm.hrs.sigma)
    assert float((r_bl < low).double().mean()) < 0.001 and float((r_blb < low).double().mean()) < 0.001
    r_lrs = pairs[1][0]  # +1 is (LRS, HRS)
    assert float((r_lrs > dm.lrs.median * math.exp(VERIFY_SIGMAS * dm.lrs.sigma)).double().mean()) < 0.001
    unverified = programmed_pairs(dm, n=20_000, verify=None, generator=torch.Generator().manual_seed(0))
    assert float((unverified[0][0] < low).double().mean()) > 0.01  # about 2.3 % of fresh HRS devices
    with pytest.raises(InputError, match="n=0 is not allowed"):
        programmed_pairs(dm, n=0)
