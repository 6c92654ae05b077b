"""Sense throughput: transient PCSA Monte Carlo, sense-map sampling and ngspice, from one run.

Prints
* transient Monte Carlo senses per second (batched :meth:`PCSA.sense`, (LRS, HRS) cells at VDD with
  a window of ``--t-factor`` characteristic times, fresh devices and mismatch per instance; median of
  3 calls after a warm-up call),
* sense-map samples per second (:meth:`SenseMap.sample` on ``--map-pairs`` device pairs; the map is
  built from counts on a 41 x 41 grid, the cost of sampling does not depend on the values),
* ngspice transient runs per second of the same circuit and window (``spice.ngspice_runs_per_second``;
  skipped with a message when ngspice is missing),
and the ratios (goals: transient >= 1000x ngspice per sense; sense map >= 1e7 samples/s).

    python benchmarks/sense_throughput.py --batch 10000 --map-pairs 10000000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from ternary_rram.circuit import spice
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.circuit.sensemap import SenseMap
from ternary_rram.device.model import DeviceModel, State


def transient_rate(vdd: float, batch: int, t_factor: float, seed: int, repeats: int = 3) -> float:
    """Senses per second of one batched transient call, the median of ``repeats`` timed calls after
    one untimed warm-up call (devices and mismatch drawn outside the timer)."""
    pcsa = PCSA()
    op = OperatingPoint(vdd, t_factor * pcsa.characteristic_time(OperatingPoint(vdd, 1.0)))
    g = torch.Generator().manual_seed(seed)
    dev = DeviceModel()
    r_bl, r_blb = dev.sample(State.LRS, batch, g), dev.sample(State.HRS, batch, g)
    dvth = pcsa.sample_mismatch(batch, g)
    pcsa.sense(r_bl, r_blb, op, dvth=dvth)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        pcsa.sense(r_bl, r_blb, op, dvth=dvth)
        rates.append(batch / (time.perf_counter() - start))
    return float(np.median(rates))


def map_rate(n_pairs: int, seed: int, repeats: int = 3) -> float:
    """Sense-map samples per second (best of ``repeats``) on HRS/LRS-distributed pairs."""
    g = 41
    axis = np.exp(np.linspace(np.log(1e3), np.log(1e8), g))
    rb, rbb = np.meshgrid(axis, axis, indexing="ij")
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 100, size=(g * g, 3)) + 1
    table = {"r_bl": rb.ravel(), "r_blb": rbb.ravel(), "n_minus": counts[:, 0], "n_zero": counts[:, 1],
             "n_plus": counts[:, 2], "vdd": 0.9, "t_sense": 1e-9, "temperature_c": 27.0}
    sm = SenseMap.from_counts(table)
    gen = torch.Generator().manual_seed(seed)
    dev = DeviceModel()
    is_lrs = torch.rand(n_pairs, generator=gen) < 0.5
    r_bl = dev.sample_pairs(is_lrs, gen)
    r_blb = dev.sample_pairs(~is_lrs, gen)
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        sm.sample(r_bl, r_blb, gen)
        best = max(best, n_pairs / (time.perf_counter() - start))
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vdd", type=float, default=1.2, help="supply, V")
    ap.add_argument("--t-factor", type=float, default=10.0, help="window in characteristic times")
    ap.add_argument("--batch", type=int, default=10_000, help="transient Monte Carlo batch")
    ap.add_argument("--map-pairs", type=int, default=10_000_000, help="pairs sampled through the sense map")
    ap.add_argument("--spice-runs", type=int, default=5, help="ngspice runs timed")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    tr = transient_rate(args.vdd, args.batch, args.t_factor, args.seed)
    print(f"transient PCSA Monte Carlo : {tr:12.4g} senses/s  (batch {args.batch}, VDD {args.vdd:g} V, "
          f"window {args.t_factor:g} t_char)")
    mr = map_rate(args.map_pairs, args.seed)
    print(f"sense-map sampling         : {mr:12.4g} samples/s ({args.map_pairs} pairs; goal >= 1e7)")
    print(f"  sense map / transient    : {mr / tr:12.4g} x")
    if spice.ngspice_available():
        sr = spice.ngspice_runs_per_second(vdd=args.vdd, n_runs=args.spice_runs, t_factor=args.t_factor)
        print(f"ngspice transient runs     : {sr:12.4g} runs/s (1 instance per run, process start included)")
        print(f"  transient / ngspice      : {tr / sr:12.4g} x per sense (goal >= 1000)")
    else:
        print("ngspice transient runs     : skipped (ngspice not found on PATH)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
