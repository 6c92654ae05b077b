"""The notebook-style example in examples/ runs (as CI runs it) and prints accuracy and energy."""

from __future__ import annotations

import runpy
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "notebook_api.py"


def test_notebook_example_runs_and_reports_two_vdds(capsys):
    ns = runpy.run_path(str(EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    res = ns["results"]
    assert sorted(res) == [0.85, 1.8]
    assert res[1.8].accuracy > 0.6  # trained: far above the 10 % of chance
    assert res[0.85].energy_per_inference < res[1.8].energy_per_inference  # lower supply, less energy
    assert res[0.85].errors.total > res[1.8].errors.total
    assert "energy/inference (nJ)" in out and "VDD 0.85 V" in out and "VDD 1.8 V" in out


def test_chip_aware_training_example_runs(monkeypatch, capsys):
    example = EXAMPLE.parent / "chip_aware_training.py"
    monkeypatch.setattr("sys.argv", [str(example), "--epochs", "1", "--seeds", "0", "--draws", "1"])
    runpy.run_path(str(example), run_name="__main__")
    out = capsys.readouterr().out
    assert "P(read != programmed) for -1/0/+1:" in out and "mean over 1 seeds: plain" in out
