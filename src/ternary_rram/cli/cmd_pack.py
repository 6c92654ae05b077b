"""`ternary-rram pack`: write a training checkpoint as a compact packed network.

Example::

    ternary-rram pack runs/vgg32-ternary --out vgg32-ternary.packed

`train` writes OUT/model.packed itself at the end of a run; this command packs checkpoints of runs
that stopped early or were trained by an older version. The packed file keeps the quantized weights
(2 bits each), the batch norms, the model configuration and metadata (see ternary_rram.nn.packed).
"""

from __future__ import annotations

import argparse

from ternary_rram.cli.console import add_quiet_argument
from ternary_rram.fileio import path_arg

NAME = "pack"
HELP = "Write a checkpoint as a packed network: 2-bit weights, batch norms, configuration, metadata."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint file or run folder")
    parser.add_argument("--out", type=path_arg, default=argparse.SUPPRESS, metavar="FILE.packed",
                        help="packed file to write; when not given, model.packed beside the checkpoint")
    add_quiet_argument(parser, what="accepted by every command; pack draws no progress bar")


def run(args: argparse.Namespace) -> int:
    from ternary_rram.nn.packed import pack_checkpoint

    path, meta, source = pack_checkpoint(args.checkpoint, getattr(args, "out", None))
    acc = meta["test_accuracy"]
    acc_text = "unknown" if acc is None else f"{100 * acc:.2f} %"
    print(f"packed {source} (epoch {meta['epoch']}, test accuracy {acc_text}) -> {path} "
          f"({path.stat().st_size / 1024:.1f} kB)")
    return 0
