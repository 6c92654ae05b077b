"""Fit the device and sense-amplifier parameters to a user's measurements; read and write PARAMS.json.

Two kinds of measurement, each a CSV file (the kind is recognised from its header):

* resistances: columns ``LRS,HRS`` (ohm, one sample per cell, columns may differ in length);
* read-outcome counts: columns ``state,vdd,t_sense,temperature_c,n_plus,n_minus,n_zero``, one row
  per programmed state (-1, 0 or +1, encoding of docs/physics.md section 1.2) and operating point
  (V, s, degrees Celsius), with the number of reads that gave +1, -1 and 0.

Fits (all maximum likelihood, each value with a standard error):

* Device: lognormal median and ln-spread per state from the resistances
  (:func:`ternary_rram.device.fit`, closed form; standard errors from the Fisher information).
* Sense amplifier, from the counts: a ``mismatch_scale`` multiplying the Pelgrom coefficients A_VT of
  every PCSA transistor, and the HRS ln-spread ``hrs_sigma`` (the spread that drives ternary errors,
  docs/physics.md section 3.3). The model probability of each outcome is a Monte Carlo estimate with the transient
  PCSA over devices and mismatch, made with common random numbers: the standard-normal draws are made
  once, so the negative log-likelihood (multinomial) is a deterministic function of the parameters.
  ``hrs_sigma`` enters by importance reweighting of the fixed draws (HRS ln R drawn once from a wider
  proposal, smooth in the parameter); ``mismatch_scale`` multiplies fixed mismatch draws and the
  transient model runs once per value on a grid in ln(scale). The estimate and its covariance come
  from a quadratic fitted to the negative log-likelihood around its minimum
  (covariance = inverse Hessian). When HRS resistances are given too, their lognormal likelihood is
  added, so ``hrs_sigma`` is fitted jointly from both kinds of data.

The reported standard error ``se`` is the curvature one inflated for the Monte Carlo error of the
model probabilities: ``se = se_curv * sqrt(1 + n_reads / n_eff)`` with ``n_reads`` the mean number of
reads per row and ``n_eff`` the mean effective number of Monte Carlo samples per row (first-order
approximation: the model frequencies add variance like a second sample of size ``n_eff``).
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from ternary_rram.chip.params_file import SCHEMA, load_params
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.params import DEFAULT_PCSA
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.circuit.read import CELL_STATES
from ternary_rram.circuit.transforms import scale_mismatch
from ternary_rram.device import DeviceModel, LognormalState, State, read_resistance_csv
from ternary_rram.device import fit as fit_device
from ternary_rram.device import params as DP
from ternary_rram.errors import InputError
from ternary_rram.fileio import atomic_write_text, read_csv_rows

#: Columns of a read-outcome counts file.
COUNT_COLUMNS: tuple[str, ...] = ("state", "vdd", "t_sense", "temperature_c", "n_plus", "n_minus", "n_zero")
#: Columns of a resistance file.
RESISTANCE_COLUMNS: tuple[str, ...] = ("LRS", "HRS")
#: Outcome order used in every (..., 3) array: -1, 0, +1.
OUTCOMES: tuple[int, ...] = (-1, 0, 1)
#: Default grid of ln(mismatch_scale) for the first pass. [D] chosen: scale 0.5 .. 2.
DEFAULT_LN_SCALE_GRID: tuple[float, ...] = tuple(float(x) for x in np.linspace(math.log(0.5), math.log(2.0), 7))
#: Proposal ln-spread of HRS draws relative to the starting hrs_sigma (importance sampling). [D] chosen.
PROPOSAL_FACTOR: float = 1.3


# ------------------------------------------------------------------------------------------------
# measured data
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class OutcomeCounts:
    """Read-outcome counts, one row per (programmed state, operating point).

    Attributes:
        state: programmed ternary value, int64 (M,) in {-1, 0, +1}: +1 = (LRS, HRS) on (BL, BLb),
            -1 = (HRS, LRS), 0 = (HRS, HRS).
        vdd: supply, V, float64 (M,). t_sense: sense window, s, float64 (M,).
        temperature_c: degrees Celsius, float64 (M,).
        counts: reads per outcome, int64 (M, 3) ordered (-1, 0, +1).
    """

    state: np.ndarray
    vdd: np.ndarray
    t_sense: np.ndarray
    temperature_c: np.ndarray
    counts: np.ndarray

    @property
    def n_rows(self) -> int:
        """Number of rows M."""
        return int(self.state.shape[0])

    @property
    def n_reads(self) -> np.ndarray:
        """Reads per row, int64 (M,)."""
        return self.counts.sum(axis=1)


@dataclass(frozen=True, eq=False)
class Measurements:
    """Everything read from the measurement files: resistances and/or counts, and their sources."""

    resistances: dict | None = None
    counts: OutcomeCounts | None = None
    sources: tuple[str, ...] = ()


#: Most reads one counts cell may give: counts stay exact as float64 below 2**53 (~9e15); a
#: measurement campaign has at most ~1e12 reads per row.
COUNT_MAX: int = 10**15


def _read_rows(path: Path) -> list[list[str]]:

    rows = [r for r in read_csv_rows(path) if any(c.strip() for c in r)]
    if not rows:
        raise InputError(f"file={str(path)!r} is not allowed: empty, needs a header")
    return rows


def _parse_state(text: str, where: str) -> int:
    t = text.strip().lower()
    table = {"+1": 1, "1": 1, "-1": -1, "0": 0, "+": 1, "-": -1}
    if t not in table:
        raise InputError(f"{where}: state={text!r} is not allowed: must be -1, 0 or +1")
    return table[t]


def read_counts_csv(path: str | Path) -> OutcomeCounts:
    """Read read-outcome counts (columns :data:`COUNT_COLUMNS`, any order, case-insensitive).

    Raises:
        InputError: missing column, non-numeric / NaN / infinite cell, negative or non-integer count,
            a row with no reads, vdd or t_sense not > 0, no data row.
    """
    p = Path(path)
    rows = _read_rows(p)
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in COUNT_COLUMNS if c not in header]
    if missing:
        raise InputError(f"file={str(p)!r}: missing column(s) {', '.join(missing)}: the header must name "
                         f"{','.join(COUNT_COLUMNS)}")
    idx = {c: header.index(c) for c in COUNT_COLUMNS}
    cols: dict[str, list[float]] = {c: [] for c in COUNT_COLUMNS}
    for line_no, row in enumerate(rows[1:], start=2):
        where = f"file={str(p)!r} line {line_no}"
        if len(row) < len(header):
            raise InputError(f"{where}: {len(row)} cells is not allowed: need {len(header)}")
        cols["state"].append(_parse_state(row[idx["state"]], where))
        for c in COUNT_COLUMNS[1:]:
            cell = row[idx[c]].strip()
            try:
                v = float(cell)
            except ValueError:
                raise InputError(f"{where} column {c}: value {cell!r} is not allowed: must be a number") from None
            if not math.isfinite(v):
                raise InputError(f"{where} column {c}: value {cell!r} is not allowed: must be finite")
            if c.startswith("n_") and (v < 0 or v != int(v) or v > COUNT_MAX):
                raise InputError(f"{where} column {c}: count={cell} is not allowed: must be an integer in "
                                 f"[0, {COUNT_MAX:.0e}]")
            if c in ("vdd", "t_sense") and v <= 0:
                raise InputError(f"{where} column {c}: value {cell} is not allowed: must be > 0")
            cols[c].append(v)
    if not cols["state"]:
        raise InputError(f"file={str(p)!r} is not allowed: no data rows")
    counts = np.stack([np.asarray(cols[c], dtype=np.int64) for c in ("n_minus", "n_zero", "n_plus")], axis=1)
    empty = np.nonzero(counts.sum(axis=1) == 0)[0]
    if empty.size:
        raise InputError(f"file={str(p)!r} line {int(empty[0]) + 2}: 0 reads is not allowed: a row needs "
                         "n_plus + n_minus + n_zero > 0")
    return OutcomeCounts(state=np.asarray(cols["state"], dtype=np.int64),
                         vdd=np.asarray(cols["vdd"], dtype=np.float64),
                         t_sense=np.asarray(cols["t_sense"], dtype=np.float64),
                         temperature_c=np.asarray(cols["temperature_c"], dtype=np.float64), counts=counts)


def write_counts_csv(path: str | Path, counts: OutcomeCounts) -> None:
    """Write counts in the format :func:`read_counts_csv` reads."""
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COUNT_COLUMNS)
        for i in range(counts.n_rows):
            s = int(counts.state[i])
            w.writerow([f"{s:+d}" if s else "0", f"{counts.vdd[i]:.6g}", f"{counts.t_sense[i]:.6g}",
                        f"{counts.temperature_c[i]:.6g}", int(counts.counts[i, 2]), int(counts.counts[i, 0]),
                        int(counts.counts[i, 1])])


def file_kind(path: str | Path) -> str:
    """"resistances" or "counts", from the header of a CSV file; InputError for anything else."""
    p = Path(path)
    header = {h.strip().lower() for h in _read_rows(p)[0]}
    if header and header <= {"lrs", "hrs"}:
        return "resistances"
    if "state" in header or header & {"n_plus", "n_minus", "n_zero"}:
        return "counts"
    raise InputError(f"file={str(p)!r}: header {sorted(header)} is not allowed: expected 'LRS,HRS' "
                     f"(resistances) or '{','.join(COUNT_COLUMNS)}' (read-outcome counts)")


def read_measurements(paths: Sequence[str | Path]) -> Measurements:
    """Read one or more measurement files (at most one of each kind)."""

    res, counts = None, None
    for path in paths:
        kind = file_kind(path)
        if kind == "resistances":
            if res is not None:
                raise InputError(f"file={str(path)!r} is not allowed: a second resistance file")
            res = read_resistance_csv(path)
        else:
            if counts is not None:
                raise InputError(f"file={str(path)!r} is not allowed: a second counts file")
            counts = read_counts_csv(path)
    if res is None and counts is None:
        raise InputError("measured files are not allowed: none given")
    return Measurements(resistances=res, counts=counts, sources=tuple(str(p) for p in paths))


# ------------------------------------------------------------------------------------------------
# results
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FittedValue:
    """A fitted parameter: value, standard error, unit, how it was obtained."""

    name: str
    value: float
    se: float
    unit: str
    method: str

    def as_dict(self) -> dict:
        """JSON form."""
        return {"value": self.value, "se": self.se, "unit": self.unit, "method": self.method}


@dataclass(frozen=True, eq=False)
class SenseFit:
    """Result of :func:`fit_sense`.

    Attributes:
        values: fitted parameters (``mismatch_scale``, ``hrs_sigma`` where fitted).
        nll: negative log-likelihood at the estimate (counts part, plus resistances when joint).
        deviance: 2 * (NLL - NLL of the saturated model), counts part only.
        dof: number of independent count cells minus fitted parameters.
        predicted: model probabilities at the estimate, (M, 3) ordered (-1, 0, +1).
        n_mc: Monte Carlo samples per row; n_eff: mean effective samples per row (importance weights).
        covariance: covariance of the fitted values (curvature only), in their order.
    """

    values: tuple[FittedValue, ...]
    nll: float
    deviance: float
    dof: int
    predicted: np.ndarray
    n_mc: int
    n_eff: float
    covariance: np.ndarray
    transient_passes: int = 0

    def __getitem__(self, name: str) -> FittedValue:
        for v in self.values:
            if v.name == name:
                return v
        raise KeyError(name)


# ------------------------------------------------------------------------------------------------
# sense-amplifier fit
# ------------------------------------------------------------------------------------------------
class _CountsModel:
    """Deterministic (common random numbers) model of the outcome probabilities of every row."""

    def __init__(self, counts: OutcomeCounts, device: DeviceModel, pcsa_params, *, n_mc: int,
                 hrs_sigma_proposal: float, seed: int, dt: float | None = None) -> None:

        self.counts, self.device, self.pcsa_params, self.n_mc, self.dt = counts, device, pcsa_params, n_mc, dt
        self.s_prop = hrs_sigma_proposal
        gen = torch.Generator().manual_seed(seed)
        m = counts.n_rows
        self.z_bl = torch.randn((m, n_mc), generator=gen, dtype=torch.float64).numpy()
        self.z_blb = torch.randn((m, n_mc), generator=gen, dtype=torch.float64).numpy()
        base = PCSA(pcsa_params)
        self.mismatch = [base.sample_mismatch(n_mc, gen) for _ in range(m)]
        mu_l, mu_h = device.lrs.mu, device.hrs.mu
        sig_l = device.lrs.sigma
        self.ln_r = np.empty((2, m, n_mc))
        self.hrs_mask = np.zeros((2, m), dtype=bool)
        for i, s in enumerate(counts.state):
            for side, z in enumerate((self.z_bl[i], self.z_blb[i])):
                lrs = CELL_STATES[int(s)][side] is State.LRS
                self.hrs_mask[side, i] = not lrs
                self.ln_r[side, i] = (mu_l + sig_l * z) if lrs else (mu_h + self.s_prop * z)
        self._outcomes: dict[float, np.ndarray] = {}

    def outcomes(self, ln_scale: float) -> np.ndarray:
        """Sensed values (M, n_mc) int8 at a mismatch scale exp(ln_scale) (cached per value)."""
        key = round(float(ln_scale), 12)
        if key not in self._outcomes:

            pcsa = PCSA(self.pcsa_params)
            scale = math.exp(ln_scale)
            out = np.empty((self.counts.n_rows, self.n_mc), dtype=np.int8)
            for i in range(self.counts.n_rows):
                op = OperatingPoint.from_celsius(float(self.counts.vdd[i]), float(self.counts.t_sense[i]),
                                                 float(self.counts.temperature_c[i]))
                r_bl = torch.from_numpy(np.exp(self.ln_r[0, i]))
                r_blb = torch.from_numpy(np.exp(self.ln_r[1, i]))
                kw = {} if self.dt is None else {"dt": self.dt}
                res = pcsa.sense(r_bl, r_blb, op, dvth=self.mismatch[i] * scale, **kw)
                out[i] = res.value.detach().cpu().numpy().astype(np.int8)
            self._outcomes[key] = out
        return self._outcomes[key]

    def log_weights(self, hrs_sigma: float) -> np.ndarray:
        """Importance log-weights (M, n_mc) of the fixed draws for an HRS ln-spread ``hrs_sigma``."""
        r = self.s_prop / hrs_sigma
        lw = np.zeros((self.counts.n_rows, self.n_mc))
        for side, z in enumerate((self.z_bl, self.z_blb)):
            term = math.log(r) - 0.5 * (r * z) ** 2 + 0.5 * z ** 2
            lw += np.where(self.hrs_mask[side][:, None], term, 0.0)
        return lw

    def probabilities(self, ln_scale: float, hrs_sigma: float) -> tuple[np.ndarray, np.ndarray]:
        """Model probabilities (M, 3) ordered (-1, 0, +1) and effective sample sizes (M,)."""
        out = self.outcomes(ln_scale)
        lw = self.log_weights(hrs_sigma)
        w = np.exp(lw - lw.max(axis=1, keepdims=True))
        wsum = w.sum(axis=1)
        p = np.stack([(w * (out == k)).sum(axis=1) for k in OUTCOMES], axis=1) / wsum[:, None]
        n_eff = wsum ** 2 / (w ** 2).sum(axis=1)
        # keep every outcome possible: mix with a uniform floor of half a sample
        eps = 0.5 / (n_eff + 1.5)
        p = (1 - 3 * eps[:, None]) * p + eps[:, None]
        return p, n_eff

    def nll(self, ln_scale: float, hrs_sigma: float) -> float:
        """Multinomial negative log-likelihood of the counts (constant terms dropped)."""
        p, _ = self.probabilities(ln_scale, hrs_sigma)
        return float(-(self.counts.counts * np.log(p)).sum())


def _resistance_nll(ln_r: np.ndarray | None, mu: float, sigma: float) -> float:
    """Lognormal NLL of HRS resistances (ln R given) at (mu, sigma), constants dropped."""
    if ln_r is None or ln_r.size == 0:
        return 0.0
    return float(ln_r.size * math.log(sigma) + ((ln_r - mu) ** 2).sum() / (2 * sigma ** 2))


def _saturated_nll(counts: np.ndarray) -> float:
    n = counts.sum(axis=1, keepdims=True)
    f = np.where(counts > 0, counts / n, 1.0)
    return float(-(counts * np.log(f)).sum())


def _quadratic_fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares quadratic y ~ c + g.x + 0.5 x^T H x over points x (K, d); returns (vertex, H)."""
    k, d = x.shape
    cols = [np.ones(k)] + [x[:, i] for i in range(d)]
    pairs = [(i, j) for i in range(d) for j in range(i, d)]
    cols += [x[:, i] * x[:, j] for i, j in pairs]
    a = np.stack(cols, axis=1)
    coef, *_ = np.linalg.lstsq(a, y, rcond=None)
    g = coef[1:1 + d]
    h = np.zeros((d, d))
    for c, (i, j) in zip(coef[1 + d:], pairs):
        if i == j:
            h[i, i] = 2 * c
        else:
            h[i, j] = h[j, i] = c
    try:
        vertex = -np.linalg.solve(h, g)
    except np.linalg.LinAlgError:
        vertex = np.full(d, np.nan)
    return vertex, h


