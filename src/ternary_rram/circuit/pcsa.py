"""Precharge sense amplifier (PCSA) reading a 2T2R cell: batched transient model (docs/physics.md section 1.3-1.4).

Circuit (the ngspice netlist in ``spice.py`` is the same circuit):

    MPC1: VDD -> OUT  gate SEN (PMOS)      MPC2: VDD -> OUTb gate SEN (PMOS)
    MP1 : VDD -> OUT  gate OUTb (PMOS)     MP2 : VDD -> OUTb gate OUT (PMOS)
    MN1 : OUT -> BL   gate OUTb (NMOS)     MN2 : OUTb -> BLb gate OUT (NMOS)
    R_bl: BL -> M  (RRAM)                  R_blb: BLb -> Mb (RRAM)
    MA1 : M -> F gate WL=VDD (NMOS)        MA2 : Mb -> F gate WL=VDD (NMOS)
    MF  : F -> GND gate SEN (NMOS)

State nodes (each with a capacitance to ground): OUT, OUTb, BL, BLb, M, Mb, F.

Phases. Precharge (SEN = 0) is taken as fully settled: the start of evaluation is the DC solution
of the circuit with SEN = 0 (OUT = OUTb = VDD; BL, M, F float at the level where the off footer's
leakage balances the latch NMOS), found by pseudo-transient continuation. Evaluation: SEN ramps
linearly 0 -> VDD in ``t_rise`` from t = 0, then stays at VDD until ``t_sense``.

Integrator: ROS2, the L-stable second-order Rosenbrock method (Verwer et al., SIAM J. Sci. Comput.
1999) (gamma: see ``GAMMA_ADAPTIVE``), and the analytic Jacobian. The batch is laid out
as structure of arrays (node voltages (7, N), one row per node): the EKV arguments of all nine
transistors come from one matrix product, and the 7x7 system I - gamma h J / C is solved by a sparse
LU without pivoting whose elimination order and fill-in are fixed once (``_SparseLU``), as vector
operations over the batch. Two step policies:

* Default (``dt=None``): error-controlled global step for the whole batch. The embedded first-order
  solution (linearly-implicit Euler, V + h k1) gives the local error estimate h/2 |k1 + k2| per node;
  a step is accepted when, for every instance and node, it is below ``atol_fraction * VDD +
  rtol * |V|`` and that of OUT - OUTb below ``rtol_diff * |OUT - OUTb| + atol_diff_fraction * VDD`` (the differential
  mode sets every decision, so regeneration in any undecided instance shrinks the step); otherwise it is redone
  smaller. Next step: h * clip(0.9 err^(-1/2), 0.2, 5) (no growth right after a rejection). The
  step is at most t_rise/8 during the SEN edge, lands on the end of the edge, and never passes
  t_sense. The decision time is the crossing of the cubic Hermite interpolant of |OUT - OUTb| (values
  and slopes at both ends of the step).
* ``dt`` given: the fixed step ``dt`` (``PCSA.default_dt`` is tau / steps_per_tau, see
  ``PCSA.characteristic_time``), t_rise/8 during the SEN edge and growing by 1.3x per step up to dt
  after it; once every instance of the batch has decided the step may grow to 10 dt. Decision times
  are linearly interpolated. This is the reference used by the accuracy tests.

In both, the batch stops early once every instance has decided and no node would move by more than
1 mV in the rest of the window.

Energy per sense (J) = VDD * (Q_eval + Q_restore): Q_eval is the charge VDD delivers during the
evaluation window (integrated supply current); Q_restore = sum_i C_i max(V_pre,i - V_end,i, 0) is
the charge the next precharge draws from VDD to bring every node back to its precharged level
(charge left above that level is not returned to VDD).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from ternary_rram.circuit.mosfet import EKVCoefficients, ekv_current, ekv_from_arguments
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.params import DEFAULT_PCSA, N_TRANSISTORS, R_HRS, R_LRS, PCSAParams
from ternary_rram.errors import InputError, check_positive

Tensor = torch.Tensor

# Node numbering: states first, then fixed-voltage rails.
OUT, OUTB, BL, BLB, MID, MIDB, FOOT = range(7)
N_STATES = 7
VDD_NODE, GND_NODE, SEN_NODE = 7, 8, 9
STATE_NAMES = ("OUT", "OUTb", "BL", "BLb", "M", "Mb", "F")

# (drain, gate, source, bulk is VDD) per transistor, TRANSISTOR_NAMES order.
TOPOLOGY: tuple[tuple[int, int, int, bool], ...] = (
    (OUT, SEN_NODE, VDD_NODE, True),    # MPC1
    (OUTB, SEN_NODE, VDD_NODE, True),   # MPC2
    (OUT, OUTB, VDD_NODE, True),        # MP1
    (OUT, OUTB, BL, False),             # MN1
    (OUTB, OUT, VDD_NODE, True),        # MP2
    (OUTB, OUT, BLB, False),            # MN2
    (MID, VDD_NODE, FOOT, False),       # MA1 (WL tied to VDD)
    (MIDB, VDD_NODE, FOOT, False),      # MA2
    (FOOT, SEN_NODE, GND_NODE, False),  # MF
)
MIRROR = (OUTB, OUT, BLB, BL, MIDB, MID, FOOT)  # state permutation that swaps the two branches
RRAM_BRANCHES = ((BL, MID), (BLB, MIDB))  # R_bl: BL -> M, R_blb: BLb -> Mb
MIRROR_TRANSISTOR_PAIRS = ((0, 1), (2, 4), (3, 5), (6, 7))
SETTLE_TOLERANCE = 1.0e-3
# ROS2 is second order for any gamma and L-stable for both roots of gamma^2 - 2 gamma + 1/2 = 0. Its
# stability function R(z) = (1 + (1 - 2 gamma) z) / (1 - gamma z)^2 has a pole at z = 1 / gamma, and the
# latch's regeneration is a growing mode (z > 0). Error-controlled steps keep z small, and there the
# smaller root is far more accurate: its pole sits at z = 3.4 instead of 0.59, so R stays close to e^z
# (z = 0.5: 0.5 % off, where the larger root gives the wrong sign). Measured: 1/3 fewer steps and a smaller
# error than with gamma = 1 + 1/sqrt 2. A fixed step cannot see the pole, so it keeps the larger root:
# an over-long step then damps the growing mode instead of blowing it up past the pole.
GAMMA_ADAPTIVE = 1.0 - 1.0 / math.sqrt(2.0)
GAMMA_FIXED = 1.0 + 1.0 / math.sqrt(2.0)
POST_DECISION_STEP_GROWTH = 10.0
# Pseudo-transient step sizes (s) for the precharge DC state: 1e-13 s * 2.5^k up to 1 s, then 1e3 s
# (far past every leakage time constant); the warm start from a nominal solution needs far fewer.
_FULL_CONTINUATION = tuple(min(1e-13 * 2.5 ** k, 1.0) for k in range(38)) + (1e3, 1e3)
_WARM_CONTINUATION = (1e-5, 1e-3, 1e-1, 1e1, 1e3, 1e3, 1e3, 1e3, 1e3)
# Further Newton steps (s) for the instances the warm start leaves unconverged (under 1 % of a batch): at
# 1.2 V, 61 of 8192 (LRS, HRS) cells, all converged after these, within 1e-15 V of the full continuation.
_EXTRA_NEWTON = (1e3,) * 6


@dataclass
class SenseResult:
    """Per instance (shape (N,)): out, outb (V) at the end of the window; value int8 in {-1, 0, +1};
    t_decide (s from the start of evaluation, NaN if undecided); energy (J drawn from VDD per sense)."""

    out: Tensor
    outb: Tensor
    value: Tensor
    t_decide: Tensor
    energy: Tensor


# ------------------------------------------------------------------ sparse structure of the node equations
def _jacobian_stamps() -> dict[tuple[int, int], list[tuple[int, float]]]:
    """Per structurally non-zero (row, col) of d(current into node row)/d(V of node col): the terms
    (row of the stacked derivatives (di/dg, di/ds, di/dd) x 9 transistors, sign) that sum to it.
    The diagonal and the RRAM entries are always present."""
    stamps: dict[tuple[int, int], list[tuple[int, float]]] = {(i, i): [] for i in range(N_STATES)}
    for a, b in RRAM_BRANCHES:
        for entry in ((a, b), (b, a)):
            stamps.setdefault(entry, [])
    for k, (d, g, s, _) in enumerate(TOPOLOGY):
        for row, sign in ((d, -1.0), (s, +1.0)):  # current i leaves the drain node, enters the source node
            if row >= N_STATES:
                continue
            for which, col in enumerate((g, s, d)):
                if col < N_STATES:
                    stamps.setdefault((row, col), []).append((which * N_TRANSISTORS + k, sign))
    return stamps


# Low nodes first: the RRAM/access/footer part is diagonally dominant and fills in only BL-F and BL-BLb;
# the latch pair, whose transconductances can exceed its diagonal, comes last. No pivoting is needed:
# every pivot is 1 + h/C (sum of conductances) >= 1 before its Schur update.
ELIMINATION_ORDER = (MID, MIDB, FOOT, BL, BLB, OUT, OUTB)


@dataclass(frozen=True)
class _SparseLU:
    """Symbolic LU of I - h J / C for ELIMINATION_ORDER: slot of every stored entry (fill-in included)
    and the fixed list of elimination and substitution operations over slots."""

    slot: dict[tuple[int, int], int]                                     # (row, col) -> row of the (E, N) store
    factor: tuple[tuple[int, int, tuple[tuple[int, tuple[tuple[int, int], ...]], ...]], ...]
    lower: tuple[tuple[int, tuple[tuple[int, int], ...]], ...]          # (k, ((i, slot ik), ...))
    upper: tuple[tuple[int, tuple[tuple[int, int], ...]], ...]          # reversed order: (k, ((j, slot kj), ...))

    @classmethod
    def build(cls, pattern) -> _SparseLU:
        entries = set(pattern)
        pivots = []  # (k, rows below it, columns right of it): fill-in of later pivots never adds to these
        for pos, k in enumerate(ELIMINATION_ORDER):  # symbolic elimination: record the fill-in
            later = ELIMINATION_ORDER[pos + 1:]
            rows = [i for i in later if (i, k) in entries]
            cols = [j for j in later if (k, j) in entries]
            entries.update((i, j) for i in rows for j in cols)
            pivots.append((k, rows, cols))
        ordered = [(i, i) for i in range(N_STATES)] + sorted(e for e in entries if e[0] != e[1])
        slot = {e: n for n, e in enumerate(ordered)}
        factor, lower, upper = [], [], []
        for k, rows, cols in pivots:
            factor.append((k, slot[(k, k)], tuple((slot[(i, k)], tuple((slot[(i, j)], slot[(k, j)]) for j in cols))
                                                  for i in rows)))
            lower.append((k, tuple((i, slot[(i, k)]) for i in rows)))
            upper.append((k, tuple((j, slot[(k, j)]) for j in cols)))
        return cls(slot, tuple(factor), tuple(lower), tuple(reversed(upper)))

    def factorize(self, rows: list[Tensor], inv: list[Tensor]) -> None:
        """In place on the store's rows (E views of (N,)): L (unit diagonal) below, U above; the
        inverse pivots go to ``inv`` (7 views of (N,), indexed by node)."""
        for k, s_kk, below in self.factor:
            torch.reciprocal(rows[s_kk], out=inv[k])
            for s_ik, updates in below:
                lik = rows[s_ik].mul_(inv[k])
                for s_ij, s_kj in updates:
                    rows[s_ij].addcmul_(lik, rows[s_kj], value=-1.0)

    def solve_(self, rows: list[Tensor], inv: list[Tensor], x: Tensor) -> Tensor:
        """Overwrite the right-hand side x (7, N) with the solution of (I - h J / C) x = rhs, from
        ``factorize``'s rows and inverse pivots; returns x."""
        xs = x.unbind(0)
        for k, below in self.lower:
            for i, s_ik in below:
                xs[i].addcmul_(rows[s_ik], xs[k], value=-1.0)
        for k, cols in self.upper:
            for j, s_kj in cols:
                xs[k].addcmul_(rows[s_kj], xs[j], value=-1.0)
            xs[k].mul_(inv[k])
        return x


