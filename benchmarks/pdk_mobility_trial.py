"""Would a mobility-degradation term help the SKY130 fit? A trial fit, not part of the shipped model.

Fits, per type at one corner, the compact model of ``circuit/mosfet.py`` with one extra factor
1 / (1 + theta U_T (s_f + s_r)) (s_f, s_r: the softplus of the forward and reverse EKV arguments, so
the factor is 1 in weak inversion and 1 + theta (V_P - (V_S + V_D)/2) in strong inversion) to the
same ngspice DC sweeps as ``calibrate --pdk-lib``, and prints the rms log10 current errors and the
fitted slope factor, to compare with the shipped fit (docs/foundry.md).

    python benchmarks/pdk_mobility_trial.py --corner tt
"""

from __future__ import annotations

import argparse
import math
from dataclasses import replace

import numpy as np

from ternary_rram.circuit import pdk, pdkfit
from ternary_rram.circuit.mosfet import specific_current, threshold_at
from ternary_rram.circuit.params import DEFAULT_PCSA, T_NOMINAL, thermal_voltage
from ternary_rram.experiments.pdk_calibrate import mapped_sizes, type_sizes


def _model(p, theta: float, s: pdkfit.Sweep) -> np.ndarray:
    out = np.empty(len(s))
    for t in np.unique(s.temperature):
        for w in np.unique(s.width):
            sel = (s.temperature == t) & (s.width == w)
            ut = thermal_voltage(t)
            ad = np.sqrt(s.vds[sel] ** 2 + ut ** 2) - ut
            vp = (s.vgs[sel] - threshold_at(p, t) + p.sigma_dibl * ad) / p.n
            a, b = np.logaddexp(0, vp / (2 * ut)), np.logaddexp(0, (vp - s.vds[sel]) / (2 * ut))
            out[sel] = (specific_current(p, w, float(s.length[sel][0]), t) * (a * a - b * b)
                        * (1 + p.lambda_clm * ad) / (1 + theta * ut * (a + b)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corner", default="tt")
    args = ap.parse_args(argv)
    lib = pdk.sky130_lib()
    if lib is None:
        print("SKY130 not fetched: python -m ternary_rram.circuit.pdk fetch-sky130")
        return 2
    widths, lengths = mapped_sizes(DEFAULT_PCSA, 0.15e-6, 0.42e-6)
    plan = pdkfit.SweepPlan(pdk.SKY130_NFET, pdk.SKY130_PFET, type_sizes(DEFAULT_PCSA, widths, lengths, +1),
                            type_sizes(DEFAULT_PCSA, widths, lengths, -1))
    sweeps, cut = pdkfit.dc_sweeps(lib, args.corner, plan)
    cox = pdkfit.oxide_capacitance(cut, 0.01)
    for pol, name in ((+1, "nfet"), (-1, "pfet")):
        s = sweeps[pol]
        keep = s.current >= pdkfit.CURRENT_FLOOR
        s = pdkfit.Sweep(pol, *(x[keep] for x in (s.vgs, s.vds, s.temperature, s.width, s.length, s.current)))
        base = pdkfit.initial_guess(pol, s, cox)
        log_i = np.log10(s.current)

        def residual(x: np.ndarray, base=base, s=s, log_i=log_i) -> np.ndarray:
            p = replace(base, vt0=x[0], n=max(x[1], 1.0), mu0=math.exp(x[2]), lambda_clm=max(x[3], 0.0),
                        sigma_dibl=x[4], k_vt=x[5] * 1e-3, mu_exp=x[6])
            return np.log10(np.maximum(_model(p, max(x[7], 0.0), s), 1e-30)) - log_i

        x = np.array([base.vt0, 1.4, math.log(base.mu0 * 3), 0.05, 0.05, 1.0, -1.5, 1.0])
        r = residual(x)
        cost, lam = float(r @ r), 1e-3
        for _ in range(80):  # Levenberg-Marquardt, as pdkfit.fit_sweep
            jac = np.stack([(residual(x + np.eye(8)[j] * 1e-5) - r) / 1e-5 for j in range(8)], 1)
            a, g = jac.T @ jac, jac.T @ r
            for _ in range(12):
                xn = x + np.linalg.solve(a + lam * np.diag(np.diag(a) + 1e-12), -g)
                rn = residual(xn)
                if float(rn @ rn) < cost:
                    x, r, cost, lam = xn, rn, float(rn @ rn), lam / 5
                    break
                lam *= 10
            else:
                break
        weak = s.vgs < x[0] - x[5] * 1e-3 * (s.temperature - T_NOMINAL)
        print(f"{name} [{args.corner}] with mobility degradation: rms {math.sqrt(cost / len(r)):.3f} "
              f"(weak {np.sqrt(np.mean(r[weak] ** 2)):.3f}, strong {np.sqrt(np.mean(r[~weak] ** 2)):.3f}); "
              f"n {x[1]:.2f}, theta {x[7]:.2f} 1/V, lambda {x[3]:.3f}, DIBL {x[4] * 1e3:.0f} mV/V")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