def _minimise_sigma(f: Callable[[float], float], lo: float, hi: float) -> float:
    """Minimise a smooth 1-D function of sigma on [lo, hi] (bounded Brent on ln sigma)."""

    res = minimize_scalar(lambda t: f(math.exp(t)), bounds=(math.log(lo), math.log(hi)), method="bounded",
                          options={"xatol": 1e-4})
    return math.exp(float(res.x))


def fit_sense(counts: OutcomeCounts, device: DeviceModel | None = None, pcsa_params=None, *,
              fit_mismatch: bool = True, fit_hrs_sigma: bool = True,
              hrs_resistances: np.ndarray | None = None, n_mc: int = 2000, seed: int = 0,
              ln_scale_grid: Sequence[float] = DEFAULT_LN_SCALE_GRID, dt: float | None = None,
              progress: Callable[[str], None] | None = None) -> SenseFit:
    """Fit ``mismatch_scale`` and/or ``hrs_sigma`` to read-outcome counts (see the module docstring).

    Args:
        counts: the measured counts (M rows).
        device: device model giving the LRS statistics, the HRS median and the starting HRS spread.
        pcsa_params: sense-amplifier parameters at mismatch_scale = 1 (default: circuit defaults).
        fit_mismatch / fit_hrs_sigma: which parameters to fit (at least one).
        hrs_resistances: measured HRS resistances (ohm) to fit ``hrs_sigma`` jointly, or None.
        n_mc: Monte Carlo samples per row. seed: seed of the common random numbers.
        ln_scale_grid: first-pass grid of ln(mismatch_scale) (the second pass refines around the minimum).
        dt: time step of the transient model (s), None for its default.
        progress: optional callback receiving one-line progress messages.

    Returns:
        :class:`SenseFit`.
    """

    if not (fit_mismatch or fit_hrs_sigma):
        raise InputError("fit is not allowed: choose at least one of mismatch_scale, hrs_sigma")
    if int(n_mc) < 50:
        raise InputError(f"n_mc={n_mc!r} is not allowed: must be >= 50")
    device = device if device is not None else DeviceModel()
    pcsa_params = pcsa_params if pcsa_params is not None else DEFAULT_PCSA
    say = progress or (lambda _msg: None)
    sigma0 = device.hrs.sigma
    model = _CountsModel(counts, device, pcsa_params, n_mc=int(n_mc), seed=seed, dt=dt,
                         hrs_sigma_proposal=PROPOSAL_FACTOR * sigma0)
    ln_r_hrs = None if hrs_resistances is None else np.log(np.asarray(hrs_resistances, dtype=np.float64))
    mu_h = device.hrs.mu
    s_lo, s_hi = 0.35 * model.s_prop, 1.35 * model.s_prop  # importance weights stay usable in between

    def total(ln_s: float, sig: float) -> float:
        return model.nll(ln_s, sig) + _resistance_nll(ln_r_hrs, mu_h, sig)

    def profile(ln_s: float) -> tuple[float, float]:
        if not fit_hrs_sigma:
            return total(ln_s, sigma0), sigma0
        sig = _minimise_sigma(lambda s: total(ln_s, s), s_lo, s_hi)
        return total(ln_s, sig), sig

    names: list[str] = []
    if fit_mismatch:
        names.append("mismatch_scale")
    if fit_hrs_sigma:
        names.append("hrs_sigma")

    if fit_mismatch:
        grid = sorted(float(g) for g in ln_scale_grid)
        prof: dict[float, tuple[float, float]] = {}
        for _ in range(6):  # extend the grid until the minimum is inside
            for g in grid:
                if g not in prof:
                    say(f"mismatch_scale={math.exp(g):.3g}: transient Monte Carlo over {counts.n_rows} rows")
                    prof[g] = profile(g)
            best = min(prof, key=lambda g: prof[g][0])
            step = grid[1] - grid[0]
            if best == min(prof):
                grid = [best - 2 * step, best - step] + grid
            elif best == max(prof):
                grid = grid + [best + step, best + 2 * step]
            else:
                break
        # second pass: finer points around the best grid value
        best = min(prof, key=lambda g: prof[g][0])
        step = sorted(prof)[1] - sorted(prof)[0]
        for g in (best - step / 2, best + step / 2):
            if g not in prof:
                prof[g] = profile(g)
        keys = np.array(sorted(prof))
        vals = np.array([prof[k][0] for k in keys])
        near = np.argsort(vals)[:5]
        pts_x, pts_y = [], []
        for k in keys[near]:
            if fit_hrs_sigma:
                sig_hat = prof[k][1]
                for f in (0.85, 0.93, 1.0, 1.07, 1.15):
                    s = min(max(sig_hat * f, s_lo), s_hi)
                    pts_x.append((k, s))
                    pts_y.append(total(k, s))
            else:
                pts_x.append((k,))
                pts_y.append(prof[k][0])
        vertex, h = _quadratic_fit(np.array(pts_x), np.array(pts_y))
        ln_s_hat = float(vertex[0])
        lo_k, hi_k = float(keys.min()), float(keys.max())
        if not (math.isfinite(ln_s_hat) and lo_k <= ln_s_hat <= hi_k) or h[0, 0] <= 0:
            ln_s_hat = float(keys[near[0]])  # fall back on the best grid point
        sig_hat = prof[min(prof, key=lambda g: abs(g - ln_s_hat))][1] if fit_hrs_sigma else sigma0
        if fit_hrs_sigma:
            sig_hat = float(vertex[1]) if math.isfinite(vertex[1]) and s_lo <= vertex[1] <= s_hi else sig_hat
    else:
        ln_s_hat = 0.0
        sig_hat = _minimise_sigma(lambda s: total(0.0, s), s_lo, s_hi)
        hstep = 0.02 * sig_hat
        f0, fp, fm = total(0.0, sig_hat), total(0.0, sig_hat + hstep), total(0.0, sig_hat - hstep)
        h = np.array([[(fp - 2 * f0 + fm) / hstep ** 2]])

    try:
        cov = np.linalg.inv(h)
        if np.any(np.diag(cov) <= 0):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        cov = np.full_like(h, np.nan)
    p_hat, n_eff = model.probabilities(ln_s_hat, sig_hat)
    nll_counts = model.nll(ln_s_hat, sig_hat)
    n_reads_mean = float(counts.n_reads.mean())
    inflate = math.sqrt(1.0 + n_reads_mean / float(n_eff.mean()))
    values: list[FittedValue] = []
    for i, name in enumerate(names):
        se_curv = float(math.sqrt(cov[i, i])) if math.isfinite(cov[i, i]) else float("nan")
        if name == "mismatch_scale":
            s_hat = math.exp(ln_s_hat)
            values.append(FittedValue(name, s_hat, s_hat * se_curv * inflate, "1",
                                      "multinomial ML on read-outcome counts, transient PCSA Monte Carlo "
                                      "with common random numbers; se from the NLL curvature (delta method) "
                                      "inflated for Monte Carlo error"))
        else:
            values.append(FittedValue(name, sig_hat, se_curv * inflate, "ln(ohm)",
                                      "multinomial ML on read-outcome counts (importance-reweighted common "
                                      "random numbers)" + (" jointly with the HRS resistance likelihood"
                                                           if ln_r_hrs is not None else "")
                                      + "; se from the NLL curvature inflated for Monte Carlo error"))
    n_free = counts.n_rows * 2 - len(names)
    return SenseFit(values=tuple(values), nll=total(ln_s_hat, sig_hat),
                    deviance=2 * (nll_counts - _saturated_nll(counts.counts)), dof=int(n_free),
                    predicted=p_hat, n_mc=int(n_mc), n_eff=float(n_eff.mean()), covariance=cov,
                    transient_passes=len(model._outcomes))


