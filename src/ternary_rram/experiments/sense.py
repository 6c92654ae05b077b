"""The sense study: read-outcome statistics of the 2T2R PCSA against VDD, sense window and temperature.

Everything here is Monte Carlo over devices (:class:`ternary_rram.device.DeviceModel`, fresh devices
per instance) and transistor mismatch (Pelgrom, drawn by :meth:`PCSA.sample_mismatch`) with the
transient PCSA model. Programmed states of a cell, as (BL, BLb):

* ``LRS/HRS`` stores +1 (a correct read is +1; -1 is a sign flip),
* ``HRS/LRS`` stores -1 (correct -1; +1 is a sign flip),
* ``HRS/HRS`` stores 0 (correct 0; +-1 is a 0 -> +-1 error).

Window scans use one simulation per state at the longest candidate window and read every shorter
window from the decision times: a sense counts as decided at window w when its decision time
(|OUT - OUTb| > decision_fraction * VDD) is <= w, and then keeps its final value (the latch has
regenerated); otherwise it reads 0. Reported per-point statistics always come from direct transient
senses at the chosen window (read out with the PCSA's own thresholds).

Functions return data and write JSON/CSV/PNG when given a folder; nothing here prints (progress bars
through tqdm when ``progress=True``).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ternary_rram.circuit.operating import TEMPERATURE_MAX, TEMPERATURE_MIN, VDD_MAX, ZERO_CELSIUS, OperatingPoint
from ternary_rram.circuit.params import DEFAULT_PCSA, TRANSISTOR_NAMES, PCSAParams
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.device.model import DeviceModel, LognormalState, State
from ternary_rram.errors import InputError, check_positive, check_range
from ternary_rram.experiments.plots import (
    bound_handle,
    legend_below,
    new_figure,
    one_bound_handle,
    plain_log_ticks,
    plot_rates,
    save_figure,
)
from ternary_rram.fileio import atomic_write_text

Tensor = torch.Tensor

#: Programmed states: name -> (BL state, BLb state, stored value).
STATES: dict[str, tuple[State, State, int]] = {
    "LRS/HRS": (State.LRS, State.HRS, +1),
    "HRS/LRS": (State.HRS, State.LRS, -1),
    "HRS/HRS": (State.HRS, State.HRS, 0),
}
#: Latch transistors (cross-coupled pair), scaled by :func:`scale_latch_area`.
LATCH_TRANSISTORS: tuple[str, ...] = ("MP1", "MN1", "MP2", "MN2")
#: Access transistors of the two 1T1R branches.
ACCESS_TRANSISTORS: tuple[str, ...] = ("MA1", "MA2")
#: Senses per call of ``PCSA.sense`` (memory and speed balance on a CPU). [D] chosen.
DEFAULT_BATCH: int = 4096
#: Candidate windows of the automatic choice, in units of the PCSA characteristic time
#: (``PCSA.characteristic_time(op)``, the latch discharge time scale at that VDD). [D] chosen:
#: from 1 t_char (before any (LRS, HRS) pair decides: they take about 1-3 t_char) to 100 t_char
#: (HRS/HRS pairs of typical imbalance decide after some tens of t_char).
WINDOW_FACTORS: tuple[float, ...] = tuple(float(x) for x in np.geomspace(1.0, 100.0, 21))
#: Weight of the sign-flip rate subtracted from the window score. [D] chosen: a flip costs 100x
#: a +-1 <-> 0 error (docs/physics.md section 2.2-2.3: networks tolerate 0-errors, not sign flips).
FLIP_PENALTY: float = 100.0
#: Criteria of the ternary region (brief / docs/physics.md section 7).
REGION_P_CORRECT: float = 0.99
REGION_P_FLIP: float = 1e-4
REGION_P_ZERO: float = 0.90
#: Sign-flip rate defining the mismatch floor. [S docs/physics.md section 2.2: 1e-4 harmless; we flag 1e-3]
FLOOR_FLIP_RATE: float = 1e-3
#: Default temperature of the studies, degrees Celsius.
DEFAULT_TEMPERATURE_C: float = 27.0


# ------------------------------------------------------------------------------------------------
# primitives
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Outcomes:
    """Raw Monte Carlo senses of one programmed state: tensors (n,).

    value: int8 in {-1, 0, +1}; t_decide: s (NaN undecided); energy: J per sense.
    """

    value: Tensor
    t_decide: Tensor
    energy: Tensor

    @property
    def n(self) -> int:
        return int(self.value.numel())

    def fractions(self) -> tuple[float, float, float]:
        """(P(-1), P(0), P(+1))."""
        c = torch.bincount(self.value.to(torch.int64) + 1, minlength=3).to(torch.float64) / max(self.n, 1)
        return float(c[0]), float(c[1]), float(c[2])

    def at_windows(self, windows: Sequence[float]) -> Tensor:
        """Values read at shorter windows (W, n) int8: the final value where t_decide <= w, else 0."""
        w = torch.as_tensor(list(windows), dtype=torch.float64).unsqueeze(1)
        td = torch.nan_to_num(self.t_decide, nan=float("inf")).unsqueeze(0)
        return torch.where(td <= w, self.value.unsqueeze(0), torch.zeros((), dtype=torch.int8))


def simulate_state(pcsa: PCSA, device: DeviceModel, op: OperatingPoint, state: str, n: int,
                   generator: torch.Generator, *, batch: int = DEFAULT_BATCH) -> Outcomes:
    """Transient Monte Carlo of ``n`` fresh cells programmed into ``state`` at ``op``.

    Devices from ``device`` (one BL and one BLb device per instance), mismatch from ``pcsa``.
    """
    s_bl, s_blb, _ = STATES[state]
    vals, tds, ens = [], [], []
    for start in range(0, n, batch):
        m = min(batch, n - start)
        r_bl = device.sample(s_bl, m, generator)
        r_blb = device.sample(s_blb, m, generator)
        res = pcsa.sense(r_bl, r_blb, op, dvth=pcsa.sample_mismatch(m, generator))
        vals.append(res.value.to(torch.int8))
        tds.append(res.t_decide.to(torch.float64))
        ens.append(res.energy.to(torch.float64))
    return Outcomes(torch.cat(vals), torch.cat(tds), torch.cat(ens))


def _rates(values: Tensor, stored: int) -> tuple[Tensor, Tensor, Tensor]:
    """Per window (from (W, n) values): P(correct), P(sign flip), P(0)."""
    n = values.shape[-1]
    correct = (values == stored).sum(-1).to(torch.float64) / n
    flip = (values == -stored).sum(-1).to(torch.float64) / n if stored != 0 else torch.full_like(correct, float("nan"))
    zero = (values == 0).sum(-1).to(torch.float64) / n
    return correct, flip, zero


def _nanmean(t: Tensor) -> float:
    ok = torch.isfinite(t)
    return float(t[ok].mean()) if bool(ok.any()) else float("nan")


def scale_latch_area(params: PCSAParams, area_scale: float,
                     transistors: Sequence[str] = LATCH_TRANSISTORS) -> PCSAParams:
    """PCSA parameters with the W and L of ``transistors`` (default: the latch) scaled by sqrt(area_scale).

    W/L (drive strength) is unchanged; gate area scales by ``area_scale``, so the Pelgrom mismatch
    sigma scales by 1/sqrt(area_scale).
    """
    check_positive("area_scale", area_scale)
    k = math.sqrt(area_scale)
    unknown = [t for t in transistors if t not in TRANSISTOR_NAMES]
    if unknown:
        raise InputError(f"transistor={unknown[0]!r} is not allowed: must be one of {', '.join(TRANSISTOR_NAMES)}")
    idx = {TRANSISTOR_NAMES.index(t) for t in transistors}
    widths = tuple(w * k if i in idx else w for i, w in enumerate(params.widths))
    lengths = tuple(l * k if i in idx else l for i, l in enumerate(params.lengths))
    return replace(params, widths=widths, lengths=lengths)


def seeded_generator(seed: int, *keys: float, resolution: float = 1e6) -> torch.Generator:
    """A torch generator seeded from ``seed`` and a few keys (stable across runs).

    Keys are rounded to ``1/resolution`` before hashing: keys closer than that share a stream.
    """
    h = int(seed) & 0xFFFFFFFF
    for k in keys:
        h = (h * 1_000_003 + round(float(k) * resolution)) % (2 ** 61 - 1)
    return torch.Generator().manual_seed(h)


# ------------------------------------------------------------------------------------------------
# window choice
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WindowChoice:
    """Automatic sense-window choice at one (VDD, temperature).

    Attributes:
        vdd: V. temperature_c: degrees C. t_sense: chosen window, s. t_char: the PCSA
        characteristic time at that point, s. windows: candidate windows, s. p_correct_lh,
        p_correct_hl, p_zero_hh, p_flip: per candidate (flip: mean of the two sign-flip rates).
        score: min(p_correct_lh, p_correct_hl, p_zero_hh) - FLIP_PENALTY * p_flip per candidate.
        n_samples: instances per state in the scan. w_low: the window that lets 99 % of (LRS, HRS) and
        (HRS, LRS) reads decide, s (inf: not within the scan). w_high: the largest window keeping
        P(0 | HRS, HRS) >= 0.9, s (inf: beyond the longest candidate). policy: how t_sense was set
        ("centre": geometric centre of [w_low, w_high]; "score": best score, no margin to centre in;
        "tracking": tracking_factor x the replica delay at this VDD).
    """

    vdd: float
    temperature_c: float
    t_sense: float
    t_char: float
    windows: tuple[float, ...]
    p_correct_lh: tuple[float, ...]
    p_correct_hl: tuple[float, ...]
    p_zero_hh: tuple[float, ...]
    p_flip: tuple[float, ...]
    score: tuple[float, ...]
    n_samples: int
    w_low: float = float("nan")
    w_high: float = float("nan")
    policy: str = "score"

    @property
    def margin(self) -> float:
        """W_high / W_low (NaN where W_low is not reached)."""
        return self.w_high / self.w_low if math.isfinite(self.w_low) and self.w_low > 0 else float("nan")

    @property
    def best_index(self) -> int:
        """Index of the candidate window closest (in log) to t_sense."""
        return int(np.argmin([abs(math.log(w / self.t_sense)) for w in self.windows]))


def choose_window(pcsa: PCSA, device: DeviceModel, vdd: float, temperature_c: float, n: int,
                  generator: torch.Generator, *, factors: Sequence[float] = WINDOW_FACTORS,
                  batch: int = DEFAULT_BATCH) -> WindowChoice:
    """Pick the sense window that best separates the three states at (``vdd``, ``temperature_c``).

    Candidates: ``factors`` x the PCSA characteristic time at that VDD (log grid). Score per
    candidate: min(P(+1|LRS,HRS), P(-1|HRS,LRS), P(0|HRS,HRS)) - FLIP_PENALTY * P(sign flip).
    The window is the geometric centre sqrt(W_low W_high) of the timing margin (``margin_windows``;
    W_high capped at the longest candidate), the choice most robust to a timing error of either sign;
    where there is no margin (W_low >= W_high) the best score is taken (the middle of a plateau of
    equal best scores). ``n`` instances per state, one simulation per state at the longest candidate.
    """
    t_char = pcsa.characteristic_time(OperatingPoint.from_celsius(vdd, 1e-9, temperature_c))
    windows = tuple(float(f * t_char) for f in factors)
    op_long = OperatingPoint.from_celsius(vdd, max(windows), temperature_c)
    rates = {}
    decision_times: dict[str, Tensor] = {}
    for state, (_, _, stored) in STATES.items():
        out = simulate_state(pcsa, device, op_long, state, n, generator, batch=batch)
        rates[state] = _rates(out.at_windows(windows), stored)
        decision_times[state] = out.t_decide
    pc_lh, fl_lh, _ = rates["LRS/HRS"]
    pc_hl, fl_hl, _ = rates["HRS/LRS"]
    _, _, p0 = rates["HRS/HRS"]
    flip = 0.5 * (fl_lh + fl_hl)
    score = torch.minimum(torch.minimum(pc_lh, pc_hl), p0) - FLIP_PENALTY * flip
    w_low, w_high = margin_windows(decision_times, max(windows))
    if math.isfinite(w_low) and w_low < min(w_high, max(windows)):
        # Geometric centre of the margin: equal room (as a ratio) for timing error either way.
        t_sense, policy = math.sqrt(w_low * min(w_high, max(windows))), "centre"
    else:
        best = float(score.max())
        plateau = [i for i, s in enumerate(score.tolist()) if s >= best - 1e-12]
        t_sense, policy = windows[plateau[len(plateau) // 2]], "score"
    tup = lambda t: tuple(float(x) for x in t.tolist())  # noqa: E731
    return WindowChoice(vdd=float(vdd), temperature_c=float(temperature_c), t_sense=t_sense, t_char=t_char,
                        windows=windows, p_correct_lh=tup(pc_lh), p_correct_hl=tup(pc_hl), p_zero_hh=tup(p0),
                        p_flip=tup(flip), score=tup(score), n_samples=int(n), w_low=w_low, w_high=w_high,
                        policy=policy)


#: W_low lets this fraction of (LRS, HRS)/(HRS, LRS) reads decide; W_high keeps P(0 | HRS, HRS) >= W_HIGH_P_ZERO.
W_LOW_DECIDED: float = 0.99
W_HIGH_P_ZERO: float = 0.90


def margin_windows(decision_times: dict[str, Tensor], longest: float) -> tuple[float, float]:
    """(W_low, W_high) in s from decision times per state (NaN = undecided) simulated over ``longest``.

    Order statistics: W_low is when the ceil(0.99 N)-th (LRS, HRS)/(HRS, LRS) read has decided (inf if
    it never does within ``longest``); W_high when the (floor(0.1 N) + 1)-th (HRS, HRS) read decides,
    the first window at which P(0) drops below 0.9 (inf if that is beyond ``longest``)."""
    lh = torch.cat([decision_times["LRS/HRS"], decision_times["HRS/LRS"]])
    lh = torch.sort(torch.nan_to_num(lh, nan=math.inf)).values
    hh = torch.sort(torch.nan_to_num(decision_times["HRS/HRS"], nan=math.inf)).values
    w_low = float(lh[max(math.ceil(W_LOW_DECIDED * len(lh)) - 1, 0)])
    w_high = float(hh[min(math.floor((1.0 - W_HIGH_P_ZERO) * len(hh) + 1e-9), len(hh) - 1)])
    return w_low, (w_high if w_high <= longest else math.inf)


def replica_delay(pcsa: PCSA, device: DeviceModel, vdd: float, temperature_c: float, t_char: float) -> float:
    """Decision time (s) of a nominal replica cell (median LRS / median HRS, no mismatch) at this VDD: the
    delay a tracking timing circuit built from the same devices would measure."""
    op = OperatingPoint.from_celsius(vdd, 1000.0 * t_char, temperature_c)
    res = pcsa.sense(torch.tensor([device.lrs.median], dtype=torch.float64),
                     torch.tensor([device.hrs.median], dtype=torch.float64), op,
                     dvth=torch.zeros(1, len(TRANSISTOR_NAMES), dtype=torch.float64))
    td = float(res.t_decide[0])
    if not math.isfinite(td):
        raise InputError(f"vdd={vdd!r}: the replica cell does not decide within 1000 t_char: no tracking window")
    return td


# ------------------------------------------------------------------------------------------------
# the study
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SenseStudyConfig:
    """What ``ternary-rram sense`` runs.

    Attributes:
        vdds: supplies, V, each in (0, 2]. t_senses: sense windows, s (> 0); None: chosen per VDD
            and temperature by :func:`choose_window`. temperatures_c: degrees C (200-450 K).
        n_samples: Monte Carlo instances per (VDD, window, temperature, state) (>= 1).
        n_window_scan: instances per state in the window scan (None: min(n_samples, 2000)).
        seed: base seed of every random draw. figures: write the PNG figures.
        window_factors: candidate windows of the automatic choice, in characteristic times.
        window_policy: with automatic windows, "centre" (the geometric centre of each VDD's margin) or
            "tracking" (a replica-delay timing circuit: tracking_factor x the replica cell's decision
            time at each VDD; tracking_factor None: set so that the window is the centre at the
            highest VDD). A fixed clock is ``t_senses`` (the same windows at every VDD).
    """

    vdds: tuple[float, ...]
    t_senses: tuple[float, ...] | None = None
    temperatures_c: tuple[float, ...] = (DEFAULT_TEMPERATURE_C,)
    n_samples: int = 2000
    n_window_scan: int | None = None
    seed: int = 0
    figures: bool = True
    window_factors: tuple[float, ...] = WINDOW_FACTORS
    window_policy: str = "centre"
    tracking_factor: float | None = None

    def validate(self) -> SenseStudyConfig:
        """Check every value (InputError naming the first bad one); returns self."""
        if len(self.vdds) == 0:
            raise InputError("vdd: at least one supply voltage is needed")
        for v in self.vdds:
            check_range("vdd", v, 0.0, VDD_MAX, low_open=True, unit="V")
        if self.t_senses is not None:
            if len(self.t_senses) == 0:
                raise InputError("t_sense: give at least one window, or none for the automatic choice")
            for t in self.t_senses:
                check_positive("t_sense", t, unit="s")
        if self.window_policy not in ("centre", "tracking"):
            raise InputError(f"window_policy={self.window_policy!r} is not allowed: must be 'centre' or 'tracking'")
        if self.tracking_factor is not None:
            check_positive("tracking_factor", self.tracking_factor)
            if self.window_policy != "tracking":
                raise InputError("tracking_factor is only allowed with window_policy='tracking'")
        if len(self.window_factors) == 0 or any(not (f > 0 and math.isfinite(f)) for f in self.window_factors):
            raise InputError(f"window_factors={self.window_factors!r} is not allowed: need values > 0")
        if len(self.temperatures_c) == 0:
            raise InputError("temperature_c: at least one temperature is needed")
        for tc in self.temperatures_c:
            check_range("temperature_c", tc, TEMPERATURE_MIN - ZERO_CELSIUS, TEMPERATURE_MAX - ZERO_CELSIUS, unit="C")
        for name in ("n_samples", "n_window_scan"):
            val = getattr(self, name)
            if val is None and name == "n_window_scan":
                continue
            if isinstance(val, bool) or int(val) != val or int(val) < 1:
                raise InputError(f"{name.replace('n_', '')}={val!r} is not allowed: must be an integer >= 1")
        return self

    @property
    def scan_samples(self) -> int:
        return int(self.n_window_scan) if self.n_window_scan is not None else min(int(self.n_samples), 2000)


@dataclass(frozen=True)
class SenseRecord:
    """Outcome statistics at one (VDD, window, temperature, programmed state).

    Probabilities of the sensed value; p_correct: of the stored value; p_sign_flip: of the opposite
    sign (NaN for HRS/HRS); t_decide_mean: mean decision time of the senses that decided, s (NaN if
    none); energy_per_sense: mean energy drawn from VDD, J; window_auto: the window was chosen.
    """

    vdd: float
    t_sense: float
    temperature_c: float
    state: str
    p_plus: float
    p_minus: float
    p_zero: float
    p_correct: float
    p_sign_flip: float
    t_decide_mean: float
    energy_per_sense: float
    n_samples: int
    window_auto: bool

    def to_json(self) -> dict[str, Any]:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


def record_from_outcomes(op: OperatingPoint, state: str, out: Outcomes, window_auto: bool) -> SenseRecord:
    """Summarise raw senses into a :class:`SenseRecord`."""
    p_minus, p_zero, p_plus = out.fractions()
    stored = STATES[state][2]
    p_correct = {+1: p_plus, -1: p_minus, 0: p_zero}[stored]
    p_flip = {+1: p_minus, -1: p_plus, 0: float("nan")}[stored]
    return SenseRecord(vdd=op.vdd, t_sense=op.t_sense, temperature_c=round(op.temperature_c, 9), state=state,
                       p_plus=p_plus, p_minus=p_minus, p_zero=p_zero, p_correct=p_correct, p_sign_flip=p_flip,
                       t_decide_mean=_nanmean(out.t_decide), energy_per_sense=float(out.energy.mean()),
                       n_samples=out.n, window_auto=window_auto)


@dataclass(frozen=True)
class SenseStudy:
    """Result of :func:`run_sense_study`: records (in run order), window choices, written files."""

    config: SenseStudyConfig
    records: tuple[SenseRecord, ...]
    windows: tuple[WindowChoice, ...]
    files: tuple[str, ...] = ()


CSV_FIELDS: tuple[str, ...] = tuple(SenseRecord.__dataclass_fields__)


def _write_results(out_dir: Path, config: SenseStudyConfig, records: Sequence[SenseRecord],
                   windows: Sequence[WindowChoice], complete: bool) -> None:
    doc = {
        "complete": complete,
        "config": _config_json(config),
        "windows": [_window_json(w) for w in windows],
        "records": [r.to_json() for r in records],
    }
    atomic_write_text(out_dir / "sense.json", json.dumps(doc, indent=1))
    buf = io.StringIO()
    wr = csv.writer(buf)
    wr.writerow(CSV_FIELDS)
    for r in records:
        wr.writerow(["" if v is None else v for v in r.to_json().values()])
    atomic_write_text(out_dir / "sense.csv", buf.getvalue())


def _config_json(config: SenseStudyConfig) -> dict[str, Any]:
    d = asdict(config)
    d["scan_samples"] = config.scan_samples
    d["window_factors"] = list(config.window_factors) if config.t_senses is None else None
    d["flip_penalty"] = FLIP_PENALTY
    return d


def _window_json(w: WindowChoice) -> dict[str, Any]:
    fin = lambda x: x if math.isfinite(x) else None  # noqa: E731
    return {"vdd": w.vdd, "temperature_c": w.temperature_c, "t_sense": w.t_sense, "t_char": w.t_char,
            "policy": w.policy, "w_low": fin(w.w_low), "w_high": fin(w.w_high), "margin": fin(w.margin),
            "score": w.score[w.best_index], "n_samples": w.n_samples,
            "candidates": [{"t_sense": t, "p_correct_lh": a, "p_correct_hl": b, "p_zero_hh": c, "p_flip": f,
                            "score": s} for t, a, b, c, f, s in zip(w.windows, w.p_correct_lh, w.p_correct_hl,
                                                                     w.p_zero_hh, w.p_flip, w.score)]}


def run_sense_study(config: SenseStudyConfig, out_dir: str | Path | None = None, *,
                    pcsa: PCSA | None = None, device: DeviceModel | None = None, progress: bool = False,
                    on_window: Callable[[WindowChoice], None] | None = None,
                    batch: int = DEFAULT_BATCH) -> SenseStudy:
    """Run the sense study; with ``out_dir`` write ``config.json``, then ``sense.json`` and
    ``sense.csv`` after every finished point (atomically), then the figures.

    ``on_window`` is called with each automatic window choice as soon as it is made (the CLI prints it).
    """
    config.validate()
    pcsa = pcsa or PCSA(DEFAULT_PCSA)
    device = device or DeviceModel()
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "config.json", json.dumps(_config_json(config), indent=1))
    auto = config.t_senses is None
    n_units = len(config.vdds) * len(config.temperatures_c) * ((1 + 3) if auto else 3 * len(config.t_senses))
    bar = tqdm(total=n_units, desc="sense", unit="point", disable=not progress, leave=False)
    records: list[SenseRecord] = []
    windows: list[WindowChoice] = []
    tracking = auto and config.window_policy == "tracking"
    factor = config.tracking_factor
    if tracking and factor is None:
        # Calibrate the replica timing once, at the highest VDD: its window is the centre of the margin there.
        v0, tc0 = max(config.vdds), config.temperatures_c[0]
        w0 = choose_window(pcsa, device, v0, tc0, config.scan_samples, seeded_generator(config.seed, 1, v0, tc0),
                           factors=config.window_factors, batch=batch)
        factor = w0.t_sense / replica_delay(pcsa, device, v0, tc0, w0.t_char)
    try:
        for vdd in config.vdds:
            for tc in config.temperatures_c:
                if auto:
                    bar.set_postfix_str(f"VDD={vdd:g} V window scan")
                    w = choose_window(pcsa, device, vdd, tc, config.scan_samples,
                                      seeded_generator(config.seed, 1, vdd, tc), factors=config.window_factors,
                                      batch=batch)
                    if tracking:
                        w = replace(w, t_sense=factor * replica_delay(pcsa, device, vdd, tc, w.t_char),
                                    policy="tracking")
                    windows.append(w)
                    if on_window is not None:
                        on_window(w)
                    bar.update(1)
                    t_list: Sequence[float] = (w.t_sense,)
                else:
                    t_list = config.t_senses  # type: ignore[assignment]
                for ts in t_list:
                    op = OperatingPoint.from_celsius(vdd, ts, tc)
                    for k, state in enumerate(STATES):
                        bar.set_postfix_str(f"VDD={vdd:g} V {state}")
                        res = simulate_state(pcsa, device, op, state, int(config.n_samples),
                                             seeded_generator(config.seed, 2, vdd, tc, ts * 1e9, k), batch=batch)
                        records.append(record_from_outcomes(op, state, res, auto))
                        if out is not None:
                            _write_results(out, config, records, windows, complete=False)
                        bar.update(1)
    finally:
        bar.close()
    files: list[str] = []
    if out is not None:
        _write_results(out, config, records, windows, complete=True)
        files = [str(out / "config.json"), str(out / "sense.json"), str(out / "sense.csv")]
        if config.figures:
            files += [str(p) for p in write_sense_figures(out, records, pcsa, device)]
    return SenseStudy(config=config, records=tuple(records), windows=tuple(windows), files=tuple(files))


# ------------------------------------------------------------------------------------------------
# figures of the study
# ------------------------------------------------------------------------------------------------
def typical_pairs(device: DeviceModel) -> dict[str, tuple[float, float]]:
    """(R_bl, R_blb) in ohm of a typical cell per state, for waveform figures: medians, and for
    HRS/HRS a pair one HRS sigma apart (median x exp(+-sigma/2)), the typical imbalance."""
    rl, rh, s = device.lrs.median, device.hrs.median, device.hrs.sigma
    return {"LRS/HRS": (rl, rh), "HRS/LRS": (rh, rl),
            "HRS/HRS": (rh * math.exp(-0.5 * s), rh * math.exp(0.5 * s))}


def write_sense_figures(out_dir: Path, records: Sequence[SenseRecord], pcsa: PCSA,
                        device: DeviceModel) -> list[Path]:
    """Waveforms (nominal = highest, near-threshold = lowest VDD), probabilities, energy and
    decision time against VDD. Uses the first temperature and each VDD's first window."""
    if not records:
        return []
    tc0 = records[0].temperature_c
    first: dict[tuple[float, str], SenseRecord] = {}
    for r in records:
        if r.temperature_c == tc0:
            first.setdefault((r.vdd, r.state), r)
    vdds = sorted({v for v, _ in first})
    paths = []
    # waveforms
    pick = [max(vdds)] + ([min(vdds)] if min(vdds) != max(vdds) else [])
    fig, axes = new_figure(len(pick), 3, width=4.2, height=3.0)
    pairs = typical_pairs(device)
    for i, vdd in enumerate(pick):
        ts = first[(vdd, "LRS/HRS")].t_sense
        op = OperatingPoint.from_celsius(vdd, ts, tc0)
        for j, state in enumerate(STATES):
            r_bl, r_blb = pairs[state]
            t, o, ob = pcsa.waveforms(torch.tensor([r_bl], dtype=torch.float64),
                                      torch.tensor([r_blb], dtype=torch.float64), op)
            ax = axes[i][j]
            ax.plot(t.numpy() * 1e9, o[0].numpy(), color="C0", lw=1.2, label="OUT")
            ax.plot(t.numpy() * 1e9, ob[0].numpy(), color="C3", lw=1.2, ls="--", label="OUTb")
            ax.set_title(f"{state}, VDD={vdd:g} V", fontsize=9)
            ax.set_xlabel("time in evaluation (ns)")
            ax.set_ylabel("voltage (V)")
            ax.set_ylim(-0.05 * vdd, 1.1 * vdd)
            if float((o[0] - ob[0]).abs().max()) < 0.02 * vdd:  # the two traces lie on top of each other
                ax.text(0.5, 0.45, "OUT and OUTb overlap:\nundecided in the window", transform=ax.transAxes,
                        ha="center", va="center", fontsize=8)
    fig.suptitle("PCSA outputs, typical cells, no mismatch (window = chosen sense window)", fontsize=9)
    legend_below(fig, [axes[0][0]], ncol=2)
    paths.append(save_figure(fig, out_dir / "waveforms.png"))
    # probabilities
    fig, axes = new_figure(1, 3, width=4.2, height=3.2)
    for j, state in enumerate(STATES):
        ax = axes[0][j]
        span = (max(vdds) - min(vdds)) or 1.0
        for k, (key, lab) in enumerate((("p_plus", "read +1"), ("p_zero", "read 0"), ("p_minus", "read -1"))):
            plot_rates(ax, vdds, [getattr(first[(v, state)], key) for v in vdds],
                       [first[(v, state)].n_samples for v in vdds], label=lab, color=f"C{k}", logit=True,
                       dodge=(k - 1) * 0.015 * span)
        ax.set_title(f"stored {state}", fontsize=9)
        ax.set_xlabel("VDD (V)")
        ax.set_ylabel("probability (logit scale)")
    legend_below(fig, axes[0], ncol=2, extra=[bound_handle(), one_bound_handle()])
    paths.append(save_figure(fig, out_dir / "probabilities_vs_vdd.png"))
    # energy and decision time
    fig, axes = new_figure(1, 2, width=4.5, height=3.2)
    never = []
    for k, state in enumerate(STATES):
        style = {"color": f"C{k}", "marker": "os^"[k % 3], "ls": ("-", "--", ":")[k % 3], "ms": 5, "mfc": "none"}
        axes[0][0].plot(vdds, [first[(v, state)].energy_per_sense * 1e15 for v in vdds], label=state, **style)
        td = np.array([first[(v, state)].t_decide_mean * 1e9 for v in vdds])
        if np.isfinite(td).any():
            axes[0][1].plot(vdds, td, label=state, **style)
        else:
            never.append(state)
    axes[0][0].set_ylabel("energy per sense (fJ)")
    axes[0][1].set_ylabel("mean decision time of decided senses (ns)")
    axes[0][1].set_yscale("log")
    plain_log_ticks(axes[0][1])
    if never:  # a state that never decides has no point to draw: say so instead of a bare legend entry
        axes[0][1].set_title(f"{', '.join(never)}: no sense decided in the window", fontsize=8)
    for ax in axes[0]:
        ax.set_xlabel("VDD (V)")
    legend_below(fig, [axes[0][0]], ncol=3)
    paths.append(save_figure(fig, out_dir / "energy_time_vs_vdd.png"))
    return paths


# ------------------------------------------------------------------------------------------------
# ternary map and region
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class TernaryMap:
    """Read statistics over VDD x window.

    Attributes:
        vdds: (V,) V. windows: (V, W) s (per-VDD grid: factors x t_char). factors: (W,).
        p_correct: P(+1 | LRS, HRS) (V, W). p_flip: P(-1 | LRS, HRS) (V, W).
        p_zero: P(0 | HRS, HRS) (V, W). n: instances per state and VDD. temperature_c.
    """

    vdds: np.ndarray
    windows: np.ndarray
    factors: np.ndarray
    p_correct: np.ndarray
    p_flip: np.ndarray
    p_zero: np.ndarray
    n: int
    temperature_c: float

    def to_json(self) -> dict[str, Any]:
        return {"vdds": self.vdds.tolist(), "windows": self.windows.tolist(), "factors": self.factors.tolist(),
                "p_correct": self.p_correct.tolist(), "p_flip": self.p_flip.tolist(),
                "p_zero": self.p_zero.tolist(), "n": self.n, "temperature_c": self.temperature_c}


def ternary_map(vdds: Sequence[float], factors: Sequence[float] = WINDOW_FACTORS, n: int = 1000, *,
                temperature_c: float = DEFAULT_TEMPERATURE_C, pcsa: PCSA | None = None,
                device: DeviceModel | None = None, seed: int = 0, out_dir: str | Path | None = None,
                progress: bool = False, batch: int = DEFAULT_BATCH) -> TernaryMap:
    """P(correct | LRS,HRS), P(sign flip | LRS,HRS), P(0 | HRS,HRS) over VDD x window.

    Windows per VDD are ``factors`` x ``PCSA.characteristic_time`` at that VDD (the decision time
    scale changes by orders of magnitude with VDD). One simulation per state and VDD at the longest
    window, shorter windows read from the decision times (module docstring). With ``out_dir``:
    ``ternary_map.json`` and ``ternary_map.png`` (heat maps).
    """
    for v in vdds:
        check_range("vdd", v, 0.0, VDD_MAX, low_open=True, unit="V")
    pcsa = pcsa or PCSA(DEFAULT_PCSA)
    device = device or DeviceModel()
    fac = np.asarray(sorted(float(f) for f in factors))
    nv, nw = len(vdds), len(fac)
    win = np.zeros((nv, nw))
    pc, pf, p0 = np.zeros((nv, nw)), np.zeros((nv, nw)), np.zeros((nv, nw))
    for i, vdd in enumerate(tqdm(list(vdds), desc="ternary map", disable=not progress, leave=False)):
        t_char = pcsa.characteristic_time(OperatingPoint.from_celsius(vdd, 1e-9, temperature_c))
        win[i] = fac * t_char
        op = OperatingPoint.from_celsius(vdd, float(win[i].max()), temperature_c)
        lh = simulate_state(pcsa, device, op, "LRS/HRS", n, seeded_generator(seed, 3, vdd, 1), batch=batch)
        hh = simulate_state(pcsa, device, op, "HRS/HRS", n, seeded_generator(seed, 3, vdd, 3), batch=batch)
        c, f, _ = _rates(lh.at_windows(win[i]), +1)
        _, _, z = _rates(hh.at_windows(win[i]), 0)
        pc[i], pf[i], p0[i] = c.numpy(), f.numpy(), z.numpy()
    tm = TernaryMap(np.asarray(list(vdds), dtype=float), win, fac, pc, pf, p0, int(n), float(temperature_c))
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "ternary_map.json", json.dumps(tm.to_json()))
        _plot_ternary_map(tm, out / "ternary_map.png")
    return tm


