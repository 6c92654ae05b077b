"""`ternary-rram train`: train a quantized network with the seed recipe, checkpointing every epoch.

The defaults are a short run (10 epochs in one cosine cycle, VGG width 32); the seed recipe is
``--width 128 --epochs 700 --cycles 100,200,400`` (for a GPU).

Example (CIFAR-10, ternary VGG F=32, 50 epochs annealed in one cycle)::

    ternary-rram train --data cifar10 --model vgg --width 32 --weights ternary \
        --activations binary --epochs 50 --cycles 50 --out runs/vgg32-ternary

Writes OUT/checkpoint.pt, metrics.csv, metrics.json and learning_curve.png after every epoch;
``--resume`` continues a stopped run exactly.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import warnings
from pathlib import Path

from ternary_rram.cli.console import add_hidden_alias, add_quiet_argument, format_warning
from ternary_rram.cli.process import load_models
from ternary_rram.errors import InputError, check_int, check_range, check_seed

NAME = "train"
HELP = "Train a binary/ternary/float network (seed recipe: AdamW, cosine warm restarts) with checkpoints."

DATA_CHOICES = ("cifar10", "mnist", "digits", "synthetic")
MODEL_CHOICES = ("vgg", "mlp", "convnet")
WEIGHT_CHOICES = ("ternary", "binary", "float")
ACTIVATION_CHOICES = ("binary", "ternary", "float")
ERROR_MODEL_CHOICES = ("sign-flip", "ternary")
ERROR_MODE_CHOICES = ("per-forward", "fixed")
DEVICE_CHOICES = ("auto", "cpu", "cuda")
READ_MODEL_CHOICES = ("columns", "independent")
#: Array size of a chip: deploy's --array default, and that of --chip here.
CHIP_ARRAY = "128x128"
AUGMENT_CHOICES = ("auto", "none", "flip-crop", "flip", "crop")
#: Largest width per model. Training keeps about 16 bytes per weight (float weight, gradient, two Adam
#: moments); VGG holds ~4e8 weights at F=1024 (its count grows as F^2: 2.7e7 at F=256), i.e. ~6.4 GB plus
#: activations, F=2048 would need ~27 GB; the MLP's hidden-to-hidden layer has width^2 weights.
WIDTH_MAX = {"vgg": 1024, "convnet": 1024, "mlp": 16384}
#: Bounds of the sizes of a run (a larger value is a typo, not a run that fits 24 GB or a lifetime).
BATCH_MAX = 65536          # images per batch: 65536 CIFAR images are 0.8 GB as float32, x activations
LIMIT_MAX = 10_000_000     # images: more than any supported data set holds
EPOCHS_MAX = 100_000
CROP_PADDING_MAX = 64      # pixels per side: twice the largest image side (32); more is only padding

DATA_DIR_HELP = ("folder of the data files: for cifar10 the cifar-10-batches-py folder, for mnist the folder of "
                 "the IDX .gz files (default: none given; the usual places are searched, see docs/user-guide.md "
                 "section 2, and a missing folder stops with an error)")

#: Cheap defaults of the command line (the seed recipe in docs/physics.md section 5 is 700 epochs of
#: VGG F=128: days of GPU time, far beyond a CPU); `--help` says how to ask for it.
CLI_EPOCHS = 10
CLI_VGG_WIDTH = 32
SEED_RECIPE = "--width 128 --epochs 700 --cycles 100,200,400"

PRECISION_CHOICES = ("auto", "fp32", "bf16")


def check_choice(option: str, value: str, allowed: tuple[str, ...]) -> str:
    """``value`` if allowed, else a one-line InputError naming the option (exit 2 in the CLI)."""
    if value not in allowed:
        raise InputError(f"{option} {value!r} is not allowed: must be one of {', '.join(allowed)}")
    return value


def parse_int_list(option: str, text: str) -> tuple[int, ...]:
    """"100,200,400" -> (100, 200, 400); InputError on anything else."""
    try:
        values = tuple(int(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        values = ()
    if not values:
        raise InputError(f"{option} {text!r} is not allowed: must be comma-separated integers, e.g. 100,200,400")
    return values


def add_data_arguments(parser: argparse.ArgumentParser, *, default_data: str | None,
                       limit_test_only: bool = False) -> None:
    """--data, --data-dir and the size limit (shared with `evaluate`).

    ``limit_test_only``: the command only reads the test split, so the limit is ``--limit-test``
    (``--limit`` stays accepted, hidden); else ``--limit`` limits training and test images."""
    parser.add_argument("--data", default=default_data, metavar="NAME",
                        help=f"data set: {', '.join(DATA_CHOICES)}" + ("" if default_data else
                                                                       " (default: the checkpoint's)"))
    parser.add_argument("--data-dir", default=None, metavar="DIR", help=DATA_DIR_HELP)
    if limit_test_only:
        parser.add_argument("--limit-test", dest="limit", type=int, default=None, metavar="N",
                            help="evaluate the first N test images (default: all)")
        add_hidden_alias(parser, "--limit", "limit", type=int)
    else:
        parser.add_argument("--limit", type=int, default=None, metavar="N",
                            help="use only the first N training and the first N test images (quick runs; "
                                 "default: all)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ternary_rram.nn.train import TrainConfig

    d = TrainConfig()
    add_data_arguments(parser, default_data="cifar10")
    g = parser.add_argument_group("model")
    g.add_argument("--model", default=None, metavar="NAME",
                   help=f"network: {', '.join(MODEL_CHOICES)} (default: vgg, or the --init network's)")
    g.add_argument("--width", type=int, default=None,
                   help=f"width F (channels of the first conv / hidden units); default: vgg {CLI_VGG_WIDTH}, "
                        f"mlp 256, convnet 32, or the --init network's (the seed VGG is 128: about 16 times "
                        f"the work of 32 per image)")
    g.add_argument("--weights", default=None, metavar="KIND",
                   help=f"weights: {', '.join(WEIGHT_CHOICES)} (default: ternary, or the --init network's)")
    g.add_argument("--activations", default=None, metavar="KIND",
                   help=f"activations: {', '.join(ACTIVATION_CHOICES)} (default: binary, or the --init network's)")
    g.add_argument("--init", default=None, metavar="NETWORK",
                   help="fine-tune: start from the weights of this trained network (a training checkpoint or "
                        "run folder, a .packed file, or pretrained:NAME) instead of a random initialisation; "
                        "the model options default to its own. A packed file holds no latent weights: each "
                        "weight starts at its code times 0.1, twice the ternary threshold")
    g = parser.add_argument_group("run")
    g.add_argument("--out", required=True, metavar="DIR", help="output folder (checkpoint, metrics, figure)")
    g.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    g.add_argument("--seed", type=int, default=d.seed, help="seed of init, data order, augmentation, errors")
    g.add_argument("--device", default="auto", metavar="DEV", help=f"device: {', '.join(DEVICE_CHOICES)}")
    g.add_argument("--precision", default="auto", metavar="P",
                   help=f"{', '.join(PRECISION_CHOICES)}: bf16 runs the forward pass in bfloat16 autocast "
                        "(weights, optimiser state and batch-norm statistics stay float32); auto: bf16 on "
                        "a CPU with AVX512-BF16 or AMX or a CUDA device supporting it, else fp32")
    add_quiet_argument(g, what="no progress bars", aliases=("--no-progress",))
    g.add_argument("--max-batches", type=int, default=None, metavar="N",
                   help="train at most N batches per epoch (timing, smoke tests)")
    g = parser.add_argument_group(
        "recipe", f"The seed recipe (docs/physics.md section 5) except a short run by default: add {SEED_RECIPE} "
        "for the full recipe (measured: about 6 min per epoch of 10,000 CIFAR-10 images at width 32 on one CPU "
        "thread, docs/results.md; the full recipe is for a GPU).")
    g.add_argument("--epochs", type=int, default=CLI_EPOCHS,
                   help="epochs in total; the cycles are NOT rescaled: a run ending inside a cycle stops "
                        "before the learning rate anneals (use --cycles)")
    g.add_argument("--cycles", default=None, metavar="LIST",
                   help="cosine cycle lengths in epochs, warm restart between them; the last repeats "
                        "(default: one cycle of --epochs; the seed's is 100,200,400)")
    g.add_argument("--batch-size", type=int, default=d.batch_size, help="training batch size")
    g.add_argument("--lr", type=float, default=d.lr, help="learning rate at each cycle start")
    g.add_argument("--lr-min", type=float, default=d.lr_min, help="learning rate at each cycle end")
    g.add_argument("--decay", type=float, default=d.decay,
                   help="normalised weight decay: AdamW decay = DECAY*sqrt(batch/(N*T_cycle))")
    g.add_argument("--betas", default=",".join(map(str, d.betas)), metavar="B1,B2", help="Adam betas")
    g.add_argument("--eps", type=float, default=d.eps, help="Adam epsilon")
    g.add_argument("--no-reset-moments", action="store_true", help="keep Adam moments across restarts")
    g.add_argument("--augment", default=d.augment, metavar="KIND",
                   help=f"{', '.join(AUGMENT_CHOICES)} (auto: flip+crop for cifar10, none otherwise)")
    g.add_argument("--crop-padding", type=int, default=d.crop_padding, help="edge padding before the crop")
    g.add_argument("--eval-batch-size", type=int, default=d.eval_batch_size,
                   help="batch size of the test evaluation after each epoch (memory only, same result)")
    g = parser.add_argument_group("weight errors during training")
    g.add_argument("--ber", type=float, default=d.ber, help="bit error rate injected in quantized weights")
    g.add_argument("--error-model", default=None, metavar="KIND",
                   help=f"{', '.join(ERROR_MODEL_CHOICES)}; default with --ber > 0: ternary for ternary "
                        "weights, sign-flip otherwise")
    g.add_argument("--error-mode", default=d.error_mode, metavar="MODE", help=", ".join(ERROR_MODE_CHOICES))
    g = parser.add_argument_group("chip-aware training (read errors of an operating point in every forward pass)")
    g.add_argument("--chip", type=float, default=argparse.SUPPRESS, metavar="VDD",
                   help="train with the read errors of the simulated chip at this sense-amplifier supply, V "
                        "(per programmed state, from the sense map over the device spread); off when not given")
    g.add_argument("--t-sense", type=float, default=argparse.SUPPRESS, metavar="S",
                   help="sense window with --chip, s; when not given, chosen per VDD as the sense study does")
    g.add_argument("--temperature-c", type=float, default=27.0, metavar="C",
                   help="temperature with --chip, degrees C")
    g.add_argument("--params", type=Path, default=argparse.SUPPRESS, metavar="PARAMS.json",
                   help="calibrated device and sense-amplifier parameters for --chip (from `ternary-rram "
                        "calibrate`); when not given, the defaults")
    g.add_argument("--n-grid", type=int, default=argparse.SUPPRESS, metavar="G",
                   help="grid points per axis of each amplifier's map for --chip; when not given, the deploy default")
    g.add_argument("--n-mc", type=int, default=argparse.SUPPRESS, metavar="M",
                   help="read-noise draws per map point for --chip; when not given, the deploy default")
    g.add_argument("--read-model", default=argparse.SUPPRESS, metavar="MODEL",
                   help="columns (default with --chip): every forward pass draws an amplifier from the pool "
                        "for each column of each array and reads the column's weights with its rates, so "
                        "errors cluster in columns as on a chip; independent: every weight read with the "
                        "pool's mean rates")
    g.add_argument("--array", default=argparse.SUPPRESS, metavar="ROWSxCOLS",
                   help="size of one array with --read-model columns, as deploy's --array (default 128x128)")
    g.add_argument("--column-group", type=int, default=argparse.SUPPRESS, metavar="K",
                   help="columns sharing one sense amplifier with --read-model columns (default 1)")
    g.add_argument("--amplifiers", type=int, default=argparse.SUPPRESS, metavar="K",
                   help="amplifiers in the pool with --chip, as deploy's --amplifiers (default 16)")


def default_error_model(weights: str) -> str:
    """The error model matching the weight kind."""
    return "ternary" if weights == "ternary" else "sign-flip"


def check_data_options(args: argparse.Namespace) -> None:
    """--limit (shared by train and evaluate) and --data-dir given but not a folder."""
    if args.limit is not None:
        check_int("--limit", args.limit, 1, LIMIT_MAX)
    if args.data_dir is not None and str(args.data_dir).strip() == "":
        raise InputError("--data-dir='' is not allowed: give the folder of the data files")


def load_data_quietly(command: str, name: str, data_dir: str | None, limit: int | None):
    """``load_dataset`` with its warnings (e.g. non-official CIFAR MD5s) printed as one line each."""
    from ternary_rram.nn.data import load_dataset

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_dataset(name, data_dir, limit=limit)
    for w in caught:
        print(format_warning(w.message, f"ternary-rram {command}"), file=sys.stderr)
    return data


def _betas(text: str) -> tuple[float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 2:
        raise InputError(f"--betas {text!r} is not allowed: must be two numbers, e.g. 0.9,0.999")
    return values  # type: ignore[return-value]


#: The model options' values when neither the command line nor an --init network gives them.
MODEL_DEFAULTS = {"model": "vgg", "weights": "ternary", "activations": "binary"}


def fill_model_options(args: argparse.Namespace) -> None:
    """Model options not given take the --init network's values (when there is one), else the defaults."""
    from ternary_rram.nn.packed import load_network

    found = {}
    if args.init is not None:
        if args.init.strip() == "":
            raise InputError("--init='' is not allowed: give a checkpoint, run folder, .packed file or "
                             "pretrained:NAME")
        found = dict(load_network(args.init)["model_config"])
        found["model"] = found.get("name")
    for key, default in MODEL_DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, found.get(key) or default)
    if args.width is None and "width" in found:
        args.width = found["width"]


