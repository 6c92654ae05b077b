"""``--process NAME``: a shipped foundry parameter set, the same as ``--params`` with its file."""

from __future__ import annotations

import argparse
from pathlib import Path

from ternary_rram.errors import InputError

PROCESSES = ("sky130-tt", "sky130-ff", "sky130-ss")


def add_process_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--process`` next to ``--params``."""
    parser.add_argument("--process", choices=PROCESSES, default=None,
                        help="shipped transistor set fitted to the SkyWater SKY130 corner (instead of --params; "
                             "see src/ternary_rram/presets/README.md)")


def resolve_params(args: argparse.Namespace) -> Path | None:
    """The PARAMS.json to load: ``--params``, or the preset file of ``--process``; both is an error."""
    process = getattr(args, "process", None)
    if process is None:
        return args.params
    if args.params is not None:
        raise InputError("give --params or --process, not both")
    from ternary_rram.experiments.pdk_calibrate import preset_path

    return preset_path(process)