def _edges(x: np.ndarray) -> np.ndarray:
    """Cell edges around increasing centres ``x`` (midpoints, extended by half a step at the ends)."""
    if len(x) == 1:
        return np.array([x[0] - 0.5, x[0] + 0.5])
    mid = 0.5 * (x[1:] + x[:-1])
    return np.concatenate([[2 * x[0] - mid[0]], mid, [2 * x[-1] - mid[-1]]])


def _plot_ternary_map(tm: TernaryMap, path: Path) -> Path:
    fig, axes = new_figure(1, 3, width=4.3, height=3.4)
    order = np.argsort(tm.vdds)
    x = np.log10(tm.factors)
    region = ((tm.p_correct > REGION_P_CORRECT) & (tm.p_flip < REGION_P_FLIP) & (tm.p_zero > REGION_P_ZERO))[order]
    for ax, data, title in ((axes[0][0], tm.p_correct, "P(+1 | LRS,HRS)"),
                            (axes[0][1], np.log10(np.where(tm.p_flip > 0, tm.p_flip, np.nan)),
                             "log10 P(-1 | LRS,HRS) (grey: none seen)"),
                            (axes[0][2], tm.p_zero, "P(0 | HRS,HRS)")):
        cmap = __import__("matplotlib").colormaps["viridis"].with_extremes(bad="0.82")
        im = ax.pcolormesh(_edges(x), np.arange(len(order) + 1), np.ma.masked_invalid(data[order]), cmap=cmap,
                           shading="flat")
        ax.set_yticks(np.arange(len(order)) + 0.5)
        ax.set_yticklabels([f"{v:g}" for v in tm.vdds[order]])
        ax.set_xlabel("log10(window / t_char)")
        ax.set_ylabel("VDD (V)")
        ax.set_title(title, fontsize=9)
        fig.colorbar(im, ax=ax)
        ii, jj = np.nonzero(region)
        if len(ii):
            ax.plot(x[jj], ii + 0.5, "r+", ms=6)
    fig.suptitle("ternary region (+): P(+1|LH) > 0.99, flips < 1e-4, P(0|HH) > 0.9", fontsize=9)
    return save_figure(fig, path)


