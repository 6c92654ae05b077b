"""`spice --pdk`: the foundry reference table and JSON; bad input exits 2 with one line."""

import json
import shutil

import pytest

from ternary_rram.circuit import pdk
from ternary_rram.cli.main import main

needs_sky130 = pytest.mark.skipif(pdk.sky130_lib() is None or shutil.which("ngspice") is None,
                                  reason="SKY130 models not fetched (python -m ternary_rram.circuit.pdk fetch-sky130) "
                                         "or ngspice missing")


@pytest.mark.parametrize("argv, message", [
    (["--pdk", "/no/such/lib.spice", "--mc", "10", "--vdd", "1.2"], "no such file"),
    (["--pdk", "x.spice", "--corner", "sf"], "no shipped preset"),
    (["--pdk", "x.spice", "--mc", "3"], "--mc=3"),
    (["--pdk", "x.spice", "--vdd", "5"], "--vdd=5.0"),
])
def test_bad_foundry_reference_input_exits_2(capsys, argv, message):
    assert main(["spice", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


@needs_sky130
def test_foundry_reference_prints_and_writes_the_side_by_side_table(tmp_path, capsys):
    out = tmp_path / "ref.json"
    assert main(["spice", "--pdk", str(pdk.sky130_lib()), "--mc", "10", "--vdd", "1.2", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "foundry reference" in text and "flip onset" in text
    doc = json.loads(out.read_text())
    row = doc["rows"][0]
    assert row["vdd"] == 1.2 and row["instances"] == 10 and row["in_goal_range"]
    for who in ("reference", "compact"):
        assert 0.2e-9 < row[who]["t_median"] < 0.6e-9 and row[who]["energy"] > 0
    assert row["rel_err"]["t_median"] < 0.2
