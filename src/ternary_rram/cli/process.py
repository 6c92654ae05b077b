"""``--process NAME``: a shipped foundry parameter set, the same as ``--params`` with its file."""

from __future__ import annotations

import argparse
from pathlib import Path

from ternary_rram.errors import InputError

PROCESSES = ("sky130-tt", "sky130-ff", "sky130-ss", "generic-130")


def add_process_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--process`` next to ``--params``."""
    parser.add_argument("--process", choices=PROCESSES, default=None,
                        help="shipped transistor set (instead of --params): sky130-tt (the default), -ff, -ss fitted to "
                             "the SkyWater SKY130 corners; generic-130 the textbook 130 nm / 1.2 V set, not foundry "
                             "data (src/ternary_rram/presets/README.md)")


def resolve_params(args: argparse.Namespace) -> Path | None:
    """The PARAMS.json to load: ``--params``, or the preset file of ``--process``; both is an error."""
    process = getattr(args, "process", None)
    if process is None:
        return args.params
    if args.params is not None:
        raise InputError("give --params or --process, not both")
    from ternary_rram.experiments.pdk_calibrate import preset_path

    return preset_path(process)