@dataclass(frozen=True)
class TernaryRegion:
    """Result of :func:`find_ternary_region`.

    Attributes:
        points: (VDD V, window s) pairs meeting the three criteria on the map.
        exists: the best point also met them in the verification run.
        vdd, t_sense: best point (the map maximum of min(P(correct), P(0)) among the region points,
            or over the whole map when the region is empty).
        p_correct, p_flip, n_flip, n_verify: verification of (LRS, HRS) at that point (direct
            transient senses). p_zero, n_zero_check: P(0 | HRS, HRS) there (direct).
    """

    points: tuple[tuple[float, float], ...]
    exists: bool
    vdd: float
    t_sense: float
    p_correct: float
    p_flip: float
    n_flip: int
    n_verify: int
    p_zero: float
    n_zero_check: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def find_ternary_region(tm: TernaryMap, *, n_verify: int = 100_000, n_zero_check: int | None = None,
                        pcsa: PCSA | None = None, device: DeviceModel | None = None, seed: int = 0,
                        out_dir: str | Path | None = None, batch: int = 16384) -> TernaryRegion:
    """(VDD, window) points where P(+1|LRS,HRS) > 99 %, sign flips < 1e-4, P(0|HRS,HRS) > 90 %.

    Candidates come from the map ``tm``; the best candidate is verified with ``n_verify`` direct
    transient senses of (LRS, HRS) (sign flips must stay < 1e-4 over them) and ``n_zero_check``
    (default ``tm.n``) of (HRS, HRS). With ``out_dir``: ``ternary_region.json``.
    """
    pcsa = pcsa or PCSA(DEFAULT_PCSA)
    device = device or DeviceModel()
    ok = (tm.p_correct > REGION_P_CORRECT) & (tm.p_flip < REGION_P_FLIP) & (tm.p_zero > REGION_P_ZERO)
    points = tuple((float(tm.vdds[i]), float(tm.windows[i, j])) for i, j in zip(*np.nonzero(ok)))
    merit = np.minimum(tm.p_correct, tm.p_zero) - FLIP_PENALTY * tm.p_flip
    if ok.any():
        merit = np.where(ok, merit, -np.inf)
    i, j = np.unravel_index(int(np.argmax(merit)), merit.shape)
    vdd, ts = float(tm.vdds[i]), float(tm.windows[i, j])
    op = OperatingPoint.from_celsius(vdd, ts, tm.temperature_c)
    lh = simulate_state(pcsa, device, op, "LRS/HRS", int(n_verify), seeded_generator(seed, 4, vdd, 1), batch=batch)
    nz = int(n_zero_check or tm.n)
    hh = simulate_state(pcsa, device, op, "HRS/HRS", nz, seeded_generator(seed, 4, vdd, 3), batch=batch)
    p_minus, _, p_plus = lh.fractions()
    _, p_zero, _ = hh.fractions()
    n_flip = int((lh.value == -1).sum())
    exists = bool(ok.any()) and p_plus > REGION_P_CORRECT and p_minus < REGION_P_FLIP and p_zero > REGION_P_ZERO
    reg = TernaryRegion(points=points, exists=exists, vdd=vdd, t_sense=ts, p_correct=p_plus, p_flip=p_minus,
                        n_flip=n_flip, n_verify=int(n_verify), p_zero=p_zero, n_zero_check=nz)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "ternary_region.json", json.dumps(reg.to_json(), indent=1))
    return reg


