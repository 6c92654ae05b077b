"""Deployed networks on the simulated chip: one operating point, VDD sweeps, reports and figures.

The operating point (window choice) and the amplifier pool come from the chip layer
(:func:`ternary_rram.chip.operating.operating_point_for`, :func:`ternary_rram.chip.operating.pool_at`).

* :func:`deploy_checkpoint`: what ``ternary-rram deploy`` runs: the network of a checkpoint (or a plain
  ``state_dict`` with a model name), its data set, then :func:`run_deploy`.
* :func:`run_deploy`: deploy one network at one operating point on ``chips`` chip instances;
  ``deploy.json`` (per chip accuracy and errors, mean, spread, yield at a target accuracy) and
  figures.
* :func:`vdd_sweep`: deployed networks against VDD (accuracy, energy per inference), the binary
  network at nominal VDD beside the ternary network near threshold; figure of accuracy against
  energy per inference.

Nothing here prints; progress through tqdm when ``progress=True``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.ticker import MaxNLocator
from torch import nn
from tqdm.auto import tqdm

from ternary_rram.array.column import AmplifierPool
from ternary_rram.array.params import DEFAULT_NOISE, ReadNoise
from ternary_rram.chip.deploy import (
    N_AMPLIFIERS,
    N_GRID,
    N_MC,
    EvaluationResult,
    check_chips,
    deploy,
    evaluate_chip,
)
from ternary_rram.chip.energy import ENERGY_PARTS
from ternary_rram.chip.operating import operating_point_for, pool_at
from ternary_rram.chip.params import WINDOW_SAMPLES
from ternary_rram.chip.params_file import load_models
from ternary_rram.circuit.params import DEFAULT_VDD_LOW, DEFAULT_VDD_NOMINAL
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.device import DeviceModel
from ternary_rram.errors import InputError, check_range
from ternary_rram.experiments.plots import (
    bound_handle,
    layer_names,
    legend_below,
    new_figure,
    plain_log_ticks,
    plot_rates,
    save_figure,
)
from ternary_rram.fileio import atomic_write_text, jsonable
from ternary_rram.nn.checkpoint import check_data_fits, model_from_checkpoint
from ternary_rram.nn.data import load_dataset
from ternary_rram.nn.layers import quantized_layers
from ternary_rram.nn.packed import load_network
from ternary_rram.nn.state_dict import load_state_dict_file, model_from_state_dict, read_key_map

#: Nominal and low supplies of the comparisons, V: those of the default transistor set (circuit/params.py,
#: where the measurement behind them is cited).
VDD_NOMINAL: float = DEFAULT_VDD_NOMINAL
VDD_NEAR_THRESHOLD: float = DEFAULT_VDD_LOW
#: Default VDDs of the sweep, V: nominal down to where the (LRS, HRS) read fails (about 0.8 V, see above).
SWEEP_VDDS: tuple[float, ...] = (1.8, 1.5, 1.2, 1.0, 0.9, 0.8)


# ------------------------------------------------------------------------------------------------
# one deployment
# ------------------------------------------------------------------------------------------------
def eval_tensors(data: Any, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y) of an ``ImageData`` test split, normalised; at most ``limit`` images."""
    n = data.n_test if limit is None else min(int(limit), data.n_test)
    idx = torch.arange(n)
    x, y = data.batch("test", idx)
    return x, y


def deploy_record(model: nn.Module, pool: AmplifierPool, x: torch.Tensor, y: torch.Tensor, *,
                  device_model: DeviceModel | None = None, array_shape: Any = (128, 128),
                  column_group: int = 1, reads: str = "every-inference", seed: int = 0,
                  t_relax: float = 0.0, engine: str = "float", batch_size: int = 500,
                  accuracy_ideal: float | None = None) -> tuple[EvaluationResult, dict[str, Any]]:
    """Make chip instance ``seed`` with ``model`` on it (read ``t_relax`` s after programming),
    evaluate on (x, y); result and its JSON dict. ``accuracy_ideal``: known ideal-weight accuracy on
    (x, y) (skips that pass, see :func:`~ternary_rram.chip.deploy.evaluate_chip`)."""
    chip = deploy(model, pool, device_model=device_model, array_shape=array_shape,
                  column_group=column_group, reads=reads, seed=seed, t_relax=t_relax)
    res = evaluate_chip(chip, x, y, batch_size=batch_size, engine=engine, accuracy_ideal=accuracy_ideal)
    op = pool.op
    d = res.to_dict()
    d.update({"chip_seed": int(seed), "t_relax": float(t_relax),
              "operating_point": {"vdd": op.vdd, "t_sense": op.t_sense, "temperature": op.temperature,
                                  "temperature_c": op.temperature_c},
              "array": {"rows": chip.array_params.rows, "cols": chip.array_params.cols,
                        "arrays": sum(l.arrays for l in chip.layers), "column_group": column_group,
                        "amplifiers": sum(l.array.n_amplifiers for l in chip.layers)},
              "programming": {"pulses": sum(l.program.pulses for l in chip.layers),
                              "verify_cells_failed": sum(l.program.cells_failed for l in chip.layers),
                              "energy": chip.programming_energy},
              "n_weights": chip.n_weights, "reads": reads,
              "layers": {l.name: {"kind": l.kind, "weights": l.n_weights, "arrays": l.arrays,
                                  "nonzero_fraction": l.nonzero_fraction} for l in chip.layers}})
    return res, d


