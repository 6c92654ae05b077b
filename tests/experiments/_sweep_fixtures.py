"""Experiments used only by the sweep tests; importable by Dask workers (separate processes)."""

from __future__ import annotations

import math
import os
import random
import time
from pathlib import Path

from ternary_rram.experiments.points import Experiment, Param, register


def poly_point(params: dict, seed: int) -> dict:
    """Cheap deterministic point: fails for x == fail_at; logs each call to log_dir when given."""
    if params["log_dir"]:
        with open(Path(params["log_dir"]) / f"call-{params['x']}-{os.getpid()}-{time.time_ns()}", "w"):
            pass
    if params["delay"] > 0:
        time.sleep(params["delay"])
    if params["x"] == params["fail_at"]:
        raise ValueError(f"deliberate failure at x={params['x']}")
    rng = random.Random(seed)
    x, y = params["x"], params["y"]
    return {"accuracy": 1.0 - math.exp(-x * y), "energy": (x + 1) * y * 1e-12, "noise": rng.random(),
            "label": f"x{x}"}


POLY = register(Experiment(
    name="test-poly", target="tests.experiments._sweep_fixtures:poly_point",
    params=(Param("x", "int", 1, low=0, high=100), Param("y", "float", 1.0, low=0.0, high=10.0),
            Param("fail_at", "int", -1, low=-1, high=100), Param("log_dir", "str", ""),
            Param("delay", "float", 0.0, low=0.0, high=10.0, unit="s")),
    metrics=("accuracy", "energy", "noise", "label"), accuracy_metric="accuracy", energy_metric="energy",
    default_metric="accuracy"), replace=True)



def warning_point(params: dict, seed: int) -> dict:
    """A point that warns (as the CIFAR-10 loader does for a non-official copy), then returns."""
    import warnings

    warnings.warn("data copy is not\nthe official one", UserWarning, stacklevel=1)
    return {"y": 1.0}