# ------------------------------------------------------------------------------------------------
# mismatch floor
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class MismatchFloor:
    """Sign-flip rate of (LRS, HRS) against VDD, per latch area scale.

    Attributes:
        vdds: (V,) V. area_scales: (A,). p_flip: (A, V) P(-1 | LRS, HRS) with a long window
            (``window_factor`` x t_char: every sense decides). floor_vdd: (A,) V, the VDD below which
            flips exceed ``FLOOR_FLIP_RATE`` (NaN: not in the range; inf: above it; see
            :func:`floor_crossing`). n: instances per point.
    """

    vdds: np.ndarray
    area_scales: np.ndarray
    p_flip: np.ndarray
    floor_vdd: np.ndarray
    n: int
    window_factor: float
    transistors: tuple[str, ...] = LATCH_TRANSISTORS

    def to_json(self) -> dict[str, Any]:
        return {"transistors": list(self.transistors),
                "vdds": self.vdds.tolist(), "area_scales": self.area_scales.tolist(), "p_flip": self.p_flip.tolist(),
                "floor_vdd": [None if not math.isfinite(x) else x for x in self.floor_vdd.tolist()],
                "n": self.n, "window_factor": self.window_factor, "flip_rate": FLOOR_FLIP_RATE}


def floor_crossing(vdds: np.ndarray, p_flip: np.ndarray, n: int, rate: float = FLOOR_FLIP_RATE) -> float:
    """Highest VDD at which the flip rate (decreasing-VDD scan) first exceeds ``rate``, V.

    Scanning from the highest VDD down, the first VDD with p_flip > rate and the VDD above it are
    interpolated: linearly in log10(p_flip) when both have flips, linearly in p_flip when the upper
    one has none (0 observed in ``n``). NaN when no VDD exceeds the rate; +inf when even the highest
    VDD does (the floor lies above the range).
    """
    order = np.argsort(vdds)[::-1]
    v = np.asarray(vdds, dtype=float)[order]
    p = np.asarray(p_flip, dtype=float)[order]
    above = np.nonzero(p > rate)[0]
    if len(above) == 0:
        return float("nan")
    k = int(above[0])
    if k == 0:
        return float("inf")
    if p[k - 1] > 0:
        frac = (math.log10(rate) - math.log10(p[k - 1])) / (math.log10(p[k]) - math.log10(p[k - 1]))
    else:
        frac = rate / p[k]
    return float(v[k - 1] + min(max(frac, 0.0), 1.0) * (v[k] - v[k - 1]))