def run(args: argparse.Namespace) -> int:
    from ternary_rram.fileio import check_output_folder, output_lock
    from ternary_rram.nn.train import TrainConfig, resolve_device

    fill_model_options(args)
    check_choice("--data", args.data, DATA_CHOICES)
    check_choice("--model", args.model, MODEL_CHOICES)
    check_choice("--weights", args.weights, WEIGHT_CHOICES)
    check_choice("--activations", args.activations, ACTIVATION_CHOICES)
    check_choice("--device", args.device, DEVICE_CHOICES)
    check_choice("--augment", args.augment, AUGMENT_CHOICES)
    check_choice("--precision", args.precision, PRECISION_CHOICES)
    check_choice("--error-mode", args.error_mode, ERROR_MODE_CHOICES)
    check_data_options(args)
    if args.width is not None:
        check_int("--width", args.width, 1, WIDTH_MAX[args.model],
                  why=f"training {args.model} wider than that does not fit in 24 GB")
    check_int("--epochs", args.epochs, 1, EPOCHS_MAX)
    check_int("--batch-size", args.batch_size, 1, BATCH_MAX)
    check_int("--eval-batch-size", args.eval_batch_size, 1, BATCH_MAX)
    check_int("--crop-padding", args.crop_padding, 0, CROP_PADDING_MAX)
    check_seed("--seed", args.seed)
    check_range("--ber", args.ber, 0.0, 1.0, high_open=True)
    if args.max_batches is not None:
        check_int("--max-batches", args.max_batches, 1, 10**9)
    cycles = (args.epochs,) if args.cycles is None else parse_int_list("--cycles", args.cycles)
    for c in cycles:
        check_int("--cycles", c, 1, EPOCHS_MAX)
    out = check_output_folder(args.out, "--out")
    error_model = args.error_model
    if error_model is not None:
        check_choice("--error-model", error_model, ERROR_MODEL_CHOICES)
    elif args.ber > 0:
        error_model = default_error_model(args.weights)
    config = TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, lr_min=args.lr_min,
        cycles=cycles, decay=args.decay, betas=_betas(args.betas),
        eps=args.eps, reset_moments=not args.no_reset_moments, augment=args.augment,
        crop_padding=args.crop_padding, seed=args.seed, ber=args.ber, error_model=error_model,
        error_mode=args.error_mode, eval_batch_size=args.eval_batch_size, max_batches=args.max_batches,
        precision=args.precision, init=args.init)
    chip_only = ("read_model", "array", "column_group", "amplifiers")
    given = [name for name in chip_only if hasattr(args, name)]
    for name in ("chip", "t_sense", "params", "n_grid", "n_mc", *chip_only):  # options without a default value
        if not hasattr(args, name):
            setattr(args, name, None)
    if args.chip is None and given:
        raise InputError(f"--{given[0].replace('_', '-')} is not allowed without --chip: it describes the chip "
                         "whose read errors chip-aware training injects")
    if args.chip is not None:
        if args.weights == "float":
            raise InputError("--chip is not allowed with --weights float: only binary or ternary weights are read "
                             "from the chip")
        layout = chip_layout(args)
        rates, source = chip_read_rates(args, layout)
        config = dataclasses.replace(config, read_rates=rates, read_source=source,
                                     read_layout=None if layout is None else
                                     (layout.rows, layout.cols, layout.column_group))
        mean = [[sum(t[i][j] for t in rates) / len(rates) for j in range(3)] for i in range(3)] \
            if layout is not None else rates
        print(f"ternary-rram train: chip-aware, {source}; P(read != programmed) for -1/0/+1: "
              + " / ".join(f"{1 - mean[i][i]:.3g}" for i in range(3))
              + (" on average over the amplifiers" if layout is not None else ""), file=sys.stderr)
    device = resolve_device(args.device)
    with output_lock(out, "--out"):
        return _train(args, config, device, error_model)


