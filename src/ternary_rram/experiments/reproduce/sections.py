"""The report sections of a reproduction: each one computes (``compute.py``), draws (``figures.py``), judges
(``claims.py``) and says in words what was done. The order of the calls is the order of the units."""

from __future__ import annotations

from ternary_rram.circuit.params import PROCESS_SIGMA_VT
from ternary_rram.experiments.report import Figure, Section, Table
from ternary_rram.experiments.reproduce import claims as C
from ternary_rram.experiments.reproduce import compute
from ternary_rram.experiments.reproduce import figures as F
from ternary_rram.experiments.reproduce.compute import NN_KINDS, NetData, SenseSummary
from ternary_rram.experiments.reproduce.context import RunContext
from ternary_rram.experiments.reproduce.presets import (
    CHIP_ARRAY,
    CHIP_BATCH,
    CHIP_TEMPERATURE_C,
    TERNARY_OK,
    VDD_NOMINAL,
)


def sections_sense(ctx: RunContext) -> tuple[list[Section], SenseSummary]:
    """Sections 1-4: waveforms, the VDD x window map, error types against PVT, energy and time."""
    p = ctx.preset
    out = ctx.out
    m = compute.map_study(ctx)
    vdds, vdd_star, w_star, n_map = m.vdds, m.vdd_star, m.w_star, p.n_map
    ma = C.margin_analysis(m)
    # --- section 1: waveforms --------------------------------------------------------------------
    waves = compute.waveform_units(ctx, vdd_star, 2.0 * w_star)
    F.fig1_waveforms(out, waves, p.n_wave, vdd_star, w_star)
    s1 = Section(
        "Sense waveforms",
        (f"OUT (solid) and OUTb (dashed) after SEN rises, {p.n_wave} Monte Carlo instance(s) per programmed state "
         f"(devices and mismatch drawn), at nominal VDD = {VDD_NOMINAL:g} V and at the chosen near-threshold "
         f"VDD = {vdd_star:g} V. The vertical line is the chosen sense window {w_star * 1e9:.3g} ns; the read-out "
         f"decodes OUT/OUTb at that instant (an output is high above {ctx.pcsa_params.readout_fraction:g} VDD).",),
        figures=(Figure("fig1_waveforms.png", "OUT/OUTb against time for the three programmed states.",
                        ("fig1_waveforms.csv",)),),
        claims=C.claims_waveforms(waves, p.n_wave, vdd_star, w_star, ctx.pcsa_params.readout_fraction,
                                  ma.fixed_clock_only))
    # --- section 2: map --------------------------------------------------------------------------
    F.fig2a_probabilities(out, m, n_map)
    F.fig2b_ternary_map(out, m, n_map)
    s2 = Section(
        "Read-outcome probabilities and the VDD x window map",
        (f"Monte Carlo over devices and transistor mismatch, {n_map} instances per state and VDD. Ternary read "
         "error = mean over the three programmed states of P(read != programmed). The operating point (star) is "
         "the map point with the lowest ternary read error (ties to the lower VDD); the white outline "
         f"encloses the cells with error <= {TERNARY_OK:g}; grey cells had no error at all (their rate is below "
         "the 95 % bound given in the legend). Probabilities are on a logit axis; an outcome never seen (or "
         "always seen) is drawn as a hollow triangle at its 95 % bound, not as a value.",),
        figures=(Figure("fig2a_probabilities.png", f"Read-outcome probabilities against VDD at window "
                                                   f"{w_star * 1e9:.3g} ns.", ("fig2a_probabilities.csv",)),
                 Figure("fig2b_ternary_map.png", "Ternary read error over VDD x sense window.",
                        ("fig2b_ternary_map.csv",))),
        claims=C.claims_map(m, ma, n_map))
    # --- section 3: error types vs VDD, PVT --------------------------------------------------------
    pvt = compute.pvt_study(ctx, vdds, w_star)
    F.fig3_error_rates(out, pvt, vdds, w_star)
    s3 = Section(
        "Error rates by type against VDD, temperature and process corners",
        (f"At the chosen window {w_star * 1e9:.3g} ns, {p.n_point} instances per state and point. Process corners "
         f"shift every NMOS and PMOS |Vth| by k x {PROCESS_SIGMA_VT * 1e3:g} mV (PROCESS_SIGMA_VT, a [D] parameter); "
         "error rates on a log axis; a type with no error in n reads is drawn as a hollow down-triangle at its "
         "95 % upper bound (about 3/n), not as a value.",),
        figures=(Figure("fig3_error_rates.png", "Error rates by type against VDD per PVT condition.",
                        ("fig3_error_rates.csv",)),),
        claims=C.claims_error_types(m, pvt, n_map))
    # --- section 4: energy and time ---------------------------------------------------------------
    F.fig4_energy_time(out, pvt, vdds, w_star)
    s4 = Section(
        "Energy per sense and decision time",
        ("Energy drawn from VDD per sense (evaluation and the next precharge), mean over the three states, and the "
         "mean time for |OUT - OUTb| to exceed the decision threshold for state +1.",),
        figures=(Figure("fig4_energy_time.png", "Energy per sense and decision time against VDD.",
                        ("fig4_energy_time.csv",)),),
        claims=C.claims_energy_time(m, pvt))
    nom = pvt.rates["27 C, typical"]
    nom_energy = {v: pvt.energy["27 C, typical"][v] for v in vdds}
    return [s1, s2, s3, s4], SenseSummary(vdd_star, w_star, dict(nom), nom_energy)


