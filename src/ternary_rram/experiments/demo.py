"""The chip demo: no files, no network needed; trains, deploys and reads two small networks.

On scikit-learn's 8x8 digits it trains a small binary-weight and a small ternary-weight MLP (binary
activations, a few epochs, seconds), programs both into the simulated 2T2R chip, reads them at
the default transistors' nominal VDD (1.8 V, SKY130 core devices) and at their low-VDD point (1.0 V, the
lowest supply with a wide ternary timing margin, circuit/params.py), each with the sense window chosen as
the sense study does (the geometric centre of [W_low, W_high]), and reports ideal and chip accuracy, read
errors by type and energy per inference. It then reads the ternary net at nominal VDD once more with the
low-VDD window held fixed (a clock, as on the paper's chip): the (HRS, HRS) zeros resolve there, which is
why a fixed clock reads binary at nominal VDD and ternary at low VDD.

Each chip's column amplifiers come from a small pool (``DEMO_AMPLIFIERS`` amplifiers, maps of
``DEMO_GRID`` x ``DEMO_GRID`` points, ``DEMO_MC`` noise draws each) to keep the transient Monte
Carlo short; the pools are cached in ``out_dir/cache`` so a rerun is fast.
Chip inference runs on the exact integer path (:mod:`ternary_rram.chip.integer`); the summary says
whether its decisions equal the float network's with the same read weights.

The CIFAR-10 variant (``cifar=True``, ``ternary-rram demo --cifar``) trains nothing: it reads the
converged width-32 VGGs shipped with the package (``SHIPPED_CIFAR10`` of :mod:`ternary_rram.nn.packed`)
on the first ``CIFAR_LIMIT_TEST`` CIFAR-10 test images, with the chip's default amplifier pool
(:mod:`ternary_rram.array.column`) and the float engine (the VGG's integer path is slower; the summary
still checks it against the float decisions on ``CIFAR_INTEGER_CHECK`` images).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ternary_rram.array.column import N_AMPLIFIERS, N_GRID, N_MC
from ternary_rram.chip.deploy import deploy
from ternary_rram.chip.operating import operating_point_for, pool_at
from ternary_rram.device import DeviceModel
from ternary_rram.errors import InputError
from ternary_rram.experiments.deploy import (
    VDD_NEAR_THRESHOLD,
    VDD_NOMINAL,
    deploy_record,
    plot_accuracy_vs_energy,
    plot_energy_breakdown,
    plot_errors_per_layer,
)
from ternary_rram.experiments.plots import layer_names, legend_below, new_figure, save_figure
from ternary_rram.fileio import atomic_write_text, jsonable
from ternary_rram.nn.data import load_dataset, load_digits
from ternary_rram.nn.models import mlp
from ternary_rram.nn.packed import SHIPPED_CIFAR10, pretrained, shipped_networks

#: Hidden width of the demo MLPs. [D] chosen.
DEMO_WIDTH: int = 128
#: Training epochs, batch size and learning rate (Adam). [D] chosen: seconds on two CPU cores.
DEMO_EPOCHS: int = 10
DEMO_BATCH: int = 64
DEMO_LR: float = 0.01
#: Amplifiers in the pool, map grid points per axis and noise draws per point. [D] chosen: small
#: for speed (4 x 11 x 11 x 4 transient senses per VDD).
DEMO_AMPLIFIERS: int = 4
DEMO_GRID: int = 11
DEMO_MC: int = 4
#: Cells per state in the automatic window choice, and candidate windows (x the PCSA
#: characteristic time, 1..100 as the sense study: at 1.8 V the (HRS, HRS) reads of the default transistors
#: start to decide after about 50 t_char, so a shorter scan would not see W_high there).
DEMO_WINDOW_SAMPLES: int = 24
DEMO_WINDOW_FACTORS: tuple[float, ...] = tuple(float(f) for f in np.geomspace(1.0, 100.0, 15))
#: Read mode: the arrays are sensed for every inference, so the energy per inference contains
#: the senses at the demo's VDD (one fresh read per evaluation batch of ``DEMO_EVAL_BATCH``).
DEMO_READS: str = "every-inference"
DEMO_EVAL_BATCH: int = 50
#: Supplies of the demo, V.
DEMO_VDDS: tuple[float, ...] = (VDD_NOMINAL, VDD_NEAR_THRESHOLD)
#: The CIFAR-10 variant reads the shipped networks of ``SHIPPED_CIFAR10`` (label -> name in nn/pretrained/);
#: the ternary one is required, the binary one is read when shipped.
#: Test images of the CIFAR-10 variant (the first N), and how many of them check the integer path. [D]
#: chosen: about a minute per network on two CPU cores.
CIFAR_LIMIT_TEST: int = 2000
CIFAR_INTEGER_CHECK: int = 200
#: Evaluation batch of the CIFAR-10 variant: one fresh read of all weights per batch.
CIFAR_EVAL_BATCH: int = 500


@dataclass(frozen=True)
class DemoSetup:
    """What one demo variant reads: its data, networks and chip-model sizes.

    Attributes:
        data: an ``ImageData`` (its test split is evaluated). nets: label -> network in eval mode.
        model: description for the summary. amplifiers, grid, mc: amplifier pool sizes.
        engine: "integer" or "float". eval_batch: images per fresh read. integer_check: images on
        which the integer path is compared with the float one (None: all).
    """

    data: Any
    nets: dict[str, nn.Module]
    model: dict[str, Any]
    amplifiers: int
    grid: int
    mc: int
    engine: str
    eval_batch: int
    integer_check: int | None


def digits_setup(seed: int = 0) -> DemoSetup:
    """The default demo: two small MLPs trained here on scikit-learn's digits (seconds)."""
    data = load_digits(seed=seed)
    nets = {"binary": train_small("binary", data, seed=seed), "ternary": train_small("ternary", data, seed=seed)}
    return DemoSetup(data, nets, {"name": "mlp", "width": DEMO_WIDTH, "activations": "binary",
                                  "epochs": DEMO_EPOCHS, "trained": "here"},
                     DEMO_AMPLIFIERS, DEMO_GRID, DEMO_MC, "integer", DEMO_EVAL_BATCH, None)


