"""Result cache keyed by configuration: a rerun skips what is done, a killed run resumes.

Each unit of work (one experiment point, one trained network, ...) is described by a JSON-able
configuration dict. Its key is the SHA-256 of the canonical JSON of ``{"name": name, "config":
config, "version": CACHE_VERSION}``; the result lives in ``<root>/<name>-<key[:16]>.json`` (plain
JSON values) and, when it holds arrays, ``<root>/<name>-<key[:16]>.npz``. Files are written to a
temporary file in the same folder and renamed into place (``os.replace``), NPZ first and JSON last,
so a result is visible only when complete: a run killed at any moment leaves either no result or a
whole one, and the next run recomputes only what is missing.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import sys
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ternary_rram.errors import InputError
from ternary_rram.fileio import atomic_write_bytes, atomic_write_text, remove_stale_temps

#: Bump to invalidate every cached result when the meaning of a stored result changes.
CACHE_VERSION: int = 1


def _warn_stderr(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr, flush=True)


def _jsonable(obj: Any) -> Any:
    """Recursively convert numpy scalars, tuples and paths to plain JSON values."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    return obj


def canonical(config: Mapping[str, Any]) -> str:
    """Canonical JSON text of a configuration (sorted keys, no spaces)."""
    try:
        return json.dumps(_jsonable(config), sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputError(f"config is not allowed: must be JSON-serialisable ({exc})") from None


def config_key(name: str, config: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the named configuration (64 characters)."""
    text = canonical({"name": name, "config": config, "version": CACHE_VERSION})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Result:
    """A cached result: JSON values and named arrays.

    Attributes:
        values: JSON-able dict (numbers, strings, lists, dicts).
        arrays: name -> numpy array (any shape/dtype numpy can save without pickling).
    """

    values: dict
    arrays: dict

    def __getitem__(self, key: str) -> Any:
        if key in self.arrays:
            return self.arrays[key]
        return self.values[key]


class Cache:
    """Folder of cached results.

    Args:
        root: folder for the result files (created on first write).
        enabled: False turns the cache into a pass-through (always compute, never store).
    """

    def __init__(self, root: str | os.PathLike, enabled: bool = True,
                 warn: Callable[[str], None] | None = None) -> None:
        self.root = Path(root)
        self.enabled = enabled
        self.hits = 0  # units read from an earlier run's results
        self.misses = 0  # units computed by this run
        self.reused = 0  # units asked for again in this run (computed or read before): not counted twice
        self.corrupt = 0  # unreadable stored units, reported and computed again
        self.compute_seconds = 0.0  # summed "_compute_s" of every unit returned (hit or miss)
        self._seen: set[str] = set()  # JSON paths this instance computed or read already
        self._warn = warn if warn is not None else _warn_stderr
        if enabled:
            remove_stale_temps(self.root)  # left by a killed run (old enough not to be a live writer's)

    def paths(self, name: str, config: Mapping[str, Any]) -> tuple[Path, Path]:
        """(JSON path, NPZ path) of a configuration's result."""
        stem = f"{name}-{config_key(name, config)[:16]}"
        return self.root / f"{stem}.json", self.root / f"{stem}.npz"

    def load(self, name: str, config: Mapping[str, Any]) -> Result | None:
        """The stored result, or None when absent (or unreadable: it will be recomputed)."""
        if not self.enabled:
            return None
        jpath, npath = self.paths(name, config)
        if not jpath.exists():
            return None
        try:
            doc = json.loads(jpath.read_text(encoding="utf-8"))
            arrays: dict = {}
            if doc.get("has_arrays"):
                with np.load(npath, allow_pickle=False) as z:
                    arrays = {k: z[k] for k in z.files}
            values = doc["values"]
            if not isinstance(values, dict):
                raise ValueError("values is not a JSON object")
            return Result(values=values, arrays=arrays)
        except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError, RecursionError,
                zipfile.BadZipFile) as exc:
            # A damaged unit (truncated copy, disk error, edited by hand): say so, compute it again.
            self.corrupt += 1
            reason = " ".join(str(exc).split())[:120] or type(exc).__name__
            self._warn(f"cache unit {jpath.name} is unreadable ({type(exc).__name__}: {reason}); computing it again")
            return None

    def store(self, name: str, config: Mapping[str, Any], values: Mapping[str, Any],
              arrays: Mapping[str, np.ndarray] | None = None) -> Result:
        """Store a result atomically (arrays first, then the JSON that makes it visible)."""
        arrays = {k: np.asarray(v) for k, v in (arrays or {}).items()}
        result = Result(values=_jsonable(dict(values)), arrays=arrays)
        if not self.enabled:
            return result
        jpath, npath = self.paths(name, config)
        if arrays:
            buf = io.BytesIO()
            np.savez_compressed(buf, **arrays)
            atomic_write_bytes(npath, buf.getvalue())
        doc = {"name": name, "config": _jsonable(dict(config)), "version": CACHE_VERSION,
               "has_arrays": bool(arrays), "values": result.values}
        atomic_write_text(jpath, json.dumps(doc, indent=1, sort_keys=True, allow_nan=True))
        self._seen.add(str(jpath))
        return result

    def get_or_compute(self, name: str, config: Mapping[str, Any],
                       compute: Callable[[], tuple[Mapping[str, Any], Mapping[str, np.ndarray]]]) -> Result:
        """Return the stored result for ``config``, else run ``compute()`` -> (values, arrays), store it.

        The wall time of ``compute`` is stored as ``values["_compute_s"]`` (s) and summed, for hits and
        misses alike, in :attr:`compute_seconds`: the time the whole result took, over resumed runs.

        ``compute`` must depend only on ``config`` (and the code version): that is what makes the
        stored result reusable.
        """
        hit = self.load(name, config)
        if hit is not None:
            key = str(self.paths(name, config)[0])
            if key in self._seen:
                self.reused += 1  # this run computed or read it a moment ago: one unit, counted once
            else:
                self._seen.add(key)
                self.hits += 1
                self.compute_seconds += float(hit.values.get("_compute_s", 0.0) or 0.0)
            return hit
        self.misses += 1
        t0 = time.perf_counter()
        values, arrays = compute()
        values = {**dict(values), "_compute_s": time.perf_counter() - t0}
        self.compute_seconds += values["_compute_s"]
        return self.store(name, config, values, arrays)