def sections_nn(ctx: RunContext, summary: SenseSummary, data: NetData) -> tuple[list[Section], str]:
    """Sections 5-7: accuracy against width, against error rate, and the networks on the chip."""
    p = ctx.preset
    out = ctx.out
    trained = compute.trained_networks(ctx, data)
    judged = compute.judged_networks(ctx, data, trained)
    tb, tt = judged.nets["binary"], judged.nets["ternary"]
    # --- section 5 -------------------------------------------------------------------------------
    F.fig5_accuracy_width(out, trained, p.widths)
    shipped_text = ((f"The claims of sections 6 and 7, and the last claim here, are judged on {judged.label}, "
                     f"evaluated in float32 on this run's {data.describe['n_test']} test images: binary "
                     f"{tb['test_acc'] * 100:.2f} %, ternary {tt['test_acc'] * 100:.2f} %. Their training "
                     f"commands: `{tb['command']}` and `{tt['command']}`.",) if judged.shipped else ())
    s5 = Section(
        f"Accuracy against width ({data.note})",
        (f"VGG of docs/physics.md section 5 trained for {p.epochs} epoch(s)"
         + (" with one cosine cycle over the run" if p.anneal_within_run else " with the seed recipe")
         + (f", at most {p.max_batches} batches per epoch" if p.max_batches else "")
         + f"; data: {data.note}. Binary activations for binary and ternary weights.",) + shipped_text,
        figures=(Figure("fig5_accuracy_width.png", "Test accuracy against width.", ("fig5_accuracy_width.csv",)),),
        claims=C.claims_width(trained, p.widths, NN_KINDS)
        + (C.claim_converged(tb, tt) if judged.shipped else ()))
    # --- section 6 -------------------------------------------------------------------------------
    bers = sorted(p.bers)
    acc_b = [compute.eval_unit(ctx, data, tb, "sign-flip", b)["mean"] for b in bers]
    acc_t = [compute.eval_unit(ctx, data, tt, "ternary", b)["mean"] for b in bers]
    circuit_ber = compute.circuit_error_rate(summary)
    F.fig6_accuracy_errors(out, bers, acc_b, acc_t, circuit_ber)
    s6 = Section(
        "Accuracy against error rate",
        (f"The networks: {judged.label}. Errors drawn at every forward pass ([C]); {p.repeats} draw(s) per point. "
         "The dotted line is the circuit's ternary error rate used in the first claim.",),
        figures=(Figure("fig6_accuracy_errors.png", "Accuracy against injected error rate.",
                        ("fig6_accuracy_errors.csv",)),),
        claims=C.claims_errors(bers, acc_b, acc_t, tb["test_acc"], tt["test_acc"], circuit_ber))
    # --- section 7 -------------------------------------------------------------------------------
    s7 = section_chip(ctx, summary, data, judged)
    return [s5, s6, s7], data.note


