"""``--process NAME``: a shipped foundry parameter set, the same as ``--params`` with its file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

# One list of the shipped presets, the one api.PROCESSES and preset_path use too.
from ternary_rram.chip.params_file import PRESETS as PROCESSES
from ternary_rram.chip.params_file import load_models as _load_models
from ternary_rram.chip.params_file import preset_path
from ternary_rram.errors import InputError


def add_process_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--process`` next to ``--params``."""
    parser.add_argument("--process", choices=PROCESSES, default=None,
                        help="shipped transistor set (instead of --params): sky130-tt (the default), -ff, -ss fitted to "
                             "the SkyWater SKY130 corners; generic-130 the textbook 130 nm / 1.2 V set, not foundry "
                             "data (src/ternary_rram/presets/README.md)")


#: The SKY130 core devices, the default device names of the PDK options.
SKY130_NFET = "sky130_fd_pr__nfet_01v8"
SKY130_PFET = "sky130_fd_pr__pfet_01v8"


def add_pdk_device_arguments(group: Any, *, corner_help: str = "library section (corner)") -> None:
    """``--corner``, ``--nfet``, ``--pfet``: which devices of a PDK library to use (calibrate, spice)."""
    group.add_argument("--corner", default="tt", help=corner_help)
    group.add_argument("--nfet", default=SKY130_NFET, metavar="NAME", help="NMOS device (subckt/model)")
    group.add_argument("--pfet", default=SKY130_PFET, metavar="NAME", help="PMOS device (subckt/model)")


def resolve_params(args: argparse.Namespace) -> Path | None:
    """The PARAMS.json to load: ``--params``, or the preset file of ``--process``; both is an error."""
    process = getattr(args, "process", None)
    if process is None:
        return args.params
    if args.params is not None:
        raise InputError("give --params or --process, not both")
    return preset_path(process)


def load_models(params: Path | None) -> tuple[Any, Any]:
    """(DeviceModel, PCSA) of a PARAMS.json (:func:`resolve_params`); (None, None) for the defaults."""
    return _load_models(params)
