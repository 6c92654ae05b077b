"""`ternary-rram pack`: write a training checkpoint as a compact packed network.

Example::

    ternary-rram pack runs/vgg32-ternary --out vgg32-ternary.packed

`train` writes OUT/model.packed itself at the end of a run; this command packs checkpoints of runs
that stopped early or were trained by an older version. The packed file keeps the quantized weights
(2 bits each), the batch norms, the model configuration and metadata (see ternary_rram.nn.packed).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ternary_rram.cli.console import add_quiet_argument
from ternary_rram.fileio import check_output_file, path_arg

NAME = "pack"
HELP = "Write a checkpoint as a packed network: 2-bit weights, batch norms, configuration, metadata."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint file or run folder")
    parser.add_argument("--out", type=path_arg, default=argparse.SUPPRESS, metavar="FILE.packed",
                        help="packed file to write; when not given, model.packed beside the checkpoint")
    add_quiet_argument(parser, what="accepted by every command; pack draws no progress bar")


def run(args: argparse.Namespace) -> int:
    from ternary_rram.errors import InputError
    from ternary_rram.nn.checkpoint import load_checkpoint, model_from_checkpoint
    from ternary_rram.nn.packed import PACKED_NAME, SUFFIX, save_packed

    ckpt = load_checkpoint(args.checkpoint)
    out = getattr(args, "out", None) or Path(ckpt["path"]).parent / PACKED_NAME
    if not str(out).endswith(SUFFIX):
        raise InputError(f"--out {str(out)!r} is not allowed: must end in {SUFFIX}")
    check_output_file(out, "--out")
    model = model_from_checkpoint(ckpt)
    last = ckpt["history"][-1] if ckpt["history"] else {}
    metadata = {"command": f"not recorded (packed by `ternary-rram pack` from {ckpt['path']})",
                "test_accuracy": last.get("test_acc"),
                "test_accuracy_precision": last.get("precision", "fp32"),
                "epoch": ckpt["epoch"], "data": ckpt["data"], "train_config": ckpt["train_config"]}
    path = save_packed(out, model, metadata=metadata)
    acc = metadata["test_accuracy"]
    acc_text = "unknown" if acc is None else f"{100 * acc:.2f} %"
    print(f"packed {ckpt['path']} (epoch {ckpt['epoch']}, test accuracy {acc_text}) -> {path} "
          f"({path.stat().st_size / 1024:.1f} kB)")
    return 0