def section_chip(ctx: RunContext, summary: SenseSummary, data: NetData, judged: compute.JudgedNetworks) -> Section:
    """Section 7: the judged binary and ternary networks on the simulated chip against VDD."""
    p = ctx.preset
    chip = compute.chip_study(ctx, summary, data, judged.nets)
    F.fig7_deployed(ctx.out, chip, summary, p, int(judged.nets["ternary"]["width"]))
    vdds, window, rows = chip.vdds, chip.window, chip.rows
    kinds = ("binary", "ternary")
    table_rows = tuple(
        (k, f"{v:g}", f"{rows[k][v]['accuracy_ideal'] * 100:.2f}", f"{rows[k][v]['accuracy_chip'] * 100:.2f}",
         C.fmt_p(rows[k][v]["p_to_zero"]), C.fmt_p(rows[k][v]["p_from_zero"]), C.fmt_p(rows[k][v]["p_sign_flip"]),
         C.fmt_j(rows[k][v]["energy_total"]), C.fmt_j(rows[k][v]["energy_array"]))
        for k in kinds for v in vdds)
    n_test = int(chip.recs["ternary"][summary.vdd_star]["n_test"])
    return Section(
        "Deployed networks on the chip: accuracy and energy per inference against VDD",
        ((f"The binary and ternary networks ({judged.label}) are programmed into 2T2R arrays of "
         f"{CHIP_ARRAY[0]} x {CHIP_ARRAY[1]} cells (devices drawn from the device model) and read through the chip "
         f"(ternary_rram.chip, chip instance {ctx.seed}): each column has one sense amplifier whose mismatch is "
         f"fixed, drawn from a pool of {p.chip_amplifiers}; every stored pair is sensed through its amplifier's "
         f"sense map of the transient PCSA at (VDD, the chosen window {window * 1e9:.3g} ns, "
         f"{CHIP_TEMPERATURE_C:g} C, typical corner), {p.chip_grid} x {p.chip_grid} resistance points x "
         f"{p.chip_mc} per-read noise draws per amplifier and VDD, with the device and sense-amplifier parameters "
         "of the rest of this report. Resistances are fixed once programmed (write-verify); the weights are "
         f"sensed at every use, and the evaluation draws fresh read noise per batch of {CHIP_BATCH} test images. Accuracy: the network with the weights the chip "
         f"read, on {n_test} test images; a 0 read from a binary weight contributes nothing, as on the chip. Error rates: "
         "P(read 0 | stored +-1), P(read +-1 | stored 0), P(read -s | stored s) over every weight read."),
         ("Energy per inference: the chip's energy model (ternary_rram.chip.energy): the sense amplifiers and bit "
         "lines, one sense per weight use (the array part), plus the digital periphery (XNOR/popcount counters, "
         "thresholds, activation memory, first and last layer) at its default [D] energies "
         "(src/ternary_rram/chip/params.py). Left out: programming and write-verify (paid once), clock tree, "
         "control, I/O, leakage, word-line drivers and column multiplexers.")),
        figures=(Figure("fig7_deployed.png", "Accuracy on chip (dotted: error-free weights) and energy per inference "
                                             "(whole chip and array part) against VDD; the dotted vertical line is the "
                                             "chosen VDD.", ("fig7_deployed.csv", "fig7_deployed.json")),
                 Figure("fig7b_energy_parts.png", "Energy per inference by part, at nominal and at the chosen VDD.",
                        ("fig7_deployed.csv", "fig7_deployed.json"))),
        tables=(Table(("weights", "VDD (V)", "error-free acc. (%)", "chip acc. (%)", "P(+-1 -> 0)", "P(0 -> +-1)",
                       "P(sign flip)", "E / inference, chip", "E / inference, array"), table_rows,
                      "Deployed networks, per VDD"),),
        claims=C.claims_chip(chip, summary.vdd_star))
