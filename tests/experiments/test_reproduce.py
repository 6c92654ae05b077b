"""`reproduce --tiny` end to end: report files, computed verdicts, cache reuse and resume; helpers."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from ternary_rram.cli.main import main
from ternary_rram.experiments.cache import Cache, config_key
from ternary_rram.experiments.report import Claim, Figure, Report, Section, write_report
from ternary_rram.experiments.reproduce import ErrorRates, _ReadHook, corner_params, run_reproduce


@pytest.fixture(scope="module")
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)  # the batched 7x7 solves are much faster single-threaded
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, one_thread):
    out = tmp_path_factory.mktemp("repro")
    res = run_reproduce(out, "tiny")
    return out, res


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


def test_rerun_uses_cache_and_killed_run_resumes(tiny_run):
    out, first = tiny_run
    assert first.cache_misses > 0
    # a run killed before a unit finished leaves no result file for it: only that unit is redone,
    # every other one is read back
    victim = sorted((out / "cache").glob("sense-point-*.json"))[0]
    victim.unlink()
    resumed = run_reproduce(out, "tiny", sections=("sense",))
    assert resumed.cache_misses == 1 and resumed.cache_hits > 5
    assert victim.exists()


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
    slow = corner_params(DEFAULT_PCSA, 3.0)
    assert slow.nmos.vt0 > DEFAULT_PCSA.nmos.vt0 and slow.pmos.vt0 > DEFAULT_PCSA.pmos.vt0


def test_read_hook_rates():
    g = torch.Generator().manual_seed(0)
    w = torch.tensor([1.0, -1.0, 0.0]).repeat(100_000)
    out = _ReadHook(0.1, 0.2, 0.01, False, g)(w)
    nz = w != 0
    assert float((out[nz] == 0).float().mean()) == pytest.approx(0.1, abs=0.005)
    assert float((out[nz] == -w[nz]).float().mean()) == pytest.approx(0.01, abs=0.002)
    assert float((out[~nz] != 0).float().mean()) == pytest.approx(0.2, abs=0.005)


def test_report_marks_verdicts(tmp_path):
    (tmp_path / "f.png").write_bytes(b"\x89PNG fake")
    rep = Report("T", ("p",), (Section("S", ("x",), (Figure("f.png", "cap", ("f.csv",)),), (),
                                       (Claim("c", "m", True, "rule"), Claim("d", "n", None, "r2"))),))
    md, html = write_report(rep, tmp_path)
    text = md.read_text()
    assert "| c | m | holds | rule |" in text and "not tested" in text
    assert re.search(r"class=\"ok\">holds", html.read_text())


def test_drop_rate_interpolates_in_log_rate():
    from ternary_rram.experiments.reproduce import _drop_ber

    bers = [0.0, 0.01, 0.1]
    assert _drop_ber(bers, [0.9, 0.9, 0.8], 0.9, 0.01) == pytest.approx(0.01 * 10 ** 0.1)
    assert _drop_ber(bers, [0.9, 0.9, 0.9], 0.9, 0.01) == float("inf")


def test_quick_falls_back_on_digits_and_says_so(tmp_path):
    from ternary_rram.experiments.reproduce import PRESETS, _load_data

    d = _load_data(PRESETS["quick"], tmp_path / "no-cifar-here")
    assert d.name == "digits" and "CIFAR-10 was not found" in d.note and str(tmp_path) in d.note
