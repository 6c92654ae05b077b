"""The deploy experiments (VDD sweep, demo) at toy sizes: structure of their outputs."""

from __future__ import annotations

import json

import pytest

from ternary_rram.chip import operating as O
from ternary_rram.chip.params import VDD_RANGE
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.errors import InputError
from ternary_rram.experiments import demo as D
from ternary_rram.experiments import deploy as X
from ternary_rram.fileio import jsonable
from ternary_rram.nn.data import load_digits
from tests.chip.helpers import small_model, threshold_pool

FAST = dict(window_samples=4, window_factors=(1.0, 3.0, 10.0), n_grid=3, n_mc=2, n_amplifiers=2)


def test_vdd_sweep_rows_and_figures(tmp_path, monkeypatch):
    """Structure of the sweep; synthetic amplifier pools stand in for the transient ones (speed)."""
    def fake_op(vdd, t_sense=None, temperature_c=27.0, **kw):
        return OperatingPoint(vdd, 1e-9), O.WindowInfo(1e-9, "test", 1.0, 1.0, 0)

    def fake_pool(op, **kw):
        m = threshold_pool(vdd=op.vdd, energy=30e-15 * op.vdd ** 2)
        path = tmp_path / "cache" / f"pool-{op.vdd:.3f}V-test.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(jsonable(m.to_dict())))
        return m

    monkeypatch.setattr(X, "operating_point_for", fake_op)
    monkeypatch.setattr(X, "pool_at", fake_pool)
    data = load_digits()
    models = {"binary": small_model("mlp", "binary"), "ternary": small_model("mlp", "ternary")}
    nom, low = X.VDD_NOMINAL, X.VDD_NEAR_THRESHOLD
    rows = X.vdd_sweep(models, data, vdds=(nom, low), limit_test=40, out_dir=tmp_path, progress=False,
                       cache_dir=tmp_path / "cache", **FAST)
    assert len(rows) == 4
    assert {r["label"] for r in rows} == {"binary", "ternary"}
    by = {(r["label"], r["vdd"]): r for r in rows}
    # the array's energy per inference falls with VDD (every-inference reads)
    assert by[("ternary", low)]["energy_array"] < by[("ternary", nom)]["energy_array"]
    comp = json.loads((tmp_path / "comparison.json").read_text())
    assert comp["binary_nominal"]["vdd"] == nom and comp["ternary_near_threshold"]["vdd"] == low
    for name in ("sweep.json", "accuracy_vs_vdd.png", "energy_vs_vdd.png", "accuracy_vs_energy.png"):
        assert (tmp_path / name).is_file()
    assert len(json.loads((tmp_path / "sweep.json").read_text())) == 4
    assert len(list((tmp_path / "cache").glob("pool-*.json"))) == 2


def test_operating_point_checks():
    with pytest.raises(InputError, match="vdd="):
        O.operating_point_for(VDD_RANGE[1] + 0.05, 1e-9)
    with pytest.raises(InputError, match="t_sense="):
        O.operating_point_for(0.6, 1.0)
    with pytest.raises(InputError, match="reads nothing"):
        O.operating_point_for(0.6, 1e-11, n=8)


def test_demo_tiny(tmp_path, monkeypatch):
    monkeypatch.setattr(D, "DEMO_EPOCHS", 1)
    monkeypatch.setattr(D, "DEMO_WIDTH", 16)
    monkeypatch.setattr(D, "DEMO_GRID", 2)
    monkeypatch.setattr(D, "DEMO_MC", 1)
    monkeypatch.setattr(D, "DEMO_AMPLIFIERS", 2)
    monkeypatch.setattr(D, "DEMO_WINDOW_SAMPLES", 2)
    monkeypatch.setattr(D, "DEMO_EVAL_BATCH", 150)
    s = D.run_demo(tmp_path, progress=False)
    # both nets at both VDDs (window at the centre of each margin), then the ternary net at nominal VDD with
    # the low VDD's window held fixed (a clock)
    assert len(s["rows"]) == 5
    clock = s["rows"][-1]
    assert clock["network"] == "ternary" and clock["vdd"] == D.DEMO_VDDS[0] and clock["window"] != "centre"
    assert clock["t_sense"] == pytest.approx(s["windows"][f"{D.DEMO_VDDS[-1]:g}"]["t_sense"])
    assert len(s["why"]) == 4 and "fixed clock" in s["why"][2]
    for r in s["rows"]:
        assert 0.0 <= r["accuracy_chip"] <= 1.0 and r["energy_per_inference"] > 0
        assert r["integer_matches_float"] is True
    assert (tmp_path / "summary.json").is_file() and (tmp_path / "accuracy.png").is_file()
    assert "network" in s["table"]


