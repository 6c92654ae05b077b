"""Foundry PDK speed: fitting one corner, and the compact model against the PDK's BSIM4 PCSA in ngspice.

Prints, from one run (SKY130 must be fetched: python -m ternary_rram.circuit.pdk fetch-sky130):
* the wall time of ``calibrate --pdk-lib`` for one corner (DC sweeps of both types at 3 temperatures,
  both fits, the mismatch Monte Carlo of ``--mc-instances`` per type) and its parts;
* compact-model senses per second: batched :meth:`PCSA.sense` with the fitted ``sky130-CORNER`` preset,
  (LRS, HRS) cells at ``--vdd`` over a window of 10 characteristic times, float64 (the default) and
  float32 evaluation, after a warm-up; one CPU thread, as ``sense`` always runs;
* BSIM4 senses per second: the netlist of ``pdk_pcsa.run_reference`` (PCSA with SKY130 transistors,
  mismatch on, the same window and ngspice options) for each of ``--ngspice-instances`` instances per
  ngspice process and ``--transients`` transients in one process (the same amplifiers reading new
  cells: ``alter`` the RRAM resistors and ``run`` again). The library cut is made once, as
  ``foundry_reference`` could; each timing is the whole ngspice call (files written, process start,
  library cut loaded, transients, output read). ngspice runs on one thread. Each configuration is
  timed once beside one float64 compact call (the machine's load changes); the configuration with
  the best rate relative to its neighbour is then alternated ``--repeats`` times with both
  precisions, and the best rate of each gives the final ratios;
and the ratios (goal: the compact model >= 10,000x faster per sense than BSIM4 in ngspice).

    python benchmarks/pdk_speed.py --corner tt --skip-fit
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from ternary_rram.chip.params_file import load_params, preset_path
from ternary_rram.circuit import pdk, pdk_pcsa
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.params import PCSAParams
from ternary_rram.circuit.pcsa import PCSA, STATE_NAMES
from ternary_rram.device.model import DeviceModel, State
from ternary_rram.experiments.pdk_calibrate import calibrate_pdk


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def reference_netlist(params: PCSAParams, vdd: float, r_bl: np.ndarray, r_blb: np.ndarray, n: int, runs: int,
                      window: float, scale: float, temperature_c: float = 27.0) -> tuple[str, list[str]]:
    """``run_reference``'s netlist for ``n`` instances, run ``runs`` times in one process: before each
    further transient the 2n RRAM resistors are altered to the next cells of r_bl, r_blb ((n runs,))."""
    text = pdk_pcsa.netlist(params, vdd, r_bl[:n], r_blb[:n], window, window / 200, pdk.SKY130_NFET, pdk.SKY130_PFET,
                            scale)
    text = text.replace(".control", f".control\noption temp={temperature_c:g}", 1)
    wr = next(line for line in text.splitlines() if line.startswith("wrdata pcsa.dat"))
    more, outputs = [], ["pcsa.dat"]
    for j in range(1, runs):
        for k in range(n):
            more += [f"alter R_bl_{k} = {r_bl[j * n + k]:.6g}", f"alter R_blb_{k} = {r_blb[j * n + k]:.6g}"]
        more += ["run", wr.replace("pcsa.dat", f"pcsa{j}.dat")]
        outputs.append(f"pcsa{j}.dat")
    return text.replace(wr, "\n".join([wr, *more]), 1), outputs


def ngspice_rate(cut: pdk.CutLibrary, params: PCSAParams, vdd: float, r_bl, r_blb, n: int, runs: int,
                 window: float, repeats: int) -> float:
    """Best senses/s over ``repeats`` ngspice calls of ``runs`` transients of ``n`` instances each."""
    text, outputs = reference_netlist(params, vdd, r_bl, r_blb, n, runs, window, cut.scale)
    best = 0.0
    for _ in range(repeats):
        t0 = time.perf_counter()
        data = pdk.run_ngspice({"cut.spice": cut.text, "main.cir": text}, "main.cir", outputs,
                               what="PDK PCSA speed run")
        best = max(best, n * runs / (time.perf_counter() - t0))
        for name in outputs:  # every instance of every transient came back
            assert data[name].shape[1] == 1 + n * (len(STATE_NAMES) + 1), name
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corner", default="tt")
    ap.add_argument("--vdd", type=float, default=1.2, help="supply of the sense comparison, V")
    ap.add_argument("--batch", type=int, default=8192, help="compact-model batch")
    ap.add_argument("--ngspice-instances", type=_ints, default=[1, 5, 20, 50, 100],
                    help="comma-separated PCSA instances per ngspice run")
    ap.add_argument("--transients", type=_ints, default=[1, 5, 20],
                    help="comma-separated transients per ngspice process (RRAM resistors altered between them)")
    ap.add_argument("--repeats", type=int, default=3, help="timed calls per configuration (best kept)")
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
    variants = {"float64": pcsa, "float32": PCSA(params, dtype=torch.float32)}
    for pc in variants.values():
        pc.sense(r_bl, r_blb, op, dvth=dvth)  # warm-up

    def compact_rate(pc: PCSA) -> float:
        t0 = time.perf_counter()
        pc.sense(r_bl, r_blb, op, dvth=dvth)
        return args.batch / (time.perf_counter() - t0)

    types = params.transistor_types()
    sizes = {dev_name: sorted({(w, l) for t, w, l in zip(types, params.widths, params.lengths) if t.polarity == pol})
             for dev_name, pol in ((pdk.SKY130_NFET, 1), (pdk.SKY130_PFET, -1))}
    t0 = time.perf_counter()
    cut = pdk.cut_library(lib, args.corner, sizes, mismatch=True)
    print(f"window {window * 1e9:.3g} ns at {args.vdd:g} V; library cut (made once, not in the ngspice timings): "
          f"{time.perf_counter() - t0:.2f} s")
    need = max(args.ngspice_instances) * max(args.transients)
    pairs_l, pairs_h = dev.sample(State.LRS, need, g).numpy(), dev.sample(State.HRS, need, g).numpy()
    # Scan: each ngspice configuration beside one float64 compact call, so every line's ratio sees the
    # same machine load; then the final comparison alternates the best configuration with both precisions.
    best, best_at = 0.0, (1, 1)
    for runs in args.transients:
        for n in args.ngspice_instances:
            rate = ngspice_rate(cut, params, args.vdd, pairs_l, pairs_h, n, runs, window, 1)
            ref = compact_rate(pcsa)
            print(f"BSIM4 in ngspice, {n:4d} instances x {runs:2d} transients per process: {rate:8.2f} senses/s; "
                  f"compact float64 beside it {ref:.0f} senses/s: x{ref / rate:.0f}")
            if rate / ref > best:
                best, best_at = rate / ref, (n, runs)
    n, runs = best_at
    rates: dict[str, list[float]] = {"ngspice": [], "float64": [], "float32": []}
    for _ in range(args.repeats):
        rates["ngspice"].append(ngspice_rate(cut, params, args.vdd, pairs_l, pairs_h, n, runs, window, 1))
        for name, pc in variants.items():
            rates[name].append(compact_rate(pc))
    top = {name: max(r) for name, r in rates.items()}
    print(f"best ngspice configuration (highest rate relative to the compact model beside it): {n} instances x "
          f"{runs} transients per process")
    for name, r in rates.items():
        print(f"  {name}: best {top[name]:.2f} senses/s (all: {', '.join(f'{x:.1f}' for x in r)})")
    for name in variants:
        print(f"ratio compact ({name}, batch {args.batch}) / best BSIM4 in ngspice, per sense: "
              f"x{top[name] / top['ngspice']:.0f} (goal x10000)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
