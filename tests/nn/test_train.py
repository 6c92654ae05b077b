"""Training: recipe schedule, exact resume, metric files, evaluation under errors."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch

from ternary_rram.errors import InputError
from ternary_rram.nn.checkpoint import load_checkpoint
from ternary_rram.nn.data import make_synthetic
from ternary_rram.nn.packed import load_packed, save_packed
from ternary_rram.nn.train import (
    PACKED_INIT_SCALE,
    TrainConfig,
    cycle_note,
    cycle_of,
    evaluate,
    init_model,
    learning_rate,
    start_from,
    train,
    weight_decay,
)

MODEL = {"name": "convnet", "width": 4, "weights": "ternary", "activations": "binary", "in_channels": 1,
         "num_classes": 4, "image_size": 8}




# Two one-epoch cycles: the second epoch is a warm restart. Augmentation and per-forward errors
# on, so every random stream matters for the resume test.
TINY = TrainConfig(epochs=2, batch_size=64, cycles=(1,), augment="flip-crop", crop_padding=1,
                   error_model="ternary", ber=0.02, eval_batch_size=128)


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_train=192, n_test=64)


def test_recipe_defaults_and_schedule() -> None:
    c = TrainConfig()
    assert (c.lr, c.batch_size, c.cycles, c.decay, c.epochs) == (0.01, 128, (100, 200, 400), 2.0, 700)
    assert cycle_of(0, c.cycles) == (0, 0, 100) and cycle_of(100, c.cycles) == (1, 100, 200)
    assert cycle_of(300, c.cycles) == (2, 300, 400) and cycle_of(700, c.cycles) == (3, 700, 400)
    assert learning_rate(0, c) == 0.01 and learning_rate(100, c) == 0.01
    assert learning_rate(50, c) == pytest.approx(0.005)
    assert learning_rate(299.999, c) < 1e-7
    assert weight_decay(100, 50_000, c) == pytest.approx(2.0 * math.sqrt(128 / (50_000 * 100)))
    assert cycle_note(c) is None and "--cycles 50" in cycle_note(TrainConfig(epochs=50))
    assert TrainConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c


@pytest.mark.parametrize("bad", [{"epochs": 0}, {"cycles": ()}, {"lr": -1.0}, {"augment": "rot"},
                                 {"error_model": "gauss"}, {"ber": 1.5}])
def test_config_validation(bad) -> None:
    with pytest.raises(InputError):
        TrainConfig(**bad)


def test_resume_is_exact(tmp_path: Path, data) -> None:
    full = train(init_model(MODEL, 0), data, TINY, tmp_path / "full", progress=False)
    train(init_model(MODEL, 0), data, dataclasses.replace(TINY, epochs=1), tmp_path / "split", progress=False)
    # A different init proves the weights come from the checkpoint.
    resumed = train(init_model(MODEL, 7), data, TINY, tmp_path / "split", progress=False, resume=True)
    a = load_checkpoint(tmp_path / "full")
    b = load_checkpoint(tmp_path / "split")
    assert a["model_state"].keys() == b["model_state"].keys()
    for k in a["model_state"]:
        assert torch.equal(a["model_state"][k], b["model_state"][k]), k
    strip = [[{k: v for k, v in h.items() if k not in ("time_s", "train_time_s")} for h in run.history] for run in (full, resumed)]
    assert strip[0] == strip[1] and resumed.epochs_run == 1
    # The restart at epoch 2 cleared Adam's moments: step count = batches of one epoch.
    steps = {float(s["step"]) for s in a["optimizer_state"]["state"].values()}
    assert steps == {3.0}
    for name in ("metrics.csv", "metrics.json", "learning_curve.png"):
        assert (tmp_path / "split" / name).stat().st_size > 0
    rows = (tmp_path / "split" / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,") and len(rows) == 3


def test_resume_refuses_other_architecture_or_recipe(tmp_path: Path, data) -> None:
    cfg = dataclasses.replace(TINY, epochs=1, error_model=None, ber=0.0)
    train(init_model(MODEL, 0), data, cfg, tmp_path, progress=False)
    with pytest.raises(InputError, match="another architecture: width"):
        train(init_model({**MODEL, "width": 8}, 0), data, cfg, tmp_path, progress=False, resume=True)
    with pytest.raises(InputError, match="another recipe: lr"):
        train(init_model(MODEL, 0), data, dataclasses.replace(cfg, lr=0.1), tmp_path, progress=False,
              resume=True)
    with pytest.raises(InputError, match="exists"):
        train(init_model(MODEL, 0), data, cfg, tmp_path, progress=False)


def test_evaluate_under_errors(tmp_path: Path, data) -> None:
    cfg = dataclasses.replace(TINY, epochs=1, error_model=None, ber=0.0)
    train(init_model(MODEL, 0), data, cfg, tmp_path, progress=False)
    clean = evaluate(tmp_path, data, ber=0.0, repeats=3)
    assert clean.mean == clean.accuracy and clean.std == 0.0 and len(clean.accuracies) == 3
    noisy = evaluate(tmp_path, data, ber=0.3, error_model="ternary", repeats=3, error_mode="fixed", seed=1)
    again = evaluate(tmp_path, data, ber=0.3, error_model="ternary", repeats=3, error_mode="fixed", seed=1)
    assert noisy.accuracies == again.accuracies and noisy.accuracy == clean.accuracy
    assert noisy.std > 0 and 0 <= noisy.mean <= 1
    other = make_synthetic(n_train=8, n_test=8, image_size=12)
    with pytest.raises(InputError, match="does not fit the network"):
        evaluate(tmp_path, other)


def test_init_starts_from_the_checkpoint_weights_and_a_resume_keeps_it(tmp_path: Path, data) -> None:
    cfg = dataclasses.replace(TINY, epochs=1, error_model=None, ber=0.0)
    train(init_model(MODEL, 0), data, cfg, tmp_path / "first", progress=False)
    source = load_checkpoint(tmp_path / "first")["model_state"]
    # A learning rate of 1e-9 leaves the weights where they started: the init's, not seed 5's.
    tiny_lr = dataclasses.replace(cfg, lr=1e-9, epochs=2, cycles=(2,), init=str(tmp_path / "first"))
    model = init_model(MODEL, 5)
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    train(model, data, dataclasses.replace(tiny_lr, epochs=1), tmp_path / "tuned", progress=False)
    state = model.state_dict()
    weights = [k for k in state if k.endswith("weight")]
    for k in weights:
        assert torch.allclose(state[k], source[k], atol=1e-6), k
        assert not torch.allclose(fresh[k], source[k], atol=1e-3), k
    # The resume need not repeat init; the checkpoint records it.
    train(init_model(MODEL, 5), data, dataclasses.replace(tiny_lr, init=None), tmp_path / "tuned",
          progress=False, resume=True)
    assert load_checkpoint(tmp_path / "tuned")["train_config"]["init"] == str(tmp_path / "first")
    with pytest.raises(InputError, match="another recipe: init"):
        train(init_model(MODEL, 5), data, dataclasses.replace(tiny_lr, init="elsewhere"), tmp_path / "tuned",
              progress=False, resume=True)


def test_init_from_a_packed_file_keeps_the_codes_near_the_threshold(tmp_path: Path, data) -> None:
    cfg = dataclasses.replace(TINY, epochs=1, error_model=None, ber=0.0)
    trained = init_model(MODEL, 0)
    train(trained, data, cfg, tmp_path / "run", progress=False)
    packed = load_packed(save_packed(tmp_path / "net.packed", trained))
    model = init_model(MODEL, 3)
    start_from(model, tmp_path / "net.packed")
    state = model.state_dict()
    assert packed["packed_keys"]
    for k in packed["packed_keys"]:
        codes = packed["model_state"][k]
        assert set(codes.unique().tolist()) <= {-1.0, 0.0, 1.0}
        assert torch.equal(state[k], codes * PACKED_INIT_SCALE), k
    x = (data.x_test[:16].float() / 255 - 0.5) / 0.25
    trained.eval(), model.eval()
    with torch.no_grad():
        assert torch.equal(model(x).argmax(1), trained(x).argmax(1))
    with pytest.raises(InputError, match="another architecture"):
        start_from(init_model({**MODEL, "width": 8}, 0), tmp_path / "net.packed")
