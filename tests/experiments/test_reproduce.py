"""`reproduce --tiny` end to end: report files, computed verdicts, cache reuse and resume; helpers."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest
import torch

from ternary_rram.circuit.transforms import process_corner
from ternary_rram.cli.main import main
from ternary_rram.experiments.cache import Cache, config_key
from ternary_rram.experiments.report import Claim, Figure, Report, Section, write_report
from ternary_rram.experiments.reproduce import PRESETS, run_reproduce, train_config
from ternary_rram.experiments.reproduce.compute import ErrorRates


@pytest.fixture(scope="module")
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)  # the batched 7x7 solves are much faster single-threaded
    yield
    torch.set_num_threads(old)


_TINY_LOG: list[str] = []


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, one_thread):
    out = tmp_path_factory.mktemp("repro")
    res = run_reproduce(out, "tiny", log=_TINY_LOG.append)
    return out, res


def test_progress_counts_units_k_of_n(tiny_run):
    """A fresh run announces every unit it computes as "unit k of N", k = 1..N, N the units it stores."""
    import re

    out, _ = tiny_run
    announced = [re.match(r"unit (\d+) of (\d+): ", line) for line in _TINY_LOG]
    announced = [m for m in announced if m]
    ks, ns = [int(m.group(1)) for m in announced], {int(m.group(2)) for m in announced}
    stored = len(list((out / "cache").glob("*.json")))
    assert ks == list(range(1, stored + 1))
    assert ns == {stored}


def test_tiny_writes_report_figures_data_and_verdicts(tiny_run):
    out, res = tiny_run
    md = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    for i in range(1, 8):
        assert list(out.glob(f"fig{i}*.png")) and list(out.glob(f"fig{i}*.csv")), i
    assert md.count("**Claims**") == 7
    assert html.count("data:image/png;base64,") == len(list(out.glob("fig*.png")))
    assert "<img alt" in html and "src='fig" not in html  # self-contained
    assert len(res.claims) >= 14
    assert all(c.verdict in ("holds", "does not hold", "not tested") for c in res.claims)
    doc = json.loads((out / "claims.json").read_text())
    assert len(doc["claims"]) == len(res.claims)
    assert "digits" in res.dataset
    assert res.compute_seconds > 0 and doc["compute_seconds"] == pytest.approx(res.compute_seconds)
    assert re.search(r"This run took \d+ s \(\d+\.\d min\)", md)  # wall time, for every preset


def _report_section(md: str, number: int) -> str:
    start = md.index(f"\n## {number}. ")
    end = md.find("\n## ", start + 1)
    return md[start:] if end < 0 else md[start:end]


def _map_energy_range(out) -> dict[float, tuple[float, float]]:
    """VDD -> (min, max) energy per sense of the chip's cached amplifier maps at that VDD, J."""
    ranges = {}
    for path in (out / "cache").glob("chip-pool-*.json"):
        values = json.loads(path.read_text())["values"]  # AmplifierPool.to_dict
        grid = np.asarray([m["energy_grid"] for m in values["maps"]], dtype=np.float64)
        ranges[values["maps"][0]["vdd"]] = (float(np.nanmin(grid)), float(np.nanmax(grid)))
    return ranges


