"""Sense map: tabulated read-outcome probabilities of the PCSA, the fast path for millions of reads.

A :class:`SenseMap` holds, for ONE operating point (VDD, sense window, temperature), the
probabilities P(-1), P(0), P(+1) of the sensed value over a log grid of resistance pairs
(R_bl, R_blb), plus the mean energy drawn per sense and the mean decision time at each grid point.
The grid is uniform in (ln R_bl, ln R_blb) over [ln r_min, ln r_max] on both axes. It is built either

* by Monte Carlo over transistor mismatch with the transient PCSA (:meth:`SenseMap.from_pcsa`), or
* from measured read-outcome counts per resistance pair (:meth:`SenseMap.from_counts`,
  :func:`read_counts_csv`),

and then evaluated for any number of device pairs at once:

* :meth:`SenseMap.probabilities` -> (N, 3) ordered (-1, 0, +1), bilinear in (ln R_bl, ln R_blb);
* :meth:`SenseMap.sample` -> int8 (N,), one uniform draw per pair against the cumulative
  probabilities (P(-1), P(-1) + P(0));
* :meth:`SenseMap.energy_per_sense` (J) and :meth:`SenseMap.t_decide_mean` (s), same interpolation.

Outside the grid each coordinate is clamped to the edge: a device below ``r_min`` (above ``r_max``)
is read as if it had ``r_min`` (``r_max``). Choose the range to cover the device distributions.

Accuracy: the outcome changes sharply with the resistance of the faster branch (whether it decides
within the window) and with the imbalance near R_bl = R_blb; bilinear interpolation smears such a
step over one grid cell, so the error of a probability averaged over device distributions is about
(density of devices at the step) x (grid step) / 2. With the default HRS spread, steps of about
0.1 in ln R keep it near 1 %; ``docs/benchmarks.md`` records a measured comparison.

Value convention (architecture.md): +1 = (LRS, HRS) on (BL, BLb).
Storage: JSON or NPZ (no pickle), chosen by the file suffix in :meth:`save` / :meth:`load`.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator

from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.errors import InputError
from ternary_rram.fileio import atomic_write_bytes, atomic_write_with

#: Default grid range, ohm: [D] chosen to cover LRS ~5 kohm and HRS 0.1-1 Mohm to beyond 4 sigma.
DEFAULT_R_MIN: float = 2e3
DEFAULT_R_MAX: float = 2e7
#: Default points per axis. [D] chosen: step 0.1 in ln R (see the accuracy note above).
DEFAULT_N_GRID: int = 93
#: Default Monte Carlo samples (mismatch draws) per grid point. [D] chosen: the noise of a probability
#: averaged over a device distribution falls with the number of cells it covers, not only with n_mc.
DEFAULT_N_MC: int = 64
#: Required CSV columns of read-outcome counts.
COUNT_COLUMNS: tuple[str, ...] = ("r_bl", "r_blb", "n_minus", "n_zero", "n_plus",
                                  "vdd", "t_sense", "temperature_c")
#: Senses per call of ``PCSA.sense`` in :meth:`SenseMap.from_pcsa` (memory bound). [D] chosen.
DEFAULT_BATCH: int = 1 << 18
#: Pairs evaluated per chunk in :meth:`SenseMap.sample` (keeps the working set in cache).
_SAMPLE_CHUNK: int = 1 << 20


# ------------------------------------------------------------------------------------------------
# measured counts
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CountsTable:
    """Measured read-outcome counts at one operating point.

    Attributes:
        r_bl, r_blb: resistance of the BL and BLb devices, ohm, float64 (M,), > 0.
        n_minus, n_zero, n_plus: number of reads that gave -1, 0, +1, int64 (M,), >= 0, sum > 0.
        vdd: supply, V. t_sense: sense window, s. temperature_c: temperature, degrees Celsius.
    """

    r_bl: np.ndarray
    r_blb: np.ndarray
    n_minus: np.ndarray
    n_zero: np.ndarray
    n_plus: np.ndarray
    vdd: float
    t_sense: float
    temperature_c: float

    def __post_init__(self) -> None:
        m = len(self.r_bl)
        for name in ("r_bl", "r_blb", "n_minus", "n_zero", "n_plus"):
            arr = np.asarray(getattr(self, name), dtype=np.float64)
            if arr.ndim != 1 or len(arr) != m:
                raise InputError(f"{name} has shape {arr.shape}: all columns must be 1-D of length {m}")
            _check_column(name, arr)
        if m == 0:
            raise InputError("counts table has 0 rows: need at least one resistance pair")
        total = np.asarray(self.n_minus) + np.asarray(self.n_zero) + np.asarray(self.n_plus)
        bad = np.flatnonzero(total <= 0)
        if len(bad):
            raise InputError(f"n_minus+n_zero+n_plus=0 in row {int(bad[0]) + 1} is not allowed: "
                             "each resistance pair needs at least one read")

    @property
    def op(self) -> OperatingPoint:
        """The operating point (temperature converted to kelvin)."""
        return OperatingPoint.from_celsius(self.vdd, self.t_sense, self.temperature_c)

    @property
    def probabilities(self) -> np.ndarray:
        """Empirical probabilities (M, 3) ordered (-1, 0, +1)."""
        c = np.stack([self.n_minus, self.n_zero, self.n_plus], axis=1).astype(np.float64)
        return c / c.sum(axis=1, keepdims=True)


def _check_column(name: str, arr: np.ndarray, row_offset: int = 1) -> None:
    """Raise InputError naming the first bad value of a counts/resistance column."""
    bad = np.flatnonzero(~np.isfinite(arr))
    if len(bad):
        i = int(bad[0])
        raise InputError(f"{name}={float(arr[i])!r} in row {i + row_offset} is not allowed: must be a finite number")
    if name.startswith("r_"):
        bad = np.flatnonzero(arr <= 0)
        if len(bad):
            i = int(bad[0])
            raise InputError(f"{name}={float(arr[i])!r} in row {i + row_offset} is not allowed: "
                             "resistance must be > 0 ohm")
    if name.startswith("n_"):
        bad = np.flatnonzero((arr < 0) | (arr != np.round(arr)))
        if len(bad):
            i = int(bad[0])
            raise InputError(f"{name}={float(arr[i])!r} in row {i + row_offset} is not allowed: "
                             "counts must be integers >= 0")


def read_counts_csv(path: str | os.PathLike) -> list[CountsTable]:
    """Read measured read-outcome counts from a CSV file, one :class:`CountsTable` per operating point.

    Columns (header row, any order, extra columns ignored):

    ============== =====================================================
    r_bl, r_blb    resistance of the BL / BLb device, ohm (> 0)
    n_minus        number of reads that gave -1 (integer >= 0)
    n_zero         number of reads that gave 0 (OUT == OUTb)
    n_plus         number of reads that gave +1 ((LRS, HRS) convention)
    vdd            supply of the read, V
    t_sense        sense window, s
    temperature_c  temperature, degrees Celsius
    ============== =====================================================

    Rows are grouped by (vdd, t_sense, temperature_c); the tables come back sorted by that key.
    Raises InputError (one line naming the column/value and row) on a missing column, a value that
    is not a number, NaN/inf, a negative or fractional count, or a resistance <= 0.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(2, "No such file", str(p))
    with p.open(newline="") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in COUNT_COLUMNS if c not in header]
        if missing:
            raise InputError(f"column {missing[0]!r} is missing from {p.name}: required columns are "
                             + ",".join(COUNT_COLUMNS))
        cols: dict[str, list[float]] = {c: [] for c in COUNT_COLUMNS}
        for row_no, raw in enumerate(reader, start=2):
            row = {(k or "").strip(): v for k, v in raw.items()}
            for c in COUNT_COLUMNS:
                text = (row.get(c) or "").strip()
                try:
                    cols[c].append(float(text))
                except ValueError:
                    raise InputError(f"{c}={text!r} in line {row_no} of {p.name} is not allowed: "
                                     "must be a number") from None
    arrays = {c: np.asarray(v, dtype=np.float64) for c, v in cols.items()}
    if len(arrays["r_bl"]) == 0:
        raise InputError(f"{p.name} has no data rows: need at least one resistance pair")
    for c in COUNT_COLUMNS:
        _check_column(c, arrays[c], row_offset=2)
    keys = np.stack([arrays["vdd"], arrays["t_sense"], arrays["temperature_c"]], axis=1)
    uniq = np.unique(keys, axis=0)
    tables = []
    for key in uniq:
        sel = np.all(keys == key, axis=1)
        tables.append(CountsTable(
            r_bl=arrays["r_bl"][sel], r_blb=arrays["r_blb"][sel],
            n_minus=arrays["n_minus"][sel].astype(np.int64), n_zero=arrays["n_zero"][sel].astype(np.int64),
            n_plus=arrays["n_plus"][sel].astype(np.int64),
            vdd=float(key[0]), t_sense=float(key[1]), temperature_c=float(key[2])))
    return tables


