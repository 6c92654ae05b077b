"""Checkpoints: atomic write, weights_only load, refusal of foreign or damaged files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ternary_rram.errors import InputError
from ternary_rram.nn.checkpoint import check_same_architecture, load_checkpoint, model_from_checkpoint, save_checkpoint
from ternary_rram.nn.models import build_model

CONFIG = {"name": "mlp", "width": 8, "weights": "ternary", "activations": "binary", "in_channels": 1,
          "num_classes": 3, "image_size": 4}



class _Custom:
    pass


def _save(path: Path, **kw) -> torch.nn.Module:
    model = build_model(**CONFIG)
    save_checkpoint(path, model_config=model.config, model_state=model.state_dict(), epoch=2,
                    rng={"order": torch.Generator().manual_seed(1).get_state()}, **kw)
    return model


def test_roundtrip_and_no_temp_files(tmp_path: Path) -> None:
    model = _save(tmp_path / "checkpoint.pt", history=[{"epoch": 1, "test_acc": 0.5}])
    ckpt = load_checkpoint(tmp_path)  # a run folder resolves to its checkpoint.pt
    assert ckpt["epoch"] == 2 and ckpt["history"][0]["test_acc"] == 0.5
    assert ckpt["model_config"] == model.config
    rebuilt = model_from_checkpoint(ckpt)
    for k, v in model.state_dict().items():
        assert torch.equal(rebuilt.state_dict()[k], v)
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_arbitrary_objects_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"format": "ternary-rram-checkpoint", "x": _Custom()}, path)
    with pytest.raises(InputError, match="evil.pt.*safely"):
        load_checkpoint(path)


def test_damaged_or_foreign_files(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    _save(path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(InputError, match="c.pt") as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(InputError, match="not a ternary-rram checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    with pytest.raises(InputError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


def test_architecture_mismatch(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="another architecture: width=16"):
        check_same_architecture(CONFIG, {**CONFIG, "width": 16}, "x.pt")
    path = tmp_path / "c.pt"
    _save(path)
    ckpt = load_checkpoint(path)
    ckpt["model_config"] = {**CONFIG, "width": 16}  # config and weights disagree
    with pytest.raises(InputError, match="another architecture"):
        model_from_checkpoint(ckpt)
