"""`ternary-rram train` and `evaluate` through the CLI entry point."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from ternary_rram.cli.main import main


def _error_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if "error" in line]


def test_train_then_evaluate(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    args = ["train", "--data", "synthetic", "--model", "mlp", "--width", "16", "--weights", "binary",
            "--cycles", "1", "--batch-size", "64", "--out", str(out), "--no-progress", "--device", "cpu"]
    assert main(args + ["--epochs", "1"]) == 0
    for name in ("checkpoint.pt", "metrics.csv", "metrics.json", "learning_curve.png"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["model_config"]["weights"] == "binary" and len(metrics["history"]) == 1
    assert metrics["precision"] in ("fp32", "bf16") and metrics["history"][0]["precision"] == metrics["precision"]
    assert "test acc" in capsys.readouterr().out
    # Resume to epoch 2 with the same recipe.
    assert main(args + ["--epochs", "2", "--resume"]) == 0
    assert len(json.loads((out / "metrics.json").read_text())["history"]) == 2
    report = tmp_path / "eval.json"
    assert main(["evaluate", str(out), "--ber", "0.1", "--repeats", "2", "--json", str(report),
                 "--device", "cpu"]) == 0
    result = json.loads(report.read_text())
    assert result["error_model"] == "sign-flip" and len(result["accuracies"]) == 2
    assert "mean" in capsys.readouterr().out


@pytest.mark.parametrize("extra", [["--model", "resnet"], ["--weights", "quaternary"],
                                   ["--device", "tpu"], ["--cycles", "a,b"]])
def test_bad_option_value_one_line_exit_2(tmp_path: Path, capsys, extra: list[str]) -> None:
    code = main(["train", "--data", "synthetic", "--out", str(tmp_path / "x"), *extra])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and extra[1] in err[0]
    assert not (tmp_path / "x").exists()


def test_truncated_data_file_exit_2(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "mnist"
    folder.mkdir()
    for split in ("train", "t10k"):
        img = struct.pack(">4I", 2051, 4, 28, 28) + np.zeros(4 * 784, np.uint8).tobytes()
        lab = struct.pack(">2I", 2049, 4) + np.zeros(4, np.uint8).tobytes()
        (folder / f"{split}-images-idx3-ubyte.gz").write_bytes(gzip.compress(img))
        (folder / f"{split}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(lab))
    bad = folder / "train-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:40])
    code = main(["train", "--data", "mnist", "--data-dir", str(folder), "--model", "mlp",
                 "--out", str(tmp_path / "o"), "--epochs", "1", "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "train-images-idx3-ubyte.gz" in err[0]


def test_evaluate_bad_checkpoint_exit_2(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "c.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["evaluate", str(bad)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_missing_default_cifar_folder_exit_2(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)  # no ../shared/data here
    assert main(["train", "--data", "cifar10", "--out", "o", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--data-dir" in err[0]


def test_train_precision_is_recorded_and_checked(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    args = ["train", "--data", "synthetic", "--model", "convnet", "--width", "4", "--cycles", "1",
            "--epochs", "1", "--out", str(out), "--no-progress", "--device", "cpu"]
    assert main(args + ["--precision", "bf16"]) == 0
    assert "precision bf16" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["precision"] == "bf16" and metrics["train_config"]["precision"] == "bf16"
    assert main(args[:-5] + ["--out", str(tmp_path / "other"), "--no-progress", "--precision", "fp16"]) == 2
    err = _error_lines(capsys)
    assert len(err) == 1 and "--precision 'fp16' is not allowed" in err[0]


def test_train_chip_aware_records_the_read_rates_and_resumes(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    args = ["train", "--data", "synthetic", "--model", "mlp", "--width", "8", "--cycles", "2", "--out", str(out),
            "--no-progress", "--device", "cpu", "--chip", "0.85", "--t-sense", "2.5e-9", "--n-grid", "3",
            "--n-mc", "2"]
    assert main(args + ["--epochs", "1"]) == 0
    assert "chip-aware, VDD 0.85 V" in capsys.readouterr().err
    cfg = json.loads((out / "metrics.json").read_text())["train_config"]
    rates = cfg["read_rates"]  # per amplifier of the 16-member pool, read in 128 x 128 arrays (the default)
    assert len(rates) == 16 and all(abs(sum(r) - 1) < 1e-9 for t in rates for r in t)
    assert cfg["read_layout"] == [128, 128, 1] and "read model columns" in cfg["read_source"]
    assert "VDD 0.85 V" in cfg["read_source"]
    assert main(args + ["--epochs", "2", "--resume"]) == 0  # the cached sense map gives the same rates
    assert main(args + ["--epochs", "2", "--resume", "--read-model", "independent"]) == 2
    err = _error_lines(capsys)
    assert len(err) == 1 and "resume of" in err[0] and "read_layout=None (checkpoint: [128, 128, 1])" in err[0]
    alone = [a if a != str(out) else str(tmp_path / "alone") for a in args]
    assert main(alone + ["--epochs", "1", "--read-model", "independent", "--amplifiers", "4"]) == 0
    cfg = json.loads((tmp_path / "alone" / "metrics.json").read_text())["train_config"]
    assert len(cfg["read_rates"]) == 3 and cfg["read_layout"] is None and "pool 4 x" in cfg["read_source"]
    # A resume without --read-model continues with its run's read model (runs from before the
    # option read every weight independently).
    assert main(alone + ["--epochs", "2", "--resume", "--amplifiers", "4"]) == 0
    cfg = json.loads((tmp_path / "alone" / "metrics.json").read_text())
    assert len(cfg["history"]) == 2 and cfg["train_config"]["read_layout"] is None
    assert main(alone[:-8] + ["--out", str(tmp_path / "g"), "--epochs", "1", "--column-group", "2"]) == 2
    err = _error_lines(capsys)
    assert len(err) == 1 and "--column-group is not allowed without --chip" in err[0]
    assert main(args[:-8] + ["--out", str(tmp_path / "h"), "--chip", "0.85", "--epochs", "1", "--array", "64"]
                + ["--column-group", "65"]) == 2
    err = _error_lines(capsys)
    assert len(err) == 1 and "--column-group=65 is not allowed" in err[0]
    assert main(["train", "--data", "synthetic", "--model", "mlp", "--weights", "float", "--out",
                 str(tmp_path / "f"), "--chip", "0.85"]) == 2
    err = _error_lines(capsys)
    assert len(err) == 1 and "--chip is not allowed with --weights float" in err[0]


def test_train_init_fine_tunes_with_the_network_own_architecture(tmp_path: Path, capsys) -> None:
    first = tmp_path / "first"
    assert main(["train", "--data", "synthetic", "--model", "mlp", "--width", "8", "--weights", "binary",
                 "--epochs", "1", "--out", str(first), "--no-progress", "--device", "cpu"]) == 0
    tuned = tmp_path / "tuned"
    # No model options: they come from the --init network (a default would be a ternary VGG).
    assert main(["train", "--data", "synthetic", "--init", str(first), "--epochs", "1", "--lr", "0.001",
                 "--out", str(tuned), "--no-progress", "--device", "cpu"]) == 0
    metrics = json.loads((tuned / "metrics.json").read_text())
    assert metrics["model_config"] == json.loads((first / "metrics.json").read_text())["model_config"]
    assert metrics["train_config"]["init"] == str(first)
    capsys.readouterr()
    assert main(["train", "--data", "synthetic", "--init", str(first), "--weights", "ternary",
                 "--out", str(tmp_path / "other"), "--no-progress"]) == 2
    err = _error_lines(capsys)
    assert len(err) == 1 and "another architecture" in err[0] and "weights" in err[0]
    # Another data set: the message names it and the sizes that differ, not a model key.
    assert main(["train", "--data", "digits", "--init", str(first), "--out", str(tmp_path / "digits"),
                 "--no-progress"]) == 2
    err = _error_lines(capsys)
    assert len(err) == 1 and "data 'digits' is not allowed" in err[0] and "num_classes 10 (network: 4)" in err[0]
    assert main(["train", "--data", "synthetic", "--init", str(tmp_path / "missing.packed"),
                 "--out", str(tmp_path / "third"), "--no-progress"]) == 2
    err = _error_lines(capsys)
    assert len(err) == 1 and "missing.packed" in err[0]
