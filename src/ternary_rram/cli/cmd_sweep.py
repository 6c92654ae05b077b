"""``ternary-rram sweep SPEC.toml --out DIR``: a design-space sweep on Dask (see docs/sweeps.md)."""

from __future__ import annotations

import argparse
import sys

from ternary_rram.cli.console import add_quiet_argument
from ternary_rram.errors import InputError, check_int
from ternary_rram.fileio import check_output_folder, output_lock

NAME = "sweep"
HELP = ("Run a design-space sweep (a grid or random sample over an experiment's parameters) on Dask; "
        "results in DIR/results.parquet, summary in DIR/summary/")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", nargs="?", help="sweep spec (TOML), e.g. examples/sweep_sense.toml")
    parser.add_argument("--out", metavar="DIR", help="output folder (a rerun into it skips finished points)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="address of a running Dask scheduler, e.g. tcp://host:8786 (default: a local cluster)")
    where.add_argument("--workers", type=int, metavar="N",
                       help="worker processes of the local cluster (default: one per core)")
    parser.add_argument("--retries", type=int, metavar="N", default=None,
                        help="retries of a failing point before it is recorded as failed (default: the spec's, else 2)")
    parser.add_argument("--dry-run", action="store_true", help="check the spec and list its points; run nothing")
    add_quiet_argument(parser, what="no progress bar", aliases=("--no-progress",))
    parser.add_argument("--no-summary", action="store_true", help="skip the summary figures and CSV")
    parser.add_argument("--describe", metavar="EXPERIMENT", nargs="?", const="",
                        help="list the experiments, or the parameters and metrics of one, and exit")


def _describe(name: str) -> int:
    from ternary_rram.experiments.points import experiment_names, get_experiment

    if not name:
        for n in experiment_names():
            print(f"{n:24s} {get_experiment(n).help}")
        return 0
    exp = get_experiment(name)
    print(f"experiment {exp.name!r}: {exp.help}")
    print("parameters:")
    for p in exp.params:
        unit = f" [{p.unit}]" if p.unit else ""
        print(f"  {p.name:18s} {p.type:5s} default {p.default!r}{unit}; {p.allowed()}. {p.help}")
    print("metrics: " + ", ".join(exp.metrics))
    if exp.accuracy_metric and exp.energy_metric:
        print(f"Pareto front: max {exp.accuracy_metric} vs min {exp.energy_metric}")
    return 0


def run(args: argparse.Namespace) -> int:
    from ternary_rram.experiments.sweep import check_scheduler_address, load_spec

    if args.describe is not None:
        return _describe(args.describe)
    if not args.spec:
        raise InputError("spec is missing: give a sweep spec (TOML), e.g. examples/sweep_sense.toml")
    spec = load_spec(args.spec)
    if args.retries is not None:
        check_int("--retries", args.retries, 0, 100)
        spec.retries = args.retries
    if args.workers is not None:
        check_int("--workers", args.workers, 1, 1024)
    if args.scheduler is not None:
        check_scheduler_address(args.scheduler)
    points = spec.points()
    if args.dry_run:
        varied = spec.varied
        print(f"{spec.experiment.name}: {len(points)} points, varying {', '.join(varied) or 'nothing'}")
        for p in points[:20]:
            print(f"  {p.hash[:12]}  " + ", ".join(f"{k}={p.params[k]!r}" for k in varied))
        if len(points) > 20:
            print(f"  ... {len(points) - 20} more")
        return 0
    if args.out is None:
        raise InputError("--out is missing: give the output folder (--out DIR)")
    out = check_output_folder(args.out, "--out")
    # One driver per folder: the driver alone writes the parts (workers only compute), so the lock
    # is taken here and workers, local or remote, are not affected.
    with output_lock(out, "--out"):
        return _run(args, spec, out)


def _run(args: argparse.Namespace, spec, out) -> int:
    from ternary_rram.experiments.sweep import ResultStore, run_sweep

    ResultStore(out).remove_stale_temps(min_age_s=0.0)  # the lock is ours: every temp part is a dead run's
    report = run_sweep(spec, out, scheduler=args.scheduler, workers=args.workers,
                       progress=not args.quiet, summary=not args.no_summary)
    print(f"sweep {spec.experiment.name}: {report.n_points} points: {report.n_ok} ran ok, "
          f"{report.n_skipped} already finished, {report.n_failed} failed ({report.wall_s:.1f} s)")
    print(f"results: {report.files.get('results')}")
    if not args.no_summary:
        print(f"summary: {report.out_dir / 'summary'}")
    if report.n_failed:
        for h, err in report.failed[:10]:
            print(f"failed {h[:12]}: {err}", file=sys.stderr)
        print(f"{report.n_failed} point(s) failed; they are recorded with their error and a rerun tries them "
              "again", file=sys.stderr)
        return 1
    return 0
