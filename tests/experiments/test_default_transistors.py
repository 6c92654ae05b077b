"""The default transistor set is the shipped SKY130 tt preset (one definition); generic-130 stays selectable."""

from __future__ import annotations

import json

import pytest

from ternary_rram.chip.params_file import load_params, preset_path
from ternary_rram.circuit.params import DEFAULT_PCSA, DEFAULT_PROCESS, GENERIC_130_PCSA, PCSAParams


def test_default_is_the_sky130_tt_preset_file():
    assert DEFAULT_PROCESS == "sky130-tt"
    _, from_file = load_params(preset_path("sky130-tt"))
    assert from_file == DEFAULT_PCSA == PCSAParams()
    doc = json.loads(preset_path("sky130-tt").read_text())
    assert DEFAULT_PCSA.nmos.vt0 == doc["pcsa"]["transistors"]["nmos"]["vt0"]  # read, not copied
    assert doc["pdk"]["command"].startswith("ternary-rram calibrate --pdk-lib")  # every number has its source


def test_generic_set_is_selectable_and_differs_where_the_foundry_data_says():
    _, generic = load_params(preset_path("generic-130"))
    assert generic == GENERIC_130_PCSA
    # textbook |Vth| 0.40 V against the SKY130 fit's ~0.69 V; 0.13 um against SKY130's 0.15 um minimum length
    assert generic.nmos.vt0 == pytest.approx(0.40) and DEFAULT_PCSA.nmos.vt0 > generic.nmos.vt0 + 0.25
    assert set(generic.lengths) == {0.13e-6} and set(DEFAULT_PCSA.lengths) == {0.15e-6}
    doc = json.loads(preset_path("generic-130").read_text())
    assert set(doc["notes"]) >= {"vt0", "n", "mu0", "cox", "k_vt", "mu_exp", "lambda_clm", "a_vt", "widths"}
