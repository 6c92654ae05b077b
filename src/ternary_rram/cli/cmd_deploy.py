"""``ternary-rram deploy``: program a trained network into simulated 2T2R arrays and read it back."""

from __future__ import annotations

import argparse
from pathlib import Path

from ternary_rram.circuit.params import DEFAULT_VDD_LOW
from ternary_rram.cli.cmd_train import CHIP_ARRAY, DATA_DIR_HELP
from ternary_rram.cli.console import add_hidden_alias, add_quiet_argument, show_progress
from ternary_rram.cli.process import add_process_argument, resolve_params
from ternary_rram.errors import InputError, check_int, check_range, check_seed
from ternary_rram.fileio import path_arg

#: Map sizes: each amplifier's map runs N_GRID^2 x N_MC transient senses (41 x 41 x 8 per amplifier by
#: default, seconds); 257^2 x 4096 is 2.7e8 senses per amplifier, hours, and its batched state would not
#: fit in 24 GB.
N_GRID_MAX = 257
N_MC_MAX = 4096
LIMIT_TEST_MAX = 10_000_000
#: Amplifier pool: each member is one map of N_GRID^2 x N_MC senses; 4096 members at the default size
#: are already hours.
AMPLIFIERS_MAX = 4096

#: Architectures a plain state_dict can be read into (those of ternary_rram.nn.models).
MODEL_CHOICES: tuple[str, ...] = ("vgg", "mlp", "convnet")

