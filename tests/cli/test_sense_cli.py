"""``ternary-rram sense`` and ``ternary-rram demo``: files with the right fields, bad input exits 2."""

from __future__ import annotations

import csv
import json

import pytest

from ternary_rram.cli.main import main

FIELDS = ("vdd", "t_sense", "temperature_c", "state", "p_plus", "p_minus", "p_zero", "t_decide_mean",
          "energy_per_sense")


def test_sense_writes_files_with_fixed_window(tmp_path, capsys):
    out = tmp_path / "s"
    rc = main(["sense", "--vdd", "1.2", "0.8", "--t-sense", "1e-9", "--samples", "32", "--out", str(out),
               "--no-progress"])
    assert rc == 0
    doc = json.loads((out / "sense.json").read_text())
    assert len(doc["records"]) == 6 and doc["windows"] == []
    for rec in doc["records"]:
        assert all(k in rec for k in FIELDS)
        assert rec["t_sense"] == 1e-9
        assert abs(rec["p_plus"] + rec["p_zero"] + rec["p_minus"] - 1) < 1e-12
    rows = list(csv.DictReader((out / "sense.csv").open()))
    assert len(rows) == 6 and set(FIELDS) <= set(rows[0])
    assert json.loads((out / "config.json").read_text())["vdds"] == [1.2, 0.8]
    for png in ("waveforms.png", "probabilities_vs_vdd.png", "energy_time_vs_vdd.png"):
        assert (out / png).stat().st_size > 1000
    text = capsys.readouterr().out
    assert "LRS/HRS" in text and "HRS/HRS" in text


def test_sense_auto_window_is_reported(tmp_path, capsys):
    out = tmp_path / "a"
    rc = main(["sense", "--vdd", "0.9", "--samples", "24", "--scan-samples", "24", "--out", str(out),
               "--no-figures", "--no-progress"])
    assert rc == 0
    doc = json.loads((out / "sense.json").read_text())
    w = doc["windows"][0]
    assert w["vdd"] == 0.9 and w["t_sense"] > 0
    assert all(r["t_sense"] == w["t_sense"] and r["window_auto"] for r in doc["records"])
    assert "chose t_sense=" in capsys.readouterr().out


@pytest.mark.parametrize("argv, needle", [
    (["--vdd", "2.5"], "vdd=2.5"),
    (["--vdd", "0"], "vdd=0.0"),
    (["--vdd", "1.2", "0.9", "-0.1"], "vdd=-0.1"),
    (["--vdd", "1.2", "--t-sense", "0"], "t_sense=0.0"),
    (["--vdd", "1.2", "--samples", "0"], "samples=0"),
    (["--vdd", "1.2", "--temperature-c", "-120"], "temperature"),
])
def test_sense_bad_input_exits_2_one_line_nothing_written(tmp_path, capsys, argv, needle):
    out = tmp_path / "bad"
    rc = main(["sense", *argv, "--out", str(out), "--no-progress"])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_demo_runs_the_chip_chain_and_writes_its_report(tmp_path, capsys):
    rc = main(["demo", "--out", str(tmp_path / "d"), "--no-progress"])
    assert rc == 0
    doc = json.loads((tmp_path / "d" / "summary.json").read_text())
    from ternary_rram.experiments.demo import DEMO_VDDS

    nominal, low = DEMO_VDDS  # the default transistors' 1.8 V nominal and 1.0 V low-VDD point
    nets = {(r["network"], r["vdd"], r["window"]) for r in doc["rows"]}
    assert nets == {("binary", nominal, "centre"), ("ternary", nominal, "centre"), ("binary", low, "centre"),
                    ("ternary", low, "centre"), ("ternary", nominal, f"clock of {low:g} V")}
    assert (tmp_path / "d" / "table.txt").read_text().strip() in capsys.readouterr().out


def _sense_p_plus_lh(out) -> float:
    doc = json.loads((out / "sense.json").read_text())
    return next(r["p_plus"] for r in doc["records"] if r["state"] == "LRS/HRS")


def test_sense_params_file_changes_the_devices_it_reads(tmp_path):
    # An HRS calibrated down to just above the LRS (5 kohm; an HRS median at or below it is refused)
    # leaves almost no resistance ratio: (LRS, HRS) no longer reads +1.
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"schema": "ternary-rram.params/1",
                                  "device": {"HRS": {"median": 5.5e3, "sigma": 0.15}}}))
    argv = ["sense", "--vdd", "1.2", "--t-sense", "1e-9", "--samples", "64", "--no-figures", "--no-progress"]
    assert main([*argv, "--out", str(tmp_path / "default")]) == 0
    assert main([*argv, "--params", str(params), "--out", str(tmp_path / "calibrated")]) == 0
    assert _sense_p_plus_lh(tmp_path / "default") == 1.0
    assert _sense_p_plus_lh(tmp_path / "calibrated") < 0.9


def test_sense_bad_params_file_exits_2_one_line(tmp_path, capsys):
    params = tmp_path / "params.json"
    params.write_text("{not json")
    out = tmp_path / "s"
    rc = main(["sense", "--vdd", "1.2", "--t-sense", "1e-9", "--samples", "8", "--params", str(params),
               "--out", str(out), "--no-progress"])
    assert rc == 2
    err = capsys.readouterr().err.strip()
    assert "params" in err and len(err.splitlines()) == 1
    assert not (out / "sense.json").exists()
