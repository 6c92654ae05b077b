"""Fit the lognormal device model to measured resistances by maximum likelihood.

For a lognormal sample the maximum-likelihood estimates are mu = mean(ln R) and
sigma = sqrt(mean((ln R - mu)^2)) (the 1/n variance); median = exp(mu). Standard errors from the
Fisher information: se(mu) = sigma / sqrt(n), se(sigma) = sigma / sqrt(2 n), and by the delta method
se(median) = median * se(mu).

Goodness of fit: the one-sample Kolmogorov-Smirnov test of ln R against N(mu, sigma^2). Because mu
and sigma are estimated from the same data the reported p-value is conservative (too large; the
Lilliefors correction would lower it); the statistic itself is exact.

A single measured sample cannot separate the device-to-device and cycle-to-cycle parts; the fitted
model splits the variance with ``d2d_fraction`` (default: the model default).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy import stats as sstats

from ternary_rram.device import params as P
from ternary_rram.device.model import DeviceModel, LognormalState, Relaxation, State, as_state
from ternary_rram.errors import InputError, check_range
from ternary_rram.fileio import read_csv_rows


@dataclass(frozen=True)
class StateFit:
    """Fit of one state.

    Attributes:
        n: number of samples.
        median: fitted median, ohm; ``median_se`` its standard error, ohm.
        sigma: fitted ln-spread; ``sigma_se`` its standard error.
        mu: fitted mean of ln R; ``mu_se`` its standard error.
        ks_statistic: Kolmogorov-Smirnov statistic of ln R against the fitted normal.
        ks_pvalue: its p-value (conservative: parameters estimated from the same data).
    """

    n: int
    median: float
    median_se: float
    sigma: float
    sigma_se: float
    mu: float
    mu_se: float
    ks_statistic: float
    ks_pvalue: float


@dataclass(frozen=True)
class FitResult:
    """Result of :func:`fit`: the fitted model and the per-state fits (keyed by :class:`State`)."""

    model: DeviceModel
    states: dict = field(default_factory=dict)

    def __getitem__(self, state: State | str) -> StateFit:
        return self.states[as_state(state)]


def _clean(name: str, values: object) -> np.ndarray:
    """1-D float64 array of positive finite resistances, else InputError naming ``name``."""
    try:
        x = np.asarray(values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else values,
                       dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InputError(f"{name}: resistance samples are not allowed: must be numbers in ohm") from None
    if np.isnan(x).any():
        raise InputError(f"{name}: NaN resistance is not allowed: must be finite and > 0 ohm")
    bad = x[~np.isfinite(x) | (x <= 0)]
    if bad.size:
        raise InputError(f"{name}: resistance={float(bad[0])!r} is not allowed: must be finite and > 0 ohm")
    if x.size < 2:
        raise InputError(f"{name}: {x.size} sample(s) is not allowed: need at least 2 resistances")
    return x


def fit_state(samples: object, name: str = "samples") -> StateFit:
    """Maximum-likelihood lognormal fit of one state's resistances (ohm, array-like)."""
    x = _clean(name, samples)
    ln_x = np.log(x)
    n = ln_x.size
    mu = float(ln_x.mean())
    sigma = float(math.sqrt(np.mean((ln_x - mu) ** 2)))
    if sigma <= 0.0:
        raise InputError(f"{name}: all {n} resistances equal is not allowed: need a non-zero spread")
    ks = sstats.kstest(ln_x, "norm", args=(mu, sigma))
    mu_se = sigma / math.sqrt(n)
    median = math.exp(mu)
    return StateFit(n=n, median=median, median_se=median * mu_se, sigma=sigma,
                    sigma_se=sigma / math.sqrt(2 * n), mu=mu, mu_se=mu_se,
                    ks_statistic=float(ks.statistic), ks_pvalue=float(ks.pvalue))


