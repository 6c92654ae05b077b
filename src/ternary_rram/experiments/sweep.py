"""Design-space sweeps on Dask: grids or random samples over an experiment's parameters.

A spec (TOML, see ``examples/sweep_sense.toml`` and ``docs/sweeps.md``) names an experiment of
:mod:`ternary_rram.experiments.points` and the values of its parameters::

    experiment = "sense"
    seed = 1                 # seeds the random sample and (through the hash) every point
    retries = 2              # Dask retries of a point that raises, before it is recorded as failed
    [fixed]                  # held constant
    samples = 500
    [grid]                   # full factorial: lists, or {start, stop, num, log}
    vdd = [0.9, 1.0, 1.2]
    t_sense = { start = 0.5e-9, stop = 4e-9, num = 4, log = true }
    [random]                 # n random draws (crossed with the grid): {low, high, log} or {choices}
    n = 4
    hrs_sigma = { low = 0.4, high = 1.0 }
    [summary]
    x = "vdd"
    y = "t_sense"
    metric = "error_rate"

Everything is checked against the experiment's schema before anything runs (one-line
:class:`~ternary_rram.errors.InputError`). Each point is keyed by the SHA-256 of its sorted-JSON
configuration (experiment, version, every parameter value, spec seed) and seeded from that hash, so
a point's result depends on its configuration only: not on the order, the worker or a retry.

Each point runs as one Dask task (``distributed``: a local cluster of processes by default, or an
existing scheduler). Each finished point is written at once as ``DIR/results/<hash>.parquet``
(written under a temporary name, then renamed), so a crash loses nothing finished and a rerun skips
every point already ``ok``. A point that raises is retried by Dask (``retries``), then recorded with
``status = "failed"`` and its error; a rerun tries failed points again. At the end the parts are
consolidated into ``DIR/results.parquet`` and a summary is written to ``DIR/summary/``.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import math
import os
import re
import socket
import sys
import time
import tomllib
import traceback as tb_module
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from distributed import Client, LocalCluster, as_completed
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from ternary_rram.errors import InputError, format_warning
from ternary_rram.experiments.points import Experiment, Param, as_scalar, get_experiment, load_target
from ternary_rram.fileio import (
    STALE_TMP_AGE_S,
    atomic_write_text,
    atomic_write_with,
    read_text_bounded,
    remove_stale_temps,
)

#: Most points one spec may expand to (a guard against a typo such as num = 1e6).
MAX_POINTS = 1_000_000
#: Largest spec file read, bytes (a spec is a few hundred bytes; a larger file is not a spec).
SPEC_MAX_BYTES = 1_000_000
#: Top-level keys a spec may hold.
SPEC_KEYS = ("experiment", "name", "description", "seed", "retries", "fixed", "grid", "random", "summary")
SUMMARY_KEYS = ("x", "y", "metric", "accuracy", "energy")
#: Columns of a result row that depend on the run (timing, worker), not on the point's configuration.
VOLATILE_COLUMNS = ("duration_s", "finished_at", "worker")
#: Columns every result row starts with.
BASE_COLUMNS = ("hash", "experiment", "status", "error", "seed")
HEATMAP_MAX_LEVELS = 12  # an axis with more distinct values (random sampling) is binned
HEATMAP_BINS = 8


# ------------------------------------------------------------------------------------------------
# Spec
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Point:
    """One configuration: its hash, every parameter value (defaults filled in), its seed."""

    hash: str
    params: dict
    seed: int


@dataclass(frozen=True)
class SummarySpec:
    """What the end-of-sweep summary plots: heat maps of ``metrics`` over (x, y), Pareto front."""

    x: str | None = None
    y: str | None = None
    metrics: tuple[str, ...] = ()
    accuracy: str | None = None
    energy: str | None = None


@dataclass
class SweepSpec:
    """A checked sweep specification (build it with :func:`load_spec` or :func:`parse_spec`)."""

    experiment: Experiment
    fixed: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list] = field(default_factory=dict)
    random: dict[str, dict] = field(default_factory=dict)
    n_random: int = 0
    seed: int = 0
    retries: int = 2
    summary: SummarySpec = field(default_factory=SummarySpec)
    name: str = ""
    source_text: str | None = None

    @property
    def varied(self) -> list[str]:
        """Parameters that take more than one value, grid axes first."""
        out = [k for k, v in self.grid.items() if len(v) > 1]
        out += [k for k in self.random if k not in out and self.n_random > 1]
        return out

    @property
    def n_points(self) -> int:
        return math.prod(len(v) for v in self.grid.values()) * max(self.n_random, 1)

    def random_samples(self) -> list[dict]:
        """The ``n_random`` random draws (one dict each), from ``seed``; ``[{}]`` without [random]."""
        if not self.random:
            return [{}] * max(self.n_random, 1)
        rng = np.random.default_rng(self.seed)
        cols: dict[str, list] = {}
        for name in sorted(self.random):  # sorted: the draws do not depend on the order in the file
            cols[name] = _draw(self.experiment.param(name), self.random[name], self.n_random, rng)
        return [{k: cols[k][i] for k in cols} for i in range(self.n_random)]

    def points(self) -> list[Point]:
        """Every point of the spec, in order (grid in file order, crossed with the random draws).

        Points with the same configuration (the same hash) appear once.
        """
        n = self.n_points
        if n > MAX_POINTS:
            raise InputError(f"points={n} is not allowed: a spec may expand to at most {MAX_POINTS} points")
        axes = list(self.grid)
        draws = self.random_samples()
        seen: dict[str, Point] = {}
        for combo in itertools.product(*(self.grid[a] for a in axes)):
            for draw in draws:
                values = {**self.fixed, **dict(zip(axes, combo)), **draw}
                params = self.experiment.resolve(values)
                h = point_hash(self.experiment, params, self.seed)
                if h not in seen:
                    seen[h] = Point(h, params, seed_from_hash(h))
        return list(seen.values())


def point_hash(experiment: Experiment, params: Mapping[str, Any], spec_seed: int) -> str:
    """SHA-256 (hex) of the sorted JSON of (experiment name, version, parameters, spec seed)."""
    payload = {"experiment": experiment.name, "version": experiment.version,
               "params": dict(params), "seed": int(spec_seed)}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def seed_from_hash(h: str) -> int:
    """The point's random seed: the first 60 bits of its hash (fits int64)."""
    return int(h[:15], 16)


