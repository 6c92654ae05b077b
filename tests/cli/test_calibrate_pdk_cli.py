"""`calibrate --pdk-lib`: bad libraries, corners, devices and ngspice failures exit 2 with one line and
write nothing; a PDK document is read back by --params."""

import json
import shutil

import pytest

from ternary_rram.cli.main import main

needs_ngspice = pytest.mark.skipif(shutil.which("ngspice") is None,
                                   reason="ngspice not installed: apt-get install ngspice")


def _lib(tmp_path):
    lib = tmp_path / "toy.lib.spice"
    # A syntactically fine library whose devices point at a model ngspice does not know: ngspice fails.
    lib.write_text(".lib tt\n.subckt nch d g s b\nmn d g s b no_such_model w=1u l=1u\n.ends\n"
                   ".subckt pch d g s b\nmp d g s b no_such_model w=1u l=1u\n.ends\n.endl tt\n")
    return lib


def _run(capsys, *argv):
    code = main(["calibrate", *argv])
    return code, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize("case", ["missing", "not-spice", "corner", "device"])
def test_bad_pdk_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, case):
    lib = _lib(tmp_path)
    out = tmp_path / "p.json"
    args = {"missing": ["--pdk-lib", str(tmp_path / "nope.spice")],
            "not-spice": ["--pdk-lib", str(tmp_path / "p.txt")],
            "corner": ["--pdk-lib", str(lib), "--corner", "ff", "--nfet", "nch", "--pfet", "pch"],
            "device": ["--pdk-lib", str(lib), "--nfet", "nfet_x", "--pfet", "pch"]}[case]
    (tmp_path / "p.txt").write_text("just text\n")
    code, err = _run(capsys, *args, "--out", str(out), "--quiet")
    assert code == 2 and len(err) == 1
    assert {"missing": "no such file", "not-spice": "not a SPICE library", "corner": "corner='ff'",
            "device": "device='nfet_x'"}[case] in err[0]
    assert not out.exists()


@needs_ngspice
def test_ngspice_failure_exits_2_naming_the_run(tmp_path, capsys):
    out = tmp_path / "p.json"
    code, err = _run(capsys, "--pdk-lib", str(_lib(tmp_path)), "--nfet", "nch", "--pfet", "pch",
                     "--length", "1", "--min-width", "1", "--out", str(out), "--quiet")
    assert code == 2 and len(err) == 1 and "ngspice failed" in err[0] and "nch/pch" in err[0]
    assert not out.exists()


def test_measured_and_pdk_are_exclusive(tmp_path, capsys):
    code, err = _run(capsys, "--out", str(tmp_path / "p.json"))
    assert code == 2 and "exactly one of" in err[0]


def test_pdk_document_is_read_back_by_load_params(tmp_path):
    from ternary_rram.chip.params_file import load_params

    doc = {"schema": "ternary-rram.params/1",
           "pcsa": {"a_vt_nmos": 6e-9, "a_vt_pmos": 9e-9,
                    "transistors": {"nmos": {"vt0": 0.69, "n": 1.44, "sigma_dibl": 0.043},
                                    "pmos": {"vt0": 0.71, "lambda_clm": 0.3}},
                    "widths": [0.42e-6] * 9, "lengths": [0.15e-6] * 9}}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    _, p = load_params(path)
    assert p.nmos.vt0 == 0.69 and p.nmos.sigma_dibl == 0.043 and p.nmos.a_vt == 6e-9
    assert p.pmos.vt0 == 0.71 and p.pmos.lambda_clm == 0.3 and p.pmos.a_vt == 9e-9
    assert p.widths == (0.42e-6,) * 9 and p.lengths == (0.15e-6,) * 9
    doc["pcsa"]["transistors"]["nmos"]["n"] = 0.5
    path.write_text(json.dumps(doc))
    from ternary_rram.errors import InputError
    with pytest.raises(InputError, match="n=0.5"):
        load_params(path)
    doc["pcsa"]["transistors"]["nmos"] = {"vth": 0.5}
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="'vth' is not allowed"):
        load_params(path)