def fit(samples: Mapping, *, base: DeviceModel | None = None,
        d2d_fraction: float = P.D2D_VARIANCE_FRACTION) -> FitResult:
    """Fit the device model to measured resistances.

    Args:
        samples: state ("LRS"/"HRS" or :class:`State`) -> resistances in ohm (array-like, >= 2 each).
            A state left out keeps its statistics from ``base``.
        base: model supplying the missing state and the relaxation (default: :class:`DeviceModel()`).
        d2d_fraction: share of the fitted ln-variance given to the device-to-device part.

    Returns:
        :class:`FitResult` with the fitted :class:`DeviceModel` (``programming=None``) and per-state fits.
    """
    check_range("d2d_fraction", d2d_fraction, 0.0, 1.0)
    if not isinstance(samples, Mapping) or len(samples) == 0:
        raise InputError("samples is not allowed: must be a non-empty dict state -> resistances "
                         "with states 'LRS', 'HRS'")
    base = base if base is not None else DeviceModel()
    fits: dict[State, StateFit] = {}
    for key, values in samples.items():
        state = as_state(key)
        fits[state] = fit_state(values, name=f"state {state.value}")
    stats: dict[State, LognormalState] = {}
    for state in State:
        if state in fits:
            f = fits[state]
            stats[state] = LognormalState.from_total(f.median, f.sigma, d2d_fraction)
        else:
            stats[state] = base.stats(state)
    relax = base.relaxation if isinstance(base.relaxation, Relaxation) else Relaxation()
    model = DeviceModel(lrs=stats[State.LRS], hrs=stats[State.HRS], relaxation=relax, programming=None)
    return FitResult(model=model, states=fits)


def read_resistance_csv(path: str | Path) -> dict[str, np.ndarray]:
    """Read measured resistances from a CSV file.

    The header names one column per state, ``LRS,HRS`` (any order, case-insensitive); values in ohm;
    columns may differ in length (empty cells are skipped).

    Returns:
        {"LRS": float64 (n_lrs,), "HRS": float64 (n_hrs,)}.

    Raises:
        InputError: missing file or column, unknown column, a non-numeric, NaN or non-positive cell,
            fewer than 2 values in a column.
    """

    p = Path(path)
    rows = read_csv_rows(p)  # one-line InputError: unreadable, not UTF-8, huge, over-long cell
    if not rows:
        raise InputError(f"file={str(p)!r} is not allowed: empty, must have a header 'LRS,HRS'")
    header = [h.strip().upper() for h in rows[0]]
    allowed = {s.value for s in State}
    for h in header:
        if h not in allowed:
            raise InputError(f"file={str(p)!r}: column {h!r} is not allowed: columns must be 'LRS', 'HRS'")
    for s in State:
        if s.value not in header:
            raise InputError(f"file={str(p)!r}: missing column {s.value!r}: the header must name 'LRS,HRS'")
    if len(set(header)) != len(header):
        raise InputError(f"file={str(p)!r}: repeated column in header {rows[0]!r} is not allowed")
    out: dict[str, list[float]] = {h: [] for h in header}
    for line_no, row in enumerate(rows[1:], start=2):
        for j, cell in enumerate(row):
            if j >= len(header):
                if cell.strip():
                    raise InputError(f"file={str(p)!r} line {line_no}: value {cell!r} beyond the header "
                                     "is not allowed")
                continue
            c = cell.strip()
            if not c:
                continue
            try:
                v = float(c)
            except ValueError:
                raise InputError(f"file={str(p)!r} line {line_no} column {header[j]}: value {c!r} is not "
                                 "allowed: must be a resistance in ohm") from None
            if not (math.isfinite(v) and P.RESISTANCE_MIN <= v <= P.RESISTANCE_MAX):
                raise InputError(f"file={str(p)!r} line {line_no} column {header[j]}: resistance={c} is "
                                 f"not allowed: must lie in [{P.RESISTANCE_MIN:g}, {P.RESISTANCE_MAX:g}] ohm")
            out[header[j]].append(v)
    for h, vals in out.items():
        if len(vals) < 2:
            raise InputError(f"file={str(p)!r} column {h}: {len(vals)} value(s) is not allowed: "
                             "need at least 2 resistances")
    return {h: np.asarray(out[h], dtype=np.float64) for h in (State.LRS.value, State.HRS.value)}