STAMPS = _jacobian_stamps()
SPARSE_LU = _SparseLU.build(STAMPS)


class _Kernel:
    """Node equations of one PCSA at one operating point for a batch of N instances.

    Structure of arrays: node voltages are (7, N) in V, one contiguous row per node, so every
    operation is a long vector operation. The EKV arguments of the 9 transistors come from one
    matrix product: rows 0-8 (V_P - V_S) / 2U_T, rows 9-17 (V_P - V_D) / 2U_T, rows 18-26 the
    mirrored V_DS, as M (27, 7) @ v + SEN * m_sen (27, 1) + offset (27, N); the offset holds the
    rails, the bulk and each instance's threshold offset.
    """

    def __init__(self, p: PCSAParams, op: OperatingPoint, g_bl: Tensor, g_blb: Tensor, dvth: Tensor,
                 dtype: torch.dtype = torch.float64) -> None:
        device = g_bl.device
        # Everything is set up in float64 and the per-step tensors are then cast to ``dtype``.
        f64 = dict(dtype=torch.float64, device=device)
        col = lambda x: x.view(-1, 1).to(dtype)  # noqa: E731
        c = EKVCoefficients.build(p.transistor_types(), p.widths, p.lengths, op.temperature, device=device)
        dibl = col(c.sigma_dibl) if bool((c.sigma_dibl != 0).any()) else 0.0  # 0.0: the DIBL terms are skipped
        self.coef = EKVCoefficients(col(c.polarity), col(c.vt), col(c.n), col(c.i_spec), col(c.lambda_clm), c.u_t,
                                    dibl)
        self.dtype = dtype
        pol, n_slope, u_t = c.polarity.tolist(), c.n.tolist(), c.u_t
        vbulk = [op.vdd if b else 0.0 for (_, _, _, b) in TOPOLOGY]
        m = torch.zeros(3 * N_TRANSISTORS, N_STATES + 3, **f64)  # columns: 7 states, VDD, GND, SEN
        for k, (d, g, s, _) in enumerate(TOPOLOGY):
            for base, far in ((0, s), (N_TRANSISTORS, d)):
                m[base + k, g] += pol[k] / (2.0 * n_slope[k] * u_t)
                m[base + k, far] -= pol[k] / (2.0 * u_t)
            m[2 * N_TRANSISTORS + k, d] += pol[k]
            m[2 * N_TRANSISTORS + k, s] -= pol[k]
        self.m_state = m[:, :N_STATES].to(dtype).contiguous()
        self.m_sen = m[:, SEN_NODE:SEN_NODE + 1].to(dtype).contiguous()
        # Constant part per transistor: -(pol V_bulk + V_T) / (2 n U_T) + pol V_bulk / (2 U_T) (+ VDD rail).
        vb = torch.tensor(vbulk, **f64)
        const = (-(c.polarity * vb + c.vt) / (2.0 * c.n * u_t) + c.polarity * vb / (2.0 * u_t))
        offset = (m[:, VDD_NODE] * op.vdd).view(-1, 1).repeat(1, g_bl.shape[0])
        shift = col(const) - dvth.T / col(2.0 * c.n * u_t)  # (9, N) threshold offsets enter V_P
        offset[:N_TRANSISTORS] += shift
        offset[N_TRANSISTORS:2 * N_TRANSISTORS] += shift
        self.offset = offset.to(dtype)
        incidence = torch.zeros(N_STATES + 1, N_TRANSISTORS, **f64)  # node rows, then the VDD supply row
        for k, (d, _, s, _) in enumerate(TOPOLOGY):
            if d < N_STATES:
                incidence[d, k] -= 1.0
            if s < N_STATES:
                incidence[s, k] += 1.0
            incidence[N_STATES, k] = (1.0 if d == VDD_NODE else 0.0) - (1.0 if s == VDD_NODE else 0.0)
        self.incidence = incidence.to(dtype)
        caps = (p.c_out, p.c_out, p.c_bl, p.c_bl, p.c_mid, p.c_mid, p.c_foot)  # F, per state node
        self.cap = torch.tensor(caps, **f64).view(-1, 1).to(dtype)
        self.g_bl, self.g_blb = g_bl.to(dtype), g_blb.to(dtype)
        g_bl, g_blb = self.g_bl, self.g_blb
        self.vdd = op.vdd
        self.n = n = g_bl.shape[0]
        # Work buffers, reused by every step (row views made once: indexing costs more than the ops).
        fw = dict(dtype=dtype, device=device)
        self.args = torch.empty(3 * N_TRANSISTORS, n, **fw)
        self.deriv = torch.empty(3, N_TRANSISTORS, n, **fw)
        self.work = torch.empty(4, 2, N_TRANSISTORS, n, **fw)
        self.flow = torch.empty(N_STATES + 1, n, **fw)
        self.deriv_flat = self.deriv.view(3 * N_TRANSISTORS, n)
        self.store = torch.empty(len(SPARSE_LU.slot), n, **fw)
        self.rows = list(self.store.unbind(0))
        self.pivots = torch.empty(N_STATES, n, **fw)
        self.inv = list(self.pivots.unbind(0))
        # -h J / C = h (S @ derivatives + R): S (E, 27) sums each transistor derivative into its stored
        # entries (sign / C of the row's node); R (E, N) holds the RRAM conductances (-g on the
        # diagonal of J, +g off it). One matrix product stamps the whole store.
        stamp = torch.zeros(len(SPARSE_LU.slot), 3 * N_TRANSISTORS, **f64)
        for entry, terms in STAMPS.items():
            for source, sign in terms:
                stamp[SPARSE_LU.slot[entry], source] -= sign / caps[entry[0]]
        self.stamp = stamp.to(dtype)
        self.rram = torch.zeros(len(SPARSE_LU.slot), n, **fw)
        for (a, b), g in zip(RRAM_BRANCHES, (g_bl, g_blb)):
            for node, other in ((a, b), (b, a)):
                self.rram[SPARSE_LU.slot[(node, node)]] += g / caps[node]
                self.rram[SPARSE_LU.slot[(node, other)]] -= g / caps[node]

    def evaluate(self, v: Tensor, sen: float, jacobian: bool) -> tuple[Tensor, Tensor]:
        """Currents into the nodes (7, N) A and the supply current from VDD (N,) A at node voltages
        ``v`` (7, N) V and SEN = ``sen`` V. With ``jacobian`` the transistor derivatives also go to
        the work buffer that the next ``factorize`` reads. The node currents are a view of a work
        buffer: valid until the next call."""
        args = torch.addmm(self.offset, self.m_state, v, out=self.args).add_(self.m_sen, alpha=sen)
        half_ab = args[:2 * N_TRANSISTORS].view(2, N_TRANSISTORS, -1)
        vds = args[2 * N_TRANSISTORS:]
        if jacobian:
            i = ekv_from_arguments(self.coef, half_ab, vds, derivatives=True, out=self.deriv, work=self.work)[0]
        else:
            i = ekv_from_arguments(self.coef, half_ab, vds, work=self.work)
        flow = torch.mm(self.incidence, i, out=self.flow)
        cur, supply = flow[:N_STATES], flow[N_STATES].clone()
        for (a, b), g in zip(RRAM_BRANCHES, (self.g_bl, self.g_blb)):
            i_r = g * (v[a] - v[b])
            cur[a].sub_(i_r)
            cur[b].add_(i_r)
        return cur, supply

    def factorize(self, h: float) -> None:
        """LU of I - h J / C, J from the derivatives of the last ``evaluate(..., jacobian=True)``."""
        torch.addmm(self.rram, self.stamp, self.deriv_flat, beta=h, alpha=h, out=self.store)
        self.store[:N_STATES].add_(1.0)  # the identity: slots 0-6 are the diagonal
        SPARSE_LU.factorize(self.rows, self.inv)

    def solve_(self, rhs: Tensor) -> Tensor:
        """Solve (I - h J / C) x = rhs (7, N) for the last ``factorize``, in place of rhs; returns it."""
        return SPARSE_LU.solve_(self.rows, self.inv, rhs)


