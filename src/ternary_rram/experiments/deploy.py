"""Deployed networks on the simulated chip: one operating point, VDD sweeps, reports and figures.

* :func:`operating_point_for`: validates VDD / window / temperature, picks the sense window as the
  sense study does (:func:`ternary_rram.experiments.sense.choose_window`) when none is given, and
  refuses a window that reads nothing (P(correct | LRS, HRS) below ``MIN_P_CORRECT``).
* :func:`sense_map_at`: the sense map of an operating point (transient Monte Carlo), cached as JSON
  in a folder when one is given (keyed by the operating point, grid and seed).
* :func:`run_deploy`: deploy one network at one operating point; ``deploy.json`` and figures.
* :func:`vdd_sweep`: deployed networks against VDD (accuracy, energy per inference), the binary
  network at nominal VDD beside the ternary network near threshold; figure of accuracy against
  energy per inference.

Nothing here prints; progress through tqdm when ``progress=True``.
"""

from __future__ import annotations

import hashlib
import json
import sys
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ternary_rram.chip.deploy import SENSE_GRID, SENSE_MC, EvaluationResult, build_sense_map, deploy, evaluate_chip
from ternary_rram.chip.energy import ENERGY_PARTS
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.circuit.sensemap import SenseMap
from ternary_rram.device import DeviceModel
from ternary_rram.errors import InputError, check_range
from ternary_rram.fileio import atomic_write_text
from ternary_rram.experiments.plots import new_figure, save_figure
from ternary_rram.experiments.sense import seeded_generator

#: Supply range in which the deployment accepts an operating point, V. [D] chosen: the PCSA compact
#: model is meant for a 130 nm core supply (nominal 1.2 V, physics.md 1.7) with 0.1 V margin above,
#: and below 0.3 V (under |Vth| - 0.1 V) the latch no longer regenerates within any useful window.
VDD_RANGE: tuple[float, float] = (0.3, 1.3)
#: Temperature range, degrees C (that of ``OperatingPoint``).
TEMPERATURE_C_RANGE: tuple[float, float] = (-73.15, 176.85)
#: Sense-window range, s. [D] chosen: 10 ps .. 1 us.
T_SENSE_RANGE: tuple[float, float] = (1e-11, 1e-6)
#: A window "reads nothing" when P(correct | LRS, HRS) falls below this. [D] chosen.
MIN_P_CORRECT: float = 0.05
#: Monte Carlo cells per state in the window choice / probe. [D] chosen (a few seconds).
WINDOW_SAMPLES: int = 64
#: Nominal and near-threshold supplies of the comparisons, V. [D] physics.md 1.7 (1.2 V nominal;
#: near threshold 0.4-0.7 V).
VDD_NOMINAL: float = 1.2
VDD_NEAR_THRESHOLD: float = 0.6
#: Default VDDs of the sweep, V.
SWEEP_VDDS: tuple[float, ...] = (1.2, 1.0, 0.8, 0.7, 0.6, 0.5)


@dataclass(frozen=True)
class WindowInfo:
    """How the sense window was set: ``source`` "given" or "auto (sense study)"; probe result."""

    t_sense: float
    source: str
    p_correct_lh: float
    p_zero_hh: float
    n_samples: int

    def to_dict(self) -> dict[str, Any]:
        return {"t_sense": self.t_sense, "source": self.source, "p_correct_lh": self.p_correct_lh,
                "p_zero_hh": self.p_zero_hh, "n_samples": self.n_samples}


def _generator(seed: int, *keys: float) -> torch.Generator:
    # Keys resolved to 1e-12 (windows are ~1e-10 s), unlike the sense study's 1e-6.
    return seeded_generator(seed, *keys, resolution=1e12)


def check_vdd(vdd: float) -> float:
    """``vdd`` if inside :data:`VDD_RANGE`, else :class:`InputError`."""
    return check_range("vdd", vdd, VDD_RANGE[0], VDD_RANGE[1], unit="V")


