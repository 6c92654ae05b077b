"""A 2T2R RRAM array: ternary/binary weights stored as device pairs, read by one PCSA per column.

Encoding [S P1, P2]: +1 = (LRS, HRS) on (BL, BLb), -1 = (HRS, LRS), 0 = (HRS, HRS).

Each device has a persistent device-to-device character: a standard-normal draw ``z`` per device,
made once (at the first programming); programmed into a state its ln R is
``ln median + sigma_d2d * z + sigma_c2c * z_c2c`` with ``z_c2c`` redrawn at every programming pulse
(:meth:`ternary_rram.device.DeviceModel.program`).

Reads go through each column's own sense amplifier: :meth:`Array2T2R.read_columns` (the amplifiers'
maps of an :class:`ternary_rram.array.column.AmplifierPool`, the fast path) or
:meth:`Array2T2R.read_transient` (the transient :class:`ternary_rram.circuit.pcsa.PCSA`, the reference).
Energy and latency laws: :mod:`ternary_rram.array.params`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import torch

from ternary_rram.array.column import noisy_inputs
from ternary_rram.array.params import DEFAULT_ARRAY, MAX_PULSES, ArrayParams
from ternary_rram.array.tiling import amplifier_index, amplifiers_across
from ternary_rram.circuit.read import lrs_masks
from ternary_rram.circuit.sensemap import draw_values
from ternary_rram.device import DeviceModel, State
from ternary_rram.device import params as device_params
from ternary_rram.errors import InputError, check_positive

if TYPE_CHECKING:  # the circuit layer: used through its documented interface only
    from ternary_rram.circuit.operating import OperatingPoint
    from ternary_rram.circuit.pcsa import PCSA


# ----------------------------------------------------------------------------------------------
# weights and their encoding
# ----------------------------------------------------------------------------------------------
def check_weights(weights: Any, name: str = "weights", *, binary: bool = False) -> torch.Tensor:
    """Return ``weights`` as an int8 tensor (same shape) if every value is in {-1, 0, +1}.

    ``binary=True`` allows only {-1, +1}. Raises :class:`InputError` naming the first bad value.
    """
    w = torch.as_tensor(weights)
    if w.is_floating_point():
        if bool(torch.any(~torch.isfinite(w))):
            raise InputError(f"{name} contain a non-finite value: must be in {{-1, 0, +1}}")
        ok_int = w == torch.round(w)
        if not bool(torch.all(ok_int)):
            bad = float(w[~ok_int].reshape(-1)[0])
            raise InputError(f"{name} value {bad!r} is not allowed: must be in {{-1, 0, +1}}")
    elif w.dtype == torch.bool or w.is_complex():
        raise InputError(f"{name} dtype {w.dtype} is not allowed: must be integers in {{-1, 0, +1}}")
    allowed = (w == 1) | (w == -1) if binary else (w >= -1) & (w <= 1)
    if not bool(torch.all(allowed)):
        bad = w[~allowed].reshape(-1)[0].item()
        rng = "{-1, +1}" if binary else "{-1, 0, +1}"
        raise InputError(f"{name} value {bad!r} is not allowed: must be in {rng}")
    return w.to(torch.int8)


def encode(weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Device states of each pair: (BL is LRS, BLb is LRS), bool tensors of the weights' shape.

    The encoding of :mod:`ternary_rram.circuit.read` (``CELL_STATES``), for weights in {-1, 0, +1}."""
    return lrs_masks(weights)


# ----------------------------------------------------------------------------------------------
# results
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ErrorCounts:
    """Read errors by type.

    Attributes:
        to_zero: +-1 read as 0.
        from_zero: 0 read as +-1.
        sign_flip: +-1 read as -+1.
        n_weights: weights read.
    """

    to_zero: int
    from_zero: int
    sign_flip: int
    n_weights: int

    @property
    def total(self) -> int:
        """All wrong reads."""
        return self.to_zero + self.from_zero + self.sign_flip

    @property
    def rate(self) -> float:
        """Fraction of weights read wrong (NaN when nothing was read)."""
        return self.total / self.n_weights if self.n_weights else float("nan")

    def __add__(self, other: ErrorCounts) -> ErrorCounts:
        return ErrorCounts(self.to_zero + other.to_zero, self.from_zero + other.from_zero,
                           self.sign_flip + other.sign_flip, self.n_weights + other.n_weights)


