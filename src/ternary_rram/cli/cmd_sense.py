"""``ternary-rram sense``: Monte Carlo read statistics of the 2T2R PCSA against VDD, window, temperature."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Sequence

from ternary_rram.errors import InputError, check_int, check_range, check_seed
from ternary_rram.fileio import check_output_folder, output_lock, path_arg
from ternary_rram.experiments.sense import (DEFAULT_TEMPERATURE_C, SenseRecord, SenseStudy, SenseStudyConfig,
                                            WindowChoice, run_sense_study)

NAME = "sense"
HELP = ("Monte Carlo over RRAM devices and transistor mismatch with the transient PCSA: read-outcome "
        "probabilities, decision time and energy per VDD, sense window, temperature and programmed state.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vdd", type=float, nargs="+", default=[1.2, 0.9, 0.6], metavar="V",
                        help="supply voltages, V, each in (0, 2]")
    parser.add_argument("--t-sense", type=float, nargs="+", default=None, metavar="S",
                        help="sense windows, s (> 0); omitted: chosen per VDD to best separate the three states")
    parser.add_argument("--temperature-c", type=float, nargs="+", default=[DEFAULT_TEMPERATURE_C], metavar="C",
                        help="temperatures, degrees Celsius")
    parser.add_argument("--samples", type=int, default=2000, metavar="N",
                        help="Monte Carlo instances per (VDD, window, temperature, state)")
    parser.add_argument("--scan-samples", type=int, default=None, metavar="N",
                        help="instances per state in the automatic window scan (default min(samples, 2000))")
    parser.add_argument("--out", type=path_arg, default=Path("sense-out"), metavar="DIR", help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--params", type=Path, default=None, metavar="PARAMS.json",
                        help="calibrated device and sense-amplifier parameters (from `ternary-rram calibrate`)")


#: Most Monte Carlo instances per point. Measured (one VDD, one window, 1 thread): 50,000 instances
#: take ~32 s and ~10 MB of peak memory more than 2,000 (`ternary-rram sense --vdd 1.2 --t-sense 1e-9
#: --samples N --no-figures`), so the bound is time, not memory: 10^7 instances are hours per point,
#: 10^9 would be weeks; the default is 2000.
SAMPLES_MAX = 10_000_000
#: Longest sense window, s: windows are nanoseconds (t_char ~ 0.1-10 ns); the model steps through the
#: window, so a window of seconds would run for days.
T_SENSE_MAX = 1e-6
#: Most values per swept option (VDD, window, temperature): each adds a full study per state.
VALUES_MAX = 1000


def config_from_args(args: argparse.Namespace) -> SenseStudyConfig:
    """Build and validate the study configuration (InputError on the first bad value)."""
    check_int("--samples", args.samples, 1, SAMPLES_MAX)
    if args.scan_samples is not None:
        check_int("--scan-samples", args.scan_samples, 1, SAMPLES_MAX)
    check_seed("--seed", args.seed)
    for option, values in (("--vdd", args.vdd), ("--t-sense", args.t_sense), ("--temperature-c", args.temperature_c)):
        if values is not None and len(values) > VALUES_MAX:
            raise InputError(f"{option}: {len(values)} values are not allowed: give at most {VALUES_MAX}")
    for t in args.t_sense or ():
        check_range("t_sense", t, 0.0, T_SENSE_MAX, low_open=True, unit="s")
    cfg = SenseStudyConfig(
        vdds=tuple(args.vdd), t_senses=None if args.t_sense is None else tuple(args.t_sense),
        temperatures_c=tuple(args.temperature_c), n_samples=args.samples, n_window_scan=args.scan_samples,
        seed=args.seed, figures=not args.no_figures)
    return cfg.validate()


def describe_window(w: WindowChoice) -> str:
    """One line about an automatic window choice."""
    i = w.best_index
    return (f"VDD={w.vdd:g} V, {w.temperature_c:g} C: chose t_sense={w.t_sense * 1e9:.4g} ns "
            f"({w.t_sense / w.t_char:.3g} x t_char) -> P(+1|LRS,HRS)={w.p_correct_lh[i]:.4f}, "
            f"P(-1|HRS,LRS)={w.p_correct_hl[i]:.4f}, P(0|HRS,HRS)={w.p_zero_hh[i]:.4f} "
            f"(scan of {w.n_samples} per state)")


def format_table(records: Sequence[SenseRecord]) -> str:
    """Plain-text table of the records."""
    head = (f"{'VDD(V)':>6} {'t_sense(ns)':>11} {'T(C)':>5} {'state':>8} {'P(+1)':>7} {'P(0)':>7} {'P(-1)':>7} "
            f"{'flip':>8} {'t_dec(ns)':>9} {'E(fJ)':>7}")
    lines = [head, "-" * len(head)]
    for r in records:
        flip = "-" if not math.isfinite(r.p_sign_flip) else f"{r.p_sign_flip:.2e}"
        td = "-" if not math.isfinite(r.t_decide_mean) else f"{r.t_decide_mean * 1e9:.4g}"
        lines.append(f"{r.vdd:>6g} {r.t_sense * 1e9:>11.4g} {r.temperature_c:>5g} {r.state:>8} {r.p_plus:>7.4f} "
                     f"{r.p_zero:>7.4f} {r.p_minus:>7.4f} {flip:>8} {td:>9} {r.energy_per_sense * 1e15:>7.2f}")
    return "\n".join(lines)


def run_and_report(cfg: SenseStudyConfig, out: Path, progress: bool, params: Path | None = None) -> SenseStudy:
    """Run the study, printing window choices as they are made, then the table and the files.

    ``params``: a PARAMS.json from ``ternary-rram calibrate`` (device and PCSA parameters), or None
    for the defaults."""
    pcsa, device = None, None
    if params is not None:
        from ternary_rram.circuit.pcsa import PCSA
        from ternary_rram.experiments.calibrate import load_params

        device, pcsa_params = load_params(params)
        pcsa = PCSA(pcsa_params)
    with output_lock(out, "--out"):
        return _run_locked(cfg, out, progress, pcsa, device)


def _run_locked(cfg: SenseStudyConfig, out: Path, progress: bool, pcsa, device) -> SenseStudy:
    study = run_sense_study(cfg, out, pcsa=pcsa, device=device, progress=progress,
                            on_window=lambda w: print(describe_window(w), flush=True))
    print(format_table(study.records))
    print(f"wrote {len(study.files)} files to {out}/ (sense.json, sense.csv, config.json"
          f"{', figures' if cfg.figures else ''})")
    return study


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    out: Path = check_output_folder(args.out, "--out")
    run_and_report(cfg, out, progress=not args.no_progress and sys.stderr.isatty(), params=args.params)
    return 0
