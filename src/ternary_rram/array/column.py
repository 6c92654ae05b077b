"""Column sense amplifiers of a fabricated chip: mismatch fixed once, noise redrawn at every read.

On silicon each column (or column group) has ONE precharge sense amplifier whose transistor
mismatch was set at fabrication, and each programmed cell keeps its resistances (apart from
relaxation). What changes from read to read is noise: the RRAM read-current fluctuation and the
latch's thermal noise (:class:`ternary_rram.array.params.ReadNoise`).

Design of the fast read model: an :class:`AmplifierPool` is a set of K amplifiers, each with its own
mismatch vector (K, 9) V drawn once, and one :class:`~ternary_rram.circuit.sensemap.SenseMap` per
amplifier built by transient Monte Carlo over the per-read noise ONLY (the amplifier's mismatch is
fixed in every sense of its map). Each amplifier of a chip is one member of the pool, picked at
random when the chip is made (:meth:`ternary_rram.array.Array2T2R.assign_amplifiers`), so a chip
samples its amplifiers from the pool's K draws of the mismatch distribution (K is the resolution
of that distribution; two chips differ in which columns get which amplifier and in every cell). A
cell then has static outcome probabilities (its amplifier's map at its resistances), interpolated
once after programming; each read is one uniform draw per cell against them. Without noise the
maps are deterministic (one sense per grid point) and the draw is fixed per cell, so a read
repeats exactly.

Cost of a pool: K * G^2 * n_mc transient senses (one-off per operating point, cacheable).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch

from ternary_rram.array.params import DEFAULT_NOISE, LATCH_NOISE_TRANSISTORS, ReadNoise
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.params import TRANSISTOR_NAMES
from ternary_rram.circuit.sensemap import SenseMap, SenseTally
from ternary_rram.errors import InputError, check_int

#: Amplifiers in a pool. [D] chosen: 16 draws of the mismatch distribution.
N_AMPLIFIERS: int = 16
#: Grid points per axis of each amplifier's map. [D] chosen: step 0.2 in ln R over the default
#: device range, where the maps of the default SKY130 transistors stay within 1 % + 2 SE of direct
#: transient Monte Carlo from 0.85 to 1.5 V; 25 points (step 0.33) missed it at 0.9 and 1.2 V
#: (docs/benchmarks.md, "Chip").
N_GRID: int = 41
#: Noise draws per grid point of each amplifier's map. [D] chosen.
N_MC: int = 8
#: Senses per transient call while building a pool (memory bound). [D]
BATCH: int = 1 << 17

_LATCH_IDX: tuple[int, ...] = tuple(TRANSISTOR_NAMES.index(n) for n in LATCH_NOISE_TRANSISTORS)


def noisy_inputs(pcsa: Any, op: OperatingPoint, r_bl: torch.Tensor, r_blb: torch.Tensor,
                 dvth: torch.Tensor, noise: ReadNoise, generator: torch.Generator | None
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One read's inputs of the transient PCSA: resistances and thresholds with fresh noise.

    Args:
        r_bl, r_blb: (N,) static resistances, ohm. dvth: (N, 9) static mismatch, V.
    Returns:
        (r_bl, r_blb, dvth) for one read: R x exp(sigma(R) z) per device, and the kT/C latch
        noise added to the latch NMOS thresholds. The same law builds the maps and the direct
        Monte Carlo they are checked against.
    """
    rb = r_bl.to(torch.float64)
    rbb = r_blb.to(torch.float64)
    dv = dvth.to(torch.float64).clone()
    if noise.rtn_sigma_ref > 0:
        rb = rb * torch.exp(noise.sigma_ln_r(rb) * torch.randn(rb.shape, generator=generator, dtype=torch.float64))
        rbb = rbb * torch.exp(noise.sigma_ln_r(rbb) * torch.randn(rbb.shape, generator=generator,
                                                                  dtype=torch.float64))
    s = noise.latch_sigma(op.temperature, pcsa.params.c_out)
    if s > 0:
        for i in _LATCH_IDX:
            dv[:, i] += s * torch.randn(dv.shape[0], generator=generator, dtype=torch.float64)
    return rb, rbb, dv


