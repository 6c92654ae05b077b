"""The compute of a reproduction: every cached unit of work (sense maps, PVT points, waveforms, training,
evaluation under errors, chip pools and deployments) and the numbers derived from them; no figure, no claim.

Each unit is cached by its configuration (:meth:`RunContext.unit`): a rerun skips what is done, a killed
run resumes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ternary_rram.array.column import AmplifierPool
from ternary_rram.chip.energy import ENERGY_PARTS
from ternary_rram.chip.operating import pool_at
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.pcsa import decode, first_crossing
from ternary_rram.circuit.read import sample_cells
from ternary_rram.circuit.window import margin_windows
from ternary_rram.device import DeviceModel
from ternary_rram.errors import InputError
from ternary_rram.experiments.deploy import deploy_record, eval_tensors
from ternary_rram.experiments.reproduce.context import RunContext, compute_device, generator, pcsa_at, planned_units
from ternary_rram.experiments.reproduce.presets import (
    CHIP_ARRAY,
    CHIP_BATCH,
    CHIP_READS,
    CHIP_TEMPERATURE_C,
    TERNARY_USED,
    VDD_NOMINAL,
    Preset,
    train_config,
)
from ternary_rram.nn.checkpoint import load_checkpoint, model_from_checkpoint
from ternary_rram.nn.data import default_cifar10_dir, load_dataset
from ternary_rram.nn.models import vgg
from ternary_rram.nn.packed import PREFIX, SHIPPED_CIFAR10, load_network, shipped_networks, shipped_path
from ternary_rram.nn.train import evaluate, init_model, train


def cell_pairs(device: DeviceModel, states: Sequence[int], n: int,
               gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Resistances (3n,) of n fresh cells per programmed state, states concatenated in order.

    Drawn on the CPU (reproducible everywhere) with the one encoding (:func:`ternary_rram.circuit.read.sample_cells`),
    then moved to :func:`compute_device`.
    """
    r_bl, r_blb = sample_cells(device, states, n, gen)
    dev = compute_device()
    return r_bl.to(dev), r_blb.to(dev)


def outcome_counts(values: np.ndarray) -> np.ndarray:
    """Counts of (-1, 0, +1) along the last axis: (..., n) -> (..., 3)."""
    return np.stack([(values == k).sum(axis=-1) for k in (-1, 0, 1)], axis=-1)


@dataclass(frozen=True)
class ErrorRates:
    """Read-error rates of one operating point from counts (3 states x 3 outcomes).

    Attributes (probabilities): to_zero = P(read 0 | +-1), from_zero = P(read +-1 | 0),
    flip = P(read -s | s, s = +-1), ternary = mean over the three states of P(read != programmed),
    correct_pm = P(read s | s = +-1); n_pm, n_zero: instances behind them; k_flip: flips seen.
    """

    to_zero: float
    from_zero: float
    flip: float
    ternary: float
    correct_pm: float
    n_pm: int
    n_zero: int
    k_flip: int

    @classmethod
    def from_counts(cls, c: dict) -> ErrorRates:
        """``c``: state -> counts (3,) ordered (-1, 0, +1)."""
        cp, cm, c0 = np.asarray(c[1]), np.asarray(c[-1]), np.asarray(c[0])
        n_pm = int(cp.sum() + cm.sum())
        n0 = int(c0.sum())
        to_zero = (cp[1] + cm[1]) / n_pm
        flips = int(cp[0] + cm[2])
        err = [1 - cp[2] / cp.sum(), 1 - cm[0] / cm.sum(), 1 - c0[1] / n0]
        return cls(float(to_zero), float((c0[0] + c0[2]) / n0), flips / n_pm, float(np.mean(err)),
                   float((cp[2] + cm[0]) / n_pm), n_pm, n0, flips)


