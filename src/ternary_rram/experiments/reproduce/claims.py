"""The claims of a reproduction: each verdict computed from the numbers by the criterion stated beside it.

Functions here take computed results (``compute.py``) and return :class:`~ternary_rram.experiments.report.Claim`
rows (and the few derived numbers the section texts quote); they draw nothing and compute no unit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ternary_rram.experiments.report import Claim
from ternary_rram.experiments.reproduce.compute import ChipStudy, MapStudy, PVTStudy
from ternary_rram.experiments.reproduce.presets import TERNARY_OK, TERNARY_USED, VDD_NOMINAL


def fmt_p(p: float) -> str:
    return "nan" if not math.isfinite(p) else (f"{p:.3g}" if p >= 1e-3 or p == 0 else f"{p:.2e}")


def upper95(k: float, n: float) -> float:
    """Upper 95 % bound of a rate with k events in n trials (rule of three for k = 0, else Wilson)."""
    if n <= 0:
        return float("nan")
    if k == 0:
        return 3.0 / n
    p = k / n
    z = 1.96
    c = (p + z * z / (2 * n) + z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)
    return float(c)


def fmt_ratio(ratio: float, margin: tuple[float, float], longest: float) -> str:
    """A margin W_high / W_low for the claims table: the ratio, '> x' when W_high lies beyond the map, or 'none'."""
    w_low, w_high = margin
    if not math.isfinite(w_low):
        return "none (+-1 reads do not all decide)"
    if math.isinf(w_high):
        return f"> {longest / w_low:.3g} (W_high beyond the map)"
    return f"{ratio:.3g}" if ratio > 1 else f"none ({ratio:.2g})"


def fmt_j(e: float) -> str:
    """Energy with an SI prefix (fJ .. mJ)."""
    if not math.isfinite(e):
        return "nan"
    for scale, unit in ((1e-3, "mJ"), (1e-6, "uJ"), (1e-9, "nJ"), (1e-12, "pJ")):
        if abs(e) >= scale:
            return f"{e / scale:.3g} {unit}"
    return f"{e / 1e-15:.3g} fJ"



def drop_ber(bers: Sequence[float], accs: Sequence[float], clean: float, drop: float) -> float:
    """Error rate where accuracy first falls ``drop`` below ``clean``: linear interpolation of the drop
    in log(rate) between the last grid rate below and the first above (inf if it never does)."""
    prev_b, prev_d = None, 0.0
    for b, a in zip(bers, accs):
        d = clean - a
        if d > drop:
            if prev_b is None or prev_b <= 0 or b <= 0:
                return float(b)
            f = (drop - prev_d) / (d - prev_d)
            return float(math.exp(math.log(prev_b) + f * (math.log(b) - math.log(prev_b))))
        prev_b, prev_d = b, d
    return float("inf")




# ------------------------------------------------------------------------------------------------
# sections 1-4
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MarginAnalysis:
    """Timing margins W_high / W_low per VDD (``ratio``; ``bound``: the lower bound min(W_high, longest) / W_low),
    whether the margin is wider at the chosen VDD than at nominal (``margin_grows``; None: cannot tell) and
    hence whether the near-threshold claims hold only under a fixed clock."""

    ratio: dict
    bound: dict
    longest: float
    margin_grows: bool | None

    @property
    def fixed_clock_only(self) -> bool:
        return self.margin_grows is False


def margin_analysis(m: MapStudy) -> MarginAnalysis:
    """Margins of the map per VDD compared between nominal and the chosen VDD."""
    vdds, margins, vdd_star = m.vdds, m.margins, m.vdd_star
    longest = float(m.windows.max())
    ratio = {v: (wh / wl if math.isfinite(wl) and wl > 0 else float("nan")) for v, (wl, wh) in margins.items()}
    # Where W_high lies beyond the map only a lower bound of the margin is known: longest window / W_low.
    bound = {v: (min(wh, longest) / wl if math.isfinite(wl) and wl > 0 else float("nan"))
             for v, (wl, wh) in margins.items()}
    i_nom0 = vdds.index(VDD_NOMINAL) if VDD_NOMINAL in vdds else 0
    v_nom = vdds[i_nom0]
    r_nom, r_star = ratio[v_nom], ratio[vdd_star]
    # Does a window tuned per VDD favour the lower VDD? If not, the near-threshold ternary claims rest on the
    # fixed window (the map's windows are absolute: a clock) and are reported as such. None: cannot tell.
    margin_grows: bool | None = None
    if vdd_star < v_nom and not math.isnan(r_star) and not math.isnan(r_nom):
        if math.isfinite(r_nom) and math.isfinite(r_star):
            margin_grows = bool(r_star > r_nom)
        elif math.isfinite(r_nom):  # the lower VDD's margin is only bounded below
            margin_grows = True if bound[vdd_star] > r_nom else None
        elif math.isfinite(r_star):  # nominal's margin is only bounded below
            margin_grows = False if r_star < bound[v_nom] else None
    elif vdd_star < v_nom and math.isnan(r_star) and not math.isnan(r_nom):
        margin_grows = False  # no margin at all at the lower VDD, one at nominal
    return MarginAnalysis(ratio, bound, longest, margin_grows)


def claims_waveforms(waves: dict[float, Any], n_wave: int, vdd_star: float, w_star: float, readout_fraction: float,
                     fixed_clock_only: bool) -> tuple[Claim, ...]:
    """Section 1: decoded values of the drawn instances at the chosen window."""
    at_w: dict[tuple[float, int], list[tuple[bool, bool]]] = {}
    for v in (VDD_NOMINAL, vdd_star):
        wv = waves[v]
        k_w = int(np.clip(np.searchsorted(wv["t"], w_star, side="right") - 1, 0, len(wv["t"]) - 1))
        for s_i, s in enumerate((1, -1, 0)):
            rows_s = range(s_i * n_wave, (s_i + 1) * n_wave)
            at_w[(v, s)] = [(bool(wv["out"][q, k_w] > readout_fraction * v),
                             bool(wv["outb"][q, k_w] > readout_fraction * v)) for q in rows_s]
    n_pm_ok = (sum(hb and not h for h, hb in at_w[(VDD_NOMINAL, 1)])
               + sum(h and not hb for h, hb in at_w[(VDD_NOMINAL, -1)]))
    pm_ok = n_pm_ok == 2 * n_wave
    zero_same = [h == hb for h, hb in at_w[(vdd_star, 0)]]
    zero_level = sorted({"both high" if h else "both low" for h, hb in at_w[(vdd_star, 0)] if h == hb})
    return (
        Claim("The lower-resistance branch falls first and the latch regenerates: (LRS, HRS) ends with OUT low, "
              "OUTb high (and the mirror for -1)",
              f"{n_pm_ok}"
              f" of {2 * n_wave} drawn instances at {VDD_NOMINAL:g} V read correctly at {w_star * 1e9:.3g} ns",
              pm_ok, "every drawn +-1 instance at nominal VDD decodes to its value at the chosen window"),
        Claim("Near threshold an (HRS, HRS) pair leaves both outputs at the same level, which flags 0 "
              "(expected: both high; docs/physics.md section 1.5 leaves the level open)",
              f"{sum(zero_same)} of {len(zero_same)} drawn (HRS, HRS) instances at {vdd_star:g} V: "
              f"{', '.join(zero_level) or 'none at the same level'}",
              all(zero_same), "every drawn (HRS, HRS) instance at the chosen VDD has OUT and OUTb on the same side",
              fixed_clock_only=fixed_clock_only),
    )


def claims_map(m: MapStudy, ma: MarginAnalysis, n_map: int) -> tuple[Claim, ...]:
    """Section 2: P(0 | HRS,HRS) at nominal and chosen VDD, margins, single-sense ternary reading."""
    vdds, windows, err, p_state = m.vdds, m.windows, m.err, m.p_state
    vdd_star, j_star, w_star, err_min = m.vdd_star, m.j_star, m.w_star, m.err_min
    region = [(v, float(w)) for i, v in enumerate(vdds) for j, w in enumerate(windows) if err[i, j] <= TERNARY_OK]
    i_nom = vdds.index(VDD_NOMINAL) if VDD_NOMINAL in vdds else 0
    p0_nom = float(p_state[i_nom, j_star, 2, 1])
    p0_best = float(p_state[vdds.index(vdd_star), j_star, 2, 1])
    # Can one window serve both modes (binary at nominal VDD, ternary lower)? The shortest window where
    # (HRS, HRS) resolves at nominal VDD, and the best ternary read error any VDD reaches with it.
    j_both = next((j for j in range(len(windows)) if p_state[i_nom, j, 2, 1] <= 0.2), None)
    both = ("no window of the map resolves it at nominal VDD" if j_both is None else
            f"the shortest window where it does (P0 <= 0.2) is {windows[j_both] * 1e9:.3g} ns, where the best "
            f"ternary read error over VDD is {float(err[:, j_both].min()):.3g} "
            f"(at {vdds[int(err[:, j_both].argmin())]:g} V)")
    return (
        Claim("P(read 0 | HRS,HRS) near 0 at nominal VDD (the pair resolves to a random +-1)",
              f"P0 = {p0_nom:.3f} at {vdds[i_nom]:g} V, window {w_star * 1e9:.3g} ns (n={n_map}); "
              f"{float(p_state[i_nom, -1, 2, 1]):.3f} at the longest window {windows[-1] * 1e9:.3g} ns; {both}",
              p0_nom <= 0.2, "P0(nominal VDD, chosen window) <= 0.2"),
        Claim("P(read 0 | HRS,HRS) close to 1 in a lower-VDD ternary region",
              f"P0 = {p0_best:.3f} at {vdd_star:g} V, window {w_star * 1e9:.3g} ns",
              p0_best >= 0.9 and vdd_star < vdds[i_nom], "P0 >= 0.9 at a VDD below nominal, same window",
              fixed_clock_only=ma.fixed_clock_only),
        Claim("Ternary reading works best near threshold, also with a window tuned per VDD: the timing margin "
              "W_high / W_low is wider at the lower VDD than at nominal",
              "W_high / W_low: " + "; ".join(
                  f"{v:g} V {fmt_ratio(ma.ratio[v], m.margins[v], ma.longest)}" for v in vdds),
              ma.margin_grows,
              "W_high / W_low at the chosen VDD > at nominal VDD (W_low: 99 % of +-1 reads decided; W_high: "
              "P(0 | HRS,HRS) still >= 0.9; where W_high lies beyond the map, longest window / W_low bounds the "
              "margin below); not tested when the chosen VDD is nominal or the bounds cannot decide"),
        Claim("One sense operation reads a ternary weight (single-sense ternary reading works)",
              f"lowest ternary read error {err_min:.3g} at {vdd_star:g} V, {w_star * 1e9:.3g} ns; "
              f"{len(region)} of {err.size} (VDD, window) points <= {TERNARY_OK:g}",
              err_min <= TERNARY_OK, f"min over the map of the ternary read error <= {TERNARY_OK:g}"),
    )


def claims_error_types(m: MapStudy, pvt: PVTStudy, n_map: int) -> tuple[Claim, ...]:
    """Section 3: correct reads, sign flips against +-1 <-> 0 errors, flips below the region, PVT robustness."""
    vdds, windows, p_state, vdd_star = m.vdds, m.windows, m.p_state, m.vdd_star
    nom = pvt.rates["27 C, typical"]
    used = [v for v in vdds if nom[v].ternary <= TERNARY_USED] or [vdd_star]
    k_flip = sum(nom[v].k_flip for v in used)
    n_pm_used = sum(nom[v].n_pm for v in used)
    flip_rate = k_flip / n_pm_used
    other = sum(nom[v].to_zero * nom[v].n_pm + nom[v].from_zero * nom[v].n_zero for v in used)
    n_all = sum(nom[v].n_pm + nom[v].n_zero for v in used)
    other_rate = other / n_all
    correct_min = min(nom[v].correct_pm for v in used)
    lost_zero = sum(nom[v].to_zero * nom[v].n_pm for v in used)
    low_v = vdds[-1]
    flip_long = {v: float((p_state[i, -1, 0, 0] + p_state[i, -1, 1, 2]) / 2) for i, v in enumerate(vdds)}
    # Flips can only show where the +-1 pairs resolve at all: the lowest VDD where at least half of them decide
    # within the longest window (below it, e.g. 0.7 V with the default SKY130 set, nothing resolves in time).
    decided_long = {v: 1.0 - float((p_state[i, -1, 0, 1] + p_state[i, -1, 1, 1]) / 2) for i, v in enumerate(vdds)}
    low_flip_v = min((v for v in vdds if decided_long[v] >= 0.5), default=low_v)
    robust = {name: pvt.rates[name][vdd_star].ternary for name, _, _ in pvt.conditions}
    worst = max(robust, key=robust.get)
    return (
        Claim("P(correct | LRS,HRS) close to 1 where the scheme is used; what is lost goes to 0, not to a sign flip",
              f"min P(correct | +-1) = {correct_min:.4f} over VDD {{{', '.join(f'{v:g}' for v in used)}}} V; "
              f"lost to 0: {round(lost_zero)}, sign flips: {k_flip}",
              correct_min >= 0.99 and k_flip <= lost_zero,
              f"min P(correct) >= 0.99 and flips <= reads lost to 0, over VDDs with ternary error <= {TERNARY_USED:g}"),
        Claim("Sign flips negligible, much rarer than +-1 <-> 0 errors",
              f"flip rate {fmt_p(flip_rate)} (95 % upper bound {fmt_p(upper95(k_flip, n_pm_used))}) vs +-1 <-> 0 "
              f"rate {fmt_p(other_rate)}; at the lowest VDD {low_v:g} V flips {fmt_p(nom[low_v].flip)}",
              None if (k_flip == 0 and upper95(0, n_pm_used) > 1e-2) else
              (upper95(k_flip, n_pm_used) <= 1e-2 and (flip_rate <= 0.1 * other_rate or k_flip == 0)),
              "95 % upper bound of the flip rate <= 1e-2 and flip rate <= 0.1 x the +-1 <-> 0 rate (or no flip), "
              "over the used VDDs (not tested when too few reads could bound it)"),
        Claim("Below the ternary region, mismatch-driven sign flips on (LRS, HRS) rise (docs/physics.md section 2.6)",
              f"at the longest window {windows[-1] * 1e9:.3g} ns: flip rate {fmt_p(flip_long[low_flip_v])} at "
              f"{low_flip_v:g} V ({100 * decided_long[low_flip_v]:.0f} % of +-1 reads decided) vs "
              f"{fmt_p(flip_long[vdd_star])} at {vdd_star:g} V ({2 * n_map} reads each)",
              None if low_flip_v >= vdd_star else flip_long[low_flip_v] > flip_long[vdd_star],
              "sign-flip rate of +-1 at the longest window higher at the lowest VDD where at least half of the +-1 "
              "reads decide within it than at the chosen VDD (not tested when that VDD is not below the chosen one)"),
        Claim("Robust to process, voltage and temperature variations [P2]",
              "ternary error at the chosen point: " + "; ".join(f"{k}: {fmt_p(v)}" for k, v in robust.items()),
              robust[worst] <= TERNARY_USED,
              f"ternary error <= {TERNARY_USED:g} at the chosen (VDD, window) under every temperature and corner"),
    )


def claims_energy_time(m: MapStudy, pvt: PVTStudy) -> tuple[Claim, ...]:
    """Section 4: energy per sense and decision time at the chosen VDD against nominal."""
    vdds, vdd_star = m.vdds, m.vdd_star
    i_nom = vdds.index(VDD_NOMINAL) if VDD_NOMINAL in vdds else 0
    e_nom = {v: float(np.mean(pvt.energy["27 C, typical"][v])) for v in vdds}
    e_hi = e_nom[vdds[i_nom]]
    e_star = e_nom[vdd_star]
    t_hi = float(pvt.tdec["27 C, typical"][vdds[i_nom]][0])
    t_lo = float(pvt.tdec["27 C, typical"][vdd_star][0])
    return (
        Claim("Energy per sense lower at near-threshold VDD",
              f"{e_star * 1e15:.3g} fJ at {vdd_star:g} V vs {e_hi * 1e15:.3g} fJ at {vdds[i_nom]:g} V "
              f"(ratio {e_star / e_hi:.2f})", e_star < 0.6 * e_hi, "E(chosen VDD) < 0.6 x E(nominal VDD)"),
        Claim("Energy per sense in the tens of fJ at 130 nm",
              f"{e_hi * 1e15:.3g} fJ at {vdds[i_nom]:g} V, {e_star * 1e15:.3g} fJ at {vdd_star:g} V",
              e_star >= 1e-15 and e_hi <= 100e-15, "1 fJ <= E <= 100 fJ at both VDDs"),
        Claim("Decision time grows steeply below threshold (docs/physics.md section 4.2)",
              f"t_decide(+1) = {t_lo * 1e9:.3g} ns at {vdd_star:g} V vs {t_hi * 1e9:.3g} ns at {vdds[i_nom]:g} V",
              (t_lo / t_hi > 2.0) if (math.isfinite(t_lo) and math.isfinite(t_hi)) else None,
              "t_decide(chosen VDD) > 2 x t_decide(nominal)"),
    )


# ------------------------------------------------------------------------------------------------
# sections 5-7
# ------------------------------------------------------------------------------------------------
def claims_width(trained: dict, widths: Sequence[int], kinds: Sequence[tuple[str, str]]) -> tuple[Claim, ...]:
    """Section 5: ternary above binary at equal width, full precision above both."""
    wmax = max(widths)
    acc = {k: trained[(wmax, k)]["test_acc"] for k, _ in kinds}
    wins = sum(trained[(w, "ternary")]["test_acc"] > trained[(w, "binary")]["test_acc"] for w in widths)
    return (
        Claim("Ternary weights give higher accuracy than binary weights at equal width [P1, P2]",
              f"width {wmax}: ternary {acc['ternary'] * 100:.2f} % vs binary {acc['binary'] * 100:.2f} %; ternary "
              f"ahead at {wins} of {len(widths)} widths",
              acc["ternary"] > acc["binary"] and wins * 2 > len(widths),
              "ternary > binary at the largest width and at more than half of the widths"),
        Claim("Full precision above both (literature prior)",
              f"width {wmax}: full precision {acc['float'] * 100:.2f} %",
              acc["float"] >= max(acc["ternary"], acc["binary"]), "float >= ternary and binary at the largest width"),
    )


def claim_converged(binary: dict, ternary: dict) -> tuple[Claim, ...]:
    """Section 5, on the converged pair: ternary above binary at equal width."""
    return (Claim("Ternary weights give higher accuracy than binary weights at equal width, converged networks "
                  "[P1, P2]",
                  f"width {ternary['width']}, {ternary['epochs']} epochs: ternary {ternary['test_acc'] * 100:.2f} % vs "
                  f"binary {binary['test_acc'] * 100:.2f} % (gap {(ternary['test_acc'] - binary['test_acc']) * 100:+.2f}"
                  " points; one seed each)",
                  ternary["test_acc"] > binary["test_acc"], "ternary > binary on the same test images"),)


def claims_errors(bers: Sequence[float], acc_b: Sequence[float], acc_t: Sequence[float], clean_b: float,
                  clean_t: float, circuit_ber: float) -> tuple[Claim, ...]:
    """Section 6: accuracy flat under the circuit's ternary errors; sign flips hurt earlier."""
    acc_t_circ = float(np.interp(circuit_ber, bers, acc_t))
    d_b, d_t = drop_ber(bers, acc_b, clean_b, 0.01), drop_ber(bers, acc_t, clean_t, 0.01)
    return (
        Claim("Accuracy flat (within about half a point) under +-1 <-> 0 errors at the rates the circuit produces",
              f"ternary net: {clean_t * 100:.2f} % clean, {acc_t_circ * 100:.2f} % at error rate "
              f"{fmt_p(circuit_ber)} (the highest ternary error among the VDDs where the scheme is used)",
              clean_t - acc_t_circ <= 0.005, "drop <= 0.5 point at that rate (linear interpolation on the grid)"),
        Claim("Accuracy falls earlier under sign flips (binary) than under ternary errors",
              f"error rate where accuracy has fallen 1 point: binary/sign flips {fmt_p(d_b)}, ternary {fmt_p(d_t)}",
              (d_b < d_t) if (math.isfinite(d_b) or math.isfinite(d_t)) else None,
              "binary's 1-point-drop rate below ternary's (drop interpolated linearly in log rate between grid "
              "rates)"),
    )


