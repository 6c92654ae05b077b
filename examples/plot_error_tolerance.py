"""Accuracy against weight error rate, one line per error model, from an accuracy-vs-error-rate sweep.

    ternary-rram sweep SPEC.toml --out DIR        # experiment = "accuracy-vs-error-rate"
    python examples/plot_error_tolerance.py DIR --out tolerance.png [--title TEXT]

Reads DIR/results.parquet (the sweep's own file) and draws the mean accuracy over the error draws with
the lowest draw as a band, on a log axis of the error rate, with the clean accuracy as a line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from ternary_rram.experiments.plots import legend_below, new_figure, save_figure

LABELS = {"sign-flip": "sign flips (+1 <-> -1)", "ternary": "+-1 <-> 0 (near-threshold reads)"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweep_dir", type=Path, help="output folder of the sweep")
    ap.add_argument("--out", type=Path, required=True, help="PNG to write")
    ap.add_argument("--title", default="", help="figure title")
    args = ap.parse_args(argv)
    table = pd.read_parquet(args.sweep_dir / "results.parquet")
    fig, axes = new_figure(width=5.0, height=3.4)
    ax = axes[0][0]
    for model, rows in table.sort_values("ber").groupby("error_model"):
        line, = ax.plot(rows["ber"], 100 * rows["accuracy"], "o-", label=LABELS.get(model, model))
        ax.fill_between(rows["ber"], 100 * rows["accuracy_min"], 100 * rows["accuracy"], color=line.get_color(),
                        alpha=0.2, lw=0)
    ax.axhline(100 * table["accuracy_clean"].iloc[0], color="grey", ls=":", label="no errors")
    ax.set_xscale("log")
    ax.set_xlabel("weight error rate (fraction of weights)")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    if args.title:
        ax.set_title(args.title, fontsize=10)
    legend_below(fig, [ax], ncol=2)
    print(f"wrote {save_figure(fig, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