# ------------------------------------------------------------------------------------------------
# the map
# ------------------------------------------------------------------------------------------------
class SenseTally:
    """Running tallies of batched PCSA senses per grid point, for tabulating read maps.

    ``counts`` (P, 3): outcomes -1/0/+1; ``e_sum`` (P,): energy, J; decision times summed over the
    senses that decided. Shared by :meth:`SenseMap.from_pcsa` and the array layer's amplifier pools.
    """

    def __init__(self, n_points: int) -> None:
        self.counts = torch.zeros(n_points, 3, dtype=torch.float64)
        self.e_sum = torch.zeros(n_points, dtype=torch.float64)
        self.t_sum = torch.zeros(n_points, dtype=torch.float64)
        self.t_cnt = torch.zeros(n_points, dtype=torch.float64)

    def add(self, point: torch.Tensor, res: Any) -> None:
        """Add the senses ``res`` (a PCSA sense result) taken at grid points ``point`` (int64, one per sense)."""
        self.counts.index_put_((point, res.value.to(torch.int64) + 1),
                               torch.ones(point.shape[0], dtype=torch.float64), accumulate=True)
        self.e_sum.index_add_(0, point, res.energy.to(torch.float64))
        td = res.t_decide.to(torch.float64)
        ok = torch.isfinite(td)
        self.t_sum.index_add_(0, point[ok], td[ok])
        self.t_cnt.index_add_(0, point[ok], torch.ones(int(ok.sum()), dtype=torch.float64))

    def t_decide(self) -> torch.Tensor:
        """(P,) mean decision time, s; NaN where no sense decided."""
        return torch.where(self.t_cnt > 0, self.t_sum / self.t_cnt.clamp_min(1),
                           torch.full_like(self.t_sum, float("nan")))


