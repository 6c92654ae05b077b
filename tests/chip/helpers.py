"""Shared helpers of the chip tests: random quantized networks and cheap synthetic sense maps."""

from __future__ import annotations

import math

import torch
from torch import nn

from ternary_rram.array.column import AmplifierPool
from ternary_rram.array.params import DEFAULT_NOISE, NO_NOISE
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.sensemap import SenseMap
from ternary_rram.nn.layers import quantized_layers
from ternary_rram.nn.models import build_model


def randomize(model: nn.Module, generator: torch.Generator, *, weight_std: float = 0.06) -> nn.Module:
    """Random latent weights and random batch-norm statistics (gamma of both signs), eval mode."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=generator) * 5)
            m.running_var.copy_(torch.rand(c, generator=generator) * 20 + 0.5)
            m.weight.data.copy_(torch.randn(c, generator=generator))
            m.bias.data.copy_(torch.randn(c, generator=generator))
    for _, layer in quantized_layers(model):
        layer.weight.data.normal_(0.0, weight_std, generator=generator)
    return model.eval()


def small_model(name: str, weights: str = "ternary", activations: str = "binary", seed: int = 0) -> nn.Module:
    """A small random vgg / convnet / mlp on 8x8 (16x16 for vgg) inputs, 10 classes."""
    kw = {"mlp": dict(width=32, in_channels=1, image_size=8),
          "convnet": dict(width=8, in_channels=1, image_size=8),
          "vgg": dict(width=4, in_channels=3, image_size=16)}[name]
    model = build_model(name, weights=weights, activations=activations, num_classes=10, **kw)
    return randomize(model, torch.Generator().manual_seed(seed))


def input_for(model: nn.Module, n: int, seed: int = 1) -> torch.Tensor:
    cfg = model.config
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, cfg["in_channels"], cfg["image_size"], cfg["image_size"], generator=g)


def threshold_map(vdd: float = 0.6, t_sense: float = 2e-9, *, zero_band: float = 1.0,
                  p_flip: float = 0.0, energy: float = 10e-15, n_grid: int = 33) -> SenseMap:
    """A synthetic sense map: +1 when ln(R_blb / R_bl) > zero_band, -1 below -zero_band, else 0.

    ``p_flip`` moves that much probability of each decided outcome to the opposite sign.
    """
    ln_min, ln_max = math.log(1e3), math.log(1e8)
    ln_r = torch.linspace(ln_min, ln_max, n_grid, dtype=torch.float64)
    d = ln_r.reshape(1, -1) - ln_r.reshape(-1, 1)  # ln R_blb - ln R_bl
    plus = (d > zero_band).double()
    minus = (d < -zero_band).double()
    zero = 1.0 - plus - minus
    probs = torch.stack([minus * (1 - p_flip) + plus * p_flip, zero, plus * (1 - p_flip) + minus * p_flip], -1)
    g = n_grid
    return SenseMap(op=OperatingPoint(vdd, t_sense), ln_r_min=ln_min, ln_r_max=ln_max, probs=probs,
                    energy_grid=torch.full((g, g), energy, dtype=torch.float64),
                    t_decide_grid=torch.full((g, g), 0.5 * t_sense, dtype=torch.float64), n_mc=1000,
                    source="counts")


def threshold_pool(k: int = 2, *, energies: tuple[float, ...] | None = None, noisy: bool | None = None,
                   **kw) -> AmplifierPool:
    """A pool of ``k`` synthetic amplifiers (:func:`threshold_map`), energy ``energies[i]`` for the
    i-th; ``noisy`` labels the pool as having per-read noise (default: when ``p_flip`` > 0)."""
    en = energies if energies is not None else (kw.pop("energy", 10e-15),) * k
    maps = tuple(threshold_map(energy=e, **kw) for e in en)
    if noisy is None:
        noisy = kw.get("p_flip", 0.0) > 0
    return AmplifierPool(mismatch=torch.zeros(len(maps), 9, dtype=torch.float64), maps=maps,
                         noise=DEFAULT_NOISE if noisy else NO_NOISE)