def cifar_setup(data_dir: str | Path | None = None, limit_test: int | None = None) -> DemoSetup:
    """The CIFAR-10 variant: the shipped converged VGGs (``SHIPPED_CIFAR10``) on CIFAR-10 test images.

    ``data_dir``: the cifar-10-batches-py folder (None: the usual places, see ``nn.data``).
    ``limit_test``: test images read (default ``CIFAR_LIMIT_TEST``). InputError (one line) when the
    ternary network is not shipped with this installation or the data is missing.
    """
    shipped = shipped_networks()
    if SHIPPED_CIFAR10["ternary"] not in shipped:
        have = ", ".join(shipped) if shipped else "none"
        raise InputError(f"demo --cifar needs the shipped network {SHIPPED_CIFAR10['ternary']!r}; this installation "
                         f"ships: {have}")
    nets = {label: pretrained(name) for label, name in SHIPPED_CIFAR10.items() if name in shipped}
    data = load_dataset("cifar10", data_dir, limit=CIFAR_LIMIT_TEST if limit_test is None else limit_test)
    meta = {label: {"name": SHIPPED_CIFAR10[label], "test_accuracy": getattr(m, "metadata", {}).get("test_accuracy"),
                    "command": getattr(m, "metadata", {}).get("command")} for label, m in nets.items()}
    return DemoSetup(data, nets, {"name": "vgg", "width": nets["ternary"].config.get("width"),
                                  "activations": "binary", "trained": "shipped", "networks": meta},
                     N_AMPLIFIERS, N_GRID, N_MC, "float", CIFAR_EVAL_BATCH, CIFAR_INTEGER_CHECK)