@dataclass(frozen=True, eq=False)
class AmplifierPool:
    """K sense amplifiers with fixed mismatch and the read map of each at one operating point.

    Attributes:
        mismatch: float64 (K, 9) threshold offsets of each amplifier, V (circuit TRANSISTOR_NAMES).
        maps: one :class:`SenseMap` per amplifier (outcome probabilities over the per-read noise).
        noise: the per-read noise the maps were built with.
    """

    mismatch: torch.Tensor
    maps: tuple[SenseMap, ...]
    noise: ReadNoise

    def __post_init__(self) -> None:
        if len(self.maps) < 1 or self.mismatch.shape != (len(self.maps), len(TRANSISTOR_NAMES)):
            raise InputError(f"amplifier pool with {len(self.maps)} maps and mismatch "
                             f"{tuple(self.mismatch.shape)} is not allowed: need one (9,) vector per map")

    def __len__(self) -> int:
        return len(self.maps)

    @property
    def op(self) -> OperatingPoint:
        return self.maps[0].op

    @property
    def deterministic(self) -> bool:
        """No per-read noise: a cell reads the same value every time."""
        return self.noise.off

    def cell_tables(self, amplifier: torch.Tensor, r_bl: torch.Tensor, r_blb: torch.Tensor
                    ) -> tuple[torch.Tensor, float]:
        """Static read tables of cells: cumulative probabilities float32 (N, 2) and their summed
        energy per sense, J (NaN if the maps carry no energy).

        One interpolation pass over all cells (the maps share one grid: offsets select each
        cell's amplifier map; :meth:`SenseMap.interpolate`).

        Args:
            amplifier: int64 (N,) pool index of each cell's amplifier. r_bl, r_blb: (N,) ohm.
        """
        tables = self._tables()
        g2 = self.maps[0].n_grid ** 2
        t = self.maps[0].interpolate(tables, amplifier * g2, r_bl, r_blb)
        return t[:, :2].contiguous(), float(t[:, 2].double().sum())

    def _tables(self) -> torch.Tensor:
        """(K*G*G, 3) float32: P(-1), P(-1)+P(0), energy per sense (J)."""
        cached = getattr(self, "_stack", None)
        if cached is not None:
            return cached
        m0 = self.maps[0]
        for m in self.maps[1:]:
            if (m.n_grid, m.ln_r_min, m.ln_r_max) != (m0.n_grid, m0.ln_r_min, m0.ln_r_max):
                raise InputError("amplifier maps on different grids are not allowed: a pool shares one grid")
        rows = []
        for m in self.maps:
            p = m.probs.reshape(-1, 3)
            rows.append(torch.stack([p[:, 0], p[:, 0] + p[:, 1], m.energy_grid.reshape(-1)], 1))
        stack = torch.cat(rows).to(torch.float32)
        object.__setattr__(self, "_stack", stack)
        return stack

    def to_dict(self) -> dict[str, Any]:
        return {"format": "ternary-rram amplifier pool v1", "mismatch": self.mismatch.tolist(),
                "noise": asdict(self.noise),  # every ReadNoise field, as from_dict reads them back
                "maps": [m.to_dict() for m in self.maps]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AmplifierPool:
        try:
            return cls(mismatch=torch.tensor(d["mismatch"], dtype=torch.float64),
                       maps=tuple(SenseMap.from_dict(m) for m in d["maps"]), noise=ReadNoise(**d["noise"]))
        except (KeyError, TypeError) as exc:
            raise InputError(f"amplifier pool record is not allowed: {exc}") from None


def build_pool(pcsa: Any, op: OperatingPoint, *, r_min: float, r_max: float,
               n_amplifiers: int = N_AMPLIFIERS, n_grid: int = N_GRID, n_mc: int = N_MC,
               noise: ReadNoise = DEFAULT_NOISE, generator: torch.Generator | None = None,
               mismatch: torch.Tensor | None = None, batch: int = BATCH) -> AmplifierPool:
    """Draw ``n_amplifiers`` amplifiers and tabulate each one's read map by transient Monte Carlo.

    Every grid point of amplifier k gets ``n_mc`` senses with k's mismatch and fresh noise
    (:func:`noisy_inputs`); without noise one sense per point (the outcome is deterministic).

    Args:
        pcsa: :class:`ternary_rram.circuit.pcsa.PCSA`. op: operating point.
        r_min, r_max: grid range of both axes, ohm. n_grid: points per axis (>= 2).
        mismatch: (K, 9) V to use instead of drawing (e.g. to check a given column).
    """
    n_amplifiers, n_grid = check_int("n_amplifiers", n_amplifiers, 1), check_int("n_grid", n_grid, 2)
    n_mc = check_int("n_mc", n_mc, 1)
    if not (0 < r_min < r_max and math.isfinite(r_max)):
        raise InputError(f"r_min={r_min!r}, r_max={r_max!r} are not allowed: need 0 < r_min < r_max")
    mm = (torch.as_tensor(mismatch, dtype=torch.float64) if mismatch is not None
          else pcsa.sample_mismatch(int(n_amplifiers), generator).to(torch.float64))
    k_amp = mm.shape[0]
    g = int(n_grid)
    m = 1 if noise.off else int(n_mc)
    ln_lo, ln_hi = math.log(r_min), math.log(r_max)
    ax = torch.exp(torch.linspace(ln_lo, ln_hi, g, dtype=torch.float64))
    gb, gbb = ax.repeat_interleave(g), ax.repeat(g)
    npts = g * g
    total = k_amp * npts * m
    tally = SenseTally(k_amp * npts)
    step = max(1, int(batch))
    for s in range(0, total, step):
        e = min(total, s + step)
        cell = torch.arange(s, e, dtype=torch.int64) // m  # (amplifier, grid point) flat index
        amp, pt = cell // npts, cell % npts
        rb, rbb, dv = noisy_inputs(pcsa, op, gb[pt], gbb[pt], mm[amp], noise, generator)
        tally.add(cell, pcsa.sense(rb, rbb, op, dvth=dv))
    t_dec = tally.t_decide()
    maps = tuple(
        SenseMap(op=op, ln_r_min=ln_lo, ln_r_max=ln_hi,
                 probs=(tally.counts[k * npts:(k + 1) * npts] / m).reshape(g, g, 3),
                 energy_grid=(tally.e_sum[k * npts:(k + 1) * npts] / m).reshape(g, g),
                 t_decide_grid=t_dec[k * npts:(k + 1) * npts].reshape(g, g), n_mc=m, source="pcsa-column")
        for k in range(k_amp))
    return AmplifierPool(mismatch=mm, maps=maps, noise=noise)
