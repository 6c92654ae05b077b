"""Reproduce the paper's claims end to end: sense physics -> errors -> networks -> report.

:func:`run_reproduce` runs seven studies (docs/physics.md section 7), each split into small units of work
that are cached by their configuration (:mod:`ternary_rram.experiments.cache`): a rerun skips what is
done, a killed run resumes. It writes figures (PNG) with the data behind each (CSV/JSON) and
``report.md`` / ``report.html`` (:mod:`ternary_rram.experiments.report`). Each section ends with a
table of claims whose verdicts are computed from the numbers by the criteria stated in the table.

Sense studies (sections 1-4) use the transient PCSA directly (:class:`ternary_rram.circuit.pcsa.PCSA`):

* the VDD x window map: for each VDD one transient run per instance up to the longest window,
  decoded at every window of the grid (the evaluation does not depend on when it is stopped, so one
  run gives every window);
* the chosen operating point: the (VDD, window) of the map with the lowest ternary read error
  (ties to the lower VDD); error rates by type, energy and decision time against VDD at that window,
  at three temperatures and two process corners.

Network studies (sections 5-7) train the [C] VGG with :func:`ternary_rram.nn.train.train`. Section 7
deploys the trained binary and ternary networks on the simulated chip
(:mod:`ternary_rram.experiments.deploy`, :mod:`ternary_rram.chip`): the weights are programmed into
2T2R arrays (devices drawn from the device model) and read through the sense map of the transient
PCSA at each VDD of the map and the window chosen in section 2, sensed again for every inference;
accuracy is that of the network with the weights the chip read, and energy per inference is the chip's
energy model (sense amplifiers and bit lines, plus the digital periphery).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.collections import LineCollection
from matplotlib.colors import LogNorm
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.patheffects import withStroke
from matplotlib.ticker import FormatStrFormatter, NullFormatter

from ternary_rram.array.column import AmplifierPool
from ternary_rram.chip.energy import ENERGY_PARTS
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.params import DEFAULT_PCSA
from ternary_rram.circuit.pcsa import PCSA, decode, first_crossing
from ternary_rram.device import DeviceModel
from ternary_rram.errors import InputError, check_seed
from ternary_rram.experiments.cache import Cache
from ternary_rram.experiments.calibrate import load_params
from ternary_rram.experiments.deploy import deploy_record, eval_tensors, plot_energy_breakdown, pool_at
from ternary_rram.experiments.plots import (
    BOUND_NOTE,
    bound_handle,
    cell_edges,
    legend_below,
    new_figure,
    one_bound_handle,
    plain_log_ticks,
    plot_rates,
    region_outline,
    save_figure,
)
from ternary_rram.experiments.report import Claim, Figure, Report, Section, Table, write_report
from ternary_rram.experiments.sense import margin_windows
from ternary_rram.fileio import atomic_write_text
from ternary_rram.nn.checkpoint import load_checkpoint, model_from_checkpoint
from ternary_rram.nn.data import default_cifar10_dir, load_dataset
from ternary_rram.nn.models import vgg
from ternary_rram.nn.train import TrainConfig, evaluate, init_model, train

#: Global (die-to-die) process spread of the NMOS and PMOS threshold voltages, V (one sigma).
#: [D] chosen: 130 nm processes quote inter-die |Vth| spreads of 10-20 mV; the +-3 sigma corners
#: shift every transistor of one type by +-3 PROCESS_SIGMA_VT.
PROCESS_SIGMA_VT: float = 0.015
#: Nominal supply of the reproduction, V: the SEED's 1.2 V (docs/physics.md section 1.7), kept so that the paper's
#: claims are tested at the supply they were made for. The default transistors (SKY130 core devices, circuit/params.py)
#: are rated 1.8 V, so 1.2 V is 0.6 V below their nominal: compare by overdrive (VDD - |Vth|, |Vth| about 0.69 V).
VDD_NOMINAL: float = 1.2
#: Ternary read error below which single-sense ternary reading "works". [D] chosen.
TERNARY_OK: float = 0.01
#: Ternary read error that still counts as "the scheme is used" at a VDD. [D] chosen.
TERNARY_USED: float = 0.05
#: Programmed states: value -> (BL is LRS, BLb is LRS).
STATES: dict[int, tuple[bool, bool]] = {1: (True, False), -1: (False, True), 0: (False, False)}
STATE_LABEL: dict[int, str] = {1: "+1 (LRS,HRS)", -1: "-1 (HRS,LRS)", 0: "0 (HRS,HRS)"}
#: Section 7 (networks on the chip): read mode, array size, temperature (degrees C) and test images per
#: fresh read. [D] chosen: the arrays are sensed for every inference (so the sense amplifiers and bit
#: lines are part of every inference's energy, and each read draws fresh errors), 128 x 128 arrays
#: (the chip layer's default), the nominal temperature of sections 2-4.
CHIP_READS: str = "every-inference"
CHIP_ARRAY: tuple[int, int] = (128, 128)
CHIP_TEMPERATURE_C: float = 27.0
CHIP_BATCH: int = 500


# ------------------------------------------------------------------------------------------------
# presets
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Preset:
    """Sizes of a reproduction run.

    Attributes:
        name: "tiny", "quick" or "full".
        vdds: supply grid, V. windows: sense-window grid, s.
        n_map: Monte Carlo instances per state and VDD in the map. n_point: per state and PVT point.
        n_wave: instances per state drawn in the waveform figure.
        temperatures_c: temperatures of the robustness study, degrees Celsius.
        corners: process corners in units of PROCESS_SIGMA_VT (+ = slow, higher |Vth|).
        widths: VGG widths F. epochs: training epochs. data_limit: images kept per split (None: all).
        max_batches: training batches per epoch (None: all). bers: error rates of section 6.
        repeats: error draws per evaluation. anneal_within_run: one cosine cycle over the run
            (instead of the seed recipe's 100/200/400 cycles).
        steps_per_tau: transient accuracy knob (None: the circuit default).
        chip_grid, chip_mc, chip_amplifiers: amplifier pool of the chip in section 7: resistance
            points per axis, noise draws per point and amplifiers (transient senses per VDD:
            chip_amplifiers * chip_grid**2 * chip_mc).
    """

    name: str
    vdds: tuple[float, ...]
    windows: tuple[float, ...]
    n_map: int
    n_point: int
    n_wave: int
    temperatures_c: tuple[float, ...]
    corners: tuple[float, ...]
    widths: tuple[int, ...]
    epochs: int
    data_limit: int | None
    max_batches: int | None
    bers: tuple[float, ...]
    repeats: int
    anneal_within_run: bool
    steps_per_tau: float | None = None
    chip_grid: int = 17
    chip_mc: int = 8
    chip_amplifiers: int = 8


PRESETS: dict[str, Preset] = {
    # VDD grids: the seed's 1.2 V down to where the default (SKY130) transistors stop reading (LRS, HRS):
    # the timing margin closes near 0.85 V and nothing reliable decides below about 0.75 V (docs/results.md).
    "tiny": Preset("tiny", vdds=(1.2, 0.9), windows=(0.5e-9, 1e-9, 2.2e-9), n_map=6, n_point=6, n_wave=1,
                   temperatures_c=(-40.0, 27.0, 125.0), corners=(-3.0, 3.0), widths=(2,), epochs=1,
                   data_limit=200, max_batches=2, bers=(0.0, 0.1), repeats=1, anneal_within_run=True,
                   steps_per_tau=3.0, chip_grid=9, chip_mc=4, chip_amplifiers=2),
    "quick": Preset("quick", vdds=(1.2, 1.1, 1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7),
                    windows=tuple(float(w) for w in np.geomspace(0.25e-9, 8e-9, 9)), n_map=150, n_point=150,
                    n_wave=6, temperatures_c=(-40.0, 27.0, 125.0), corners=(-3.0, 3.0), widths=(8, 16), epochs=4,
                    data_limit=6000, max_batches=None, bers=(0.0, 1e-3, 1e-2, 3e-2, 0.1, 0.2), repeats=2,
                    anneal_within_run=True),
    "full": Preset("full", vdds=tuple(round(v, 3) for v in np.arange(1.2, 0.649, -0.05)),
                   windows=tuple(float(w) for w in np.geomspace(0.1e-9, 30e-9, 18)), n_map=2000, n_point=5000,
                   n_wave=10, temperatures_c=(-40.0, 27.0, 125.0), corners=(-3.0, 3.0), widths=(32, 64, 128, 256),
                   epochs=700, data_limit=None, max_batches=None,
                   bers=(0.0, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.2), repeats=5, anneal_within_run=False,
                   chip_grid=25, chip_mc=16, chip_amplifiers=32),
}


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


# ------------------------------------------------------------------------------------------------
# small helpers
# ------------------------------------------------------------------------------------------------
def _jsonable_params(obj: Any) -> Any:
    return json.loads(json.dumps(dataclasses.asdict(obj), default=str))


def corner_params(pcsa_params, k_sigma: float):
    """PCSAParams with NMOS and PMOS |Vth| shifted by ``k_sigma`` * PROCESS_SIGMA_VT (V)."""
    d = k_sigma * PROCESS_SIGMA_VT
    return replace(pcsa_params, nmos=replace(pcsa_params.nmos, vt0=pcsa_params.nmos.vt0 + d),
                   pmos=replace(pcsa_params.pmos, vt0=pcsa_params.pmos.vt0 + d))


def _compute_device() -> str:
    """"cuda" when a GPU is visible (the transient model runs on the device of its inputs), else "cpu"."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def _pairs(device: DeviceModel, states: Sequence[int], n: int,
           gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Resistances (3n,) of n fresh cells per programmed state, states concatenated in order.

    Drawn on the CPU (reproducible everywhere), then moved to :func:`_compute_device`.
    """
    m_bl = torch.cat([torch.full((n,), STATES[s][0]) for s in states])
    m_blb = torch.cat([torch.full((n,), STATES[s][1]) for s in states])
    dev = _compute_device()
    return device.sample_pairs(m_bl, gen).to(dev), device.sample_pairs(m_blb, gen).to(dev)


def _counts(values: np.ndarray) -> np.ndarray:
    """Counts of (-1, 0, +1) along the last axis: (..., n) -> (..., 3)."""
    return np.stack([(values == k).sum(axis=-1) for k in (-1, 0, 1)], axis=-1)


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    for r in rows:
        w.writerow([f"{x:.6g}" if isinstance(x, float) else x for x in r])
    atomic_write_text(path, buf.getvalue())


def _fmt_p(p: float) -> str:
    return "nan" if not math.isfinite(p) else (f"{p:.3g}" if p >= 1e-3 or p == 0 else f"{p:.2e}")


def _upper95(k: float, n: float) -> float:
    """Upper 95 % bound of a rate with k events in n trials (rule of three for k = 0, else Wilson)."""
    if n <= 0:
        return float("nan")
    if k == 0:
        return 3.0 / n
    p = k / n
    z = 1.96
    c = (p + z * z / (2 * n) + z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)
    return float(c)


@dataclass(frozen=True)
class ErrorRates:
    """Read-error rates of one operating point from counts (3 states x 3 outcomes).

    Attributes (probabilities): to_zero = P(read 0 | +-1), from_zero = P(read +-1 | 0),
    flip = P(read -s | s, s = +-1), ternary = mean over the three states of P(read != programmed),
    correct_pm = P(read s | s = +-1); n_pm, n_zero: instances behind them; k_flip: flips seen.
    """

    to_zero: float
    from_zero: float
    flip: float
    ternary: float
    correct_pm: float
    n_pm: int
    n_zero: int
    k_flip: int

    @classmethod
    def from_counts(cls, c: dict) -> ErrorRates:
        """``c``: state -> counts (3,) ordered (-1, 0, +1)."""
        cp, cm, c0 = np.asarray(c[1]), np.asarray(c[-1]), np.asarray(c[0])
        n_pm = int(cp.sum() + cm.sum())
        n0 = int(c0.sum())
        to_zero = (cp[1] + cm[1]) / n_pm
        flips = int(cp[0] + cm[2])
        err = [1 - cp[2] / cp.sum(), 1 - cm[0] / cm.sum(), 1 - c0[1] / n0]
        return cls(float(to_zero), float((c0[0] + c0[2]) / n0), flips / n_pm, float(np.mean(err)),
                   float((cp[2] + cm[0]) / n_pm), n_pm, n0, flips)


# ------------------------------------------------------------------------------------------------
# the run context
# ------------------------------------------------------------------------------------------------
@dataclass
class _Ctx:
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


def planned_units(preset: Preset, sections: Sequence[str], vdd_star: float | None = None) -> int:
    """Distinct cached units a run of ``sections`` asks for (the N of "unit k of N").

    Before the operating point is known the waveform study counts two VDDs (nominal and chosen); it is
    one when the chosen VDD is the nominal one. Kept in step with the section code by a test."""
    n_vdd = len(preset.vdds)
    n_cond = 1 + sum(t != 27.0 for t in preset.temperatures_c) + len(preset.corners)
    n_wave = 1 if vdd_star is not None and vdd_star == VDD_NOMINAL else 2
    n = n_vdd + n_wave + n_cond * n_vdd
    if "nn" in sections:
        n += 3 * len(preset.widths) + 2 * len(preset.bers) + n_vdd + 2 * n_vdd
    return n


def _pcsa(ctx: _Ctx, corner: float = 0.0):

    p = ctx.pcsa_params if corner == 0 else corner_params(ctx.pcsa_params, corner)
    return PCSA(p)


def _gen(ctx: _Ctx, *keys: float) -> torch.Generator:
    h = hash(tuple([ctx.seed] + [round(float(k), 12) for k in keys])) & 0x7FFFFFFF
    # hash of floats/ints is deterministic across runs (no string hashing involved)
    return torch.Generator().manual_seed(h)


# ------------------------------------------------------------------------------------------------
# sense units
# ------------------------------------------------------------------------------------------------
def _map_unit(ctx: _Ctx, vdd: float) -> Any:
    """Counts (W, 3 states, 3 outcomes) at every window and t_decide (3, n) at one VDD."""

    windows = ctx.preset.windows
    n = ctx.preset.n_map
    cfg = {**ctx.base_config(), "vdd": vdd, "windows": list(windows), "n": n}

    def compute():
        pcsa = _pcsa(ctx)
        gen = _gen(ctx, 1, vdd)
        r_bl, r_blb = _pairs(ctx.device, (1, -1, 0), n, gen)
        op = OperatingPoint(vdd, max(windows))
        dvth = pcsa.sample_mismatch(r_bl.numel(), gen).to(r_bl.device)
        t, out, outb = (x.cpu() for x in pcsa.waveforms(r_bl, r_blb, op, dvth=dvth))
        counts = np.zeros((len(windows), 3, 3), dtype=np.int64)
        for i, w in enumerate(windows):
            k = int(np.clip(np.searchsorted(t.numpy(), w, side="right") - 1, 0, t.numel() - 1))
            v = decode(out[:, k], outb[:, k], vdd, pcsa.params.readout_fraction).numpy().reshape(3, n)
            counts[i] = _counts(v)
        td = first_crossing(t, (out - outb).abs(), pcsa.params.decision_fraction * vdd).numpy().reshape(3, n)
        return {"vdd": vdd}, {"counts": counts, "t_decide": td}

    return ctx.unit("sense-map", cfg, compute, f"read map at VDD={vdd:g} V ({len(windows)} windows, {n} per state)")


def _point_unit(ctx: _Ctx, vdd: float, window: float, temperature_c: float, corner: float) -> Any:
    """Counts (3 states, 3), mean energy (3,) J and mean decision time (3,) s at one PVT point."""

    n = ctx.preset.n_point
    cfg = {**ctx.base_config(), "vdd": vdd, "window": window, "temperature_c": temperature_c,
           "corner": corner, "n": n}

    def compute():
        pcsa = _pcsa(ctx, corner)
        gen = _gen(ctx, 2, vdd, window, temperature_c, corner)
        r_bl, r_blb = _pairs(ctx.device, (1, -1, 0), n, gen)
        dvth = pcsa.sample_mismatch(r_bl.numel(), gen).to(r_bl.device)
        res = pcsa.sense(r_bl, r_blb, OperatingPoint.from_celsius(vdd, window, temperature_c), dvth=dvth)
        v = res.value.cpu().numpy().reshape(3, n)
        e = res.energy.cpu().numpy().reshape(3, n)
        td = res.t_decide.cpu().numpy().reshape(3, n)
        with np.errstate(invalid="ignore"):
            td_mean = np.array([np.nanmean(r) if np.isfinite(r).any() else np.nan for r in td])
        return ({"vdd": vdd}, {"counts": _counts(v), "energy": e.mean(axis=1), "t_decide": td_mean,
                               "decided": np.isfinite(td).mean(axis=1)})

    corner_s = "typical" if corner == 0 else f"corner {corner:+g} sigma"
    return ctx.unit("sense-point", cfg, compute,
                    f"PVT point {temperature_c:g} C, {corner_s}, VDD={vdd:g} V ({n} per state)")


def _wave_unit(ctx: _Ctx, vdd: float, t_end: float) -> Any:
    """Waveforms of n_wave instances per state (states +1, -1, 0), subsampled to <= 400 points."""

    n = ctx.preset.n_wave
    cfg = {**ctx.base_config(), "vdd": vdd, "t_end": t_end, "n": n}

    def compute():
        pcsa = _pcsa(ctx)
        gen = _gen(ctx, 3, vdd, t_end)
        r_bl, r_blb = _pairs(ctx.device, (1, -1, 0), n, gen)
        dvth = pcsa.sample_mismatch(r_bl.numel(), gen).to(r_bl.device)
        t, out, outb = (x.cpu() for x in pcsa.waveforms(r_bl, r_blb, OperatingPoint(vdd, t_end), dvth=dvth))
        idx = np.unique(np.linspace(0, t.numel() - 1, min(400, t.numel())).astype(int))
        return {"vdd": vdd}, {"t": t.numpy()[idx], "out": out.numpy()[:, idx], "outb": outb.numpy()[:, idx]}

    return ctx.unit("sense-wave", cfg, compute, f"waveforms at VDD={vdd:g} V")


# ------------------------------------------------------------------------------------------------
# sections 1-4
# ------------------------------------------------------------------------------------------------
def _plt():

    return new_figure, save_figure




@dataclass(frozen=True)
class SenseSummary:
    """What the sense sections hand on: chosen operating point and rates per VDD (nominal PVT)."""

    vdd_star: float
    window: float
    rates: dict  # vdd -> ErrorRates at the chosen window (nominal PVT)
    energy: dict  # vdd -> mean energy per sense per state (3,) J, states (+1, -1, 0)


def _fmt_ratio(ratio: float, margin: tuple[float, float], longest: float) -> str:
    """A margin W_high / W_low for the claims table: the ratio, '> x' when W_high lies beyond the map, or 'none'."""
    w_low, w_high = margin
    if not math.isfinite(w_low):
        return "none (+-1 reads do not all decide)"
    if math.isinf(w_high):
        return f"> {longest / w_low:.3g} (W_high beyond the map)"
    return f"{ratio:.3g}" if ratio > 1 else f"none ({ratio:.2g})"


def _sections_sense(ctx: _Ctx) -> tuple[list[Section], SenseSummary]:
    p = ctx.preset
    new_figure, save_figure = _plt()
    out = ctx.out
    vdds = sorted(p.vdds, reverse=True)
    windows = np.asarray(p.windows)
    # --- map (section 2) -------------------------------------------------------------------------
    maps = {v: _map_unit(ctx, v) for v in vdds}
    err = np.zeros((len(vdds), len(windows)))
    p_state = np.zeros((len(vdds), len(windows), 3, 3))  # vdd, window, state(+1,-1,0), outcome(-1,0,+1)
    for i, v in enumerate(vdds):
        c = maps[v]["counts"].astype(float)
        p_state[i] = c / c.sum(axis=2, keepdims=True)
        for j in range(len(windows)):
            err[i, j] = ErrorRates.from_counts({1: c[j, 0], -1: c[j, 1], 0: c[j, 2]}).ternary
    best = min(((err[i, j], vdds[i], j) for i in range(len(vdds)) for j in range(len(windows))),
               key=lambda x: (round(x[0], 12), x[1]))
    err_min, vdd_star, j_star = best
    w_star = float(windows[j_star])
    ctx.log(f"chosen operating point: VDD={vdd_star:g} V, window={w_star * 1e9:.3g} ns (ternary error {err_min:.3g})")
    ctx.plan = planned_units(ctx.preset, ctx.sections, vdd_star)
    # Timing margin per VDD from the map's decision times (sense.margin_windows): W_low lets 99 % of +-1 reads
    # decide, W_high keeps P(0 | HRS, HRS) >= 0.9; inf where beyond the longest window of the map.

    margins: dict[float, tuple[float, float]] = {}
    for v in vdds:
        td = torch.as_tensor(np.asarray(maps[v]["t_decide"], dtype=float))
        margins[v] = margin_windows({"LRS/HRS": td[0], "HRS/LRS": td[1], "HRS/HRS": td[2]}, float(windows.max()))
    longest = float(windows.max())
    ratio = {v: (wh / wl if math.isfinite(wl) and wl > 0 else float("nan")) for v, (wl, wh) in margins.items()}
    # Where W_high lies beyond the map only a lower bound of the margin is known: longest window / W_low.
    bound = {v: (min(wh, longest) / wl if math.isfinite(wl) and wl > 0 else float("nan"))
             for v, (wl, wh) in margins.items()}
    i_nom0 = vdds.index(VDD_NOMINAL) if VDD_NOMINAL in vdds else 0
    v_nom = vdds[i_nom0]
    r_nom, r_star = ratio[v_nom], ratio[vdd_star]
    # Does a window tuned per VDD favour the lower VDD? If not, the near-threshold ternary claims rest on the
    # fixed window (the map's windows are absolute: a clock) and are reported as such. None: cannot tell.
    margin_grows: bool | None = None
    if vdd_star < v_nom and not math.isnan(r_star) and not math.isnan(r_nom):
        if math.isfinite(r_nom) and math.isfinite(r_star):
            margin_grows = bool(r_star > r_nom)
        elif math.isfinite(r_nom):  # the lower VDD's margin is only bounded below
            margin_grows = True if bound[vdd_star] > r_nom else None
        elif math.isfinite(r_star):  # nominal's margin is only bounded below
            margin_grows = False if r_star < bound[v_nom] else None
    elif vdd_star < v_nom and math.isnan(r_star) and not math.isnan(r_nom):
        margin_grows = False  # no margin at all at the lower VDD, one at nominal
    fixed_clock_only = margin_grows is False

    # --- section 1: waveforms --------------------------------------------------------------------
    t_end = 2.0 * w_star
    fig, axes = new_figure(2, 3, width=4.0, height=2.8)
    wave_rows = []
    for r, v in enumerate((VDD_NOMINAL, vdd_star)):
        wv = _wave_unit(ctx, v, t_end)
        t = wv["t"]
        for s_i, s in enumerate((1, -1, 0)):
            ax = axes[r][s_i]
            for k in range(p.n_wave):
                row = s_i * p.n_wave + k
                ax.plot(t * 1e9, wv["out"][row], color="C0", lw=0.8, label="OUT" if k == 0 else None)
                ax.plot(t * 1e9, wv["outb"][row], color="C3", lw=0.8, ls="--", label="OUTb" if k == 0 else None)
                for ti, (a, b) in enumerate(zip(wv["out"][row], wv["outb"][row])):
                    wave_rows.append((v, s, k, float(t[ti]), float(a), float(b)))
            ax.axvline(w_star * 1e9, color="k", lw=0.6)
            ax.set_ylim(-0.05 * v, 1.05 * v)
            ax.set_title(f"VDD={v:g} V, state {STATE_LABEL[s]}", fontsize=9)
            ax.set_xlabel("time since SEN rises (ns)")
            ax.set_ylabel("voltage (V)")

    legend_below(fig, [axes[0][0]], extra=[Line2D([], [], color="k", lw=0.6, label="sense window")])
    # decoded values of the drawn instances at the chosen window
    thr_frac = ctx.pcsa_params.readout_fraction
    at_w: dict[tuple[float, int], list[tuple[bool, bool]]] = {}
    for v in (VDD_NOMINAL, vdd_star):
        wv = _wave_unit(ctx, v, t_end)
        k_w = int(np.clip(np.searchsorted(wv["t"], w_star, side="right") - 1, 0, len(wv["t"]) - 1))
        for s_i, s in enumerate((1, -1, 0)):
            rows_s = range(s_i * p.n_wave, (s_i + 1) * p.n_wave)
            at_w[(v, s)] = [(bool(wv["out"][q, k_w] > thr_frac * v), bool(wv["outb"][q, k_w] > thr_frac * v))
                            for q in rows_s]
    n_pm_ok = (sum(hb and not h for h, hb in at_w[(VDD_NOMINAL, 1)])
               + sum(h and not hb for h, hb in at_w[(VDD_NOMINAL, -1)]))
    pm_ok = n_pm_ok == 2 * p.n_wave
    zero_same = [h == hb for h, hb in at_w[(vdd_star, 0)]]
    zero_level = sorted({"both high" if h else "both low" for h, hb in at_w[(vdd_star, 0)] if h == hb})
    claims1 = (
        Claim("The lower-resistance branch falls first and the latch regenerates: (LRS, HRS) ends with OUT low, "
              "OUTb high (and the mirror for -1)",
              f"{n_pm_ok}"
              f" of {2 * p.n_wave} drawn instances at {VDD_NOMINAL:g} V read correctly at {w_star * 1e9:.3g} ns",
              pm_ok, "every drawn +-1 instance at nominal VDD decodes to its value at the chosen window"),
        Claim("Near threshold an (HRS, HRS) pair leaves both outputs at the same level, which flags 0 "
              "(expected: both high; docs/physics.md section 1.5 leaves the level open)",
              f"{sum(zero_same)} of {len(zero_same)} drawn (HRS, HRS) instances at {vdd_star:g} V: "
              f"{', '.join(zero_level) or 'none at the same level'}",
              all(zero_same), "every drawn (HRS, HRS) instance at the chosen VDD has OUT and OUTb on the same side",
              fixed_clock_only=fixed_clock_only),
    )
    save_figure(fig, out / "fig1_waveforms.png")
    _write_csv(out / "fig1_waveforms.csv", ("vdd_V", "state", "instance", "t_s", "out_V", "outb_V"), wave_rows)
    s1 = Section(
        "Sense waveforms",
        (f"OUT (solid) and OUTb (dashed) after SEN rises, {p.n_wave} Monte Carlo instance(s) per programmed state "
         f"(devices and mismatch drawn), at nominal VDD = {VDD_NOMINAL:g} V and at the chosen near-threshold "
         f"VDD = {vdd_star:g} V. The vertical line is the chosen sense window {w_star * 1e9:.3g} ns; the read-out "
         f"decodes OUT/OUTb at that instant (an output is high above {ctx.pcsa_params.readout_fraction:g} VDD).",),
        figures=(Figure("fig1_waveforms.png", "OUT/OUTb against time for the three programmed states.",
                        ("fig1_waveforms.csv",)),),
        claims=claims1)

    # --- section 2 figures -----------------------------------------------------------------------
    fig, axes = new_figure(1, 3, width=4.0, height=3.0)
    prob_rows = []
    for s_i, s in enumerate((1, -1, 0)):
        ax = axes[0][s_i]
        for o_i, o in enumerate((-1, 0, 1)):
            plot_rates(ax, vdds, p_state[:, j_star, s_i, o_i], p.n_map, label=f"read {o:+d}" if o else "read 0",
                       color=f"C{o_i}", logit=True, dodge=(o_i - 1) * 0.015 * (max(vdds) - min(vdds) or 1.0))
        for i, v in enumerate(vdds):
            prob_rows.append((v, w_star, s, *[float(x) for x in p_state[i, j_star, s_i]]))
        ax.set_title(f"programmed {STATE_LABEL[s]}", fontsize=9)
        ax.set_xlabel("VDD (V)")
        ax.set_ylabel("probability (logit scale)")
    legend_below(fig, axes[0], ncol=2, extra=[bound_handle(), one_bound_handle()])
    save_figure(fig, out / "fig2a_probabilities.png")
    _write_csv(out / "fig2a_probabilities.csv", ("vdd_V", "window_s", "state", "p_minus", "p_zero", "p_plus"),
               prob_rows)
    fig, axes = new_figure(1, 1, width=5.5, height=4.0)
    ax = axes[0][0]

    # Cells with no error at all are left grey (an upper bound, not a value on the colour scale).
    x_edges, y_edges = cell_edges(windows * 1e9, log=True), cell_edges(vdds)
    positive = err[err > 0]
    norm = LogNorm(vmin=min(float(positive.min()) if positive.size else 1e-3, 0.5 * TERNARY_OK), vmax=1.0)
    cmap = __import__("matplotlib").colormaps["viridis"].with_extremes(bad="0.82")
    im = ax.pcolormesh(x_edges, y_edges, np.ma.masked_less_equal(err, 0.0), norm=norm, cmap=cmap)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    if len(windows) <= 9:
        ax.set_xticks(windows * 1e9, [f"{w * 1e9:.3g}" for w in windows])

    # white on a dark rim, drawn over the frame so that the sides on the map's edge show too
    ax.add_collection(LineCollection(region_outline(x_edges, y_edges, err <= TERNARY_OK), colors="w", lw=1.6,
                                     clip_on=False, zorder=3, path_effects=[withStroke(linewidth=3.2, foreground="k")]))
    ax.plot([w_star * 1e9], [vdd_star], "r*", ms=12)
    ax.set_xlabel("sense window (ns)")
    ax.set_ylabel("VDD (V)")
    fig.colorbar(im, ax=ax, label="ternary read error (mean over the 3 states)")
    legend_below(fig, [ax], ncol=1, extra=[
        Patch(facecolor="0.82", label=f"no error in {3 * p.n_map} reads (95 % upper bound {1 - 0.05 ** (1 / (3 * p.n_map)):.2g})"),
        Line2D([], [], color="w", lw=1.6, path_effects=[withStroke(linewidth=3.2, foreground="k")],
               label=f"outline: cells with error <= {TERNARY_OK:g}"),
        Line2D([], [], ls="none", marker="*", color="r", ms=10, label="chosen operating point")])
    save_figure(fig, out / "fig2b_ternary_map.png")
    _write_csv(out / "fig2b_ternary_map.csv", ("vdd_V", "window_s", "ternary_error"),
               [(v, float(w), float(err[i, j])) for i, v in enumerate(vdds) for j, w in enumerate(windows)])
    region = [(v, float(w)) for i, v in enumerate(vdds) for j, w in enumerate(windows) if err[i, j] <= TERNARY_OK]
    i_nom = vdds.index(VDD_NOMINAL) if VDD_NOMINAL in vdds else 0
    p0_nom = float(p_state[i_nom, j_star, 2, 1])
    p0_best = float(p_state[vdds.index(vdd_star), j_star, 2, 1])
    n_map = p.n_map
    # Can one window serve both modes (binary at nominal VDD, ternary lower)? The shortest window where
    # (HRS, HRS) resolves at nominal VDD, and the best ternary read error any VDD reaches with it.
    j_both = next((j for j in range(len(windows)) if p_state[i_nom, j, 2, 1] <= 0.2), None)
    both = ("no window of the map resolves it at nominal VDD" if j_both is None else
            f"the shortest window where it does (P0 <= 0.2) is {windows[j_both] * 1e9:.3g} ns, where the best "
            f"ternary read error over VDD is {float(err[:, j_both].min()):.3g} "
            f"(at {vdds[int(err[:, j_both].argmin())]:g} V)")
    claims2 = (
        Claim("P(read 0 | HRS,HRS) near 0 at nominal VDD (the pair resolves to a random +-1)",
              f"P0 = {p0_nom:.3f} at {vdds[i_nom]:g} V, window {w_star * 1e9:.3g} ns (n={n_map}); "
              f"{float(p_state[i_nom, -1, 2, 1]):.3f} at the longest window {windows[-1] * 1e9:.3g} ns; {both}",
              p0_nom <= 0.2, "P0(nominal VDD, chosen window) <= 0.2"),
        Claim("P(read 0 | HRS,HRS) close to 1 in a lower-VDD ternary region",
              f"P0 = {p0_best:.3f} at {vdd_star:g} V, window {w_star * 1e9:.3g} ns",
              p0_best >= 0.9 and vdd_star < vdds[i_nom], "P0 >= 0.9 at a VDD below nominal, same window",
              fixed_clock_only=fixed_clock_only),
        Claim("Ternary reading works best near threshold, also with a window tuned per VDD: the timing margin "
              "W_high / W_low is wider at the lower VDD than at nominal",
              "W_high / W_low: " + "; ".join(
                  f"{v:g} V {_fmt_ratio(ratio[v], margins[v], longest)}" for v in vdds),
              margin_grows,
              "W_high / W_low at the chosen VDD > at nominal VDD (W_low: 99 % of +-1 reads decided; W_high: "
              "P(0 | HRS,HRS) still >= 0.9; where W_high lies beyond the map, longest window / W_low bounds the "
              "margin below); not tested when the chosen VDD is nominal or the bounds cannot decide"),
        Claim("One sense operation reads a ternary weight (single-sense ternary reading works)",
              f"lowest ternary read error {err_min:.3g} at {vdd_star:g} V, {w_star * 1e9:.3g} ns; "
              f"{len(region)} of {err.size} (VDD, window) points <= {TERNARY_OK:g}",
              err_min <= TERNARY_OK, f"min over the map of the ternary read error <= {TERNARY_OK:g}"),
    )
    s2 = Section(
        "Read-outcome probabilities and the VDD x window map",
        (f"Monte Carlo over devices and transistor mismatch, {n_map} instances per state and VDD. Ternary read "
         "error = mean over the three programmed states of P(read != programmed). The operating point (star) is "
         "the map point with the lowest ternary read error (ties to the lower VDD); the white outline "
         f"encloses the cells with error <= {TERNARY_OK:g}; grey cells had no error at all (their rate is below "
         "the 95 % bound given in the legend). Probabilities are on a logit axis; an outcome never seen (or "
         "always seen) is drawn as a hollow triangle at its 95 % bound, not as a value.",),
        figures=(Figure("fig2a_probabilities.png", f"Read-outcome probabilities against VDD at window "
                                                   f"{w_star * 1e9:.3g} ns.", ("fig2a_probabilities.csv",)),
                 Figure("fig2b_ternary_map.png", "Ternary read error over VDD x sense window.",
                        ("fig2b_ternary_map.csv",))),
        claims=claims2)

    # --- section 3: error types vs VDD, PVT --------------------------------------------------------
    conditions = [("27 C, typical", 27.0, 0.0)]
    conditions += [(f"{t:g} C, typical", t, 0.0) for t in p.temperatures_c if t != 27.0]
    conditions += [(f"27 C, {'slow' if k > 0 else 'fast'} {k:+g} sigma", 27.0, k) for k in p.corners]
    rates: dict[str, dict[float, ErrorRates]] = {}
    energy: dict[str, dict[float, np.ndarray]] = {}
    tdec: dict[str, dict[float, np.ndarray]] = {}
    for name, tc, k in conditions:
        rates[name], energy[name], tdec[name] = {}, {}, {}
        for v in vdds:
            r = _point_unit(ctx, v, w_star, tc, k)
            c = r["counts"]
            rates[name][v] = ErrorRates.from_counts({1: c[0], -1: c[1], 0: c[2]})
            energy[name][v] = r["energy"]
            tdec[name][v] = r["t_decide"]
    ncols = 3
    nrows = -(-(len(conditions) + 1) // ncols)  # one more panel for the legend
    fig, axes = new_figure(nrows, ncols, width=3.6, height=2.9, sharey=True)
    flat = [ax for row in axes for ax in row]
    err_rows = []
    for ci, (name, _, _) in enumerate(conditions):
        ax = flat[ci]
        span = max(vdds) - min(vdds) or 1.0
        for i, (key, lab) in enumerate((("to_zero", "+-1 -> 0"), ("from_zero", "0 -> +-1"), ("flip", "sign flip"),
                                        ("ternary", "ternary (mean of 3 states)"))):
            n_of = {"to_zero": "n_pm", "flip": "n_pm", "from_zero": "n_zero", "ternary": "n_all"}[key]
            plot_rates(ax, vdds, [getattr(rates[name][v], key) for v in vdds],
                       [getattr(rates[name][v], n_of) if n_of != "n_all" else
                        rates[name][v].n_pm + rates[name][v].n_zero for v in vdds], label=lab,
                       dodge=(i - 1.5) * 0.015 * span)
        for v in vdds:
            e = rates[name][v]
            err_rows.append((name, v, w_star, e.to_zero, e.from_zero, e.flip, e.ternary, e.n_pm, e.n_zero))
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("VDD (V)")
        ax.tick_params(labelleft=True)
        plain_log_ticks(ax)
        if ci % ncols == 0:
            ax.set_ylabel("error rate")
    for ax in flat[len(conditions):]:
        ax.axis("off")
    handles, labels = flat[0].get_legend_handles_labels()
    flat[-1].legend(handles + [bound_handle()], labels + [BOUND_NOTE.replace(": ", ":\n")],
                    loc="center", fontsize=8, frameon=False)
    save_figure(fig, out / "fig3_error_rates.png")
    _write_csv(out / "fig3_error_rates.csv", ("condition", "vdd_V", "window_s", "p_pm_to_zero", "p_zero_to_pm",
                                              "p_sign_flip", "ternary_error", "n_pm", "n_zero"), err_rows)
    nom = rates["27 C, typical"]
    used = [v for v in vdds if nom[v].ternary <= TERNARY_USED] or [vdd_star]
    k_flip = sum(nom[v].k_flip for v in used)
    n_pm_used = sum(nom[v].n_pm for v in used)
    flip_rate = k_flip / n_pm_used
    other = sum(nom[v].to_zero * nom[v].n_pm + nom[v].from_zero * nom[v].n_zero for v in used)
    n_all = sum(nom[v].n_pm + nom[v].n_zero for v in used)
    other_rate = other / n_all
    correct_min = min(nom[v].correct_pm for v in used)
    lost_zero = sum(nom[v].to_zero * nom[v].n_pm for v in used)
    low_v = vdds[-1]
    flip_long = {v: float((p_state[i, -1, 0, 0] + p_state[i, -1, 1, 2]) / 2) for i, v in enumerate(vdds)}
    # Flips can only show where the +-1 pairs resolve at all: the lowest VDD where at least half of them decide
    # within the longest window (below it, e.g. 0.7 V with the default SKY130 set, nothing resolves in time).
    decided_long = {v: 1.0 - float((p_state[i, -1, 0, 1] + p_state[i, -1, 1, 1]) / 2) for i, v in enumerate(vdds)}
    low_flip_v = min((v for v in vdds if decided_long[v] >= 0.5), default=low_v)
    robust = {name: rates[name][vdd_star].ternary for name, _, _ in conditions}
    worst = max(robust, key=robust.get)
    claims3 = (
        Claim("P(correct | LRS,HRS) close to 1 where the scheme is used; what is lost goes to 0, not to a sign flip",
              f"min P(correct | +-1) = {correct_min:.4f} over VDD {{{', '.join(f'{v:g}' for v in used)}}} V; "
              f"lost to 0: {round(lost_zero)}, sign flips: {k_flip}",
              correct_min >= 0.99 and k_flip <= lost_zero,
              f"min P(correct) >= 0.99 and flips <= reads lost to 0, over VDDs with ternary error <= {TERNARY_USED:g}"),
        Claim("Sign flips negligible, much rarer than +-1 <-> 0 errors",
              f"flip rate {_fmt_p(flip_rate)} (95 % upper bound {_fmt_p(_upper95(k_flip, n_pm_used))}) vs +-1 <-> 0 "
              f"rate {_fmt_p(other_rate)}; at the lowest VDD {low_v:g} V flips {_fmt_p(nom[low_v].flip)}",
              None if (k_flip == 0 and _upper95(0, n_pm_used) > 1e-2) else
              (_upper95(k_flip, n_pm_used) <= 1e-2 and (flip_rate <= 0.1 * other_rate or k_flip == 0)),
              "95 % upper bound of the flip rate <= 1e-2 and flip rate <= 0.1 x the +-1 <-> 0 rate (or no flip), "
              "over the used VDDs (not tested when too few reads could bound it)"),
        Claim("Below the ternary region, mismatch-driven sign flips on (LRS, HRS) rise (docs/physics.md section 2.6)",
              f"at the longest window {windows[-1] * 1e9:.3g} ns: flip rate {_fmt_p(flip_long[low_flip_v])} at "
              f"{low_flip_v:g} V ({100 * decided_long[low_flip_v]:.0f} % of +-1 reads decided) vs "
              f"{_fmt_p(flip_long[vdd_star])} at {vdd_star:g} V ({2 * n_map} reads each)",
              None if low_flip_v >= vdd_star else flip_long[low_flip_v] > flip_long[vdd_star],
              "sign-flip rate of +-1 at the longest window higher at the lowest VDD where at least half of the +-1 "
              "reads decide within it than at the chosen VDD (not tested when that VDD is not below the chosen one)"),
        Claim("Robust to process, voltage and temperature variations [P2]",
              "ternary error at the chosen point: " + "; ".join(f"{k}: {_fmt_p(v)}" for k, v in robust.items()),
              robust[worst] <= TERNARY_USED,
              f"ternary error <= {TERNARY_USED:g} at the chosen (VDD, window) under every temperature and corner"),
    )
    s3 = Section(
        "Error rates by type against VDD, temperature and process corners",
        (f"At the chosen window {w_star * 1e9:.3g} ns, {p.n_point} instances per state and point. Process corners "
         f"shift every NMOS and PMOS |Vth| by k x {PROCESS_SIGMA_VT * 1e3:g} mV (PROCESS_SIGMA_VT, a [D] parameter); "
         "error rates on a log axis; a type with no error in n reads is drawn as a hollow down-triangle at its "
         "95 % upper bound (about 3/n), not as a value.",),
        figures=(Figure("fig3_error_rates.png", "Error rates by type against VDD per PVT condition.",
                        ("fig3_error_rates.csv",)),),
        claims=claims3)

    # --- section 4: energy and time ---------------------------------------------------------------
    fig, axes = new_figure(1, 2, width=4.5, height=3.2)
    e_rows = []
    for name, _, _ in conditions:
        e_mean = [float(np.mean(energy[name][v])) for v in vdds]
        t_lh = [float(tdec[name][v][0]) for v in vdds]
        axes[0][0].plot(vdds, np.array(e_mean) * 1e15, marker="o", ms=3, label=name)
        axes[0][1].semilogy(vdds, np.array(t_lh) * 1e9, marker="o", ms=3, label=name)
        for v, e, t in zip(vdds, e_mean, t_lh):
            e_rows.append((name, v, w_star, e, t, float(tdec[name][v][2])))
    axes[0][0].set_xlabel("VDD (V)")
    axes[0][0].set_ylabel("energy per sense (fJ)")
    axes[0][1].set_xlabel("VDD (V)")
    axes[0][1].set_ylabel("decision time, state +1 (ns)")
    plain_log_ticks(axes[0][1])
    legend_below(fig, axes[0], ncol=3)
    save_figure(fig, out / "fig4_energy_time.png")
    _write_csv(out / "fig4_energy_time.csv", ("condition", "vdd_V", "window_s", "energy_per_sense_J",
                                              "t_decide_plus_s", "t_decide_zero_s"), e_rows)
    e_nom = {v: float(np.mean(energy["27 C, typical"][v])) for v in vdds}
    e_hi = e_nom[vdds[i_nom]]
    e_star = e_nom[vdd_star]
    t_hi = float(tdec["27 C, typical"][vdds[i_nom]][0])
    t_lo = float(tdec["27 C, typical"][vdd_star][0])
    claims4 = (
        Claim("Energy per sense lower at near-threshold VDD",
              f"{e_star * 1e15:.3g} fJ at {vdd_star:g} V vs {e_hi * 1e15:.3g} fJ at {vdds[i_nom]:g} V "
              f"(ratio {e_star / e_hi:.2f})", e_star < 0.6 * e_hi, "E(chosen VDD) < 0.6 x E(nominal VDD)"),
        Claim("Energy per sense in the tens of fJ at 130 nm",
              f"{e_hi * 1e15:.3g} fJ at {vdds[i_nom]:g} V, {e_star * 1e15:.3g} fJ at {vdd_star:g} V",
              e_star >= 1e-15 and e_hi <= 100e-15, "1 fJ <= E <= 100 fJ at both VDDs"),
        Claim("Decision time grows steeply below threshold (docs/physics.md section 4.2)",
              f"t_decide(+1) = {t_lo * 1e9:.3g} ns at {vdd_star:g} V vs {t_hi * 1e9:.3g} ns at {vdds[i_nom]:g} V",
              (t_lo / t_hi > 2.0) if (math.isfinite(t_lo) and math.isfinite(t_hi)) else None,
              "t_decide(chosen VDD) > 2 x t_decide(nominal)"),
    )
    s4 = Section(
        "Energy per sense and decision time",
        ("Energy drawn from VDD per sense (evaluation and the next precharge), mean over the three states, and the "
         "mean time for |OUT - OUTb| to exceed the decision threshold for state +1.",),
        figures=(Figure("fig4_energy_time.png", "Energy per sense and decision time against VDD.",
                        ("fig4_energy_time.csv",)),),
        claims=claims4)
    nom_energy = {v: energy["27 C, typical"][v] for v in vdds}
    return [s1, s2, s3, s4], SenseSummary(vdd_star, w_star, dict(nom), nom_energy)


# ------------------------------------------------------------------------------------------------
# networks
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Data:
    data: Any
    name: str
    note: str
    describe: dict


def _load_data(preset: Preset, data_dir: Path | None,
               warn: Callable[[str], None] | None = None) -> _Data:
    """The network data of a preset.

    A ``data_dir`` the user gave is used or refused (InputError naming it): CIFAR-10 must load from it,
    and the tiny preset (always digits) does not take one. Only without a path may --quick fall back
    on scikit-learn digits, when the default CIFAR-10 folder is missing or broken; ``warn`` announces
    it (one line). --full needs CIFAR-10.
    """

    if preset.name == "tiny":
        if data_dir is not None:
            raise InputError(f"--data-dir={str(data_dir)!r} is not allowed with --tiny: the tiny preset always "
                             "trains on scikit-learn digits")
        data = load_dataset("digits", None, limit=preset.data_limit)
        return _Data(data, "digits", "scikit-learn digits (the tiny preset never uses CIFAR-10)",
                     json.loads(json.dumps(data.describe())))
    if data_dir is not None:
        if not Path(data_dir).is_dir():
            raise InputError(f"--data-dir={str(data_dir)!r} is not allowed: not a folder (give the "
                             "cifar-10-batches-py folder, or leave --data-dir out)")
        data = load_dataset("cifar10", data_dir, limit=preset.data_limit)  # InputError names the bad file
        return _cifar(data, preset)
    d = default_cifar10_dir()
    reason = "no CIFAR-10 folder found (no --data-dir given)"
    if d is not None and Path(d).is_dir():
        try:
            return _cifar(load_dataset("cifar10", d, limit=preset.data_limit), preset)
        except InputError as exc:
            if preset.name == "full":
                raise
            reason = f"the default CIFAR-10 folder {d} cannot be used ({exc})"
    if preset.name == "full":
        raise InputError("--data-dir is missing: --full needs CIFAR-10 (the cifar-10-batches-py folder)")
    if warn is not None:
        warn(f"{reason}: training on scikit-learn digits instead; pass --data-dir DIR to use CIFAR-10")
    data = load_dataset("digits", None)
    note = f"scikit-learn digits (8x8 grey images, 10 classes): CIFAR-10 was not used: {reason}"
    return _Data(data, "digits", note, json.loads(json.dumps(data.describe())))


def _cifar(data: Any, preset: Preset) -> _Data:
    note = "CIFAR-10" + (f" (first {preset.data_limit} training and test images)" if preset.data_limit else "")
    return _Data(data, "cifar10", note, json.loads(json.dumps(data.describe())))


def train_config(preset: Preset, seed: int):
    """The :class:`~ternary_rram.nn.train.TrainConfig` of a preset: the seed recipe's defaults (AdamW,
    lr 0.01, batch 128, normalised decay, moments reset at restarts), with the preset's epochs and, for
    the short presets, one cosine cycle over the run instead of the 100/200/400 warm restarts."""

    return TrainConfig(epochs=preset.epochs, cycles=(preset.epochs,) if preset.anneal_within_run else (100, 200, 400),
                       seed=seed, max_batches=preset.max_batches)


def _train_unit(ctx: _Ctx, data: _Data, width: int, weights: str, activations: str) -> Any:
    """Train one VGG (resumable) and return its test accuracy and run folder."""

    p = ctx.preset
    tc = train_config(p, ctx.seed)
    model_cfg = dict(vgg(width, weights, activations, in_channels=data.data.in_channels,
                         num_classes=data.data.num_classes, image_size=data.data.image_size).config)
    cfg = {"seed": ctx.seed, "model": model_cfg, "train": tc.to_dict(), "data": data.describe}
    key = ctx.cache.paths("train", cfg)[0].stem

    def compute():
        folder = ctx.out / "cache" / key
        resume = (folder / "checkpoint.pt").exists()
        model = init_model(model_cfg, ctx.seed)
        res = train(model, data.data, tc, folder, device="auto", progress=ctx.bars, resume=resume)
        return {"test_acc": res.test_acc, "folder": str(folder.relative_to(ctx.out)), "width": width,
                "weights": weights, "activations": activations}, {}

    return ctx.unit("train", cfg, compute, f"training VGG width {width}, weights {weights}, activations "
                                           f"{activations} ({p.epochs} epoch(s))")


def _load_model(ctx: _Ctx, folder: str):

    return model_from_checkpoint(load_checkpoint(ctx.out / folder))


def _eval_unit(ctx: _Ctx, data: _Data, trained: Any, kind: str, ber: float) -> Any:

    cfg = {"seed": ctx.seed, "folder": trained["folder"], "acc": trained["test_acc"], "kind": kind, "ber": ber,
           "repeats": ctx.preset.repeats}

    def compute():
        r = evaluate(_load_model(ctx, trained["folder"]), data.data, ber=ber, error_model=kind,
                     repeats=ctx.preset.repeats, seed=ctx.seed, device="auto")
        return {"accuracy": r.accuracy, "mean": r.mean, "std": r.std}, {}

    return ctx.unit("eval", cfg, compute, f"evaluating {trained['weights']} VGG width {trained['width']} under "
                                          f"{kind} errors at rate {ber:g}")


# ------------------------------------------------------------------------------------------------
# section 7: the trained networks deployed on the simulated chip
# ------------------------------------------------------------------------------------------------
def _chip_map_config(ctx: _Ctx, vdd: float, window: float) -> dict:
    p = ctx.preset
    return {**ctx.base_config(), "vdd": vdd, "window": window, "temperature_c": CHIP_TEMPERATURE_C,
            "n_grid": p.chip_grid, "n_mc": p.chip_mc, "amplifiers": p.chip_amplifiers}


def _chip_map_unit(ctx: _Ctx, vdd: float, window: float) -> Any:
    """The chip's read model at (vdd, window, 27 C): the column-amplifier pool of the transient PCSA of
    ``--params`` (each amplifier's sense map over the per-read noise, its mismatch fixed).

    Built by :func:`ternary_rram.experiments.deploy.pool_at` over the device model's resistance range;
    stored as :meth:`AmplifierPool.to_dict <ternary_rram.array.column.AmplifierPool.to_dict>`, so
    ``AmplifierPool.from_dict(unit.values)`` gives back the same pool.
    """
    cfg = _chip_map_config(ctx, vdd, window)

    def compute():

        p = ctx.preset
        pool = pool_at(OperatingPoint.from_celsius(vdd, window, CHIP_TEMPERATURE_C), pcsa=_pcsa(ctx),
                       device_model=ctx.device, n_amplifiers=p.chip_amplifiers, n_grid=p.chip_grid,
                       n_mc=p.chip_mc, seed=ctx.seed)
        return pool.to_dict(), {}

    p = ctx.preset
    return ctx.unit("chip-pool", cfg, compute,
                    f"chip amplifier pool VDD={vdd:g} V, window {window * 1e9:.3g} ns "
                    f"({p.chip_amplifiers} amplifiers x {p.chip_grid}^2 points x {p.chip_mc} noise draws)")


def _chip_deploy_unit(ctx: _Ctx, data: _Data, trained: Any, vdd: float, window: float, sense_map: Any) -> Any:
    """One trained network programmed into the 2T2R arrays and read through the chip at (vdd, window).

    :func:`ternary_rram.experiments.deploy.deploy_record` on the whole test split: devices drawn from
    ``ctx.device``, arrays of :data:`CHIP_ARRAY`, read :data:`CHIP_READS` through the column
    amplifiers of ``sense_map`` (the pool unit of :func:`_chip_map_unit` at the same configuration),
    chip instance ``ctx.seed``. Values: the record of ``deploy_record``
    (accuracy ideal and on chip, errors per layer and type, energy and latency per inference with
    every part) plus ``energy_array`` (sense amplifiers + bit lines, J per inference) and
    ``reads_nonzero`` / ``reads_zero`` (reads of stored +-1 and 0 weights over the evaluation).
    """
    cfg = {"seed": ctx.seed, "folder": trained["folder"], "acc": trained["test_acc"],
           "sense_map": _chip_map_config(ctx, vdd, window), "reads": CHIP_READS, "array": list(CHIP_ARRAY),
           "engine": "float", "batch": CHIP_BATCH}

    def compute():

        model = _load_model(ctx, trained["folder"]).eval()
        x, y = eval_tensors(data.data)
        _, rec = deploy_record(model, AmplifierPool.from_dict(sense_map.values), x, y, device_model=ctx.device,
                               array_shape=CHIP_ARRAY, reads=CHIP_READS, seed=ctx.seed, engine="float",
                               batch_size=CHIP_BATCH)
        parts = rec["energy"]["parts"]
        nonzero = round(sum(lay["weights"] * lay["nonzero_fraction"] for lay in rec["layers"].values()))
        n_reads = int(rec["n_reads"])
        rec["energy_array"] = float(parts["sense"] + parts["bitline"])
        rec["reads_nonzero"] = nonzero * n_reads
        rec["reads_zero"] = (int(rec["n_weights"]) - nonzero) * n_reads
        return rec, {}

    return ctx.unit("chip-deploy", cfg, compute,
                    f"deploying {trained['weights']} VGG width {trained['width']} on the chip at VDD={vdd:g} V")


def _chip_row(rec: Any) -> dict[str, float]:
    """Accuracies, conditional error rates, energies (J) and latency (s) of one chip record."""
    e = rec["errors_total"]
    n_nz, n_z = rec["reads_nonzero"], rec["reads_zero"]
    nan = float("nan")
    en = rec["energy"]
    return {"accuracy_ideal": float(rec["accuracy_ideal"]), "accuracy_chip": float(rec["accuracy_chip"]),
            "p_to_zero": e["to_zero"] / n_nz if n_nz else nan, "p_from_zero": e["from_zero"] / n_z if n_z else nan,
            "p_sign_flip": e["sign_flip"] / n_nz if n_nz else nan,
            "n_to_zero": int(e["to_zero"]), "n_from_zero": int(e["from_zero"]), "n_sign_flip": int(e["sign_flip"]),
            "n_weight_reads": int(e["n_weights"]), "energy_total": float(en["energy_per_inference"]),
            "energy_array": float(rec["energy_array"]),
            "parts": {k: float(en["parts"].get(k, 0.0)) for k in _energy_parts()},
            "senses": int(en["senses_per_inference"]), "latency": float(en["latency_per_inference"])}


def _energy_parts() -> tuple[str, ...]:

    return ENERGY_PARTS


def _fmt_j(e: float) -> str:
    """Energy with an SI prefix (fJ .. mJ)."""
    if not math.isfinite(e):
        return "nan"
    for scale, unit in ((1e-3, "mJ"), (1e-6, "uJ"), (1e-9, "nJ"), (1e-12, "pJ")):
        if abs(e) >= scale:
            return f"{e / scale:.3g} {unit}"
    return f"{e / 1e-15:.3g} fJ"

def _drop_ber(bers: Sequence[float], accs: Sequence[float], clean: float, drop: float) -> float:
    """Error rate where accuracy first falls ``drop`` below ``clean``: linear interpolation of the drop
    in log(rate) between the last grid rate below and the first above (inf if it never does)."""
    prev_b, prev_d = None, 0.0
    for b, a in zip(bers, accs):
        d = clean - a
        if d > drop:
            if prev_b is None or prev_b <= 0 or b <= 0:
                return float(b)
            f = (drop - prev_d) / (d - prev_d)
            return float(math.exp(math.log(prev_b) + f * (math.log(b) - math.log(prev_b))))
        prev_b, prev_d = b, d
    return float("inf")


def _sections_nn(ctx: _Ctx, summary: SenseSummary, data: _Data) -> tuple[list[Section], str]:
    p = ctx.preset
    new_figure, save_figure = _plt()
    out = ctx.out
    kinds = (("binary", "binary"), ("ternary", "binary"), ("float", "float"))
    trained = {(w, k): _train_unit(ctx, data, w, k, a) for w in p.widths for k, a in kinds}
    # --- section 5 -------------------------------------------------------------------------------
    fig, axes = new_figure(1, 1)
    ax = axes[0][0]
    rows5 = []
    for k, a in kinds:
        accs = [trained[(w, k)]["test_acc"] for w in p.widths]
        ax.plot(p.widths, np.array(accs) * 100, marker="o", label=f"{k} weights, {a} activations")
        rows5 += [(w, k, a, trained[(w, k)]["test_acc"]) for w in p.widths]
    ax.set_xscale("log", base=2)
    ax.set_xlabel("width F")
    ax.set_ylabel("test accuracy (%)")
    legend_below(fig, [ax], ncol=1)
    save_figure(fig, out / "fig5_accuracy_width.png")
    _write_csv(out / "fig5_accuracy_width.csv", ("width", "weights", "activations", "test_accuracy"), rows5)
    wmax = max(p.widths)
    acc = {k: trained[(wmax, k)]["test_acc"] for k, _ in kinds}
    wins = sum(trained[(w, "ternary")]["test_acc"] > trained[(w, "binary")]["test_acc"] for w in p.widths)
    claims5 = (
        Claim("Ternary weights give higher accuracy than binary weights at equal width [P1, P2]",
              f"width {wmax}: ternary {acc['ternary'] * 100:.2f} % vs binary {acc['binary'] * 100:.2f} %; ternary "
              f"ahead at {wins} of {len(p.widths)} widths",
              acc["ternary"] > acc["binary"] and wins * 2 > len(p.widths),
              "ternary > binary at the largest width and at more than half of the widths"),
        Claim("Full precision above both (literature prior)",
              f"width {wmax}: full precision {acc['float'] * 100:.2f} %",
              acc["float"] >= max(acc["ternary"], acc["binary"]), "float >= ternary and binary at the largest width"),
    )
    s5 = Section(
        f"Accuracy against width ({data.note})",
        (f"VGG of docs/physics.md section 5 trained for {p.epochs} epoch(s)"
         + (" with one cosine cycle over the run" if p.anneal_within_run else " with the seed recipe")
         + (f", at most {p.max_batches} batches per epoch" if p.max_batches else "")
         + f"; data: {data.note}. Binary activations for binary and ternary weights.",),
        figures=(Figure("fig5_accuracy_width.png", "Test accuracy against width.", ("fig5_accuracy_width.csv",)),),
        claims=claims5)
    # --- section 6 -------------------------------------------------------------------------------
    bers = sorted(p.bers)
    tb, tt = trained[(wmax, "binary")], trained[(wmax, "ternary")]
    acc_b = [_eval_unit(ctx, data, tb, "sign-flip", b)["mean"] for b in bers]
    acc_t = [_eval_unit(ctx, data, tt, "ternary", b)["mean"] for b in bers]
    circuit_ber = max(summary.rates[v].ternary for v in summary.rates if summary.rates[v].ternary <= TERNARY_USED) \
        if any(r.ternary <= TERNARY_USED for r in summary.rates.values()) else summary.rates[summary.vdd_star].ternary
    fig, axes = new_figure(1, 1)
    ax = axes[0][0]
    # Rate 0 has no place on a log axis: the error-free accuracy is a horizontal line instead.
    pos = [i for i, b in enumerate(bers) if b > 0]
    for i, (acc_k, lab, mk) in enumerate(((acc_b, "binary net, sign flips", "o"),
                                          (acc_t, "ternary net, +-1 <-> 0 errors", "s"))):
        ax.semilogx([bers[j] for j in pos], [acc_k[j] * 100 for j in pos], marker=mk, color=f"C{i}", label=lab)
        if 0.0 in bers:
            ax.axhline(acc_k[bers.index(0.0)] * 100, color=f"C{i}", lw=0.8, ls="--",
                       label=f"{lab.split(',')[0]}, no errors")
    if circuit_ber > 0:
        ax.axvline(circuit_ber, color="k", lw=0.6, ls=":", label="the circuit's ternary error rate")
    ax.set_xlabel("injected error rate")
    ax.set_ylabel("test accuracy (%)")
    legend_below(fig, [ax], ncol=2)
    save_figure(fig, out / "fig6_accuracy_errors.png")
    _write_csv(out / "fig6_accuracy_errors.csv", ("error_rate", "binary_sign_flip_acc", "ternary_errors_acc"),
               list(zip(bers, acc_b, acc_t)))
    clean_t, clean_b = tt["test_acc"], tb["test_acc"]
    acc_t_circ = float(np.interp(circuit_ber, bers, acc_t))
    d_b, d_t = _drop_ber(bers, acc_b, clean_b, 0.01), _drop_ber(bers, acc_t, clean_t, 0.01)
    claims6 = (
        Claim("Accuracy flat (within about half a point) under +-1 <-> 0 errors at the rates the circuit produces",
              f"ternary net: {clean_t * 100:.2f} % clean, {acc_t_circ * 100:.2f} % at error rate "
              f"{_fmt_p(circuit_ber)} (the highest ternary error among the VDDs where the scheme is used)",
              clean_t - acc_t_circ <= 0.005, "drop <= 0.5 point at that rate (linear interpolation on the grid)"),
        Claim("Accuracy falls earlier under sign flips (binary) than under ternary errors",
              f"error rate where accuracy has fallen 1 point: binary/sign flips {_fmt_p(d_b)}, ternary {_fmt_p(d_t)}",
              (d_b < d_t) if (math.isfinite(d_b) or math.isfinite(d_t)) else None,
              "binary's 1-point-drop rate below ternary's (drop interpolated linearly in log rate between grid "
              "rates)"),
    )
    s6 = Section(
        "Accuracy against error rate",
        (f"Width {wmax}. Errors drawn at every forward pass ([C]); {p.repeats} draw(s) per point. The dotted line is "
         "the circuit's ternary error rate used in the first claim.",),
        figures=(Figure("fig6_accuracy_errors.png", "Accuracy against injected error rate.",
                        ("fig6_accuracy_errors.csv",)),),
        claims=claims6)
    # --- section 7 -------------------------------------------------------------------------------
    s7 = _section_chip(ctx, summary, data, trained, wmax)
    return [s5, s6, s7], data.note


def _section_chip(ctx: _Ctx, summary: SenseSummary, data: _Data, trained: dict, wmax: int) -> Section:
    """Section 7: the binary and ternary networks of width ``wmax`` on the simulated chip against VDD."""

    p = ctx.preset
    new_figure, save_figure = _plt()
    out = ctx.out
    vdds = sorted(summary.rates, reverse=True)
    window = summary.window
    kinds = ("binary", "ternary")
    maps = {v: _chip_map_unit(ctx, v, window) for v in vdds}
    recs = {k: {v: _chip_deploy_unit(ctx, data, trained[(wmax, k)], v, window, maps[v]) for v in vdds} for k in kinds}
    rows = {k: {v: _chip_row(recs[k][v]) for v in vdds} for k in kinds}
    parts = _energy_parts()
    # --- data ------------------------------------------------------------------------------------
    csv_rows = []
    for k in kinds:
        for v in vdds:
            r = rows[k][v]
            csv_rows.append((k, v, window, r["accuracy_ideal"], r["accuracy_chip"], r["p_to_zero"], r["p_from_zero"],
                             r["p_sign_flip"], r["n_to_zero"], r["n_from_zero"], r["n_sign_flip"], r["n_weight_reads"],
                             r["energy_total"], r["energy_array"], *[r["parts"][q] for q in parts], r["senses"],
                             r["latency"]))
    _write_csv(out / "fig7_deployed.csv",
               ("weights", "vdd_V", "window_s", "accuracy_ideal", "accuracy_chip", "p_pm_to_zero", "p_zero_to_pm",
                "p_sign_flip", "n_pm_to_zero", "n_zero_to_pm", "n_sign_flip", "weight_reads", "energy_per_inference_J",
                "energy_array_J", *[f"energy_{q}_J" for q in parts], "senses_per_inference",
                "latency_per_inference_s"), csv_rows)
    atomic_write_text(out / "fig7_deployed.json", json.dumps(
        {"window_s": window, "vdd_star_V": summary.vdd_star, "temperature_c": CHIP_TEMPERATURE_C,
         "reads": CHIP_READS, "array": list(CHIP_ARRAY),
         "amplifier_pool": {"amplifiers": p.chip_amplifiers, "n_grid": p.chip_grid, "n_mc": p.chip_mc},
         "width": wmax,
         "records": {k: {f"{v:g}": {key: val for key, val in recs[k][v].values.items() if not key.startswith("_")}
                         for v in vdds} for k in kinds}}, indent=1))
    # --- figures ---------------------------------------------------------------------------------
    fig, axes = new_figure(1, 2, width=4.5, height=3.2)
    for i, k in enumerate(kinds):
        axes[0][0].plot(vdds, [rows[k][v]["accuracy_chip"] * 100 for v in vdds], marker="o", color=f"C{i}",
                        label=f"{k} weights, on chip")
        axes[0][0].plot(vdds, [rows[k][v]["accuracy_ideal"] * 100 for v in vdds], ls=":", color=f"C{i}",
                        label=f"{k}, error-free weights")
        axes[0][1].semilogy(vdds, [rows[k][v]["energy_total"] * 1e9 for v in vdds], marker="o", color=f"C{i}",
                            label=f"{k}, whole chip")
        axes[0][1].semilogy(vdds, [rows[k][v]["energy_array"] * 1e9 for v in vdds], marker="s", ls="--",
                            color=f"C{i}", label=f"{k}, array (sense + bit lines)")
    for ax in axes[0]:
        ax.axvline(summary.vdd_star, color="k", lw=0.6, ls=":", label="chosen VDD")
        ax.set_xlabel("VDD (V)")
    legend_below(fig, axes[0], ncol=3)
    axes[0][0].set_ylabel("test accuracy (%)")
    axes[0][1].set_ylabel("energy per inference (nJ)")
    plain_log_ticks(axes[0][1])
    save_figure(fig, out / "fig7_deployed.png")
    v_nom = VDD_NOMINAL if VDD_NOMINAL in vdds else vdds[0]
    vs = summary.vdd_star
    bars = {f"{k} {v:g} V": recs[k][v].values for v in dict.fromkeys((v_nom, vs)) for k in kinds}
    plot_energy_breakdown(bars, out / "fig7b_energy_parts.png",
                          f"energy per inference by part (window {window * 1e9:.3g} ns)")
    # --- claims ----------------------------------------------------------------------------------
    t_star, b_nom, t_nom = rows["ternary"][vs], rows["binary"][v_nom], rows["ternary"][v_nom]
    near = vs < v_nom
    e_ratio = t_star["energy_array"] / b_nom["energy_array"] if b_nom["energy_array"] > 0 else float("nan")

    def share(r: dict) -> float:
        return r["energy_array"] / r["energy_total"] if r["energy_total"] > 0 else float("nan")

    claims7 = (
        Claim("The ternary network needs no error correction at its operating point [P2]",
              f"ternary net on chip at {vs:g} V, {window * 1e9:.3g} ns: {t_star['accuracy_chip'] * 100:.2f} % vs "
              f"{t_star['accuracy_ideal'] * 100:.2f} % with error-free weights; {t_star['n_weight_reads']} weight reads: "
              f"{t_star['n_to_zero']} +-1 -> 0, {t_star['n_from_zero']} 0 -> +-1, {t_star['n_sign_flip']} sign flips",
              t_star["accuracy_ideal"] - t_star["accuracy_chip"] <= 0.005,
              "accuracy with the weights the chip reads >= error-free accuracy - 0.5 point (same test images)"),
        Claim("Near-threshold ternary reading costs less array energy per inference than binary reading at "
              "nominal VDD [P1, P2]",
              f"sense amplifiers + bit lines: ternary at {vs:g} V {_fmt_j(t_star['energy_array'])} vs binary at "
              f"{v_nom:g} V {_fmt_j(b_nom['energy_array'])} (ratio {e_ratio:.2f}); ternary at {v_nom:g} V "
              f"{_fmt_j(t_nom['energy_array'])}",
              (t_star["energy_array"] < b_nom["energy_array"]) if near else None,
              "E_array(ternary, chosen VDD) < E_array(binary, nominal VDD), same network width and sense window "
              "(not tested when the chosen VDD is the nominal one)"),
        Claim("The saving holds for the whole chip, digital periphery included ([P1] 'low power'; the periphery "
              "is our model, ternary_rram.chip.params)",
              f"whole chip: ternary at {vs:g} V {_fmt_j(t_star['energy_total'])} vs binary at {v_nom:g} V "
              f"{_fmt_j(b_nom['energy_total'])}; the array is {share(t_star) * 100:.1f} % and "
              f"{share(b_nom) * 100:.1f} % of it",
              (t_star["energy_total"] < b_nom["energy_total"]) if near else None,
              "E_chip(ternary, chosen VDD) < E_chip(binary, nominal VDD), every part of the chip energy model "
              "(not tested when the chosen VDD is the nominal one)"),
        Claim("Near threshold, the ternary chip is at least as accurate as the binary chip at nominal VDD [P1, P2]",
              f"on chip: ternary at {vs:g} V {t_star['accuracy_chip'] * 100:.2f} % vs binary at {v_nom:g} V "
              f"{b_nom['accuracy_chip'] * 100:.2f} %",
              (t_star["accuracy_chip"] >= b_nom["accuracy_chip"]) if near else None,
              "accuracy on chip, ternary at the chosen VDD >= binary at nominal VDD (not tested when the chosen VDD "
              "is the nominal one)"),
    )
    table_rows = tuple(
        (k, f"{v:g}", f"{rows[k][v]['accuracy_ideal'] * 100:.2f}", f"{rows[k][v]['accuracy_chip'] * 100:.2f}",
         _fmt_p(rows[k][v]["p_to_zero"]), _fmt_p(rows[k][v]["p_from_zero"]), _fmt_p(rows[k][v]["p_sign_flip"]),
         _fmt_j(rows[k][v]["energy_total"]), _fmt_j(rows[k][v]["energy_array"]))
        for k in kinds for v in vdds)
    n_test = int(recs["ternary"][vs]["n_test"])
    return Section(
        "Deployed networks on the chip: accuracy and energy per inference against VDD",
        ((f"The binary and ternary networks of width {wmax} (section 5) are programmed into 2T2R arrays of "
         f"{CHIP_ARRAY[0]} x {CHIP_ARRAY[1]} cells (devices drawn from the device model) and read through the chip "
         f"(ternary_rram.chip, chip instance {ctx.seed}): each column has one sense amplifier whose mismatch is "
         f"fixed, drawn from a pool of {p.chip_amplifiers}; every stored pair is sensed through its amplifier's "
         f"sense map of the transient PCSA at (VDD, the chosen window {window * 1e9:.3g} ns, "
         f"{CHIP_TEMPERATURE_C:g} C, typical corner), {p.chip_grid} x {p.chip_grid} resistance points x "
         f"{p.chip_mc} per-read noise draws per amplifier and VDD, with the device and sense-amplifier parameters "
         "of the rest of this report. Resistances are fixed once programmed (write-verify); the weights are "
         f"sensed at every use, and the evaluation draws fresh read noise per batch of {CHIP_BATCH} test images. Accuracy: the network with the weights the chip "
         f"read, on {n_test} test images; a 0 read from a binary weight contributes nothing, as on the chip. Error rates: "
         "P(read 0 | stored +-1), P(read +-1 | stored 0), P(read -s | stored s) over every weight read."),
         ("Energy per inference: the chip's energy model (ternary_rram.chip.energy): the sense amplifiers and bit "
         "lines, one sense per weight use (the array part), plus the digital periphery (XNOR/popcount counters, "
         "thresholds, activation memory, first and last layer) at its default [D] energies "
         "(src/ternary_rram/chip/params.py). Left out: programming and write-verify (paid once), clock tree, "
         "control, I/O, leakage, word-line drivers and column multiplexers.")),
        figures=(Figure("fig7_deployed.png", "Accuracy on chip (dotted: error-free weights) and energy per inference "
                                             "(whole chip and array part) against VDD; the dotted vertical line is the "
                                             "chosen VDD.", ("fig7_deployed.csv", "fig7_deployed.json")),
                 Figure("fig7b_energy_parts.png", "Energy per inference by part, at nominal and at the chosen VDD.",
                        ("fig7_deployed.csv", "fig7_deployed.json"))),
        tables=(Table(("weights", "VDD (V)", "error-free acc. (%)", "chip acc. (%)", "P(+-1 -> 0)", "P(0 -> +-1)",
                       "P(sign flip)", "E / inference, chip", "E / inference, array"), table_rows,
                      "Deployed networks, per VDD"),),
        claims=claims7)


# ------------------------------------------------------------------------------------------------
# entry point
# ------------------------------------------------------------------------------------------------
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
    data = _load_data(p, Path(data_dir) if data_dir is not None else None, warn) if "nn" in sections else None
    out.mkdir(parents=True, exist_ok=True)
    if p.steps_per_tau is not None:
        pcsa_params = replace(pcsa_params, steps_per_tau=p.steps_per_tau)
    ctx = _Ctx(out=out, preset=p, device=device, pcsa_params=pcsa_params,
               cache=Cache(out / "cache", use_cache, warn=warn),
               seed=seed, log=log or (lambda _m: None), sections=tuple(sections), bars=progress)
    ctx.plan = planned_units(p, ctx.sections)
    ctx.fingerprint = {"device": _jsonable_params(device), "pcsa": _jsonable_params(pcsa_params)}
    all_sections: list[Section] = []
    note = "not run"
    summary = None
    if "sense" in sections or "nn" in sections:
        s, summary = _sections_sense(ctx)
        all_sections += s
    if "nn" in sections and summary is not None:
        s, note = _sections_nn(ctx, summary, data)
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
