"""ngspice on 1 and 2 OpenMP threads: one foundry-reference point (``pdk_pcsa.run_reference``) timed with each.

ngspice evaluates BSIM4 devices on ``num_threads`` OpenMP threads (set in its start-up file; the
toolkit's ``pdk.SPICEINIT`` sets 1). This runs the same batch ((LRS, HRS) and (HRS, HRS) pairs,
``--instances`` each, mismatch on) with the start-up file set to 1 and to 2 threads, alternated
``--repeats`` times, and prints the wall time of each call (SKY130 must be fetched).

    python benchmarks/ngspice_threads.py --vdd 1.2 --instances 100 --t-stop-ns 3.9
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ternary_rram.chip.params_file import load_params, preset_path
from ternary_rram.circuit import pdk, pdk_pcsa


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vdd", type=float, default=1.2)
    ap.add_argument("--instances", type=int, default=100, help="pairs per state (the batch is twice this)")
    ap.add_argument("--t-stop-ns", type=float, default=3.9, help="transient length, ns")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)
    lib = pdk.sky130_lib()
    if lib is None:
        print("SKY130 not fetched: python -m ternary_rram.circuit.pdk fetch-sky130")
        return 2
    _, params = load_params(preset_path("sky130-tt"))
    pairs = pdk_pcsa.draw_pairs(args.instances, 0)
    r_bl = np.concatenate([pairs["LRS,HRS"][0], pairs["HRS,HRS"][0]])
    r_blb = np.concatenate([pairs["LRS,HRS"][1], pairs["HRS,HRS"][1]])
    shipped = pdk.SPICEINIT
    base = "".join(line + "\n" for line in shipped.splitlines() if not line.startswith("set num_threads"))
    try:
        for _ in range(args.repeats):
            for threads in (1, 2):
                pdk.SPICEINIT = base + f"set num_threads={threads}\n"
                t0 = time.perf_counter()
                pdk_pcsa.run_reference(lib, "tt", params, args.vdd, r_bl, r_blb, args.t_stop_ns * 1e-9,
                                       nfet=pdk.SKY130_NFET, pfet=pdk.SKY130_PFET)
                print(f"{threads} thread(s): {time.perf_counter() - t0:.1f} s ({len(r_bl)} instances, "
                      f"{args.t_stop_ns:g} ns at {args.vdd:g} V)", flush=True)
    finally:
        pdk.SPICEINIT = shipped
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