def chips_summary(records: Sequence[dict[str, Any]], target_accuracy: float | None) -> dict[str, Any]:
    """Accuracy over chip instances: per chip, mean, spread (sample standard deviation; 0 for one
    chip), min, max, and the yield (fraction of chips with accuracy >= target) when a target is given."""
    acc = np.array([r["accuracy_chip"] for r in records], dtype=np.float64)
    err = [r["errors_total"] for r in records]
    out: dict[str, Any] = {
        "chips": len(records),
        "per_chip": [{"chip_seed": r["chip_seed"], "accuracy_chip": r["accuracy_chip"],
                      "errors": {k: e[k] for k in ("to_zero", "from_zero", "sign_flip", "n_weights")},
                      "errors_per_amplifier": r.get("errors_per_amplifier", {})}
                     for r, e in zip(records, err)],
        "accuracy_ideal": records[0]["accuracy_ideal"],
        "accuracy_mean": float(acc.mean()),
        "accuracy_std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
        "accuracy_min": float(acc.min()), "accuracy_max": float(acc.max()),
        "target_accuracy": target_accuracy,
        "yield": None if target_accuracy is None else float((acc >= target_accuracy).mean()),
    }
    return out


def plot_chips(summary: dict[str, Any], path: Path, title: str = "") -> Path:
    """Accuracy of each chip instance (points), ideal accuracy and target (lines); errors per chip."""

    per = summary["per_chip"]
    idx = np.array([c["chip_seed"] for c in per])
    acc = np.array([c["accuracy_chip"] for c in per]) * 100
    errs = np.array([c["errors"]["to_zero"] + c["errors"]["from_zero"] + c["errors"]["sign_flip"] for c in per])
    fig, axes = new_figure(1, 2, width=4.6, height=3.4)
    ax = axes[0][0]
    ax.plot(idx, acc, "o", color="tab:blue", label="chip instance")
    ax.axhline(summary["accuracy_ideal"] * 100, color="grey", ls=":", label="ideal weights")
    tgt = summary.get("target_accuracy")
    if tgt is not None:
        ax.axhline(tgt * 100, color="tab:red", ls="--",
                   label=f"target {tgt * 100:.4g} % (yield {summary['yield'] * 100:.0f} %)")
    ax.set_xlabel("chip instance (seed)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("test accuracy on chip (%)")
    ax.set_title(title or f"{len(per)} chips: mean {summary['accuracy_mean'] * 100:.2f} %, "
                 f"sd {summary['accuracy_std'] * 100:.2f} points", fontsize=9)
    lo = min(acc.min(), summary["accuracy_ideal"] * 100, (tgt if tgt is not None else 1.0) * 100)
    hi = max(acc.max(), summary["accuracy_ideal"] * 100)
    pad = max(0.5, 0.1 * (hi - lo))
    ax.set_ylim(lo - pad, hi + 4 * pad)  # headroom above the points for the legend
    ax.legend(fontsize=7, loc="upper right", ncol=1, framealpha=0.9)
    ax2 = axes[0][1]
    ax2.bar(idx, errs, width=0.6, color="tab:orange")
    ax2.set_xlabel("chip instance (seed)")
    ax2.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax2.set_ylabel("wrong weight reads (count, all reads)")
    ax2.set_title("read errors per chip", fontsize=9)
    return save_figure(fig, path)


def plot_errors_per_layer(record: dict[str, Any], path: Path, title: str = "",
                          names: dict[str, str] | None = None) -> Path:
    """Read-error rates per layer by type (errors / weight reads of the layer) on a log axis.

    ``names``: module name -> label on the axis (e.g. from
    :func:`ternary_rram.experiments.plots.layer_names`: conv1 .. fc2). A type with no error in a layer
    is drawn as a hollow down-triangle at its upper bound, never as a value."""
    layers = list(record["errors_per_layer"])
    fig, axes = new_figure(width=max(4.5, 0.55 * len(layers) + 2.5))
    ax = axes[0][0]
    x = np.arange(len(layers))
    for i, (kind, color, mk) in enumerate((("to_zero", "tab:blue", "o"), ("from_zero", "tab:orange", "s"),
                                           ("sign_flip", "tab:red", "D"))):
        per = record["errors_per_layer"]
        n = np.array([max(1, per[k]["n_weights"]) for k in layers], dtype=float)  # summed over reads
        vals = np.array([per[k][kind] for k in layers], dtype=float) / n
        plot_rates(ax, x + (i - 1) * 0.18, vals, n, label=kind.replace("_", " "), color=color, marker=mk, ls="none")
    ax.set_xticks(x, [(names or {}).get(k, k) for k in layers], rotation=45 if len(layers) > 8 else 0)
    ax.set_xlabel("layer")
    ax.set_ylabel("read errors / weight reads")
    plain_log_ticks(ax)
    ax.set_title(title or "read errors per layer", fontsize=10)
    legend_below(fig, [ax], ncol=3, extra=[bound_handle()])
    return save_figure(fig, path)


def plot_energy_breakdown(records: dict[str, dict[str, Any]], path: Path, title: str = "") -> Path:
    """Stacked bars of energy per inference by part, one bar per labelled record (J, log-free)."""
    labels = list(records)
    fig, axes = new_figure(width=max(6.5, 1.2 * len(labels) + 4.5))
    ax = axes[0][0]
    bottom = np.zeros(len(labels))
    cmap = __import__("matplotlib").colormaps["tab10"]
    for i, part in enumerate(ENERGY_PARTS):
        vals = np.array([records[k]["energy"]["parts"].get(part, 0.0) for k in labels]) * 1e9
        vals = np.nan_to_num(vals)
        ax.bar(range(len(labels)), vals, bottom=bottom, color=cmap(i), label=part)
        bottom += vals
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_ylabel("energy per inference (nJ)")
    ax.set_title(title or "energy per inference by part")
    handles, names = ax.get_legend_handles_labels()  # top part first, as stacked
    ax.legend(handles[::-1], [n.replace("_", " ") for n in names[::-1]], loc="upper left", bbox_to_anchor=(1.02, 1.0),
              borderaxespad=0.0, fontsize=8, frameon=False)
    ax.set_xlabel("periphery parts at [D] default energies (chip/params.py)\nnot included: programming, "
                  "control, clock, I/O, leakage, drivers", fontsize=7, color="dimgrey")
    return save_figure(fig, path)


def run_deploy(model: nn.Module, data: Any, vdd: float, *, t_sense: float | None = None,
               temperature_c: float = 27.0, array_shape: Any = (128, 128), column_group: int = 1,
               reads: str = "every-inference", seed: int = 0, chips: int = 1,
               target_accuracy: float | None = None, noise: ReadNoise = DEFAULT_NOISE,
               t_relax: float = 0.0, out_dir: str | Path | None = None, limit_test: int | None = None,
               n_amplifiers: int = N_AMPLIFIERS, n_grid: int = N_GRID, n_mc: int = N_MC,
               window_samples: int = WINDOW_SAMPLES, device_model: DeviceModel | None = None,
               pcsa: PCSA | None = None, engine: str = "float", config: dict[str, Any] | None = None,
               cache_dir: str | Path | None = None, progress: bool = False) -> dict[str, Any]:
    """Deploy ``model`` at one operating point on chip instances ``seed .. seed + chips - 1``.

    Writes ``deploy.json`` and figures (``errors_per_layer.png`` of the first chip,
    ``energy_breakdown.png``, ``chips.png``) to ``out_dir`` when given. Returns the JSON dict: the
    first chip's record (accuracy ideal vs chip, errors per layer, type and amplifier, energy and
    latency per inference with their parts and what they leave out), ``chips`` (per chip accuracy
    and errors, mean, spread, yield at ``target_accuracy``), operating point, window, config.

    ``progress``: a tqdm bar (stderr) over the long steps: window, amplifier pool, each chip.
    """
    chips = check_chips(chips)
    check_range("t_relax", t_relax, 0.0, float("inf"), high_open=True, unit="s")
    if target_accuracy is not None:
        check_range("target_accuracy", target_accuracy, 0.0, 1.0)
    dm = device_model if device_model is not None else DeviceModel()
    bar = tqdm(total=2 + chips, disable=not progress, desc="deploy: sense window", unit="step",
               bar_format="{desc:<34} {n}/{total} steps |{bar:12}| {elapsed}")
    op, window = operating_point_for(vdd, t_sense, temperature_c, pcsa=pcsa, device_model=dm,
                                     n=window_samples, seed=seed)
    bar.set_description_str(f"deploy: amplifier pool {n_amplifiers}x{n_grid}^2x{n_mc}")
    bar.update(1)
    pool = pool_at(op, pcsa=pcsa, device_model=dm, n_amplifiers=n_amplifiers, n_grid=n_grid, n_mc=n_mc,
                   noise=noise, seed=seed, t_relax=t_relax, cache_dir=cache_dir)
    bar.update(1)
    x, y = eval_tensors(data, limit_test)
    records = []
    for k in range(chips):
        bar.set_description_str(f"deploy: program + evaluate chip {k + 1}/{chips}")
        _, r = deploy_record(model, pool, x, y, device_model=dm, array_shape=array_shape,
                             column_group=column_group, reads=reads, seed=seed + k, t_relax=t_relax,
                             engine=engine, accuracy_ideal=records[0]["accuracy_ideal"] if records else None)
        records.append(r)
        bar.update(1)
    bar.close()
    rec = dict(records[0])
    rec["chips"] = chips_summary(records, target_accuracy)
    rec["window"] = window.to_dict()
    m0 = pool.maps[0]
    rec["amplifier_pool"] = {"amplifiers": len(pool), "n_grid": m0.n_grid, "n_mc": m0.n_mc,
                             "r_min": math.exp(m0.ln_r_min), "r_max": math.exp(m0.ln_r_max),
                             "noise": {"rtn_sigma_ref": noise.rtn_sigma_ref, "rtn_r_ref": noise.rtn_r_ref,
                                       "rtn_exponent": noise.rtn_exponent, "latch_scale": noise.latch_scale}}
    rec["config"] = dict(config or {})
    rec["model_config"] = dict(getattr(model, "config", {}))
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "deploy.json", json.dumps(jsonable(rec), indent=2))
        plot_errors_per_layer(rec, out / "errors_per_layer.png",
                              f"read errors per layer (chip {seed}), VDD {op.vdd:g} V, "
                              f"window {op.t_sense * 1e9:.3g} ns",
                              names=layer_names(model))
        plot_energy_breakdown({f"{op.vdd:g} V, {reads}": rec}, out / "energy_breakdown.png")
        plot_chips(rec["chips"], out / "chips.png")
    return rec