def _train(args: argparse.Namespace, config, device, error_model) -> int:
    import shlex

    from ternary_rram.nn.data import data_copy
    from ternary_rram.nn.train import cycle_note, train_network

    data = load_data_quietly(NAME, args.data, args.data_dir, args.limit)
    width = CLI_VGG_WIDTH if args.width is None and args.model == "vgg" else args.width
    model_config = {"name": args.model, "width": width, "weights": args.weights,
                    "activations": args.activations, "in_channels": data.in_channels,
                    "num_classes": data.num_classes, "image_size": data.image_size}
    note = cycle_note(config)
    if note:
        print(f"ternary-rram train: note: {note}", file=sys.stderr)
    command = ("ternary-rram " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == [NAME] else
               "ternary-rram train (called from Python)")
    result, packed = train_network(model_config, data, config, args.out, device=device, progress=not args.quiet,
                                   resume=args.resume,
                                   metadata={"command": command, "data": data_copy(args.data, args.data_dir)})
    if result.history:
        last = result.history[-1]
        print(f"epoch {last['epoch']}/{config.epochs}: train acc {100 * last['train_acc']:.2f} %, "
              f"test acc {100 * last['test_acc']:.2f} % ({data.name}, {data.n_test} test images, "
              f"precision {last.get('precision', 'fp32')})")
    print(f"checkpoint: {result.checkpoint}")
    if packed is not None:
        print(f"packed network: {packed}")
    return 0


