"""ngspice reference for the PCSA model: the same circuit as a netlist, run in batch, compared.

The netlist holds, per instance k, the circuit of ``pcsa.py`` with node names suffixed ``_k``:
the same topology, sizes and capacitances, every transistor a behavioural current source
(``B`` element) carrying the same EKV equation with that instance's threshold offset, the RRAMs as
resistors, one supply ``VDD_k`` per instance (so its current is that instance's supply current) and
one shared SEN source with the same ramp. ngspice finds the precharged state as the DC operating
point at t = 0 (SEN = 0) and integrates the evaluation. Value, decision time and energy are then
computed from its waveforms with the same definitions as the torch model.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ternary_rram.circuit.mosfet import specific_current, threshold_at
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.params import N_TRANSISTORS, R_HRS, R_LRS, TRANSISTOR_NAMES, PCSAParams, thermal_voltage
from ternary_rram.circuit.pcsa import PCSA, STATE_NAMES, TOPOLOGY, decode, first_crossing
from ternary_rram.errors import InputError

NGSPICE = "ngspice"
_NODE_NAMES = {i: name.lower() for i, name in enumerate(STATE_NAMES)} | {7: "vdd", 8: "0", 9: "sen"}


def ngspice_available() -> bool:
    """True if an ``ngspice`` executable is on PATH."""
    return shutil.which(NGSPICE) is not None


def _node(index: int, k: int) -> str:
    name = _NODE_NAMES[index]
    return name if name in ("0", "sen") else f"{name}_{k}"


def _transistor_line(name: str, k: int, d: str, g: str, s: str, bulk_vdd: bool, vdd: float, vt: float,
                     n: float, i_spec: float, lam: float, u_t: float, sigma_dibl: float = 0.0) -> str:
    """One EKV transistor as a B source: current from drain to source (A)."""
    pol = -1.0 if bulk_vdd else 1.0
    vb = vdd if bulk_vdd else 0.0
    def rel(node: str) -> str:  # bulk-referenced, mirrored for PMOS
        return f"({pol:+.1f}*(v({node})-{vb:.12g}))"
    vds_smooth = f"(sqrt(({rel(d)}-{rel(s)})^2+{u_t * u_t:.15g})-{u_t:.15g})"
    dibl = f"+{sigma_dibl:.15g}*{vds_smooth}" if sigma_dibl else ""
    vp = f"(({rel(g)}-{vt:.15g}{dibl})/{n:.15g})"
    return (f"B{name}_{k} {d} {s} I={pol:+.1f}*{i_spec:.15g}*(fsq(({vp}-{rel(s)})/{2 * u_t:.15g})"
            f"-fsq(({vp}-{rel(d)})/{2 * u_t:.15g}))*(1+{lam:.15g}*{vds_smooth})")


def netlist(params: PCSAParams, op: OperatingPoint, r_bl, r_blb, dvth, t_stop: float, out_file: str,
            max_step: float) -> str:
    """Netlist text for N instances (r_bl, r_blb: (N,) ohm; dvth: (N, 9) V), transient to t_stop (s)."""
    r_bl, r_blb = np.asarray(r_bl, float).reshape(-1), np.asarray(r_blb, float).reshape(-1)
    dvth = np.asarray(dvth, float).reshape(len(r_bl), N_TRANSISTORS)
    u_t = thermal_voltage(op.temperature)
    types = params.transistor_types()
    caps = (params.c_out, params.c_out, params.c_bl, params.c_bl, params.c_mid, params.c_mid, params.c_foot)
    lines = ["* PCSA + 2T2R reference, same circuit as ternary_rram.circuit.pcsa",
             ".func fsq(x) {ln(1+exp(x))*ln(1+exp(x))}",
             f"VSEN sen 0 PWL(0 0 {params.t_rise:.15g} {op.vdd:.15g})"]
    probes = []
    for k in range(len(r_bl)):
        lines.append(f"VDD_{k} vdd_{k} 0 DC {op.vdd:.15g}")
        for j, (name, (d, g, s, bulk_vdd)) in enumerate(zip(TRANSISTOR_NAMES, TOPOLOGY)):
            t = types[j]
            lines.append(_transistor_line(name, k, _node(d, k), _node(g, k), _node(s, k), bulk_vdd, op.vdd,
                                          threshold_at(t, op.temperature) + dvth[k, j], t.n,
                                          specific_current(t, params.widths[j], params.lengths[j], op.temperature),
                                          t.lambda_clm, u_t, t.sigma_dibl))
        lines.append(f"R_bl_{k} bl_{k} m_{k} {r_bl[k]:.15g}")
        lines.append(f"R_blb_{k} blb_{k} mb_{k} {r_blb[k]:.15g}")
        for i, c in enumerate(caps):
            lines.append(f"C_{STATE_NAMES[i].lower()}_{k} {_node(i, k)} 0 {c:.15g}")
        probes += [f"v({_node(i, k)})" for i in range(len(STATE_NAMES))] + [f"i(vdd_{k})"]
    lines += [".options reltol=1e-4 abstol=1e-15 vntol=1e-7 numdgt=12",
              f".tran {max_step:.6g} {t_stop:.15g} 0 {max_step:.6g}",
              ".control", "set wr_singlescale", "set wr_vecnames", "option numdgt=12", "run",
              f"wrdata {out_file} " + " ".join(probes), ".endc", ".end"]
    return "\n".join(lines) + "\n"


def run_ngspice(text: str, out_name: str, timeout: float = 600.0) -> np.ndarray:
    """Run ``ngspice -b`` on a netlist whose control block writes ``out_name``; return the columns
    (T, 1 + 8 N): time, then per instance the 7 node voltages and the VDD source current."""
    if not ngspice_available():
        raise InputError("ngspice is not installed: apt-get install ngspice")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp)
        (path / "pcsa.cir").write_text(text.replace(out_name, str(path / out_name)))
        proc = subprocess.run([NGSPICE, "-b", str(path / "pcsa.cir")], capture_output=True, text=True,
                              timeout=timeout, cwd=tmp)
        data_file = path / out_name
        if not data_file.exists():
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
            raise RuntimeError("ngspice produced no waveforms: " + " | ".join(tail))
        return np.loadtxt(data_file, skiprows=1, ndmin=2)


@dataclass
class SpiceSense:
    """ngspice results per instance (N,), same definitions as :class:`pcsa.SenseResult` (numpy)."""

    out: np.ndarray
    outb: np.ndarray
    value: np.ndarray
    t_decide: np.ndarray
    energy: np.ndarray


def _interp_rows(t: np.ndarray, y: np.ndarray, at: float) -> np.ndarray:
    return np.array([np.interp(at, t, row) for row in y])


def spice_sense(params: PCSAParams, op: OperatingPoint, r_bl, r_blb, dvth, *, t_windows: list[float] | None = None,
                timeout: float = 600.0) -> dict[float, SpiceSense]:
    """Run ngspice for N instances at one VDD; evaluate each window in ``t_windows`` (s, default
    [op.t_sense]) on the same waveforms. Returns {window: SpiceSense}."""
    windows = sorted(t_windows or [op.t_sense])
    t_stop = windows[-1]
    max_step = min(PCSA(params).default_dt(op), t_stop / 200)
    data = run_ngspice(netlist(params, op, r_bl, r_blb, dvth, t_stop, "pcsa.dat", max_step), "pcsa.dat", timeout)
    n = len(np.asarray(r_bl).reshape(-1))
    t = data[:, 0]
    cols = data[:, 1:].reshape(len(t), n, 8).transpose(1, 2, 0)  # (N, 8, T)
    volt, supply = cols[:, :7, :], -cols[:, 7, :]   # ngspice: source current flows into its + node
    caps = np.array([params.c_out, params.c_out, params.c_bl, params.c_bl, params.c_mid, params.c_mid,
                     params.c_foot])
    v_pre = volt[:, :, 0]
    result = {}
    for w in windows:
        mask = t <= w
        tt = np.append(t[mask], w) if t[mask][-1] < w else t[mask]
        s = np.stack([np.interp(tt, t, row) for row in supply])
        q_eval = np.trapezoid(s, tt, axis=1)
        v_end = np.stack([_interp_rows(t, volt[:, i, :], w) for i in range(7)], axis=1)
        q_restore = np.clip((v_pre - v_end) * caps, 0.0, None).sum(axis=1)
        out, outb = v_end[:, 0], v_end[:, 1]
        value = decode(torch.from_numpy(out), torch.from_numpy(outb), op.vdd, params.readout_fraction).numpy()
        diff = torch.from_numpy(np.abs(volt[:, 0, :] - volt[:, 1, :])[:, mask])
        td = first_crossing(torch.from_numpy(t[mask]), diff, params.decision_fraction * op.vdd).numpy()
        result[w] = SpiceSense(out, outb, value, td, op.vdd * (q_eval + q_restore))
    return result


# ------------------------------------------------------------------------------------ comparison
STATE_PAIRS_FULL = {  # value -> list of (R_bl, R_blb) ohm
    +1: [(R_LRS, R_HRS), (2 * R_LRS, 10 * R_HRS)],
    -1: [(R_HRS, R_LRS), (10 * R_HRS, 2 * R_LRS)],
    0: [(R_HRS, 1.3 * R_HRS), (10 * R_HRS, 7 * R_HRS)],
}
# VDDs of the cross-check: the default (SKY130 tt) transistors' range, from their 1.8 V nominal down to 0.8 V,
# where (LRS, HRS) reads stop deciding reliably (docs/results.md).
VDD_FULL = (0.8, 0.9, 1.0, 1.2, 1.8)
VDD_QUICK = (0.8, 1.2, 1.8)
WINDOW_FACTORS_FULL = (20.0, 60.0)  # sense windows as multiples of PCSA.characteristic_time(op)
WINDOW_FACTORS_QUICK = (25.0,)
NEAR_OUTPUT = 0.1     # outputs within this fraction of VDD of the readout threshold: near the boundary
NEAR_WINDOW_END = 0.15  # decision within this fraction of the window from its end: near the boundary
PERTURB_VT = 2.0e-3   # V, offset added to MN1 (then MN2) to probe how fragile a decision is


@dataclass
class ComparisonRow:
    """One grid case: the torch model against ngspice. Times s, energies J, relative errors unitless."""

    vdd: float
    t_sense: float
    programmed: int
    r_bl: float
    r_blb: float
    model_value: int
    spice_value: int
    model_t_decide: float
    spice_t_decide: float
    model_energy: float
    spice_energy: float
    rel_err_t_decide: float
    rel_err_energy: float
    near_boundary: bool
    agree: bool


def _near_boundary(params: PCSAParams, op: OperatingPoint, out, outb, t_decide) -> np.ndarray:
    thr = params.readout_fraction * op.vdd
    near_out = (np.abs(np.asarray(out) - thr) < NEAR_OUTPUT * op.vdd) | (np.abs(np.asarray(outb) - thr) < NEAR_OUTPUT * op.vdd)
    td = np.asarray(t_decide)
    near_end = np.isfinite(td) & (td > (1 - NEAR_WINDOW_END) * op.t_sense)
    return near_out | near_end


class SenseResultSlice:
    """Rows [start, stop) of a SenseResult."""

    def __init__(self, res, start: int, stop: int) -> None:
        for name in ("out", "outb", "value", "t_decide", "energy"):
            setattr(self, name, getattr(res, name)[start:stop])


def compare(*, quick: bool = False, params: PCSAParams | None = None, seed: int = 0, mismatch: bool = True,
            timeout: float = 600.0, vdds: tuple[float, ...] | None = None) -> list[ComparisonRow]:
    """Model vs ngspice over VDD x programmed state x resistance pairs x sense windows.

    Each instance gets one Pelgrom mismatch draw (seeded) used identically by both simulators
    (``mismatch=False``: none). ``near_boundary`` marks cases where an output ends within 10 % of VDD
    of the readout threshold, the decision falls in the last 15 % of the window (either simulator),
    or +-2 mV on the latch NMOS MN1 flips the model's decision.
    """
    params = params or PCSAParams()
    pcsa = PCSA(params)
    vdds = vdds or (VDD_QUICK if quick else VDD_FULL)
    factors = WINDOW_FACTORS_QUICK if quick else WINDOW_FACTORS_FULL
    pairs = [(v, p) for v, ps in STATE_PAIRS_FULL.items() for p in (ps[:1] if quick else ps)]
    gen = torch.Generator().manual_seed(seed)
    rows: list[ComparisonRow] = []
    for vdd in vdds:
        tau = pcsa.characteristic_time(OperatingPoint(vdd, 1.0))
        windows = [f * tau for f in factors]
        r_bl = torch.tensor([p[0] for _, p in pairs], dtype=torch.float64)
        r_blb = torch.tensor([p[1] for _, p in pairs], dtype=torch.float64)
        dvth = pcsa.sample_mismatch(len(pairs), gen) if mismatch else torch.zeros(len(pairs), N_TRANSISTORS,
                                                                                   dtype=torch.float64)
        spice = spice_sense(params, OperatingPoint(vdd, windows[-1]), r_bl.numpy(), r_blb.numpy(), dvth.numpy(),
                            t_windows=windows, timeout=timeout)
        for w in windows:
            op = OperatingPoint(vdd, w)
            # One batch: the instances, then the same with MN1 offset by +PERTURB_VT and -PERTURB_VT.
            n = len(pairs)
            up, down = dvth.clone(), dvth.clone()
            up[:, 3] += PERTURB_VT
            down[:, 3] -= PERTURB_VT
            everything = pcsa.sense(r_bl.repeat(3), r_blb.repeat(3), op, dvth=torch.cat([dvth, up, down]))
            m = SenseResultSlice(everything, 0, n)
            flips = ((everything.value[n:2 * n] != m.value) | (everything.value[2 * n:] != m.value))
            s = spice[w]
            near = (_near_boundary(params, op, m.out.numpy(), m.outb.numpy(), m.t_decide.numpy())
                    | _near_boundary(params, op, s.out, s.outb, s.t_decide) | flips.numpy())
            for i, (prog, (a, b)) in enumerate(pairs):
                mt, st = float(m.t_decide[i]), float(s.t_decide[i])
                me, se = float(m.energy[i]), float(s.energy[i])
                rel_t = abs(mt - st) / st if math.isfinite(mt) and math.isfinite(st) else (
                    0.0 if math.isnan(mt) and math.isnan(st) else math.inf)
                rows.append(ComparisonRow(vdd, w, prog, a, b, int(m.value[i]), int(s.value[i]), mt, st, me, se,
                                          rel_t, abs(me - se) / se, bool(near[i]), int(m.value[i]) == int(s.value[i])))
    return rows


def summary(rows: list[ComparisonRow]) -> dict:
    """Max relative errors and disagreement counts, over all rows and over rows not near the boundary."""
    clear = [r for r in rows if not r.near_boundary]
    finite_t = [r.rel_err_t_decide for r in clear if math.isfinite(r.rel_err_t_decide)]
    return {
        "cases": len(rows),
        "near_boundary": len(rows) - len(clear),
        "value_disagreements_clear": sum(not r.agree for r in clear),
        "value_disagreements_all": sum(not r.agree for r in rows),
        "decided_mismatch_clear": sum(not math.isfinite(r.rel_err_t_decide) for r in clear),
        "max_rel_err_t_decide_clear": max(finite_t, default=0.0),
        "max_rel_err_energy_clear": max((r.rel_err_energy for r in clear), default=0.0),
        "max_rel_err_energy_all": max((r.rel_err_energy for r in rows), default=0.0),
    }


def rows_as_dicts(rows: list[ComparisonRow]) -> list[dict]:
    """JSON-friendly rows (NaN and inf become None)."""
    def clean(x):
        return None if isinstance(x, float) and not math.isfinite(x) else x
    return [{k: clean(v) for k, v in asdict(r).items()} for r in rows]


def ngspice_runs_per_second(vdd: float = 1.2, n_runs: int = 3, t_factor: float = 10.0,
                            params: PCSAParams | None = None) -> float:
    """Single-instance ngspice transient runs per second (wall clock, process start included) for a
    (LRS, HRS) read over a window of ``t_factor`` characteristic times; for benchmarks."""
    params = params or PCSAParams()
    op = OperatingPoint(vdd, t_factor * PCSA(params).characteristic_time(OperatingPoint(vdd, 1.0)))
    zeros = np.zeros((1, N_TRANSISTORS))
    start = time.perf_counter()
    for _ in range(n_runs):
        spice_sense(params, op, [R_LRS], [R_HRS], zeros)
    return n_runs / (time.perf_counter() - start)