def map_unit(ctx: RunContext, vdd: float) -> Any:
    """Counts (W, 3 states, 3 outcomes) at every window and t_decide (3, n) at one VDD."""

    windows = ctx.preset.windows
    n = ctx.preset.n_map
    cfg = {**ctx.base_config(), "vdd": vdd, "windows": list(windows), "n": n}

    def compute():
        pcsa = pcsa_at(ctx)
        gen = generator(ctx, 1, vdd)
        r_bl, r_blb = cell_pairs(ctx.device, (1, -1, 0), n, gen)
        op = OperatingPoint(vdd, max(windows))
        dvth = pcsa.sample_mismatch(r_bl.numel(), gen).to(r_bl.device)
        t, out, outb = (x.cpu() for x in pcsa.waveforms(r_bl, r_blb, op, dvth=dvth))
        counts = np.zeros((len(windows), 3, 3), dtype=np.int64)
        for i, w in enumerate(windows):
            k = int(np.clip(np.searchsorted(t.numpy(), w, side="right") - 1, 0, t.numel() - 1))
            v = decode(out[:, k], outb[:, k], vdd, pcsa.params.readout_fraction).numpy().reshape(3, n)
            counts[i] = outcome_counts(v)
        td = first_crossing(t, (out - outb).abs(), pcsa.params.decision_fraction * vdd).numpy().reshape(3, n)
        return {"vdd": vdd}, {"counts": counts, "t_decide": td}

    return ctx.unit("sense-map", cfg, compute, f"read map at VDD={vdd:g} V ({len(windows)} windows, {n} per state)")


def point_unit(ctx: RunContext, vdd: float, window: float, temperature_c: float, corner: float) -> Any:
    """Counts (3 states, 3), mean energy (3,) J and mean decision time (3,) s at one PVT point."""

    n = ctx.preset.n_point
    cfg = {**ctx.base_config(), "vdd": vdd, "window": window, "temperature_c": temperature_c,
           "corner": corner, "n": n}

    def compute():
        pcsa = pcsa_at(ctx, corner)
        gen = generator(ctx, 2, vdd, window, temperature_c, corner)
        r_bl, r_blb = cell_pairs(ctx.device, (1, -1, 0), n, gen)
        dvth = pcsa.sample_mismatch(r_bl.numel(), gen).to(r_bl.device)
        res = pcsa.sense(r_bl, r_blb, OperatingPoint.from_celsius(vdd, window, temperature_c), dvth=dvth)
        v = res.value.cpu().numpy().reshape(3, n)
        e = res.energy.cpu().numpy().reshape(3, n)
        td = res.t_decide.cpu().numpy().reshape(3, n)
        with np.errstate(invalid="ignore"):
            td_mean = np.array([np.nanmean(r) if np.isfinite(r).any() else np.nan for r in td])
        return ({"vdd": vdd}, {"counts": outcome_counts(v), "energy": e.mean(axis=1), "t_decide": td_mean,
                               "decided": np.isfinite(td).mean(axis=1)})

    corner_s = "typical" if corner == 0 else f"corner {corner:+g} sigma"
    return ctx.unit("sense-point", cfg, compute,
                    f"PVT point {temperature_c:g} C, {corner_s}, VDD={vdd:g} V ({n} per state)")


def wave_unit(ctx: RunContext, vdd: float, t_end: float) -> Any:
    """Waveforms of n_wave instances per state (states +1, -1, 0), subsampled to <= 400 points."""

    n = ctx.preset.n_wave
    cfg = {**ctx.base_config(), "vdd": vdd, "t_end": t_end, "n": n}

    def compute():
        pcsa = pcsa_at(ctx)
        gen = generator(ctx, 3, vdd, t_end)
        r_bl, r_blb = cell_pairs(ctx.device, (1, -1, 0), n, gen)
        dvth = pcsa.sample_mismatch(r_bl.numel(), gen).to(r_bl.device)
        t, out, outb = (x.cpu() for x in pcsa.waveforms(r_bl, r_blb, OperatingPoint(vdd, t_end), dvth=dvth))
        idx = np.unique(np.linspace(0, t.numel() - 1, min(400, t.numel())).astype(int))
        return {"vdd": vdd}, {"t": t.numpy()[idx], "out": out.numpy()[:, idx], "outb": outb.numpy()[:, idx]}

    return ctx.unit("sense-wave", cfg, compute, f"waveforms at VDD={vdd:g} V")


