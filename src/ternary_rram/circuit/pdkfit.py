"""Fit the EKV compact model (mosfet.py) to a foundry PDK: ngspice DC sweeps, least squares, Pelgrom.

Sweeps: each device type at the sizes the PCSA uses, |V_GS| from 0 to ``vdd_max`` at several |V_DS|,
at several temperatures, all in one ngspice process on a cut of the library (pdk.py). The PMOS is
driven with negative gate and drain voltages (source and bulk at 0), so both types are handled as
magnitudes, as the compact model mirrors them.

Fit: Levenberg-Marquardt on the residuals log10 |I_model| - log10 |I_PDK| over every sweep point
with |I_PDK| above ``CURRENT_FLOOR`` (junction leakage and gate-induced drain leakage sit below it
and are not in the compact model). Fitted per type: vt0, n, mu0 (through log mu0; cox is the PDK's
oxide), lambda_clm, sigma_dibl, k_vt, mu_exp. The Jacobian is taken by finite differences of the
same ``drain_current`` the circuit uses, so the fitted numbers mean exactly what the PCSA sees.

Mismatch: Monte Carlo DC sweeps with the PDK's mismatch switched on (one draw per instance); the
constant-current threshold (``I_CRITERION`` x W/L) of each instance gives sigma_VT and
A_VT = sigma_VT sqrt(W L) (Pelgrom).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import torch

from ternary_rram.circuit import pdk
from ternary_rram.circuit.mosfet import drain_current
from ternary_rram.circuit.params import EPS_SIO2, NMOS_130, PMOS_130, T_NOMINAL, MOSFETParams
from ternary_rram.errors import InputError

CURRENT_FLOOR = 1.0e-11  # A: below this the PDK current is leakage the compact model does not carry
I_CRITERION = 100.0e-9  # A per square (W/L): constant-current threshold criterion (docs/physics.md section 8)
I_CRITERION_WEAK = 1.0e-9  # A per square: a weak-inversion criterion, reported for the mismatch
FIT_NAMES = ("vt0", "n", "mu0", "lambda_clm", "sigma_dibl", "k_vt", "mu_exp")
MAX_ITERATIONS = 60
CONVERGED_RMS = 0.5  # decades: a fit whose rms error stays above this has not converged
ZERO_C = 273.15


@dataclass(frozen=True)
class Sweep:
    """I-V points of one device type, all (P,) numpy arrays of magnitudes: vgs, vds (V), temperature
    (K), width, length (m), current (A)."""

    polarity: int
    vgs: np.ndarray
    vds: np.ndarray
    temperature: np.ndarray
    width: np.ndarray
    length: np.ndarray
    current: np.ndarray

    def __len__(self) -> int:
        return len(self.current)


def model_current(p: MOSFETParams, s: Sweep) -> np.ndarray:
    """|I_D| (A) of the compact model at every point of ``s`` (grouped by temperature and size)."""
    out = np.empty(len(s))
    keys = np.stack([s.temperature, s.width, s.length], axis=1)
    for key in np.unique(keys, axis=0):
        sel = np.all(keys == key, axis=1)
        t, w, l = (float(k) for k in key)
        pol = p.polarity
        i = drain_current(p, torch.from_numpy(pol * s.vgs[sel]), 0.0, torch.from_numpy(pol * s.vds[sel]),
                          w=w, l=l, temperature=t, vbulk=0.0)
        out[sel] = np.abs(i.numpy())
    return out


# ------------------------------------------------------------------------------------ least squares
def _pack(p: MOSFETParams) -> np.ndarray:
    return np.array([p.vt0, p.n, math.log(p.mu0), p.lambda_clm, p.sigma_dibl, p.k_vt * 1e3, p.mu_exp])


def _unpack(base: MOSFETParams, x: np.ndarray) -> MOSFETParams:
    return replace(base, vt0=float(x[0]), n=float(x[1]), mu0=float(math.exp(x[2])), lambda_clm=float(x[3]),
                   sigma_dibl=float(x[4]), k_vt=float(x[5]) * 1e-3, mu_exp=float(x[6]))


@dataclass(frozen=True)
class FitResult:
    """Fitted parameters of one type and the rms log10 current error (decades) overall, in weak
    inversion (|V_GS| below the fitted |V_T| at that temperature) and strong inversion (above)."""

    params: MOSFETParams
    rms: float
    rms_weak: float
    rms_strong: float
    points: int
    iterations: int
    seconds: float

    def as_dict(self) -> dict:
        return {"rms_log10": self.rms, "rms_log10_weak": self.rms_weak, "rms_log10_strong": self.rms_strong,
                "points": self.points, "iterations": self.iterations, "seconds": self.seconds}


def _residual(base: MOSFETParams, x: np.ndarray, s: Sweep, log_i: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        r = np.log10(model_current(_unpack(base, x), s)) - log_i
    return np.where(np.isfinite(r), r, 10.0)


def initial_guess(polarity: int, s: Sweep, cox: float) -> MOSFETParams:
    """Start values from the sweeps: constant-current threshold, the textbook slope factor, the
    mobility that gives the largest measured current by the square law."""
    nominal = s.temperature == np.unique(s.temperature)[np.argmin(np.abs(np.unique(s.temperature) - T_NOMINAL))]
    sel = nominal & (s.vds == s.vds.min())
    crit = I_CRITERION * s.width[sel] / s.length[sel]
    above = s.vgs[sel][s.current[sel] >= crit]
    vth = float(above.min()) if len(above) else 0.5
    k = int(np.argmax(np.where(nominal, s.current, 0)))
    vov = max(float(s.vgs[k]) - vth, 0.2)
    n = 1.4
    mu0 = 2.0 * n * float(s.current[k]) * float(s.length[k]) / (cox * float(s.width[k]) * vov * vov)
    base = NMOS_130 if polarity > 0 else PMOS_130
    return replace(base, vt0=vth, n=n, mu0=mu0, cox=cox, lambda_clm=0.05, sigma_dibl=0.05, k_vt=1e-3, mu_exp=-1.5)


def fit_sweep(s: Sweep, start: MOSFETParams, *, max_iterations: int = MAX_ITERATIONS) -> FitResult:
    """Levenberg-Marquardt fit of FIT_NAMES to the sweep (module docstring). Raises InputError when it
    does not converge (non-finite or rms above CONVERGED_RMS decades)."""
    t0 = time.perf_counter()
    keep = s.current >= CURRENT_FLOOR
    if keep.sum() < 2 * len(FIT_NAMES):
        raise InputError(f"fit: only {int(keep.sum())} sweep points carry more than {CURRENT_FLOOR:g} A: "
                         "the device does not turn on in the swept range")
    s = Sweep(s.polarity, *(a[keep] for a in (s.vgs, s.vds, s.temperature, s.width, s.length, s.current)))
    log_i = np.log10(s.current)
    x = _pack(start)
    r = _residual(start, x, s, log_i)
    cost = float(r @ r)
    lam = 1e-3
    steps = np.array([1e-5, 1e-5, 1e-5, 1e-5, 1e-5, 1e-4, 1e-4])
    it = 0
    for it in range(1, max_iterations + 1):  # noqa: B007 (the count is reported after the loop)
        jac = np.empty((len(r), len(x)))
        for j in range(len(x)):
            xp = x.copy()
            xp[j] += steps[j]
            jac[:, j] = (_residual(start, xp, s, log_i) - r) / steps[j]
        jtj, jtr = jac.T @ jac, jac.T @ r
        improved = False
        for _ in range(12):
            a = jtj + lam * np.diag(np.diag(jtj) + 1e-12)
            try:
                dx = np.linalg.solve(a, -jtr)
            except np.linalg.LinAlgError:
                lam *= 10
                continue
            xn = x + dx
            xn[1] = max(xn[1], 1.0)  # slope factor n >= 1
            xn[3] = max(xn[3], 0.0)  # lambda >= 0
            rn = _residual(start, xn, s, log_i)
            cn = float(rn @ rn)
            if cn < cost:
                improved = True
                done = (cost - cn) < 1e-10 * max(cost, 1e-30)
                x, r, cost, lam = xn, rn, cn, max(lam / 5, 1e-9)
                break
            lam *= 10
        if not improved or done:
            break
    p = _unpack(start, x)
    rms = math.sqrt(cost / len(r))
    vt_t = p.vt0 - p.k_vt * (s.temperature - T_NOMINAL)
    weak, strong = s.vgs < vt_t, s.vgs >= vt_t
    rms_w = float(np.sqrt(np.mean(r[weak] ** 2))) if weak.any() else float("nan")
    rms_s = float(np.sqrt(np.mean(r[strong] ** 2))) if strong.any() else float("nan")
    if not (math.isfinite(rms) and rms < CONVERGED_RMS) or not all(math.isfinite(v) for v in x):
        raise InputError(f"fit did not converge: rms log10 current error {rms:.3g} decades after {it} iterations "
                         f"(allowed < {CONVERGED_RMS}); check the device names and --vdd-max")
    return FitResult(p, rms, rms_w, rms_s, len(r), it, time.perf_counter() - t0)


# ------------------------------------------------------------------------------------ ngspice sweeps
def oxide_capacitance(cut_text: str, default: float) -> float:
    """C_ox (F/m^2) from the first ``toxe`` of the cut model cards (SiO2), else ``default``."""
    m = re.search(r"\btoxe\s*=\s*\{?\s*([0-9.]+[eE][-+]?[0-9]+|[0-9.]+)", cut_text, re.I)
    return EPS_SIO2 / float(m.group(1)) if m else default


@dataclass(frozen=True)
class SweepPlan:
    """What to sweep: device names, sizes per type [(W, L) m], |V_GS| range (V), |V_DS| values (V),
    temperatures (deg C)."""

    nfet: str
    pfet: str
    sizes_n: tuple[tuple[float, float], ...]
    sizes_p: tuple[tuple[float, float], ...]
    vdd_max: float = 1.8
    vds: tuple[float, ...] = (0.05, 0.45, 0.9, 1.35, 1.8)
    temperatures_c: tuple[float, ...] = (-40.0, 27.0, 125.0)
    vgs_step: float = 0.025


def _instances(plan: SweepPlan, scale: float) -> tuple[list[str], list[tuple[int, float, float]]]:
    lines, meta = [], []
    k = 0
    for pol, name, sizes, d, g in ((+1, plan.nfet, plan.sizes_n, "d", "g"), (-1, plan.pfet, plan.sizes_p, "dp", "gp")):
        for w, l in sizes:
            lines.append(f"vm{k} {d} x{k} 0")
            lines.append(f"xm{k} x{k} {g} 0 0 {name} w={pdk.instance_size(w, scale)} l={pdk.instance_size(l, scale)}")
            meta.append((pol, w, l))
            k += 1
    return lines, meta


def dc_sweeps(lib: Path, corner: str, plan: SweepPlan, *, timeout: float = 120.0) -> tuple[dict[int, Sweep], str]:
    """Run the DC sweeps of ``plan`` in one ngspice process. Returns ({+1: NMOS sweep, -1: PMOS sweep},
    the cut library text)."""
    cut = pdk.cut_library(lib, corner, {plan.nfet: list(plan.sizes_n), plan.pfet: list(plan.sizes_p)})
    inst, meta = _instances(plan, cut.scale)
    ctl, outputs = [], []
    for ti, tc in enumerate(plan.temperatures_c):
        ctl.append(f"option temp={tc:g}")
        for vi, vd in enumerate(plan.vds):
            name = f"s{ti}_{vi}.dat"
            ctl += [f"alter vd dc={vd:g}", f"dc vg 0 {plan.vdd_max:g} {plan.vgs_step:g}",
                    f"wrdata {name} " + " ".join(f"i(vm{k})" for k in range(len(meta)))]
            outputs.append(name)
    net = "\n".join(["* DC sweeps for the compact-model fit", ".include cut.spice", "vg g 0 0", "vd d 0 0",
                     "eg gp 0 g 0 -1", "ed dp 0 d 0 -1", *inst, ".control", "set wr_singlescale",
                     "set wr_vecnames", "option numdgt=10", *ctl, ".endc", ".end"]) + "\n"
    data = pdk.run_ngspice({"cut.spice": cut.text, "main.cir": net}, "main.cir", outputs, timeout=timeout,
                           what=f"DC sweeps of {plan.nfet}/{plan.pfet} [{corner}]")
    cols: dict[int, list[list[np.ndarray]]] = {+1: [[] for _ in range(6)], -1: [[] for _ in range(6)]}
    for ti, tc in enumerate(plan.temperatures_c):
        for vi, vd in enumerate(plan.vds):
            arr = data[f"s{ti}_{vi}.dat"]
            vg = np.abs(arr[:, 0])
            for k, (pol, w, l) in enumerate(meta):
                c = cols[pol]
                for a, v in zip(c, (vg, np.full_like(vg, vd), np.full_like(vg, tc + ZERO_C), np.full_like(vg, w),
                                    np.full_like(vg, l), np.abs(arr[:, 1 + k]))):
                    a.append(v)
    sweeps = {pol: Sweep(pol, *(np.concatenate(a) for a in c)) for pol, c in cols.items()}
    return sweeps, cut.text


@dataclass(frozen=True)
class Mismatch:
    """Monte Carlo threshold mismatch of one type at one size: sigma_VT (V) and A_VT (V m) at the
    moderate (I_CRITERION) and weak (I_CRITERION_WEAK) constant-current criteria; instances counted."""

    sigma_vt: float
    a_vt: float
    sigma_vt_weak: float
    a_vt_weak: float
    instances: int
    width: float
    length: float

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _cc_threshold(vg: np.ndarray, i: np.ndarray, crit: float) -> np.ndarray:
    """Per column of i (G, K): V_G (V) where log I crosses log crit (linear interpolation); NaN if never."""
    li, lc = np.log(np.maximum(i, 1e-30)), math.log(crit)
    out = np.full(i.shape[1], np.nan)
    for k in range(i.shape[1]):
        idx = np.nonzero(li[:, k] >= lc)[0]
        if len(idx) and idx[0] > 0:
            j = idx[0]
            out[k] = vg[j - 1] + (lc - li[j - 1, k]) * (vg[j] - vg[j - 1]) / (li[j, k] - li[j - 1, k])
    return out


def mismatch_mc(lib: Path, corner: str, device: str, polarity: int, width: float, length: float, *,
                instances: int = 200, vds: float = 0.1, vdd_max: float = 1.8, mismatch_param: str = "mc_mm_switch",
                timeout: float = 120.0) -> Mismatch:
    """Pelgrom coefficients from ``instances`` mismatch draws of one device (module docstring)."""
    cut = pdk.cut_library(lib, corner, {device: [(width, length)]}, mismatch=True, mismatch_param=mismatch_param)
    g, d = ("g", "d") if polarity > 0 else ("gp", "dp")
    lines = []
    for k in range(instances):
        lines.append(f"vm{k} {d} x{k} 0")
        lines.append(f"xm{k} x{k} {g} 0 0 {device} w={pdk.instance_size(width, cut.scale)} "
                     f"l={pdk.instance_size(length, cut.scale)}")
    net = "\n".join(["* mismatch Monte Carlo", ".include cut.spice", "vg g 0 0", f"vd d 0 {vds:g}",
                     "eg gp 0 g 0 -1", "ed dp 0 d 0 -1", *lines, ".control", "set wr_singlescale",
                     "set wr_vecnames", "option numdgt=10", f"dc vg 0 {vdd_max:g} 0.005",
                     "wrdata mc.dat " + " ".join(f"i(vm{k})" for k in range(instances)), ".endc", ".end"]) + "\n"
    arr = pdk.run_ngspice({"cut.spice": cut.text, "main.cir": net}, "main.cir", ["mc.dat"], timeout=timeout,
                          what=f"mismatch Monte Carlo of {device} [{corner}]")["mc.dat"]
    vg, cur = np.abs(arr[:, 0]), np.abs(arr[:, 1:])
    out = []
    for crit in (I_CRITERION, I_CRITERION_WEAK):
        vt = _cc_threshold(vg, cur, crit * width / length)
        vt = vt[np.isfinite(vt)]
        if len(vt) < max(10, instances // 2):
            raise InputError(f"mismatch Monte Carlo of {device} [{corner}]: the threshold criterion was not reached "
                             f"in {instances - len(vt)} of {instances} instances (raise --vdd-max?)")
        out.append(float(np.std(vt, ddof=1)))
    if out[0] < 1e-6:
        raise InputError(f"mismatch Monte Carlo of {device} [{corner}]: every instance is identical: the library has "
                         f"no mismatch switched by {mismatch_param!r}")
    area = math.sqrt(width * length)
    return Mismatch(out[0], out[0] * area, out[1], out[1] * area, instances, width, length)


@dataclass
class PdkFit:
    """Everything one corner's calibration produced: fits and mismatch per type (+1 NMOS, -1 PMOS),
    timings (s)."""

    fits: dict[int, FitResult]
    mismatch: dict[int, Mismatch]
    seconds: dict[str, float] = field(default_factory=dict)


def fit_pdk(lib: Path, corner: str, plan: SweepPlan, *, instances: int = 200, timeout: float = 120.0,
            mismatch_param: str = "mc_mm_switch", progress=None) -> PdkFit:
    """Sweep, fit both types, and run the mismatch Monte Carlo at the latch sizes (the first size of
    each type in ``plan``)."""
    say = progress or (lambda msg: None)
    t0 = time.perf_counter()
    sweeps, cut_text = dc_sweeps(lib, corner, plan, timeout=timeout)
    t1 = time.perf_counter()
    say(f"[{corner}] DC sweeps: {sum(len(s) for s in sweeps.values())} points in {t1 - t0:.1f} s")
    cox = oxide_capacitance(cut_text, NMOS_130.cox)
    fits = {}
    for pol in (+1, -1):
        fits[pol] = fit_sweep(sweeps[pol], initial_guess(pol, sweeps[pol], cox))
        say(f"[{corner}] {'NMOS' if pol > 0 else 'PMOS'} fit: rms log10 I {fits[pol].rms:.3f} "
            f"(weak {fits[pol].rms_weak:.3f}, strong {fits[pol].rms_strong:.3f})")
    t2 = time.perf_counter()
    mm = {}
    for pol, name, sizes in ((+1, plan.nfet, plan.sizes_n), (-1, plan.pfet, plan.sizes_p)):
        w, l = sizes[0]
        mm[pol] = mismatch_mc(lib, corner, name, pol, w, l, instances=instances, vdd_max=plan.vdd_max,
                              mismatch_param=mismatch_param, timeout=timeout)
        say(f"[{corner}] {name} mismatch: A_VT {mm[pol].a_vt * 1e9:.2f} mV um ({instances} instances)")
    t3 = time.perf_counter()
    return PdkFit(fits, mm, {"sweeps": t1 - t0, "fit": t2 - t1, "mismatch": t3 - t2, "total": t3 - t0})