#: The floor's window: where this fraction of the (LRS, HRS) senses has decided, times FLOOR_WINDOW_MARGIN.
FLOOR_DECIDED: float = 0.999
FLOOR_WINDOW_MARGIN: float = 2.0


def measured_floor_window(t_decide: Tensor, simulated: float) -> float:
    """Window (s) for the flip count: FLOOR_WINDOW_MARGIN x the time by which FLOOR_DECIDED of the senses
    decided (order statistic of ``t_decide``, NaN = undecided), at most the ``simulated`` window."""
    td = torch.sort(torch.nan_to_num(t_decide, nan=math.inf)).values
    t_q = float(td[max(math.ceil(FLOOR_DECIDED * len(td)) - 1, 0)])
    return min(FLOOR_WINDOW_MARGIN * t_q, simulated)


def mismatch_floor(vdds: Sequence[float], area_scales: Sequence[float] = (0.5, 1.0, 2.0, 4.0), n: int = 4000, *,
                   window_factor: float = 1000.0, transistors: Sequence[str] = LATCH_TRANSISTORS,
                   temperature_c: float = DEFAULT_TEMPERATURE_C,
                   params: PCSAParams = DEFAULT_PCSA, device: DeviceModel | None = None, seed: int = 0,
                   out_dir: str | Path | None = None, progress: bool = False,
                   batch: int = DEFAULT_BATCH) -> MismatchFloor:
    """Sign flips of (LRS, HRS) against VDD for gate areas ``area_scales`` x default of
    ``transistors`` (default the latch; W, L both scaled by sqrt(scale)), and the VDD below which
    they exceed 1e-3.

    The senses run over ``window_factor`` x t_char (long); flips are counted at the window the
    measured decision times give (``measured_floor_window``). With ``out_dir``: ``mismatch_floor.json``
    and ``mismatch_floor.png``.
    """
    device = device or DeviceModel()
    for v in vdds:
        check_range("vdd", v, 0.0, VDD_MAX, low_open=True, unit="V")
    v_arr = np.asarray(list(vdds), dtype=float)
    a_arr = np.asarray(list(area_scales), dtype=float)
    pf = np.zeros((len(a_arr), len(v_arr)))
    windows_used = np.zeros_like(pf)
    jobs = [(a, v) for a in range(len(a_arr)) for v in range(len(v_arr))]
    for a, i in tqdm(jobs, desc="mismatch floor", disable=not progress, leave=False):
        pcsa = PCSA(scale_latch_area(params, float(a_arr[a]), transistors))
        t_char = pcsa.characteristic_time(OperatingPoint.from_celsius(v_arr[i], 1e-9, temperature_c))
        # The window comes from the measured decision times, not a fixed multiple of t_char: the senses
        # run over a long window, and the flip rate is read where FLOOR_DECIDED of them have decided
        # (x FLOOR_WINDOW_MARGIN), so slow flips count (with foundry-fitted transistors a fixed
        # 10 t_char left 12 % flips undecided, reading 0).
        op = OperatingPoint.from_celsius(v_arr[i], window_factor * t_char, temperature_c)
        lh = simulate_state(pcsa, device, op, "LRS/HRS", n, seeded_generator(seed, 5, v_arr[i], a_arr[a]), batch=batch)
        window = measured_floor_window(lh.t_decide, op.t_sense)
        pf[a, i] = float((lh.at_windows([window])[0] == -1).sum()) / n
        windows_used[a, i] = window
    floor = np.array([floor_crossing(v_arr, pf[a], n) for a in range(len(a_arr))])
    mf = MismatchFloor(v_arr, a_arr, pf, floor, int(n), float(window_factor), tuple(transistors))
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "mismatch_floor.json", json.dumps(mf.to_json(), indent=1))
        fig, axes = new_figure(1, 1, width=5.0, height=3.6)
        ax = axes[0][0]
        order = np.argsort(v_arr)
        for a in range(len(a_arr)):
            plot_rates(ax, v_arr[order], pf[a][order], n,
                       label=f"{'+'.join(transistors)} area x{a_arr[a]:g} (floor {floor[a]:.3g} V)")
        ax.axhline(FLOOR_FLIP_RATE, color="k", lw=0.8, ls=":", label=f"flip rate {FLOOR_FLIP_RATE:g}")
        ax.set_xlabel("VDD (V)")
        ax.set_ylabel("P(-1 | LRS, HRS)")
        legend_below(fig, [ax], ncol=1, extra=[bound_handle()])
        save_figure(fig, out / "mismatch_floor.png")
    return mf


