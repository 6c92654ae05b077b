"""Foundry reference: the PCSA netlist with a PDK's own transistors (BSIM4) in ngspice, against the
fitted compact model.

Same circuit as ``pcsa.py``/``spice.py`` (topology, node capacitances, SEN ramp, RRAM resistors);
each transistor is an instance of the PDK device at the mapped sizes of the PARAMS document, with
the PDK's mismatch switched on, so each instance of the Monte Carlo batch gets its own draw (and
the compact model gets its own Pelgrom draws: the two batches share the RRAM pairs, not the
mismatch). Many instances run in one ngspice process on a cut of the library.

Per VDD and for each simulator, from the decision times of an (LRS, HRS) batch and an (HRS, HRS)
batch over a long window:
- W_low: the window that lets 99 % of (LRS, HRS) decide (their 0.99 quantile);
- W_high: the largest window keeping P(0 | HRS, HRS) >= 0.9 (the 0.1 quantile of (HRS, HRS)
  decision times; undecided counts as infinitely slow);
- margin W_high / W_low; the sign-flip rate of (LRS, HRS) (read -1); the median decision time;
- energy per (LRS, HRS) sense at the same window for both (the reference's W_low).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ternary_rram.circuit import pdk
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.params import TRANSISTOR_NAMES, PCSAParams
from ternary_rram.circuit.pcsa import PCSA, STATE_NAMES, TOPOLOGY, decode, first_crossing
from ternary_rram.device import DeviceModel

Q_LOW = 0.99  # W_low lets this fraction of (LRS, HRS) decide
P_ZERO = 0.9  # W_high keeps P(0 | HRS, HRS) at least this
_NODES = {i: name.lower() for i, name in enumerate(STATE_NAMES)} | {7: "vdd", 8: "0", 9: "sen"}


def _node(index: int, k: int) -> str:
    name = _NODES[index]
    return name if name in ("0", "sen") else f"{name}_{k}"


def netlist(params: PCSAParams, vdd: float, r_bl, r_blb, t_stop: float, max_step: float, nfet: str, pfet: str,
            scale: float) -> str:
    """PCSA netlist of N instances with PDK transistors; ``.include cut.spice`` supplies the models."""
    types = params.transistor_types()
    caps = (params.c_out, params.c_out, params.c_bl, params.c_bl, params.c_mid, params.c_mid, params.c_foot)
    lines = ["* PCSA + 2T2R with PDK transistors", ".include cut.spice",
             f"VSEN sen 0 PWL(0 0 {params.t_rise:.6g} {vdd:.6g})"]
    probes = []
    for k in range(len(r_bl)):
        lines.append(f"VDD_{k} vdd_{k} 0 DC {vdd:.6g}")
        for j, (name, (d, g, s, bulk_vdd)) in enumerate(zip(TRANSISTOR_NAMES, TOPOLOGY)):
            dev = pfet if types[j].polarity < 0 else nfet
            b = f"vdd_{k}" if bulk_vdd else "0"
            lines.append(f"X{name}_{k} {_node(d, k)} {_node(g, k)} {_node(s, k)} {b} {dev} "
                         f"w={pdk.instance_size(params.widths[j], scale)} l={pdk.instance_size(params.lengths[j], scale)}")
        lines.append(f"R_bl_{k} bl_{k} m_{k} {r_bl[k]:.6g}")
        lines.append(f"R_blb_{k} blb_{k} mb_{k} {r_blb[k]:.6g}")
        for i, c in enumerate(caps):
            lines.append(f"C_{STATE_NAMES[i].lower()}_{k} {_node(i, k)} 0 {c:.6g}")
        probes += [f"v({_node(i, k)})" for i in range(len(STATE_NAMES))] + [f"i(vdd_{k})"]
    # SEN = 0 at t = 0: the DC operating point is the precharged state, as in the compact model.
    lines += [".options reltol=1e-3 abstol=1e-14 vntol=1e-6", f".tran {max_step:.4g} {t_stop:.6g} 0 {max_step:.4g}",
              ".control", "set wr_singlescale", "set wr_vecnames", "option numdgt=8", "run",
              "wrdata pcsa.dat " + " ".join(probes), ".endc", ".end"]
    return "\n".join(lines) + "\n"


@dataclass
class Batch:
    """One batch of N senses over one long window, per instance (N,): value at the end of the window,
    decision time (s, NaN if undecided), and the waveforms needed for energy at shorter windows."""

    value: np.ndarray
    t_decide: np.ndarray
    t: np.ndarray | None = None
    supply: np.ndarray | None = None
    volt: np.ndarray | None = None  # (N, 7, T) node voltages in STATE_NAMES order


def run_reference(lib: Path, corner: str, params: PCSAParams, vdd: float, r_bl, r_blb, t_stop: float, *,
                  nfet: str, pfet: str, mismatch: bool = True, timeout: float = 600.0,
                  temperature_c: float = 27.0) -> Batch:
    """ngspice transient of N PCSA instances with PDK transistors (module docstring)."""
    sizes_n = sorted({(w, l) for t, w, l in zip(params.transistor_types(), params.widths, params.lengths)
                      if t.polarity > 0})
    sizes_p = sorted({(w, l) for t, w, l in zip(params.transistor_types(), params.widths, params.lengths)
                      if t.polarity < 0})
    cut = pdk.cut_library(lib, corner, {nfet: sizes_n, pfet: sizes_p}, mismatch=mismatch)
    r_bl, r_blb = np.asarray(r_bl, float).reshape(-1), np.asarray(r_blb, float).reshape(-1)
    max_step = t_stop / 200
    text = netlist(params, vdd, r_bl, r_blb, t_stop, max_step, nfet, pfet, cut.scale)
    text = text.replace(".control", f".control\noption temp={temperature_c:g}", 1)
    data = pdk.run_ngspice({"cut.spice": cut.text, "main.cir": text}, "main.cir", ["pcsa.dat"], timeout=timeout,
                           what=f"PDK PCSA transient at VDD={vdd:g} V [{corner}]")["pcsa.dat"]
    n = len(r_bl)
    t = data[:, 0]
    cols = data[:, 1:].reshape(len(t), n, 8).transpose(1, 2, 0)  # (N, 8, T)
    volt, supply = cols[:, :7], -cols[:, 7]  # ngspice: a source's current flows into its + node
    out, outb = volt[:, 0], volt[:, 1]
    value = decode(torch.from_numpy(out[:, -1].copy()), torch.from_numpy(outb[:, -1].copy()), vdd,
                   params.readout_fraction).numpy()
    td = first_crossing(torch.from_numpy(t), torch.from_numpy(np.abs(out - outb)),
                        params.decision_fraction * vdd).numpy()
    return Batch(value, td, t, supply, volt)


def reference_energy(b: Batch, params: PCSAParams, vdd: float, window: float) -> float:
    """Mean energy per sense (J) of a reference batch at ``window`` (s), defined as in pcsa.py:
    VDD x (charge drawn during the window + charge the next precharge draws to restore every node)."""
    mask = b.t <= window
    tt = np.append(b.t[mask], window)
    s = np.stack([np.interp(tt, b.t, row) for row in b.supply])
    q_eval = np.trapezoid(s, tt, axis=1)
    caps = np.array([params.c_out, params.c_out, params.c_bl, params.c_bl, params.c_mid, params.c_mid,
                     params.c_foot])
    v_pre = b.volt[:, :, 0]
    v_end = np.stack([[np.interp(window, b.t, b.volt[k, i]) for i in range(7)] for k in range(len(b.volt))])
    q_restore = np.clip((v_pre - v_end) * caps, 0.0, None).sum(axis=1)
    return float(np.mean(vdd * (q_eval + q_restore)))


def compact_batch(params: PCSAParams, vdd: float, r_bl, r_blb, t_stop: float, seed: int,
                  temperature_c: float = 27.0) -> tuple[Batch, float]:
    """The compact model's batch over the same pairs, with its own Pelgrom draws; also the mean
    energy per sense (J) over that window."""
    pcsa = PCSA(params)
    gen = torch.Generator().manual_seed(seed)
    op = OperatingPoint(vdd, t_stop, temperature=temperature_c + 273.15)
    res = pcsa.sense(torch.as_tensor(r_bl, dtype=torch.float64), torch.as_tensor(r_blb, dtype=torch.float64), op,
                     generator=gen)
    return Batch(res.value.numpy(), res.t_decide.numpy()), float(res.energy.mean())


@dataclass
class Metrics:
    """Window metrics of one simulator at one VDD (s; NaN where undefined; inf: beyond the window)."""

    t_median: float
    w_low: float
    w_high: float
    margin: float
    flip_rate: float
    decided_lrs: float

    def as_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and math.isnan(v) else (v if math.isfinite(v) else "inf"))
                for k, v in asdict(self).items()}


def window_metrics(lh: Batch, hh: Batch) -> Metrics:
    """W_low, W_high, margin, flip rate from an (LRS, HRS) batch and an (HRS, HRS) batch."""
    td_l = np.where(np.isnan(lh.t_decide), np.inf, lh.t_decide)
    td_h = np.where(np.isnan(hh.t_decide), np.inf, hh.t_decide)
    decided = float(np.isfinite(td_l).mean())
    # Order statistics: W_low is when the ceil(0.99 N)-th (LRS, HRS) read has decided; W_high when the
    # (floor(0.1 N) + 1)-th (HRS, HRS) read decides, the first window at which P(0) drops below 0.9.
    s_l, s_h = np.sort(td_l), np.sort(td_h)
    w_low = float(s_l[max(math.ceil(Q_LOW * len(s_l)) - 1, 0)])
    w_high = float(s_h[min(math.floor((1.0 - P_ZERO) * len(s_h) + 1e-9), len(s_h) - 1)])
    t_med = float(np.median(td_l)) if decided >= 0.5 else math.inf
    margin = w_high / w_low if math.isfinite(w_low) and w_low > 0 else math.nan
    return Metrics(t_med, w_low, w_high, margin, float((lh.value == -1).mean()), decided)


def draw_pairs(n: int, seed: int, device_model=None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(LRS, HRS) and (HRS, HRS) resistance pairs (ohm) from the device model (default DeviceModel)."""

    dm = device_model or DeviceModel()
    gen = torch.Generator().manual_seed(seed)
    lrs = dm.sample("LRS", n, gen).numpy()
    hrs = dm.sample("HRS", 3 * n, gen).numpy()
    return {"LRS,HRS": (lrs, hrs[:n]), "HRS,HRS": (hrs[n:2 * n], hrs[2 * n:])}


