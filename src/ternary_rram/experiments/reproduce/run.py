"""Run a reproduction: check the options, load parameters and data, run the sections, write the report."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ternary_rram.chip.params_file import load_params
from ternary_rram.circuit.params import DEFAULT_PCSA
from ternary_rram.device import DeviceModel
from ternary_rram.errors import InputError, check_seed
from ternary_rram.experiments.cache import Cache
from ternary_rram.experiments.report import Claim, Report, Section, Table, write_report
from ternary_rram.experiments.reproduce.compute import judges_shipped, load_data
from ternary_rram.experiments.reproduce.context import RunContext, jsonable_params, planned_units
from ternary_rram.experiments.reproduce.presets import PRESETS
from ternary_rram.experiments.reproduce.sections import sections_nn, sections_sense
from ternary_rram.fileio import atomic_write_text


@dataclass(frozen=True)
class ReproduceResult:
    """What :func:`run_reproduce` produced: report paths, claims, timing, cache statistics."""

    report_md: Path
    report_html: Path
    claims: tuple[Claim, ...]
    seconds: float
    cache_hits: int
    cache_misses: int
    dataset: str
    compute_seconds: float = 0.0


def run_reproduce(out_dir: str | Path, preset: str = "quick", *, data_dir: str | Path | None = None,
                  params: str | Path | None = None, seed: int = 0, use_cache: bool = True,
                  sections: Sequence[str] = ("sense", "nn"),
                  log: Callable[[str], None] | None = None, progress: bool = False,
                  warn: Callable[[str], None] | None = None) -> ReproduceResult:
    """Run the reproduction and write the report.

    Args:
        out_dir: output folder (figures, data, ``cache/``, ``report.md``, ``report.html``).
        preset: "tiny" (tests, seconds), "quick" (about 45 min on 2 CPU cores) or "full" (the seed recipe).
        data_dir: the cifar-10-batches-py folder (default: ../shared/data/cifar-10-batches-py if present).
        params: PARAMS.json from ``calibrate`` (default: built-in parameters).
        seed: seed of every random draw. use_cache: reuse cached results.
        sections: "sense" (sections 1-4) and/or "nn" (sections 5-7; needs "sense").
        log: callback for one-line progress messages ("unit k of N: what" before each unit computed).
        progress: tqdm bars (epochs, batches) while a network trains.
        warn: callback for one-line warnings shown even when progress is off (the digits fallback);
            default: printed to stderr.
    """

    if preset not in PRESETS:
        raise InputError(f"preset={preset!r} is not allowed: must be one of {', '.join(PRESETS)}")
    bad = set(sections) - {"sense", "nn"}
    if bad or not sections:
        raise InputError(f"sections={list(sections)} is not allowed: choose from 'sense', 'nn'")
    t0 = time.time()
    p = PRESETS[preset]
    check_seed("seed", seed)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"out={str(out)!r} is not allowed: it exists and is not a folder")
    if data_dir is not None and "nn" not in sections:
        raise InputError(f"--data-dir={str(data_dir)!r} is not allowed with --sense-only: no network is trained")
    if params is not None:
        device, pcsa_params = load_params(params)
    else:
        device, pcsa_params = DeviceModel(), DEFAULT_PCSA
    if warn is None:
        def warn(msg: str) -> None:
            print(f"warning: {msg}", file=sys.stderr, flush=True)
    # Data first: a bad --data-dir is refused before minutes of sense-amplifier work.
    data = load_data(p, Path(data_dir) if data_dir is not None else None, warn) if "nn" in sections else None
    out.mkdir(parents=True, exist_ok=True)
    if p.steps_per_tau is not None:
        pcsa_params = replace(pcsa_params, steps_per_tau=p.steps_per_tau)
    ctx = RunContext(out=out, preset=p, device=device, pcsa_params=pcsa_params,
               cache=Cache(out / "cache", use_cache, warn=warn),
               seed=seed, log=log or (lambda _m: None), sections=tuple(sections), bars=progress,
               shipped=judges_shipped(p, data))
    ctx.plan = planned_units(p, ctx.sections, shipped=ctx.shipped)
    ctx.fingerprint = {"device": jsonable_params(device), "pcsa": jsonable_params(pcsa_params)}
    all_sections: list[Section] = []
    note = "not run"
    summary = None
    if "sense" in sections or "nn" in sections:
        s, summary = sections_sense(ctx)
        all_sections += s
    if "nn" in sections and summary is not None:
        s, note = sections_nn(ctx, summary, data)
        all_sections += s
    seconds = time.time() - t0
    claims = tuple(c for s in all_sections for c in s.claims)
    n_hold = sum(c.holds is True for c in claims)
    preamble = (
        f"Preset `{preset}`; parameters: {params if params is not None else 'built-in defaults'}; seed {seed}; "
        f"network data: {note}.",
        f"This run took {seconds:.0f} s ({seconds / 60:.1f} min): {ctx.cache.hits} unit(s) read from the cache, "
        f"{ctx.cache.misses} computed. Computing every unit behind this report took "
        f"{ctx.cache.compute_seconds:.0f} s ({ctx.cache.compute_seconds / 3600:.2f} h) in all, summed over the runs "
        "that made them (units cached by a version without timing count 0).",
        f"Verdicts: {n_hold} of {len(claims)} claims hold "
        f"({sum(c.verdict == 'holds only under a fixed clock' for c in claims)} of them only under a fixed clock: "
        "the map's windows are absolute, a clock, and a window tuned per VDD does not support them), "
        f"{sum(c.holds is False for c in claims)} do not, {sum(c.holds is None for c in claims)} not tested. "
        "Each verdict is computed from the numbers by the criterion in its row.",
    )
    summary_rows = tuple((c.claim, c.verdict) for c in claims)
    report = Report(f"ternary-rram reproduction report ({preset})", preamble,
                    tuple(all_sections) + (Section("Summary of verdicts",
                                                   tables=(Table(("Claim", "Verdict"), summary_rows),)),))
    md, html = write_report(report, out)
    atomic_write_text(out / "claims.json", json.dumps(
        {"preset": preset, "seconds": seconds, "compute_seconds": ctx.cache.compute_seconds,
         "claims": [dataclasses.asdict(c) | {"verdict": c.verdict} for c in claims]}, indent=1))
    return ReproduceResult(md, html, claims, seconds, ctx.cache.hits, ctx.cache.misses, note,
                           ctx.cache.compute_seconds)