def _validate_resistance(name: str, r) -> Tensor:
    t = torch.as_tensor(r)
    if not torch.is_floating_point(t):
        t = t.to(torch.float64)
    t = t.to(torch.float64).reshape(-1)
    bad = ~(torch.isfinite(t) & (t > 0))
    if bool(bad.any()):
        k = int(bad.nonzero()[0])
        raise InputError(f"{name}[{k}]={float(t[k])!r} is not allowed: resistances must be finite and > 0 ohm")
    return t


class PCSA:
    """Batched transient model of the precharge sense amplifier (see module docstring)."""

    def __init__(self, params: PCSAParams = DEFAULT_PCSA, *, dtype: torch.dtype = torch.float64) -> None:
        """``dtype``: precision of the evaluation-phase integration (float64, or float32: about 2x faster
        on CPU, within the accuracy test's tolerances of float64, see docs/benchmarks.md). The precharge
        state, decision times, charges and energies are always float64."""
        if dtype not in (torch.float64, torch.float32):
            raise InputError(f"dtype={dtype!r} is not allowed: must be torch.float64 or torch.float32")
        self.params = params
        self.dtype = dtype

    # ----------------------------------------------------------------------------------- mismatch
    def sigma_vt(self, device=None) -> Tensor:
        """Pelgrom sigma of the threshold offset per transistor (9,) in V."""
        return torch.tensor(self.params.sigma_vt(), dtype=torch.float64, device=device)

    def sample_mismatch(self, n: int, generator: torch.Generator | None = None, *, device=None) -> Tensor:
        """Threshold offsets (n, 9) in V, one independent normal draw per transistor (Pelgrom sigma)."""
        if device is None and generator is not None:
            device = generator.device
        z = torch.randn(int(n), N_TRANSISTORS, generator=generator, dtype=torch.float64, device=device)
        return z * self.sigma_vt(device)

    # ------------------------------------------------------------------------------- time scales
    def characteristic_time(self, op: OperatingPoint) -> float:
        """(c_out + c_bl) / g_m of the latch NMOS fully on (V_G = V_D = VDD, V_S = 0) at this operating
        point (s): the regeneration time scale of the latch, which sets the time step. g_m/I grows
        towards 1/(n U_T) below threshold, so this follows the exponential build-up at low VDD."""
        c = EKVCoefficients.build(self.params.transistor_types(), self.params.widths, self.params.lengths,
                                  op.temperature)
        v = torch.tensor([op.vdd], dtype=torch.float64)
        gm = ekv_current(c, v, torch.zeros(1, dtype=torch.float64), v, 0.0, derivatives=True)[1][3].item()
        return (self.params.c_out + self.params.c_bl) / gm

    def default_dt(self, op: OperatingPoint) -> float:
        """The reference fixed evaluation time step tau / steps_per_tau (s); the default integration is
        error-controlled (module docstring) and uses a fixed step only when ``dt`` is given."""
        dt = self.characteristic_time(op) / self.params.steps_per_tau
        return max(dt, op.t_sense / self.params.max_steps)

    # ------------------------------------------------------------------------------ integration
    def _inputs(self, r_bl, r_blb, dvth, generator):
        r1 = _validate_resistance("r_bl", r_bl)
        r2 = _validate_resistance("r_blb", r_blb)
        if r1.numel() != r2.numel():
            if r1.numel() == 1:
                r1 = r1.expand_as(r2)
            elif r2.numel() == 1:
                r2 = r2.expand_as(r1)
            else:
                raise InputError(f"r_bl has {r1.numel()} entries and r_blb {r2.numel()}: they must match")
        device = r1.device
        r2 = r2.to(device)
        n = r1.numel()
        if dvth is None:
            dvth = (self.sample_mismatch(n, generator).to(device) if generator is not None
                    else torch.zeros(n, N_TRANSISTORS, dtype=torch.float64, device=device))
        dvth = torch.as_tensor(dvth, dtype=torch.float64, device=device)
        if dvth.shape != (n, N_TRANSISTORS):
            raise InputError(f"dvth shape={tuple(dvth.shape)} is not allowed: must be ({n}, {N_TRANSISTORS})")
        return 1.0 / r1, 1.0 / r2, dvth

    def _precharge(self, k: _Kernel, op: OperatingPoint, dvth: Tensor) -> Tensor:
        """DC state with SEN = 0, (7, N) in V.

        Pseudo-transient continuation (backward Euler, one Newton iteration per step, growing step):
        first for one nominal instance from OUT = OUTb = VDD, all else 0 (cached per parameters, VDD
        and temperature; two devices of sqrt(R_LRS R_HRS), no mismatch); then every instance starts
        from that nominal state for a short continuation; instances whose last update is not below
        1e-9 V take a few more Newton steps on their own, and those still not converged redo the full
        continuation from scratch.
        """
        nominal = _nominal_precharge(self.params, op.vdd, op.temperature, str(k.g_bl.device)).to(k.g_bl.device)
        v, step = _continuation(k, nominal.expand(N_STATES, k.n).clone(), _WARM_CONTINUATION)
        bad = step > 1e-9
        if bool(bad.any()):
            idx = bad.nonzero().squeeze(1)
            sub = _Kernel(self.params, op, k.g_bl[idx], k.g_blb[idx], dvth[idx])
            more, step = _continuation(sub, v[:, idx], _EXTRA_NEWTON)
            left = step > 1e-9
            if bool(left.any()):
                last = _Kernel(self.params, op, sub.g_bl[left], sub.g_blb[left], dvth[idx[left]])
                redo, _ = _continuation(last, _precharge_start(op.vdd, last.n, k.g_bl.device), _FULL_CONTINUATION)
                more[:, left] = redo
            v[:, idx] = more
        return v

    def _integrate(self, r_bl, r_blb, op: OperatingPoint, dvth, generator, dt, record: bool):
        if not isinstance(op, OperatingPoint):
            raise InputError(f"op={op!r} is not allowed: must be an OperatingPoint")
        g_bl, g_blb, dvth = self._inputs(r_bl, r_blb, dvth, generator)
        if dt is not None:
            dt = check_positive("dt", dt, unit="s")
        k = _Kernel(self.params, op, g_bl, g_blb, dvth)
        sym = _symmetric_instances(g_bl, g_blb, dvth)
        v_pre = _symmetrize(self._precharge(k, op, dvth), sym)
        cap = k.cap
        if self.dtype != torch.float64:  # the precharge stays float64: its convergence test is at 1e-9 V
            k = _Kernel(self.params, op, g_bl, g_blb, dvth, self.dtype)
        start = v_pre.to(self.dtype, copy=True)
        if dt is None:
            v, t_decide, q_eval, traces = self._adaptive(k, start, op, sym, record)
        else:
            v, t_decide, q_eval, traces = self._fixed(k, start, op, sym, dt, record)
        v = v.to(torch.float64)
        q_restore = ((v_pre - v) * cap).clamp_min(0.0).sum(dim=0)
        energy = op.vdd * (q_eval + q_restore)
        value = decode(v[OUT], v[OUTB], op.vdd, self.params.readout_fraction)
        return SenseResult(v[OUT].clone(), v[OUTB].clone(), value, t_decide, energy), traces

    def _fixed(self, k: _Kernel, v: Tensor, op: OperatingPoint, sym, dt: float, record: bool):
        """Fixed-step ROS2 (module docstring); returns the final state (7, N), t_decide (N,), Q_eval (N,)
        and the traces (or None)."""
        p = self.params
        refine = max(self.default_dt(op) / dt, 1.0)
        gamma = GAMMA_FIXED
        thr = p.decision_fraction * op.vdd
        t_decide = torch.full((k.n,), float("nan"), dtype=torch.float64, device=v.device)
        q_eval = torch.zeros_like(t_decide)
        sen_of = lambda t: op.vdd * min(max(t / p.t_rise, 0.0), 1.0)  # noqa: E731
        t, h, h_prev = 0.0, min(p.t_rise / (8.0 * refine), dt), 0.0
        diff_prev = (v[OUT] - v[OUTB]).abs()
        supply_prev = None
        all_decided = False
        traces = _Traces(v) if record else None
        step = 0
        while t < op.t_sense * (1.0 - 1e-12):
            cur, supply = k.evaluate(v, sen_of(t), True)
            if supply_prev is not None:
                q_eval += 0.5 * (supply_prev + supply) * h_prev
            supply_prev = supply
            if step % 8 == 7:
                all_decided = not bool(t_decide.isnan().any())
                if all_decided and not record:
                    drift = (cur / k.cap).abs().amax() * (op.t_sense - t)
                    if float(drift) < SETTLE_TOLERANCE:
                        q_eval += supply * (op.t_sense - t)  # leakage for the rest of the window
                        supply_prev = None
                        break
            step += 1
            if t >= p.t_rise:
                # Once every instance has decided only slow RC settling is left: let the step grow.
                h = min(h * 1.3, dt * (POST_DECISION_STEP_GROWTH if all_decided else 1.0))
            h = min(h, op.t_sense - t)
            k.factorize(gamma * h)
            k1 = k.solve_(cur / k.cap)
            cur2, _ = k.evaluate(v + h * k1, sen_of(t + h), False)
            k2 = k.solve_(cur2 / k.cap - 2.0 * k1)
            v = _symmetrize(v + h * (1.5 * k1 + 0.5 * k2), sym)
            t += h
            h_prev = h
            diff = (v[OUT] - v[OUTB]).abs()
            new = t_decide.isnan() & (diff > thr)
            if bool(new.any()):
                # Linear interpolation of |OUT - OUTb| across the step.
                frac = (thr - diff_prev) / (diff - diff_prev).clamp_min(1e-30)
                t_decide = torch.where(new, (t - h) + frac.clamp(0.0, 1.0).to(torch.float64) * h, t_decide)
            diff_prev = diff
            if traces is not None:
                traces.add(t, v)
        if supply_prev is not None:
            _, supply = k.evaluate(v, sen_of(t), False)
            q_eval += 0.5 * (supply_prev + supply) * h_prev
        return v, t_decide, q_eval, (traces.stacked() if traces is not None else None)

    def _adaptive(self, k: _Kernel, v: Tensor, op: OperatingPoint, sym, record: bool):
        """Error-controlled ROS2 over the evaluation window (module docstring). Returns the final
        state (7, N), t_decide (N,), Q_eval (N,) and the traces (or None)."""
        p = self.params
        gamma = GAMMA_ADAPTIVE
        thr = p.decision_fraction * op.vdd
        atol, rtol = p.atol_fraction * op.vdd, p.rtol
        atol_d, rtol_d = p.atol_diff_fraction * op.vdd, p.rtol_diff
        t_end = op.t_sense
        h_min = 1e-9 * t_end
        t_decide = torch.full((k.n,), float("nan"), dtype=torch.float64, device=v.device)
        q_eval = torch.zeros_like(t_decide)
        sen_of = lambda t: op.vdd * min(max(t / p.t_rise, 0.0), 1.0)  # noqa: E731
        t, h = 0.0, p.t_rise / 8.0
        cur, supply = k.evaluate(v, sen_of(t), True)
        dvdt = cur / k.cap
        traces = _Traces(v) if record else None
        rejected = False
        undecided = True
        while t < t_end * (1.0 - 1e-12):
            if not undecided and not record:
                drift = dvdt.abs().amax() * (t_end - t)
                if float(drift) < SETTLE_TOLERANCE:
                    q_eval += supply * (t_end - t)  # leakage for the rest of the window
                    break
            if t < p.t_rise:
                h = min(h, p.t_rise / 8.0, p.t_rise - t)
            h = min(h, t_end - t)
            k.factorize(gamma * h)
            k1 = k.solve_(dvdt.clone())
            stage = torch.add(v, k1, alpha=h)
            cur2, _ = k.evaluate(stage, sen_of(t + h), False)
            k2 = k.solve_(torch.div(cur2, k.cap, out=stage).add_(k1, alpha=-2.0))
            v_new = torch.add(v, k1, alpha=1.5 * h).add_(k2, alpha=0.5 * h)
            est = k1.add_(k2).mul_(0.5 * h)  # in k1's buffer: k1 is not needed any more
            est_d = est[OUT] - est[OUTB]
            # |est| / (atol + rtol max(|V|, |V_new|)), the scale in k2's buffer
            scale = torch.abs(v, out=k2)
            torch.maximum(scale, v_new.abs(), out=scale).mul_(rtol).add_(atol)
            err_t = est.abs_().div_(scale).amax()
            d_old = v[OUT] - v[OUTB]
            d_new = v_new[OUT] - v_new[OUTB]
            if undecided:  # decided instances only need the node tolerance
                err_d = est_d.abs() / (atol_d + rtol_d * torch.maximum(d_old.abs(), d_new.abs()))
                err_t = torch.maximum(err_t, torch.where(t_decide.isnan(), err_d, 0.0).amax())
            err = float(err_t)
            if not math.isfinite(err):  # a stage far outside the rails: shrink the step, never accept it
                err = 1e10
            if err > 1.0 and h > h_min:
                h = max(h * max(0.2, 0.9 * err ** -0.5), h_min)
                rejected = True
                continue
            v_new = _symmetrize(v_new, sym)
            t_new = t + h
            cur, supply_new = k.evaluate(v_new, sen_of(t_new), True)
            dvdt_new = cur / k.cap
            q_eval += 0.5 * (supply + supply_new) * h
            d_new = v_new[OUT] - v_new[OUTB]
            if undecided:
                new = t_decide.isnan() & (d_new.abs() > thr)
                if bool(new.any()):
                    idx = new.nonzero().squeeze(1)
                    sgn = torch.sign(d_new[idx])
                    y0, y1 = sgn * d_old[idx], sgn * d_new[idx]
                    s0 = sgn * (dvdt[OUT, idx] - dvdt[OUTB, idx]) * h
                    s1 = sgn * (dvdt_new[OUT, idx] - dvdt_new[OUTB, idx]) * h
                    f64 = torch.float64
                    t_decide[idx] = t + h * _hermite_crossing(y0.to(f64), y1.to(f64), s0.to(f64), s1.to(f64), thr)
                    undecided = bool(t_decide.isnan().any())
            t, v, supply, dvdt = t_new, v_new, supply_new, dvdt_new
            if traces is not None:
                traces.add(t, v)
            fac = 5.0 if err <= 0.0 else min(5.0, max(0.2, 0.9 * err ** -0.5))
            h *= min(fac, 1.0) if rejected else fac
            rejected = False
        return v, t_decide, q_eval, (traces.stacked() if traces is not None else None)

    def sense(self, r_bl, r_blb, op: OperatingPoint, *, dvth: Tensor | None = None,
              generator: torch.Generator | None = None, dt: float | None = None) -> SenseResult:
        """Sense N cells at once. r_bl, r_blb: (N,) ohm (a scalar broadcasts); dvth: (N, 9) V or None
        (drawn from ``generator`` if given, else no mismatch); dt: evaluation step (s), default
        ``default_dt(op)``. Runs on the device of ``r_bl``."""
        with _single_cpu_thread():
            return self._integrate(r_bl, r_blb, op, dvth, generator, dt, record=False)[0]

    def waveforms(self, r_bl, r_blb, op: OperatingPoint, *, dvth: Tensor | None = None,
                  generator: torch.Generator | None = None, dt: float | None = None):
        """(t (T,) s, out (N, T) V, outb (N, T) V) over the evaluation window, for figures."""
        with _single_cpu_thread():
            return self._integrate(r_bl, r_blb, op, dvth, generator, dt, record=True)[1]