def load_spec(path: str | os.PathLike) -> SweepSpec:
    """Read and check a TOML spec; :class:`InputError` (one line) when it is not valid."""
    p = Path(path)
    text = read_text_bounded(p, SPEC_MAX_BYTES, "spec")  # a folder, binary or huge file: one line
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"spec={str(p)!r} is not allowed: not valid TOML: {_one_line(str(exc))}") from None
    spec = parse_spec(data)
    spec.source_text = text
    return spec


def parse_spec(data: Mapping[str, Any]) -> SweepSpec:
    """Check a spec given as a dict (the parsed TOML) and return it as a :class:`SweepSpec`."""
    if not isinstance(data, Mapping):
        raise InputError(f"spec={data!r} is not allowed: must be a table")
    unknown = [k for k in data if k not in SPEC_KEYS]
    if unknown:
        raise InputError(f"{unknown[0]} is not allowed: a spec holds only the keys {', '.join(SPEC_KEYS)}")
    if "experiment" not in data:
        raise InputError("experiment is missing: the spec must name one (experiment = \"sense\")")
    exp = get_experiment(data["experiment"])
    seed = _int_key(data, "seed", 0, 0, 2**63 - 1)
    retries = _int_key(data, "retries", 2, 0, 100)
    name = data.get("name", "")
    if not isinstance(name, str):
        raise InputError(f"name={name!r} is not allowed: must be a string")

    fixed_raw = _table(data, "fixed")
    grid_raw = _table(data, "grid")
    random_raw = dict(_table(data, "random"))

    fixed = {k: exp.param(k, "fixed.").check(v, "fixed.") for k, v in fixed_raw.items()}
    grid = {k: _grid_values(exp.param(k, "grid."), v) for k, v in grid_raw.items()}

    n_random = 0
    if random_raw or "random" in data:
        if "n" not in random_raw:
            raise InputError("random.n is missing: [random] needs n, the number of random draws")
        n_random = Param("n", "int", 1, low=1, high=MAX_POINTS).check(random_raw.pop("n"), "random.")
        if not random_raw:
            raise InputError("random is not allowed: [random] names no parameter to draw")
    random = {k: _random_dist(exp.param(k, "random."), v) for k, v in random_raw.items()}

    sections = [("fixed", fixed), ("grid", grid), ("random", random)]
    for (sa, a), (sb, b) in itertools.combinations(sections, 2):
        both = sorted(set(a) & set(b))
        if both:
            raise InputError(f"{both[0]} is not allowed in both [{sa}] and [{sb}]: give it in one section")

    given = set(fixed) | set(grid) | set(random)
    for p in exp.params:
        if p.required and p.name not in given:
            raise InputError(f"{p.name} is missing: experiment {exp.name!r} needs it in [fixed], [grid] or "
                             f"[random] ({p.help})")

    spec = SweepSpec(experiment=exp, fixed=fixed, grid=grid, random=random, n_random=n_random,
                     seed=seed, retries=retries, name=name)
    spec.summary = _summary(exp, _table(data, "summary"), spec)
    if spec.n_points > MAX_POINTS:
        raise InputError(f"points={spec.n_points} is not allowed: a spec may expand to at most {MAX_POINTS} points")
    return spec


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _int_key(data: Mapping, key: str, default: int, low: int, high: int) -> int:
    if key not in data:
        return default
    v = data[key]
    if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
        raise InputError(f"{key}={v!r} is not allowed: must be an integer in [{low}, {high}]")
    return int(v)


