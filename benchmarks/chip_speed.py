"""Chip speed benchmark: program a chip instance with the CIFAR-10 VGG and read every weight.

    python benchmarks/chip_speed.py [--width 128] [--images 8] [--pool FILE.json]

Measures, on the machine it runs on (after the amplifier maps are built):

1. ``deploy``: making chip instance 0: write-verify programming of all 2 x n_weights devices
   (``Array2T2R.program``, resistance-window verify, up to 10 attempts per cell), relaxation, and
   the draw of every column amplifier from the pool;
2. ``first read``: the first full read, which interpolates each cell's amplifier map once (the
   cell's static outcome probabilities and energy) and draws one uniform per cell;
3. ``read``: every later full read (fresh noise: one draw per cell, error counts by type and per
   amplifier), the cost of ``reads="every-inference"`` per batch; senses per second;
4. baseline, same process: the circuit layer's ``SenseMap.sample`` over the same resistances (one
   mismatch-averaged map, no per-column amplifiers), and the ratio to it;
5. integer inference (``chip.integer``) against float evaluation of the same quantized network.

The maps' content does not change the cost (only the grid size and pool size do); without
``--pool`` a synthetic pool of 16 amplifiers with 25 x 25 maps is used.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch

from ternary_rram.array.column import AmplifierPool
from ternary_rram.array.params import DEFAULT_NOISE
from ternary_rram.chip.deploy import deploy
from ternary_rram.chip.integer import compile_network
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.sensemap import SenseMap
from ternary_rram.nn.layers import quantized_layers
from ternary_rram.nn.models import vgg


def synthetic_map(n_grid: int = 25, shift: float = 0.0) -> SenseMap:
    """+1 / -1 when ln(R_blb / R_bl) exceeds +-1 (+ shift), else 0; 10 fJ per sense (cost stand-in)."""
    ln_min, ln_max = math.log(1e3), math.log(1e8)
    ln_r = torch.linspace(ln_min, ln_max, n_grid, dtype=torch.float64)
    d = ln_r.reshape(1, -1) - ln_r.reshape(-1, 1)
    plus, minus = (d > 1 + shift).double(), (d < -1 + shift).double()
    probs = torch.stack([minus, 1 - plus - minus, plus], -1)
    g = n_grid
    return SenseMap(op=OperatingPoint(0.6, 1e-9), ln_r_min=ln_min, ln_r_max=ln_max, probs=probs,
                    energy_grid=torch.full((g, g), 10e-15, dtype=torch.float64),
                    t_decide_grid=torch.full((g, g), 5e-10, dtype=torch.float64), n_mc=1, source="counts")


def synthetic_pool(k: int = 16) -> AmplifierPool:
    maps = tuple(synthetic_map(shift=0.1 * (i - k / 2) / k) for i in range(k))
    return AmplifierPool(mismatch=torch.zeros(k, 9, dtype=torch.float64), maps=maps, noise=DEFAULT_NOISE)

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
    ap.add_argument("--images", type=int, default=8, help="images for the inference comparison (0: skip)")
    ap.add_argument("--pool", default=None, help="a saved AmplifierPool (JSON, AmplifierPool.to_dict)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    pool = (AmplifierPool.from_dict(json.loads(Path(args.pool).read_text())) if args.pool else synthetic_pool())
    torch.manual_seed(0)
    model = vgg(args.width, "ternary", "binary").eval()
    for _, layer in quantized_layers(model):
        layer.weight.data.normal_(0.0, 0.06)  # about 60 % non-zero ternary weights
    n_weights = sum(l.weight.numel() for _, l in quantized_layers(model))
    gen = torch.Generator().manual_seed(0)
    chip, t_deploy = _timed(lambda: deploy(model, pool, seed=0))
    _, t_first = _timed(lambda: chip.read(gen))
    _, t_read = _timed(lambda: chip.read(gen), args.repeats)
    r_bl = torch.cat([d.array.r_bl.reshape(-1) for d in chip.layers])
    r_blb = torch.cat([d.array.r_blb.reshape(-1) for d in chip.layers])
    _, t_sample = _timed(lambda: pool.maps[0].sample(r_bl, r_blb, gen), args.repeats)
    res = {"width": args.width, "n_weights": n_weights, "devices": 2 * n_weights,
           "threads": torch.get_num_threads(), "pool_amplifiers": len(pool), "map_grid": pool.maps[0].n_grid,
           "amplifiers_on_chip": sum(d.array.n_amplifiers for d in chip.layers),
           "programming_pulses": sum(d.program.pulses for d in chip.layers),
           "deploy_s": t_deploy, "first_read_s": t_first, "program_and_first_read_s": t_deploy + t_first,
           "goal_s": 10.0, "program_and_first_read_over_goal": (t_deploy + t_first) / 10.0,
           "read_s": t_read, "senses_per_s": n_weights / t_read,
           "baseline_sensemap_sample_s": t_sample, "read_over_baseline": t_read / t_sample}
    if args.images > 0:
        x = torch.randn(args.images, 3, 32, 32, generator=gen)
        net = compile_network(model)
        with torch.no_grad():
            _, t_float = _timed(lambda: model(x), args.repeats)
        _, t_int = _timed(lambda: net.forward(x), args.repeats)
        res.update({"images": args.images, "float_images_per_s": args.images / t_float,
                    "integer_images_per_s": args.images / t_int,
                    "integer_equals_float": bool(torch.equal(net.predict(x), model(x).argmax(1)))})
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
