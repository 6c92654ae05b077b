"""``ternary-rram demo``: the whole chain on embedded data, no files and no network needed.

Trains a small binary and a small ternary network on scikit-learn's digits, programs both into the
simulated 2T2R chip, reads them at nominal and at near-threshold VDD, prints the table (ideal and
chip accuracy, errors by type, energy per inference) and writes a report folder
(``summary.json``, ``table.txt``, figures). The work is in :mod:`ternary_rram.experiments.demo`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ternary_rram.errors import check_seed
from ternary_rram.experiments.demo import DEMO_VDDS, run_demo
from ternary_rram.fileio import check_output_folder, output_lock, path_arg

NAME = "demo"
HELP = ("End-to-end demo, no files needed: train a binary and a ternary net on digits, store them in "
        "simulated 2T2R RRAM, read them at nominal and near-threshold VDD; print accuracy, errors and "
        "energy per inference and write a report folder.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=path_arg, default=Path("demo-out"), metavar="DIR", help="report folder")
    parser.add_argument("--seed", type=int, default=0, help="random seed (training, devices, mismatch)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    check_seed("--seed", args.seed)
    out: Path = check_output_folder(args.out, "--out")
    with output_lock(out, "--out"):
        return _run(args, out)


def _run(args: argparse.Namespace, out: Path) -> int:
    print(f"ternary-rram demo: digits, binary and ternary nets, read at VDD = "
          f"{', '.join(f'{v:g}' for v in DEMO_VDDS)} V")
    summary = run_demo(out, progress=not args.no_progress and sys.stderr.isatty(), seed=args.seed)
    print(summary["table"])
    print(f"report: {out}/summary.json, {out}/table.txt and figures")
    return 0