def _table(data: Mapping, key: str) -> Mapping:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise InputError(f"{key}={value!r} is not allowed: must be a table ([{key}])")
    return value


def _grid_values(param: Param, raw: Any) -> list:
    where = "grid."
    if isinstance(raw, Mapping):
        allowed = {"start", "stop", "num", "log"}
        extra = sorted(set(raw) - allowed)
        if extra or not {"start", "stop", "num"} <= set(raw):
            raise InputError(f"grid.{param.name}={dict(raw)!r} is not allowed: a range is "
                             "{start, stop, num[, log]}")
        if param.type not in ("float", "int"):
            raise InputError(f"grid.{param.name}={dict(raw)!r} is not allowed: ranges need a numeric parameter; "
                             "give a list")
        start = param.check(raw["start"], where)
        stop = param.check(raw["stop"], where)
        num = Param("num", "int", 1, low=1, high=MAX_POINTS).check(raw["num"], f"grid.{param.name}.")
        log = raw.get("log", False)
        if not isinstance(log, bool):
            raise InputError(f"grid.{param.name}.log={log!r} is not allowed: must be true or false")
        if log and (start <= 0 or stop <= 0):
            raise InputError(f"grid.{param.name}={dict(raw)!r} is not allowed: log ranges need start, stop > 0")
        arr = np.geomspace(start, stop, num) if log else np.linspace(start, stop, num)
        if num >= 1:
            arr[0], arr[-1] = start, stop  # exact end points
        # 12 significant digits: 5e-10, not 4.999999999999999e-10 (the value is also the hash input)
        values = [round(v) for v in arr] if param.type == "int" else [float(f"{v:.12g}") for v in arr]
        values = list(dict.fromkeys(values))
    elif isinstance(raw, list):
        values = raw
    else:
        values = [raw]
    if not values:
        raise InputError(f"grid.{param.name}=[] is not allowed: must list at least one value "
                         f"({param.allowed()})")
    checked = [param.check(v, where) for v in values]
    return list(dict.fromkeys(checked))


def _random_dist(param: Param, raw: Any) -> dict:
    where = f"random.{param.name}"
    if isinstance(raw, list):
        raw = {"choices": raw}
    if not isinstance(raw, Mapping):
        raise InputError(f"{where}={raw!r} is not allowed: must be {{low, high[, log]}} or {{choices = [...]}}")
    keys = set(raw)
    if keys == {"choices"}:
        choices = raw["choices"]
        if not isinstance(choices, list) or not choices:
            raise InputError(f"{where}.choices={choices!r} is not allowed: must list at least one value")
        return {"choices": [param.check(v, "random.") for v in choices]}
    if keys - {"low", "high", "log"} or not {"low", "high"} <= keys:
        raise InputError(f"{where}={dict(raw)!r} is not allowed: must be {{low, high[, log]}} or {{choices = [...]}}")
    if param.type not in ("float", "int"):
        raise InputError(f"{where}={dict(raw)!r} is not allowed: {{low, high}} needs a numeric parameter; "
                         "use {choices = [...]}")
    low = param.check(raw["low"], "random.")
    high = param.check(raw["high"], "random.")
    if high < low:
        raise InputError(f"{where}={dict(raw)!r} is not allowed: needs low <= high")
    log = raw.get("log", param.log)
    if not isinstance(log, bool):
        raise InputError(f"{where}.log={log!r} is not allowed: must be true or false")
    if log and low <= 0:
        if "log" in raw:
            raise InputError(f"{where}={dict(raw)!r} is not allowed: log sampling needs low > 0")
        log = False
    return {"low": low, "high": high, "log": log}