def test_tiny_section7_deploys_on_the_chip(tiny_run):
    from ternary_rram.chip.energy import ENERGY_PARTS

    out, res = tiny_run
    doc = json.loads((out / "fig7_deployed.json").read_text())
    vdds = sorted(PRESETS["tiny"].vdds)
    window = doc["window_s"]
    fig2a = list(csv.DictReader((out / "fig2a_probabilities.csv").open()))
    assert all(float(r["window_s"]) == pytest.approx(window) for r in fig2a)  # the window section 2 chose
    energy_range = _map_energy_range(out)
    assert sorted(energy_range) == pytest.approx(vdds)  # one chip sense map per VDD
    for kind in ("binary", "ternary"):
        recs = doc["records"][kind]
        assert sorted(float(v) for v in recs) == pytest.approx(vdds)
        assert len({r["accuracy_ideal"] for r in recs.values()}) == 1  # one network, read at every VDD
        for v, rec in recs.items():
            assert rec["operating_point"]["vdd"] == pytest.approx(float(v))
            assert rec["operating_point"]["t_sense"] == pytest.approx(window)
            en = rec["energy"]
            assert en["reads"] == "every-inference" and set(en["parts"]) == set(ENERGY_PARTS)
            assert en["energy_per_inference"] == pytest.approx(sum(en["parts"].values()))
            assert rec["energy_array"] == pytest.approx(en["parts"]["sense"] + en["parts"]["bitline"])
            # the whole chip costs more than its arrays: the periphery is counted
            assert 0 < rec["energy_array"] < en["energy_per_inference"]
            assert en["parts"]["popcount"] > 0 and en["parts"]["activation_memory"] > 0
            # every weight sensed at every use, at the energy per sense of that VDD's maps
            n = rec["n_weights"]
            uses = en["senses_per_inference"]
            assert uses > n
            lo, hi = energy_range[min(energy_range, key=lambda x: abs(x - float(v)))]
            assert lo * uses * (1 - 1e-5) <= en["parts"]["sense"] <= hi * uses * (1 + 1e-5)
            # read errors counted by type, per layer, over every read of the evaluation
            tot = rec["errors_total"]
            assert rec["n_reads"] >= 1 and tot["n_weights"] == n * rec["n_reads"]
            assert set(rec["errors_per_layer"]) == set(rec["layers"])
            for key in ("to_zero", "from_zero", "sign_flip"):
                assert tot[key] == sum(e[key] for e in rec["errors_per_layer"].values())
            assert rec["reads_nonzero"] + rec["reads_zero"] == tot["n_weights"]
            if kind == "binary":
                assert rec["reads_zero"] == 0 and tot["from_zero"] == 0
    rows = list(csv.DictReader((out / "fig7_deployed.csv").open()))
    assert len(rows) == 2 * len(vdds)
    for r in rows:
        assert 0 < float(r["energy_array_J"]) < float(r["energy_per_inference_J"])
        assert sum(float(r[f"energy_{q}_J"]) for q in ENERGY_PARTS) == pytest.approx(
            float(r["energy_per_inference_J"]), rel=1e-4)
    # the claims are computed from the chip's numbers
    s7 = _report_section((out / "report.md").read_text(), 7)
    assert "sense map of the transient PCSA" in s7 and "fig7b_energy_parts.png" in s7
    vs = float(doc["vdd_star_V"])
    t_star, b_nom = doc["records"]["ternary"][f"{vs:g}"], doc["records"]["binary"][f"{max(vdds):g}"]
    claim = next(c for c in res.claims if c.claim.startswith("Near-threshold ternary reading costs less array"))
    expect = (t_star["energy_array"] < b_nom["energy_array"]) if vs < max(vdds) else None
    assert claim.holds == expect and claim.verdict in s7
    claim = next(c for c in res.claims if c.claim.startswith("The ternary network needs no error correction"))
    assert claim.holds == (t_star["accuracy_ideal"] - t_star["accuracy_chip"] <= 0.005)
    assert f"{t_star['errors_total']['n_weights']} weight reads" in claim.measured


def test_rerun_uses_cache_and_killed_run_resumes(tiny_run):
    out, first = tiny_run
    assert first.cache_misses > 0
    assert first.cache_hits == 0  # a brand-new folder: nothing was read from a cache
    # a run killed before a unit finished leaves no result file for it: only that unit is redone,
    # every other one is read back
    victim = min((out / "cache").glob("sense-point-*.json"))
    victim.unlink()
    resumed = run_reproduce(out, "tiny", sections=("sense",))
    assert resumed.cache_misses == 1 and resumed.cache_hits > 5
    assert victim.exists()
    # the same for one chip deployment of section 7; redone, it gives the same draws
    victim = min((out / "cache").glob("chip-deploy-*.json"))
    before = json.loads(victim.read_text())["values"]
    victim.unlink()
    resumed = run_reproduce(out, "tiny")
    assert resumed.cache_misses == 1 and victim.exists()
    after = json.loads(victim.read_text())["values"]
    assert after["accuracy_chip"] == before["accuracy_chip"] and after["errors_total"] == before["errors_total"]


