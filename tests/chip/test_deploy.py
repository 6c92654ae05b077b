"""Deployment on simulated arrays with synthetic (cheap) sense maps; energy accounting."""

from __future__ import annotations

import pytest
import torch

from ternary_rram.array import count_errors
from ternary_rram.chip.deploy import deploy, evaluate_chip, pair_tables, parse_array_shape, sample_reads
from ternary_rram.chip.energy import ENERGY_PARTS
from ternary_rram.device import DeviceModel, LognormalState
from ternary_rram.errors import InputError
from ternary_rram.nn.models import build_model
from tests.chip.helpers import input_for, small_model, threshold_map

TIGHT = DeviceModel(lrs=LognormalState(5e3, 0.01, 0.01), hrs=LognormalState(300e3, 0.01, 0.01))


def _labelled(model, n=120, seed=1):
    x = input_for(model, n, seed=seed)
    with torch.no_grad():
        return x, model(x).argmax(1)


def test_perfect_reads_keep_accuracy():
    model = small_model("convnet", "ternary")
    x, y = _labelled(model)
    chip = deploy(model, threshold_map(), device_model=TIGHT, array_shape="16x16",
                  generator=torch.Generator().manual_seed(0))
    res = evaluate_chip(chip, x, y, batch_size=40)
    assert res.accuracy_ideal == 1.0 and res.accuracy_chip == 1.0
    assert res.errors_total.total == 0 and res.n_reads == 1
    assert all(l.read_weight is None for _, l in [(d.name, d.layer) for d in chip.layers])


def test_error_types_and_every_inference_reads():
    model = small_model("mlp", "ternary")
    x, y = _labelled(model)
    sm = threshold_map(zero_band=0.5, p_flip=0.05)
    chip = deploy(model, sm, reads="every-inference", generator=torch.Generator().manual_seed(0))
    w = chip.read()
    for d in chip.layers:
        assert w[d.name].shape == d.target.shape
        assert chip.last_errors[d.name] == count_errors(d.target, w[d.name])
    tot = sum((e.sign_flip for e in chip.last_errors.values()))
    assert tot > 0
    assert sum(e.from_zero for e in chip.last_errors.values()) > 0
    res = evaluate_chip(chip, x, y, batch_size=30, engine="integer")
    assert res.n_reads == 4
    assert res.errors_total.n_weights == 4 * chip.n_weights


def test_pair_tables_follow_the_sense_map():
    sm = threshold_map(zero_band=0.7, p_flip=0.2, n_grid=17)
    g = torch.Generator().manual_seed(0)
    r_bl = torch.exp(torch.rand(4000, generator=g, dtype=torch.float64) * 8 + 8)
    r_blb = torch.exp(torch.rand(4000, generator=g, dtype=torch.float64) * 8 + 8)
    cum, energy = pair_tables(sm, r_bl, r_blb)
    p = sm.probabilities(r_bl, r_blb)
    assert torch.allclose(cum[:, 0].double(), p[:, 0], atol=1e-5)
    assert torch.allclose(cum[:, 1].double(), p[:, 0] + p[:, 1], atol=1e-5)
    assert torch.allclose(energy, sm.energy_per_sense(r_bl, r_blb))
    # sampling frequencies over many draws of one pair
    c = cum[:1].expand(200_000, 2).contiguous()
    v = sample_reads(c, g)
    freq = torch.stack([(v == k).double().mean() for k in (-1, 0, 1)])
    assert torch.allclose(freq, p[0], atol=5e-3)


def test_energy_parts_and_programming():
    model = small_model("convnet", "ternary")
    sm = threshold_map(energy=10e-15)
    once = deploy(model, sm, device_model=TIGHT, reads="once", generator=torch.Generator().manual_seed(0))
    every = deploy(model, sm, device_model=TIGHT, reads="every-inference",
                   generator=torch.Generator().manual_seed(0))
    shape = (1, 8, 8)
    e1, e2 = once.energy(shape), every.energy(shape)
    n = once.n_weights
    assert set(e1.parts) == set(ENERGY_PARTS)
    assert e1.parts["sense"] == 0.0 and e1.one_time["read_after_programming"] > 0
    assert e2.parts["sense"] == pytest.approx(n * 10e-15, rel=1e-4)
    assert e2.parts["bitline"] == pytest.approx(n * every.array_params.bitline_energy_per_column_read(0.6))
    assert e2.senses_per_inference == n and e1.senses_per_inference == 0
    assert e2.latency_parts["array_read"] > 0 and e1.latency_parts["array_read"] == 0
    assert e1.total > 0 and e1.latency > 0
    # programming: one pulse per device, 2 per weight
    assert sum(d.pulses_set + d.pulses_reset for d in once.layers) == 2 * n
    assert once.programming_energy > 0
    assert sum(e1.per_layer.values()) == pytest.approx(e1.total)


def test_lower_vdd_costs_less_array_energy():
    model = small_model("mlp", "ternary")
    hi = deploy(model, threshold_map(vdd=1.2, energy=40e-15), reads="every-inference")
    lo = deploy(model, threshold_map(vdd=0.6, energy=10e-15), reads="every-inference")
    ehi, elo = hi.energy((1, 8, 8)), lo.energy((1, 8, 8))
    assert elo.parts["sense"] < ehi.parts["sense"] and elo.parts["bitline"] < ehi.parts["bitline"]


@pytest.mark.parametrize("bad", ["0x128", "128x", "axb", "-1x4", (128,), 0])
def test_bad_array_shape(bad):
    with pytest.raises(InputError, match="array="):
        parse_array_shape(bad)


def test_array_shape_forms():
    assert parse_array_shape("64x32") == (64, 32)
    assert parse_array_shape(16) == (16, 16)
    assert parse_array_shape((8, 4)) == (8, 4)


def test_bad_inputs():
    model = small_model("mlp", "ternary")
    with pytest.raises(InputError, match="reads="):
        deploy(model, threshold_map(), reads="sometimes")
    with pytest.raises(InputError, match="no quantized layer"):
        deploy(build_model("mlp", width=8, weights="float", image_size=4), threshold_map())
    with pytest.raises(InputError, match="sense_map or an operating point"):
        deploy(model)
