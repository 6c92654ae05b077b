"""Read physics of one 2T2R cell through the PCSA: state encoding, outcome statistics, seeded streams.

The one encoding of a programmed cell (docs/architecture.md "value convention"), as (BL, BLb):

* +1 = (LRS, HRS): the BL branch conducts more, OUT falls, OUTb stays high;
* -1 = (HRS, LRS): the mirror;
* 0 = (HRS, HRS): neither branch conducts much, the latch resolves on mismatch alone and the read
  gives 0 only while it has not decided within the window (docs/physics.md section 1.5).

Every layer above takes the encoding from here (:data:`CELL_STATES`, :data:`STATES`,
:func:`lrs_masks`): the array programs by it, the studies draw cells by it, calibration fits by it.

:func:`simulate_state` is the Monte Carlo of fresh cells of one programmed state (devices and
Pelgrom mismatch drawn, transient PCSA); :class:`Outcomes` holds the raw senses and reads them at
shorter windows from the decision times (:meth:`Outcomes.at_windows`: a sense counts as decided at
window w when |OUT - OUTb| crossed decision_fraction * VDD by w, and then keeps its final value).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.device.model import DeviceModel, State

Tensor = torch.Tensor

#: The encoding: stored value -> (BL device state, BLb device state).
CELL_STATES: dict[int, tuple[State, State]] = {
    +1: (State.LRS, State.HRS),
    -1: (State.HRS, State.LRS),
    0: (State.HRS, State.HRS),
}
#: Name of each programmed state, "BL/BLb" (the names studies, files and figures use).
STATE_NAMES: dict[int, str] = {v: f"{bl.value}/{blb.value}" for v, (bl, blb) in CELL_STATES.items()}
#: Programmed states by name: name -> (BL state, BLb state, stored value), in the order +1, -1, 0.
STATES: dict[str, tuple[State, State, int]] = {STATE_NAMES[v]: (*CELL_STATES[v], v) for v in (+1, -1, 0)}
#: Rows: BL, BLb; columns: stored value -1, 0, +1; True where that side is in LRS.
_LRS_TABLE = torch.tensor([[CELL_STATES[v][side] is State.LRS for v in (-1, 0, 1)] for side in (0, 1)])
#: Senses per call of ``PCSA.sense`` (memory and speed balance on a CPU). [D] chosen.
DEFAULT_BATCH: int = 4096


def lrs_masks(values: Tensor) -> tuple[Tensor, Tensor]:
    """(BL is LRS, BLb is LRS): bool tensors of the shape of ``values`` (integers in {-1, 0, +1})."""
    idx = torch.as_tensor(values).to(torch.int64) + 1
    table = _LRS_TABLE.to(idx.device)
    return table[0][idx], table[1][idx]


def sample_cells(device: DeviceModel, values: Sequence[int], n: int, generator: torch.Generator, *,
                 t_relax: float = 0.0) -> tuple[Tensor, Tensor]:
    """Resistances (len(values) * n,) ohm of ``n`` fresh cells per programmed value, values in order.

    One vectorised draw per side (:meth:`DeviceModel.sample_pairs`), BL first, on the CPU.
    """
    v = torch.cat([torch.full((n,), int(s), dtype=torch.int64) for s in values])
    bl, blb = lrs_masks(v)
    return device.sample_pairs(bl, generator, t_relax=t_relax), device.sample_pairs(blb, generator, t_relax=t_relax)


# ------------------------------------------------------------------------------------------------
# outcome statistics
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
    """Transient Monte Carlo of ``n`` fresh cells programmed into ``state`` (a name of :data:`STATES`) at ``op``.

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


def outcome_rates(values: Tensor, stored: int) -> tuple[Tensor, Tensor, Tensor]:
    """Per window (from (W, n) values): P(correct), P(sign flip) (NaN for a stored 0), P(0)."""
    n = values.shape[-1]
    correct = (values == stored).sum(-1).to(torch.float64) / n
    flip = (values == -stored).sum(-1).to(torch.float64) / n if stored != 0 else torch.full_like(correct, float("nan"))
    zero = (values == 0).sum(-1).to(torch.float64) / n
    return correct, flip, zero


def nanmean(t: Tensor) -> float:
    """Mean of the finite entries (NaN when there is none)."""
    ok = torch.isfinite(t)
    return float(t[ok].mean()) if bool(ok.any()) else float("nan")


def scan_states(pcsa: PCSA, device: DeviceModel, vdd: float, temperature_c: float, windows: Sequence[float],
                n: int, generators: dict[str, torch.Generator], *,
                batch: int = DEFAULT_BATCH) -> dict[str, Outcomes]:
    """The window scan: one simulation per state (the keys of ``generators``, each drawn from its own
    generator, in the order given) over the longest of ``windows``; shorter windows are read from the
    outcomes with :meth:`Outcomes.at_windows`."""
    op_long = OperatingPoint.from_celsius(vdd, max(windows), temperature_c)
    return {state: simulate_state(pcsa, device, op_long, state, n, gen, batch=batch)
            for state, gen in generators.items()}


# ------------------------------------------------------------------------------------------------
# seeded streams
# ------------------------------------------------------------------------------------------------
def seeded_generator(seed: int, *keys: float, resolution: float = 1e6) -> torch.Generator:
    """A torch generator seeded from ``seed`` and a few keys (stable across runs and machines).

    Keys are rounded to ``1/resolution`` before hashing: keys closer than that share a stream
    (1e6 suits VDDs and temperatures; windows of ~1e-10 s need 1e12).
    """
    h = int(seed) & 0xFFFFFFFF
    for k in keys:
        h = (h * 1_000_003 + round(float(k) * resolution)) % (2 ** 61 - 1)
    return torch.Generator().manual_seed(h)


def hashed_generator(seed: int, *keys: float) -> torch.Generator:
    """The reproduction's streams (``experiments/reproduce``): Python's hash of (seed, keys rounded to
    1e-12), which is deterministic for ints and floats. Kept beside :func:`seeded_generator` because the
    cached units and report numbers of ``reproduce`` were drawn from it; new code uses
    :func:`seeded_generator`."""
    h = hash(tuple([seed] + [round(float(k), 12) for k in keys])) & 0x7FFFFFFF
    return torch.Generator().manual_seed(h)