def count_errors(target: torch.Tensor, read: torch.Tensor) -> ErrorCounts:
    """Count errors of ``read`` against ``target`` (int tensors of one shape, values in {-1,0,+1})."""
    if target.shape != read.shape:
        raise InputError(f"read shape {tuple(read.shape)} is not allowed: must equal the target "
                         f"shape {tuple(target.shape)}")
    t = target.to(torch.int8)
    r = read.to(torch.int8)
    nz = t != 0
    return ErrorCounts(to_zero=int(torch.count_nonzero(nz & (r == 0))),
                       from_zero=int(torch.count_nonzero(~nz & (r != 0))),
                       sign_flip=int(torch.count_nonzero(nz & (r == -t))),
                       n_weights=int(t.numel()))


@dataclass(frozen=True)
class ReadResult:
    """Result of reading an array (or a weight matrix) once.

    Attributes:
        weights: read-out weights, int8, shape of the stored weights.
        errors: error counts against the stored weights.
        n_senses: sense operations (one per weight).
        energy_sense: energy of the sense amplifiers, J.
        energy_bitline: energy of charging the bit lines, J.
        latency: time of the read, s (rows read one at a time; arrays in parallel).
    """

    weights: torch.Tensor
    errors: ErrorCounts
    n_senses: int
    energy_sense: float
    energy_bitline: float
    latency: float

    @property
    def energy(self) -> float:
        """Total read energy, J."""
        return self.energy_sense + self.energy_bitline


@dataclass(frozen=True)
class WriteVerify:
    """Write-verify settings: reprogram a cell until it passes or ``max_pulses`` attempts are spent.

    A cell passes when it reads its target through ``sense`` (a sense map; None: no read check)
    and, where given, its LRS device is <= ``r_lrs_max`` and its HRS devices >= ``r_hrs_min`` (ohm).
    A failing cell has both devices reprogrammed (fresh cycle-to-cycle draws, d2d kept).

    Attributes:
        max_pulses: programming attempts per cell, the first included (>= 1).
        sense: sense map used for the verify read, or None.
        r_lrs_max: upper bound on an LRS device, ohm, or None.
        r_hrs_min: lower bound on an HRS device, ohm, or None.
    """

    max_pulses: int = MAX_PULSES
    sense: Any = None
    r_lrs_max: float | None = None
    r_hrs_min: float | None = None

    def __post_init__(self) -> None:
        mp = self.max_pulses
        if isinstance(mp, bool) or int(mp) != mp or int(mp) < 1:
            raise InputError(f"max_pulses={mp!r} is not allowed: must be an integer >= 1")
        if self.r_lrs_max is not None:
            check_positive("r_lrs_max", self.r_lrs_max, "ohm")
        if self.r_hrs_min is not None:
            check_positive("r_hrs_min", self.r_hrs_min, "ohm")
        if self.sense is None and self.r_lrs_max is None and self.r_hrs_min is None:
            raise InputError("write-verify without a check is not allowed: give sense, r_lrs_max "
                             "or r_hrs_min")


