"""Sense-map accuracy: the default map against direct transient Monte Carlo at one operating point.

Builds ``SenseMap.from_pcsa`` with the default grid and draws (or ``--n-grid`` / ``--n-mc``), samples
``--pairs`` default-distributed device pairs per programmed state through it, and compares the outcome
fractions with ``--direct`` cells simulated directly (devices and mismatch drawn together). Prints, per
state, P(-1), P(0), P(+1) both ways, the largest difference and two standard errors of the direct
estimate. The default point (0.9 V, window 60 characteristic times) is where (HRS, HRS) pairs start
to resolve, the hardest case for the interpolation.

    python benchmarks/sensemap_accuracy.py
"""

from __future__ import annotations

import argparse
import time

import torch

from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.circuit.read import STATES, simulate_state
from ternary_rram.circuit.sensemap import DEFAULT_N_GRID, DEFAULT_N_MC, SenseMap
from ternary_rram.device.model import DeviceModel


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vdd", type=float, default=0.9, help="supply, V")
    ap.add_argument("--t-factor", type=float, default=60.0, help="window in characteristic times")
    ap.add_argument("--n-grid", type=int, default=DEFAULT_N_GRID, help="grid points per axis")
    ap.add_argument("--n-mc", type=int, default=DEFAULT_N_MC, help="mismatch draws per grid point")
    ap.add_argument("--pairs", type=int, default=1_000_000, help="device pairs per state through the map")
    ap.add_argument("--direct", type=int, default=6000, help="direct transient cells per state")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    pcsa, dev = PCSA(), DeviceModel()
    op = OperatingPoint(args.vdd, args.t_factor * pcsa.characteristic_time(OperatingPoint(args.vdd, 1.0)))
    start = time.perf_counter()
    sm = SenseMap.from_pcsa(pcsa, op, n_grid=args.n_grid, n_mc=args.n_mc,
                            generator=torch.Generator().manual_seed(args.seed))
    print(f"map {args.n_grid} x {args.n_grid} x {args.n_mc} draws at VDD {args.vdd:g} V, window "
          f"{op.t_sense * 1e9:.3g} ns: built in {time.perf_counter() - start:.1f} s")
    gen = torch.Generator().manual_seed(args.seed + 1)
    print(f"{'state':8} {'direct P(-1, 0, +1)':>26} {'map P(-1, 0, +1)':>26} {'max |diff|':>10} {'2 SE':>7}")
    for k, state in enumerate(STATES):
        direct = simulate_state(pcsa, dev, op, state, args.direct, torch.Generator().manual_seed(args.seed + 2 + k))
        d = torch.tensor(direct.fractions(), dtype=torch.float64)
        a, b = state.split("/")
        values = sm.sample(dev.sample(a, args.pairs, gen), dev.sample(b, args.pairs, gen), gen)
        m = torch.bincount(values.long() + 1, minlength=3).double() / values.numel()
        two_se = float(2 * torch.sqrt(d * (1 - d) / args.direct).max())
        fmt = lambda p: " / ".join(f"{x:.4f}" for x in p.tolist())  # noqa: E731
        print(f"{state:8} {fmt(d):>26} {fmt(m):>26} {float((m - d).abs().max()):10.4f} {two_se:7.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