def choose_t_stop(params: PCSAParams, vdd: float, pairs, seed: int, t_cap: float) -> float:
    """Transient length (s) for one VDD: long enough for the compact model's W_high (x2.5) and W_low
    (x4), at most ``t_cap``; the reference reports anything beyond it as 'inf'. The (HRS, HRS) batch
    runs over at most 50 W_low (its W_high is a few W_low where a margin exists)."""
    lh = compact_batch(params, vdd, *pairs["LRS,HRS"], t_cap, seed)[0]
    td = np.where(np.isnan(lh.t_decide), np.inf, lh.t_decide)
    w_low = float(np.sort(td)[max(math.ceil(Q_LOW * len(td)) - 1, 0)])
    if not math.isfinite(w_low):
        return t_cap
    hh = compact_batch(params, vdd, *pairs["HRS,HRS"], min(50.0 * w_low, t_cap), seed + 1)[0]
    w_high = window_metrics(lh, hh).w_high
    want = max(2.5 * w_high, 4.0 * w_low, 1e-9) if math.isfinite(w_high) else 50.0 * w_low
    return min(want, t_cap)


def compare_vdd(lib: Path, corner: str, params: PCSAParams, vdd: float, pairs, *, nfet: str, pfet: str,
                t_stop: float, seed: int = 0, timeout: float = 600.0) -> dict:
    """Reference and compact metrics at one VDD, plus energies at the reference's W_low (or t_stop/4)."""
    t0 = time.perf_counter()
    r_lh, r_hh = pairs["LRS,HRS"], pairs["HRS,HRS"]
    n = len(r_lh[0])
    both = run_reference(lib, corner, params, vdd, np.concatenate([r_lh[0], r_hh[0]]),
                         np.concatenate([r_lh[1], r_hh[1]]), t_stop, nfet=nfet, pfet=pfet, timeout=timeout)
    t_ref = time.perf_counter() - t0
    ref_lh = Batch(both.value[:n], both.t_decide[:n], both.t, both.supply[:n], both.volt[:n])
    ref_hh = Batch(both.value[n:], both.t_decide[n:])
    t1 = time.perf_counter()
    cmp_lh = compact_batch(params, vdd, *r_lh, t_stop, seed)[0]
    cmp_hh = compact_batch(params, vdd, *r_hh, t_stop, seed + 1)[0]
    t_cmp = time.perf_counter() - t1
    ref, cmp_ = window_metrics(ref_lh, ref_hh), window_metrics(cmp_lh, cmp_hh)
    window = ref.w_low if math.isfinite(ref.w_low) else t_stop / 4
    e_ref = reference_energy(ref_lh, params, vdd, window)
    e_cmp = compact_batch(params, vdd, *r_lh, window, seed)[1]
    return {"vdd": vdd, "t_stop": t_stop, "instances": n, "energy_window": window,
            "reference": ref.as_dict() | {"energy": e_ref}, "compact": cmp_.as_dict() | {"energy": e_cmp},
            "seconds": {"reference": t_ref, "compact": t_cmp}}