def _continuation(k: _Kernel, v: Tensor, steps: tuple[float, ...]) -> tuple[Tensor, Tensor]:
    """Backward-Euler steps of the listed sizes (s) with SEN = 0 from ``v`` (7, N); returns the state
    (7, N) and the size of the last update per instance (N,) in V."""
    delta = torch.zeros_like(v)
    for h in steps:
        cur, _ = k.evaluate(v, 0.0, True)
        k.factorize(h)
        delta = k.solve_(cur * (h / k.cap))
        v = (v + delta).clamp(-0.1 * k.vdd, 1.1 * k.vdd)
    return v, delta.abs().amax(dim=0)


@functools.lru_cache(maxsize=128)
def _nominal_precharge(params: PCSAParams, vdd: float, temperature: float, device: str) -> Tensor:
    """Precharge state (7, 1) V of one nominal instance (two devices of sqrt(R_LRS R_HRS), no
    mismatch): the warm start of every batch at this operating point."""
    f64 = dict(dtype=torch.float64, device=device)
    g_nom = torch.full((1,), 1.0 / math.sqrt(R_LRS * R_HRS), **f64)
    k = _Kernel(params, OperatingPoint(vdd, 1.0, temperature), g_nom, g_nom, torch.zeros(1, N_TRANSISTORS, **f64))
    return _continuation(k, _precharge_start(vdd, 1, device), _FULL_CONTINUATION)[0]