def _tiny_demo_sizes(monkeypatch):
    for name, value in (("DEMO_WINDOW_SAMPLES", 2), ("N_AMPLIFIERS", 2), ("N_GRID", 2), ("N_MC", 1),
                        ("CIFAR_EVAL_BATCH", 4), ("CIFAR_INTEGER_CHECK", 3)):
        monkeypatch.setattr(D, name, value)


def _ship(monkeypatch, folder, labels):
    """Ship tiny CIFAR-shaped VGGs under the demo's names in a temporary pretrained folder."""
    import torch

    from ternary_rram.nn import packed
    from ternary_rram.nn.models import vgg

    monkeypatch.setattr(packed, "PRETRAINED_DIR", folder)
    for i, label in enumerate(labels):
        torch.manual_seed(i)
        net = vgg(2, label, "binary").eval()
        packed.save_packed(folder / f"{packed.SHIPPED_CIFAR10[label]}.packed", net, metadata={"test_accuracy": 0.1 * (i + 1)})


@pytest.mark.filterwarnings("ignore:CIFAR-10 files")  # the fake copy is not the official one
def test_demo_cifar_reads_the_shipped_networks(tmp_path, monkeypatch):
    from tests.fake_data import write_fake_cifar

    _tiny_demo_sizes(monkeypatch)
    _ship(monkeypatch, tmp_path / "shipped", ["binary", "ternary"])
    write_fake_cifar(tmp_path / "cifar", n=10)
    setup = D.cifar_setup(tmp_path / "cifar", limit_test=7)
    assert setup.data.n_test == 7 and set(setup.nets) == {"binary", "ternary"} and setup.engine == "float"
    assert setup.model["networks"]["ternary"]["test_accuracy"] == 0.2
    s = D.run_demo(tmp_path / "out", progress=False, setup=setup)
    assert [(r["network"], r["window"] == "centre") for r in s["rows"]] == [
        ("binary", True), ("ternary", True), ("binary", True), ("ternary", True), ("ternary", False)]
    for r in s["rows"]:
        assert r["n_weights"] > 0 and r["integer_matches_float"] is True
    assert s["data"]["name"] == "cifar10" and s["amplifier_pool"]["amplifiers"] == 2
    assert (tmp_path / "out" / "accuracy.png").is_file()


def test_demo_cifar_without_the_shipped_ternary_net_is_one_line(tmp_path, monkeypatch, capsys):
    from ternary_rram.cli.main import main
    from tests.fake_data import write_fake_cifar

    _ship(monkeypatch, tmp_path / "shipped", ["binary"])
    write_fake_cifar(tmp_path / "cifar")
    rc = main(["demo", "--cifar", "--data-dir", str(tmp_path / "cifar"), "--out", str(tmp_path / "o"), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "cifar10-vgg32-ternary" in err[0] and "cifar10-vgg32-binary" in err[0]
    rc = main(["demo", "--data-dir", str(tmp_path / "cifar"), "--out", str(tmp_path / "o2")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "without --cifar" in err[0]
    rc = main(["demo", "--cifar", "--limit-test", "0", "--out", str(tmp_path / "o3")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "--limit-test=0" in err[0]
