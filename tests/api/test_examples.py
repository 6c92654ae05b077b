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


def test_error_tolerance_plot_reads_a_sweep_folder(tmp_path, capsys):
    import pandas as pd


    rows = [{"error_model": m, "ber": b, "accuracy": a, "accuracy_min": a - 0.01, "accuracy_clean": 0.8}
            for m, accs in (("sign-flip", (0.79, 0.5)), ("ternary", (0.8, 0.7))) for b, a in zip((1e-3, 1e-1), accs)]
    pd.DataFrame(rows).to_parquet(tmp_path / "results.parquet")
    script = EXAMPLE.parent / "plot_error_tolerance.py"
    ns = runpy.run_path(str(script))
    assert ns["main"]([str(tmp_path), "--out", str(tmp_path / "tol.png")]) == 0
    png = (tmp_path / "tol.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert "wrote" in capsys.readouterr().out
    # several labelled sweeps on one figure; a folder without results is one line
    assert ns["main"]([f"ternary net={tmp_path}", f"binary net={tmp_path}", "--out", str(tmp_path / "two.png")]) == 0
    assert (tmp_path / "two.png").stat().st_size > 10_000
    import pytest

    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        ns["main"]([f"x={tmp_path / 'nothing'}", "--out", str(tmp_path / "none.png")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "results.parquet cannot be read" in err and err.count("\n") == 1
    assert not (tmp_path / "none.png").exists()


def test_learning_curves_plot_reads_train_metrics_and_refuses_other_files(tmp_path, capsys):
    import pytest

    from ternary_rram.nn.train import METRIC_FIELDS

    lines = [",".join(METRIC_FIELDS)] + [",".join(str(v) for v in (e, 0, 0.01 / e, 0.02, 1.0, 0.3 + e / 100, 1.1,
                                                                    0.35 + e / 100, 5.0)) for e in range(1, 6)]
    (tmp_path / "metrics.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    ns = runpy.run_path(str(EXAMPLE.parent / "plot_learning_curves.py"))
    assert ns["main"]([f"ternary={tmp_path / 'metrics.csv'}", "--out", str(tmp_path / "c.png")]) == 0
    png = (tmp_path / "c.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    capsys.readouterr()
    for bad, said in (([f"x={tmp_path / 'other.csv'}"], "not a train metrics.csv"),
                      ([str(tmp_path / "metrics.csv")], "LABEL=PATH")):
        with pytest.raises(SystemExit) as stop:  # one line, exit status 2
            ns["main"]([*bad, "--out", str(tmp_path / "d.png")])
        err = capsys.readouterr().err
        assert stop.value.code == 2 and said in err and err.count("\n") == 1
    assert not (tmp_path / "d.png").exists()


def test_read_model_accuracy_example_evaluates_a_run_under_both_read_models(tmp_path, capsys):
    from ternary_rram.nn.data import make_synthetic
    from ternary_rram.nn.train import TrainConfig, init_model, train

    data = make_synthetic(n_train=128, n_test=64)
    model = init_model({"name": "mlp", "width": 16, "weights": "ternary", "activations": "binary",
                        "in_channels": data.in_channels, "num_classes": data.num_classes,
                        "image_size": data.image_size}, 0)
    train(model, data, TrainConfig(epochs=1, cycles=(1,), batch_size=64), tmp_path / "run", progress=False)
    ns = runpy.run_path(str(EXAMPLE.parent / "read_model_accuracy.py"))
    res = ns["main"]([str(tmp_path / "run"), "--data", "synthetic", "--passes", "2", "--n-grid", "5",
                      "--n-mc", "2", "--cache", str(tmp_path / "cache")])
    assert sorted(res) == ["columns", "independent"] and all(len(a) == 2 for a in res.values())
    assert all(0.0 <= a <= 1.0 for accs in res.values() for a in accs)
    out = capsys.readouterr().out
    assert "ideal" in out and "read model columns:" in out and "read model independent:" in out
