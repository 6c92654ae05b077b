"""Chip instances with synthetic (cheap) amplifier maps: reads, seeds, Monte Carlo over chips, energy."""

from __future__ import annotations

import pytest
import torch

from ternary_rram.array import count_errors
from ternary_rram.chip.deploy import (
    check_chips,
    deploy,
    evaluate_chip,
    parse_array_shape,
    read_layer_as_chip,
)
from ternary_rram.chip.energy import ENERGY_PARTS, LEAVES_OUT
from ternary_rram.device import DeviceModel, LognormalState
from ternary_rram.errors import InputError
from ternary_rram.experiments.deploy import chips_summary, deploy_record
from ternary_rram.nn.models import build_model
from tests.chip.helpers import input_for, small_model, threshold_pool

TIGHT = DeviceModel(lrs=LognormalState(5e3, 0.01, 0.01), hrs=LognormalState(300e3, 0.01, 0.01))


def _labelled(model, n=120, seed=1):
    x = input_for(model, n, seed=seed)
    with torch.no_grad():
        return x, model(x).argmax(1)


def test_perfect_reads_keep_accuracy():
    model = small_model("convnet", "ternary")
    x, y = _labelled(model)
    chip = deploy(model, threshold_pool(), device_model=TIGHT, array_shape="16x16", reads="once")
    res = evaluate_chip(chip, x, y, batch_size=40)
    assert res.accuracy_ideal == 1.0 and res.accuracy_chip == 1.0
    assert res.errors_total.total == 0 and res.n_reads == 1
    assert all(d.layer.read_weight is None for d in chip.layers)
    assert sum(int(a.sum()) for a in res.amplifier_errors.values()) == 0


def test_known_ideal_accuracy_skips_the_ideal_pass_and_changes_nothing_else(monkeypatch):
    import sys

    chip_deploy = sys.modules[evaluate_chip.__module__]  # the package re-exports a function named deploy
    model = small_model("mlp", "ternary")
    x, y = _labelled(model)
    y[::3] = (y[::3] + 1) % 10  # a third of the labels wrong: ideal accuracy is not 1
    pool = threshold_pool(zero_band=0.5, p_flip=0.05)
    first = evaluate_chip(deploy(model, pool, reads="once", seed=4), x, y, batch_size=40)
    calls: list[bool] = []
    real = chip_deploy._predict
    monkeypatch.setattr(chip_deploy, "_predict", lambda c, xb, e, w: calls.append(w is None) or real(c, xb, e, w))
    again = evaluate_chip(deploy(model, pool, reads="once", seed=4), x, y, batch_size=40,
                          accuracy_ideal=first.accuracy_ideal)
    assert calls == [False, False, False]  # three batches, chip weights only
    assert 0.5 < again.accuracy_ideal == first.accuracy_ideal < 1.0
    assert again.accuracy_chip == first.accuracy_chip and torch.equal(again.predictions, first.predictions)


def test_error_types_and_every_inference_reads():
    model = small_model("mlp", "ternary")
    x, y = _labelled(model)
    chip = deploy(model, threshold_pool(zero_band=0.5, p_flip=0.05), reads="every-inference")
    w = chip.read()
    for d in chip.layers:
        assert w[d.name].shape == d.target.shape
        assert chip.last_errors[d.name] == count_errors(d.target, w[d.name])
        assert int(chip.last_amplifier_errors[d.name].sum()) == chip.last_errors[d.name].total
    assert sum(e.sign_flip for e in chip.last_errors.values()) > 0
    assert sum(e.from_zero for e in chip.last_errors.values()) > 0
    res = evaluate_chip(chip, x, y, batch_size=30, engine="integer")
    assert res.n_reads == 4
    assert res.errors_total.n_weights == 4 * chip.n_weights


def test_chip_is_static_without_noise_and_its_seed_picks_it():
    model = small_model("mlp", "ternary")
    pool = threshold_pool(zero_band=1.0)  # default device spread: (HRS, HRS) cells leave the band
    a = deploy(model, pool, seed=0)
    ra, rb = a.read(torch.Generator().manual_seed(1)), a.read(torch.Generator().manual_seed(2))
    assert all(torch.equal(ra[k], rb[k]) for k in ra)  # noise off: reads repeat exactly
    again = deploy(model, pool, seed=0).read()
    assert all(torch.equal(ra[k], again[k]) for k in ra)  # the seed is the chip
    other = deploy(model, pool, seed=1).read()
    errs = [sum(int((r[k] != d.target).sum()) for k, d in zip(r, a.layers)) for r in (ra, other)]
    assert errs[0] > 0 and errs[1] > 0
    assert any(not torch.equal(ra[k], other[k]) for k in ra)  # another chip errs elsewhere


def test_every_inference_reads_redraw_only_the_noise():
    model = small_model("mlp", "ternary")
    chip = deploy(model, threshold_pool(zero_band=0.5, p_flip=0.05), reads="every-inference")
    before = [(d.array.r_bl.clone(), d.array.r_blb.clone(), d.array.pool_index.clone()) for d in chip.layers]
    reads = [chip.read() for _ in range(3)]
    for d, (rb, rbb, amp) in zip(chip.layers, before):
        assert torch.equal(d.array.r_bl, rb) and torch.equal(d.array.r_blb, rbb)  # cells static
        assert torch.equal(d.array.pool_index, amp)  # amplifiers static
    assert any(not torch.equal(reads[0][k], reads[1][k]) for k in reads[0])  # the noise is not


