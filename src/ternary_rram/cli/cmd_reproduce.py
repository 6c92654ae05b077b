"""``ternary-rram reproduce``: run every study, cache each result, write report.md and report.html."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from ternary_rram.cli.console import add_quiet_argument, show_progress
from ternary_rram.cli.process import add_process_argument, resolve_params
from ternary_rram.errors import InputError, check_int, check_seed
from ternary_rram.experiments.reproduce import PRESETS, run_reproduce
from ternary_rram.fileio import check_output_folder, output_lock, path_arg

NAME = "reproduce"
HELP = ("Reproduce the paper's claims (sense waveforms, read probabilities, error rates under PVT, energy, "
        "accuracy vs width and errors, deployed networks) into DIR/report.md and a self-contained report.html; "
        "results are cached, a rerun skips what is done and a killed run resumes.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=path_arg, required=True, metavar="DIR", help="output folder")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--tiny", dest="preset", action="store_const", const="tiny",
                      help="seconds-long smoke run (tests)")
    size.add_argument("--quick", dest="preset", action="store_const", const="quick",
                      help="small widths, few epochs, fewer samples, the network claims judged on the shipped "
                           "converged pair: under 45 min on 2 CPU cores (25 min measured, docs/user-guide.md "
                           "section 2); the default size")
    size.add_argument("--full", dest="preset", action="store_const", const="full",
                      help="the seed recipe (700 epochs, widths 32-256): for a GPU")
    parser.set_defaults(preset="quick")
    parser.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                        help="the cifar-10-batches-py folder (default: none given; the usual places are searched, "
                             "see docs/user-guide.md section 2, and --tiny/--quick fall back on scikit-learn digits "
                             "when no copy is found there)")
    parser.add_argument("--params", type=Path, default=None, metavar="PARAMS.json",
                        help="device and sense-amplifier parameters from 'ternary-rram calibrate'")
    add_process_argument(parser)
    parser.add_argument("--seed", type=int, default=0, help="seed of every random draw")
    parser.add_argument("--sense-only", action="store_true", help="sections 1-4 only (no network training)")
    parser.add_argument("--no-cache", action="store_true", help="recompute everything (nothing stored)")
    parser.add_argument("--threads", type=int, default=1, metavar="N",
                        help="CPU threads for torch (1 is fastest for the small batched solves of the transient "
                             "model, and on a shared machine)")
    add_quiet_argument(parser, what="no progress lines or bars")


def run(args: argparse.Namespace) -> int:
    args.params = resolve_params(args)
    if args.preset not in PRESETS:
        raise InputError(f"preset={args.preset!r} is not allowed")
    if args.data_dir is not None and not args.data_dir.is_dir():
        raise InputError(f"--data-dir={str(args.data_dir)!r} is not allowed: not a folder (give the "
                         "cifar-10-batches-py folder, or leave --data-dir out)")
    check_int("--threads", args.threads, 1, 1024)
    check_seed("--seed", args.seed)
    out = check_output_folder(args.out, "--out")
    with output_lock(out, "--out"):
        return _run(args, out)


def _run(args: argparse.Namespace, out: Path) -> int:
    torch.set_num_threads(args.threads)
    t0 = time.time()

    bars = show_progress(args)

    def log(msg: str) -> None:
        if args.quiet:
            return
        line = f"[{time.time() - t0:7.1f} s] {msg}"
        if bars:  # above any bar that is being drawn
            from tqdm.auto import tqdm

            tqdm.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)

    def warn(msg: str) -> None:
        print(f"ternary-rram reproduce: warning: {msg}", file=sys.stderr, flush=True)

    res = run_reproduce(out, args.preset, data_dir=args.data_dir, params=args.params, seed=args.seed,
                        use_cache=not args.no_cache, sections=("sense",) if args.sense_only else ("sense", "nn"),
                        log=log, progress=bars, warn=warn)
    for c in res.claims:
        print(f"{c.verdict:>13}  {c.claim}")
    n_clock = sum(c.verdict == "holds only under a fixed clock" for c in res.claims)
    print(f"{sum(c.holds is True for c in res.claims)}/{len(res.claims)} claims hold ({n_clock} of them only under "
          f"a fixed clock); "
          f"{res.cache_hits} cached, {res.cache_misses} computed; this run {res.seconds:.0f} s, "
          f"all units {res.compute_seconds:.0f} s")
    print(f"wrote {res.report_md} and {res.report_html}")
    return 0
