"""``ternary-rram deploy``: program a trained network into simulated 2T2R arrays and read it back."""

from __future__ import annotations

import argparse
from pathlib import Path

from ternary_rram.cli.cmd_train import DATA_DIR_HELP
from ternary_rram.cli.console import add_hidden_alias, add_quiet_argument, show_progress
from ternary_rram.errors import InputError
from ternary_rram.cli.process import add_process_argument, resolve_params
from ternary_rram.circuit.params import DEFAULT_VDD_LOW

NAME = "deploy"
HELP = ("Deploy a trained checkpoint on simulated chip instances at one operating point: accuracy with "
        "ideal vs chip-read weights per chip, read errors per layer, type and sense amplifier, yield at a "
        "target accuracy, energy and latency per inference.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoint file or run folder")
    parser.add_argument("--vdd", type=float, default=DEFAULT_VDD_LOW,
                        help=f"sense-amplifier supply, V (0.3-1.9; default {DEFAULT_VDD_LOW:g}: the lowest VDD with a "
                             f"wide ternary timing margin for the shipped SKY130 tt transistors)")
    parser.add_argument("--t-sense", type=float, default=None, metavar="S",
                        help="sense window, s (default: chosen per VDD as the sense study does)")
    parser.add_argument("--temperature-c", type=float, default=27.0, metavar="C", help="temperature, degrees C")
    parser.add_argument("--array", default="128x128", metavar="ROWSxCOLS", help="size of one array")
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
                        help="grid points per axis of each amplifier's map (default 25)")
    parser.add_argument("--n-mc", type=int, default=None, metavar="M", help="noise draws per map point (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="the (first) chip instance: devices, amplifier choice and read noise")
    parser.add_argument("--params", type=Path, default=None, metavar="PARAMS.json",
                        help="calibrated device and sense-amplifier parameters (from `ternary-rram calibrate`)")
    add_process_argument(parser)
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    add_quiet_argument(parser, what="no progress bar")


def run(args: argparse.Namespace) -> int:
    args.params = resolve_params(args)
    from ternary_rram.array.params import ReadNoise
    from ternary_rram.chip.deploy import N_AMPLIFIERS, N_GRID, N_MC, check_chips, parse_array_shape
    from ternary_rram.errors import check_range
    from ternary_rram.experiments.deploy import check_vdd, run_deploy
    from ternary_rram.nn.checkpoint import load_checkpoint, model_from_checkpoint
    from ternary_rram.nn.data import load_dataset
    from ternary_rram.nn.layers import quantized_layers

    # Cheap checks first: bad options fail before any file or simulation.
    array = parse_array_shape(args.array)
    check_vdd(args.vdd)
    if args.limit_test is not None and args.limit_test < 1:
        raise InputError(f"limit-test={args.limit_test} is not allowed: must be >= 1")
    chips = check_chips(args.chips)
    if args.target_accuracy is not None:
        check_range("target-accuracy", args.target_accuracy, 0.0, 1.0)
    check_range("noise-scale", args.noise_scale, 0.0, float("inf"), high_open=True)
    noise = ReadNoise.scaled(args.noise_scale)
    check_range("t-relax", args.t_relax, 0.0, float("inf"), high_open=True, unit="s")
    if not 1 <= args.column_group <= array[1]:
        raise InputError(f"column-group={args.column_group} is not allowed: must be in [1, {array[1]}]")
    n_amp = N_AMPLIFIERS if args.amplifiers is None else args.amplifiers
    if n_amp < 1:
        raise InputError(f"amplifiers={n_amp} is not allowed: must be an integer >= 1")
    n_grid = N_GRID if args.n_grid is None else args.n_grid
    n_mc = N_MC if args.n_mc is None else args.n_mc
    if n_grid < 2:
        raise InputError(f"n-grid={n_grid} is not allowed: must be an integer >= 2")
    if n_mc < 1:
        raise InputError(f"n-mc={n_mc} is not allowed: must be an integer >= 1")
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise InputError(f"out={str(out)!r} is not allowed: it exists and is not a folder")
    device_model, pcsa = None, None
    if args.params is not None:
        from ternary_rram.circuit.pcsa import PCSA
        from ternary_rram.experiments.calibrate import load_params

        device_model, pcsa_params = load_params(args.params)
        pcsa = PCSA(pcsa_params)
    ckpt = load_checkpoint(args.checkpoint)
    model = model_from_checkpoint(ckpt)
    if not any(m.weight_quantizer.is_quantized for _, m in quantized_layers(model)):
        raise InputError(f"checkpoint {args.checkpoint} is not allowed: it has no quantized layer "
                         "(weights='float'); only binary or ternary weights go on the chip")
    data_name = args.data or (ckpt.get("data") or {}).get("name")
    if not data_name:
        raise InputError("data is not known: pass --data NAME")
    data = load_dataset(data_name, args.data_dir, seed=0)
    config = {"checkpoint": str(ckpt.get("path", args.checkpoint)), "vdd": args.vdd, "t_sense": args.t_sense,
              "temperature_c": args.temperature_c, "array": list(array), "reads": args.reads,
              "chips": chips, "target_accuracy": args.target_accuracy, "noise_scale": args.noise_scale,
              "column_group": args.column_group, "amplifiers": n_amp, "t_relax": args.t_relax,
              "data": data_name, "limit_test": args.limit_test, "engine": args.engine, "n_grid": n_grid,
              "n_mc": n_mc, "seed": args.seed,
              "params": None if args.params is None else str(args.params)}
    print(f"ternary-rram deploy: {data_name}, VDD {args.vdd:g} V, array {array[0]}x{array[1]}, "
          f"reads {args.reads}, {chips} chip(s)", flush=True)
    rec = run_deploy(model, data, args.vdd, t_sense=args.t_sense, temperature_c=args.temperature_c,
                     array_shape=array, column_group=args.column_group, reads=args.reads, seed=args.seed,
                     chips=chips, target_accuracy=args.target_accuracy, noise=noise, t_relax=args.t_relax,
                     out_dir=out,
                     limit_test=args.limit_test, n_amplifiers=n_amp, n_grid=n_grid, n_mc=n_mc,
                     engine=args.engine, device_model=device_model, pcsa=pcsa, config=config,
                     cache_dir=out / "cache",
                     progress=show_progress(args))
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