@dataclass(frozen=True)
class PlainStateDict:
    """How to read a plain PyTorch ``state_dict`` file: into model ``model`` of ``nn/models.py``
    ("vgg", "mlp", "convnet") of ``width``, with ``weights``/``activations`` quantizers, ternary
    ``threshold`` and an optional key-map file (:func:`ternary_rram.nn.state_dict.read_key_map`)."""

    model: str
    width: int | None = None
    weights: str = "ternary"
    activations: str = "binary"
    threshold: float | None = None
    key_map: str | Path | None = None


def deploy_checkpoint(checkpoint: str | Path, vdd: float, *, data: str | None = None,
                      data_dir: str | Path | None = None, plain: PlainStateDict | None = None,
                      params: str | Path | None = None, config: dict[str, Any] | None = None,
                      announce: Callable[[str], None] | None = None, **deploy_options: Any) -> dict[str, Any]:
    """``ternary-rram deploy``: the network of ``checkpoint`` on chip instances at ``vdd``.

    ``checkpoint``: a checkpoint file or run folder, a packed network or ``pretrained:NAME``
    (:func:`ternary_rram.nn.packed.load_network`); with ``plain`` a plain ``state_dict`` file read into
    that model (shapes checked against the data set). ``data``: data set name (default: the one the
    checkpoint names). ``params``: PARAMS.json (or preset file) of the device and PCSA models.
    ``announce`` is called with the data set name once it is loaded (the CLI prints a line). The rest
    goes to :func:`run_deploy` (``deploy_options``); ``config`` is recorded in ``deploy.json`` with the
    checkpoint path and data set added.
    """
    device_model, pcsa = load_models(params)
    state = key_map = None
    if plain is None:
        ckpt = load_network(checkpoint)
        model = model_from_checkpoint(ckpt)
        if not any(m.weight_quantizer.is_quantized for _, m in quantized_layers(model)):
            raise InputError(f"checkpoint {checkpoint} is not allowed: it has no quantized layer "
                             "(weights='float'); only binary or ternary weights go on the chip")
    else:
        if data is None:
            raise InputError("data is not known for a plain state_dict: pass --data NAME")
        key_map = read_key_map(plain.key_map) if plain.key_map is not None else None
        state = load_state_dict_file(checkpoint)
        ckpt = {}
    data_name = data or (ckpt.get("data") or {}).get("name")
    if not data_name:
        raise InputError("data is not known: pass --data NAME")
    ds = load_dataset(data_name, data_dir, seed=0)
    if plain is not None:
        model = model_from_state_dict(state, plain.model, width=plain.width, weights=plain.weights,
                                      activations=plain.activations, threshold=plain.threshold, key_map=key_map,
                                      in_channels=ds.in_channels, num_classes=ds.num_classes,
                                      image_size=ds.image_size)
    else:
        check_data_fits(ckpt, ds)
    cfg = {"checkpoint": str(ckpt.get("path", checkpoint)), "data": data_name, **dict(config or {})}
    if announce is not None:
        announce(data_name)
    return run_deploy(model, ds, vdd, device_model=device_model, pcsa=pcsa, config=cfg, **deploy_options)


