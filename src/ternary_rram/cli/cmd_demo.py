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
from ternary_rram.errors import InputError, check_int, check_seed
from ternary_rram.experiments.demo import CIFAR_LIMIT_TEST, DEMO_VDDS, cifar_setup, run_demo
from ternary_rram.fileio import check_output_folder, output_lock, path_arg

NAME = "demo"
#: Default report folder: under runs/, which .gitignore lists, never the working folder itself.
DEFAULT_OUT = Path("runs") / "demo"
DEFAULT_OUT_CIFAR = Path("runs") / "demo-cifar"
HELP = ("End-to-end demo, no files needed: train a binary and a ternary net on digits, store them in "
        "simulated 2T2R RRAM, read them at nominal and low VDD (and at nominal VDD with the low VDD's window "
        "as a fixed clock); print accuracy, errors and energy per inference and write a report folder.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=path_arg, default=None, metavar="DIR",
                        help=f"report folder (default: {DEFAULT_OUT}, or {DEFAULT_OUT_CIFAR} with --cifar, under the "
                             "git-ignored runs/ folder of the working folder; the path is printed before anything "
                             "is written)")
    parser.add_argument("--cifar", action="store_true",
                        help="read the converged width-32 CIFAR-10 VGGs shipped with the package instead of "
                             "training MLPs on digits (needs the CIFAR-10 data: --data-dir)")
    parser.add_argument("--data-dir", default=None, metavar="DIR",
                        help="with --cifar: the cifar-10-batches-py folder (default: none given; the usual "
                             "places are searched, see docs/user-guide.md section 2)")
    parser.add_argument("--limit-test", type=int, default=CIFAR_LIMIT_TEST, metavar="N",
                        help="with --cifar: read the first N of the 10,000 test images (1 to 10000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (training, devices, mismatch)")
    add_quiet_argument(parser, what="no progress bar", aliases=("--no-progress",))


def out_folder(args: argparse.Namespace) -> str | Path:
    """--out as given (an empty one is refused later, by check_output_folder), or the variant's default
    folder under runs/."""
    if args.out is not None:
        return args.out
    return DEFAULT_OUT_CIFAR if args.cifar else DEFAULT_OUT


def run(args: argparse.Namespace) -> int:
    check_seed("--seed", args.seed)
    if not args.cifar and (args.data_dir is not None or args.limit_test != CIFAR_LIMIT_TEST):
        raise InputError("--data-dir and --limit-test are not allowed without --cifar: the digits demo "
                         "uses the data scikit-learn ships")
    check_int("--limit-test", args.limit_test, 1, 10_000, why="CIFAR-10 has 10,000 test images")
    out: Path = check_output_folder(out_folder(args), "--out")
    with output_lock(out, "--out"):
        return _run(args, out)


def _run(args: argparse.Namespace, out: Path) -> int:
    setup = cifar_setup(args.data_dir, args.limit_test) if args.cifar else None
    what = (f"CIFAR-10 (first {setup.data.n_test} test images), shipped VGGs {', '.join(setup.nets)}" if setup
            else "digits, binary and ternary nets")
    print(f"ternary-rram demo: {what}, read at VDD = {', '.join(f'{v:g}' for v in DEMO_VDDS)} V; "
          f"writing to {out}/", flush=True)
    summary = run_demo(out, progress=show_progress(args), seed=args.seed, setup=setup)
    print(summary["table"])
    for line in summary["why"]:
        print(line)
    print(f"report: {out}/summary.json, {out}/table.txt and figures")
    return 0
