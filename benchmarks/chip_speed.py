"""Chip speed benchmark: read every weight of the CIFAR-10 VGG through a sense map; integer vs float inference.

    python benchmarks/chip_speed.py [--width 128] [--images 32] [--sense-map FILE.json]

Measures, on the machine it runs on:

1. ``deploy``: programming the chip, i.e. drawing the resistances of all 2 x n_weights devices and
   interpolating the sense map once per cell (cumulative read probabilities and energy per sense);
2. ``read``: one full read of every weight (one uniform draw per cell against its probabilities,
   plus the error counts by type), the operation repeated for every inference in
   ``reads="every-inference"``; senses per second;
3. ``SenseMap.sample``: the circuit layer's own sampler over the same resistances, for reference;
4. integer inference (``chip.integer``) against float evaluation of the same quantized network, in
   images per second, same run, same images.

The sense map's content does not change the cost (only its grid size does); without ``--sense-map``
a synthetic map of the default 41 x 41 grid is used.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from ternary_rram.chip.deploy import deploy
from ternary_rram.chip.integer import compile_network
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.sensemap import SenseMap
from ternary_rram.nn.layers import quantized_layers
from ternary_rram.nn.models import vgg


def synthetic_map(n_grid: int = 41) -> SenseMap:
    """+1 / -1 when ln(R_blb / R_bl) exceeds +-1, else 0; 10 fJ per sense (cost stand-in)."""
    ln_min, ln_max = math.log(1e3), math.log(1e8)
    ln_r = torch.linspace(ln_min, ln_max, n_grid, dtype=torch.float64)
    d = ln_r.reshape(1, -1) - ln_r.reshape(-1, 1)
    plus, minus = (d > 1).double(), (d < -1).double()
    probs = torch.stack([minus, 1 - plus - minus, plus], -1)
    g = n_grid
    return SenseMap(op=OperatingPoint(0.6, 1e-9), ln_r_min=ln_min, ln_r_max=ln_max, probs=probs,
                    energy_grid=torch.full((g, g), 10e-15, dtype=torch.float64),
                    t_decide_grid=torch.full((g, g), 5e-10, dtype=torch.float64), n_mc=1, source="counts")


def _timed(fn, repeats: int = 1):
    best = float("inf")
    out = None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--images", type=int, default=32, help="images for the inference comparison")
    ap.add_argument("--sense-map", default=None, help="a saved SenseMap (JSON/NPZ)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    sm = SenseMap.load(args.sense_map) if args.sense_map else synthetic_map()
    torch.manual_seed(0)
    model = vgg(args.width, "ternary", "binary").eval()
    for _, layer in quantized_layers(model):
        layer.weight.data.normal_(0.0, 0.06)  # about 60 % non-zero ternary weights
    n_weights = sum(l.weight.numel() for _, l in quantized_layers(model))
    gen = torch.Generator().manual_seed(0)
    chip, t_deploy = _timed(lambda: deploy(model, sm, reads="every-inference", generator=gen))
    _, t_read = _timed(lambda: chip.read(gen), args.repeats)
    r_bl = torch.cat([d.r_bl for d in chip.layers])
    r_blb = torch.cat([d.r_blb for d in chip.layers])
    _, t_sample = _timed(lambda: sm.sample(r_bl, r_blb, gen))
    x = torch.randn(args.images, 3, 32, 32, generator=gen)
    net = compile_network(model)
    with torch.no_grad():
        _, t_float = _timed(lambda: model(x), args.repeats)
    _, t_int = _timed(lambda: net.forward(x), args.repeats)
    same = bool(torch.equal(net.predict(x), model(x).argmax(1)))
    res = {"width": args.width, "n_weights": n_weights, "devices": 2 * n_weights,
           "threads": torch.get_num_threads(), "sense_map_grid": sm.n_grid,
           "deploy_s": t_deploy, "read_s": t_read, "first_read_s": t_deploy + t_read,
           "senses_per_s": n_weights / t_read, "sensemap_sample_s": t_sample,
           "images": args.images, "float_images_per_s": args.images / t_float,
           "integer_images_per_s": args.images / t_int, "integer_equals_float": same}
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
