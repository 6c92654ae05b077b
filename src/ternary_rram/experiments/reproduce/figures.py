"""The figures of a reproduction and the data files behind each (CSV/JSON): drawn from computed numbers only."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import LogNorm
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.patheffects import withStroke
from matplotlib.ticker import FormatStrFormatter, NullFormatter

from ternary_rram.chip.energy import ENERGY_PARTS
from ternary_rram.experiments.deploy import plot_energy_breakdown
from ternary_rram.experiments.plots import (
    BOUND_NOTE,
    bound_handle,
    cell_edges,
    legend_below,
    new_figure,
    one_bound_handle,
    plain_log_ticks,
    plot_rates,
    region_outline,
    save_figure,
)
from ternary_rram.experiments.reproduce.compute import NN_KINDS, ChipStudy, MapStudy, PVTStudy, SenseSummary
from ternary_rram.experiments.reproduce.presets import (
    CHIP_ARRAY,
    CHIP_READS,
    CHIP_TEMPERATURE_C,
    STATE_LABEL,
    TERNARY_OK,
    VDD_NOMINAL,
    Preset,
)
from ternary_rram.fileio import atomic_write_text


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A CSV file, floats with 6 significant digits, written atomically."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    for r in rows:
        w.writerow([f"{x:.6g}" if isinstance(x, float) else x for x in r])
    atomic_write_text(path, buf.getvalue())


# ------------------------------------------------------------------------------------------------
# sections 1-4
# ------------------------------------------------------------------------------------------------
def fig1_waveforms(out: Path, waves: dict[float, Any], n_wave: int, vdd_star: float, w_star: float) -> None:
    """OUT/OUTb against time per programmed state at nominal and chosen VDD (``fig1_waveforms.png/.csv``)."""
    fig, axes = new_figure(2, 3, width=4.0, height=2.8)
    wave_rows = []
    for r, v in enumerate((VDD_NOMINAL, vdd_star)):
        wv = waves[v]
        t = wv["t"]
        for s_i, s in enumerate((1, -1, 0)):
            ax = axes[r][s_i]
            for k in range(n_wave):
                row = s_i * n_wave + k
                ax.plot(t * 1e9, wv["out"][row], color="C0", lw=0.8, label="OUT" if k == 0 else None)
                ax.plot(t * 1e9, wv["outb"][row], color="C3", lw=0.8, ls="--", label="OUTb" if k == 0 else None)
                for ti, (a, b) in enumerate(zip(wv["out"][row], wv["outb"][row])):
                    wave_rows.append((v, s, k, float(t[ti]), float(a), float(b)))
            ax.axvline(w_star * 1e9, color="k", lw=0.6)
            ax.set_ylim(-0.05 * v, 1.05 * v)
            ax.set_title(f"VDD={v:g} V, state {STATE_LABEL[s]}", fontsize=9)
            ax.set_xlabel("time since SEN rises (ns)")
            ax.set_ylabel("voltage (V)")

    legend_below(fig, [axes[0][0]], extra=[Line2D([], [], color="k", lw=0.6, label="sense window")])
    save_figure(fig, out / "fig1_waveforms.png")
    write_csv(out / "fig1_waveforms.csv", ("vdd_V", "state", "instance", "t_s", "out_V", "outb_V"), wave_rows)


def fig2a_probabilities(out: Path, m: MapStudy, n_map: int) -> None:
    """Read-outcome probabilities against VDD at the chosen window (``fig2a_probabilities.png/.csv``)."""
    vdds, j_star, w_star = m.vdds, m.j_star, m.w_star
    fig, axes = new_figure(1, 3, width=4.0, height=3.0)
    prob_rows = []
    for s_i, s in enumerate((1, -1, 0)):
        ax = axes[0][s_i]
        for o_i, o in enumerate((-1, 0, 1)):
            plot_rates(ax, vdds, m.p_state[:, j_star, s_i, o_i], n_map, label=f"read {o:+d}" if o else "read 0",
                       color=f"C{o_i}", logit=True, dodge=(o_i - 1) * 0.015 * (max(vdds) - min(vdds) or 1.0))
        for i, v in enumerate(vdds):
            prob_rows.append((v, w_star, s, *[float(x) for x in m.p_state[i, j_star, s_i]]))
        ax.set_title(f"programmed {STATE_LABEL[s]}", fontsize=9)
        ax.set_xlabel("VDD (V)")
        ax.set_ylabel("probability (logit scale)")
    legend_below(fig, axes[0], ncol=2, extra=[bound_handle(), one_bound_handle()])
    save_figure(fig, out / "fig2a_probabilities.png")
    write_csv(out / "fig2a_probabilities.csv", ("vdd_V", "window_s", "state", "p_minus", "p_zero", "p_plus"),
              prob_rows)


def fig2b_ternary_map(out: Path, m: MapStudy, n_map: int) -> None:
    """Ternary read error over VDD x window, the region <= TERNARY_OK outlined (``fig2b_ternary_map.png/.csv``)."""
    vdds, windows, err = m.vdds, m.windows, m.err
    fig, axes = new_figure(1, 1, width=5.5, height=4.0)
    ax = axes[0][0]

    # Cells with no error at all are left grey (an upper bound, not a value on the colour scale).
    x_edges, y_edges = cell_edges(windows * 1e9, log=True), cell_edges(vdds)
    positive = err[err > 0]
    norm = LogNorm(vmin=min(float(positive.min()) if positive.size else 1e-3, 0.5 * TERNARY_OK), vmax=1.0)
    cmap = __import__("matplotlib").colormaps["viridis"].with_extremes(bad="0.82")
    im = ax.pcolormesh(x_edges, y_edges, np.ma.masked_less_equal(err, 0.0), norm=norm, cmap=cmap)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    if len(windows) <= 9:
        ax.set_xticks(windows * 1e9, [f"{w * 1e9:.3g}" for w in windows])

    # white on a dark rim, drawn over the frame so that the sides on the map's edge show too
    ax.add_collection(LineCollection(region_outline(x_edges, y_edges, err <= TERNARY_OK), colors="w", lw=1.6,
                                     clip_on=False, zorder=3, path_effects=[withStroke(linewidth=3.2, foreground="k")]))
    ax.plot([m.w_star * 1e9], [m.vdd_star], "r*", ms=12)
    ax.set_xlabel("sense window (ns)")
    ax.set_ylabel("VDD (V)")
    fig.colorbar(im, ax=ax, label="ternary read error (mean over the 3 states)")
    legend_below(fig, [ax], ncol=1, extra=[
        Patch(facecolor="0.82", label=f"no error in {3 * n_map} reads (95 % upper bound {1 - 0.05 ** (1 / (3 * n_map)):.2g})"),
        Line2D([], [], color="w", lw=1.6, path_effects=[withStroke(linewidth=3.2, foreground="k")],
               label=f"outline: cells with error <= {TERNARY_OK:g}"),
        Line2D([], [], ls="none", marker="*", color="r", ms=10, label="chosen operating point")])
    save_figure(fig, out / "fig2b_ternary_map.png")
    write_csv(out / "fig2b_ternary_map.csv", ("vdd_V", "window_s", "ternary_error"),
              [(v, float(w), float(err[i, j])) for i, v in enumerate(vdds) for j, w in enumerate(windows)])


def fig3_error_rates(out: Path, pvt: PVTStudy, vdds: Sequence[float], w_star: float) -> None:
    """Error rates by type against VDD per PVT condition (``fig3_error_rates.png/.csv``)."""
    conditions, rates = pvt.conditions, pvt.rates
    ncols = 3
    nrows = -(-(len(conditions) + 1) // ncols)  # one more panel for the legend
    fig, axes = new_figure(nrows, ncols, width=3.6, height=2.9, sharey=True)
    flat = [ax for row in axes for ax in row]
    err_rows = []
    for ci, (name, _, _) in enumerate(conditions):
        ax = flat[ci]
        span = max(vdds) - min(vdds) or 1.0
        for i, (key, lab) in enumerate((("to_zero", "+-1 -> 0"), ("from_zero", "0 -> +-1"), ("flip", "sign flip"),
                                        ("ternary", "ternary (mean of 3 states)"))):
            n_of = {"to_zero": "n_pm", "flip": "n_pm", "from_zero": "n_zero", "ternary": "n_all"}[key]
            plot_rates(ax, vdds, [getattr(rates[name][v], key) for v in vdds],
                       [getattr(rates[name][v], n_of) if n_of != "n_all" else
                        rates[name][v].n_pm + rates[name][v].n_zero for v in vdds], label=lab,
                       dodge=(i - 1.5) * 0.015 * span)
        for v in vdds:
            e = rates[name][v]
            err_rows.append((name, v, w_star, e.to_zero, e.from_zero, e.flip, e.ternary, e.n_pm, e.n_zero))
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("VDD (V)")
        ax.tick_params(labelleft=True)
        plain_log_ticks(ax)
        if ci % ncols == 0:
            ax.set_ylabel("error rate")
    for ax in flat[len(conditions):]:
        ax.axis("off")
    handles, labels = flat[0].get_legend_handles_labels()
    flat[-1].legend(handles + [bound_handle()], labels + [BOUND_NOTE.replace(": ", ":\n")],
                    loc="center", fontsize=8, frameon=False)
    save_figure(fig, out / "fig3_error_rates.png")
    write_csv(out / "fig3_error_rates.csv", ("condition", "vdd_V", "window_s", "p_pm_to_zero", "p_zero_to_pm",
                                             "p_sign_flip", "ternary_error", "n_pm", "n_zero"), err_rows)


def fig4_energy_time(out: Path, pvt: PVTStudy, vdds: Sequence[float], w_star: float) -> None:
    """Energy per sense and decision time against VDD per condition (``fig4_energy_time.png/.csv``)."""
    fig, axes = new_figure(1, 2, width=4.5, height=3.2)
    e_rows = []
    for name, _, _ in pvt.conditions:
        e_mean = [float(np.mean(pvt.energy[name][v])) for v in vdds]
        t_lh = [float(pvt.tdec[name][v][0]) for v in vdds]
        axes[0][0].plot(vdds, np.array(e_mean) * 1e15, marker="o", ms=3, label=name)
        axes[0][1].semilogy(vdds, np.array(t_lh) * 1e9, marker="o", ms=3, label=name)
        for v, e, t in zip(vdds, e_mean, t_lh):
            e_rows.append((name, v, w_star, e, t, float(pvt.tdec[name][v][2])))
    axes[0][0].set_xlabel("VDD (V)")
    axes[0][0].set_ylabel("energy per sense (fJ)")
    axes[0][1].set_xlabel("VDD (V)")
    axes[0][1].set_ylabel("decision time, state +1 (ns)")
    plain_log_ticks(axes[0][1])
    legend_below(fig, axes[0], ncol=3)
    save_figure(fig, out / "fig4_energy_time.png")
    write_csv(out / "fig4_energy_time.csv", ("condition", "vdd_V", "window_s", "energy_per_sense_J",
                                             "t_decide_plus_s", "t_decide_zero_s"), e_rows)


# ------------------------------------------------------------------------------------------------
# sections 5-7
# ------------------------------------------------------------------------------------------------
def fig5_accuracy_width(out: Path, trained: dict, widths: Sequence[int]) -> None:
    """Test accuracy against width per kind (``fig5_accuracy_width.png/.csv``)."""
    fig, axes = new_figure(1, 1)
    ax = axes[0][0]
    rows5 = []
    for k, a in NN_KINDS:
        accs = [trained[(w, k)]["test_acc"] for w in widths]
        ax.plot(widths, np.array(accs) * 100, marker="o", label=f"{k} weights, {a} activations")
        rows5 += [(w, k, a, trained[(w, k)]["test_acc"]) for w in widths]
    ax.set_xscale("log", base=2)
    ax.set_xlabel("width F")
    ax.set_ylabel("test accuracy (%)")
    legend_below(fig, [ax], ncol=1)
    save_figure(fig, out / "fig5_accuracy_width.png")
    write_csv(out / "fig5_accuracy_width.csv", ("width", "weights", "activations", "test_accuracy"), rows5)


def fig6_accuracy_errors(out: Path, bers: Sequence[float], acc_b: Sequence[float], acc_t: Sequence[float],
                         circuit_ber: float) -> None:
    """Accuracy against injected error rate, binary (sign flips) and ternary (``fig6_accuracy_errors.png/.csv``)."""
    fig, axes = new_figure(1, 1)
    ax = axes[0][0]
    # Rate 0 has no place on a log axis: the error-free accuracy is a horizontal line instead.
    pos = [i for i, b in enumerate(bers) if b > 0]
    for i, (acc_k, lab, mk) in enumerate(((acc_b, "binary net, sign flips", "o"),
                                          (acc_t, "ternary net, +-1 <-> 0 errors", "s"))):
        ax.semilogx([bers[j] for j in pos], [acc_k[j] * 100 for j in pos], marker=mk, color=f"C{i}", label=lab)
        if 0.0 in bers:
            ax.axhline(acc_k[bers.index(0.0)] * 100, color=f"C{i}", lw=0.8, ls="--",
                       label=f"{lab.split(',')[0]}, no errors")
    if circuit_ber > 0:
        ax.axvline(circuit_ber, color="k", lw=0.6, ls=":", label="the circuit's ternary error rate")
    ax.set_xlabel("injected error rate")
    ax.set_ylabel("test accuracy (%)")
    legend_below(fig, [ax], ncol=2)
    save_figure(fig, out / "fig6_accuracy_errors.png")
    write_csv(out / "fig6_accuracy_errors.csv", ("error_rate", "binary_sign_flip_acc", "ternary_errors_acc"),
              list(zip(bers, acc_b, acc_t)))


def fig7_deployed(out: Path, chip: ChipStudy, summary: SenseSummary, preset: Preset, wmax: int) -> None:
    """Deployed networks: data (``fig7_deployed.csv/.json``), accuracy and energy against VDD
    (``fig7_deployed.png``) and energy by part at nominal and chosen VDD (``fig7b_energy_parts.png``)."""
    p = preset
    vdds, window, recs, rows = chip.vdds, chip.window, chip.recs, chip.rows
    kinds = ("binary", "ternary")
    parts = ENERGY_PARTS
    csv_rows = []
    for k in kinds:
        for v in vdds:
            r = rows[k][v]
            csv_rows.append((k, v, window, r["accuracy_ideal"], r["accuracy_chip"], r["p_to_zero"], r["p_from_zero"],
                             r["p_sign_flip"], r["n_to_zero"], r["n_from_zero"], r["n_sign_flip"], r["n_weight_reads"],
                             r["energy_total"], r["energy_array"], *[r["parts"][q] for q in parts], r["senses"],
                             r["latency"]))
    write_csv(out / "fig7_deployed.csv",
              ("weights", "vdd_V", "window_s", "accuracy_ideal", "accuracy_chip", "p_pm_to_zero", "p_zero_to_pm",
               "p_sign_flip", "n_pm_to_zero", "n_zero_to_pm", "n_sign_flip", "weight_reads", "energy_per_inference_J",
               "energy_array_J", *[f"energy_{q}_J" for q in parts], "senses_per_inference",
               "latency_per_inference_s"), csv_rows)
    atomic_write_text(out / "fig7_deployed.json", json.dumps(
        {"window_s": window, "vdd_star_V": summary.vdd_star, "temperature_c": CHIP_TEMPERATURE_C,
         "reads": CHIP_READS, "array": list(CHIP_ARRAY),
         "amplifier_pool": {"amplifiers": p.chip_amplifiers, "n_grid": p.chip_grid, "n_mc": p.chip_mc},
         "width": wmax,
         "records": {k: {f"{v:g}": {key: val for key, val in recs[k][v].values.items() if not key.startswith("_")}
                         for v in vdds} for k in kinds}}, indent=1))
    fig, axes = new_figure(1, 2, width=4.5, height=3.2)
    for i, k in enumerate(kinds):
        axes[0][0].plot(vdds, [rows[k][v]["accuracy_chip"] * 100 for v in vdds], marker="o", color=f"C{i}",
                        label=f"{k} weights, on chip")
        axes[0][0].plot(vdds, [rows[k][v]["accuracy_ideal"] * 100 for v in vdds], ls=":", color=f"C{i}",
                        label=f"{k}, error-free weights")
        axes[0][1].semilogy(vdds, [rows[k][v]["energy_total"] * 1e9 for v in vdds], marker="o", color=f"C{i}",
                            label=f"{k}, whole chip")
        axes[0][1].semilogy(vdds, [rows[k][v]["energy_array"] * 1e9 for v in vdds], marker="s", ls="--",
                            color=f"C{i}", label=f"{k}, array (sense + bit lines)")
    for ax in axes[0]:
        ax.axvline(summary.vdd_star, color="k", lw=0.6, ls=":", label="chosen VDD")
        ax.set_xlabel("VDD (V)")
    legend_below(fig, axes[0], ncol=3)
    axes[0][0].set_ylabel("test accuracy (%)")
    axes[0][1].set_ylabel("energy per inference (nJ)")
    plain_log_ticks(axes[0][1])
    save_figure(fig, out / "fig7_deployed.png")
    v_nom = VDD_NOMINAL if VDD_NOMINAL in vdds else vdds[0]
    vs = summary.vdd_star
    bars = {f"{k} {v:g} V": recs[k][v].values for v in dict.fromkeys((v_nom, vs)) for k in kinds}
    plot_energy_breakdown(bars, out / "fig7b_energy_parts.png",
                          f"energy per inference by part (window {window * 1e9:.3g} ns)")