# ------------------------------------------------------------------------------------------------
# P(0 | HRS, HRS) against the HRS spread
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class SpreadSweep:
    """P(0 | HRS, HRS) and P(+1 | LRS, HRS) against the HRS ln-spread at one operating point.

    Attributes: sigmas (S,) ln units; p_zero (S,); p_correct_lh (S,); vdd V; t_sense s;
    temperature_c; n instances per point; default_sigma: the DeviceModel's HRS sigma.
    """

    sigmas: np.ndarray
    p_zero: np.ndarray
    p_correct_lh: np.ndarray
    vdd: float
    t_sense: float
    temperature_c: float
    n: int
    default_sigma: float

    def to_json(self) -> dict[str, Any]:
        return {"sigmas": self.sigmas.tolist(), "p_zero": self.p_zero.tolist(),
                "p_correct_lh": self.p_correct_lh.tolist(), "vdd": self.vdd, "t_sense": self.t_sense,
                "temperature_c": self.temperature_c, "n": self.n, "default_sigma": self.default_sigma}


def p0_vs_hrs_spread(op: OperatingPoint, sigmas: Sequence[float] = (0.1, 0.2, 0.35, 0.5, 0.7, 1.0), n: int = 2000,
                     *, pcsa: PCSA | None = None, device: DeviceModel | None = None, seed: int = 0,
                     out_dir: str | Path | None = None, progress: bool = False,
                     batch: int = DEFAULT_BATCH) -> SpreadSweep:
    """P(0 | HRS, HRS) (and P(+1 | LRS, HRS)) at ``op`` as the HRS ln-spread varies (median and
    d2d/c2c split of ``device`` kept). With ``out_dir``: ``p0_vs_hrs_spread.json`` / ``.png``."""
    pcsa = pcsa or PCSA(DEFAULT_PCSA)
    device = device or DeviceModel()
    hrs = device.hrs
    frac = hrs.sigma_d2d ** 2 / hrs.sigma ** 2 if hrs.sigma > 0 else 0.5
    s_arr = np.asarray(list(sigmas), dtype=float)
    p0, pc = np.zeros(len(s_arr)), np.zeros(len(s_arr))
    for k, s in enumerate(tqdm(s_arr, desc="HRS spread", disable=not progress, leave=False)):
        dev = replace(device, hrs=LognormalState.from_total(hrs.median, float(s), frac))
        hh = simulate_state(pcsa, dev, op, "HRS/HRS", n, seeded_generator(seed, 6, s, 3), batch=batch)
        lh = simulate_state(pcsa, dev, op, "LRS/HRS", n, seeded_generator(seed, 6, s, 1), batch=batch)
        p0[k] = hh.fractions()[1]
        pc[k] = lh.fractions()[2]
    sw = SpreadSweep(s_arr, p0, pc, op.vdd, op.t_sense, op.temperature_c, int(n), float(hrs.sigma))
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "p0_vs_hrs_spread.json", json.dumps(sw.to_json(), indent=1))
        fig, axes = new_figure(1, 1, width=5.0, height=3.6)
        ax = axes[0][0]
        ax.plot(s_arr, p0, "o-", label="P(0 | HRS,HRS)")
        ax.plot(s_arr, pc, "s--", label="P(+1 | LRS,HRS)")
        ax.axvline(hrs.sigma, color="k", lw=0.8, ls=":", label=f"default sigma {hrs.sigma:.2f}")
        ax.set_xlabel("HRS ln-spread sigma")
        ax.set_ylabel("probability")
        ax.set_title(f"VDD={op.vdd:g} V, window={op.t_sense * 1e9:.3g} ns", fontsize=9)
        legend_below(fig, [ax], ncol=3)
        save_figure(fig, out / "p0_vs_hrs_spread.png")
    return sw
