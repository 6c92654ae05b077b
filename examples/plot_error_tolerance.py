"""Accuracy against weight error rate, one line per network and error model, from accuracy-vs-error-rate sweeps.

    ternary-rram sweep SPEC.toml --out DIR        # experiment = "accuracy-vs-error-rate"
    python examples/plot_error_tolerance.py DIR --out tolerance.png [--title TEXT]
    python examples/plot_error_tolerance.py "ternary net=DIR1" "binary net=DIR2" --out tolerance.png

Reads each DIR/results.parquet (the sweep's own file) and draws the mean accuracy over the error draws
with the lowest draw as a band, on a log axis of the error rate, with each network's clean accuracy as a
dotted line. ``LABEL=DIR`` names the network in the legend (several sweeps on one figure).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ternary_rram.cli.console import Parser
from ternary_rram.experiments.plots import legend_below, new_figure, save_figure

LABELS = {"sign-flip": "sign flips (+1 <-> -1)", "ternary": "+-1 <-> 0 (near-threshold reads)"}


def main(argv: list[str] | None = None) -> int:
    ap = Parser(description=__doc__.splitlines()[0])  # bad input: one line, exit status 2
    ap.add_argument("sweeps", nargs="+", metavar="[LABEL=]DIR", help="output folder of a sweep, optionally labelled")
    ap.add_argument("--out", type=Path, required=True, help="PNG to write")
    ap.add_argument("--title", default="", help="figure title")
    args = ap.parse_args(argv)
    fig, axes = new_figure(width=5.0, height=3.4)
    ax = axes[0][0]
    k = 0
    for spec in args.sweeps:
        label, sep, folder = spec.partition("=") if "=" in spec else ("", "", spec)
        prefix = f"{label}: " if sep else ""
        try:
            table = pd.read_parquet(Path(folder) / "results.parquet")
        except (OSError, ValueError) as exc:
            ap.error(f"sweep {spec!r}: {folder}/results.parquet cannot be read ({exc})")
        for model, rows in table.sort_values("ber").groupby("error_model"):
            line, = ax.plot(rows["ber"], 100 * rows["accuracy"], "o-", color=f"C{k}",
                            label=prefix + LABELS.get(model, model))
            ax.fill_between(rows["ber"], 100 * rows["accuracy_min"], 100 * rows["accuracy"], color=line.get_color(),
                            alpha=0.2, lw=0)
            k += 1
        ax.axhline(100 * table["accuracy_clean"].iloc[0], color="grey" if len(args.sweeps) == 1 else f"C{k - 1}",
                   ls=":", lw=0.9, label=f"{prefix}no errors")
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