def test_cli_reproduce_bad_params_exit_2(tmp_path, capsys):
    bad = tmp_path / "p.json"
    bad.write_text("[1, 2]")
    assert main(["reproduce", "--tiny", "--out", str(tmp_path / "o"), "--params", str(bad)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_cache_key_and_atomic_store(tmp_path):
    assert config_key("a", {"x": 1, "y": [1, 2]}) == config_key("a", {"y": (1, 2), "x": 1})
    assert config_key("a", {"x": 1}) != config_key("a", {"x": 2})
    cache = Cache(tmp_path)
    calls = []
    compute = lambda: (calls.append(1) or {"v": 1.5}, {"a": np.arange(3)})  # noqa: E731
    r1 = cache.get_or_compute("u", {"k": 1}, compute)
    r2 = cache.get_or_compute("u", {"k": 1}, compute)
    assert len(calls) == 1 and r2["v"] == 1.5
    np.testing.assert_array_equal(r2["a"], np.arange(3))
    assert not list(tmp_path.glob(".*tmp"))
    del r1


def test_error_rates_and_corner():
    r = ErrorRates.from_counts({1: np.array([1, 9, 90]), -1: np.array([100, 0, 0]), 0: np.array([5, 90, 5])})
    assert r.to_zero == pytest.approx(9 / 200) and r.flip == pytest.approx(1 / 200)
    assert r.from_zero == pytest.approx(0.1)
    assert r.ternary == pytest.approx((0.1 + 0.0 + 0.1) / 3)
    from ternary_rram.circuit.params import DEFAULT_PCSA
    slow = process_corner(DEFAULT_PCSA, 3.0)
    assert slow.nmos.vt0 > DEFAULT_PCSA.nmos.vt0 and slow.pmos.vt0 > DEFAULT_PCSA.pmos.vt0


def test_report_marks_verdicts(tmp_path):
    (tmp_path / "f.png").write_bytes(b"\x89PNG fake")
    rep = Report("T", ("p",), (Section("S", ("x",), (Figure("f.png", "cap", ("f.csv",)),), (),
                                       (Claim("c", "m", True, "rule"), Claim("d", "n", None, "r2"))),))
    md, html = write_report(rep, tmp_path)
    text = md.read_text()
    assert "| c | m | holds | rule |" in text and "not tested" in text
    assert re.search(r"class=\"ok\">holds", html.read_text())


def test_drop_rate_interpolates_in_log_rate():
    from ternary_rram.experiments.reproduce.claims import drop_ber

    bers = [0.0, 0.01, 0.1]
    assert drop_ber(bers, [0.9, 0.9, 0.8], 0.9, 0.01) == pytest.approx(0.01 * 10 ** 0.1)
    assert drop_ber(bers, [0.9, 0.9, 0.9], 0.9, 0.01) == float("inf")


def test_quick_falls_back_on_digits_only_without_a_path_and_says_so(tmp_path, monkeypatch):
    import ternary_rram.experiments.reproduce.compute as reproduce_mod
    from ternary_rram.errors import InputError
    from ternary_rram.experiments.reproduce.compute import load_data

    said = []
    monkeypatch.setattr(reproduce_mod, "default_cifar10_dir", lambda: None)  # no copy in the usual places
    d = load_data(PRESETS["quick"], None, said.append)
    assert d.name == "digits" and "CIFAR-10 was not used" in d.note
    assert len(said) == 1 and "digits" in said[0] and "--data-dir" in said[0]
    # a path the user gave is used or refused, never replaced by digits
    with pytest.raises(InputError, match="no-cifar-here"):
        load_data(PRESETS["quick"], tmp_path / "no-cifar-here", said.append)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="empty"):
        load_data(PRESETS["quick"], tmp_path / "empty", said.append)
    assert len(said) == 1


def test_full_preset_trains_with_the_seed_recipe():
    """--full is the seed recipe (docs/physics.md section 5): all of CIFAR-10, widths up to 256, 700 epochs
    of AdamW at lr 0.01 / batch 128 with warm restarts at epochs 100 and 300 (cycles 100, 200, 400)."""
    from ternary_rram.nn.train import learning_rate

    full = PRESETS["full"]
    tc = train_config(full, seed=0)
    assert full.data_limit is None and full.max_batches is None
    assert 128 in full.widths and max(full.widths) == 256
    assert (tc.epochs, tc.cycles, tc.lr, tc.batch_size, tc.decay, tc.reset_moments) == (700, (100, 200, 400), 0.01,
                                                                                         128, 2.0, True)
    # restarts at 100 and 300: the learning rate jumps back to lr there and has annealed just before
    for restart in (100, 300):
        assert learning_rate(restart, tc) == pytest.approx(0.01)
        assert learning_rate(restart - 0.01, tc) < 1e-5
    # the short presets anneal once over their own run instead
    quick = train_config(PRESETS["quick"], seed=0)
    assert quick.cycles == (PRESETS["quick"].epochs,)


@pytest.mark.filterwarnings("ignore:CIFAR-10 files")
def test_quick_judges_network_claims_on_the_shipped_converged_pair(tiny_run, tmp_path, monkeypatch):
    """With ``judge_shipped`` on CIFAR-10 and both networks of SHIPPED_CIFAR10 shipped, sections 6-7 and the
    converged claim of section 5 use the shipped networks (evaluated on the run's test images), not the
    preset's own short runs; without CIFAR-10 (digits) the trained ones are used as before."""
    import dataclasses
    import shutil

    import ternary_rram.experiments.reproduce.run as run_mod
    import ternary_rram.nn.packed as packed
    from ternary_rram.experiments.reproduce.compute import cifar_data, judges_shipped, load_data
    from ternary_rram.nn.data import load_dataset
    from ternary_rram.nn.layers import quantized_layers
    from ternary_rram.nn.models import vgg
    from tests.fake_data import write_fake_cifar

    # two small networks of the CIFAR-10 shape stand in for the shipped pair; distinct, so a mix-up shows
    shipped = tmp_path / "pretrained"
    shipped.mkdir()
    for i, (kind, name) in enumerate(packed.SHIPPED_CIFAR10.items()):
        torch.manual_seed(10 + i)
        net = vgg(3, kind, "binary", in_channels=3, num_classes=10, image_size=32)  # tiny trains width 2
        packed.save_packed(shipped / f"{name}.packed", net,
                           metadata={"command": f"train {kind}", "test_accuracy": 0.5, "epoch": 7})
    monkeypatch.setattr(packed, "PRETRAINED_DIR", shipped)
    write_fake_cifar(tmp_path / "cifar", n=40)
    tiny = dataclasses.replace(PRESETS["tiny"], judge_shipped=True)
    monkeypatch.setitem(PRESETS, "tiny", tiny)
    cifar = cifar_data(load_dataset("cifar10", tmp_path / "cifar", limit=tiny.data_limit), tiny)
    assert judges_shipped(tiny, cifar) and not judges_shipped(PRESETS["full"], cifar)
    assert not judges_shipped(tiny, load_data(tiny, None))  # digits: the shipped nets do not fit
    monkeypatch.setattr(run_mod, "load_data", lambda p, d, w: cifar)
    # the sense sections are read back from the tiny run; everything about networks is computed here
    out = tmp_path / "run"
    (out / "cache").mkdir(parents=True)
    for f in (tiny_run[0] / "cache").iterdir():
        if f.name.startswith(("sense-", "chip-pool-")):
            shutil.copy(f, out / "cache" / f.name)
    log: list[str] = []
    res = run_reproduce(out, "tiny", log=log.append)
    # the plan counts the two evaluations of the shipped pair: N = every unit stored
    ns = {int(m.group(1)) for m in (re.match(r"unit \d+ of (\d+): ", line) for line in log) if m}
    assert ns == {len(list((out / "cache").glob("*.json")))}
    assert sum("evaluating the shipped network" in line for line in log) == 2
    units = [json.loads(f.read_text())["values"] for f in (out / "cache").glob("shipped-*.json")]
    shipped_eval = {u["weights"]: u["test_acc"] for u in units}
    doc = json.loads((out / "fig7_deployed.json").read_text())
    assert doc["width"] == 3
    for kind, name in packed.SHIPPED_CIFAR10.items():
        n_weights = sum(layer.weight.numel() for _, layer in quantized_layers(packed.pretrained(name))
                        if layer.weight_quantizer.is_quantized)
        for rec in doc["records"][kind].values():  # the shipped network went onto the chip
            assert rec["n_weights"] == n_weights and rec["accuracy_ideal"] == pytest.approx(shipped_eval[kind])
    md = (out / "report.md").read_text()
    assert "converged networks shipped with the package" in md and "`train ternary`" in md
    claim = next(c for c in res.claims if c.claim.endswith("converged networks [P1, P2]"))
    assert claim.holds == (shipped_eval["ternary"] > shipped_eval["binary"])
    assert f"{shipped_eval['ternary'] * 100:.2f} %" in claim.measured