# ------------------------------------------------------------------------------------------------
# VDD sweep
# ------------------------------------------------------------------------------------------------
def vdd_sweep(models: dict[str, nn.Module], data: Any, vdds: Sequence[float] = SWEEP_VDDS, *,
              temperature_c: float = 27.0, array_shape: Any = (128, 128),
              reads: str = "every-inference", seed: int = 0, out_dir: str | Path | None = None,
              limit_test: int | None = None, n_amplifiers: int = N_AMPLIFIERS, n_grid: int = N_GRID,
              n_mc: int = N_MC,
              window_samples: int = WINDOW_SAMPLES, window_factors: Sequence[float] | None = None, device_model: DeviceModel | None = None,
              cache_dir: str | Path | None = None, engine: str = "float",
              progress: bool = True) -> list[dict[str, Any]]:
    """Deploy each labelled network at each VDD (window chosen per VDD); one row per (network, VDD).

    Rows: label, vdd, t_sense, accuracy_ideal, accuracy_chip, error rates by type, energy per
    inference (J) and its parts, ``energy_array`` (sense + bit lines, J), latency (s). The default
    ``reads="every-inference"`` makes the array's energy part of every inference. With ``out_dir``: ``sweep.json``,
    ``accuracy_vs_vdd.png``, ``energy_vs_vdd.png``, ``accuracy_vs_energy.png``.
    """
    dm = device_model if device_model is not None else DeviceModel()
    x, y = eval_tensors(data, limit_test)
    rows: list[dict[str, Any]] = []
    bar = tqdm(total=len(vdds) * (1 + len(models)), disable=not progress, desc="vdd sweep")
    for vdd in vdds:
        op, window = operating_point_for(vdd, None, temperature_c, device_model=dm, n=window_samples,
                                         seed=seed, factors=window_factors)
        pool = pool_at(op, device_model=dm, n_amplifiers=n_amplifiers, n_grid=n_grid, n_mc=n_mc, seed=seed,
                       cache_dir=cache_dir)
        bar.update(1)
        for label, model in models.items():
            res, rec = deploy_record(model, pool, x, y, device_model=dm, array_shape=array_shape,
                                     reads=reads, seed=seed, engine=engine)
            tot = res.errors_total
            n = max(1, tot.n_weights)
            rows.append({"label": label, "vdd": op.vdd, "t_sense": op.t_sense,
                         "p_correct_lh": window.p_correct_lh, "p_zero_hh": window.p_zero_hh,
                         "accuracy_ideal": res.accuracy_ideal, "accuracy_chip": res.accuracy_chip,
                         "to_zero": tot.to_zero / n, "from_zero": tot.from_zero / n,
                         "sign_flip": tot.sign_flip / n, "energy_per_inference": res.energy.total,
                         "energy_parts": dict(res.energy.parts),
                         "energy_array": res.energy.parts["sense"] + res.energy.parts["bitline"],
                         "latency_per_inference": res.energy.latency, "record": rec})
            bar.update(1)
    bar.close()
    if out_dir is not None:
        write_sweep(rows, Path(out_dir))
    return rows


