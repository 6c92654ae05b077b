"""Packed networks: 2-bit weights + batch norms round-trip exactly; wrong files fail in one line."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

from ternary_rram.cli.main import main
from ternary_rram.errors import InputError
from ternary_rram.nn.checkpoint import load_checkpoint
from ternary_rram.nn.layers import quantized_layers
from ternary_rram.nn.models import build_model
from ternary_rram.nn.packed import (
    load_into,
    load_network,
    load_packed,
    pack_codes,
    pretrained,
    save_packed,
    shipped_networks,
    unpack_codes,
)
from ternary_rram.nn.state_dict import load_state_dict_file


def _random_net(weights: str, width: int = 4, seed: int = 0) -> nn.Module:
    """A small VGG with random latent weights and random batch-norm parameters and statistics."""
    g = torch.Generator().manual_seed(seed)
    model = build_model("vgg", width=width, weights=weights, activations="binary", in_channels=3,
                        num_classes=10, image_size=16)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g))
            m.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            m.weight.data.copy_(torch.randn(c, generator=g))
            m.bias.data.copy_(torch.randn(c, generator=g))
            m.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=g)))
    for _, layer in quantized_layers(model):
        layer.weight.data.normal_(0.0, 0.06, generator=g)
    return model.eval()


@pytest.mark.parametrize("n", [1, 3, 4, 5, 1001])
def test_two_bit_codes_round_trip(n):
    w = torch.randint(-1, 2, (n,), generator=torch.Generator().manual_seed(n))
    codes = pack_codes(w)
    assert codes.dtype == torch.uint8 and codes.numel() == -(-n // 4)
    assert torch.equal(unpack_codes(codes, [n]), w.float())
    with pytest.raises(InputError, match=r"\{-1, 0, \+1\}"):
        pack_codes(torch.tensor([0.0, 0.5]))
    with pytest.raises(InputError, match="invalid code 3"):
        unpack_codes(torch.tensor([255], dtype=torch.uint8), [4])


@pytest.mark.parametrize("weights", ["ternary", "binary"])
def test_packed_network_round_trips_exactly(tmp_path, weights):
    model = _random_net(weights)
    path = save_packed(tmp_path / "net.packed", model, metadata={"test_accuracy": 0.5, "command": "x"})
    loaded = pretrained(path)
    assert loaded.metadata == {"test_accuracy": 0.5, "command": "x"}
    n_weights = sum(l.weight.numel() for _, l in quantized_layers(model))
    # 2 bits a weight, plus batch norms and the container's fixed cost (about 30 kB here)
    assert path.stat().st_size < n_weights / 4 + 32_000
    for (name, a), (_, b) in zip(quantized_layers(model), quantized_layers(loaded)):
        assert torch.equal(a.quantized_weight_int8(), b.quantized_weight_int8()), name
    own, back = model.state_dict(), loaded.state_dict()
    assert set(own) == set(back)
    weight_keys = {f"{n}.weight" for n, _ in quantized_layers(model)}
    for key in set(own) - weight_keys:  # every batch-norm parameter and statistic, bit for bit
        assert torch.equal(own[key], back[key]), key
    x = torch.randn(16, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))


def test_wrong_architecture_and_unknown_names_fail_in_one_line(tmp_path, capsys):
    path = save_packed(tmp_path / "net.packed", _random_net("ternary", width=4))
    with pytest.raises(InputError, match="another architecture: width=4 \\(expected 8\\)"):
        load_into(_random_net("ternary", width=8), path)
    # A file whose configuration does not fit its tensors (edited or corrupted).
    obj = torch.load(path, weights_only=True)
    cfg = json.loads(obj["model_config"])
    obj["model_config"] = json.dumps({**cfg, "width": 8})
    bad = tmp_path / "bad.packed"
    torch.save(obj, bad)
    assert main(["evaluate", str(bad), "--data", "synthetic", "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "holds another architecture" in err[0]
    assert "UNKNOWN" not in shipped_networks()
    assert main(["evaluate", "pretrained:UNKNOWN", "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pretrained network 'UNKNOWN' does not exist: shipped networks:" in err[0]
    torch.save({"format": "something else"}, tmp_path / "other.packed")
    with pytest.raises(InputError, match="is not a ternary-rram packed network"):
        load_packed(tmp_path / "other.packed")
    (tmp_path / "junk.packed").write_bytes(b"PK junk")
    with pytest.raises(InputError, match="cannot be read safely"):
        load_packed(tmp_path / "junk.packed")
    with pytest.raises(InputError, match="does not exist"):
        load_network(tmp_path / "missing.packed")
    assert main(["deploy", "pretrained:UNKNOWN", "--vdd", "1.0", "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pretrained network 'UNKNOWN' does not exist" in err[0]


def test_train_writes_a_packed_network_that_evaluates_like_the_checkpoint(tmp_path: Path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", "synthetic", "--model", "convnet", "--width", "4", "--cycles", "2",
                 "--epochs", "2", "--out", str(out), "--no-progress", "--device", "cpu",
                 "--precision", "bf16"]) == 0
    meta = load_packed(out / "model.packed")["metadata"]
    assert meta["data"]["name"] == "synthetic" and meta["epoch"] == 2 and "command" in meta
    results = []
    for spec in (str(out), str(out / "model.packed")):
        report = tmp_path / "eval.json"
        assert main(["evaluate", spec, "--device", "cpu", "--json", str(report)]) == 0
        results.append(json.loads(report.read_text())["accuracy"])
    assert results[0] == results[1] == meta["test_accuracy"]


def test_pack_command_packs_a_checkpoint(tmp_path: Path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--data", "synthetic", "--model", "mlp", "--width", "8", "--cycles", "1",
                 "--epochs", "1", "--out", str(out), "--no-progress", "--device", "cpu"]) == 0
    assert main(["pack", str(out), "--out", str(tmp_path / "again.packed")]) == 0
    a, b = load_packed(out / "model.packed"), load_packed(tmp_path / "again.packed")
    assert set(a["model_state"]) == set(b["model_state"])
    assert all(torch.equal(a["model_state"][k], b["model_state"][k]) for k in a["model_state"])
    assert b["metadata"]["epoch"] == 1 and "not recorded" in b["metadata"]["command"]
    capsys.readouterr()
    assert main(["pack", str(out), "--out", str(tmp_path / "x.pt")]) == 2
    assert "must end in .packed" in capsys.readouterr().err


@pytest.mark.parametrize("loader", [load_packed, load_state_dict_file, load_checkpoint])
def test_a_file_torch_fails_on_with_an_index_error_is_one_line(tmp_path, loader):
    # b"(." makes torch's weights-only unpickler raise IndexError (pop from an empty stack).
    (tmp_path / "f.pt").write_bytes(b"(.")
    with pytest.raises(InputError) as err:
        loader(tmp_path / "f.pt")
    assert "\n" not in str(err.value)


def test_shipped_networks_load_and_say_how_they_were_trained():
    from ternary_rram.nn.packed import pretrained

    names = shipped_networks()
    assert {"cifar10-vgg32-ternary", "cifar10-vgg32-binary"} <= set(names)
    for name in names:
        net = pretrained(name)
        meta = net.metadata
        assert meta["command"].startswith("ternary-rram train ") and "--epochs 100" in meta["command"]
        assert 0.5 < meta["test_accuracy"] < 1.0 and meta["data"]["n_train"] == 50_000
        assert "/work" not in json.dumps(meta)  # no path of the machine it was trained on
        codes = {float(v) for _, layer in quantized_layers(net) for v in layer.quantized_weight().detach().unique()}
        assert codes <= ({-1.0, 1.0} if net.config["weights"] == "binary" else {-1.0, 0.0, 1.0})
        assert f"--weights {net.config['weights']}" in meta["command"]


@pytest.mark.parametrize("name", ["cifar10-vgg32-ternary", "cifar10-vgg32-binary"])
def test_shipped_vgg_reaches_its_stated_accuracy_on_cifar10_if_present(name):
    from ternary_rram.nn.data import load_cifar10
    from ternary_rram.nn.packed import pretrained

    folder = Path(__file__).resolve().parents[3] / "shared" / "data" / "cifar-10-batches-py"
    if not folder.is_dir():
        pytest.skip("shared CIFAR-10 copy not present")
    with warnings.catch_warnings():  # the shared copy is not the official archive (warned once per folder)
        warnings.simplefilter("ignore", UserWarning)
        data = load_cifar10(folder, limit=1000)
    net = pretrained(name)
    x, y = data.batch("test", torch.arange(1000))
    with torch.no_grad():
        acc = float((net(x).argmax(1) == y).float().mean())
    # 80.85 % (ternary) and 80.09 % (binary) on all 10,000 (docs/results.md); 1000 images give about +-1.3
    # points of sampling spread
    assert abs(acc - net.metadata["test_accuracy"]) < 0.04, acc
