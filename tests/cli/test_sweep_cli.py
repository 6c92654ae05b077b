"""`ternary-rram sweep`: one-line errors (exit 2) before anything runs, dry run, describe, a real run."""

from __future__ import annotations

from pathlib import Path

import pytest

import tests.experiments._sweep_fixtures  # noqa: F401  (registers the test experiments)
from ternary_rram.cli.main import main
from ternary_rram.experiments.sweep import load_results

EXAMPLE = str(Path(__file__).resolve().parents[2] / "examples" / "sweep_sense.toml")


def _spec(tmp_path, text: str):
    f = tmp_path / "spec.toml"
    f.write_text(text)
    return str(f)


@pytest.mark.parametrize("body, words", [
    ('experiment = "sense"\n[grid]\nvddd = [1.0, 1.2]\n', "vddd is not allowed"),
    ('experiment = "sense"\n[grid]\nvdd = [1.0, 3.5]\n', "vdd=3.5 is not allowed: must be a number in (0, 2] V"),
    ('experiment = "sense"\n[grid]\nvdd = []\n', "grid.vdd=[] is not allowed"),
    ('experiment = "sense"\n[fixed]\nstates = "quinary"\n', "states='quinary' is not allowed"),
    ('experiment = "sensing"\n', "experiment='sensing' is not allowed"),
    ('experiment = "sense"\n[grid\n', "not valid TOML"),
])
def test_bad_spec_one_line_exit_2_before_running(tmp_path, capsys, body, words):
    out = tmp_path / "out"
    rc = main(["sweep", _spec(tmp_path, body), "--out", str(out), "--workers", "1"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("ternary-rram sweep: error: ") and err.count("\n") == 1 and words in err
    assert not out.exists()  # nothing ran, nothing was written


def test_bad_options_exit_2(tmp_path, capsys):
    spec = _spec(tmp_path, 'experiment = "sense"\n[grid]\nvdd = [1.0]\n')
    assert main(["sweep", spec, "--out", str(tmp_path / "o"), "--workers", "0"]) == 2
    assert main(["sweep", spec, "--out", str(tmp_path / "o"), "--scheduler", "not an address"]) == 2
    assert main(["sweep", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "o")]) == 2
    assert main(["sweep", spec]) == 2  # no --out
    assert capsys.readouterr().err.count("error:") == 4
    assert not (tmp_path / "o").exists()


def test_dry_run_and_describe(capsys):
    assert main(["sweep", EXAMPLE, "--dry-run"]) == 0
    assert "sense: 36 points, varying vdd, t_sense" in capsys.readouterr().out
    assert main(["sweep", "--describe", "sense"]) == 0
    text = capsys.readouterr().out
    assert "hrs_sigma" in text and "energy_per_sense" in text
    assert main(["sweep", "--describe"]) == 0
    assert "sense" in capsys.readouterr().out


def test_real_run_records_failure_and_exits_1(tmp_path, capsys):
    spec = _spec(tmp_path, 'experiment = "test-poly"\nretries = 0\n[fixed]\nfail_at = 2\n[grid]\nx = [1, 2, 3]\n'
                           'y = [0.5, 1.0]\n[summary]\nx = "x"\ny = "y"\nmetric = "accuracy"\n')
    out = tmp_path / "out"
    rc = main(["sweep", spec, "--out", str(out), "--workers", "1", "--no-progress"])
    cap = capsys.readouterr()
    assert rc == 1
    assert "6 points: 4 ran ok, 0 already finished, 2 failed" in cap.out
    assert "ValueError: deliberate failure at x=2" in cap.err
    df = load_results(out)
    assert len(df) == 6 and (df["status"] == "failed").sum() == 2
    assert (out / "summary" / "heatmap_accuracy__y_vs_x.png").exists() and (out / "spec.toml").exists()