def operating_point_for(vdd: float, t_sense: float | None = None, temperature_c: float = 27.0, *,
                        pcsa: PCSA | None = None, device_model: DeviceModel | None = None,
                        n: int = WINDOW_SAMPLES, seed: int = 0,
                        factors: Sequence[float] | None = None) -> tuple[OperatingPoint, WindowInfo]:
    """Validated operating point; window chosen by the sense study's rule when ``t_sense`` is None.

    The window is probed with ``n`` transient senses per state ((LRS, HRS) and (HRS, HRS) cells from
    the device model); a window with P(correct | LRS, HRS) < ``MIN_P_CORRECT`` raises InputError.
    """
    from ternary_rram.experiments import sense as S

    check_vdd(vdd)
    check_range("temperature_c", temperature_c, *TEMPERATURE_C_RANGE, unit="degC")
    pcsa = pcsa if pcsa is not None else PCSA()
    dm = device_model if device_model is not None else DeviceModel()
    gen = _generator(seed, vdd, temperature_c)
    if t_sense is None:
        kw = {} if factors is None else {"factors": tuple(factors)}
        choice = S.choose_window(pcsa, dm, vdd, temperature_c, n, gen, **kw)
        i = choice.best_index
        info = WindowInfo(choice.t_sense, "auto (sense study: experiments.sense.choose_window)",
                          choice.p_correct_lh[i], choice.p_zero_hh[i], n)
    else:
        check_range("t_sense", t_sense, *T_SENSE_RANGE, unit="s")
        op = OperatingPoint.from_celsius(vdd, t_sense, temperature_c)
        lh = S.simulate_state(pcsa, dm, op, "LRS/HRS", n, gen)
        hh = S.simulate_state(pcsa, dm, op, "HRS/HRS", n, gen)
        info = WindowInfo(float(t_sense), "given", float((lh.value == 1).double().mean()),
                          float((hh.value == 0).double().mean()), n)
    if not info.p_correct_lh >= MIN_P_CORRECT:
        raise InputError(f"t_sense={info.t_sense:.3g} s at vdd={vdd:g} V is not allowed: it reads nothing "
                         f"(P(correct | LRS, HRS) = {info.p_correct_lh:.2f} < {MIN_P_CORRECT}); "
                         "choose a longer window or a higher VDD")
    return OperatingPoint.from_celsius(vdd, info.t_sense, temperature_c), info


def sense_map_at(op: OperatingPoint, *, pcsa: PCSA | None = None, device_model: DeviceModel | None = None,
                 n_grid: int = SENSE_GRID, n_mc: int = SENSE_MC, seed: int = 0,
                 cache_dir: str | Path | None = None) -> SenseMap:
    """Sense map at ``op`` over the device range; read from / written to ``cache_dir`` if given.

    The cache key covers the operating point, grid, Monte Carlo count, seed and the PCSA and device
    parameters (their reprs).
    """
    pcsa = pcsa if pcsa is not None else PCSA()
    dm = device_model if device_model is not None else DeviceModel()
    path = None
    if cache_dir is not None:
        key = json.dumps([op.vdd, op.t_sense, op.temperature, n_grid, n_mc, seed, repr(pcsa.params),
                          repr(dm)], sort_keys=True)
        h = hashlib.sha256(key.encode()).hexdigest()[:16]
        path = Path(cache_dir) / f"sensemap-{op.vdd:.3f}V-{h}.json"
        if path.exists():
            try:
                return SenseMap.load(path)
            except (InputError, ValueError, KeyError, OSError, TypeError, AttributeError, RecursionError) as exc:
                # a damaged cache entry is reported and rebuilt
                print(f"warning: cache unit {path.name} is unreadable ({type(exc).__name__}); computing it again",
                      file=sys.stderr, flush=True)
    sm = build_sense_map(op, pcsa, dm, n_grid=n_grid, n_mc=n_mc,
                         generator=_generator(seed, op.vdd, op.t_sense))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        sm.save(path)
    return sm