# ------------------------------------------------------------------------------------------------
# the whole calibration and PARAMS.json
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Calibration:
    """Result of :func:`calibrate`: fitted models and the JSON document written to PARAMS.json."""

    device: DeviceModel
    pcsa_params: object
    document: dict = field(default_factory=dict)


def _device_block(device: DeviceModel) -> dict:
    out = {}
    for name, st in (("LRS", device.lrs), ("HRS", device.hrs)):
        out[name] = {"median": st.median, "sigma": st.sigma,
                     "d2d_fraction": (st.sigma_d2d ** 2 / st.sigma ** 2) if st.sigma > 0 else DP.D2D_VARIANCE_FRACTION}
    rel = device.relaxation
    out["relaxation"] = {"k_hrs": rel.k_hrs, "k_lrs": rel.k_lrs, "tau": rel.tau}
    return out


def calibrate(measurements: Measurements, *, pcsa_params=None, base_device: DeviceModel | None = None,
              fit_mismatch: bool = True, fit_hrs_sigma: bool = True, n_mc: int = 2000, seed: int = 0,
              dt: float | None = None, progress: Callable[[str], None] | None = None) -> Calibration:
    """Fit everything the measurements allow and build the PARAMS.json document.

    Resistances -> device medians and spreads (closed-form ML). Counts -> ``mismatch_scale`` and
    ``hrs_sigma`` (joint with the HRS resistances when both are given). The HRS median and the LRS
    statistics used by the counts fit come from the resistances, else from ``base_device``.
    """

    pcsa_params = pcsa_params if pcsa_params is not None else DEFAULT_PCSA
    device = base_device if base_device is not None else DeviceModel()
    fitted: dict[str, dict] = {}
    goodness: dict[str, dict] = {}
    if measurements.resistances is not None:
        fr = fit_device(measurements.resistances, base=device)
        device = fr.model
        if device.hrs.median <= device.lrs.median:
            raise InputError(f"measured resistances are not allowed: the HRS median {device.hrs.median:.4g} ohm "
                             f"does not exceed the LRS median {device.lrs.median:.4g} ohm (columns swapped?)")
        for st in ("LRS", "HRS"):
            sf = fr[st]
            fitted[f"device.{st}.median"] = FittedValue(f"{st}.median", sf.median, sf.median_se, "ohm",
                                                        "lognormal ML, se from Fisher information").as_dict()
            fitted[f"device.{st}.sigma"] = FittedValue(f"{st}.sigma", sf.sigma, sf.sigma_se, "ln(ohm)",
                                                       "lognormal ML, se from Fisher information").as_dict()
            goodness[f"device.{st}"] = {"n": sf.n, "ks_statistic": sf.ks_statistic, "ks_pvalue": sf.ks_pvalue}
    scale = 1.0
    if measurements.counts is not None:
        hrs = None if measurements.resistances is None else measurements.resistances["HRS"]
        sf = fit_sense(measurements.counts, device, pcsa_params, fit_mismatch=fit_mismatch,
                       fit_hrs_sigma=fit_hrs_sigma, hrs_resistances=hrs, n_mc=n_mc, seed=seed, dt=dt,
                       progress=progress)
        for v in sf.values:
            key = "pcsa.mismatch_scale" if v.name == "mismatch_scale" else "device.HRS.sigma"
            fitted[key] = v.as_dict()
        if fit_hrs_sigma:
            hs = sf["hrs_sigma"].value
            frac = (device.hrs.sigma_d2d ** 2 / device.hrs.sigma ** 2 if device.hrs.sigma > 0
                    else DP.D2D_VARIANCE_FRACTION)
            device = replace(device, hrs=LognormalState.from_total(device.hrs.median, hs, frac))
        if fit_mismatch:
            scale = sf["mismatch_scale"].value
        goodness["counts"] = {"rows": measurements.counts.n_rows, "reads": int(measurements.counts.n_reads.sum()),
                              "deviance": sf.deviance, "dof": sf.dof, "n_mc": sf.n_mc, "n_eff": sf.n_eff,
                              "transient_passes": sf.transient_passes,
                              "predicted": sf.predicted.tolist()}
    fitted_pcsa = scale_mismatch(pcsa_params, scale)
    doc = {
        "schema": SCHEMA,
        "created_utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sources": list(measurements.sources),
        "device": _device_block(device),
        "pcsa": {"mismatch_scale": scale, "a_vt_nmos": fitted_pcsa.nmos.a_vt, "a_vt_pmos": fitted_pcsa.pmos.a_vt},
        "fit": fitted,
        "goodness": goodness,
    }
    return Calibration(device=device, pcsa_params=fitted_pcsa, document=doc)