NAME = "deploy"
HELP = ("Deploy a trained checkpoint on simulated chip instances at one operating point: accuracy with "
        "ideal vs chip-read weights per chip, read errors per layer, type and sense amplifier, yield at a "
        "target accuracy, energy and latency per inference.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="CHECKPOINT",
                        help="checkpoint file or run folder, a packed network (FILE.packed) or pretrained:NAME; "
                             "with --model: a plain PyTorch state_dict file")
    parser.add_argument("--vdd", type=float, default=DEFAULT_VDD_LOW,
                        help=f"sense-amplifier supply, V (0.3-1.9; default {DEFAULT_VDD_LOW:g}: the lowest VDD with a "
                             f"wide ternary timing margin for the shipped SKY130 tt transistors)")
    parser.add_argument("--t-sense", type=float, default=None, metavar="S",
                        help="sense window, s (default: chosen per VDD as the sense study does)")
    parser.add_argument("--temperature-c", type=float, default=27.0, metavar="C", help="temperature, degrees C")
    parser.add_argument("--array", default=CHIP_ARRAY, metavar="ROWSxCOLS", help="size of one array")
    parser.add_argument("--reads", default="every-inference", choices=("every-inference", "once"),
                        help="every-inference: weights sensed at every use (XNOR in the sense amplifier, "
                             "fresh read noise per batch); once: read once into a digital weight buffer")
    parser.add_argument("--chips", type=int, default=1, metavar="N",
                        help="chip instances (seeds SEED .. SEED+N-1): accuracy per chip, mean, spread, yield")
    parser.add_argument("--target-accuracy", type=float, default=None, metavar="A",
                        help="accuracy (fraction in [0, 1]) a chip must reach to count in the yield")
    parser.add_argument("--noise-scale", type=float, default=1.0, metavar="X",
                        help="multiplier of the default per-read noise (RRAM read fluctuation and latch "
                             "kT/C noise); 0 switches it off")
    parser.add_argument("--t-relax", type=float, default=0.0, metavar="S",
                        help="seconds between programming and reading (HRS relaxation)")
    parser.add_argument("--column-group", type=int, default=1, metavar="K",
                        help="columns sharing one sense amplifier")
    parser.add_argument("--amplifiers", type=int, default=None, metavar="K",
                        help="amplifiers in the pool each chip draws its column amplifiers from (default 16)")
    parser.add_argument("--data", default=None, metavar="NAME",
                        help="test set (default: the checkpoint's): cifar10, mnist, digits, synthetic")
    parser.add_argument("--data-dir", default=None, metavar="DIR", help=DATA_DIR_HELP)
    parser.add_argument("--limit-test", type=int, default=None, metavar="N",
                        help="evaluate the first N test images (default: all)")
    add_hidden_alias(parser, "--limit", "limit_test", type=int)
    parser.add_argument("--engine", default="float", choices=("float", "integer"),
                        help="network evaluation: float model with read weights, or exact integer path")
    parser.add_argument("--n-grid", type=int, default=None, metavar="G",
                        help="grid points per axis of each amplifier's map (default 41)")
    parser.add_argument("--n-mc", type=int, default=None, metavar="M", help="noise draws per map point (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="the (first) chip instance: devices, amplifier choice and read noise")
    parser.add_argument("--params", type=Path, default=None, metavar="PARAMS.json",
                        help="calibrated device and sense-amplifier parameters (from `ternary-rram calibrate`)")
    add_process_argument(parser)
    parser.add_argument("--out", type=path_arg, required=True, metavar="DIR", help="output folder")
    add_quiet_argument(parser, what="no progress bar")
    add_state_dict_arguments(parser)


def add_state_dict_arguments(parser: argparse.ArgumentParser) -> None:
    """Options that read CHECKPOINT as a plain ``torch.save(model.state_dict())`` file."""
    g = parser.add_argument_group(
        "plain PyTorch state_dict (weights trained by other code; docs/user-guide.md)")
    g.add_argument("--model", default=None, choices=MODEL_CHOICES,
                   help="read CHECKPOINT as a state_dict of this architecture (needs --data)")
    g.add_argument("--width", type=int, default=None, metavar="F", help="width of --model (vgg: F, F, 2F, 2F, 4F, 4F)")
    g.add_argument("--weights", default=None, choices=("ternary", "binary"), help="weight kind (default ternary)")
    g.add_argument("--activations", default=None, choices=("binary", "ternary"),
                   help="activation kind (default binary)")
    g.add_argument("--threshold", type=float, default=None, metavar="T",
                   help="absolute ternary threshold on float weights (needed when they are not already in "
                        "{-1, 0, +1}; the seed's is 0.05)")
    g.add_argument("--key-map", type=Path, default=None, metavar="FILE.json",
                   help="their key names -> ours: a JSON object, or a list of [regex, replacement] pairs")


def _plain_state_dict(args: argparse.Namespace):
    """The --model options as a PlainStateDict; None without --model (then none of them may be given)."""
    from ternary_rram.experiments.deploy import PlainStateDict

    given = [f"--{n.replace('_', '-')}" for n in ("width", "weights", "activations", "threshold", "key_map")
             if getattr(args, n) is not None]
    if args.model is None:
        if given:
            raise InputError(f"{', '.join(given)} is not allowed without --model (they describe a plain "
                             "state_dict)")
        return None
    if not args.data:
        raise InputError("data is not known for a plain state_dict: pass --data NAME")
    return PlainStateDict(args.model, width=args.width, weights=args.weights or "ternary",
                          activations=args.activations or "binary", threshold=args.threshold,
                          key_map=args.key_map)


def run(args: argparse.Namespace) -> int:
    args.params = resolve_params(args)
    from ternary_rram.array.params import ReadNoise
    from ternary_rram.chip.deploy import N_AMPLIFIERS, N_GRID, N_MC, check_chips, parse_array_shape
    from ternary_rram.chip.operating import check_vdd
    from ternary_rram.circuit.operating import TEMPERATURE_MAX, TEMPERATURE_MIN, ZERO_CELSIUS
    from ternary_rram.fileio import check_output_folder, output_lock

    # Cheap checks first: bad options fail before any file or simulation.
    array = parse_array_shape(args.array)
    check_vdd(args.vdd)
    if args.limit_test is not None:
        check_int("--limit-test", args.limit_test, 1, LIMIT_TEST_MAX)
    chips = check_chips(args.chips)
    if args.target_accuracy is not None:
        check_range("target-accuracy", args.target_accuracy, 0.0, 1.0)
    check_range("noise-scale", args.noise_scale, 0.0, float("inf"), high_open=True)
    noise = ReadNoise.scaled(args.noise_scale)
    check_range("t-relax", args.t_relax, 0.0, float("inf"), high_open=True, unit="s")
    check_int("--column-group", args.column_group, 1, array[1], why="columns of one array share an amplifier")
    n_amp = N_AMPLIFIERS if args.amplifiers is None else args.amplifiers
    check_int("--amplifiers", n_amp, 1, AMPLIFIERS_MAX)
    n_grid = N_GRID if args.n_grid is None else args.n_grid
    n_mc = N_MC if args.n_mc is None else args.n_mc
    check_int("--n-grid", n_grid, 2, N_GRID_MAX)
    check_int("--n-mc", n_mc, 1, N_MC_MAX)
    check_seed("--seed", args.seed)
    check_range("--temperature-c", args.temperature_c, TEMPERATURE_MIN - ZERO_CELSIUS,
                TEMPERATURE_MAX - ZERO_CELSIUS, unit="C")
    for side in array:
        check_int("--array", side, 1, 65536, why="rows and columns of one array")
    if args.t_sense is not None:
        check_range("--t-sense", args.t_sense, 0.0, 1e-6, low_open=True, unit="s")
    out: Path = check_output_folder(args.out, "--out")
    with output_lock(out, "--out"):
        return _deploy(args, array, chips, noise, n_amp, n_grid, n_mc, out)


def _deploy(args: argparse.Namespace, array: tuple[int, int], chips: int, noise, n_amp: int, n_grid: int,
            n_mc: int, out: Path) -> int:
    from ternary_rram.experiments.deploy import deploy_checkpoint

    plain = _plain_state_dict(args)
    config = {"vdd": args.vdd, "t_sense": args.t_sense,
              "temperature_c": args.temperature_c, "array": list(array), "reads": args.reads,
              "chips": chips, "target_accuracy": args.target_accuracy, "noise_scale": args.noise_scale,
              "column_group": args.column_group, "amplifiers": n_amp, "t_relax": args.t_relax,
              "limit_test": args.limit_test, "engine": args.engine, "n_grid": n_grid,
              "n_mc": n_mc, "seed": args.seed,
              "params": None if args.params is None else str(args.params)}
    if plain is not None:
        config["state_dict"] = {"model": args.model, "width": args.width, "threshold": args.threshold,
                                "key_map": None if args.key_map is None else str(args.key_map)}

    def announce(data_name: str) -> None:
        print(f"ternary-rram deploy: {data_name}, VDD {args.vdd:g} V, array {array[0]}x{array[1]}, "
              f"reads {args.reads}, {chips} chip(s)", flush=True)

    rec = deploy_checkpoint(args.checkpoint, args.vdd, data=args.data, data_dir=args.data_dir, plain=plain,
                            params=args.params, config=config, announce=announce, t_sense=args.t_sense,
                            temperature_c=args.temperature_c, array_shape=array, column_group=args.column_group,
                            reads=args.reads, seed=args.seed, chips=chips, target_accuracy=args.target_accuracy,
                            noise=noise, t_relax=args.t_relax, out_dir=out, limit_test=args.limit_test,
                            n_amplifiers=n_amp, n_grid=n_grid, n_mc=n_mc, engine=args.engine,
                            cache_dir=out / "cache", progress=show_progress(args))
    en = rec["energy"]
    c = rec["chips"]
    print(f"window {rec['operating_point']['t_sense'] * 1e9:.3g} ns ({rec['window']['source']})")
    print(f"accuracy ideal {100 * rec['accuracy_ideal']:.2f} %")
    for k in c["per_chip"]:
        e = k["errors"]
        a = k["errors_per_amplifier"]
        print(f"chip {k['chip_seed']}: accuracy {100 * k['accuracy_chip']:.2f} %; read errors: to zero "
              f"{e['to_zero']}, from zero {e['from_zero']}, sign flips {e['sign_flip']} of {e['n_weights']} "
              f"weight reads; on {a.get('amplifiers_with_errors', 0)} of {a.get('amplifiers', 0)} sense "
              f"amplifiers (worst 1 % carry {100 * a.get('share_of_errors_on_worst_1pct', 0.0):.0f} %)")
    line = (f"over {c['chips']} chip(s): mean {100 * c['accuracy_mean']:.2f} %, sd {100 * c['accuracy_std']:.2f} "
            f"points, min {100 * c['accuracy_min']:.2f} %")
    if c["yield"] is not None:
        line += f", yield at {100 * c['target_accuracy']:.4g} %: {100 * c['yield']:.0f} %"
    print(line)
    print(f"energy per inference {en['energy_per_inference'] * 1e9:.4g} nJ (array "
          f"{(en['parts']['sense'] + en['parts']['bitline']) * 1e9:.4g} nJ: {en['senses_per_inference']} senses at "
          f"{en['energy_per_sense'] * 1e15:.3g} fJ + bit lines), latency "
          f"{en['latency_per_inference'] * 1e6:.4g} us; one-time: programming "
          f"{en['one_time']['programming'] * 1e6:.4g} uJ, read after programming "
          f"{en['one_time']['read_after_programming'] * 1e9:.4g} nJ")
    d = en["periphery_defaults"]
    print("  periphery energies " + (f"at their [D] defaults (chip/params.py): {', '.join(d)}" if d
                                     else "all user-given") + f"; the total leaves out: {'; '.join(en['leaves_out'])}")
    print(f"wrote {out / 'deploy.json'}, {out / 'chips.png'}")
    return 0
