"""`ternary-rram calibrate`: writes PARAMS.json from resistances; bad input exits 2 with one line."""

from __future__ import annotations

import json

import numpy as np

from ternary_rram.chip.params_file import load_params
from ternary_rram.cli.main import main


def test_calibrate_resistances_writes_params(tmp_path, capsys):
    rng = np.random.default_rng(0)
    lrs = np.exp(np.log(6e3) + 0.2 * rng.standard_normal(200))
    hrs = np.exp(np.log(2e5) + 0.6 * rng.standard_normal(200))
    f = tmp_path / "res.csv"
    f.write_text("LRS,HRS\n" + "".join(f"{a:.6g},{b:.6g}\n" for a, b in zip(lrs, hrs)))
    out = tmp_path / "params.json"
    assert main(["calibrate", "--measured", str(f), "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert abs(doc["fit"]["device.LRS.median"]["value"] - 6e3) < 4 * doc["fit"]["device.LRS.median"]["se"]
    device, _ = load_params(out)
    assert abs(device.hrs.sigma - 0.6) < 0.1
    assert "device.HRS.sigma" in capsys.readouterr().out


def test_calibrate_bad_file_exit_2(tmp_path, capsys):
    f = tmp_path / "bad.csv"
    f.write_text("state,vdd,t_sense,temperature_c,n_plus,n_minus,n_zero\n0,0.7,2e-9,27,-3,2,1\n")
    assert main(["calibrate", "--measured", str(f), "--out", str(tmp_path / "p.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "n_plus" in err
    assert main(["calibrate", "--measured", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "p.json")]) == 2