def write_params(path: str | Path, calibration: Calibration) -> Path:
    """Write PARAMS.json atomically."""

    p = Path(path)
    atomic_write_text(p, json.dumps(calibration.document, indent=2, sort_keys=False))
    return p


def calibrate_files(measured: Sequence[str | Path], out: str | Path, *, params: str | Path | None = None,
                    fit: str = "both", n_mc: int = 2000, seed: int = 0,
                    progress: Callable[[str], None] | None = None) -> tuple[Calibration, Path]:
    """``ternary-rram calibrate --measured``: read the measurement files, fit (``fit``: "both", "mismatch" or
    "hrs-sigma") starting from ``params`` (a PARAMS.json; None: the defaults) and write PARAMS.json to ``out``.

    Returns the calibration and the file written."""
    if fit not in ("both", "mismatch", "hrs-sigma"):
        raise InputError(f"fit={fit!r} is not allowed: must be 'both', 'mismatch' or 'hrs-sigma'")
    meas = read_measurements(measured)
    device, pcsa = (None, None) if params is None else load_params(params)
    cal = calibrate(meas, pcsa_params=pcsa, base_device=device, fit_mismatch=fit in ("both", "mismatch"),
                    fit_hrs_sigma=fit in ("both", "hrs-sigma"), n_mc=n_mc, seed=seed, progress=progress)
    return cal, write_params(out, cal)