@dataclass(frozen=True)
class NetData:
    data: Any
    name: str
    note: str
    describe: dict


def load_data(preset: Preset, data_dir: Path | None,
               warn: Callable[[str], None] | None = None) -> NetData:
    """The network data of a preset.

    A ``data_dir`` the user gave is used or refused (InputError naming it): CIFAR-10 must load from it,
    and the tiny preset (always digits) does not take one. Only without a path may --quick fall back
    on scikit-learn digits, when the default CIFAR-10 folder is missing or broken; ``warn`` announces
    it (one line). --full needs CIFAR-10.
    """

    if preset.name == "tiny":
        if data_dir is not None:
            raise InputError(f"--data-dir={str(data_dir)!r} is not allowed with --tiny: the tiny preset always "
                             "trains on scikit-learn digits")
        data = load_dataset("digits", None, limit=preset.data_limit)
        return NetData(data, "digits", "scikit-learn digits (the tiny preset never uses CIFAR-10)",
                     json.loads(json.dumps(data.describe())))
    if data_dir is not None:
        if not Path(data_dir).is_dir():
            raise InputError(f"--data-dir={str(data_dir)!r} is not allowed: not a folder (give the "
                             "cifar-10-batches-py folder, or leave --data-dir out)")
        data = load_dataset("cifar10", data_dir, limit=preset.data_limit)  # InputError names the bad file
        return cifar_data(data, preset)
    d = default_cifar10_dir()
    reason = "no CIFAR-10 folder found (no --data-dir given)"
    if d is not None and Path(d).is_dir():
        try:
            return cifar_data(load_dataset("cifar10", d, limit=preset.data_limit), preset)
        except InputError as exc:
            if preset.name == "full":
                raise
            reason = f"the default CIFAR-10 folder {d} cannot be used ({exc})"
    if preset.name == "full":
        raise InputError("--data-dir is missing: --full needs CIFAR-10 (the cifar-10-batches-py folder)")
    if warn is not None:
        warn(f"{reason}: training on scikit-learn digits instead; pass --data-dir DIR to use CIFAR-10")
    data = load_dataset("digits", None)
    note = f"scikit-learn digits (8x8 grey images, 10 classes): CIFAR-10 was not used: {reason}"
    return NetData(data, "digits", note, json.loads(json.dumps(data.describe())))


def cifar_data(data: Any, preset: Preset) -> NetData:
    note = "CIFAR-10" + (f" (first {preset.data_limit} training and test images)" if preset.data_limit else "")
    return NetData(data, "cifar10", note, json.loads(json.dumps(data.describe())))


def train_unit(ctx: RunContext, data: NetData, width: int, weights: str, activations: str) -> Any:
    """Train one VGG (resumable) and return its test accuracy and run folder."""

    p = ctx.preset
    tc = train_config(p, ctx.seed)
    model_cfg = dict(vgg(width, weights, activations, in_channels=data.data.in_channels,
                         num_classes=data.data.num_classes, image_size=data.data.image_size).config)
    cfg = {"seed": ctx.seed, "model": model_cfg, "train": tc.to_dict(), "data": data.describe}
    key = ctx.cache.paths("train", cfg)[0].stem

    def compute():
        folder = ctx.out / "cache" / key
        resume = (folder / "checkpoint.pt").exists()
        model = init_model(model_cfg, ctx.seed)
        res = train(model, data.data, tc, folder, device="auto", progress=ctx.bars, resume=resume)
        return {"test_acc": res.test_acc, "folder": str(folder.relative_to(ctx.out)), "width": width,
                "weights": weights, "activations": activations}, {}

    return ctx.unit("train", cfg, compute, f"training VGG width {width}, weights {weights}, activations "
                                           f"{activations} ({p.epochs} epoch(s))")


def load_model(ctx: RunContext, folder: str):
    """The network of a training unit (its run folder under ``ctx.out``) or of a shipped unit (``pretrained:NAME``)."""
    if folder.startswith(PREFIX):
        return model_from_checkpoint(load_network(folder))
    return model_from_checkpoint(load_checkpoint(ctx.out / folder))


