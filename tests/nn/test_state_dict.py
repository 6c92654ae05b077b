"""Plain PyTorch state_dict files into the project's models: key maps and one-line refusals."""

from __future__ import annotations

import json

import pytest
import torch

from ternary_rram.errors import InputError
from ternary_rram.nn.layers import quantized_layers
from ternary_rram.nn.models import vgg
from ternary_rram.nn.state_dict import (
    load_plain_state,
    load_state_dict_file,
    map_keys,
    model_from_state_dict,
    read_key_map,
)


def _state(width=2, scale=0.1, seed=0):
    """A float state_dict of the seed VGG layout (8x8, 1 channel), as other code would save it."""
    torch.manual_seed(seed)
    m = vgg(width, in_channels=1, image_size=8)
    for _, layer in quantized_layers(m):
        layer.weight.data.normal_(0.0, scale)
    return {k: v.clone() for k, v in m.state_dict().items()}


def test_loads_and_ternarizes_with_the_given_threshold(tmp_path):
    state = _state()
    torch.save(state, tmp_path / "w.pt")
    model = model_from_state_dict(tmp_path / "w.pt", "vgg", width=2, in_channels=1, image_size=8, threshold=0.12)
    layer = dict(quantized_layers(model))["0"]
    assert torch.equal(layer.weight, state["0.weight"])
    expected = torch.where(state["0.weight"].abs() > 0.12, state["0.weight"].sign(), torch.zeros(()))
    assert torch.equal(layer.quantized_weight_int8(), expected.to(torch.int8))
    assert not model.training


def test_ternary_valued_weights_need_no_threshold(tmp_path):
    state = _state()
    for k in [k for k in state if k.endswith("weight") and state[k].dim() in (2, 4)]:
        state[k] = state[k].sign() * (state[k].abs() > 0.05)
    model = model_from_state_dict(state, "vgg", width=2, in_channels=1, image_size=8)
    assert torch.equal(dict(quantized_layers(model))["3"].quantized_weight_int8(), state["3.weight"].to(torch.int8))


def test_key_map_exact_names_and_regex_pairs(tmp_path):
    state = _state()
    theirs = {f"features.{k}": v for k, v in state.items()}
    theirs["features.aux.weight"] = torch.zeros(3)
    (tmp_path / "pairs.json").write_text(json.dumps([["^features\\.aux\\.", None], ["^features\\.", ""]]))
    mapped = map_keys(theirs, read_key_map(tmp_path / "pairs.json"))
    assert set(mapped) == set(state)
    exact = {f"features.{k}": k for k in state} | {"features.aux.weight": None}
    (tmp_path / "exact.json").write_text(json.dumps(exact))
    assert set(map_keys(theirs, read_key_map(tmp_path / "exact.json"))) == set(state)
    (tmp_path / "clash.json").write_text(json.dumps([["^features\\.(aux\\.)?", ""]]))
    theirs["features.aux.0.weight"] = torch.zeros(1)
    with pytest.raises(InputError, match="maps both"):
        map_keys(theirs, read_key_map(tmp_path / "clash.json"))


@pytest.mark.parametrize("text, match", [
    ("{", "not JSON"), ("3", "must hold a JSON object"), ('{"a": 3}', "the value of 'a'"),
    ('[["(", "x"]]', "regex '\\('"), ('[["a"]]', "entry 0"),
])
def test_bad_key_maps_are_one_line(tmp_path, text, match):
    (tmp_path / "m.json").write_text(text)
    with pytest.raises(InputError, match=match) as err:
        read_key_map(tmp_path / "m.json")
    assert "\n" not in str(err.value)


def test_key_map_that_is_not_utf8_or_a_file_is_one_line(tmp_path):
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(InputError, match="not UTF-8") as err:
        read_key_map(tmp_path / "bin.json")
    assert "\n" not in str(err.value)
    with pytest.raises(InputError, match="it is a folder"):
        read_key_map(tmp_path)


@pytest.mark.parametrize("change, match", [
    (lambda s: s.pop("3.weight"), "missing keys the model needs: 3.weight"),
    (lambda s: s.update({"head.weight": torch.zeros(2)}), "keys the model does not have: head.weight"),
    (lambda s: s.update({"0.weight": torch.zeros(2, 1, 5, 5)}), "key '0.weight' shape \\(2, 1, 5, 5\\)"),
    (lambda s: None, "key 0.weight holds float weights"),
])
def test_bad_state_dicts_are_one_line(change, match):
    state = _state()
    change(state)
    model = vgg(2, in_channels=1, image_size=8)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(InputError, match=match) as err:
        load_plain_state(model, state)
    assert "\n" not in str(err.value)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # nothing loaded


def test_batch_norm_step_counters_may_be_left_out_and_binary_needs_no_threshold():
    state = {k: v for k, v in _state().items() if not k.endswith("num_batches_tracked")}
    load_plain_state(vgg(2, "binary", in_channels=1, image_size=8), state)


def test_unreadable_files_are_one_line(tmp_path):
    (tmp_path / "junk.pt").write_bytes(b"not a zip")
    torch.save({"model_state": {"a": torch.zeros(1)}}, tmp_path / "ckpt.pt")
    for name, match in (("junk.pt", "not a PyTorch weights file"), ("ckpt.pt", "holds a dict, not a tensor"),
                        ("none.pt", "no such file")):
        with pytest.raises(InputError, match=match) as err:
            load_state_dict_file(tmp_path / name)
        assert "\n" not in str(err.value)