@dataclass(frozen=True, eq=False)
class SenseMap:
    """Read-outcome probabilities over a log grid of (R_bl, R_blb) at one operating point.

    Attributes:
        op: the operating point (VDD, sense window, temperature).
        ln_r_min, ln_r_max: grid bounds, ln(ohm), the same for both axes (G points each).
        probs: float64 (G, G, 3): ``probs[i, j]`` = (P(-1), P(0), P(+1)) at
            R_bl = exp(ln_r[i]), R_blb = exp(ln_r[j]); rows sum to 1.
        energy_grid: float64 (G, G), mean energy drawn from VDD per sense, J (NaN if unknown).
        t_decide_grid: float64 (G, G), mean decision time of the senses that decided, s
            (NaN where none decided or unknown).
        n_mc: Monte Carlo samples (or measured reads, minimum over points) behind each grid point.
        source: "pcsa" or "counts".
    """

    op: OperatingPoint
    ln_r_min: float
    ln_r_max: float
    probs: torch.Tensor
    energy_grid: torch.Tensor
    t_decide_grid: torch.Tensor
    n_mc: int = 0
    source: str = "pcsa"
    _cum: torch.Tensor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        p = torch.as_tensor(self.probs, dtype=torch.float64)
        if p.ndim != 3 or p.shape[2] != 3 or p.shape[0] < 2 or p.shape[1] != p.shape[0]:
            raise InputError(f"probs has shape {tuple(p.shape)}: must be (G, G, 3) with G >= 2")
        if not bool(torch.isfinite(p).all()) or bool((p < -1e-9).any()):
            raise InputError("probs contains NaN or negative values: must be probabilities")
        if not (math.isfinite(self.ln_r_min) and math.isfinite(self.ln_r_max) and self.ln_r_max > self.ln_r_min):
            raise InputError(f"ln_r_min={self.ln_r_min!r}, ln_r_max={self.ln_r_max!r}: need ln_r_min < ln_r_max")
        p = p.clamp_min(0.0)
        p = p / p.sum(dim=2, keepdim=True)
        shape = tuple(p.shape[:2])
        for name in ("energy_grid", "t_decide_grid"):
            t = torch.as_tensor(getattr(self, name), dtype=torch.float64)
            if tuple(t.shape) != shape:
                raise InputError(f"{name} has shape {tuple(t.shape)}: must be {shape}")
            object.__setattr__(self, name, t)
        object.__setattr__(self, "probs", p)
        c1 = p[..., 0]
        c2 = p[..., 0] + p[..., 1]
        object.__setattr__(self, "_cum", torch.stack([c1.reshape(-1), c2.reshape(-1)], dim=1).to(torch.float32))

    # ---- grid ----------------------------------------------------------------------------------
    @property
    def n_grid(self) -> int:
        """Grid points per axis, G."""
        return int(self.probs.shape[0])

    @property
    def ln_r(self) -> torch.Tensor:
        """Grid axis ln R, ln(ohm), float64 (G,) (the same for R_bl and R_blb)."""
        return torch.linspace(self.ln_r_min, self.ln_r_max, self.n_grid, dtype=torch.float64)

    def grid_pairs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(R_bl, R_blb) in ohm at every grid point, float64 (G*G,) each, R_bl-major order."""
        r = torch.exp(self.ln_r)
        return r.repeat_interleave(self.n_grid), r.repeat(self.n_grid)

    def _coords(self, r_bl: torch.Tensor, r_blb: torch.Tensor, dtype: torch.dtype
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Flat index of the lower corner and fractional offsets (clamped to the grid)."""
        g = self.n_grid
        scale = (g - 1) / (self.ln_r_max - self.ln_r_min)
        u = torch.log(r_bl.to(dtype)).sub_(self.ln_r_min).mul_(scale).clamp_(0.0, g - 1)
        v = torch.log(r_blb.to(dtype)).sub_(self.ln_r_min).mul_(scale).clamp_(0.0, g - 1)
        i0 = u.floor().clamp_(max=g - 2)
        j0 = v.floor().clamp_(max=g - 2)
        idx = (i0 * g + j0).to(torch.int64)
        return idx, u.sub_(i0), v.sub_(j0)

    def _interp(self, table: torch.Tensor, r_bl: torch.Tensor, r_blb: torch.Tensor) -> torch.Tensor:
        """Bilinear interpolation of a flattened (G*G, K) table in (ln R_bl, ln R_blb): (N, K)."""
        rb, rbb = _pair(r_bl, r_blb)
        idx, fu, fv = self._coords(rb, rbb, table.dtype)
        return bilinear(table, idx, fu, fv, self.n_grid)

    def interpolate(self, tables: torch.Tensor, offset: torch.Tensor | None, r_bl: torch.Tensor,
                    r_blb: torch.Tensor) -> torch.Tensor:
        """Bilinear interpolation on this map's grid of stacked tables (M*G*G, K), float32: (N, K).

        ``offset`` (N,) int64 selects the table of each pair (multiples of G*G; None: the first), so
        maps sharing this grid (the amplifiers of a pool) are read in one pass, chunks of 2^20.
        """
        rb, rbb = _pair(r_bl, r_blb)
        n = rb.numel()
        out = torch.empty(n, tables.shape[1], dtype=tables.dtype)
        for s in range(0, n, _SAMPLE_CHUNK):
            e = min(n, s + _SAMPLE_CHUNK)
            idx, fu, fv = self._coords(rb[s:e], rbb[s:e], tables.dtype)
            if offset is not None:
                idx += offset[s:e]
            out[s:e] = bilinear(tables, idx, fu, fv, self.n_grid)
        return out

    # ---- evaluation ----------------------------------------------------------------------------
    def probabilities(self, r_bl: torch.Tensor, r_blb: torch.Tensor) -> torch.Tensor:
        """P(-1), P(0), P(+1) for each pair: float64 (N, 3), bilinear in ln R, clamped to the grid.

        Args:
            r_bl, r_blb: resistances, ohm, shape (N,) (any float dtype; broadcast to each other).
        """
        return self._outcomes(self.probs, r_bl, r_blb)

    def _outcomes(self, probs: torch.Tensor, r_bl: torch.Tensor, r_blb: torch.Tensor) -> torch.Tensor:
        """An outcome table (G, G, 3) on this map's grid at each pair, renormalised: float64 (N, 3)."""
        p = self._interp(probs.reshape(-1, 3), r_bl, r_blb)
        return p.clamp_min(0.0) / p.sum(dim=1, keepdim=True)

    def cumulative(self, r_bl: torch.Tensor, r_blb: torch.Tensor) -> torch.Tensor:
        """Cumulative probabilities (P(-1), P(-1) + P(0)) of each pair: float32 (N, 2).

        The one interpolation of the outcome table (bilinear in ln R, clamped to the grid, float32,
        chunks of 2^20 pairs); :meth:`sample` draws against it, and a programmed array keeps it per
        cell (its resistances are static) so that each later read is one uniform draw per cell.
        """
        return self.interpolate(self._cum, None, r_bl, r_blb)

    def sample(self, r_bl: torch.Tensor, r_blb: torch.Tensor,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw one sensed value per pair: int8 (N,) in {-1, 0, +1}.

        One uniform u per pair against :meth:`cumulative`: -1 if u < P(-1), 0 if u < P(-1) + P(0),
        else +1 (:func:`draw_values`).
        """
        cum = self.cumulative(r_bl, r_blb)
        return draw_values(cum, torch.rand(cum.shape[0], generator=generator, dtype=torch.float32))

    def energy_per_sense(self, r_bl: torch.Tensor, r_blb: torch.Tensor) -> torch.Tensor:
        """Mean energy drawn from VDD per sense for each pair, J, float64 (N,) (interpolated)."""
        return self._interp(self.energy_grid.reshape(-1, 1), r_bl, r_blb)[:, 0]

    def t_decide_mean(self, r_bl: torch.Tensor, r_blb: torch.Tensor) -> torch.Tensor:
        """Mean decision time of the senses that decide, s, float64 (N,) (interpolated).

        NaN where a neighbouring grid point never decided (e.g. deep in the HRS/HRS zero region).
        """
        return self._interp(self.t_decide_grid.reshape(-1, 1), r_bl, r_blb)[:, 0]

    # ---- construction --------------------------------------------------------------------------
    @classmethod
    def from_pcsa(cls, pcsa: Any, op: OperatingPoint, r_min: float = DEFAULT_R_MIN,
                  r_max: float = DEFAULT_R_MAX, n_grid: int = DEFAULT_N_GRID, n_mc: int = DEFAULT_N_MC,
                  generator: torch.Generator | None = None, *, batch: int = DEFAULT_BATCH,
                  dt: float | None = None) -> SenseMap:
        """Tabulate by Monte Carlo over transistor mismatch with the transient PCSA.

        Every grid point gets ``n_mc`` independent mismatch draws; all G*G*n_mc senses run in
        ``ceil(G*G*n_mc / batch)`` batched calls of ``pcsa.sense``.

        Args:
            pcsa: a :class:`ternary_rram.circuit.pcsa.PCSA` (anything with ``sense`` and
                ``sample_mismatch``).
            op: operating point.
            r_min, r_max: grid range of both axes, ohm (0 < r_min < r_max).
            n_grid: points per axis G (>= 2). n_mc: mismatch draws per grid point (>= 1).
            generator: torch generator for the mismatch draws.
            batch: senses per call. dt: time step passed to ``pcsa.sense`` (None: its default).
        """
        if not (r_min > 0 and r_max > r_min and math.isfinite(r_max)):
            raise InputError(f"r_min={r_min!r}, r_max={r_max!r} are not allowed: need 0 < r_min < r_max")
        if int(n_grid) != n_grid or n_grid < 2:
            raise InputError(f"n_grid={n_grid!r} is not allowed: must be an integer >= 2")
        if int(n_mc) != n_mc or n_mc < 1:
            raise InputError(f"n_mc={n_mc!r} is not allowed: must be an integer >= 1")
        nl = nd = int(n_grid)
        m = int(n_mc)
        proto = cls(op=op, ln_r_min=math.log(r_min), ln_r_max=math.log(r_max),
                    probs=torch.full((nl, nd, 3), 1.0 / 3, dtype=torch.float64),
                    energy_grid=torch.zeros(nl, nd, dtype=torch.float64),
                    t_decide_grid=torch.zeros(nl, nd, dtype=torch.float64))
        rb, rbb = proto.grid_pairs()
        npts = nl * nd
        total = npts * m
        tally = SenseTally(npts)
        step = max(1, int(batch))
        for s in range(0, total, step):
            e = min(total, s + step)
            pt = torch.arange(s, e, dtype=torch.int64) // m
            kw: dict[str, Any] = {"dvth": pcsa.sample_mismatch(e - s, generator)}
            if dt is not None:
                kw["dt"] = dt
            tally.add(pt, pcsa.sense(rb[pt], rbb[pt], op, **kw))
        return cls(op=op, ln_r_min=proto.ln_r_min, ln_r_max=proto.ln_r_max,
                   probs=(tally.counts / m).reshape(nl, nd, 3), energy_grid=(tally.e_sum / m).reshape(nl, nd),
                   t_decide_grid=tally.t_decide().reshape(nl, nd), n_mc=m, source="pcsa")

    @classmethod
    def from_counts(cls, table: CountsTable | Mapping[str, Sequence[float]], *,
                    n_grid: int = 33) -> SenseMap:
        """Build from measured read-outcome counts at one operating point.

        ``table`` is a :class:`CountsTable` (see :func:`read_counts_csv`) or a mapping with the
        same columns (``vdd``, ``t_sense``, ``temperature_c`` may be scalars or constant columns).

        Gridding: the empirical probabilities n_k / (n_minus + n_zero + n_plus) of the measured
        points are resampled onto an ``n_grid`` x ``n_grid`` grid uniform in (ln R_bl, ln R_blb)
        spanning the data (the same range on both axes): linear interpolation on the Delaunay
        triangulation of the points in log space inside their convex hull, nearest neighbour in log
        space outside it, and nearest neighbour everywhere when the points do not span an area
        (fewer than 3, or collinear). Energy and decision time are not measured here: those grids
        are NaN.
        """
        if not isinstance(table, CountsTable):
            table = _table_from_mapping(table)
        if int(n_grid) != n_grid or n_grid < 2:
            raise InputError(f"n_grid={n_grid!r} is not allowed: must be an integer >= 2")
        lb = np.log(np.asarray(table.r_bl, dtype=np.float64))
        lbb = np.log(np.asarray(table.r_blb, dtype=np.float64))
        tot = np.asarray(table.n_minus) + np.asarray(table.n_zero) + np.asarray(table.n_plus)
        lo, hi = float(min(lb.min(), lbb.min())), float(max(lb.max(), lbb.max()))
        if hi - lo < 1e-9:
            lo, hi = lo - 0.5, hi + 0.5
        g = int(n_grid)
        axis = np.linspace(lo, hi, g)
        gu, gv = np.meshgrid(axis, axis, indexing="ij")
        q = np.stack([gu.ravel(), gv.ravel()], axis=1)
        probs = _scatter_interp(np.stack([lb, lbb], axis=1), table.probabilities, q)
        nan = torch.full((g, g), float("nan"), dtype=torch.float64)
        return cls(op=table.op, ln_r_min=lo, ln_r_max=hi, probs=torch.from_numpy(probs.reshape(g, g, 3)),
                   energy_grid=nan, t_decide_grid=nan.clone(), n_mc=int(tot.min()), source="counts")

    # ---- storage -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON representation (lists of floats; NaN written as null)."""
        return {
            "format": "ternary-rram sensemap v1",
            "vdd": self.op.vdd, "t_sense": self.op.t_sense, "temperature": self.op.temperature,
            "ln_r_min": self.ln_r_min, "ln_r_max": self.ln_r_max, "n_grid": self.n_grid,
            "n_mc": self.n_mc, "source": self.source,
            "probs": self.probs.numpy().tolist(),
            "energy_grid": _json_grid(self.energy_grid), "t_decide_grid": _json_grid(self.t_decide_grid),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SenseMap:
        """Inverse of :meth:`to_dict`."""
        try:
            op = OperatingPoint(vdd=float(d["vdd"]), t_sense=float(d["t_sense"]),
                                temperature=float(d["temperature"]))

            def _arr(x: Any) -> torch.Tensor:
                a = np.array(x, dtype=object)
                a = np.where(a == None, np.nan, a).astype(np.float64)  # noqa: E711
                return torch.from_numpy(a)
            return cls(op=op, ln_r_min=float(d["ln_r_min"]), ln_r_max=float(d["ln_r_max"]), probs=torch.tensor(d["probs"], dtype=torch.float64),
                       energy_grid=_arr(d["energy_grid"]), t_decide_grid=_arr(d["t_decide_grid"]),
                       n_mc=int(d.get("n_mc", 0)), source=str(d.get("source", "pcsa")))
        except KeyError as exc:
            raise InputError(f"sense map field {exc.args[0]!r} is missing") from None

    def save(self, path: str | os.PathLike) -> Path:
        """Write to ``.json`` or ``.npz`` (by suffix), atomically. Returns the path."""
        p = Path(path)
        if p.suffix == ".json":
            atomic_write_bytes(p, json.dumps(self.to_dict()).encode())
        elif p.suffix == ".npz":
            meta = {k: v for k, v in self.to_dict().items() if k not in ("probs", "energy_grid", "t_decide_grid")}
            atomic_write_with(p, lambda tmp: np.savez(
                tmp, probs=self.probs.numpy(), energy_grid=self.energy_grid.numpy(),
                t_decide_grid=self.t_decide_grid.numpy(), meta=np.array(json.dumps(meta))), suffix=".npz")
        else:
            raise InputError(f"path={str(p)!r} is not allowed: sense map files end in .json or .npz")
        return p

    @classmethod
    def load(cls, path: str | os.PathLike) -> SenseMap:
        """Read a map written by :meth:`save` (``.json`` or ``.npz``; never unpickles)."""
        p = Path(path)
        if p.suffix == ".json":
            return cls.from_dict(json.loads(p.read_text()))
        if p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                d = json.loads(str(z["meta"]))
                d["probs"] = z["probs"].tolist()
                d["energy_grid"] = z["energy_grid"].tolist()
                d["t_decide_grid"] = z["t_decide_grid"].tolist()
            return cls.from_dict(d)
        raise InputError(f"path={str(p)!r} is not allowed: sense map files end in .json or .npz")


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def bilinear(table: torch.Tensor, idx: torch.Tensor, fu: torch.Tensor, fv: torch.Tensor, g: int) -> torch.Tensor:
    """THE sense-map interpolation: bilinear in (ln R_bl, ln R_blb) of a flattened (., K) table.

    ``idx`` (N,) flat index of the lower grid corner (row-major, G = ``g`` points per axis), ``fu``,
    ``fv`` (N,) fractional offsets along R_bl and R_blb. Returns (N, K).
    """
    fu = fu.unsqueeze(1)
    fv = fv.unsqueeze(1)
    lo = torch.lerp(table[idx], table[idx + g], fu)
    hi = torch.lerp(table[idx + 1], table[idx + g + 1], fu)
    return torch.lerp(lo, hi, fv)


def mean_probabilities(maps: Sequence[SenseMap], r_bl: torch.Tensor, r_blb: torch.Tensor) -> torch.Tensor:
    """P(-1), P(0), P(+1) of each pair averaged over ``maps``: float64 (N, 3).

    Maps on one grid (the amplifiers of a pool) take one interpolation of their mean table: bilinear
    interpolation is linear in the table, and interpolated probability rows stay non-negative and sum
    to one. Maps on different grids are interpolated one by one.
    """
    if _one_grid(maps):
        return maps[0]._outcomes(torch.stack([m.probs for m in maps]).mean(0), r_bl, r_blb)
    return torch.stack([m.probabilities(r_bl, r_blb) for m in maps]).mean(0)


def map_probabilities(maps: Sequence[SenseMap], r_bl: torch.Tensor, r_blb: torch.Tensor) -> torch.Tensor:
    """P(-1), P(0), P(+1) of each pair under each of ``maps``: float64 (N, K, 3) for K maps.

    Maps on one grid (the amplifiers of a pool) are interpolated in one pass over their tables side
    by side (G*G, 3K); maps on different grids one by one.
    """
    if _one_grid(maps):
        k = len(maps)
        table = torch.stack([m.probs.reshape(-1, 3) for m in maps], dim=1).reshape(-1, 3 * k)
        p = maps[0]._interp(table, r_bl, r_blb).reshape(-1, k, 3).clamp_min(0.0)
        return p / p.sum(dim=2, keepdim=True)
    return torch.stack([m.probabilities(r_bl, r_blb) for m in maps], dim=1)


def _one_grid(maps: Sequence[SenseMap]) -> bool:
    """True when every map shares the first one's grid; InputError for no map."""
    if not maps:
        raise InputError("maps=[] is not allowed: give at least one sense map")
    first = maps[0]
    return all((m.ln_r_min, m.ln_r_max, m.n_grid) == (first.ln_r_min, first.ln_r_max, first.n_grid) for m in maps)


def draw_values(cum: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Sensed values int8 (N,) from cumulative probabilities (N, 2) and uniforms u (N,) in [0, 1)."""
    return (u.unsqueeze(1) >= cum).sum(dim=1, dtype=torch.int8) - 1


def _pair(r_bl: Any, r_blb: Any) -> tuple[torch.Tensor, torch.Tensor]:
    a = torch.as_tensor(r_bl)
    b = torch.as_tensor(r_blb)
    if not a.is_floating_point():
        a = a.to(torch.float64)
    if not b.is_floating_point():
        b = b.to(torch.float64)
    a, b = torch.broadcast_tensors(a.reshape(-1) if a.ndim else a, b.reshape(-1) if b.ndim else b)
    return a.reshape(-1), b.reshape(-1)


def _json_grid(t: torch.Tensor) -> list[list[float | None]]:
    """2-D tensor as nested lists with NaN written as None (JSON null)."""
    return [[x if math.isfinite(x) else None for x in row] for row in t.tolist()]


def _table_from_mapping(m: Mapping[str, Any]) -> CountsTable:
    missing = [c for c in COUNT_COLUMNS if c not in m]
    if missing:
        raise InputError(f"column {missing[0]!r} is missing: required columns are " + ",".join(COUNT_COLUMNS))
    cols = {c: np.atleast_1d(np.asarray(m[c], dtype=np.float64)) for c in COUNT_COLUMNS}
    for c in COUNT_COLUMNS:
        _check_column(c, cols[c])
    ops = {}
    for c in ("vdd", "t_sense", "temperature_c"):
        vals = np.unique(cols[c])
        if len(vals) != 1:
            raise InputError(f"{c} takes {len(vals)} values: a sense map holds one operating point "
                             "(use read_counts_csv to split a file)")
        ops[c] = float(vals[0])
    return CountsTable(r_bl=cols["r_bl"], r_blb=cols["r_blb"], n_minus=cols["n_minus"].astype(np.int64),
                       n_zero=cols["n_zero"].astype(np.int64), n_plus=cols["n_plus"].astype(np.int64), **ops)


def _scatter_interp(pts: np.ndarray, vals: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Linear (Delaunay) interpolation of scattered ``vals`` (M, K) at ``q``, nearest outside the hull."""

    near = NearestNDInterpolator(pts, vals)
    out = near(q)
    if len(pts) >= 3:
        try:
            lin = LinearNDInterpolator(pts, vals)(q)
        except Exception:  # collinear / degenerate points: nearest neighbour everywhere
            lin = None
        if lin is not None:
            inside = np.all(np.isfinite(lin), axis=1)
            out[inside] = lin[inside]
    out = np.clip(out, 0.0, None)
    return out / out.sum(axis=1, keepdims=True)