@dataclass(frozen=True)
class ProgramResult:
    """Accounting of one programming of an array.

    Attributes:
        pulses_set: SET pulses (devices programmed to LRS), all attempts.
        pulses_reset: RESET pulses (devices programmed to HRS), all attempts.
        energy_program: energy of the programming pulses, J.
        verify_reads: verify sense operations (0 without a sense map in the verify).
        energy_verify: energy of the verify reads, J.
        attempts: programming attempts per cell, int32 (rows, cols) (1 without write-verify).
        cells_failed: cells that still fail the verify after the last attempt (0 without verify).
    """

    pulses_set: int
    pulses_reset: int
    energy_program: float
    verify_reads: int
    energy_verify: float
    attempts: torch.Tensor
    cells_failed: int

    @property
    def pulses(self) -> int:
        """All programming pulses."""
        return self.pulses_set + self.pulses_reset

    @property
    def energy(self) -> float:
        """Programming plus verify energy, J."""
        return self.energy_program + self.energy_verify


# ----------------------------------------------------------------------------------------------
# the array
# ----------------------------------------------------------------------------------------------
#: Pairs per chunk when interpolating the sense map's energy (bounds the working memory).
_ENERGY_CHUNK: int = 1 << 20
#: Above this many pairs the read energy is estimated from a subset of pairs. [D] chosen.
ENERGY_MAX_PAIRS: int = 1 << 16


def _sense_values(sense: Any, r_bl: torch.Tensor, r_blb: torch.Tensor,
                  generator: torch.Generator | None) -> torch.Tensor:
    """Sense-map read of flat resistance tensors -> int8 (N,)."""
    if r_bl.numel() == 0:
        return torch.zeros(0, dtype=torch.int8)
    return torch.as_tensor(sense.sample(r_bl, r_blb, generator)).to(torch.int8).reshape(-1)


def sense_energy(sense: Any, r_bl: torch.Tensor, r_blb: torch.Tensor, *,
                 max_pairs: int | None = ENERGY_MAX_PAIRS) -> float:
    """Energy of sensing each pair once through ``sense``, J (sum over the flat pairs).

    Uses ``sense.energy_per_sense(r_bl, r_blb)`` (J per pair, interpolated over the map). With more
    than ``max_pairs`` pairs the sum is estimated as N x the mean over ``max_pairs`` evenly spaced
    pairs (the pairs are independent draws, so the estimate is unbiased; relative error about
    cv / sqrt(max_pairs) with cv the spread of the energy over pairs); ``max_pairs=None``: exact.
    A map holding a scalar ``energy_per_sense`` instead is used as N x that value. NaN when the map
    carries no energy (e.g. built from measured counts).
    """
    e = sense.energy_per_sense
    n = r_bl.numel()
    if not callable(e):
        return n * float(e)
    if n == 0:
        return 0.0
    if max_pairs is not None and n > max_pairs:
        idx = torch.linspace(0, n - 1, int(max_pairs), dtype=torch.float64).round().to(torch.int64)
        mean = float(torch.as_tensor(e(r_bl[idx], r_blb[idx]), dtype=torch.float64).mean())
        return n * mean
    total = 0.0
    for s in range(0, n, _ENERGY_CHUNK):
        stop = min(n, s + _ENERGY_CHUNK)
        total += float(torch.as_tensor(e(r_bl[s:stop], r_blb[s:stop]), dtype=torch.float64).sum())
    return total


def pulse_energies(device_model: DeviceModel, params: ArrayParams) -> tuple[float, float]:
    """Energy of one SET and one RESET pulse, J: |V| * I * t_pulse ([D] law of ``array.params``).

    SET at ``params.v_set`` and the compliance current; RESET at |V_reset| and
    ``reset_current_ratio`` x the compliance current (the defaults of ``device.params`` when the
    model carries no programming conditions).
    """
    prog = device_model.programming
    i_c = prog.i_compliance if prog is not None else device_params.I_COMPLIANCE_REF
    v_reset = abs(prog.v_reset) if prog is not None else device_params.V_RESET_REF
    e_set = params.v_set * i_c * params.t_pulse_set
    e_reset = v_reset * params.reset_current_ratio * i_c * params.t_pulse_reset
    return e_set, e_reset


