"""``ternary-rram deploy``: happy path on a tiny digits checkpoint, one-line errors with exit 2."""

from __future__ import annotations

import json

import pytest
import torch

from ternary_rram.cli.main import main
from ternary_rram.nn.checkpoint import save_checkpoint
from ternary_rram.nn.models import build_model


def _checkpoint(tmp_path, weights="ternary"):
    torch.manual_seed(0)
    model = build_model("mlp", width=16, weights=weights, activations="binary", in_channels=1, image_size=8)
    for m in model.modules():  # latent weights large enough that most are non-zero
        if hasattr(m, "weight_quantizer"):
            m.weight.data.normal_(0.0, 0.1)
    return save_checkpoint(tmp_path / "ckpt.pt", model_config=model.config, model_state=model.state_dict(),
                           epoch=0, data={"name": "digits"})


def test_deploy_writes_json_and_figures(tmp_path, capsys):
    ckpt = _checkpoint(tmp_path)
    out = tmp_path / "out"
    rc = main(["deploy", str(ckpt), "--vdd", "1.0", "--t-sense", "1.3e-9", "--array", "8x8",
               "--limit-test", "60", "--n-grid", "3", "--n-mc", "2", "--reads", "every-inference",
               "--out", str(out)])
    assert rc == 0
    rec = json.loads((out / "deploy.json").read_text())
    for key in ("accuracy_ideal", "accuracy_chip", "errors_per_layer", "energy", "operating_point", "config",
                "window"):
        assert key in rec
    assert rec["operating_point"]["vdd"] == 1.0 and rec["operating_point"]["t_sense"] == 1.3e-9
    assert rec["array"]["rows"] == 8 and rec["reads"] == "every-inference"
    assert set(rec["errors_per_layer"]["1"]) >= {"to_zero", "from_zero", "sign_flip"}
    parts = rec["energy"]["parts"]
    assert parts["sense"] > 0 and rec["energy"]["energy_per_inference"] > 0
    assert (out / "errors_per_layer.png").is_file() and (out / "energy_breakdown.png").is_file()
    assert "accuracy ideal" in capsys.readouterr().out


def test_deploy_on_several_chips_reports_yield(tmp_path, capsys):
    ckpt = _checkpoint(tmp_path)
    out = tmp_path / "out"
    rc = main(["deploy", str(ckpt), "--vdd", "1.0", "--t-sense", "1.3e-9", "--array", "8x8", "--chips", "3",
               "--target-accuracy", "0.5", "--limit-test", "40", "--n-grid", "3", "--n-mc", "2",
               "--amplifiers", "2", "--t-relax", "3600", "--out", str(out)])
    assert rc == 0
    rec = json.loads((out / "deploy.json").read_text())
    c = rec["chips"]
    assert c["chips"] == 3 and [k["chip_seed"] for k in c["per_chip"]] == [0, 1, 2]
    assert rec["t_relax"] == 3600.0
    acc = [k["accuracy_chip"] for k in c["per_chip"]]
    assert c["accuracy_mean"] == pytest.approx(sum(acc) / 3)
    assert c["yield"] == pytest.approx(sum(a >= 0.5 for a in acc) / 3)
    assert rec["energy"]["leaves_out"] and rec["energy"]["periphery_defaults"]
    assert (out / "chips.png").is_file()
    text = capsys.readouterr().out
    assert "chip 2: accuracy" in text and "yield at 50 %" in text and "leaves out" in text


@pytest.mark.parametrize("args, match", [
    (["--array", "0x128"], "array="),
    (["--array", "12xq"], "array="),
    (["--vdd", "1.95"], "vdd="),  # above the 1.8 V nominal + 0.1 V of the default transistors
    (["--vdd", "0.1"], "vdd="),
    (["--t-sense", "1e-11", "--vdd", "0.6"], "reads nothing"),
    (["--chips", "0"], "chips=0"),
    (["--chips", "-2"], "chips=-2"),
    (["--chips", "100000000"], "chips=100000000"),
    (["--target-accuracy", "1.5"], "target-accuracy=1.5"),
    (["--target-accuracy", "-0.1"], "target-accuracy=-0.1"),
    (["--target-accuracy", "nan"], "target-accuracy=nan"),
    (["--noise-scale", "-1"], "noise-scale=-1"),
    (["--noise-scale", "nan"], "noise-scale=nan"),
    (["--t-relax", "-1"], "t-relax=-1"),
])
def test_bad_input_exits_2(tmp_path, capsys, args, match):
    ckpt = _checkpoint(tmp_path)
    out = tmp_path / "o"
    rc = main(["deploy", str(ckpt), "--out", str(out), "--limit-test", "10", *args])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0]
    assert not out.exists()  # nothing written


def test_checkpoint_without_quantized_layer(tmp_path, capsys):
    ckpt = _checkpoint(tmp_path, weights="float")
    rc = main(["deploy", str(ckpt), "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "no quantized layer" in capsys.readouterr().err


def test_missing_checkpoint(tmp_path, capsys):
    rc = main(["deploy", str(tmp_path / "nope.pt"), "--out", str(tmp_path / "o")])
    assert rc == 2
