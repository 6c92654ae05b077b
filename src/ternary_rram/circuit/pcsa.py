"""Precharge sense amplifier (PCSA) reading a 2T2R cell: batched transient model (physics.md 1.3-1.4).

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
1999), with the analytic Jacobian; one LU of a (N, 7, 7) batch per step. Two step policies:

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

import math
from contextlib import contextmanager
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from ternary_rram.circuit.mosfet import EKVCoefficients, ekv_current
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.params import DEFAULT_PCSA, N_TRANSISTORS, PCSAParams
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
MIRROR_TRANSISTOR_PAIRS = ((0, 1), (2, 4), (3, 5), (6, 7))
SETTLE_TOLERANCE = 1.0e-3
POST_DECISION_STEP_GROWTH = 10.0
# Pseudo-transient step sizes (s) for the precharge DC state: 1e-13 s * 2.5^k up to 1 s, then 1e3 s
# (far past every leakage time constant); the warm start from a nominal solution needs far fewer.
_FULL_CONTINUATION = tuple(min(1e-13 * 2.5 ** k, 1.0) for k in range(38)) + (1e3, 1e3)
_WARM_CONTINUATION = (1e-5, 1e-3, 1e-1, 1e1, 1e3, 1e3, 1e3, 1e3, 1e3)  # max step / dt once every instance of the batch has decided  # V: early stop when no node would move more than this in the rest of the window


@dataclass
class SenseResult:
    """Per instance (shape (N,)): out, outb (V) at the end of the window; value int8 in {-1, 0, +1};
    t_decide (s from the start of evaluation, NaN if undecided); energy (J drawn from VDD per sense)."""

    out: Tensor
    outb: Tensor
    value: Tensor
    t_decide: Tensor
    energy: Tensor


@dataclass
class _Circuit:
    """Batch-independent tensors of one PCSA at one operating point."""

    coef: EKVCoefficients
    vbulk: Tensor        # (9,) V
    cap: Tensor          # (7,) F
    idx_d: Tensor        # (9,) node index of each terminal into the extended voltage vector
    idx_g: Tensor
    idx_s: Tensor
    jac_src: Tensor      # (E,) index into the flattened (9 transistors x 3 derivatives)
    jac_dst: Tensor      # (E,) index into the flattened 7x7 Jacobian
    jac_sign: Tensor     # (E,)
    supply_sign: Tensor  # (9,) +1 if drain at VDD, -1 if source at VDD, else 0
    vdd: float


def _build_circuit(p: PCSAParams, op: OperatingPoint, device) -> _Circuit:
    coef = EKVCoefficients.build(p.transistor_types(), p.widths, p.lengths, op.temperature, device=device)
    f64 = dict(dtype=torch.float64, device=device)
    vbulk = torch.tensor([op.vdd if b else 0.0 for (_, _, _, b) in TOPOLOGY], **f64)
    cap = torch.tensor([p.c_out, p.c_out, p.c_bl, p.c_bl, p.c_mid, p.c_mid, p.c_foot], **f64)
    long = dict(dtype=torch.long, device=device)
    idx = [torch.tensor([t[k] for t in TOPOLOGY], **long) for k in range(3)]
    src, dst, sign = [], [], []
    for k, (d, g, s, _) in enumerate(TOPOLOGY):
        for row, rsign in ((d, -1.0), (s, +1.0)):   # current i leaves the drain node, enters the source node
            if row >= N_STATES:
                continue
            for which, col in enumerate((g, s, d)):  # derivative order of ekv_current: g, s, d
                if col < N_STATES:
                    src.append(3 * k + which)
                    dst.append(row * N_STATES + col)
                    sign.append(rsign)
    supply = [(1.0 if d == VDD_NODE else 0.0) - (1.0 if s == VDD_NODE else 0.0) for (d, _, s, _) in TOPOLOGY]
    return _Circuit(coef, vbulk, cap, idx[0], idx[1], idx[2], torch.tensor(src, **long),
                    torch.tensor(dst, **long), torch.tensor(sign, **f64), torch.tensor(supply, **f64), op.vdd)


def _node_currents(c: _Circuit, v: Tensor, sen: float, g_bl: Tensor, g_blb: Tensor, dvth: Tensor,
                   jacobian: bool):
    """Currents into each state node (N, 7) in A, supply current (N,) in A, and optionally the
    Jacobian d(currents)/d(V) (N, 7, 7) in S. ``v``: (N, 7) state voltages."""
    n = v.shape[0]
    rails = torch.tensor([c.vdd, 0.0, sen], dtype=v.dtype, device=v.device).expand(n, 3)
    ext = torch.cat([v, rails], dim=1)
    vd, vg, vs = ext[:, c.idx_d], ext[:, c.idx_g], ext[:, c.idx_s]
    if jacobian:
        i, di_dg, di_ds, di_dd = ekv_current(c.coef, vg, vs, vd, c.vbulk, dvth, derivatives=True)
    else:
        i = ekv_current(c.coef, vg, vs, vd, c.vbulk, dvth)
    cur = torch.zeros(n, N_STATES, dtype=v.dtype, device=v.device)
    d_state = c.idx_d < N_STATES
    s_state = c.idx_s < N_STATES
    cur.index_add_(1, c.idx_d[d_state], -i[:, d_state])
    cur.index_add_(1, c.idx_s[s_state], i[:, s_state])
    # RRAM branches: BL -> M and BLb -> Mb.
    i_r = g_bl * (v[:, BL] - v[:, MID])
    i_rb = g_blb * (v[:, BLB] - v[:, MIDB])
    cur[:, BL] -= i_r
    cur[:, MID] += i_r
    cur[:, BLB] -= i_rb
    cur[:, MIDB] += i_rb
    supply = i @ c.supply_sign
    if not jacobian:
        return cur, supply, None
    deriv = torch.stack([di_dg, di_ds, di_dd], dim=2).reshape(n, 3 * N_TRANSISTORS)
    jac = torch.zeros(n, N_STATES * N_STATES, dtype=v.dtype, device=v.device)
    jac.index_add_(1, c.jac_dst, deriv[:, c.jac_src] * c.jac_sign)
    jac = jac.view(n, N_STATES, N_STATES)
    for a, b, g in ((BL, MID, g_bl), (BLB, MIDB, g_blb)):
        jac[:, a, a] -= g
        jac[:, a, b] += g
        jac[:, b, b] -= g
        jac[:, b, a] += g
    return cur, supply, jac


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

    def __init__(self, params: PCSAParams = DEFAULT_PCSA) -> None:
        self.params = params

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

    def precharge_state(self, c: _Circuit, g_bl: Tensor, g_blb: Tensor, dvth: Tensor) -> Tensor:
        """DC state with SEN = 0 (N, 7) in V.

        Pseudo-transient continuation (backward Euler, one Newton iteration per step, growing step):
        first for one nominal instance from OUT = OUTb = VDD, all else 0; then every instance starts
        from that nominal state for a short continuation; instances whose last update is not below
        1e-9 V redo the full continuation from scratch.
        """
        n = g_bl.shape[0]
        dev = g_bl.device
        start = torch.zeros(1, N_STATES, dtype=torch.float64, device=dev)
        start[:, OUT] = c.vdd
        start[:, OUTB] = c.vdd
        g_nom = torch.sqrt(g_bl * g_blb).median().reshape(1)
        nominal, _ = self._continuation(c, start, g_nom, g_nom, torch.zeros_like(dvth[:1]), _FULL_CONTINUATION)
        v, step = self._continuation(c, nominal.expand(n, N_STATES).clone(), g_bl, g_blb, dvth, _WARM_CONTINUATION)
        bad = step > 1e-9
        if bool(bad.any()):
            redo, _ = self._continuation(c, start.expand(int(bad.sum()), N_STATES).clone(), g_bl[bad], g_blb[bad],
                                         dvth[bad], _FULL_CONTINUATION)
            v[bad] = redo
        return v

    @staticmethod
    def _continuation(c: _Circuit, v: Tensor, g_bl: Tensor, g_blb: Tensor, dvth: Tensor, steps: tuple[float, ...]):
        """Backward-Euler steps of the listed sizes (s) with SEN = 0; returns the state (N, 7) and the
        size of the last update per instance (N,) in V."""
        eye = torch.eye(N_STATES, dtype=torch.float64, device=v.device)
        delta = torch.zeros_like(v)
        for h in steps:
            cur, _, jac = _node_currents(c, v, 0.0, g_bl, g_blb, dvth, True)
            delta = torch.linalg.solve(eye * (c.cap / h) - jac, cur.unsqueeze(2)).squeeze(2)
            v = (v + delta).clamp(-0.1 * c.vdd, 1.1 * c.vdd)
        return v, delta.abs().amax(dim=1)

    def _integrate(self, r_bl, r_blb, op: OperatingPoint, dvth, generator, dt, record: bool):
        if not isinstance(op, OperatingPoint):
            raise InputError(f"op={op!r} is not allowed: must be an OperatingPoint")
        p = self.params
        g_bl, g_blb, dvth = self._inputs(r_bl, r_blb, dvth, generator)
        device = g_bl.device
        c = _build_circuit(p, op, device)
        if dt is not None:
            dt_use = check_positive("dt", dt, unit="s")
        sym = _symmetric_instances(g_bl, g_blb, dvth)
        v_pre = _symmetrize(self.precharge_state(c, g_bl, g_blb, dvth), sym)
        if dt is None:
            v, t_decide, q_eval, traces = self._adaptive(c, v_pre.clone(), op, g_bl, g_blb, dvth, sym, record)
            return self._finish(c, op, v_pre, v, t_decide, q_eval, traces)
        dt_auto = self.default_dt(op)
        refine = max(dt_auto / dt_use, 1.0)
        v = v_pre.clone()
        n = v.shape[0]
        gamma = 1.0 + 1.0 / math.sqrt(2.0)
        eye = torch.eye(N_STATES, dtype=torch.float64, device=device)
        thr = p.decision_fraction * op.vdd
        t_decide = torch.full((n,), float("nan"), dtype=torch.float64, device=device)
        q_eval = torch.zeros(n, dtype=torch.float64, device=device)
        sen_of = lambda t: op.vdd * min(max(t / p.t_rise, 0.0), 1.0)  # noqa: E731
        t, h, h_prev = 0.0, min(p.t_rise / (8.0 * refine), dt_use), 0.0
        diff_prev = (v[:, OUT] - v[:, OUTB]).abs()
        supply_prev = None
        all_decided = False
        trace_t, trace_out, trace_outb = [0.0], [v[:, OUT].clone()], [v[:, OUTB].clone()]
        k = 0
        while t < op.t_sense * (1.0 - 1e-12):
            cur, supply, jac = _node_currents(c, v, sen_of(t), g_bl, g_blb, dvth, True)
            if supply_prev is not None:
                q_eval += 0.5 * (supply_prev + supply) * h_prev
            supply_prev = supply
            if k % 8 == 7:
                all_decided = not bool(t_decide.isnan().any())
                if all_decided and not record:
                    drift = (cur / c.cap).abs().amax() * (op.t_sense - t)
                    if float(drift) < SETTLE_TOLERANCE:
                        q_eval += supply * (op.t_sense - t)  # leakage for the rest of the window
                        supply_prev = None
                        break
            k += 1
            if t >= p.t_rise:
                # Once every instance has decided only slow RC settling is left: let the step grow.
                h = min(h * 1.3, dt_use * (POST_DECISION_STEP_GROWTH if all_decided else 1.0))
            h = min(h, op.t_sense - t)
            # ROS2 step on dV/dt = cur / C, Jacobian jac / C.
            a = eye - (gamma * h) * (jac / c.cap.view(1, N_STATES, 1))
            lu, piv = torch.linalg.lu_factor(a)
            k1 = torch.linalg.lu_solve(lu, piv, (cur / c.cap).unsqueeze(2)).squeeze(2)
            cur2, _, _ = _node_currents(c, v + h * k1, sen_of(t + h), g_bl, g_blb, dvth, False)
            k2 = torch.linalg.lu_solve(lu, piv, (cur2 / c.cap - 2.0 * k1).unsqueeze(2)).squeeze(2)
            v = _symmetrize(v + h * (1.5 * k1 + 0.5 * k2), sym)
            t += h
            h_prev = h
            diff = (v[:, OUT] - v[:, OUTB]).abs()
            new = t_decide.isnan() & (diff > thr)
            if bool(new.any()):
                # Linear interpolation of |OUT - OUTb| across the step.
                frac = (thr - diff_prev) / (diff - diff_prev).clamp_min(1e-30)
                t_decide = torch.where(new, (t - h) + frac.clamp(0.0, 1.0) * h, t_decide)
            diff_prev = diff
            if record:
                trace_t.append(t)
                trace_out.append(v[:, OUT].clone())
                trace_outb.append(v[:, OUTB].clone())
        if supply_prev is not None:
            _, supply, _ = _node_currents(c, v, sen_of(t), g_bl, g_blb, dvth, False)
            q_eval += 0.5 * (supply_prev + supply) * h_prev
        traces = None
        if record:
            traces = (torch.tensor(trace_t, dtype=torch.float64), torch.stack(trace_out, 1), torch.stack(trace_outb, 1))
        return self._finish(c, op, v_pre, v, t_decide, q_eval, traces)

    def _finish(self, c: _Circuit, op: OperatingPoint, v_pre, v, t_decide, q_eval, traces):
        q_restore = ((v_pre - v) * c.cap).clamp_min(0.0).sum(dim=1)
        energy = op.vdd * (q_eval + q_restore)
        result = SenseResult(v[:, OUT].clone(), v[:, OUTB].clone(), decode(v[:, OUT], v[:, OUTB], op.vdd,
                             self.params.readout_fraction), t_decide, energy)
        return result, traces

    def _adaptive(self, c: _Circuit, v: Tensor, op: OperatingPoint, g_bl, g_blb, dvth, sym, record: bool):
        """Error-controlled ROS2 over the evaluation window (module docstring). Returns the final
        state (N, 7), t_decide (N,), Q_eval (N,) and the traces (or None)."""
        p = self.params
        n, device = v.shape[0], v.device
        gamma = 1.0 + 1.0 / math.sqrt(2.0)
        eye = torch.eye(N_STATES, dtype=torch.float64, device=device)
        cap_col = c.cap.view(1, N_STATES, 1)
        thr = p.decision_fraction * op.vdd
        atol, rtol = p.atol_fraction * op.vdd, p.rtol
        atol_d, rtol_d = p.atol_diff_fraction * op.vdd, p.rtol_diff
        t_end = op.t_sense
        h_min = 1e-9 * t_end
        t_decide = torch.full((n,), float("nan"), dtype=torch.float64, device=device)
        q_eval = torch.zeros(n, dtype=torch.float64, device=device)
        sen_of = lambda t: op.vdd * min(max(t / p.t_rise, 0.0), 1.0)  # noqa: E731
        t, h = 0.0, p.t_rise / 8.0
        cur, supply, jac = _node_currents(c, v, sen_of(t), g_bl, g_blb, dvth, True)
        dvdt = cur / c.cap
        trace_t, trace_out, trace_outb = [0.0], [v[:, OUT].clone()], [v[:, OUTB].clone()]
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
            lu, piv = torch.linalg.lu_factor(eye - (gamma * h) * (jac / cap_col))
            k1 = torch.linalg.lu_solve(lu, piv, dvdt.unsqueeze(2)).squeeze(2)
            cur2, _, _ = _node_currents(c, v + h * k1, sen_of(t + h), g_bl, g_blb, dvth, False)
            k2 = torch.linalg.lu_solve(lu, piv, (cur2 / c.cap - 2.0 * k1).unsqueeze(2)).squeeze(2)
            v_new = v + h * (1.5 * k1 + 0.5 * k2)
            est = (0.5 * h) * (k1 + k2)
            err_v = est.abs() / (atol + rtol * torch.maximum(v.abs(), v_new.abs()))
            d_old = v[:, OUT] - v[:, OUTB]
            d_new = v_new[:, OUT] - v_new[:, OUTB]
            err_t = err_v.amax()
            if undecided:  # decided instances only need the node tolerance
                err_d = (est[:, OUT] - est[:, OUTB]).abs() / (atol_d + rtol_d * torch.maximum(d_old.abs(), d_new.abs()))
                err_t = torch.maximum(err_t, torch.where(t_decide.isnan(), err_d, 0.0).amax())
            err = float(err_t)
            if err > 1.0 and h > h_min:
                h = max(h * max(0.2, 0.9 * err ** -0.5), h_min)
                rejected = True
                continue
            v_new = _symmetrize(v_new, sym)
            t_new = t + h
            cur, supply_new, jac = _node_currents(c, v_new, sen_of(t_new), g_bl, g_blb, dvth, True)
            dvdt_new = cur / c.cap
            q_eval += 0.5 * (supply + supply_new) * h
            d_new = v_new[:, OUT] - v_new[:, OUTB]
            if undecided:
                new = t_decide.isnan() & (d_new.abs() > thr)
                if bool(new.any()):
                    idx = new.nonzero().squeeze(1)
                    sgn = torch.sign(d_new[idx])
                    y0, y1 = sgn * d_old[idx], sgn * d_new[idx]
                    s0 = sgn * (dvdt[idx, OUT] - dvdt[idx, OUTB]) * h
                    s1 = sgn * (dvdt_new[idx, OUT] - dvdt_new[idx, OUTB]) * h
                    t_decide[idx] = t + h * _hermite_crossing(y0, y1, s0, s1, thr)
                    undecided = bool(t_decide.isnan().any())
            t, v, supply, dvdt = t_new, v_new, supply_new, dvdt_new
            if record:
                trace_t.append(t)
                trace_out.append(v[:, OUT].clone())
                trace_outb.append(v[:, OUTB].clone())
            fac = 5.0 if err <= 0.0 else min(5.0, max(0.2, 0.9 * err ** -0.5))
            h *= min(fac, 1.0) if rejected else fac
            rejected = False
        traces = None
        if record:
            traces = (torch.tensor(trace_t, dtype=torch.float64), torch.stack(trace_out, 1), torch.stack(trace_outb, 1))
        return v, t_decide, q_eval, traces

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
        if float(f.abs().amax()) <= 1e-13 * thr:
            break
        lo = torch.where(f < 0, th, lo)
        hi = torch.where(f >= 0, th, hi)
        step = th - f / torch.where(df.abs() > 1e-30, df, torch.full_like(df, 1e-30))
        th = torch.where((step > lo) & (step < hi), step, 0.5 * (lo + hi))
    return th.clamp(0.0, 1.0)


@contextmanager
def _single_cpu_thread() -> Iterator[None]:
    """Run the integration on one CPU thread, then restore the caller's setting.

    Each step is a chain of small batched ops (7x7 LU, elementwise EKV on (N, 9)); spreading them over
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
    """Project exactly symmetric instances back onto the symmetric subspace.

    The exact solution from a symmetric state stays symmetric (the latch sits on its metastable
    point forever); rounding in the LU solve would otherwise seed a spurious, exponentially growing
    imbalance. Instances that differ in any way are untouched.
    """
    if sym is None:
        return v
    mirrored = v[:, list(MIRROR)]
    return torch.where(sym.unsqueeze(1), 0.5 * (v + mirrored), v)


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