# ------------------------------------------------------------------------------------------------
# one deployment
# ------------------------------------------------------------------------------------------------
def eval_tensors(data: Any, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(x, y) of an ``ImageData`` test split, normalised; at most ``limit`` images."""
    n = data.n_test if limit is None else min(int(limit), data.n_test)
    idx = torch.arange(n)
    x, y = data.batch("test", idx)
    return x, y


def deploy_record(model: nn.Module, sense_map: SenseMap, x: torch.Tensor, y: torch.Tensor, *,
                  device_model: DeviceModel | None = None, array_shape: Any = (128, 128),
                  reads: str = "once", seed: int = 0, engine: str = "float",
                  batch_size: int = 500) -> tuple[EvaluationResult, dict[str, Any]]:
    """Deploy ``model`` at the map's operating point, evaluate on (x, y); result and its JSON dict."""
    gen = _generator(seed, sense_map.op.vdd, sense_map.op.t_sense)
    chip = deploy(model, sense_map, device_model=device_model, array_shape=array_shape, reads=reads,
                  generator=gen)
    res = evaluate_chip(chip, x, y, batch_size=batch_size, engine=engine, generator=gen)
    op = sense_map.op
    d = res.to_dict()
    d.update({"operating_point": {"vdd": op.vdd, "t_sense": op.t_sense, "temperature": op.temperature,
                                  "temperature_c": op.temperature_c},
              "array": {"rows": chip.array_params.rows, "cols": chip.array_params.cols,
                        "arrays": sum(l.arrays for l in chip.layers)},
              "n_weights": chip.n_weights, "reads": reads,
              "layers": {l.name: {"kind": l.kind, "weights": l.n_weights, "arrays": l.arrays,
                                  "nonzero_fraction": l.nonzero_fraction} for l in chip.layers}})
    return res, d


def plot_errors_per_layer(record: dict[str, Any], path: Path, title: str = "") -> Path:
    """Stacked bars of read errors per layer by type (fraction of the layer's weights)."""
    layers = list(record["errors_per_layer"])
    fig, axes = new_figure(width=max(4.0, 0.6 * len(layers) + 2))
    ax = axes[0][0]
    bottom = np.zeros(len(layers))
    for kind, color in (("to_zero", "tab:blue"), ("from_zero", "tab:orange"), ("sign_flip", "tab:red")):
        vals = np.array([record["errors_per_layer"][k][kind] / max(1, record["errors_per_layer"][k]["n_weights"])
                         for k in layers])
        ax.bar(range(len(layers)), vals, bottom=bottom, color=color, label=kind.replace("_", " "))
        bottom += vals
    ax.set_xticks(range(len(layers)), layers)
    ax.set_xlabel("layer (module name)")
    ax.set_ylabel("read errors / weights")
    ax.set_title(title or "read errors per layer")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_energy_breakdown(records: dict[str, dict[str, Any]], path: Path, title: str = "") -> Path:
    """Stacked bars of energy per inference by part, one bar per labelled record (J, log-free)."""
    labels = list(records)
    fig, axes = new_figure(width=max(4.5, 1.2 * len(labels) + 2.5))
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
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def run_deploy(model: nn.Module, data: Any, vdd: float, *, t_sense: float | None = None,
               temperature_c: float = 27.0, array_shape: Any = (128, 128), reads: str = "once",
               seed: int = 0, out_dir: str | Path | None = None, limit_test: int | None = None,
               n_grid: int = SENSE_GRID, n_mc: int = SENSE_MC, window_samples: int = WINDOW_SAMPLES,
               device_model: DeviceModel | None = None, pcsa: PCSA | None = None, engine: str = "float",
               config: dict[str, Any] | None = None, cache_dir: str | Path | None = None) -> dict[str, Any]:
    """Deploy ``model`` at one operating point and evaluate it on ``data``'s test split.

    Writes ``deploy.json`` and figures (``errors_per_layer.png``, ``energy_breakdown.png``) to
    ``out_dir`` when given. Returns the JSON dict (accuracy ideal vs chip, errors per layer and type,
    energy and latency per inference with their parts, operating point, window, config).
    """
    dm = device_model if device_model is not None else DeviceModel()
    op, window = operating_point_for(vdd, t_sense, temperature_c, pcsa=pcsa, device_model=dm,
                                     n=window_samples, seed=seed)
    sm = sense_map_at(op, pcsa=pcsa, device_model=dm, n_grid=n_grid, n_mc=n_mc, seed=seed,
                      cache_dir=cache_dir)
    x, y = eval_tensors(data, limit_test)
    _, rec = deploy_record(model, sm, x, y, device_model=dm, array_shape=array_shape, reads=reads,
                           seed=seed, engine=engine)
    rec["window"] = window.to_dict()
    rec["sense_map"] = {"n_grid": sm.n_grid, "n_mc": sm.n_mc, "source": sm.source,
                        "r_min": math.exp(sm.ln_r_min), "r_max": math.exp(sm.ln_r_max)}
    rec["config"] = dict(config or {})
    rec["model_config"] = dict(getattr(model, "config", {}))
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "deploy.json", json.dumps(_jsonable(rec), indent=2))
        plot_errors_per_layer(rec, out / "errors_per_layer.png",
                              f"read errors per layer, VDD {op.vdd:g} V, window {op.t_sense * 1e9:.3g} ns")
        plot_energy_breakdown({f"{op.vdd:g} V, {reads}": rec}, out / "energy_breakdown.png")
    return rec


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (np.generic,)):
        return _jsonable(obj.item())
    return obj


# ------------------------------------------------------------------------------------------------
# VDD sweep
# ------------------------------------------------------------------------------------------------
def vdd_sweep(models: dict[str, nn.Module], data: Any, vdds: Sequence[float] = SWEEP_VDDS, *,
              temperature_c: float = 27.0, array_shape: Any = (128, 128),
              reads: str = "every-inference", seed: int = 0, out_dir: str | Path | None = None,
              limit_test: int | None = None, n_grid: int = SENSE_GRID, n_mc: int = SENSE_MC,
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
        sm = sense_map_at(op, device_model=dm, n_grid=n_grid, n_mc=n_mc, seed=seed, cache_dir=cache_dir)
        bar.update(1)
        for label, model in models.items():
            res, rec = deploy_record(model, sm, x, y, device_model=dm, array_shape=array_shape,
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
    atomic_write_text(out / "sweep.json", json.dumps(_jsonable(slim), indent=2))
    comp = nominal_vs_near_threshold(rows)
    if comp is not None:
        atomic_write_text(out / "comparison.json", json.dumps(_jsonable(comp), indent=2))
    labels = list(dict.fromkeys(r["label"] for r in rows))
    for key, ylabel, name, scale in (("accuracy_chip", "test accuracy on chip (%)", "accuracy_vs_vdd", 100.0),
                                     ("energy_per_inference", "energy per inference (nJ)", "energy_vs_vdd", 1e9)):
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
    ax.set_xlabel("energy per inference (nJ)")
    ax.set_ylabel("test accuracy on chip (%)")
    ax.set_title("accuracy against energy per inference")
    ax.legend(fontsize=8)
    return save_figure(fig, path)
