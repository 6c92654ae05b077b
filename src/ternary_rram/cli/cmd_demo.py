"""``ternary-rram demo``: the whole chain on embedded data, no files and no network needed.

Trains a small binary and a small ternary network on scikit-learn's digits, programs both into the
simulated 2T2R chip, reads them at the default transistors' nominal and low VDD (each with the window at the
centre of its timing margin) and once more at nominal VDD with the low VDD's window as a fixed clock, prints
the table (ideal and chip accuracy, errors by type, energy per inference) and why those points, and writes a report folder
(``summary.json``, ``table.txt``, figures). The work is in :mod:`ternary_rram.experiments.demo`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ternary_rram.cli.console import add_quiet_argument, show_progress
from ternary_rram.errors import check_seed
from ternary_rram.experiments.demo import DEMO_VDDS, run_demo
from ternary_rram.fileio import check_output_folder, output_lock, path_arg

NAME = "demo"
#: Default report folder: under runs/, which .gitignore lists, never the working folder itself.
DEFAULT_OUT = Path("runs") / "demo"
HELP = ("End-to-end demo, no files needed: train a binary and a ternary net on digits, store them in "
        "simulated 2T2R RRAM, read them at nominal and low VDD (and at nominal VDD with the low VDD's window "
        "as a fixed clock); print accuracy, errors and energy per inference and write a report folder.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=path_arg, default=DEFAULT_OUT, metavar="DIR",
                        help=f"report folder (default: {DEFAULT_OUT}, under the git-ignored runs/ folder of the "
                             "working folder; the path is printed before anything is written)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (training, devices, mismatch)")
    add_quiet_argument(parser, what="no progress bar", aliases=("--no-progress",))


def run(args: argparse.Namespace) -> int:
    check_seed("--seed", args.seed)
    out: Path = check_output_folder(args.out, "--out")
    with output_lock(out, "--out"):
        return _run(args, out)


def _run(args: argparse.Namespace, out: Path) -> int:
    print(f"ternary-rram demo: digits, binary and ternary nets, read at VDD = "
          f"{', '.join(f'{v:g}' for v in DEMO_VDDS)} V; writing to {out}/", flush=True)
    summary = run_demo(out, progress=show_progress(args), seed=args.seed)
    print(summary["table"])
    for line in summary["why"]:
        print(line)
    print(f"report: {out}/summary.json, {out}/table.txt and figures")
    return 0
