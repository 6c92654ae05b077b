"""`ternary-rram evaluate`: test accuracy of a trained checkpoint, clean and under weight errors.

Example::

    ternary-rram evaluate runs/vgg32-ternary --ber 0.01 --error-model ternary --repeats 10 \
        --out runs/vgg32-ternary/eval_ber0.01.json
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from ternary_rram.cli.cmd_train import (
    BATCH_MAX,
    DATA_CHOICES,
    DEVICE_CHOICES,
    ERROR_MODE_CHOICES,
    ERROR_MODEL_CHOICES,
    add_data_arguments,
    check_choice,
    check_data_options,
    format_warning,
)
from ternary_rram.cli.console import add_hidden_alias, add_quiet_argument
from ternary_rram.errors import check_int, check_range, check_seed
from ternary_rram.fileio import path_arg

#: Most error draws: each is one pass over the test set (10,000 CIFAR images: ~1 s for a small net), so
#: 10^4 draws are already hours; their accuracies are kept in memory and in the JSON.
REPEATS_MAX = 10_000

NAME = "evaluate"
HELP = "Test accuracy of a checkpoint, clean and over K draws of weight errors (mean and spread)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="CHECKPOINT",
                        help="checkpoint file or run folder, a packed network (FILE.packed) or pretrained:NAME")
    add_data_arguments(parser, default_data=None, limit_test_only=True)
    parser.add_argument("--ber", type=float, default=0.0, help="bit error rate in the quantized weights")
    parser.add_argument("--error-model", default=None, metavar="KIND",
                        help=f"{', '.join(ERROR_MODEL_CHOICES)}; default: ternary for ternary weights, "
                             "sign-flip otherwise")
    parser.add_argument("--error-mode", default="per-forward", metavar="MODE",
                        help=f"{', '.join(ERROR_MODE_CHOICES)} (fixed: one draw per test pass, a chip)")
    parser.add_argument("--repeats", type=int, default=1, metavar="K", help="independent error draws")
    parser.add_argument("--seed", type=int, default=0, help="seed of the error draws")
    parser.add_argument("--device", default="auto", metavar="DEV", help=", ".join(DEVICE_CHOICES))
    parser.add_argument("--batch-size", type=int, default=1000, help="test batch size (memory only, same result)")
    # --out names where results go in every command: a folder, or the one file a command writes.
    parser.add_argument("--out", dest="json", type=path_arg, default=None, metavar="FILE.json",
                        help="also write the result as JSON to this file")
    add_hidden_alias(parser, "--json", "json", type=path_arg)
    add_quiet_argument(parser, what="accepted by every command; evaluate draws no progress bar")


def run(args: argparse.Namespace) -> int:
    from ternary_rram.fileio import atomic_write_text, check_output_file
    from ternary_rram.nn.train import evaluate_checkpoint, resolve_device

    check_choice("--device", args.device, DEVICE_CHOICES)
    check_choice("--error-mode", args.error_mode, ERROR_MODE_CHOICES)
    check_data_options(args)
    check_range("--ber", args.ber, 0.0, 1.0)
    check_int("--repeats", args.repeats, 1, REPEATS_MAX)
    check_seed("--seed", args.seed)
    check_int("--batch-size", args.batch_size, 1, BATCH_MAX)
    if args.json is not None:
        check_output_file(args.json, "--out")
    if args.data is not None:
        check_choice("--data", args.data, DATA_CHOICES)
    if args.error_model is not None:
        check_choice("--error-model", args.error_model, ERROR_MODEL_CHOICES)
    with warnings.catch_warnings(record=True) as caught:  # data-set warnings (e.g. non-official MD5s): one line each
        warnings.simplefilter("always")
        ckpt, data, result, error_model = evaluate_checkpoint(
            args.checkpoint, data=args.data, data_dir=args.data_dir, limit=args.limit, ber=args.ber,
            error_model=args.error_model, repeats=args.repeats, error_mode=args.error_mode, seed=args.seed,
            device=resolve_device(args.device), batch_size=args.batch_size)
    for w in caught:
        print(format_warning(w.message, f"ternary-rram {NAME}"), file=sys.stderr)
    model_config = ckpt["model_config"]
    print(f"{ckpt['path']}: {model_config.get('name')} F={model_config.get('width')} "
          f"{model_config.get('weights')} weights, {model_config.get('activations')} activations, "
          f"epoch {ckpt['epoch']}")
    print(f"test accuracy ({data.name}, {data.n_test} images): {100 * result.accuracy:.2f} %")
    if args.ber > 0:
        print(f"with {error_model} errors at BER {args.ber:g} ({args.error_mode}, {args.repeats} draws): "
              f"mean {100 * result.mean:.2f} %, std {100 * result.std:.2f} %, "
              f"min {100 * min(result.accuracies):.2f} %, max {100 * max(result.accuracies):.2f} %")
    if args.json:
        payload = {"checkpoint": ckpt["path"], "epoch": ckpt["epoch"], "model_config": model_config,
                   "data": data.describe(), **result.to_dict()}
        path = Path(args.json)
        atomic_write_text(path, json.dumps(payload, indent=1))
        print(f"json: {path}")
    return 0