def _draw(param: Param, dist: dict, n: int, rng: np.random.Generator) -> list:
    if "choices" in dist:
        idx = rng.integers(0, len(dist["choices"]), size=n)
        return [dist["choices"][i] for i in idx]
    low, high, log = dist["low"], dist["high"], dist["log"]
    if log:
        values = np.exp(rng.uniform(math.log(low), math.log(high), size=n))
    else:
        values = rng.uniform(low, high, size=n)
    if param.type == "int":
        out = [int(min(max(round(v), low), high)) for v in values]
    else:
        out = [float(min(max(v, low), high)) for v in values]
    return [param.check(v, "random.") for v in out]


def _summary(exp: Experiment, raw: Mapping, spec: SweepSpec) -> SummarySpec:
    extra = [k for k in raw if k not in SUMMARY_KEYS]
    if extra:
        raise InputError(f"summary.{extra[0]} is not allowed: [summary] holds only {', '.join(SUMMARY_KEYS)}")
    varied = spec.varied

    def axis(key: str) -> str | None:
        if key not in raw:
            return None
        v = raw[key]
        if not isinstance(v, str):
            raise InputError(f"summary.{key}={v!r} is not allowed: must be a parameter name")
        exp.param(v, f"summary.{key}=")
        if v not in varied:
            raise InputError(f"summary.{key}={v!r} is not allowed: must be a parameter the spec varies "
                             f"({', '.join(varied) or 'none'})")
        return v

    def metric(key: str, value: Any) -> str:
        if not isinstance(value, str) or value not in exp.metrics:
            raise InputError(f"summary.{key}={value!r} is not allowed: must be a metric of {exp.name!r}: "
                             f"{', '.join(exp.metrics)}")
        return value

    x, y = axis("x"), axis("y")
    if (x is None) != (y is None):
        raise InputError("summary.x and summary.y are not allowed alone: give both or neither")
    if x is not None and x == y:
        raise InputError(f"summary.y={y!r} is not allowed: must differ from summary.x")
    if x is None and len(varied) >= 2:
        x, y = varied[0], varied[1]
    m = raw.get("metric", exp.default_metric or exp.accuracy_metric or exp.metrics[0])
    metrics = tuple(metric("metric", v) for v in (m if isinstance(m, list) else [m]))
    acc = metric("accuracy", raw["accuracy"]) if "accuracy" in raw else exp.accuracy_metric
    en = metric("energy", raw["energy"]) if "energy" in raw else exp.energy_metric
    return SummarySpec(x=x, y=y, metrics=metrics, accuracy=acc, energy=en)


# ------------------------------------------------------------------------------------------------
# Result store: one Parquet part per point, read back as one table
# ------------------------------------------------------------------------------------------------

class ResultStore:
    """``DIR/results/<hash>.parquet``, one row each, written atomically (temporary name, rename)."""

    def __init__(self, out_dir: str | os.PathLike):
        self.out_dir = Path(out_dir)
        self.results_dir = self.out_dir / "results"

    def ensure(self) -> None:
        self.results_dir.mkdir(parents=True, exist_ok=True)

    def part_path(self, h: str) -> Path:
        return self.results_dir / f"{h}.parquet"

    def write(self, row: Mapping[str, Any]) -> Path:
        """Write one result row as its own Parquet file (replacing an older row of the same hash)."""

        path = self.part_path(row["hash"])
        table = pa.Table.from_pylist([dict(row)])
        return atomic_write_with(path, lambda tmp: pq.write_table(table, tmp))

    def hashes(self) -> list[str]:
        return sorted(p.name[: -len(".parquet")] for p in self.results_dir.glob("*.parquet"))

    def statuses(self, warn: Callable[[str], None] | None = None) -> dict[str, str]:
        """Status of every stored point, by hash; an unreadable part is quarantined (see :meth:`quarantine`)."""

        out = {}
        for p in sorted(self.results_dir.glob("*.parquet")):
            try:
                out[p.name[: -len(".parquet")]] = pq.read_table(p, columns=["status"]).column(0)[0].as_py()
            except (OSError, ValueError, IndexError, KeyError) as exc:  # ArrowInvalid is a ValueError
                self.quarantine(p, exc, warn)
        return out

    def quarantine(self, part: Path, exc: BaseException, warn: Callable[[str], None] | None = None) -> Path | None:
        """Rename a corrupt part aside (``<hash>.parquet.corrupt``) so that its point is computed again.

        The file is kept for inspection, not deleted; ``warn`` (default: stderr) gets one line.
        """
        dest = part.with_name(part.name + ".corrupt")
        try:
            os.replace(part, dest)
        except OSError:
            return None
        reason = " ".join(str(exc).split())[:160] or type(exc).__name__
        msg = (f"sweep part {part.name} is unreadable ({reason}): moved aside to {dest.name}; "
               "its point is computed again")
        if warn is None:
            print(f"warning: {msg}", file=sys.stderr, flush=True)
        else:
            warn(msg)
        return dest

    def remove_stale_temps(self, min_age_s: float = STALE_TMP_AGE_S) -> None:
        """Temporary parts a killed driver left, older than ``min_age_s`` (a live writer's are younger;
        ``ternary-rram sweep`` also holds the folder lock, which clears the top folder's at once)."""
        remove_stale_temps(self.results_dir, min_age_s=min_age_s)
        remove_stale_temps(self.out_dir, min_age_s=min_age_s)
        now = time.time()
        for p in self.results_dir.glob("*.parquet.tmp-*"):  # names of earlier versions
            with contextlib.suppress(OSError):
                if now - p.stat().st_mtime >= min_age_s:
                    p.unlink()

    def ok_hashes(self) -> set[str]:
        return {h for h, s in self.statuses().items() if s == "ok"}


