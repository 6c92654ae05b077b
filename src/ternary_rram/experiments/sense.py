"""The sense study: read-outcome statistics of the 2T2R PCSA against VDD, sense window and temperature.

Everything here is Monte Carlo over devices (:class:`ternary_rram.device.DeviceModel`, fresh devices
per instance) and transistor mismatch (Pelgrom, drawn by :meth:`PCSA.sample_mismatch`) with the
transient PCSA model.

The read physics lives in the circuit layer: the state encoding and Monte Carlo senses in
:mod:`ternary_rram.circuit.read`, the window choice in :mod:`ternary_rram.circuit.window`, latch-area
and other parameter transforms in :mod:`ternary_rram.circuit.transforms`. Programmed states are
named "BL/BLb" (``LRS/HRS`` stores +1, ``HRS/LRS`` -1, ``HRS/HRS`` 0). Window scans use one
simulation per state at the longest candidate window and read every shorter window from the
decision times (:meth:`Outcomes.at_windows`). Reported per-point statistics always come from direct
transient senses at the chosen window (read out with the PCSA's own thresholds).

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

from ternary_rram.chip.params_file import load_models
from ternary_rram.circuit.operating import TEMPERATURE_MAX, TEMPERATURE_MIN, VDD_MAX, ZERO_CELSIUS, OperatingPoint
from ternary_rram.circuit.params import DEFAULT_PCSA, PCSAParams
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.circuit.read import (
    DEFAULT_BATCH,
    STATES,
    Outcomes,
    nanmean,
    outcome_rates,
    scan_states,
    seeded_generator,
    simulate_state,
)
from ternary_rram.circuit.transforms import LATCH_TRANSISTORS, scale_latch_area
from ternary_rram.circuit.window import FLIP_PENALTY, WINDOW_FACTORS, WindowChoice, choose_window, replica_delay
from ternary_rram.device.model import DeviceModel, LognormalState
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

#: Criteria of the ternary region (brief / docs/physics.md section 7).
REGION_P_CORRECT: float = 0.99
REGION_P_FLIP: float = 1e-4
REGION_P_ZERO: float = 0.90
#: Sign-flip rate defining the mismatch floor. [S docs/physics.md section 2.2: 1e-4 harmless; we flag 1e-3]
FLOOR_FLIP_RATE: float = 1e-3
#: Default temperature of the studies, degrees Celsius.
DEFAULT_TEMPERATURE_C: float = 27.0


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
                       t_decide_mean=nanmean(out.t_decide), energy_per_sense=float(out.energy.mean()),
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
                    pcsa: PCSA | None = None, device: DeviceModel | None = None, params: str | Path | None = None,
                    progress: bool = False, on_window: Callable[[WindowChoice], None] | None = None,
                    batch: int = DEFAULT_BATCH) -> SenseStudy:
    """Run the sense study; with ``out_dir`` write ``config.json``, then ``sense.json`` and
    ``sense.csv`` after every finished point (atomically), then the figures.

    ``on_window`` is called with each automatic window choice as soon as it is made (the CLI prints it).
    ``params``: a PARAMS.json (or preset file) giving the device and PCSA models instead of ``pcsa``/``device``.
    """
    config.validate()
    if params is not None:
        if pcsa is not None or device is not None:
            raise InputError("params is not allowed together with pcsa or device: give one of them")
        device, pcsa = load_models(params)
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
        outs = scan_states(pcsa, device, vdd, temperature_c, [float(w) for w in win[i]], n,
                           {"LRS/HRS": seeded_generator(seed, 3, vdd, 1), "HRS/HRS": seeded_generator(seed, 3, vdd, 3)},
                           batch=batch)
        c, f, _ = outcome_rates(outs["LRS/HRS"].at_windows(win[i]), +1)
        _, _, z = outcome_rates(outs["HRS/HRS"].at_windows(win[i]), 0)
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