def _precharge_start(vdd: float, n: int, device) -> Tensor:
    """Start of the full precharge continuation, (7, n) V: OUT = OUTb = VDD, every other node at 0."""
    start = torch.zeros(N_STATES, n, dtype=torch.float64, device=device)
    start[OUT] = start[OUTB] = vdd
    return start


class _Traces:
    """OUT and OUTb after every step, for figures."""

    def __init__(self, v: Tensor) -> None:
        self.t, self.out, self.outb = [0.0], [v[OUT].clone()], [v[OUTB].clone()]

    def add(self, t: float, v: Tensor) -> None:
        self.t.append(t)
        self.out.append(v[OUT].clone())
        self.outb.append(v[OUTB].clone())

    def stacked(self) -> tuple[Tensor, Tensor, Tensor]:
        """(t (T,) s, out (N, T) V, outb (N, T) V)."""
        f64 = torch.float64
        return torch.tensor(self.t, dtype=f64), torch.stack(self.out, 1).to(f64), torch.stack(self.outb, 1).to(f64)


def _hermite_crossing(y0: Tensor, y1: Tensor, s0: Tensor, s1: Tensor, thr: float) -> Tensor:
    """Fraction theta in [0, 1] of a step where the cubic Hermite interpolant (values y0 <= thr < y1,
    slopes s0, s1 per unit theta) crosses ``thr``: Newton from the linear interpolation, safeguarded
    by bisection brackets, until the residual is below 1e-13 thr."""
    lo = torch.zeros_like(y0)
    hi = torch.ones_like(y0)
    th = ((thr - y0) / (y1 - y0).clamp_min(1e-30)).clamp(0.0, 1.0)
    for _ in range(40):
        t2, t3 = th * th, th * th * th
        f = ((2 * t3 - 3 * t2 + 1) * y0 + (t3 - 2 * t2 + th) * s0 + (-2 * t3 + 3 * t2) * y1
             + (t3 - t2) * s1 - thr)
        df = (6 * t2 - 6 * th) * y0 + (3 * t2 - 4 * th + 1) * s0 + (-6 * t2 + 6 * th) * y1 + (3 * t2 - 2 * th) * s1
        done = f.abs() <= 1e-13 * thr
        if bool(done.all()):
            break
        lo = torch.where(f < 0, th, lo)
        hi = torch.where(f > 0, th, hi)
        step = th - f / torch.where(df.abs() > 1e-30, df, torch.full_like(df, 1e-30))
        # Converged instances stay put: a bisection step would move them off their root.
        th = torch.where(done, th, torch.where((step >= lo) & (step <= hi), step, 0.5 * (lo + hi)))
    return th.clamp(0.0, 1.0)