def load_results(out_dir: str | os.PathLike) -> pd.DataFrame:
    """Every stored point of ``out_dir`` as one pandas table, one row per point, sorted by hash."""

    store = ResultStore(out_dir)
    files = sorted(store.results_dir.glob("*.parquet"))
    tables = []
    for f in files:
        try:
            tables.append(pq.read_table(f))
        except (OSError, ValueError) as exc:  # corrupt part: set aside, its point reruns next time
            store.quarantine(f, exc)
    if not tables:
        return pd.DataFrame(columns=list(BASE_COLUMNS))
    try:
        df = pa.concat_tables(tables, promote_options="permissive").to_pandas()
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        df = pd.concat([t.to_pandas() for t in tables], ignore_index=True)
    return df.sort_values("hash", kind="stable").reset_index(drop=True)


# ------------------------------------------------------------------------------------------------
# Execution on Dask
# ------------------------------------------------------------------------------------------------

def _show_warning_one_line(message, category, filename, lineno, file=None, line=None) -> None:
    # Workers are fresh processes that never saw the CLI's warning format: without this a warning
    # prints as two lines (the message, then the source line that raised it).
    print(format_warning(message, "ternary-rram sweep"), file=file or sys.stderr, flush=True)


def execute_point(target: str, params: dict, seed: int, metrics: Sequence[str] = ()) -> dict:
    """Run one point (this is the Dask task): import ``target``, call it, check its scalars.

    Returns ``{"metrics": {...}, "duration_s": s, "worker": "host:pid"}``; raises when the point
    function raises or returns something else than the declared scalar metrics.
    """
    warnings.showwarning = _show_warning_one_line
    fn: Callable = load_target(target)
    t0 = time.perf_counter()
    raw = fn(dict(params), int(seed))
    duration = time.perf_counter() - t0
    if not isinstance(raw, Mapping):
        raise TypeError(f"{target} returned {type(raw).__name__}, not a dict of scalars")
    missing = [m for m in metrics if m not in raw]
    if missing:
        raise ValueError(f"{target} did not return the metrics {missing}")
    clash = [k for k in raw if k in params]
    if clash:
        raise ValueError(f"{target} returned results named like parameters: {clash}")
    values = {str(k): as_scalar(str(k), v) for k, v in raw.items()}
    return {"metrics": values, "duration_s": duration, "worker": f"{socket.gethostname()}:{os.getpid()}"}


@dataclass
class SweepReport:
    """What a sweep did: counts, failures, where it wrote."""

    out_dir: Path
    n_points: int
    n_skipped: int = 0
    n_ok: int = 0
    n_failed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (hash, error)
    files: dict[str, Path] = field(default_factory=dict)
    wall_s: float = 0.0

    @property
    def n_run(self) -> int:
        return self.n_ok + self.n_failed


_ADDRESS = re.compile(r"^([a-z]+://)?[^\s:/]+(:\d+)?$|^[a-z]+://\S+$")


def check_scheduler_address(address: str) -> str:
    """Return ``address`` when it looks like a Dask scheduler address (``tcp://host:port``)."""
    if not isinstance(address, str) or not address or not _ADDRESS.match(address):
        raise InputError(f"scheduler={address!r} is not allowed: must be a Dask scheduler address such as "
                         "tcp://host:8786")
    return address


