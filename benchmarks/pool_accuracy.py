"""Amplifier-pool maps against direct transient Monte Carlo of the same amplifiers and cells.

    python benchmarks/pool_accuracy.py [--vdd 0.5] [--factor 40] [--grid 25] [--mc 8] [--cells 256]

For ``--amplifiers`` amplifiers (mismatch drawn once) and ``--cells`` (HRS, HRS) cells per amplifier
(default devices: the hardest state, at the decision boundary), compares the probabilities of
reading -1 / 0 / +1 averaged over the cells: through each amplifier's map of a pool built over the
default device range (``chip.deploy.sense_map_grid``) with ``--grid`` points per axis and ``--mc``
noise draws, against ``--reps`` direct transient senses per cell with the same amplifier and the same
noise law (``Array2T2R.read_transient``). Prints the largest difference and 2 standard errors of the
direct estimate (binomial, same cells), per amplifier and pooled; the criterion is 1 % + 2 SE.
The window is ``--factor`` x the PCSA characteristic time at that VDD.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from ternary_rram.array import Array2T2R
from ternary_rram.array.column import build_pool
from ternary_rram.array.params import DEFAULT_NOISE
from ternary_rram.chip.deploy import sense_map_grid
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.device import DeviceModel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vdd", type=float, default=0.5)
    ap.add_argument("--factor", type=float, default=40.0)
    ap.add_argument("--grid", type=int, default=25)
    ap.add_argument("--mc", type=int, default=8)
    ap.add_argument("--amplifiers", type=int, default=2)
    ap.add_argument("--cells", type=int, default=256)
    ap.add_argument("--reps", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    pcsa, dm = PCSA(), DeviceModel()
    op = OperatingPoint(args.vdd, args.factor * pcsa.characteristic_time(OperatingPoint(args.vdd, 1e-9)))
    g = torch.Generator().manual_seed(args.seed)
    r_min, r_max = sense_map_grid(dm)
    t0 = time.perf_counter()
    pool = build_pool(pcsa, op, r_min=r_min, r_max=r_max, n_amplifiers=args.amplifiers, n_grid=args.grid,
                      n_mc=args.mc, noise=DEFAULT_NOISE, generator=g)
    t_pool = time.perf_counter() - t0
    n, k = args.cells, args.amplifiers
    arr = Array2T2R(n, k, dm)  # one column per amplifier
    arr.program(torch.zeros(n, k, dtype=torch.int8), g)
    arr.assign_amplifiers(pool, g)
    arr.pool_index = torch.arange(k)  # column c is amplifier c of the pool
    arr.pcsa_mismatch = pool.mismatch
    amp = arr.pool_index[arr.amplifier_index().reshape(-1)]
    cum, _ = pool.cell_tables(amp, arr.r_bl.reshape(-1), arr.r_blb.reshape(-1))
    p_map = torch.stack([cum[:, 0], cum[:, 1] - cum[:, 0], 1 - cum[:, 1]], 1).double()
    counts = torch.zeros(n * k, 3, dtype=torch.float64)
    t0 = time.perf_counter()
    for _ in range(args.reps):
        v = arr.read_transient(pcsa, op, g, noise=DEFAULT_NOISE).weights.reshape(-1).long() + 1
        counts[torch.arange(n * k), v] += 1
    t_direct = time.perf_counter() - t0
    p_cell = counts / args.reps
    rows = []
    for label, sel in [(f"amplifier {c}", amp == c) for c in range(k)] + [("pooled", amp >= 0)]:
        m = int(sel.sum())
        pm, pd = p_map[sel].mean(0), p_cell[sel].mean(0)
        se = torch.sqrt((p_cell[sel] * (1 - p_cell[sel])).sum(0) / (args.reps - 1)) / m
        rows.append({"cells": label, "map": pm.tolist(), "direct": pd.tolist(), "two_se": (2 * se).tolist(),
                     "max_abs_diff": float((pm - pd).abs().max()),
                     "within_1pct_plus_2se": bool(((pm - pd).abs() <= 0.01 + 2 * se).all())})
    print(json.dumps({"vdd": args.vdd, "t_sense": op.t_sense, "grid": args.grid, "grid_step_ln_r":
                      (math.log(r_max) - math.log(r_min)) / (args.grid - 1), "mc": args.mc,
                      "pool_build_s": t_pool, "direct_s": t_direct, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