def chip_layout(args: argparse.Namespace):
    """The chip's amplifier layout for --read-model columns; None for independent. Without
    --read-model: columns, except that a --resume continues with the read model of its run."""
    from ternary_rram.chip.deploy import parse_array_shape
    from ternary_rram.nn.chip_aware import AmplifierLayout

    model = args.read_model
    if model is None:
        model = (resumed_read_model(args.out) if args.resume else None) or "columns"
    check_choice("--read-model", model, READ_MODEL_CHOICES)
    if model == "independent":
        if args.array is not None or args.column_group is not None:
            raise InputError("--array and --column-group are not allowed with --read-model independent: "
                             "every weight is read alone there")
        return None
    rows, cols = parse_array_shape(CHIP_ARRAY if args.array is None else args.array)
    group = 1 if args.column_group is None else args.column_group
    check_int("--column-group", group, 1, cols, why="columns of one array share an amplifier")
    return AmplifierLayout(rows, cols, group)


def resumed_read_model(out: Path) -> str | None:
    """Read model of the chip-aware run in ``out`` (its metrics.json), None when not known: runs
    from before --read-model read every weight independently and keep working when resumed."""
    import json

    try:
        config = json.loads((Path(out) / "metrics.json").read_text())["train_config"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(config, dict) or config.get("read_rates") is None:
        return None
    return "columns" if config.get("read_layout") else "independent"


def chip_read_rates(args: argparse.Namespace, layout=None) -> tuple[list, str]:
    """Read rates of the operating point of --chip/--t-sense and where they come from: 3 x 3, or
    K x 3 x 3 (one table per amplifier) with the amplifier ``layout`` of --read-model columns.

    The amplifier pool is cached in OUT/cache, so a resume finds the same rates.
    """
    from ternary_rram.chip.deploy import N_AMPLIFIERS, N_GRID, N_MC
    from ternary_rram.chip.operating import chip_read_rates as rates_at
    from ternary_rram.cli.cmd_deploy import AMPLIFIERS_MAX

    n_grid = N_GRID if args.n_grid is None else args.n_grid
    n_mc = N_MC if args.n_mc is None else args.n_mc
    n_amp = N_AMPLIFIERS if args.amplifiers is None else args.amplifiers
    check_int("--amplifiers", n_amp, 1, AMPLIFIERS_MAX)
    device_model, pcsa = load_models(args.params)
    rates, op, info = rates_at(args.chip, args.t_sense, args.temperature_c, pcsa=pcsa, device_model=device_model,
                               n_grid=n_grid, n_mc=n_mc, seed=args.seed, cache_dir=Path(args.out) / "cache",
                               n_amplifiers=n_amp, per_amplifier=layout is not None)
    source = (f"VDD {op.vdd:g} V, window {op.t_sense:.4g} s ({info.source}), {args.temperature_c:g} degC, "
              f"amplifier pool {n_amp} x {n_grid}x{n_grid} x {n_mc} noise draws, "
              f"params {args.params if args.params is not None else 'default'}, "
              + (f"read model columns (arrays {layout.rows}x{layout.cols}, "
                 f"{layout.column_group} column(s) per amplifier)" if layout is not None else
                 "read model independent"))
    return rates, source