def judges_shipped(preset: Preset, data: NetData | None) -> bool:
    """Whether the network claims are judged on the shipped converged pair (``SHIPPED_CIFAR10``): the preset
    asks for it, the data is CIFAR-10 (the networks' own data) and both networks ship with the package."""
    return (preset.judge_shipped and data is not None and data.name == "cifar10"
            and set(SHIPPED_CIFAR10.values()) <= set(shipped_networks()))


def shipped_unit(ctx: RunContext, data: NetData, kind: str) -> Any:
    """A shipped network (``SHIPPED_CIFAR10``) on this run's test images: the record of a training unit
    (``test_acc`` measured here, in float32; ``folder`` is ``pretrained:NAME``) plus its training metadata.
    Cached under the file's SHA-256, so a re-trained network shipped later is evaluated afresh."""
    name = SHIPPED_CIFAR10[kind]
    digest = hashlib.sha256(shipped_path(name).read_bytes()).hexdigest()
    cfg = {"name": name, "sha256": digest, "data": data.describe}

    def compute():
        ckpt = load_network(PREFIX + name)
        model = model_from_checkpoint(ckpt)
        acc = evaluate(model, data.data, device="auto").accuracy
        meta = ckpt["metadata"]
        return {"test_acc": acc, "folder": PREFIX + name, "width": int(model.config["width"]), "weights": kind,
                "activations": str(model.config["activations"]), "epochs": meta.get("epoch"),
                "test_acc_shipped": meta.get("test_accuracy"), "command": meta.get("command")}, {}

    return ctx.unit("shipped", cfg, compute, f"evaluating the shipped network {name}")


@dataclass(frozen=True)
class JudgedNetworks:
    """The binary and ternary networks of sections 6-7 (``nets[kind]``: a training or shipped unit) and how the
    report names them (``label``); ``shipped`` when they are the converged pair shipped with the package."""

    nets: dict[str, Any]
    label: str
    shipped: bool


def judged_networks(ctx: RunContext, data: NetData, trained: dict[tuple[int, str], Any]) -> JudgedNetworks:
    """The shipped converged pair where :func:`judges_shipped`, else the widest trained binary and ternary nets."""
    if judges_shipped(ctx.preset, data):
        nets = {k: shipped_unit(ctx, data, k) for k in ("binary", "ternary")}
        t = nets["ternary"]
        label = (f"the converged networks shipped with the package ({', '.join(SHIPPED_CIFAR10.values())}: "
                 f"width {t['width']}, all 50,000 CIFAR-10 training images, {t['epochs']} epochs)")
        return JudgedNetworks(nets, label, True)
    wmax = max(ctx.preset.widths)
    nets = {k: trained[(wmax, k)] for k in ("binary", "ternary")}
    return JudgedNetworks(nets, f"the networks of width {wmax} of section 5", False)


def eval_unit(ctx: RunContext, data: NetData, trained: Any, kind: str, ber: float) -> Any:

    cfg = {"seed": ctx.seed, "folder": trained["folder"], "acc": trained["test_acc"], "kind": kind, "ber": ber,
           "repeats": ctx.preset.repeats}

    def compute():
        r = evaluate(load_model(ctx, trained["folder"]), data.data, ber=ber, error_model=kind,
                     repeats=ctx.preset.repeats, seed=ctx.seed, device="auto")
        return {"accuracy": r.accuracy, "mean": r.mean, "std": r.std}, {}

    return ctx.unit("eval", cfg, compute, f"evaluating {trained['weights']} VGG width {trained['width']} under "
                                          f"{kind} errors at rate {ber:g}")


def chip_map_config(ctx: RunContext, vdd: float, window: float) -> dict:
    p = ctx.preset
    return {**ctx.base_config(), "vdd": vdd, "window": window, "temperature_c": CHIP_TEMPERATURE_C,
            "n_grid": p.chip_grid, "n_mc": p.chip_mc, "amplifiers": p.chip_amplifiers}


