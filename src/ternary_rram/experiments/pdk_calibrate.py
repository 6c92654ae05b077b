"""``calibrate --pdk-lib``: fit the PCSA's transistors to a foundry PDK and write PARAMS.json.

The PCSA's sizes are mapped to the PDK (every length set to ``length``, widths raised to
``min_width``); the compact model is fitted per type on ngspice DC sweeps at those sizes and three
temperatures, Pelgrom coefficients come from the PDK's own mismatch (circuit/pdkfit.py). The
document carries the fitted transistors and the mapped sizes in its ``pcsa`` block
(``transistors``, ``widths``, ``lengths``), which ``chip.params_file.load_params`` applies through
``chip.params_file.apply_transistor_block``; presets (``--process sky130-tt``) are such documents shipped in
``ternary_rram/presets``.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ternary_rram.chip.params_file import MOSFET_FIELDS, load_params
from ternary_rram.circuit import pdkfit
from ternary_rram.circuit.params import GENERIC_130_PCSA, N_TRANSISTORS, PCSAParams
from ternary_rram.circuit.pdk_pcsa import foundry_reference
from ternary_rram.errors import InputError
from ternary_rram.experiments.plots import new_figure, save_figure
from ternary_rram.fileio import atomic_write_text

SKY130_LENGTH = 0.15e-6  # m, minimum drawn length of sky130_fd_pr__{n,p}fet_01v8 (docs/physics.md section 8)
SKY130_MIN_WIDTH = 0.42e-6  # m, minimum width (docs/physics.md section 8)
SKY130_VDD = 1.8  # V, nominal supply of the 1.8 V core devices (docs/physics.md section 8)


def mapped_sizes(base: PCSAParams, length: float, min_width: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """PCSA widths and lengths (m) on the PDK: every length ``length``, every width at least ``min_width``."""
    return tuple(max(w, min_width) for w in base.widths), (length,) * N_TRANSISTORS


def type_sizes(base: PCSAParams, widths, lengths, polarity: int) -> tuple[tuple[float, float], ...]:
    """Distinct (W, L) of one type in PCSA order, the latch transistor first (its size is used for the
    mismatch Monte Carlo)."""
    types = base.transistor_types()
    latch = 3 if polarity > 0 else 2  # MN1, MP1
    order = [latch] + [k for k in range(N_TRANSISTORS) if k != latch]
    out: list[tuple[float, float]] = []
    for k in order:
        if types[k].polarity == polarity and (widths[k], lengths[k]) not in out:
            out.append((widths[k], lengths[k]))
    return tuple(out)


def calibrate_pdk(lib: Path, corner: str, nfet: str, pfet: str, *, length: float = SKY130_LENGTH,
                  min_width: float = SKY130_MIN_WIDTH, vdd_max: float = SKY130_VDD,
                  temperatures_c: tuple[float, ...] = (-40.0, 27.0, 125.0), instances: int = 200,
                  timeout: float = 120.0, mismatch_param: str = "mc_mm_switch", command: str = "",
                  progress=None) -> tuple[dict, PCSAParams]:
    """Fit one corner; returns (PARAMS.json document, the PCSAParams it describes)."""

    for name, v in (("--length", length), ("--min-width", min_width), ("--vdd-max", vdd_max), ("--timeout", timeout)):
        if not (math.isfinite(v) and v > 0):
            raise InputError(f"{name}={v!r} is not allowed: must be finite and > 0")
    if instances < 20:
        raise InputError(f"--mc-instances={instances} is not allowed: must be >= 20")
    base = GENERIC_130_PCSA  # its sizes are the design sizes; the PDK's minimums are applied to them
    widths, lengths = mapped_sizes(base, length, min_width)
    vds = (0.05,) + tuple(round(vdd_max * f, 4) for f in (0.25, 0.5, 0.75, 1.0))
    plan = pdkfit.SweepPlan(nfet, pfet, type_sizes(base, widths, lengths, +1), type_sizes(base, widths, lengths, -1),
                            vdd_max=vdd_max, vds=vds, temperatures_c=tuple(temperatures_c))
    t0 = time.perf_counter()
    res = pdkfit.fit_pdk(Path(lib), corner, plan, instances=instances, timeout=timeout,
                         mismatch_param=mismatch_param, progress=progress)
    nmos = replace(res.fits[+1].params, a_vt=res.mismatch[+1].a_vt)
    pmos = replace(res.fits[-1].params, a_vt=res.mismatch[-1].a_vt)
    params = replace(base, nmos=nmos, pmos=pmos, widths=widths, lengths=lengths)
    doc = {
        "schema": "ternary-rram.params/1",
        "created_utc": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sources": [Path(lib).name],
        "pdk": {"library": Path(lib).name, "corner": corner, "nfet": nfet, "pfet": pfet, "vdd_max": vdd_max,
                "length": length, "min_width": min_width, "temperatures_c": list(temperatures_c),
                "vds": list(vds), "command": command, "seconds": res.seconds | {"wall": time.perf_counter() - t0}},
        "pcsa": {"a_vt_nmos": nmos.a_vt, "a_vt_pmos": pmos.a_vt,
                 "transistors": {"nmos": {k: getattr(nmos, k) for k in MOSFET_FIELDS},
                                 "pmos": {k: getattr(pmos, k) for k in MOSFET_FIELDS}},
                 "widths": list(widths), "lengths": list(lengths)},
        "fit": {"nmos": res.fits[+1].as_dict(), "pmos": res.fits[-1].as_dict()},
        "goodness": {"mismatch_nmos": res.mismatch[+1].as_dict(), "mismatch_pmos": res.mismatch[-1].as_dict()},
    }
    return doc, params


def describe(doc: dict) -> list[str]:
    """Report lines of a PDK calibration document: fitted parameters, fit errors, mismatch."""
    out = [f"{'type':5} {'vt0/V':>6} {'n':>5} {'mu0/cm2Vs':>9} {'lambda/V-1':>10} {'DIBL/mV/V':>9} "
           f"{'k_vt/mV/K':>9} {'mu_exp':>6} {'A_VT/mV um':>10} {'rms':>6} {'weak':>6} {'strong':>6}"]
    for kind in ("nmos", "pmos"):
        t = doc["pcsa"]["transistors"][kind]
        f = doc["fit"][kind]
        out.append(f"{kind:5} {t['vt0']:6.3f} {t['n']:5.2f} {t['mu0'] * 1e4:9.1f} {t['lambda_clm']:10.3f} "
                   f"{t['sigma_dibl'] * 1e3:9.1f} {t['k_vt'] * 1e3:9.2f} {t['mu_exp']:6.2f} {t['a_vt'] * 1e9:10.2f} "
                   f"{f['rms_log10']:6.3f} {f['rms_log10_weak']:6.3f} {f['rms_log10_strong']:6.3f}")
    out.append("rms: rms log10(current) error in decades; weak/strong: |V_GS| below/above the fitted |V_T|")
    return out


def write_document(path: Path, doc: dict) -> Path:
    """Write PARAMS.json atomically (nothing half-written on a crash)."""

    atomic_write_text(Path(path), json.dumps(doc, indent=2))
    return Path(path)




def foundry_figure(res: dict, path: Path) -> Path:
    """Figure of a ``spice --pdk`` result: decision time, W_low, W_high (left, log scale) and the
    margin W_high / W_low with the (LRS, HRS) sign-flip rate (right) against VDD, the BSIM4
    reference solid and the fitted compact model dashed."""

    rows = sorted(res["rows"], key=lambda r: r["vdd"])
    vdd = [r["vdd"] for r in rows]

    def series(who: str, key: str, scale: float = 1.0) -> list[float]:
        out = []
        for r in rows:
            x = r[who][key]
            out.append(float("nan") if x is None or x == "inf" else x * scale)
        return out

    fig, axes = new_figure(1, 2, width=4.8, height=3.6)
    ax = axes[0, 0]
    for key, label, colour in (("t_median", "median (LRS,HRS) decision", "C0"), ("w_low", "W_low", "C1"),
                               ("w_high", "W_high", "C2")):
        ax.semilogy(vdd, series("reference", key, 1e9), "-o", color=colour, ms=3, label=f"{label}, BSIM4")
        ax.semilogy(vdd, series("compact", key, 1e9), "--", color=colour, label=f"{label}, fitted model")
    ax.set_xlabel("VDD (V)")
    ax.set_ylabel("time (ns)")
    ax.legend(fontsize=6, loc="upper right")
    ax.grid(True, which="both", alpha=0.3)
    ax = axes[0, 1]
    ax.plot(vdd, series("reference", "margin"), "-o", color="C3", ms=3, label="W_high / W_low, BSIM4")
    ax.plot(vdd, series("compact", "margin"), "--", color="C3", label="W_high / W_low, fitted model")
    ax.axhline(1.0, color="k", lw=0.7, ls=":")
    ax.set_xlabel("VDD (V)")
    ax.set_ylabel("margin W_high / W_low")
    ax2 = ax.twinx()
    ax2.plot(vdd, series("reference", "flip_rate"), "-s", color="C4", ms=3, label="sign flips, BSIM4")
    ax2.plot(vdd, series("compact", "flip_rate"), "--", color="C4", label="sign flips, fitted model")
    ax2.set_ylabel("P(-1 | LRS, HRS)")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], fontsize=6, loc="center right")
    ax.grid(True, alpha=0.3)
    fig.suptitle(f"{res['library']} [{res['corner']}], {res['instances']} Monte Carlo instances per pair type",
                 fontsize=8)
    return save_figure(fig, path)


def calibrate_pdk_file(lib: Path, corner: str, nfet: str, pfet: str, out: Path, *, length: float = SKY130_LENGTH,
                       min_width: float = SKY130_MIN_WIDTH, vdd_max: float = SKY130_VDD, instances: int = 200,
                       timeout: float = 120.0, command: str = "", progress=None) -> tuple[dict, Path]:
    """``ternary-rram calibrate --pdk-lib``: fit one corner (:func:`calibrate_pdk`) and write the document to
    ``out`` atomically (a failure leaves no PARAMS.json behind). Returns (document, path)."""
    doc, _ = calibrate_pdk(lib, corner, nfet, pfet, length=length, min_width=min_width, vdd_max=vdd_max,
                           instances=instances, timeout=timeout, command=command, progress=progress)
    return doc, write_document(out, doc)


def foundry_study(lib: Path, corner: str, params: Path, vdds: Sequence[float], *, n: int, nfet: str, pfet: str,
                  seed: int = 0, t_cap: float = 200e-9, label: str | None = None, json_path: Path | None = None,
                  figure: Path | None = None, progress=None) -> dict:
    """``ternary-rram spice --pdk``: the PCSA with the PDK's transistors against the compact model fitted to them
    (:func:`ternary_rram.circuit.pdk_pcsa.foundry_reference`) at ``vdds``, with the PARAMS.json ``params``
    (``label`` names it in the result); written as JSON to ``json_path`` and drawn to ``figure`` when given."""
    _, pcsa_params = load_params(params)
    res = foundry_reference(lib, corner, pcsa_params, vdds, n=n, nfet=nfet, pfet=pfet, seed=seed, t_cap=t_cap,
                            progress=progress)
    res["params"] = label if label is not None else str(params)
    if json_path is not None:
        atomic_write_text(Path(json_path), json.dumps(res, indent=1))
    if figure is not None:
        foundry_figure(res, figure)
    return res