def nominal_vs_near_threshold(rows: list[dict[str, Any]], binary: str = "binary", ternary: str = "ternary",
                              nominal: float = VDD_NOMINAL,
                              near: float = VDD_NEAR_THRESHOLD) -> dict[str, Any] | None:
    """The binary network read at nominal VDD beside the ternary one near threshold (rows of the sweep).

    Picks the sweep VDDs closest to ``nominal`` and ``near``; None if a network is missing.
    Returns {"binary_nominal": row, "ternary_near_threshold": row, "energy_ratio": E_t / E_b,
    "array_energy_ratio", "accuracy_difference": acc_t - acc_b}.
    """
    def pick(label: str, vdd: float) -> dict[str, Any] | None:
        rr = [r for r in rows if r["label"] == label]
        return min(rr, key=lambda r: abs(r["vdd"] - vdd)) if rr else None

    b, t = pick(binary, nominal), pick(ternary, near)
    if b is None or t is None:
        return None
    slim = lambda r: {k: v for k, v in r.items() if k != "record"}  # noqa: E731
    return {"binary_nominal": slim(b), "ternary_near_threshold": slim(t),
            "energy_ratio": t["energy_per_inference"] / b["energy_per_inference"],
            "array_energy_ratio": (t["energy_array"] / b["energy_array"]) if b["energy_array"] else None,
            "accuracy_difference": t["accuracy_chip"] - b["accuracy_chip"]}


