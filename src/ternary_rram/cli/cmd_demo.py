"""``ternary-rram demo``: a small sense study that needs no input files (three VDDs, automatic window)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ternary_rram.cli.cmd_sense import run_and_report
from ternary_rram.errors import InputError
from ternary_rram.experiments.sense import SenseStudyConfig

NAME = "demo"
HELP = ("Quick look, no files needed: a small PCSA sense study at three VDDs with the window chosen per "
        "VDD; prints a table and writes the results and figures.")

#: Demo supplies, V: nominal, mid and near-threshold.
DEMO_VDDS: tuple[float, ...] = (1.2, 0.9, 0.7)
#: Monte Carlo instances per state (kept small so the demo runs in seconds).
DEMO_SAMPLES: int = 128
DEMO_SCAN_SAMPLES: int = 64
#: Candidate windows, characteristic times: 1-30 covers the (LRS, HRS) decisions and the onset of
#: (HRS, HRS) decisions at these VDDs (the full study scans up to 100).
DEMO_WINDOW_FACTORS: tuple[float, ...] = tuple(float(f) for f in np.geomspace(1.0, 30.0, 11))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("demo-out"), metavar="DIR", help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="random seed")


def run(args: argparse.Namespace) -> int:
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise InputError(f"out={str(out)!r} is not allowed: it exists and is not a folder")
    cfg = SenseStudyConfig(vdds=DEMO_VDDS, n_samples=DEMO_SAMPLES, n_window_scan=DEMO_SCAN_SAMPLES,
                           seed=args.seed, window_factors=DEMO_WINDOW_FACTORS).validate()
    print(f"ternary-rram demo: sense study at VDD = {', '.join(f'{v:g}' for v in DEMO_VDDS)} V, "
          f"{DEMO_SAMPLES} Monte Carlo cells per state, window chosen per VDD")
    run_and_report(cfg, out, progress=sys.stderr.isatty())
    return 0