def test_spread_over_chips_is_zero_without_errors_and_not_with_them():
    model = small_model("mlp", "ternary")
    x, y = _labelled(model, n=200)
    clean = [deploy_record(model, threshold_pool(), x, y, device_model=TIGHT, seed=s)[1] for s in range(3)]
    s0 = chips_summary(clean, 0.99)
    assert s0["accuracy_std"] == 0.0 and s0["yield"] == 1.0
    assert all(c["errors"]["from_zero"] == 0 for c in s0["per_chip"])
    noisy = threshold_pool(zero_band=0.3, p_flip=0.1)
    bad = [deploy_record(model, noisy, x, y, seed=s)[1] for s in range(3)]
    s1 = chips_summary(bad, 0.99)
    assert s1["accuracy_std"] > 0.0 and s1["yield"] < 1.0
    assert s1["accuracy_min"] <= s1["accuracy_mean"] <= s1["accuracy_max"]
    assert all(c["errors"]["sign_flip"] > 0 for c in s1["per_chip"])


def test_every_inference_sense_energy_is_weight_uses_times_energy_per_sense():
    model = small_model("convnet", "ternary")
    pool = threshold_pool(3, energies=(10e-15, 17e-15, 31e-15))
    chip = deploy(model, pool, device_model=TIGHT, array_shape="16x8")
    shape = (1, 8, 8)
    rep = chip.energy(shape)
    ops = {o.name: o for o in chip.integer_network().op_counts(shape)}
    e_sense = e_bl = 0.0
    uses_total = 0
    for d in chip.layers:
        a = d.array
        amp = a.pool_index[a.amplifier_index()].reshape(-1)
        rb, rbb = a.r_bl.reshape(-1), a.r_blb.reshape(-1)
        cell_e = torch.stack([pool.maps[k].energy_per_sense(rb, rbb) for k in range(3)])[amp, torch.arange(amp.numel())]
        uses = ops[d.name].macs
        assert uses >= d.n_weights
        e_sense += uses * float(cell_e.mean())
        e_bl += uses * chip.array_params.bitline_energy_per_column_read(chip.op.vdd, rows=min(16, a.rows))
        uses_total += uses
    assert rep.parts["sense"] == pytest.approx(e_sense, rel=1e-5)
    assert rep.parts["bitline"] == pytest.approx(e_bl, rel=1e-9)
    assert rep.senses_per_inference == uses_total and rep.parts["weight_buffer"] == 0.0
    d = rep.to_dict()
    assert d["leaves_out"] == list(LEAVES_OUT) and "e_sram_bit" in d["periphery_defaults"]
    assert "leaves out" in d["note"]


def test_read_once_reports_its_one_time_read_apart():
    model = small_model("convnet", "ternary")
    pool = threshold_pool(energy=10e-15)
    once = deploy(model, pool, device_model=TIGHT, reads="once")
    e1 = once.energy((1, 8, 8))
    n = once.n_weights
    assert set(e1.parts) == set(ENERGY_PARTS)
    assert e1.parts["sense"] == 0.0 and e1.parts["bitline"] == 0.0 and e1.senses_per_inference == 0
    assert e1.one_time["read_after_programming"] == pytest.approx(
        n * 10e-15 + sum(d.n_weights * once.array_params.bitline_energy_per_column_read(0.6, rows=d.array.tile_rows)
                         for d in once.layers), rel=1e-5)
    assert e1.parts["weight_buffer"] > 0 and e1.latency_parts["array_read"] == 0
    # programming: at least one pulse per device (write-verify may add more), pulses + verify energy
    assert sum(d.program.pulses for d in once.layers) >= 2 * n
    assert once.programming_energy > 0 and e1.one_time["programming"] == once.programming_energy
    assert sum(e1.per_layer.values()) == pytest.approx(e1.total)


def test_read_layer_as_chip_programs_new_weights_into_the_same_chip():
    model = small_model("mlp", "ternary")
    chip = deploy(model, threshold_pool(), device_model=TIGHT)
    d = chip.layers[0]
    amps = d.array.pool_index.clone()
    w = -d.target
    out = read_layer_as_chip(chip, d.name, w)
    assert torch.equal(out, w) and torch.equal(chip.layers[0].target, w)
    assert torch.equal(d.array.pool_index, amps)  # same amplifiers
    with pytest.raises(InputError, match="not on the chip"):
        read_layer_as_chip(chip, "nope", w)


@pytest.mark.parametrize("bad", ["0x128", "128x", "axb", "-1x4", (128,), 0])
def test_bad_array_shape(bad):
    with pytest.raises(InputError, match="array="):
        parse_array_shape(bad)


def test_array_shape_forms():
    assert parse_array_shape("64x32") == (64, 32)
    assert parse_array_shape(16) == (16, 16)
    assert parse_array_shape((8, 4)) == (8, 4)


@pytest.mark.parametrize("bad", [0, -3, 10**9, 2.5, float("nan"), True])
def test_bad_chip_counts(bad):
    with pytest.raises(InputError, match="chips="):
        check_chips(bad)


def test_bad_inputs():
    model = small_model("mlp", "ternary")
    with pytest.raises(InputError, match="reads="):
        deploy(model, threshold_pool(), reads="sometimes")
    with pytest.raises(InputError, match="no quantized layer"):
        deploy(build_model("mlp", width=8, weights="float", image_size=4), threshold_pool())
    with pytest.raises(InputError, match="amplifier pool or an operating point"):
        deploy(model)