def _adam_step(params: list[torch.Tensor], state: list[tuple[torch.Tensor, torch.Tensor]], step: int,
               lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
    """One Adam update (Kingma & Ba 2015) in place.

    Written out here because ``torch.optim`` imports ``torch._dynamo`` on its first step, which costs
    tens of seconds on a loaded machine: more than the whole demo training.
    """
    b1, b2 = betas
    with torch.no_grad():
        for p, (m, v) in zip(params, state):
            if p.grad is None:
                continue
            m.mul_(b1).add_(p.grad, alpha=1 - b1)
            v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            m_hat = m / (1 - b1 ** step)
            v_hat = v / (1 - b2 ** step)
            p.sub_(lr * m_hat / (v_hat.sqrt() + eps))
            p.grad = None


def train_small(weights: str, data: Any, *, epochs: int | None = None, seed: int = 0,
                width: int | None = None) -> nn.Module:
    """A ``mlp(width, weights, "binary")`` trained on ``data`` with Adam and cosine decay; eval mode.

    Runs with one torch thread (restored afterwards): the tensors are tiny, and on a loaded machine
    extra threads only wait on each other.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(weights, data, DEMO_EPOCHS if epochs is None else epochs, seed,
                      DEMO_WIDTH if width is None else width)
    finally:
        torch.set_num_threads(threads)


def _train(weights: str, data: Any, epochs: int, seed: int, width: int) -> nn.Module:
    torch.manual_seed(seed)
    model = mlp(width, weights, "binary", in_channels=data.in_channels,
                num_classes=data.num_classes, image_size=data.image_size)
    params = [p for p in model.parameters() if p.requires_grad]
    state = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
    gen = torch.Generator().manual_seed(seed)
    x_all, y_all = data.batch("train", torch.arange(data.n_train))
    model.train()
    step = 0
    n_batches = -(-data.n_train // DEMO_BATCH)
    for epoch in range(epochs):
        order = torch.randperm(data.n_train, generator=gen)
        for b, s in enumerate(range(0, data.n_train, DEMO_BATCH)):
            idx = order[s:s + DEMO_BATCH]
            loss = nn.functional.cross_entropy(model(x_all[idx]), y_all[idx])
            loss.backward()
            step += 1
            frac = (epoch + b / n_batches) / epochs
            _adam_step(params, state, step, DEMO_LR * 0.5 * (1 + float(np.cos(np.pi * frac))))
    return model.eval()


def _row(label: str, vdd: float, rec: dict[str, Any], window: str = "centre") -> dict[str, Any]:
    e = rec["errors_total"]
    return {"network": label, "vdd": vdd, "t_sense": rec["operating_point"]["t_sense"], "window": window,
            "accuracy_ideal": rec["accuracy_ideal"], "accuracy_chip": rec["accuracy_chip"],
            "to_zero": e["to_zero"], "from_zero": e["from_zero"], "sign_flip": e["sign_flip"],
            "n_weights": e["n_weights"], "energy_per_inference": rec["energy"]["energy_per_inference"],
            "energy_array": rec["energy"]["parts"]["sense"] + rec["energy"]["parts"]["bitline"],
            "latency_per_inference": rec["energy"]["latency_per_inference"],
            "integer_matches_float": rec.get("integer_matches_float")}


def format_energy(e: float) -> str:
    """``e`` J with the prefix that puts it in [1, 1000): "5.49nJ", "402.7nJ", "1.03uJ"."""
    for scale, unit in ((1e-15, "fJ"), (1e-12, "pJ"), (1e-9, "nJ"), (1e-6, "uJ"), (1e-3, "mJ")):
        if abs(e) < 1000 * scale:
            return f"{e / scale:.4g}{unit}"
    return f"{e:.4g}J"


def format_table(rows: list[dict[str, Any]]) -> str:
    """The demo table as fixed-width text."""
    head = (f"{'network':<8} {'VDD':>5} {'window':>8} {'ideal':>6} {'chip':>6} {'->0':>5} {'0->':>5} "
            f"{'flip':>5} {'E/inf':>9} {'E array':>9}  window set by")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['network']:<8} {r['vdd']:>4.2f}V {r['t_sense'] * 1e9:>6.3g}ns "
                     f"{100 * r['accuracy_ideal']:>5.1f}% {100 * r['accuracy_chip']:>5.1f}% "
                     f"{r['to_zero']:>5d} {r['from_zero']:>5d} {r['sign_flip']:>5d} "
                     f"{format_energy(r['energy_per_inference']):>9} {format_energy(r['energy_array']):>9}  "
                     f"{r.get('window', 'centre')}")
    lines.append("E/inf: weights sensed at every use + periphery at its [D] default energies "
                 "(chip/params.py); leaves out programming, control, clock, I/O, leakage, drivers")
    return "\n".join(lines)


def run_demo(out_dir: str | Path, progress: bool = True, *, seed: int = 0,
             setup: DemoSetup | None = None) -> dict[str, Any]:
    """Deploy and read the demo networks; write the report folder; return the summary.

    ``setup``: what to read (default: :func:`digits_setup`, which trains the two MLPs; the CIFAR-10
    variant passes :func:`cifar_setup`). Writes ``summary.json``, ``table.txt``, ``accuracy.png``,
    ``energy_breakdown.png``, ``accuracy_vs_energy.png`` and ``errors_per_layer_<net>_<vdd>.png`` to
    ``out_dir``. Returns {"rows": [...], "table": str, "timing_s": {...}, ...}.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    setup = digits_setup(seed) if setup is None else setup
    data, nets = setup.data, setup.nets
    t_train = time.perf_counter() - t0
    x, y = data.batch("test", torch.arange(data.n_test))
    x_check = x if setup.integer_check is None else x[:setup.integer_check]
    dm = DeviceModel()
    rows: list[dict[str, Any]] = []
    records: dict[str, dict[str, Any]] = {}
    windows: dict[str, Any] = {}
    bar = tqdm(total=len(DEMO_VDDS) * (len(nets) + 1) + 2, disable=not progress, desc="demo")
    t_sense_total = 0.0
    pool_kw = dict(device_model=dm, n_amplifiers=setup.amplifiers, n_grid=setup.grid, n_mc=setup.mc, seed=seed,
                   cache_dir=out / "cache")

    def read(label: str, model: nn.Module, sm: Any) -> dict[str, Any]:
        _, rec = deploy_record(model, sm, x, y, device_model=dm, reads=DEMO_READS, seed=seed,
                               engine=setup.engine, batch_size=setup.eval_batch)
        rec["integer_matches_float"] = _integer_matches_float(model, sm, x_check, dm, seed)
        return rec

    for vdd in DEMO_VDDS:
        t1 = time.perf_counter()
        op, window = operating_point_for(vdd, None, device_model=dm, n=DEMO_WINDOW_SAMPLES, seed=seed,
                                         factors=DEMO_WINDOW_FACTORS)
        sm = pool_at(op, **pool_kw)
        t_sense_total += time.perf_counter() - t1
        windows[f"{vdd:g}"] = window.to_dict()
        bar.update(1)
        for label, model in nets.items():
            rec = records[f"{label} {vdd:g} V"] = read(label, model, sm)
            rows.append(_row(label, vdd, rec))
            plot_errors_per_layer(rec, out / f"errors_per_layer_{label}_{vdd:g}V.png",
                                  f"{label} weights, VDD {vdd:g} V", names=layer_names(model))
            bar.update(1)
    # The paper's chip had a clock: hold the low-VDD window fixed and read the ternary net at nominal VDD.
    nominal, low = DEMO_VDDS[0], DEMO_VDDS[-1]
    t_clock = windows[f"{low:g}"]["t_sense"]
    t1 = time.perf_counter()
    op, clock = operating_point_for(nominal, t_clock, device_model=dm, n=DEMO_WINDOW_SAMPLES, seed=seed)
    sm = pool_at(op, **pool_kw)
    t_sense_total += time.perf_counter() - t1
    windows[f"{nominal:g} fixed clock"] = clock.to_dict()
    bar.update(1)
    rec = records[f"ternary {nominal:g} V fixed clock"] = read("ternary", nets["ternary"], sm)
    rows.append(_row("ternary", nominal, rec, window=f"clock of {low:g} V"))
    bar.update(1)
    bar.close()
    table = format_table(rows)
    why = explain_points(windows, nominal, low)
    _plot_accuracy(rows, out / "accuracy.png", data.name)
    plot_energy_breakdown(records, out / "energy_breakdown.png", "energy per inference (arrays read every inference)")
    plot_accuracy_vs_energy([{"label": r["network"] + ("" if r["window"] == "centre" else f", {r['window']}"),
                              "vdd": r["vdd"], "accuracy_chip": r["accuracy_chip"],
                              "energy_per_inference": r["energy_per_inference"]} for r in rows],
                            out / "accuracy_vs_energy.png")
    summary = {"data": data.describe(), "model": setup.model,
               "amplifier_pool": {"amplifiers": setup.amplifiers, "n_grid": setup.grid, "n_mc": setup.mc},
               "engine": setup.engine, "windows": windows, "why": why, "rows": rows,
               "records": records, "table": table,
               "timing_s": {"train": t_train, "sense": t_sense_total, "total": time.perf_counter() - t0}}
    atomic_write_text(out / "summary.json", json.dumps(jsonable(summary), indent=2))
    atomic_write_text(out / "table.txt", table + "\n" + "\n".join(why) + "\n")
    return summary


def explain_points(windows: dict[str, dict[str, Any]], nominal: float, low: float) -> list[str]:
    """Why the demo reads where it does: each VDD's margin [W_low, W_high] (from the window scans) and what
    the fixed clock does at nominal VDD (its probe)."""
    ns = lambda t: f"{t * 1e9:.3g} ns" if t != float("inf") else "beyond the scan"  # noqa: E731
    out = []
    margins = {}
    for v in (nominal, low):
        w = windows[f"{v:g}"]
        margin = margins[v] = w["w_high"] / w["w_low"] if w["w_low"] > 0 else float("nan")
        out.append(f"VDD {v:g} V: ternary margin W_low {ns(w['w_low'])} .. W_high {ns(w['w_high'])} "
                   f"(W_high/W_low {f'{margin:.3g}' if margin != float('inf') else 'beyond the scan'}); window {ns(w['t_sense'])} ({w['policy']}); probe "
                   f"P(+1|LRS,HRS) {w['p_correct_lh']:.2f}, P(0|HRS,HRS) {w['p_zero_hh']:.2f}")
    c, lw = windows[f"{nominal:g} fixed clock"], windows[f"{low:g}"]
    p0 = c["p_zero_hh"]
    at_nominal = ("the zeros resolve to +-1 there: with this clock the chip reads binary at nominal VDD" if p0 < 0.1
                  else "the zeros still read 0 there: this clock reads ternary at both VDDs" if p0 >= 0.9
                  else "only part of the zeros resolve there: neither a clean binary nor a clean ternary read")
    at_low = "reads ternary" if lw["p_zero_hh"] >= 0.9 and lw["p_correct_lh"] >= 0.99 else "does not read ternary cleanly"
    out.append(f"fixed clock {ns(c['t_sense'])} (the {low:g} V window) at {nominal:g} V: P(0|HRS,HRS) "
               f"{c['p_zero_hh']:.2f} (probe): {at_nominal}; at {low:g} V it {at_low}")
    wider = "nominal" if margins[nominal] > margins[low] else "low"
    out.append(f"why these points: {nominal:g} V is the nominal supply of the default (SKY130) transistors; "
               f"{low:g} V the lowest supply with a wide ternary margin (circuit/params.py). With a window tuned per "
               f"VDD the margin is wider at the {wider} VDD here; the low VDD is chosen for energy per sense.")
    return out


def _integer_matches_float(model: nn.Module, sm: Any, x: torch.Tensor, dm: DeviceModel, seed: int) -> bool:
    """One chip read; the integer network and the float model with those weights decide alike."""
    chip = deploy(model, sm, device_model=dm, seed=seed + 17)
    w = chip.read()
    a = chip.integer_network(w).predict(x)
    chip.load(w)
    try:
        with torch.no_grad():
            b = model(x).argmax(1)
    finally:
        chip.load(None)
    return bool(torch.equal(a, b))


def _plot_accuracy(rows: list[dict[str, Any]], path: Path, data_name: str = "digits") -> Path:
    fig, axes = new_figure(width=5.5)
    ax = axes[0][0]
    labels = [f"{r['network']}\n{r['vdd']:g} V" + ("" if r.get("window", "centre") == "centre" else f"\n{r['window']}")
              for r in rows]
    pos = np.arange(len(rows))
    ax.bar(pos - 0.2, [100 * r["accuracy_ideal"] for r in rows], 0.4, label="ideal weights")
    ax.bar(pos + 0.2, [100 * r["accuracy_chip"] for r in rows], 0.4, label="read from chip")
    ax.set_xticks(pos, labels, fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"{data_name}: ideal vs chip-read weights")
    legend_below(fig, [ax], ncol=2)
    return save_figure(fig, path)