@contextlib.contextmanager
def open_client(scheduler: str | None = None, workers: int | None = None, *,
                quiet: bool = True) -> Iterator[Client]:
    """A ``distributed.Client``: to ``scheduler`` when given, else to a new local cluster of
    ``workers`` processes with one thread each (closed on exit). ``quiet``: the local cluster logs
    only critical messages (a failed point is recorded in the results with its error instead)."""


    if scheduler is not None:
        check_scheduler_address(scheduler)
        try:
            client = Client(scheduler, timeout="15s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"scheduler={scheduler!r} is not allowed: cannot connect ({_one_line(str(exc))})") from None
        try:
            yield client
        finally:
            client.close()
        return
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError(f"workers={workers!r} is not allowed: must be an integer >= 1")
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.CRITICAL if quiet else logging.WARNING)
    try:
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _error_text(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    return _one_line(f"{type(exc).__name__}: {exc}")[:2000]


def run_sweep(spec: SweepSpec, out_dir: str | os.PathLike, *, scheduler: str | None = None,
              workers: int | None = None, client: Any = None, progress: bool = True,
              summary: bool = True, on_point: Callable[[dict], None] | None = None) -> SweepReport:
    """Run every point of ``spec`` not yet finished in ``out_dir``; write results and summary.

    Args:
        spec: a checked spec (:func:`load_spec` / :func:`parse_spec`).
        out_dir: output folder (created): ``results/``, ``results.parquet``, ``summary/``, ``spec.toml``.
        scheduler: address of a running Dask scheduler (``tcp://host:8786``); default: local cluster.
        workers: number of local worker processes (default: Dask's choice, one per core).
        client: an existing ``distributed.Client`` to use instead (not closed here).
        progress: show a progress bar (tqdm, on stderr).
        summary: write the summary (CSV, Pareto front, heat maps) at the end.
        on_point: called with each result row right after it is written.
    """
    t0 = time.perf_counter()
    if scheduler is not None and workers is not None:
        raise InputError("workers is not allowed together with scheduler: the scheduler's workers run the points")
    if scheduler is not None:
        check_scheduler_address(scheduler)
    points = spec.points()
    store = ResultStore(out_dir)
    store.remove_stale_temps()
    done = store.ok_hashes()  # reads (and sets corrupt parts aside): nothing is created before the cluster
    todo = [p for p in points if p.hash not in done]
    report = SweepReport(out_dir=store.out_dir, n_points=len(points), n_skipped=len(points) - len(todo))

    if todo:
        ctx = contextlib.nullcontext(client) if client is not None else open_client(scheduler, workers)
        with ctx as cl:
            store.ensure()
            _write_spec_copy(spec, store.out_dir)
            _run_on_dask(cl, spec, todo, store, report, progress, on_point)
    else:
        store.ensure()
        _write_spec_copy(spec, store.out_dir)

    df = load_results(store.out_dir)
    report.files["results"] = _write_parquet_atomic(df, store.out_dir / "results.parquet")
    if summary:
        report.files.update(summarize(spec, store.out_dir, df=df, points=points))
    report.wall_s = time.perf_counter() - t0
    return report


def _run_on_dask(client: Any, spec: SweepSpec, todo: list[Point], store: ResultStore, report: SweepReport,
                 progress: bool, on_point: Callable[[dict], None] | None) -> None:

    exp = spec.experiment
    token = uuid.uuid4().hex[:8]
    by_key: dict[str, Point] = {}
    futures = []
    for p in todo:
        key = f"sweep-{exp.name}-{p.hash[:16]}-{token}"
        fut = client.submit(execute_point, exp.target, p.params, p.seed, tuple(exp.metrics), key=key,
                            retries=spec.retries, pure=False)
        by_key[fut.key] = p
        futures.append(fut)
    bar = tqdm(total=report.n_points, initial=report.n_skipped, disable=not progress,
               desc=f"sweep {exp.name}", unit="pt", dynamic_ncols=True)
    pending = {f.key: f for f in futures}
    try:
        for fut in as_completed(futures):
            p = by_key[fut.key]
            row: dict[str, Any] = {"hash": p.hash, "experiment": exp.name, "status": "ok", "error": "",
                                   "seed": p.seed, **p.params}
            try:
                if fut.status != "finished":
                    raise RuntimeError("not finished")  # handled below with the task's own exception
                out = fut.result()
                row.update(out["metrics"])
                row.update({"traceback": "", "duration_s": out["duration_s"], "finished_at": _now(),
                            "worker": out["worker"]})
            except Exception as local_exc:
                exc: BaseException | None
                tb_text = ""
                try:
                    exc = fut.exception()
                    tb = fut.traceback()
                    tb_text = "".join(tb_module.format_tb(tb)) if tb is not None else ""
                except Exception as e2:  # cancelled: no exception object to fetch
                    exc = e2 if fut.status == "cancelled" else local_exc
                row.update({"status": "failed", "error": _error_text(exc), "traceback": tb_text[-8000:],
                            "duration_s": math.nan, "finished_at": _now(), "worker": ""})
            store.write(row)
            pending.pop(fut.key, None)
            fut.release()
            if row["status"] == "ok":
                report.n_ok += 1
            else:
                report.n_failed += 1
                report.failed.append((p.hash, row["error"]))
            bar.update(1)
            if report.n_failed:
                bar.set_postfix(failed=report.n_failed, refresh=False)
            if on_point is not None:
                on_point(row)
    finally:
        bar.close()
        if pending:  # interrupted: do not leave the rest running on a shared scheduler
            with contextlib.suppress(Exception):
                client.cancel(list(pending.values()))


def _write_parquet_atomic(df: Any, path: Path) -> Path:
    return atomic_write_with(path, lambda tmp: df.to_parquet(tmp, index=False))


def _write_spec_copy(spec: SweepSpec, out_dir: Path) -> None:
    if spec.source_text is not None:
        atomic_write_text(out_dir / "spec.toml", spec.source_text)


# ------------------------------------------------------------------------------------------------
# Summary: CSV of all points, Pareto front (accuracy vs energy), heat maps over two axes
# ------------------------------------------------------------------------------------------------

def pareto_front(df: pd.DataFrame, accuracy: str, energy: str) -> pd.DataFrame:
    """Rows not dominated in (max ``accuracy``, min ``energy``), sorted by energy (finite rows only)."""
    d = df[np.isfinite(df[accuracy].astype(float)) & np.isfinite(df[energy].astype(float))]
    d = d.sort_values([energy, accuracy], ascending=[True, False], kind="stable")
    keep, best = [], -math.inf
    for idx, a in zip(d.index, d[accuracy].astype(float)):
        if a > best:
            keep.append(idx)
            best = a
    return d.loc[keep]


def summarize(spec: SweepSpec, out_dir: str | os.PathLike, *, df: Any = None,
              points: list[Point] | None = None) -> dict[str, Path]:
    """Write ``summary/points.csv``, the Pareto front (CSV, PNG) and heat maps (CSV, PNG).

    Covers the points of ``spec`` (other points stored in the same folder stay in the table but not
    in the summary). Heat maps average the metric over every parameter other than x and y.
    """
    out = Path(out_dir) / "summary"
    out.mkdir(parents=True, exist_ok=True)
    if df is None:
        df = load_results(out_dir)
    if points is None:
        points = spec.points()
    exp = spec.experiment
    hashes = {p.hash for p in points}
    df = df[df["hash"].isin(hashes)]
    params = list(spec.varied) + [n for n in exp.param_names if n not in spec.varied]
    metric_cols = [c for c in df.columns if c not in params and c not in BASE_COLUMNS
                   and c not in VOLATILE_COLUMNS and c != "traceback"]
    order = [c for c in ("hash", "status", *params, *metric_cols, "error", "seed", *VOLATILE_COLUMNS)
             if c in df.columns]
    table = df[order].sort_values(params, kind="stable") if len(df) else df[order]
    files: dict[str, Path] = {}
    files["points_csv"] = out / "points.csv"
    atomic_write_with(files["points_csv"], lambda tmp: table.to_csv(tmp, index=False))

    ok = table[table["status"] == "ok"] if len(table) else table
    s = spec.summary
    if s.accuracy and s.energy and s.accuracy in ok.columns and s.energy in ok.columns and len(ok):
        front = pareto_front(ok, s.accuracy, s.energy)
        files["pareto_csv"] = out / "pareto.csv"
        atomic_write_with(files["pareto_csv"], lambda tmp: front.to_csv(tmp, index=False))
        files["pareto_png"] = out / "pareto.png"
        _plot_pareto(ok, front, s.accuracy, s.energy, spec.varied, files["pareto_png"])
    if s.x and s.y and len(ok):
        for metric in s.metrics:
            if metric not in ok.columns:
                continue
            grid = _heatmap_table(ok, exp, s.x, s.y, metric)
            stem = f"heatmap_{metric}__{s.y}_vs_{s.x}"
            files[f"{stem}_csv"] = out / f"{stem}.csv"
            atomic_write_with(files[f"{stem}_csv"], lambda tmp, g=grid: g.to_csv(tmp))
            files[f"{stem}_png"] = out / f"{stem}.png"
            others = [v for v in spec.varied if v not in (s.x, s.y)]
            _plot_heatmap(grid, _axis_label(exp, s.x), _axis_label(exp, s.y), metric, others, files[f"{stem}_png"])
    return files


def _axis_levels(series: pd.Series, param: Param) -> pd.Series:

    if series.nunique() <= HEATMAP_MAX_LEVELS or param.type not in ("float", "int"):
        return series
    v = series.astype(float)
    lo, hi = float(v.min()), float(v.max())
    if param.log and lo > 0:
        edges = np.geomspace(lo, hi, HEATMAP_BINS + 1)
        centers = np.sqrt(edges[:-1] * edges[1:])
    else:
        edges = np.linspace(lo, hi, HEATMAP_BINS + 1)
        centers = 0.5 * (edges[:-1] + edges[1:])
    idx = np.clip(np.searchsorted(edges, v.to_numpy(), side="right") - 1, 0, HEATMAP_BINS - 1)
    return pd.Series(centers[idx], index=series.index)


def _heatmap_table(ok: pd.DataFrame, exp: Experiment, x: str, y: str, metric: str) -> pd.DataFrame:
    d = ok[[x, y, metric]].copy()
    d[metric] = d[metric].astype(float)
    d[x] = _axis_levels(d[x], exp.param(x))
    d[y] = _axis_levels(d[y], exp.param(y))
    return d.pivot_table(index=y, columns=x, values=metric, aggfunc="mean").sort_index().sort_index(axis=1)


def _fmt(v: Any) -> str:
    return f"{v:.3g}" if isinstance(v, (float, np.floating)) else str(v)


def _axis_label(exp: Any, name: str) -> str:
    """A parameter's name with its unit for a figure axis, e.g. "vdd (V)"."""
    unit = next((p.unit for p in exp.params if p.name == name), "")
    return f"{name} ({unit})" if unit else name


def _plot_heatmap(grid: pd.DataFrame, x: str, y: str, metric: str, others: list[str], path: Path) -> None:

    fig = Figure(figsize=(1.2 + 0.7 * max(grid.shape[1], 4), 1.2 + 0.5 * max(grid.shape[0], 4)))
    ax = fig.add_subplot()
    data = grid.to_numpy(dtype=float)
    im = ax.imshow(data, origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(grid.shape[1]), [_fmt(v) for v in grid.columns], rotation=45, ha="right")
    ax.set_yticks(range(grid.shape[0]), [_fmt(v) for v in grid.index])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    title = metric + (f" (mean over {', '.join(others)})" if others else "")
    ax.set_title(title, fontsize=9)
    if data.size <= 144:
        finite = data[np.isfinite(data)]
        mid = float(np.mean([finite.min(), finite.max()])) if finite.size else 0.0
        for i in range(data.shape[0]):
            for j in range(data.shape[1]):
                if np.isfinite(data[i, j]):
                    ax.text(j, i, f"{data[i, j]:.3g}", ha="center", va="center", fontsize=7,
                            color="black" if data[i, j] > mid else "white")
    fig.colorbar(im, ax=ax, label=f"{metric} (J)" if metric.startswith("energy") else metric)
    fig.tight_layout()
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))