def chip_map_unit(ctx: RunContext, vdd: float, window: float) -> Any:
    """The chip's read model at (vdd, window, 27 C): the column-amplifier pool of the transient PCSA of
    ``--params`` (each amplifier's sense map over the per-read noise, its mismatch fixed).

    Built by :func:`ternary_rram.chip.operating.pool_at` over the device model's resistance range;
    stored as :meth:`AmplifierPool.to_dict <ternary_rram.array.column.AmplifierPool.to_dict>`, so
    ``AmplifierPool.from_dict(unit.values)`` gives back the same pool.
    """
    cfg = chip_map_config(ctx, vdd, window)

    def compute():

        p = ctx.preset
        pool = pool_at(OperatingPoint.from_celsius(vdd, window, CHIP_TEMPERATURE_C), pcsa=pcsa_at(ctx),
                       device_model=ctx.device, n_amplifiers=p.chip_amplifiers, n_grid=p.chip_grid,
                       n_mc=p.chip_mc, seed=ctx.seed)
        return pool.to_dict(), {}

    p = ctx.preset
    return ctx.unit("chip-pool", cfg, compute,
                    f"chip amplifier pool VDD={vdd:g} V, window {window * 1e9:.3g} ns "
                    f"({p.chip_amplifiers} amplifiers x {p.chip_grid}^2 points x {p.chip_mc} noise draws)")


def chip_deploy_unit(ctx: RunContext, data: NetData, trained: Any, vdd: float, window: float, sense_map: Any) -> Any:
    """One trained network programmed into the 2T2R arrays and read through the chip at (vdd, window).

    :func:`ternary_rram.experiments.deploy.deploy_record` on the whole test split: devices drawn from
    ``ctx.device``, arrays of :data:`CHIP_ARRAY`, read :data:`CHIP_READS` through the column
    amplifiers of ``sense_map`` (the pool unit of :func:`chip_map_unit` at the same configuration),
    chip instance ``ctx.seed``. Values: the record of ``deploy_record``
    (accuracy ideal and on chip, errors per layer and type, energy and latency per inference with
    every part) plus ``energy_array`` (sense amplifiers + bit lines, J per inference) and
    ``reads_nonzero`` / ``reads_zero`` (reads of stored +-1 and 0 weights over the evaluation).
    """
    cfg = {"seed": ctx.seed, "folder": trained["folder"], "acc": trained["test_acc"],
           "sense_map": chip_map_config(ctx, vdd, window), "reads": CHIP_READS, "array": list(CHIP_ARRAY),
           "engine": "float", "batch": CHIP_BATCH}

    def compute():

        model = load_model(ctx, trained["folder"]).eval()
        x, y = eval_tensors(data.data)
        _, rec = deploy_record(model, AmplifierPool.from_dict(sense_map.values), x, y, device_model=ctx.device,
                               array_shape=CHIP_ARRAY, reads=CHIP_READS, seed=ctx.seed, engine="float",
                               batch_size=CHIP_BATCH)
        parts = rec["energy"]["parts"]
        nonzero = round(sum(lay["weights"] * lay["nonzero_fraction"] for lay in rec["layers"].values()))
        n_reads = int(rec["n_reads"])
        rec["energy_array"] = float(parts["sense"] + parts["bitline"])
        rec["reads_nonzero"] = nonzero * n_reads
        rec["reads_zero"] = (int(rec["n_weights"]) - nonzero) * n_reads
        return rec, {}

    return ctx.unit("chip-deploy", cfg, compute,
                    f"deploying {trained['weights']} VGG width {trained['width']} on the chip at VDD={vdd:g} V")


