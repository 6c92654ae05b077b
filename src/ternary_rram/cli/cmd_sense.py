"""``ternary-rram sense``: Monte Carlo read statistics of the 2T2R PCSA against VDD, window, temperature."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from ternary_rram.circuit.window import WindowChoice
from ternary_rram.cli.console import add_quiet_argument, show_progress
from ternary_rram.cli.process import add_process_argument, resolve_params
from ternary_rram.errors import InputError, check_int, check_range, check_seed
from ternary_rram.experiments.sense import (
    DEFAULT_TEMPERATURE_C,
    SenseRecord,
    SenseStudy,
    SenseStudyConfig,
    run_sense_study,
)
from ternary_rram.fileio import check_output_folder, output_lock, path_arg

NAME = "sense"
#: Default output folder: under runs/, which .gitignore lists.
DEFAULT_OUT = Path("runs") / "sense"
HELP = ("Monte Carlo over RRAM devices and transistor mismatch with the transient PCSA: read-outcome "
        "probabilities, decision time and energy per VDD, sense window, temperature and programmed state.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--vdd", type=float, nargs="+", default=[1.8, 1.2, 0.9], metavar="V",
                        help="supply voltages, V, each in (0, 2] (default: the 1.8 V nominal of the SKY130 tt "
                             "transistors, the seed's 1.2 V, and 0.9 V near the low edge of the ternary margin)")
    parser.add_argument("--t-sense", type=float, nargs="+", default=None, metavar="S",
                        help="sense windows, s (> 0): a fixed clock, the same at every VDD; omitted: chosen per VDD "
                             "by --window-policy")
    parser.add_argument("--window-policy", choices=("centre", "tracking"), default="centre",
                        help="without --t-sense: 'centre' puts each VDD's window at the geometric centre of its "
                             "margin [W_low, W_high]; 'tracking' scales it with a replica cell's delay")
    parser.add_argument("--tracking-factor", type=float, default=None, metavar="K",
                        help="tracking window = K x replica delay (default: K that centres the highest VDD)")
    parser.add_argument("--temperature-c", type=float, nargs="+", default=[DEFAULT_TEMPERATURE_C], metavar="C",
                        help="temperatures, degrees Celsius")
    parser.add_argument("--samples", type=int, default=2000, metavar="N",
                        help="Monte Carlo instances per (VDD, window, temperature, state)")
    parser.add_argument("--scan-samples", type=int, default=None, metavar="N",
                        help="instances per state in the automatic window scan (default: the smaller of --samples "
                             "and 2000)")
    parser.add_argument("--out", type=path_arg, default=DEFAULT_OUT, metavar="DIR",
                        help=f"output folder (default: {DEFAULT_OUT}, under the git-ignored runs/ folder)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    add_quiet_argument(parser, what="no progress bar", aliases=("--no-progress",))
    parser.add_argument("--params", type=Path, default=None, metavar="PARAMS.json",
                        help="calibrated device and sense-amplifier parameters (from `ternary-rram calibrate`)")
    add_process_argument(parser)


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
        seed=args.seed, figures=not args.no_figures, window_policy=args.window_policy,
        tracking_factor=args.tracking_factor)
    if args.t_sense is not None and (args.window_policy != "centre" or args.tracking_factor is not None):
        raise InputError("--window-policy/--tracking-factor apply to automatic windows: leave out --t-sense")
    return cfg.validate()


def describe_window(w: WindowChoice) -> str:
    """One line about an automatic window choice."""
    i = w.best_index
    ns = lambda x: f"{x * 1e9:.4g} ns" if math.isfinite(x) else "beyond the scan"  # noqa: E731
    margin = f"{w.margin:.3g}" if math.isfinite(w.margin) else ("none" if math.isfinite(w.w_high) else
                                                               "> scan")
    return (f"VDD={w.vdd:g} V, {w.temperature_c:g} C: W_low={ns(w.w_low)}, W_high={ns(w.w_high)}, "
            f"margin W_high/W_low={margin}; chose t_sense={w.t_sense * 1e9:.4g} ns ({w.policy}, "
            f"{w.t_sense / w.t_char:.3g} x t_char) -> near it P(+1|LRS,HRS)={w.p_correct_lh[i]:.4f}, "
            f"P(-1|HRS,LRS)={w.p_correct_hl[i]:.4f}, P(0|HRS,HRS)={w.p_zero_hh[i]:.4f} "
            f"(scan of {w.n_samples} per state)")


def fixed_window_transition(records: Sequence[SenseRecord]) -> list[str]:
    """Per fixed window: the VDDs where it reads binary (P(0|HRS,HRS) < 0.9) and ternary (>= 0.9 with
    P(+1|LRS,HRS) >= 0.99), the paper's transition as VDD falls."""
    lines = []
    for ts in sorted({r.t_sense for r in records}):
        lh = {r.vdd: r for r in records if r.t_sense == ts and r.state == "LRS/HRS"}
        hh = {r.vdd: r for r in records if r.t_sense == ts and r.state == "HRS/HRS"}
        vdds = sorted(set(lh) & set(hh), reverse=True)
        kinds = []
        for v in vdds:
            if lh[v].p_correct >= 0.99 and hh[v].p_zero >= 0.9:
                kinds.append(f"{v:g} V ternary")
            elif lh[v].p_correct >= 0.99 and hh[v].p_zero <= 0.1:
                kinds.append(f"{v:g} V binary")
            elif lh[v].p_correct >= 0.99:
                kinds.append(f"{v:g} V mixed (P(0|HRS,HRS)={hh[v].p_zero:.2f})")
            else:
                kinds.append(f"{v:g} V fails (P(+1|LRS,HRS)={lh[v].p_correct:.3f})")
        lines.append(f"fixed window {ts * 1e9:.4g} ns, VDD falling: " + ", ".join(kinds))
    return lines


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


def say(line: str, bars: bool) -> None:
    """Print ``line`` on its own line: above the progress bar while one is drawn, else plainly."""
    if bars:
        from tqdm.auto import tqdm

        tqdm.write(line, file=sys.stdout)
    else:
        print(line, flush=True)


def run_and_report(cfg: SenseStudyConfig, out: Path, progress: bool, params: Path | None = None) -> SenseStudy:
    """Run the study, printing window choices as they are made, then the table and the files.

    ``params``: a PARAMS.json from ``ternary-rram calibrate`` (device and PCSA parameters), or None
    for the defaults."""
    with output_lock(out, "--out"):
        return _run_locked(cfg, out, progress, params)


def _run_locked(cfg: SenseStudyConfig, out: Path, progress: bool, params: Path | None) -> SenseStudy:
    study = run_sense_study(cfg, out, params=params, progress=progress,
                            on_window=lambda w: say(describe_window(w), progress))
    print(format_table(study.records))
    if cfg.t_senses is not None:
        for line in fixed_window_transition(study.records):
            print(line)
    print(f"wrote {len(study.files)} files to {out}/ (sense.json, sense.csv, config.json"
          f"{', figures' if cfg.figures else ''})")
    return study


def run(args: argparse.Namespace) -> int:
    args.params = resolve_params(args)
    cfg = config_from_args(args)
    out: Path = check_output_folder(args.out, "--out")
    run_and_report(cfg, out, progress=show_progress(args), params=args.params)
    return 0
