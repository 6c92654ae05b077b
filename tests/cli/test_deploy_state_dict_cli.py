"""``ternary-rram deploy STATE.pt --model vgg --width F``: plain PyTorch weights, key maps, one-line errors."""

from __future__ import annotations

import json

import pytest
import torch

from ternary_rram.cli.main import main
from ternary_rram.nn.layers import quantized_layers
from ternary_rram.nn.models import vgg

FAST = ["--vdd", "0.85", "--t-sense", "2.5e-9", "--array", "16x16", "--limit-test", "30", "--n-grid", "3",
        "--n-mc", "2", "--amplifiers", "2", "--data", "digits", "--quiet"]


def _save(tmp_path, prefix=""):
    """A float state_dict of the seed VGG layout at width 2 for 8x8 digits, keys prefixed."""
    torch.manual_seed(0)
    m = vgg(2, in_channels=1, image_size=8)
    for _, layer in quantized_layers(m):
        layer.weight.data.normal_(0.0, 0.1)
    state = {prefix + k: v for k, v in m.state_dict().items()}
    torch.save(state, tmp_path / "w.pt")
    return tmp_path / "w.pt", m


def test_deploys_a_state_dict_through_a_key_map(tmp_path, capsys):
    path, m = _save(tmp_path, prefix="net.features.")
    (tmp_path / "map.json").write_text(json.dumps([["^net\\.features\\.", ""]]))
    out = tmp_path / "out"
    rc = main(["deploy", str(path), "--model", "vgg", "--width", "2", "--threshold", "0.05", "--key-map",
               str(tmp_path / "map.json"), "--out", str(out), *FAST])
    assert rc == 0, capsys.readouterr().err
    rec = json.loads((out / "deploy.json").read_text())
    assert rec["config"]["state_dict"] == {"model": "vgg", "width": 2, "threshold": 0.05,
                                           "key_map": str(tmp_path / "map.json")}
    assert rec["model_config"]["width"] == 2 and rec["model_config"]["in_channels"] == 1
    assert rec["n_weights"] == sum(layer.weight.numel() for _, layer in quantized_layers(m))
    assert 0.0 <= rec["accuracy_chip"] <= 1.0 and rec["energy"]["energy_per_inference"] > 0


@pytest.mark.parametrize("change, extra, match", [
    (lambda s: s.pop("3.weight"), ["--threshold", "0.05"], "missing keys the model needs: 3.weight"),
    (lambda s: s.update({"fc.bias": torch.zeros(10)}), ["--threshold", "0.05"],
     "keys the model does not have: fc.bias"),
    (lambda s: None, ["--threshold", "0.05", "--width", "3"], "shape (2, 1, 3, 3) is not allowed: the model holds "
                                                              "(3, 1, 3, 3)"),
    (lambda s: None, [], "holds float weights, not allowed for ternary weights without a threshold"),
])
def test_bad_state_dicts_exit_2_in_one_line_and_write_nothing(tmp_path, capsys, change, extra, match):
    path, _ = _save(tmp_path)
    state = torch.load(path, weights_only=True)
    change(state)
    torch.save(state, path)
    width = [] if "--width" in extra else ["--width", "2"]
    out = tmp_path / "o"
    rc = main(["deploy", str(path), "--model", "vgg", *width, *extra, "--out", str(out), *FAST])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0], err
    assert not out.exists()


def test_state_dict_options_need_model_and_data(tmp_path, capsys):
    path, _ = _save(tmp_path)
    out = tmp_path / "o"
    assert main(["deploy", str(path), "--threshold", "0.05", "--out", str(out)]) == 2
    assert "--threshold is not allowed without --model" in capsys.readouterr().err
    assert main(["deploy", str(path), "--model", "vgg", "--width", "2", "--out", str(out)]) == 2
    assert "pass --data NAME" in capsys.readouterr().err
    assert not out.exists()