@contextmanager
def _single_cpu_thread() -> Iterator[None]:
    """Run the integration on one CPU thread, then restore the caller's setting.

    Each step is a chain of vector ops over the batch (sparse 7x7 LU rows, EKV on (9, N)); spreading them over
    threads costs more in synchronisation than it gains. Measured on the 2-core development machine
    under load: 4000 senses took 4.9 s on one thread and 18.2 s on two.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _symmetric_instances(g_bl: Tensor, g_blb: Tensor, dvth: Tensor) -> Tensor | None:
    """Mask (N,) of exactly mirror-symmetric instances (equal devices, mirrored offsets equal), or None."""
    sym = g_bl == g_blb
    for a, b in MIRROR_TRANSISTOR_PAIRS:
        sym &= dvth[:, a] == dvth[:, b]
    return sym if bool(sym.any()) else None


def _symmetrize(v: Tensor, sym: Tensor | None) -> Tensor:
    """Project exactly symmetric instances of ``v`` (7, N) back onto the symmetric subspace.

    The exact solution from a symmetric state stays symmetric (the latch sits on its metastable
    point forever); rounding in the LU solve would otherwise seed a spurious, exponentially growing
    imbalance. Instances that differ in any way are untouched.
    """
    if sym is None:
        return v
    mirrored = v[list(MIRROR)]
    return torch.where(sym, 0.5 * (v + mirrored), v)


def decode(out: Tensor, outb: Tensor, vdd: float, readout_fraction: float) -> Tensor:
    """Value per instance, int8: +1 = OUT low & OUTb high, -1 = OUT high & OUTb low, 0 = both the same
    side of ``readout_fraction * vdd``."""
    thr = readout_fraction * vdd
    hi, hib = out > thr, outb > thr
    value = torch.zeros(out.shape, dtype=torch.int8, device=out.device)
    value[~hi & hib] = 1
    value[hi & ~hib] = -1
    return value


def first_crossing(t: Tensor, diff: Tensor, threshold: float) -> Tensor:
    """First time (s) where diff (N, T) exceeds ``threshold`` on the grid t (T,), linearly
    interpolated; NaN where it never does."""
    above = diff > threshold
    has = above.any(dim=1)
    k = above.to(torch.int8).argmax(dim=1).clamp_min(1)
    rows = torch.arange(diff.shape[0], device=diff.device)
    d0, d1 = diff[rows, k - 1], diff[rows, k]
    t0, t1 = t[k - 1], t[k]
    frac = ((threshold - d0) / (d1 - d0).clamp_min(1e-30)).clamp(0.0, 1.0)
    out = t0 + frac * (t1 - t0)
    out = torch.where(above[:, 0], t[0].expand_as(out), out)
    return torch.where(has, out, torch.full_like(out, float("nan")))