def write_sweep(rows: list[dict[str, Any]], out: Path) -> None:
    """``sweep.json``, ``comparison.json`` (:func:`nominal_vs_near_threshold`) and the sweep figures."""
    out.mkdir(parents=True, exist_ok=True)
    slim = [{k: v for k, v in r.items() if k != "record"} for r in rows]
    atomic_write_text(out / "sweep.json", json.dumps(jsonable(slim), indent=2))
    comp = nominal_vs_near_threshold(rows)
    if comp is not None:
        atomic_write_text(out / "comparison.json", json.dumps(jsonable(comp), indent=2))
    labels = list(dict.fromkeys(r["label"] for r in rows))
    for key, ylabel, name, scale in (("accuracy_chip", "test accuracy on chip (%)", "accuracy_vs_vdd", 100.0),
                                     ("energy_per_inference", "energy per inference (nJ)\n(periphery at [D] defaults; no programming)",
                                      "energy_vs_vdd", 1e9)):
        fig, axes = new_figure()
        ax = axes[0][0]
        for lab in labels:
            rr = sorted((r for r in rows if r["label"] == lab), key=lambda r: r["vdd"])
            ax.plot([r["vdd"] for r in rr], [r[key] * scale for r in rr], "o-", label=lab)
            if key == "accuracy_chip":
                ax.plot([r["vdd"] for r in rr], [r["accuracy_ideal"] * scale for r in rr], ":", color="grey")
        ax.set_xlabel("VDD (V)")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
        save_figure(fig, out / f"{name}.png")
    plot_accuracy_vs_energy(rows, out / "accuracy_vs_energy.png")


def plot_accuracy_vs_energy(rows: list[dict[str, Any]], path: Path) -> Path:
    """Accuracy on chip against energy per inference, one marker per (network, VDD), VDD annotated."""
    fig, axes = new_figure()
    ax = axes[0][0]
    labels = list(dict.fromkeys(r["label"] for r in rows))
    for lab in labels:
        rr = [r for r in rows if r["label"] == lab]
        e = [r["energy_per_inference"] * 1e9 for r in rr]
        a = [r["accuracy_chip"] * 100 for r in rr]
        ax.plot(e, a, "o", label=lab)
        for r, ei, ai in zip(rr, e, a):
            ax.annotate(f"{r['vdd']:g} V", (ei, ai), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("energy per inference (nJ; periphery at [D] defaults, no programming)")
    ax.set_ylabel("test accuracy on chip (%)")
    ax.set_title("accuracy against energy per inference")
    ax.margins(x=0.15, y=0.15)
    legend_below(fig, [ax], ncol=2)
    return save_figure(fig, path)