def chip_row(rec: Any) -> dict[str, float]:
    """Accuracies, conditional error rates, energies (J) and latency (s) of one chip record."""
    e = rec["errors_total"]
    n_nz, n_z = rec["reads_nonzero"], rec["reads_zero"]
    nan = float("nan")
    en = rec["energy"]
    return {"accuracy_ideal": float(rec["accuracy_ideal"]), "accuracy_chip": float(rec["accuracy_chip"]),
            "p_to_zero": e["to_zero"] / n_nz if n_nz else nan, "p_from_zero": e["from_zero"] / n_z if n_z else nan,
            "p_sign_flip": e["sign_flip"] / n_nz if n_nz else nan,
            "n_to_zero": int(e["to_zero"]), "n_from_zero": int(e["from_zero"]), "n_sign_flip": int(e["sign_flip"]),
            "n_weight_reads": int(e["n_weights"]), "energy_total": float(en["energy_per_inference"]),
            "energy_array": float(rec["energy_array"]),
            "parts": {k: float(en["parts"].get(k, 0.0)) for k in ENERGY_PARTS},
            "senses": int(en["senses_per_inference"]), "latency": float(en["latency_per_inference"])}




# ------------------------------------------------------------------------------------------------
# what the sections compute from the units
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class MapStudy:
    """Section 2: the VDD x window map and the operating point chosen on it.

    Attributes: vdds (descending, V); windows (W,) s; maps: vdd -> map unit; err (V, W) ternary read
    error; p_state (V, W, 3 states (+1, -1, 0), 3 outcomes (-1, 0, +1)); err_min, vdd_star, j_star: the
    chosen point (lowest ternary read error, ties to the lower VDD); margins: vdd -> (W_low, W_high) s.
    """

    vdds: list[float]
    windows: np.ndarray
    maps: dict
    err: np.ndarray
    p_state: np.ndarray
    err_min: float
    vdd_star: float
    j_star: int
    margins: dict[float, tuple[float, float]]

    @property
    def w_star(self) -> float:
        return float(self.windows[self.j_star])


def map_study(ctx: RunContext) -> MapStudy:
    """The map units of every VDD, the ternary read error per point and the chosen operating point.

    The report's choice of (VDD, window) is a study: the map point with the lowest ternary read error.
    (A chip at a given VDD takes its window by ``circuit.window.choose_window`` instead.)"""
    p = ctx.preset
    vdds = sorted(p.vdds, reverse=True)
    windows = np.asarray(p.windows)
    maps = {v: map_unit(ctx, v) for v in vdds}
    err = np.zeros((len(vdds), len(windows)))
    p_state = np.zeros((len(vdds), len(windows), 3, 3))  # vdd, window, state(+1,-1,0), outcome(-1,0,+1)
    for i, v in enumerate(vdds):
        c = maps[v]["counts"].astype(float)
        p_state[i] = c / c.sum(axis=2, keepdims=True)
        for j in range(len(windows)):
            err[i, j] = ErrorRates.from_counts({1: c[j, 0], -1: c[j, 1], 0: c[j, 2]}).ternary
    best = min(((err[i, j], vdds[i], j) for i in range(len(vdds)) for j in range(len(windows))),
               key=lambda x: (round(x[0], 12), x[1]))
    err_min, vdd_star, j_star = best
    w_star = float(windows[j_star])
    ctx.log(f"chosen operating point: VDD={vdd_star:g} V, window={w_star * 1e9:.3g} ns (ternary error {err_min:.3g})")
    ctx.plan = planned_units(ctx.preset, ctx.sections, vdd_star, ctx.shipped)
    # Timing margin per VDD from the map's decision times (circuit.window.margin_windows): W_low lets 99 % of +-1
    # reads decide, W_high keeps P(0 | HRS, HRS) >= 0.9; inf where beyond the longest window of the map.
    margins: dict[float, tuple[float, float]] = {}
    for v in vdds:
        td = torch.as_tensor(np.asarray(maps[v]["t_decide"], dtype=float))
        margins[v] = margin_windows({"LRS/HRS": td[0], "HRS/LRS": td[1], "HRS/HRS": td[2]}, float(windows.max()))
    return MapStudy(vdds, windows, maps, err, p_state, err_min, vdd_star, j_star, margins)


def waveform_units(ctx: RunContext, vdd_star: float, t_end: float) -> dict[float, Any]:
    """Waveform units at nominal VDD and at the chosen VDD (one when they are the same)."""
    return {v: wave_unit(ctx, v, t_end) for v in (VDD_NOMINAL, vdd_star)}


