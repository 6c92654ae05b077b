"""The run context of a reproduction: output folder, preset, models, cache, seed, progress, streams."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.circuit.read import hashed_generator
from ternary_rram.circuit.transforms import process_corner
from ternary_rram.device import DeviceModel
from ternary_rram.experiments.cache import Cache
from ternary_rram.experiments.reproduce.presets import VDD_NOMINAL, Preset


@dataclass
class RunContext:
    out: Path
    preset: Preset
    device: DeviceModel
    pcsa_params: Any
    cache: Cache
    seed: int
    log: Callable[[str], None]
    fingerprint: dict = field(default_factory=dict)
    sections: Sequence[str] = ("sense", "nn")
    #: Progress: units this run will ask for (:func:`planned_units`), the number given to each distinct
    #: unit in the order first asked for, and whether training units draw tqdm bars.
    plan: int = 0
    unit_numbers: dict[str, int] = field(default_factory=dict)
    bars: bool = False
    #: Whether sections 5-7 judge the network claims on the shipped converged pair (compute.judges_shipped).
    shipped: bool = False

    def base_config(self) -> dict:
        return {"params": self.fingerprint, "seed": self.seed}

    def unit(self, name: str, config: dict, compute: Callable[[], Any], what: str) -> Any:
        """The cached result of one unit of work; when it must be computed, says "unit k of N: what"."""
        key = self.cache.paths(name, config)[0].name
        k = self.unit_numbers.setdefault(key, len(self.unit_numbers) + 1)

        def announced() -> Any:
            self.log(f"unit {k} of {max(self.plan, k)}: {what}")
            return compute()

        return self.cache.get_or_compute(name, config, announced)


def planned_units(preset: Preset, sections: Sequence[str], vdd_star: float | None = None,
                  shipped: bool = False) -> int:
    """Distinct cached units a run of ``sections`` asks for (the N of "unit k of N").

    Before the operating point is known the waveform study counts two VDDs (nominal and chosen); it is
    one when the chosen VDD is the nominal one. ``shipped``: the network claims are judged on the shipped
    pair (two more units, their evaluation). Kept in step with the section code by a test."""
    n_vdd = len(preset.vdds)
    n_cond = 1 + sum(t != 27.0 for t in preset.temperatures_c) + len(preset.corners)
    n_wave = 1 if vdd_star is not None and vdd_star == VDD_NOMINAL else 2
    n = n_vdd + n_wave + n_cond * n_vdd
    if "nn" in sections:
        n += 3 * len(preset.widths) + 2 * len(preset.bers) + n_vdd + 2 * n_vdd + (2 if shipped else 0)
    return n


def pcsa_at(ctx: RunContext, corner: float = 0.0) -> PCSA:
    """The run's PCSA, at process corner ``corner`` (units of PROCESS_SIGMA_VT; 0: typical)."""
    p = ctx.pcsa_params if corner == 0 else process_corner(ctx.pcsa_params, corner)
    return PCSA(p)


def generator(ctx: RunContext, *keys: float) -> torch.Generator:
    """The stream of one unit: :func:`ternary_rram.circuit.read.hashed_generator` of the run seed and ``keys``."""
    return hashed_generator(ctx.seed, *keys)


def compute_device() -> str:
    """"cuda" when a GPU is visible (the transient model runs on the device of its inputs), else "cpu"."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def jsonable_params(obj: Any) -> Any:
    """A parameter dataclass as plain JSON values (the cache fingerprint)."""
    return json.loads(json.dumps(dataclasses.asdict(obj), default=str))
