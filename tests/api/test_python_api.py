"""The Python face ``import ternary_rram as tr``: any PyTorch model, converted, on a chip."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn

import ternary_rram as tr
from ternary_rram.nn.layers import quantized_layers

#: A small chip: given window (no window search), 2 amplifiers with 3x3-point maps.
SMALL = dict(vdd=0.85, window=2.5e-9, array=(32, 32), amplifiers=2, n_grid=3, n_mc=2)


def test_face_names_load_lazily_without_torch():
    code = ("import sys, ternary_rram as tr; assert 'torch' not in sys.modules, 'eager torch'; "
            "names = [tr.Chip, tr.ChipResult, tr.convert, tr.vgg, tr.train, tr.TrainConfig, tr.load_params, "
            "tr.load_dataset, tr.InputError, tr.pretrained, tr.shipped_networks]; assert 'Chip' in dir(tr); print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
    with pytest.raises(AttributeError):
        tr.no_such_name  # noqa: B018


def plain_vgg(width: int, in_channels: int = 1, classes: int = 10) -> nn.Sequential:
    """The seed VGG layout (8x8 input) written with plain torch layers, as other code would."""
    layers: list[nn.Module] = []
    f = width
    for cin, cout, pool in [(in_channels, f, False), (f, f, True), (f, 2 * f, False), (2 * f, 2 * f, True),
                            (2 * f, 4 * f, False), (4 * f, 4 * f, True)]:
        layers.append(nn.Conv2d(cin, cout, 3, padding=1, bias=False))
        if pool:
            layers.append(nn.MaxPool2d(2))
        layers += [nn.BatchNorm2d(cout), nn.Hardtanh()]
    layers += [nn.Flatten(), nn.Linear(4 * f, 512, bias=False), nn.BatchNorm1d(512), nn.Hardtanh(),
               nn.Linear(512, classes, bias=False), nn.BatchNorm1d(classes)]
    return nn.Sequential(*layers)


@pytest.fixture(scope="module")
def digits():
    return tr.load_dataset("digits")


def test_plain_model_trained_converted_and_deployed_equals_tr_vgg_on_the_same_chip(digits):
    torch.manual_seed(0)
    model = plain_vgg(4)
    x, y = digits.batch("train", torch.arange(digits.n_train))
    opt = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(8):  # a few steps, in plain PyTorch
        idx = torch.randint(0, len(y), (64,))
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    tr.convert(model, weights="ternary", activations="binary", threshold=0.05)
    seed_vgg = tr.vgg(4, in_channels=1, image_size=8)
    seed_vgg.load_state_dict(state)
    chip = tr.Chip(**SMALL, seed=3)
    mine = chip.program(model.eval()).evaluate(digits, batch_size=150)
    ref = chip.program(seed_vgg.eval()).evaluate(digits, batch_size=150)
    assert isinstance(mine, tr.ChipResult) and mine.n_reads == 3
    assert torch.equal(mine.predictions, ref.predictions)
    assert mine.errors == ref.errors and mine.errors.total > 0  # the reads did go wrong somewhere
    assert mine.predictions.unique().numel() >= 3  # not a constant network
    assert mine.energy_per_inference == pytest.approx(ref.energy_per_inference)
    assert set(mine.errors_per_layer) == {n for n, _ in quantized_layers(model)}
    # the converted plain model compiles to the exact integer network: same decisions, same reads
    exact = chip.program(model).evaluate(digits, batch_size=150, engine="integer")
    assert torch.equal(exact.predictions, mine.predictions) and exact.engine == "integer"
    # another chip instance reads the same weights differently
    other = tr.Chip(**SMALL, seed=4).program(seed_vgg).evaluate(digits, batch_size=150)
    assert other.errors != ref.errors


class Residual(nn.Module):
    """A residual toy net: stem, one residual block (two convs), pooled linear head with a bias."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, c, 3, padding=1, bias=False)
        self.bn0 = nn.BatchNorm2d(c)
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.head = nn.Linear(c * 16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.nn.functional.hardtanh(self.bn0(self.stem(x)))
        r = torch.nn.functional.hardtanh(self.bn1(self.conv1(h)))
        h = torch.nn.functional.hardtanh(self.bn2(self.conv2(r)) + h)
        return self.head(torch.nn.functional.max_pool2d(h, 2).flatten(1))


def test_residual_net_deploys_and_evaluates_with_the_chip_read_weights(digits):
    torch.manual_seed(1)
    net = tr.convert(Residual(), weights="ternary", activations="binary", threshold=0.05).eval()
    x, y = digits.batch("test", torch.arange(120))
    chip = tr.Chip(**SMALL, reads="once")
    chip.program(net)
    read = chip.instance.read()  # the first read of a fresh instance: what evaluate will read
    chip.instance.load(read)
    with torch.no_grad():
        expected = net(x).argmax(1)
    chip.instance.load(None)
    res = chip.program(net).evaluate((x, y))
    assert torch.equal(res.predictions, expected)
    assert res.n_reads == 1 and res.errors.total > 0
    assert set(res.errors_per_layer) == {"stem", "conv1", "conv2", "head"}
    assert res.energy_per_inference > 0 and set(res.energy.per_layer) == {"stem", "conv1", "conv2", "head"}
    assert res.energy_parts["first_layer"] > 0  # the stem sees the raw image
    with pytest.raises(tr.InputError, match="not allowed in integer inference"):
        chip.evaluate((x, y), engine="integer")


def test_bad_use_is_one_line():
    with pytest.raises(tr.InputError, match="process='tsmc-n3' is not allowed: must be one of sky130-tt"):
        tr.Chip(process="tsmc-n3")
    with pytest.raises(tr.InputError, match="vdd=2.0"):
        tr.Chip(vdd=2.0)
    with pytest.raises(tr.InputError, match="column_group=40"):
        tr.Chip(array=(16, 32), column_group=40)
    # counts are checked by the one integer rule the CLI uses: bools and fractions refused, bounds named
    with pytest.raises(tr.InputError, match=r"amplifiers=0 is not allowed: must be an integer >= 1"):
        tr.Chip(amplifiers=0)
    with pytest.raises(tr.InputError, match=r"n_grid=2.5 is not allowed"):
        tr.Chip(n_grid=2.5)
    with pytest.raises(tr.InputError, match=r"seed=True is not allowed"):
        tr.Chip(seed=True)
    chip = tr.Chip(**SMALL)
    with pytest.raises(tr.InputError, match="not programmed"):
        chip.evaluate((torch.zeros(2, 1, 8, 8), torch.zeros(2, dtype=torch.int64)))
    with pytest.raises(tr.InputError, match="tr.convert"):
        chip.program(plain_vgg(2))


def test_chip_evaluates_as_the_deploy_command_does(digits):
    """tr.Chip and run_deploy (what `ternary-rram deploy` calls) share window, pool, chip and reads."""
    from ternary_rram.experiments.deploy import run_deploy
    from tests.chip.helpers import small_model

    model = small_model("mlp")
    rec = run_deploy(model, digits, SMALL["vdd"], t_sense=SMALL["window"], array_shape=(32, 32), n_amplifiers=2, n_grid=3, n_mc=2,
                     seed=2, limit_test=100)
    res = tr.Chip(**SMALL, seed=2).program(model).evaluate(digits, limit=100)
    assert res.accuracy == rec["accuracy_chip"] and res.accuracy_ideal == rec["accuracy_ideal"]
    assert res.to_dict()["errors"] == {k: rec["errors_total"][k] for k in ("to_zero", "from_zero", "sign_flip",
                                                                           "n_weights")}
    assert res.energy_per_inference == pytest.approx(rec["energy"]["energy_per_inference"])
    assert res.errors.total > 0


def test_train_takes_a_converted_plain_model(digits, tmp_path):
    model = tr.convert(nn.Sequential(nn.Flatten(), nn.Linear(64, 16, bias=False), nn.BatchNorm1d(16), nn.Hardtanh(),
                                     nn.Linear(16, 10, bias=False), nn.BatchNorm1d(10)), "ternary", "binary")
    before = model[1].weight.detach().clone()
    tr.train(model, digits, tr.TrainConfig(epochs=1, max_batches=2), tmp_path, progress=False)
    assert not torch.equal(before, model[1].weight) and (tmp_path / "checkpoint.pt").is_file()


def test_params_file_sets_the_device_model(tmp_path):
    import json

    from ternary_rram.chip.params_file import SCHEMA

    (tmp_path / "p.json").write_text(json.dumps({"schema": SCHEMA, "device": {"LRS": {"median": 7000.0,
                                                                                     "sigma": 0.1}}}))
    chip = tr.Chip(params=tmp_path / "p.json")
    assert chip.device_model.lrs.median == 7000.0
    assert tr.Chip(params=tr.load_params(tmp_path / "p.json")).device_model == chip.device_model
    with pytest.raises(tr.InputError, match="params=3 is not allowed"):
        tr.Chip(params=3)


def test_a_process_preset_gives_the_chip_its_transistors():
    from ternary_rram.chip.params_file import load_params, preset_path

    chip = tr.Chip(process="generic-130")
    _, textbook = load_params(preset_path("generic-130"))
    assert chip.pcsa.params == textbook
    assert chip.pcsa.params.nmos.vt0 != tr.Chip().pcsa.params.nmos.vt0  # not the default (SKY130 tt) set