def pvt_conditions(preset: Preset) -> list[tuple[str, float, float]]:
    """(name, temperature degrees C, corner in PROCESS_SIGMA_VT) of section 3, nominal first."""
    conditions = [("27 C, typical", 27.0, 0.0)]
    conditions += [(f"{t:g} C, typical", t, 0.0) for t in preset.temperatures_c if t != 27.0]
    conditions += [(f"27 C, {'slow' if k > 0 else 'fast'} {k:+g} sigma", 27.0, k) for k in preset.corners]
    return conditions


@dataclass(frozen=True, eq=False)
class PVTStudy:
    """Section 3-4: per condition name and VDD, error rates, mean energy per sense (3,) J and mean decision
    time (3,) s at the chosen window."""

    conditions: list[tuple[str, float, float]]
    rates: dict[str, dict[float, ErrorRates]]
    energy: dict[str, dict[float, np.ndarray]]
    tdec: dict[str, dict[float, np.ndarray]]


def pvt_study(ctx: RunContext, vdds: Sequence[float], w_star: float) -> PVTStudy:
    """The PVT point units of every condition and VDD at the chosen window."""
    conditions = pvt_conditions(ctx.preset)
    rates: dict[str, dict[float, ErrorRates]] = {}
    energy: dict[str, dict[float, np.ndarray]] = {}
    tdec: dict[str, dict[float, np.ndarray]] = {}
    for name, tc, k in conditions:
        rates[name], energy[name], tdec[name] = {}, {}, {}
        for v in vdds:
            r = point_unit(ctx, v, w_star, tc, k)
            c = r["counts"]
            rates[name][v] = ErrorRates.from_counts({1: c[0], -1: c[1], 0: c[2]})
            energy[name][v] = r["energy"]
            tdec[name][v] = r["t_decide"]
    return PVTStudy(conditions, rates, energy, tdec)


@dataclass(frozen=True)
class SenseSummary:
    """What the sense sections hand on: chosen operating point and rates per VDD (nominal PVT)."""

    vdd_star: float
    window: float
    rates: dict  # vdd -> ErrorRates at the chosen window (nominal PVT)
    energy: dict  # vdd -> mean energy per sense per state (3,) J, states (+1, -1, 0)


NN_KINDS: tuple[tuple[str, str], ...] = (("binary", "binary"), ("ternary", "binary"), ("float", "float"))


def trained_networks(ctx: RunContext, data: NetData) -> dict[tuple[int, str], Any]:
    """Training units of every width and kind (weights, activations) of :data:`NN_KINDS`."""
    p = ctx.preset
    return {(w, k): train_unit(ctx, data, w, k, a) for w in p.widths for k, a in NN_KINDS}


def circuit_error_rate(summary: SenseSummary) -> float:
    """The circuit's ternary error rate of section 6: the highest among the VDDs where the scheme is used
    (ternary error <= TERNARY_USED), else that at the chosen VDD."""
    used = [r.ternary for r in summary.rates.values() if r.ternary <= TERNARY_USED]
    return max(used) if used else summary.rates[summary.vdd_star].ternary


@dataclass(frozen=True, eq=False)
class ChipStudy:
    """Section 7: per kind ("binary", "ternary") and VDD the deployment unit (``recs``) and its row (``rows``)."""

    vdds: list[float]
    window: float
    recs: dict[str, dict[float, Any]]
    rows: dict[str, dict[float, dict]]


def chip_study(ctx: RunContext, summary: SenseSummary, data: NetData, nets: dict[str, Any]) -> ChipStudy:
    """Pool units per VDD at the chosen window, then the binary and ternary networks ``nets[kind]`` deployed."""
    vdds = sorted(summary.rates, reverse=True)
    window = summary.window
    kinds = ("binary", "ternary")
    maps = {v: chip_map_unit(ctx, v, window) for v in vdds}
    recs = {k: {v: chip_deploy_unit(ctx, data, nets[k], v, window, maps[v]) for v in vdds} for k in kinds}
    rows = {k: {v: chip_row(recs[k][v]) for v in vdds} for k in kinds}
    return ChipStudy(vdds, window, recs, rows)
