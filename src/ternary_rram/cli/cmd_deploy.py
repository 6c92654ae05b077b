"""``ternary-rram deploy``: program a trained network into simulated 2T2R arrays and read it back."""

from __future__ import annotations

import argparse
from pathlib import Path

from ternary_rram.errors import InputError

NAME = "deploy"
HELP = ("Deploy a trained checkpoint on the simulated chip at one operating point: accuracy with ideal "
        "vs chip-read weights, read errors per layer and type, energy and latency per inference.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="CHECKPOINT",
                        help="checkpoint file or run folder, a packed network (FILE.packed) or pretrained:NAME")
    parser.add_argument("--vdd", type=float, default=0.6, help="sense-amplifier supply, V (0.3-1.3)")
    parser.add_argument("--t-sense", type=float, default=None, metavar="S",
                        help="sense window, s (default: chosen per VDD as the sense study does)")
    parser.add_argument("--temperature-c", type=float, default=27.0, metavar="C", help="temperature, degrees C")
    parser.add_argument("--array", default="128x128", metavar="ROWSxCOLS", help="size of one array")
    parser.add_argument("--reads", default="once", choices=("once", "every-inference"),
                        help="read the weights once after programming, or for every inference")
    parser.add_argument("--data", default=None, metavar="NAME",
                        help="test set (default: the checkpoint's): cifar10, mnist, digits, synthetic")
    parser.add_argument("--data-dir", default=None, metavar="DIR", help="folder of the data set files")
    parser.add_argument("--limit-test", type=int, default=None, metavar="N", help="evaluate the first N test images")
    parser.add_argument("--engine", default="float", choices=("float", "integer"),
                        help="network evaluation: float model with read weights, or exact integer path")
    parser.add_argument("--n-grid", type=int, default=None, metavar="G", help="sense-map grid points per axis")
    parser.add_argument("--n-mc", type=int, default=None, metavar="M", help="mismatch draws per sense-map point")
    parser.add_argument("--seed", type=int, default=0, help="seed of devices, mismatch and sense draws")
    parser.add_argument("--params", type=Path, default=None, metavar="PARAMS.json",
                        help="calibrated device and sense-amplifier parameters (from `ternary-rram calibrate`)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")


def run(args: argparse.Namespace) -> int:
    from ternary_rram.chip.deploy import SENSE_GRID, SENSE_MC, parse_array_shape
    from ternary_rram.experiments.deploy import check_vdd, run_deploy
    from ternary_rram.nn.checkpoint import model_from_checkpoint
    from ternary_rram.nn.data import load_dataset
    from ternary_rram.nn.layers import quantized_layers

    # Cheap checks first: bad options fail before any file or simulation.
    array = parse_array_shape(args.array)
    check_vdd(args.vdd)
    if args.limit_test is not None and args.limit_test < 1:
        raise InputError(f"limit-test={args.limit_test} is not allowed: must be >= 1")
    n_grid = SENSE_GRID if args.n_grid is None else args.n_grid
    n_mc = SENSE_MC if args.n_mc is None else args.n_mc
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
    from ternary_rram.nn.packed import load_network

    ckpt = load_network(args.checkpoint)
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
              "data": data_name, "limit_test": args.limit_test, "engine": args.engine, "n_grid": n_grid,
              "n_mc": n_mc, "seed": args.seed,
              "params": None if args.params is None else str(args.params)}
    print(f"ternary-rram deploy: {data_name}, VDD {args.vdd:g} V, array {array[0]}x{array[1]}, "
          f"reads {args.reads}", flush=True)
    rec = run_deploy(model, data, args.vdd, t_sense=args.t_sense, temperature_c=args.temperature_c,
                     array_shape=array, reads=args.reads, seed=args.seed, out_dir=out,
                     limit_test=args.limit_test, n_grid=n_grid, n_mc=n_mc, engine=args.engine,
                     device_model=device_model, pcsa=pcsa, config=config, cache_dir=out / "cache")
    e = rec["errors_total"]
    en = rec["energy"]
    print(f"window {rec['operating_point']['t_sense'] * 1e9:.3g} ns ({rec['window']['source']})")
    print(f"accuracy ideal {100 * rec['accuracy_ideal']:.2f} %, chip {100 * rec['accuracy_chip']:.2f} %")
    print(f"read errors: to zero {e['to_zero']}, from zero {e['from_zero']}, sign flips {e['sign_flip']} "
          f"of {e['n_weights']} weight reads")
    print(f"energy per inference {en['energy_per_inference'] * 1e9:.4g} nJ, latency "
          f"{en['latency_per_inference'] * 1e6:.4g} us; programming {en['one_time']['programming'] * 1e6:.4g} uJ")
    print(f"wrote {out / 'deploy.json'}")
    return 0
