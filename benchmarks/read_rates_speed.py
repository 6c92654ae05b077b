"""Read rates of a chip's amplifier pool: one interpolation of the pool's mean table against one per map.

    python benchmarks/read_rates_speed.py [--amplifiers 16] [--grid 41] [--cells 200000] [--repeats 3]

``train --chip`` computes P(read | programmed state) as the pool's outcome probabilities averaged
over write-verified cells of each state (``chip.operating.chip_read_rates``). Bilinear
interpolation is linear in the table, so the mean over maps on one grid is one interpolation of
their mean table (``circuit.sensemap.mean_probabilities``). Both ways run here, in this process,
on the same cells; the script prints the best time of each, their ratio and the largest difference
of the two results. The maps are synthetic (random probability tables): their content does not
change the cost, only the grid and the pool size do.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from ternary_rram.chip.operating import programmed_pairs
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.sensemap import SenseMap, mean_probabilities


def random_pool(k: int, grid: int, seed: int = 0) -> list[SenseMap]:
    """``k`` maps on one grid (1 kohm .. 100 Mohm) with random outcome tables."""
    g = torch.Generator().manual_seed(seed)
    maps = []
    for _ in range(k):
        p = torch.rand(grid, grid, 3, generator=g, dtype=torch.float64)
        maps.append(SenseMap(op=OperatingPoint(0.85, 2.95e-9), ln_r_min=math.log(1e3), ln_r_max=math.log(1e8),
                             probs=p / p.sum(-1, keepdim=True),
                             energy_grid=torch.full((grid, grid), 1e-14, dtype=torch.float64),
                             t_decide_grid=torch.full((grid, grid), 1e-9, dtype=torch.float64), n_mc=8,
                             source="counts"))
    return maps


def best_of(repeats: int, fn) -> tuple[float, torch.Tensor]:
    best, out = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--amplifiers", type=int, default=16, help="maps in the pool (the chip's default: 16)")
    ap.add_argument("--grid", type=int, default=41, help="grid points per axis (deploy's default: 41)")
    ap.add_argument("--cells", type=int, default=200_000, help="cells per state (train --chip: 200,000)")
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats of each way (best kept)")
    args = ap.parse_args()
    maps = random_pool(args.amplifiers, args.grid)
    pairs = programmed_pairs(n=args.cells, generator=torch.Generator().manual_seed(0))
    r_bl = torch.cat([pairs[s][0] for s in (-1, 0, 1)])
    r_blb = torch.cat([pairs[s][1] for s in (-1, 0, 1)])
    t_each, p_each = best_of(args.repeats, lambda: torch.stack([m.probabilities(r_bl, r_blb) for m in maps]).mean(0))
    t_mean, p_mean = best_of(args.repeats, lambda: mean_probabilities(maps, r_bl, r_blb))
    print(f"{args.amplifiers} maps of {args.grid}x{args.grid}, {r_bl.numel()} cells, torch threads "
          f"{torch.get_num_threads()}")
    print(f"one interpolation per map (baseline): {t_each:.3f} s")
    print(f"one interpolation of the mean table:  {t_mean:.3f} s")
    print(f"speed-up: {t_each / t_mean:.1f}x; largest difference of the probabilities: "
          f"{float((p_each - p_mean).abs().max()):.2e}")


if __name__ == "__main__":
    main()