def relative_error(a, b) -> float | None:
    """|a - b| / |b| for finite numbers, else None."""
    if not all(isinstance(x, (int, float)) and math.isfinite(x) for x in (a, b)) or b == 0:
        return None
    return abs(a - b) / abs(b)


def flip_onset(rows: list[dict], who: str, threshold: float = 1e-3) -> float | None:
    """Highest VDD (V) at or below which the (LRS, HRS) sign-flip rate exceeds ``threshold`` in the
    sweep (rows in any order); None where no VDD reaches it."""
    hit = [r["vdd"] for r in rows if r[who]["flip_rate"] > threshold]
    return max(hit) if hit else None


AGREE_T = 0.20  # decision time and margin within 20 % where VDD >= Vth + 0.3 V (issue goals)
AGREE_E = 0.15  # energy within 15 %
AGREE_ONSET = 0.05  # V, flip onset


def foundry_reference(lib: Path, corner: str, params: PCSAParams, vdds, *, n: int, nfet: str, pfet: str,
                      seed: int = 0, t_cap: float = 200e-9, timeout: float = 600.0, progress=None) -> dict:
    """The sweep over ``vdds`` (from the highest down; stops after the first VDD where under half of
    the (LRS, HRS) reference reads decide), with agreement figures; a JSON-ready dict."""
    say = progress or (lambda msg: None)
    pairs = draw_pairs(n, seed)
    vth = max(params.nmos.vt0, params.pmos.vt0)
    rows = []
    t0 = time.perf_counter()
    for vdd in sorted(vdds, reverse=True):
        t_stop = choose_t_stop(params, vdd, pairs, seed, t_cap)
        row = compare_vdd(lib, corner, params, vdd, pairs, nfet=nfet, pfet=pfet, t_stop=t_stop, seed=seed,
                          timeout=timeout)
        ref, cmp_ = row["reference"], row["compact"]
        row["in_goal_range"] = vdd >= vth + 0.3
        row["rel_err"] = {k: relative_error(cmp_[k], ref[k]) for k in ("t_median", "w_low", "w_high", "margin",
                                                                        "energy")}
        rows.append(row)
        say(f"VDD {vdd:.2f} V: reference {row['seconds']['reference']:.1f} s, t_stop {t_stop * 1e9:.2g} ns")
        if ref["decided_lrs"] < 0.5:
            break
    onset_ref, onset_cmp = flip_onset(rows, "reference"), flip_onset(rows, "compact")
    misses = []
    for r in rows:
        if not r["in_goal_range"]:
            continue
        for k, goal in (("t_median", AGREE_T), ("w_low", AGREE_T), ("margin", AGREE_T), ("energy", AGREE_E)):
            e = r["rel_err"][k]
            if e is None or e > goal:
                misses.append({"vdd": r["vdd"], "metric": k, "rel_err": e, "goal": goal})
    onset_ok = (onset_ref is None and onset_cmp is None) or (
        onset_ref is not None and onset_cmp is not None and abs(onset_ref - onset_cmp) <= AGREE_ONSET + 1e-9)
    return {"library": Path(lib).name, "corner": corner, "nfet": nfet, "pfet": pfet, "instances": n,
            "vth": vth, "rows": rows, "flip_onset": {"reference": onset_ref, "compact": onset_cmp, "agree": onset_ok},
            "misses": misses, "seconds": time.perf_counter() - t0}
