"""`ternary-rram spice`: compare the PCSA transient model with ngspice over a VDD/state/window grid."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from ternary_rram.cli.console import add_hidden_alias, add_quiet_argument
from ternary_rram.cli.process import PROCESSES, add_pdk_device_arguments, add_process_argument, resolve_params
from ternary_rram.errors import InputError
from ternary_rram.fileio import path_arg

NAME = "spice"
HELP = ("Compare the sense-amplifier model with ngspice (value, decision time, energy) over a grid; with --pdk, "
        "against the same PCSA built from a foundry PDK's own transistors and mismatch (foundry reference).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # --out names where results go in every command: a folder, or the one file a command writes.
    parser.add_argument("--out", dest="json", type=path_arg, metavar="FILE.json", default=None,
                        help="also write the table and summary as JSON to this file")
    add_hidden_alias(parser, "--json", "json", type=path_arg)
    parser.add_argument("--quick", action="store_true", help="small grid: 3 VDD values, one window, one pair per state")
    parser.add_argument("--seed", type=int, default=0, help="seed of the mismatch draw shared by both simulators")
    parser.add_argument("--no-mismatch", action="store_true", help="switch threshold mismatch off")
    add_quiet_argument(parser, what="accepted by every command; spice draws no progress bar")
    ref = parser.add_argument_group("foundry reference (--pdk)")
    ref.add_argument("--pdk", type=Path, default=None, metavar="LIB.spice",
                     help="run the PCSA with this PDK's transistors (SKY130: python -m ternary_rram.circuit.pdk "
                          "fetch-sky130 prints its path)")
    add_pdk_device_arguments(ref)
    ref.add_argument("--params", type=Path, default=None, metavar="PARAMS.json",
                     help="fitted compact model to compare (from calibrate --pdk-lib; default --process sky130-CORNER)")
    add_process_argument(ref)
    ref.add_argument("--mc", type=int, default=100, metavar="N", help="Monte Carlo instances per pair type and VDD")
    ref.add_argument("--vdd", type=float, nargs="+", default=None, metavar="V",
                     help="supply voltages (default 1.8 down to 0.5 in 0.1 V steps, stopping where nothing decides)")
    ref.add_argument("--t-cap", type=float, default=200.0, metavar="NS", help="longest transient (ns)")
    ref.add_argument("--figure", type=Path, default=None, metavar="FILE.png",
                     help="also draw decision times, W_low, W_high, margin and flips against VDD")


def _fmt(x: float, scale: float, digits: int = 3) -> str:
    return "nan" if not math.isfinite(x) else f"{x * scale:.{digits}g}"


def _run_pdk(args: argparse.Namespace) -> int:
    from ternary_rram.experiments.pdk_calibrate import foundry_study

    params_path = resolve_params(args)
    if params_path is None:
        process = f"sky130-{args.corner}"
        if process not in PROCESSES:
            raise InputError(f"--corner={args.corner!r} has no shipped preset: give --params PARAMS.json")
        args.process = process
        params_path = resolve_params(args)
    if args.mc < 10:
        raise InputError(f"--mc={args.mc} is not allowed: must be >= 10")
    vdds = args.vdd or [round(1.8 - 0.1 * k, 2) for k in range(14)]
    for v in vdds:
        if not 0.1 <= v <= 2.0:
            raise InputError(f"--vdd={v!r} is not allowed: must lie in [0.1, 2.0] V")
    say = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    res = foundry_study(args.pdk, args.corner, params_path, vdds, n=args.mc, nfet=args.nfet, pfet=args.pfet,
                        seed=args.seed, t_cap=args.t_cap * 1e-9,
                        label=f"--process {args.process}" if args.process else None,
                        json_path=Path(args.json) if args.json else None, figure=args.figure, progress=say)
    for line in foundry_table(res):
        print(line)
    return 0


def _ns(x) -> str:
    if x is None:
        return "-"
    if x == "inf":
        return ">win"
    return f"{x * 1e9:.3g}"


def _pct(x) -> str:
    return "-" if x is None else f"{x * 100:.0f}%"


def foundry_table(res: dict) -> list[str]:
    """The side-by-side table: reference (BSIM4, ref) and fitted compact model (cmp) per VDD."""
    out = [f"foundry reference: {res['library']} [{res['corner']}], {res['instances']} MC instances per pair type; "
           f"times in ns (>win: beyond the simulated window), energy in fJ at the reference's W_low",
           f"{'VDD':>4} {'t_med ref/cmp':>14} {'err':>5} {'W_low ref/cmp':>14} {'err':>5} {'W_high ref/cmp':>15} "
           f"{'margin ref/cmp':>15} {'err':>5} {'flips ref/cmp':>13} {'E ref/cmp':>12} {'err':>5} goal"]
    for r in res["rows"]:
        a, b, e = r["reference"], r["compact"], r["rel_err"]
        m = lambda x: "-" if x is None else f"{x:.3g}"  # noqa: E731
        out.append(f"{r['vdd']:4.2f} {_ns(a['t_median']):>6}/{_ns(b['t_median']):<7} {_pct(e['t_median']):>5} "
                   f"{_ns(a['w_low']):>6}/{_ns(b['w_low']):<7} {_pct(e['w_low']):>5} "
                   f"{_ns(a['w_high']):>7}/{_ns(b['w_high']):<7} {m(a['margin']):>7}/{m(b['margin']):<7} "
                   f"{_pct(e['margin']):>5} {a['flip_rate']:6.2f}/{b['flip_rate']:<6.2f} "
                   f"{a['energy'] * 1e15:5.1f}/{b['energy'] * 1e15:<6.1f} {_pct(e['energy']):>5} "
                   f"{'yes' if r['in_goal_range'] else 'no'}")
    fo = res["flip_onset"]
    out.append(f"flip onset (highest VDD with (LRS,HRS) sign flips > 1e-3): reference {fo['reference']}, "
               f"compact {fo['compact']} V ({'within' if fo['agree'] else 'NOT within'} 0.05 V)")
    goal = f"goal range VDD >= Vth + 0.3 V = {res['vth'] + 0.3:.2f} V (Vth: larger fitted |V_T0|)"
    if res["misses"]:
        out.append(f"misses ({goal}): " + "; ".join(
            f"{m['metric']} at {m['vdd']:.2f} V: {_pct(m['rel_err'])} > {m['goal'] * 100:.0f}%" for m in res["misses"]))
    else:
        out.append(f"every metric within its goal in the {goal}")
    return out


def run(args: argparse.Namespace) -> int:
    if args.pdk is not None:
        return _run_pdk(args)
    from ternary_rram.circuit import spice
    from ternary_rram.errors import check_seed
    from ternary_rram.fileio import atomic_write_text, check_output_file

    check_seed("--seed", args.seed)
    if args.json is not None:
        check_output_file(args.json, "--out")
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
