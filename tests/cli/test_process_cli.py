"""`--process generic-130` selects the textbook transistor set; without it the default SKY130 tt set is used."""

from __future__ import annotations

import json

from ternary_rram.cli.main import main


def test_process_generic_130_on_the_command_line(tmp_path):
    out = tmp_path / "s"
    # at 0.6 V the generic set still reads (LRS, HRS); the default SKY130 set reads nothing there
    argv = ["sense", "--vdd", "0.6", "--t-sense", "2e-9", "--samples", "16", "--no-figures", "--quiet"]
    assert main([*argv, "--process", "generic-130", "--out", str(out / "g")]) == 0
    assert main([*argv, "--out", str(out / "d")]) == 0
    p_plus = {k: next(r["p_plus"] for r in json.loads((out / k / "sense.json").read_text())["records"]
                      if r["state"] == "LRS/HRS") for k in ("g", "d")}
    assert p_plus["g"] > 0.9 and p_plus["d"] < 0.1, p_plus
