"""PCSA evaluation in float32 against float64: accuracy against a tight reference, and speed.

For the 9 (VDD, window) cases of the accuracy test in tests/circuit/test_pcsa.py (VDD 1.0, 1.2, 1.8 V;
windows 3, 10, 30 characteristic times; 1000 mixed (LRS, HRS)-like and (HRS, HRS)-like cells with
mismatch, the test's batch), runs the default transistors' ``PCSA.sense`` in float64 and in float32
and a float64 reference with every tolerance ``--tighten`` times tighter, and prints per case and
precision: the largest relative decision-time error (cells decided in both), the fraction of values
that differ, the largest relative energy error. Then the speed of both precisions on ``--batch``
(LRS, HRS) cells at 1.2 V, window 10 characteristic times, in the same process (CPU time of the
calling thread, best of ``--repeats``, alternated).

    python benchmarks/pcsa_precision.py
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch

from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.params import R_HRS, R_LRS
from ternary_rram.circuit.pcsa import PCSA, SenseResult
from ternary_rram.device.model import DeviceModel, State


def mixed_batch(pcsa: PCSA, n: int, seed: int):
    """The accuracy test's cells: half (LRS, HRS)-like, half (HRS, HRS)-like with a lognormal spread."""
    gen = torch.Generator().manual_seed(seed)
    r_bl = torch.cat([torch.full((n // 2,), R_LRS), R_HRS * torch.exp(0.5 * torch.randn(n // 2, generator=gen))])
    r_blb = torch.cat([R_HRS * torch.exp(0.5 * torch.randn(n // 2, generator=gen)),
                       R_HRS * torch.exp(0.5 * torch.randn(n // 2, generator=gen))])
    return r_bl.double(), r_blb.double(), pcsa.sample_mismatch(n, gen)


def errors(a: SenseResult, ref: SenseResult) -> tuple[float, float, float]:
    """(largest relative decision-time error, fraction of values that differ, largest relative energy error)."""
    both = torch.isfinite(a.t_decide) & torch.isfinite(ref.t_decide)
    td = float(((a.t_decide - ref.t_decide).abs() / ref.t_decide)[both].max()) if bool(both.any()) else 0.0
    return (td, float((a.value != ref.value).double().mean()),
            float(((a.energy - ref.energy).abs() / ref.energy).max()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=1000)
    ap.add_argument("--tighten", type=float, default=30.0, help="reference tolerances = default / this")
    ap.add_argument("--batch", type=int, default=8192, help="cells of the speed comparison")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    p64 = PCSA()
    p32 = PCSA(dtype=torch.float32)
    p = p64.params
    f = args.tighten
    ref = PCSA(replace(p, rtol=p.rtol / f, atol_fraction=p.atol_fraction / f, rtol_diff=p.rtol_diff / f,
                       atol_diff_fraction=p.atol_diff_fraction / f))
    r_bl, r_blb, dvth = mixed_batch(p64, args.cells, 11)
    worst = {"float64": [0.0, 0.0, 0.0], "float32": [0.0, 0.0, 0.0], "float32 vs float64": [0.0, 0.0, 0.0]}
    print("VDD  window | float64: dt err, values, energy err | float32: same | float32 vs float64")
    for vdd in (1.0, 1.2, 1.8):
        for factor in (3, 10, 30):
            op = OperatingPoint(vdd, factor * p64.characteristic_time(OperatingPoint(vdd, 1.0)))
            b = ref.sense(r_bl, r_blb, op, dvth=dvth)
            a64 = p64.sense(r_bl, r_blb, op, dvth=dvth)
            a32 = p32.sense(r_bl, r_blb, op, dvth=dvth)
            row = {"float64": errors(a64, b), "float32": errors(a32, b), "float32 vs float64": errors(a32, a64)}
            for k, e in row.items():
                worst[k] = [max(x, y) for x, y in zip(worst[k], e)]
            print(f"{vdd:.1f} V {factor:3d} t_char | " + " | ".join(
                f"{e[0]:.2e} {e[1]:.4f} {e[2]:.2e}" for e in row.values()))
    for k, e in worst.items():
        print(f"worst, {k}: decision time {100 * e[0]:.3f} %, values {e[1]:.4f}, energy {100 * e[2]:.3f} %")

    vdd = 1.2
    op = OperatingPoint(vdd, 10.0 * p64.characteristic_time(OperatingPoint(vdd, 1.0)))
    g = torch.Generator().manual_seed(0)
    dev = DeviceModel()
    lrs, hrs = dev.sample(State.LRS, args.batch, g), dev.sample(State.HRS, args.batch, g)
    mm = p64.sample_mismatch(args.batch, g)
    best = {"float64": 0.0, "float32": 0.0}
    for pc in (p64, p32):
        pc.sense(lrs, hrs, op, dvth=mm)  # warm-up
    for _ in range(args.repeats):
        for name, pc in (("float64", p64), ("float32", p32)):
            t0 = time.thread_time()
            pc.sense(lrs, hrs, op, dvth=mm)
            best[name] = max(best[name], args.batch / (time.thread_time() - t0))
    print(f"speed, {args.batch} (LRS, HRS) cells at {vdd} V, window 10 t_char: float64 {best['float64']:.0f}, "
          f"float32 {best['float32']:.0f} senses per CPU second; float32 / float64 = "
          f"{best['float32'] / best['float64']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
