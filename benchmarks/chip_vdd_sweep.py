"""Chip VDD sweep of the demo networks: accuracy, read errors and energy per inference against VDD.

Trains the demo's two digits MLPs (``experiments.demo.train_small``: binary and ternary weights, width
128, binary activations), then runs ``experiments.deploy.vdd_sweep`` with the default transistors, the
window chosen per VDD by the sense study's rule with the demo's scan (``DEMO_WINDOW_SAMPLES`` cells per
state, ``DEMO_WINDOW_FACTORS``), amplifier pools of the demo's size, arrays read every inference. Prints
the table of docs/benchmarks.md ("Chip VDD sweep") and the wall time; writes the sweep folder to ``--out``.

    python benchmarks/chip_vdd_sweep.py --vdds 1.8,1.2,1.0,0.9,0.85 --out /tmp/vdd-sweep
"""

from __future__ import annotations

import argparse
import time

import torch

from ternary_rram.experiments.demo import (
    DEMO_AMPLIFIERS,
    DEMO_GRID,
    DEMO_MC,
    DEMO_WIDTH,
    DEMO_WINDOW_FACTORS,
    DEMO_WINDOW_SAMPLES,
    train_small,
)
from ternary_rram.experiments.deploy import vdd_sweep
from ternary_rram.nn.data import load_digits


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vdds", type=_floats, default=[1.8, 1.2, 1.0, 0.9, 0.85], help="comma-separated VDDs, V")
    ap.add_argument("--out", default=None, help="folder for sweep.json and the figures")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (the sense itself runs on one)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    data = load_digits(seed=0)
    nets = {"binary": train_small("binary", data, seed=0), "ternary": train_small("ternary", data, seed=0)}
    t_train = time.perf_counter() - t0
    rows = vdd_sweep(nets, data, args.vdds, n_amplifiers=DEMO_AMPLIFIERS, n_grid=DEMO_GRID, n_mc=DEMO_MC,
                     window_samples=DEMO_WINDOW_SAMPLES, window_factors=DEMO_WINDOW_FACTORS, out_dir=args.out,
                     progress=False)
    wall = time.perf_counter() - t0
    n_w = rows[0]["record"].get("n_weights") if isinstance(rows[0].get("record"), dict) else None
    print(f"demo MLPs width {DEMO_WIDTH}{f', {n_w} weights' if n_w else ''}; training {t_train:.1f} s, "
          f"total {wall:.1f} s wall")
    print("| net | VDD | window | acc ideal | acc chip | ->0 | 0-> | flip | E/inference | array part |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['label']} | {r['vdd']:g} V | {r['t_sense'] * 1e9:.3g} ns | {100 * r['accuracy_ideal']:.1f} % | "
              f"{100 * r['accuracy_chip']:.1f} % | {r['to_zero']:.2g} | {r['from_zero']:.2g} | {r['sign_flip']:.2g} | "
              f"{r['energy_per_inference'] * 1e9:.3g} nJ | {r['energy_array'] * 1e9:.3g} nJ |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
