"""Chip-aware training against plain training, judged under the read errors of one operating point.

    python examples/chip_aware_training.py [--vdd 0.85] [--epochs 30] [--seeds 0 1 2]
                                           [--read-model columns|independent]

For each seed, trains the digits MLP (ternary weights, binary activations, width 64) twice with
the same recipe: plainly, and with the read errors of the chip at ``--vdd`` in every forward pass
(``TrainConfig.read_rates``: the read rates of each amplifier of the chip's pool over cells
programmed with its write-verify, an amplifier drawn per column of 128 x 128 arrays at every pass,
as ``ternary-rram train --chip VDD`` does; ``--read-model independent``: the pool's mean rates for
every weight). Both are then tested clean and under those read errors (``--draws`` test passes,
fresh errors in every pass). Prints one line per seed and the means.
The pool is 16 amplifiers x 9 x 9 points x 16 noise draws (cached in ``--cache``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

import torch

from ternary_rram.chip.operating import chip_read_rates
from ternary_rram.nn.chip_aware import AmplifierLayout, set_read_errors
from ternary_rram.nn.data import load_digits
from ternary_rram.nn.train import TrainConfig, eval_metrics, init_model, train

#: The chip's arrays: 128 x 128 cells, one sense amplifier per column (deploy's default).
LAYOUT = AmplifierLayout(rows=128, cols=128)


def accuracy_under_reads(model, data, rates, layout, draws: int, seed: int) -> float:
    """Mean test accuracy over ``draws`` passes with read errors drawn from ``rates``."""
    gen = torch.Generator().manual_seed(seed)
    set_read_errors(model, rates, generator=gen, layout=layout)
    accs = [eval_metrics(model, data)[1] for _ in range(draws)]
    set_read_errors(model, None)
    return statistics.fmean(accs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vdd", type=float, default=0.85, help="sense-amplifier supply, V")
    ap.add_argument("--epochs", type=int, default=30, help="epochs of each training (one cosine cycle)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of init and data order")
    ap.add_argument("--draws", type=int, default=5, help="test passes under read errors")
    ap.add_argument("--cache", default=None, help="amplifier-pool cache folder (default: a temporary one)")
    ap.add_argument("--read-model", choices=("columns", "independent"), default="columns",
                    help="an amplifier per array column (default), or every weight read alone")
    args = ap.parse_args()
    columns = args.read_model == "columns"
    with tempfile.TemporaryDirectory() as tmp:
        table, op, info = chip_read_rates(args.vdd, n_grid=9, n_mc=16, cache_dir=args.cache or tmp,
                                          per_amplifier=columns)
    rates = torch.tensor(table, dtype=torch.float64)
    layout = LAYOUT if columns else None
    mean = rates.mean(0) if columns else rates
    print(f"VDD {op.vdd:g} V, window {op.t_sense:.3g} s ({info.source}), read model {args.read_model}; "
          f"P(read != programmed) for -1/0/+1: " + " / ".join(f"{1 - float(mean[i, i]):.3f}" for i in range(3)))
    data = load_digits()
    cfg = {"name": "mlp", "width": 64, "weights": "ternary", "activations": "binary",
           "in_channels": data.in_channels, "num_classes": data.num_classes, "image_size": data.image_size}
    rows = []
    for seed in args.seeds:
        row = []
        for aware in (False, True):
            config = TrainConfig(epochs=args.epochs, cycles=(args.epochs,), batch_size=64, seed=seed,
                                 read_rates=rates.tolist() if aware else None,
                                 read_layout=(LAYOUT.rows, LAYOUT.cols, LAYOUT.column_group)
                                 if aware and columns else None)
            model = init_model(cfg, seed)
            with tempfile.TemporaryDirectory() as out:
                train(model, data, config, out + "/run", progress=False)
            set_read_errors(model, None)
            model.eval()
            row += [eval_metrics(model, data)[1], accuracy_under_reads(model, data, rates, layout, args.draws, seed)]
        rows.append(row)
        print(f"seed {seed}: plain {100 * row[0]:.1f} % clean, {100 * row[1]:.1f} % under reads; "
              f"chip-aware {100 * row[2]:.1f} % clean, {100 * row[3]:.1f} % under reads")
    means = [100 * statistics.fmean(r[i] for r in rows) for i in range(4)]
    print(f"mean over {len(rows)} seeds: plain {means[0]:.1f} / {means[1]:.1f} %, chip-aware "
          f"{means[2]:.1f} / {means[3]:.1f} % (clean / under reads at {op.vdd:g} V)")


if __name__ == "__main__":
    main()