def claims_chip(chip: ChipStudy, vdd_star: float) -> tuple[Claim, ...]:
    """Section 7: no error correction needed; array and whole-chip energy and accuracy against binary at nominal."""
    rows, vdds, window = chip.rows, chip.vdds, chip.window
    v_nom = VDD_NOMINAL if VDD_NOMINAL in vdds else vdds[0]
    vs = vdd_star
    t_star, b_nom, t_nom = rows["ternary"][vs], rows["binary"][v_nom], rows["ternary"][v_nom]
    near = vs < v_nom
    e_ratio = t_star["energy_array"] / b_nom["energy_array"] if b_nom["energy_array"] > 0 else float("nan")

    def share(r: dict) -> float:
        return r["energy_array"] / r["energy_total"] if r["energy_total"] > 0 else float("nan")

    return (
        Claim("The ternary network needs no error correction at its operating point [P2]",
              f"ternary net on chip at {vs:g} V, {window * 1e9:.3g} ns: {t_star['accuracy_chip'] * 100:.2f} % vs "
              f"{t_star['accuracy_ideal'] * 100:.2f} % with error-free weights; {t_star['n_weight_reads']} weight reads: "
              f"{t_star['n_to_zero']} +-1 -> 0, {t_star['n_from_zero']} 0 -> +-1, {t_star['n_sign_flip']} sign flips",
              t_star["accuracy_ideal"] - t_star["accuracy_chip"] <= 0.005,
              "accuracy with the weights the chip reads >= error-free accuracy - 0.5 point (same test images)"),
        Claim("Near-threshold ternary reading costs less array energy per inference than binary reading at "
              "nominal VDD [P1, P2]",
              f"sense amplifiers + bit lines: ternary at {vs:g} V {fmt_j(t_star['energy_array'])} vs binary at "
              f"{v_nom:g} V {fmt_j(b_nom['energy_array'])} (ratio {e_ratio:.2f}); ternary at {v_nom:g} V "
              f"{fmt_j(t_nom['energy_array'])}",
              (t_star["energy_array"] < b_nom["energy_array"]) if near else None,
              "E_array(ternary, chosen VDD) < E_array(binary, nominal VDD), same network width and sense window "
              "(not tested when the chosen VDD is the nominal one)"),
        Claim("The saving holds for the whole chip, digital periphery included ([P1] 'low power'; the periphery "
              "is our model, ternary_rram.chip.params)",
              f"whole chip: ternary at {vs:g} V {fmt_j(t_star['energy_total'])} vs binary at {v_nom:g} V "
              f"{fmt_j(b_nom['energy_total'])}; the array is {share(t_star) * 100:.1f} % and "
              f"{share(b_nom) * 100:.1f} % of it",
              (t_star["energy_total"] < b_nom["energy_total"]) if near else None,
              "E_chip(ternary, chosen VDD) < E_chip(binary, nominal VDD), every part of the chip energy model "
              "(not tested when the chosen VDD is the nominal one)"),
        Claim("Near threshold, the ternary chip is at least as accurate as the binary chip at nominal VDD [P1, P2]",
              f"on chip: ternary at {vs:g} V {t_star['accuracy_chip'] * 100:.2f} % vs binary at {v_nom:g} V "
              f"{b_nom['accuracy_chip'] * 100:.2f} %",
              (t_star["accuracy_chip"] >= b_nom["accuracy_chip"]) if near else None,
              "accuracy on chip, ternary at the chosen VDD >= binary at nominal VDD (not tested when the chosen VDD "
              "is the nominal one)"),
    )
