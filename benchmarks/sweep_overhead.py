"""Sweep engine speed: overhead per point against calling the experiment directly, and the speed-up
from 1 to 2 local Dask workers.

    python benchmarks/sweep_overhead.py                 # defaults below
    python benchmarks/sweep_overhead.py --points 16 --samples 4 --heavy-samples 64

Measured after warming the workers up (imports, first call), so that the numbers are the steady
state of a long sweep; the local cluster's start-up time is reported separately.

1. Overhead per point: N points of a no-op experiment through the sweep (Dask task, result row
   written as Parquet) and N cheap "sense" points, against the same points called in this process.
2. Speed-up: N heavier "sense" points on a local cluster of 1 worker, then of 2 workers.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time

import torch

from ternary_rram.experiments.points import Experiment, Param, get_experiment, register
from ternary_rram.experiments.sweep import parse_spec, run_sweep


def null_point(params: dict, seed: int) -> dict:
    """A point that does nothing: measures the engine alone."""
    return {"value": float(params["x"]) + (seed % 7)}


def _register_null() -> None:
    # Workers import this module by name: it must be on their sys.path (spawned workers inherit ours).
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    register(Experiment(name="bench-null", target="sweep_overhead:null_point",
                        params=(Param("x", "int", 0, low=0, high=10**9),), metrics=("value",)), replace=True)


def _warm(samples: int) -> int:
    """Run inside each worker: import and call the sense experiment once."""
    exp = get_experiment("sense")
    exp.load()(exp.resolve({"samples": samples, "states": "binary", "t_sense": 0.3e-9}), 0)
    return os.getpid()


def _sense_spec(n: int, samples: int, t_sense: float) -> dict:
    vdd = [round(0.9 + 0.3 * i / max(n - 1, 1), 6) for i in range(n)]
    return {"experiment": "sense", "fixed": {"samples": samples, "states": "ternary", "t_sense": t_sense},
            "grid": {"vdd": vdd}}


def _direct(spec: dict, repeats: int = 1) -> float:
    """Best of ``repeats`` wall times of calling every point in this process (s)."""
    s = parse_spec(spec)
    fn = s.experiment.load()
    pts = s.points()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for p in pts:
            fn(dict(p.params), p.seed)
        best = min(best, time.perf_counter() - t0)
    return best


def _swept(client, spec: dict, repeats: int = 1) -> float:
    """Best of ``repeats`` wall times of run_sweep into a fresh folder (no summary) (s)."""
    best = float("inf")
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            rep = run_sweep(parse_spec(spec), d, client=client, progress=False, summary=False)
            best = min(best, time.perf_counter() - t0)
            assert rep.n_ok == rep.n_points, rep.failed
    return best


def _cluster(n_workers: int):
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.CRITICAL)
    client = Client(cluster)
    client.wait_for_workers(n_workers)
    return cluster, client, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=16, help="points per measurement")
    ap.add_argument("--samples", type=int, default=4, help="Monte Carlo samples per state, cheap sense points")
    ap.add_argument("--heavy-points", type=int, default=8, help="points of the speed-up measurement")
    ap.add_argument("--heavy-samples", type=int, default=32, help="samples per state, speed-up measurement")
    ap.add_argument("--t-sense", type=float, default=1e-9, help="sense window of the sense points (s)")
    ap.add_argument("--repeats", type=int, default=3, help="best of this many runs per measurement")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # like a Dask worker (OMP_NUM_THREADS=1): a fair direct baseline
    _register_null()

    n = args.points
    null_spec = {"experiment": "bench-null", "grid": {"x": list(range(n))}}
    null_big = {"experiment": "bench-null", "grid": {"x": list(range(1000, 1000 + 4 * n))}}
    cheap = _sense_spec(n, args.samples, args.t_sense)
    heavy = _sense_spec(args.heavy_points, args.heavy_samples, args.t_sense)

    k = args.repeats
    _warm(args.samples)
    t_null_direct = _direct(null_spec, k)
    t_cheap_direct = _direct(cheap, k)
    t_heavy_direct = _direct(heavy, k)

    cluster, client, t_start1 = _cluster(1)
    try:
        client.run(_warm, args.samples)
        _swept(client, null_spec)  # warm-up of the client side (imports, first Parquet write)
        t_null_1 = _swept(client, null_spec, k)
        t_null_big = _swept(client, null_big, k)
        t_cheap_1 = _swept(client, cheap, k)
        t_heavy_1 = _swept(client, heavy, k)
    finally:
        client.close()
        cluster.close()
    cluster, client, t_start2 = _cluster(2)
    try:
        client.run(_warm, args.samples)
        _swept(client, null_spec)
        t_heavy_2 = _swept(client, heavy, k)
    finally:
        client.close()
        cluster.close()

    ms = 1e3
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (1 min) at the end; "
          f"best of {k} runs per measurement")
    print(f"local cluster start-up: 1 worker {t_start1:.1f} s, 2 workers {t_start2:.1f} s (before warm-up)")
    print()
    marginal = (t_null_big - t_null_1) / (3 * n)
    print(f"no-op points: {n} in {t_null_1:.2f} s, {4 * n} in {t_null_big:.2f} s -> marginal cost "
          f"{marginal * ms:.1f} ms per point, fixed cost {t_null_1 - n * marginal:.2f} s per sweep call "
          "(expansion, store scan, consolidation into results.parquet)")
    print()
    print("| measurement | points | direct (in process) | sweep, 1 worker | overhead per point |")
    print("|---|---|---|---|---|")
    for label, k, td, ts in (("no-op point", n, t_null_direct, t_null_1),
                             (f"sense, {args.samples} samples x 3 states", n, t_cheap_direct, t_cheap_1),
                             (f"sense, {args.heavy_samples} samples x 3 states", args.heavy_points,
                              t_heavy_direct, t_heavy_1)):
        print(f"| {label} | {k} | {td / k * ms:.1f} ms/pt | {ts / k * ms:.1f} ms/pt | {(ts - td) / k * ms:+.1f} ms |")
    print()
    print(f"speed-up 1 -> 2 workers ({args.heavy_points} sense points, {args.heavy_samples} samples x 3 states, "
          f"t_sense {args.t_sense:g} s): {t_heavy_1:.2f} s -> {t_heavy_2:.2f} s = x{t_heavy_1 / t_heavy_2:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