class Array2T2R:
    """A rows x cols array of 2T2R cells, each storing one ternary (or binary) weight.

    Args:
        rows, cols: array size (>= 1).
        device_model: RRAM statistics (default :class:`DeviceModel()`).
        params: bit-line, timing and pulse parameters (``rows``/``cols`` there are ignored).

    After :meth:`program`, ``r_bl`` and ``r_blb`` hold the device resistances (float64 (rows, cols),
    ohm) and ``weights`` the stored targets (int8 (rows, cols)).
    """

    def __init__(self, rows: int, cols: int, device_model: DeviceModel | None = None,
                 params: ArrayParams | None = None, *, tile: tuple[int, int] | None = None,
                 column_group: int = 1) -> None:
        base = params if params is not None else DEFAULT_ARRAY
        # validates rows/cols through ArrayParams
        self.params = replace(base, rows=rows, cols=cols)
        self.rows = self.params.rows
        self.cols = self.params.cols
        tr, tc = (self.rows, self.cols) if tile is None else (int(tile[0]), int(tile[1]))
        if tr < 1 or tc < 1:
            raise InputError(f"tile={tile!r} is not allowed: must be (rows, cols) with both >= 1")
        cg = column_group
        if isinstance(cg, bool) or int(cg) != cg or not 1 <= int(cg) <= tc:
            raise InputError(f"column_group={cg!r} is not allowed: must be an integer in [1, {tc}] "
                             "(columns sharing one sense amplifier inside an array)")
        self.tile_rows, self.tile_cols, self.column_group = min(tr, self.rows), min(tc, self.cols), int(cg)
        self.device_model = device_model if device_model is not None else DeviceModel()
        self._z_d2d: torch.Tensor | None = None  # (2, rows, cols) standard normal (float32), persistent
        self.weights: torch.Tensor | None = None
        self.r_bl: torch.Tensor | None = None
        self.r_blb: torch.Tensor | None = None
        #: (n_amplifiers, n_transistors) V: each amplifier's mismatch (see read_transient)
        self.pcsa_mismatch: torch.Tensor | None = None
        #: (n_amplifiers,) int64: pool member of each amplifier (assign_amplifiers)
        self.pool_index: torch.Tensor | None = None
        self._u_static: torch.Tensor | None = None  # (rows*cols,) float32, the draw of a noiseless read
        self._tables: tuple[Any, torch.Tensor, float] | None = None  # (pool, cum (N, 2), energy J)

    # -- sense amplifiers -------------------------------------------------------------------------
    @property
    def n_amplifiers(self) -> int:
        """Sense amplifiers: one per column group of each physical array (tile)."""
        tiles_down = -(-self.rows // self.tile_rows)
        return tiles_down * amplifiers_across(self.cols, self.tile_cols, self.column_group)

    def amplifier_index(self) -> torch.Tensor:
        """Amplifier of each cell, int64 (rows, cols): its tile's column-group amplifier (cached)."""
        cached = getattr(self, "_amp_index", None)
        if cached is None:
            cached = self._amplifier_index()
            self._amp_index = cached
        return cached

    def _amplifier_index(self) -> torch.Tensor:
        return amplifier_index(self.rows, self.cols, self.tile_rows, self.tile_cols, self.column_group)

    def assign_amplifiers(self, pool: Any, generator: torch.Generator | None = None) -> torch.Tensor:
        """Fabricate this array's amplifiers: each picks a member of ``pool`` (an
        :class:`~ternary_rram.array.column.AmplifierPool`) at random, once; its mismatch goes to
        ``pcsa_mismatch``. Also draws the fixed per-cell uniform of noiseless reads. Returns
        ``pool_index`` (n_amplifiers,)."""
        self.pool_index = torch.randint(len(pool), (self.n_amplifiers,), generator=generator)
        self.pcsa_mismatch = pool.mismatch[self.pool_index]
        self._u_static = torch.rand(self.rows * self.cols, generator=generator, dtype=torch.float32)
        self._tables = None
        return self.pool_index

    # -- programming -------------------------------------------------------------------------
    def _program_devices(self, is_lrs: torch.Tensor, z_d2d: torch.Tensor,
                         generator: torch.Generator | None) -> torch.Tensor:
        """One programming pulse on each device given (flat): resistances, ohm, float64."""
        return self.device_model.program_states(is_lrs, z_d2d, generator)

    def _relax(self, r: torch.Tensor, is_lrs: torch.Tensor, t_relax: float,
               generator: torch.Generator | None) -> torch.Tensor:
        """Resistances ``t_relax`` s after programming (relaxation spread added, median kept)."""
        relax = self.device_model.relaxation
        sd = torch.where(is_lrs, torch.sqrt(relax.extra_variance(State.LRS, t_relax)),
                         torch.sqrt(relax.extra_variance(State.HRS, t_relax)))
        if not bool(torch.any(sd > 0)):
            return r
        return r * torch.exp(sd * torch.randn(r.shape, generator=generator, dtype=torch.float32))

    def _cell_fails(self, idx: torch.Tensor, target: torch.Tensor, r_bl: torch.Tensor,
                    r_blb: torch.Tensor, bl_lrs: torch.Tensor, blb_lrs: torch.Tensor,
                    verify: WriteVerify, generator: torch.Generator | None) -> torch.Tensor:
        """Bool (len(idx),): cells (flat indices ``idx``) failing the verify."""
        fail = torch.zeros(idx.numel(), dtype=torch.bool)
        if idx.numel() == r_bl.numel():  # every cell: no gather
            a, b, la, lb, t = r_bl, r_blb, bl_lrs, blb_lrs, target
        else:
            a, b, la, lb, t = r_bl[idx], r_blb[idx], bl_lrs[idx], blb_lrs[idx], target[idx]
        if verify.r_lrs_max is not None or verify.r_hrs_min is not None:
            # one window per device: LRS must stay <= r_lrs_max, HRS >= r_hrs_min
            hi = math.inf if verify.r_lrs_max is None else verify.r_lrs_max
            lo = 0.0 if verify.r_hrs_min is None else verify.r_hrs_min
            fail |= torch.where(la, a > hi, a < lo)
            fail |= torch.where(lb, b > hi, b < lo)
        if verify.sense is not None:
            fail |= _sense_values(verify.sense, a, b, generator) != t
        return fail

    def program(self, weights: Any, generator: torch.Generator | None = None, *,
                verify: WriteVerify | None = None, binary: bool = False,
                t_relax: float = 0.0) -> ProgramResult:
        """Program ``weights`` (int (rows, cols) in {-1,0,+1}; {-1,+1} with ``binary``).

        Every device gets one pulse (SET to LRS, RESET to HRS). With ``verify``, cells failing the
        check are reprogrammed (both devices) until they pass or ``verify.max_pulses`` attempts are
        spent; each verify read through a sense map costs one sense. ``t_relax`` (s): the stored
        resistances are those seen that long after the (verified) programming.
        """
        w = check_weights(weights, binary=binary)
        if tuple(w.shape) != (self.rows, self.cols):
            raise InputError(f"weights shape {tuple(w.shape)} is not allowed: must be "
                             f"({self.rows}, {self.cols})")
        n = self.rows * self.cols
        if self._z_d2d is None:
            self._z_d2d = torch.randn((2, self.rows, self.cols), generator=generator, dtype=torch.float32)
        target = w.reshape(-1)
        bl_lrs, blb_lrs = encode(target)
        z_bl, z_blb = self._z_d2d[0].reshape(-1), self._z_d2d[1].reshape(-1)
        r_bl = self._program_devices(bl_lrs, z_bl, generator)
        r_blb = self._program_devices(blb_lrs, z_blb, generator)
        n_lrs = int(bl_lrs.sum() + blb_lrs.sum())
        pulses_set, pulses_reset = n_lrs, 2 * n - n_lrs
        attempts = torch.ones(n, dtype=torch.int32)
        verify_reads = 0
        verify_energy = 0.0
        cells_failed = 0
        if verify is not None:
            idx = torch.arange(n)
            for attempt in range(1, verify.max_pulses + 1):
                if verify.sense is not None:
                    verify_reads += idx.numel()
                    verify_energy += sense_energy(verify.sense, r_bl[idx], r_blb[idx])
                idx = idx[self._cell_fails(idx, target, r_bl, r_blb, bl_lrs, blb_lrs, verify, generator)]
                if idx.numel() == 0 or attempt == verify.max_pulses:
                    break
                r_bl[idx] = self._program_devices(bl_lrs[idx], z_bl[idx], generator)
                r_blb[idx] = self._program_devices(blb_lrs[idx], z_blb[idx], generator)
                attempts[idx] += 1
                k_lrs = int(bl_lrs[idx].sum() + blb_lrs[idx].sum())
                pulses_set += k_lrs
                pulses_reset += 2 * idx.numel() - k_lrs
            cells_failed = int(idx.numel())
        if t_relax:
            r_bl = self._relax(r_bl, bl_lrs, t_relax, generator)
            r_blb = self._relax(r_blb, blb_lrs, t_relax, generator)
        self.weights = w
        self._tables = None
        self.r_bl = r_bl.reshape(self.rows, self.cols)
        self.r_blb = r_blb.reshape(self.rows, self.cols)
        e_set, e_reset = pulse_energies(self.device_model, self.params)
        energy_verify = 0.0
        if verify_reads:
            s = verify.sense
            energy_verify = (verify_energy
                             + verify_reads * self.params.bitline_energy_per_column_read(s.op.vdd))
        return ProgramResult(pulses_set=pulses_set, pulses_reset=pulses_reset,
                             energy_program=pulses_set * e_set + pulses_reset * e_reset,
                             verify_reads=verify_reads, energy_verify=energy_verify,
                             attempts=attempts.reshape(self.rows, self.cols), cells_failed=cells_failed)

    # -- reading ------------------------------------------------------------------------------
    def _require_programmed(self) -> None:
        if self.weights is None:
            raise InputError("reading an unprogrammed array is not allowed: call program(weights) first")

    def _finish_read(self, values: torch.Tensor, energy_sense: float, op: OperatingPoint) -> ReadResult:
        """ReadResult of sensed ``values`` (rows*cols,): errors, bit-line energy and latency of one tile."""
        read = values.to(torch.int8).reshape(self.rows, self.cols)
        e_bitline, latency = self._bitline_and_latency(op)
        return ReadResult(weights=read, errors=count_errors(self.weights, read), n_senses=self.rows * self.cols,
                          energy_sense=energy_sense, energy_bitline=e_bitline, latency=latency)

    def _bitline_and_latency(self, op: OperatingPoint) -> tuple[float, float]:
        """Bit-line energy (J) and latency (s) of one full read at ``op``: bit lines and rows of one tile."""
        n = self.rows * self.cols
        return (n * self.params.bitline_energy_per_column_read(op.vdd, self.tile_rows),
                self.params.read_latency(op.t_sense, self.tile_rows))

    def _cell_tables(self, pool: Any) -> tuple[torch.Tensor, float]:
        """Cumulative read probabilities (rows*cols, 2) of every cell under ``pool`` and their summed
        energy per sense, J: interpolated once (resistances and amplifiers are static) and kept."""
        self._require_programmed()
        if self.pool_index is None or self._u_static is None:
            raise InputError("reading through column amplifiers needs assign_amplifiers(pool) first")
        if self._tables is None or self._tables[0] is not pool:
            amp = self.pool_index[self.amplifier_index().reshape(-1)]
            cum, e = pool.cell_tables(amp, self.r_bl.reshape(-1), self.r_blb.reshape(-1))
            self._tables = (pool, cum, e)
        return self._tables[1], self._tables[2]

    def read_cost(self, pool: Any) -> tuple[float, float, float]:
        """(sense energy J, bit-line energy J, latency s) of one full read through ``pool``'s amplifiers,
        as :meth:`read_columns` reports them, without drawing a read."""
        _, e_sense = self._cell_tables(pool)
        return (e_sense, *self._bitline_and_latency(pool.op))

    def read_columns(self, pool: Any, generator: torch.Generator | None = None) -> ReadResult:
        """Read every cell once through its own column amplifier (the chip read).

        ``pool`` must be the one given to :meth:`assign_amplifiers`. The cells' outcome
        probabilities under the pool's per-read noise are interpolated once (resistances and
        amplifiers are static) and kept; each read then draws one uniform per cell from
        ``generator`` (with a noiseless pool: the fixed per-cell draw, so reads repeat exactly).
        Energy: each cell's amplifier's energy per sense, summed, + bit-line charging per column
        read (bit lines of one tile); latency: tile rows x (t_precharge + t_sense).
        """
        cum, e_sense = self._cell_tables(pool)
        if pool.deterministic:
            u = self._u_static
        else:
            u = torch.rand(cum.shape[0], generator=generator, dtype=torch.float32)

        return self._finish_read(draw_values(cum, u), e_sense, pool.op)

    def errors_per_amplifier(self, read: torch.Tensor) -> torch.Tensor:
        """Wrong reads per sense amplifier, int64 (n_amplifiers,), of read weights (rows, cols)."""
        self._require_programmed()
        wrong = (read.to(torch.int8) != self.weights).reshape(-1).to(torch.int64)
        return torch.zeros(self.n_amplifiers, dtype=torch.int64).index_add_(
            0, self.amplifier_index().reshape(-1), wrong)

    def read_transient(self, pcsa: PCSA, op: OperatingPoint,
                       generator: torch.Generator | None = None, *, dt: float | None = None,
                       column_mismatch: bool = True, noise: Any = None) -> ReadResult:
        """Read every row through the transient PCSA model at ``op`` (the reference of the maps).

        With ``column_mismatch`` (default) each amplifier (:attr:`n_amplifiers`, one per column
        group of a tile) keeps one transistor mismatch: that of :meth:`assign_amplifiers`, else drawn
        here once from ``generator``; it is kept in ``pcsa_mismatch`` (n_amplifiers, n_transistors) V
        and used for every row and every later read. Without it, mismatch is redrawn for each sense
        (what a mismatch-averaged sense map averages over). ``noise``: a
        :class:`~ternary_rram.array.params.ReadNoise` drawn afresh for this read (None: none).
        ``dt``: integration step passed to ``pcsa.sense`` (None: its default). Energy of the senses
        is the sum of ``SenseResult.energy``; bit lines and latency as in :meth:`read_columns`.
        """
        self._require_programmed()
        kw: dict[str, Any] = {} if dt is None else {"dt": dt}
        rb, rbb = self.r_bl.reshape(-1), self.r_blb.reshape(-1)
        n = rb.numel()
        if column_mismatch:
            mm = self.pcsa_mismatch
            if mm is None or mm.shape[0] != self.n_amplifiers:
                mm = torch.as_tensor(pcsa.sample_mismatch(self.n_amplifiers, generator), dtype=torch.float64)
                self.pcsa_mismatch = mm
            dvth = mm[self.amplifier_index().reshape(-1)]
        else:
            dvth = torch.as_tensor(pcsa.sample_mismatch(n, generator), dtype=torch.float64)
        if noise is not None:

            rb, rbb, dvth = noisy_inputs(pcsa, op, rb, rbb, dvth, noise, generator)
        res = pcsa.sense(rb, rbb, op, dvth=dvth, **kw)
        energy = float(torch.sum(torch.as_tensor(res.energy, dtype=torch.float64)))
        return self._finish_read(torch.as_tensor(res.value), energy, op)

    def __repr__(self) -> str:
        state = "programmed" if self.weights is not None else "empty"
        return f"Array2T2R(rows={self.rows}, cols={self.cols}, {state})"

