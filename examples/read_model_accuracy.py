"""A network's accuracy on the chip at one VDD, estimated in software under both read models.

    python examples/read_model_accuracy.py NETWORK [--vdd 0.85] [--data cifar10 --data-dir DIR]
                                           [--passes 10] [--cache DIR]

NETWORK is a run folder, a checkpoint, a ``.packed`` file or ``pretrained:NAME``. The network is
evaluated in float32 on the test images ``--passes`` times under the read errors of the chip at
``--vdd`` (``chip.operating.chip_read_rates``, cells programmed with write-verify), once per read
model of ``ternary-rram train --chip``:

* columns: every batch of 1,000 images meets a new random chip: each column of each 128 x 128 array
  draws its amplifier from the pool, and its weights are read with that amplifier's rates;
* independent: every weight is read alone with the pool's mean rates.

Compare with ``ternary-rram deploy NETWORK --vdd VDD --chips 10`` (the chip itself). Prints the ideal
accuracy and, per read model, the mean and spread of the passes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile

import torch

from ternary_rram.chip.operating import chip_read_rates
from ternary_rram.errors import InputError
from ternary_rram.nn.checkpoint import load_model_state, model_from_checkpoint
from ternary_rram.nn.chip_aware import AmplifierLayout, set_read_errors
from ternary_rram.nn.data import load_dataset
from ternary_rram.nn.packed import load_network
from ternary_rram.nn.train import eval_metrics

#: The chip's arrays: 128 x 128 cells, one sense amplifier per column (deploy's default).
LAYOUT = AmplifierLayout(rows=128, cols=128)


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("network", help="run folder, checkpoint, .packed file or pretrained:NAME")
    ap.add_argument("--vdd", type=float, default=0.85, help="sense-amplifier supply, V")
    ap.add_argument("--data", default="cifar10", help="test set: cifar10, mnist, digits, synthetic")
    ap.add_argument("--data-dir", default=None, help="folder of the data set (cifar10, mnist)")
    ap.add_argument("--limit", type=int, default=None, help="first N images of each split (quick runs)")
    ap.add_argument("--passes", type=int, default=10, help="test passes per read model")
    ap.add_argument("--n-grid", type=int, default=41, help="grid points per axis of each amplifier's map")
    ap.add_argument("--n-mc", type=int, default=8, help="read-noise draws per map point")
    ap.add_argument("--cache", default=None, help="amplifier-pool cache folder (default: a temporary one)")
    args = ap.parse_args(argv)
    ckpt = load_network(args.network)
    model = model_from_checkpoint(ckpt)
    load_model_state(model, ckpt["model_state"], str(args.network))
    data = load_dataset(args.data, args.data_dir, limit=args.limit)
    with tempfile.TemporaryDirectory() as tmp:
        per_amp, op, _ = chip_read_rates(args.vdd, per_amplifier=True, n_grid=args.n_grid, n_mc=args.n_mc,
                                         cache_dir=args.cache or tmp)
    mean = torch.tensor(per_amp, dtype=torch.float64).mean(0)  # the pool's mean rates (pair_read_rates)
    print(f"{args.network}: ideal {100 * eval_metrics(model, data)[1]:.2f} % ({data.n_test} test images); "
          f"chip at VDD {op.vdd:g} V, window {op.t_sense:.3g} s")
    results = {}
    for name, rates, layout in (("columns", per_amp, LAYOUT), ("independent", mean, None)):
        set_read_errors(model, rates, generator=torch.Generator().manual_seed(0), layout=layout)
        accs = [eval_metrics(model, data)[1] for _ in range(args.passes)]
        results[name] = accs
        spread = f", sd of passes {100 * statistics.stdev(accs):.2f} points" if len(accs) > 1 else ""
        print(f"  read model {name}: {100 * statistics.fmean(accs):.2f} %{spread}")
    set_read_errors(model, None)
    return results


if __name__ == "__main__":
    try:
        main()
    except InputError as exc:  # a bad network, data set or VDD: one line, exit 2
        print(f"read_model_accuracy.py: error: {exc}", file=sys.stderr)
        sys.exit(2)
