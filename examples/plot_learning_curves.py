"""Learning curves of several training runs on one figure, from the ``metrics.csv`` that ``train`` writes.

    python examples/plot_learning_curves.py ternary=RUN1/metrics.csv binary=RUN2/metrics.csv \\
        --out curves.png [--title TEXT]

Left: test accuracy (solid) and training accuracy (dashed, measured on augmented batches while the
weights change) per epoch; right: the learning rate of the epoch's last batch, which shows the warm restarts.
Each run is one ``LABEL=PATH`` argument; the label names it in the legend.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from ternary_rram.cli.console import Parser
from ternary_rram.errors import InputError
from ternary_rram.experiments.plots import legend_below, new_figure, save_figure

COLUMNS = ("epoch", "lr", "train_acc", "test_acc")


def read_run(spec: str) -> tuple[str, pd.DataFrame]:
    """``LABEL=PATH`` -> (label, the run's metrics); InputError (one line) when it cannot be read."""
    label, sep, path = spec.partition("=")
    if not sep or not label or not path:
        raise InputError(f"run {spec!r} is not allowed: give LABEL=PATH/metrics.csv")
    try:
        table = pd.read_csv(Path(path))
    except (OSError, ValueError) as exc:
        raise InputError(f"run {spec!r}: {path} cannot be read ({exc})") from None
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing or table.empty:
        raise InputError(f"run {spec!r}: {path} is not a train metrics.csv (needs columns {', '.join(COLUMNS)})")
    return label, table


def main(argv: list[str] | None = None) -> int:
    ap = Parser(description=__doc__.splitlines()[0])  # bad input: one line, exit status 2
    ap.add_argument("runs", nargs="+", metavar="LABEL=PATH", help="a label and the run's metrics.csv")
    ap.add_argument("--out", type=Path, required=True, help="PNG to write")
    ap.add_argument("--title", default="", help="figure title")
    args = ap.parse_args(argv)
    try:
        runs = [read_run(s) for s in args.runs]
    except InputError as exc:
        ap.error(str(exc))
    fig, axes = new_figure(1, 2, width=4.6, height=3.4)
    acc, lr = axes[0]
    for i, (label, t) in enumerate(runs):
        color = f"C{i}"
        acc.plot(t["epoch"], 100 * t["test_acc"], color=color, label=f"{label}: test")
        acc.plot(t["epoch"], 100 * t["train_acc"], color=color, ls="--", lw=0.9, label=f"{label}: training")
        lr.plot(t["epoch"], t["lr"], color=color, label=label)
    acc.set_xlabel("epoch")
    acc.set_ylabel("accuracy (%)")
    lr.set_xlabel("epoch")
    lr.set_ylabel("learning rate, last batch of the epoch")
    for ax in axes[0]:
        ax.grid(alpha=0.3)
    if args.title:
        fig.suptitle(args.title, fontsize=10)
    legend_below(fig, [acc], ncol=2)
    save_figure(fig, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
