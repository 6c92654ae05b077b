"""Chip-aware training against plain training, judged under the read errors of one operating point.

    python examples/chip_aware_training.py [--vdd 0.85] [--epochs 30] [--seeds 0 1 2]

For each seed, trains the digits MLP (ternary weights, binary activations, width 64) twice with
the same recipe: plainly, and with the read errors of the chip at ``--vdd`` in every forward pass
(``TrainConfig.read_rates``, the per-state read rates of the chip's amplifier pool over cells
programmed with its write-verify, as ``ternary-rram train --chip VDD`` does). Both are then tested
clean and under those read errors (``--draws`` test passes, fresh errors in every pass). Prints one
line per seed and the means.
The pool is 16 amplifiers x 9 x 9 points x 16 noise draws (cached in ``--cache``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

import torch

from ternary_rram.chip.operating import chip_read_rates
from ternary_rram.nn.chip_aware import set_read_errors
from ternary_rram.nn.data import load_digits
from ternary_rram.nn.train import TrainConfig, eval_metrics, init_model, train


def accuracy_under_reads(model, data, rates, draws: int, seed: int) -> float:
    """Mean test accuracy over ``draws`` passes with read errors drawn from ``rates``."""
    gen = torch.Generator().manual_seed(seed)
    set_read_errors(model, rates, generator=gen)
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
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        table, op, info = chip_read_rates(args.vdd, n_grid=9, n_mc=16, cache_dir=args.cache or tmp)
    rates = torch.tensor(table, dtype=torch.float64)
    print(f"VDD {op.vdd:g} V, window {op.t_sense:.3g} s ({info.source}); P(read != programmed) for "
          f"-1/0/+1: " + " / ".join(f"{1 - float(rates[i, i]):.3f}" for i in range(3)))
    data = load_digits()
    cfg = {"name": "mlp", "width": 64, "weights": "ternary", "activations": "binary",
           "in_channels": data.in_channels, "num_classes": data.num_classes, "image_size": data.image_size}
    rows = []
    for seed in args.seeds:
        row = []
        for aware in (False, True):
            config = TrainConfig(epochs=args.epochs, cycles=(args.epochs,), batch_size=64, seed=seed,
                                 read_rates=rates.tolist() if aware else None)
            model = init_model(cfg, seed)
            with tempfile.TemporaryDirectory() as out:
                train(model, data, config, out + "/run", progress=False)
            set_read_errors(model, None)
            model.eval()
            row += [eval_metrics(model, data)[1], accuracy_under_reads(model, data, rates, args.draws, seed)]
        rows.append(row)
        print(f"seed {seed}: plain {100 * row[0]:.1f} % clean, {100 * row[1]:.1f} % under reads; "
              f"chip-aware {100 * row[2]:.1f} % clean, {100 * row[3]:.1f} % under reads")
    means = [100 * statistics.fmean(r[i] for r in rows) for i in range(4)]
    print(f"mean over {len(rows)} seeds: plain {means[0]:.1f} / {means[1]:.1f} %, chip-aware "
          f"{means[2]:.1f} / {means[3]:.1f} % (clean / under reads at {op.vdd:g} V)")


if __name__ == "__main__":
    main()