def _plot_pareto(ok: pd.DataFrame, front: pd.DataFrame, accuracy: str, energy: str,
                 varied: list[str], path: Path) -> None:

    fig = Figure(figsize=(6, 4.2))
    ax = fig.add_subplot()
    e = ok[energy].astype(float)
    ax.scatter(e, ok[accuracy].astype(float), s=12, color="0.6", label="points")
    ax.step(front[energy].astype(float), front[accuracy].astype(float), where="post", color="C3",
            marker="o", ms=4, label="Pareto front")
    if len(front) <= 8:  # label the front with the varied parameters
        for _, r in front.iterrows():
            label = ", ".join(f"{k}={_fmt(r[k])}" for k in varied[:3])
            ax.annotate(label, (float(r[energy]), float(r[accuracy])), textcoords="offset points",
                        xytext=(4, -10), fontsize=6, color="C3")
    if len(e) and float(e[e > 0].min() if (e > 0).any() else 0) > 0 and e.max() / e[e > 0].min() > 20:
        ax.set_xscale("log")
    ax.set_xlabel(f"{energy} (J)" if energy.startswith("energy") else energy)
    ax.set_ylabel(accuracy)
    ax.set_title(f"{accuracy} vs {energy} over {', '.join(varied) or 'one point'}", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    # legend under the axes, never over the points
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png", bbox_inches="tight"))
