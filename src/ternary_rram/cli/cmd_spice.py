"""`ternary-rram spice`: compare the PCSA transient model with ngspice over a VDD/state/window grid."""

from __future__ import annotations

import argparse
import json
import math
import sys

NAME = "spice"
HELP = "Compare the sense-amplifier model with ngspice (value, decision time, energy) over a grid."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="FILE", default=None, help="also write the table and summary as JSON")
    parser.add_argument("--quick", action="store_true", help="small grid: 3 VDD values, one window, one pair per state")
    parser.add_argument("--seed", type=int, default=0, help="seed of the mismatch draw shared by both simulators")
    parser.add_argument("--no-mismatch", action="store_true", help="switch threshold mismatch off")


def _fmt(x: float, scale: float, digits: int = 3) -> str:
    return "nan" if not math.isfinite(x) else f"{x * scale:.{digits}g}"


def run(args: argparse.Namespace) -> int:
    from ternary_rram.circuit import spice
    from ternary_rram.errors import check_seed
    from ternary_rram.fileio import atomic_write_text, check_output_file

    check_seed("--seed", args.seed)
    if args.json is not None:
        check_output_file(args.json, "--json")
    if not spice.ngspice_available():
        print("ternary-rram spice: error: ngspice not found on PATH (apt-get install ngspice)", file=sys.stderr)
        return 2
    rows = spice.compare(quick=args.quick, seed=args.seed, mismatch=not args.no_mismatch)
    head = (f"{'VDD/V':>5} {'win/ns':>7} {'prog':>4} {'R_bl/k':>7} {'R_blb/k':>7} {'val m/s':>7} "
            f"{'t_dec m/ns':>10} {'t_dec s/ns':>10} {'E m/fJ':>7} {'E s/fJ':>7} {'err_t':>7} {'err_E':>7} near")
    print(head)
    for r in rows:
        print(f"{r.vdd:5.2f} {r.t_sense * 1e9:7.3f} {r.programmed:+4d} {r.r_bl / 1e3:7.1f} {r.r_blb / 1e3:7.1f} "
              f"{r.model_value:+d}/{r.spice_value:+d}   {_fmt(r.model_t_decide, 1e9):>10} {_fmt(r.spice_t_decide, 1e9):>10} "
              f"{_fmt(r.model_energy, 1e15):>7} {_fmt(r.spice_energy, 1e15):>7} {_fmt(r.rel_err_t_decide, 100, 2):>6}% "
              f"{_fmt(r.rel_err_energy, 100, 2):>6}% {'*' if r.near_boundary else ''}")
    summ = spice.summary(rows)
    print("summary: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in summ.items()))
    if args.json:
        atomic_write_text(args.json, json.dumps({"summary": summ, "rows": spice.rows_as_dicts(rows)}, indent=1))
    return 0
