"""``ternary-rram calibrate``: fit device and sense-amplifier parameters to measurements -> PARAMS.json."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch

from ternary_rram.errors import check_int, check_seed
from ternary_rram.experiments.calibrate import calibrate, load_params, read_measurements, write_params
from ternary_rram.fileio import check_output_file, path_arg

NAME = "calibrate"
HELP = ("Fit the device (lognormal LRS/HRS) and sense-amplifier parameters (mismatch scale, HRS spread) "
        "to measured resistances and/or read-outcome counts; write PARAMS.json for --params.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--measured", type=Path, nargs="+", required=True, metavar="FILE.csv",
                        help="measurement files: resistances (columns LRS,HRS, ohm) and/or read-outcome counts "
                             "(columns state,vdd,t_sense,temperature_c,n_plus,n_minus,n_zero)")
    parser.add_argument("--out", type=path_arg, required=True, metavar="PARAMS.json", help="output parameter file")
    parser.add_argument("--params", type=Path, default=None, metavar="PARAMS.json",
                        help="starting parameters (default: the built-in defaults)")
    parser.add_argument("--fit", choices=("both", "mismatch", "hrs-sigma"), default="both",
                        help="sense-amplifier parameters fitted to the counts")
    parser.add_argument("--n-mc", type=int, default=2000, metavar="N",
                        help="Monte Carlo samples per counts row in the transient model")
    parser.add_argument("--seed", type=int, default=0, help="seed of the common random numbers")
    parser.add_argument("--threads", type=int, default=1, metavar="N", help="CPU threads for torch")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def _fmt(v: dict) -> str:
    se = v["se"]
    se_s = "nan" if not math.isfinite(se) else f"{se:.3g}"
    return f"{v['value']:.5g} +- {se_s} {v['unit']}"


def run(args: argparse.Namespace) -> int:
    # The counts fit runs the transient model on n_mc draws per counts row and grid value at once;
    # 10^6 draws are ~1 GB of state per row: far beyond that does not fit in 24 GB.
    check_int("--n-mc", args.n_mc, 50, 1_000_000)
    check_output_file(args.out, "--out")
    check_int("--threads", args.threads, 1, 1024)
    check_seed("--seed", args.seed)
    torch.set_num_threads(args.threads)
    meas = read_measurements(args.measured)
    device, pcsa = (None, None) if args.params is None else load_params(args.params)
    say = None if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    cal = calibrate(meas, pcsa_params=pcsa, base_device=device, fit_mismatch=args.fit in ("both", "mismatch"),
                    fit_hrs_sigma=args.fit in ("both", "hrs-sigma"), n_mc=args.n_mc, seed=args.seed, progress=say)
    path = write_params(args.out, cal)
    for key, v in cal.document["fit"].items():
        print(f"{key:24s} {_fmt(v)}")
    g = cal.document["goodness"].get("counts")
    if g:
        print(f"counts: {g['rows']} rows, {g['reads']} reads, deviance {g['deviance']:.2f} on {g['dof']} dof")
    print(f"wrote {path}")
    return 0
