"""Bad input to every command ends in exit 2 and one stderr line naming the value; nothing is written.

One parametrised case per kind of bad input (issue 14, reliability items 1-8) and per command, run
in-process through ``main``: each asserts exit status 2, exactly one line on stderr that names the
bad value or file, no traceback, and that no file in the working folder was created or changed.
The device-node, shared-folder lock, corrupt cache, half write (full disk), umask and reproduce
data-path cases are tests of their own below.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import re
import stat
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from ternary_rram.cli.main import main
from ternary_rram.errors import InputError
from ternary_rram.nn.checkpoint import save_checkpoint
from ternary_rram.nn.models import build_model

SPEC = """experiment = "sense"\n[fixed]\nsamples = 8\nt_sense = 1e-9\n[grid]\nvdd = [1.2]\n"""


def _write_idx(path: Path, magic: int, array: np.ndarray) -> None:
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(f">{1 + array.ndim}I", magic, *array.shape))
        f.write(array.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, str]:
    """Every input file the bad cases need, in a folder of its own (outside the working folder)."""
    d = tmp_path_factory.mktemp("inputs")
    torch.manual_seed(0)
    model = build_model("mlp", width=8, weights="ternary", activations="binary", in_channels=1, image_size=8)
    ckpt = save_checkpoint(d / "ckpt.pt", model_config=model.config, model_state=model.state_dict(), epoch=0,
                           data={"name": "digits"})
    obj = torch.load(ckpt, weights_only=True)
    obj["model_config"] = json.dumps([1, 2, 3])
    torch.save(obj, d / "list_config.pt")
    (d / "text.txt").write_text("not a checkpoint\n")
    # PARAMS files
    (d / "p_latin1.json").write_bytes(b'{"schema": "ternary-rram.params/1", "sources": ["caf\xe9"]}')
    (d / "p_deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (d / "p_bool.json").write_text(json.dumps({"device": {"LRS": {"median": True, "sigma": 0.1}}}))
    (d / "p_unknown.json").write_text(json.dumps({"devcie": {}}))
    (d / "p_huge.json").write_text(json.dumps({"device": {"HRS": {"median": 1e308, "sigma": 0.5}}}))
    (d / "p_tiny.json").write_text(json.dumps({"device": {"LRS": {"median": 1e-300, "sigma": 0.5}}}))
    (d / "p_below.json").write_text(json.dumps({"device": {"HRS": {"median": 1e3, "sigma": 0.5}}}))
    (d / "p_scale.json").write_text(json.dumps({"pcsa": {"mismatch_scale": 1e300}}))
    # sweep specs
    (d / "spec_dir").mkdir()
    (d / "spec.bin").write_bytes(bytes(range(128, 256)) * 3)
    (d / "spec.toml").write_text(SPEC)
    # calibrate CSV files
    (d / "c_latin1.csv").write_bytes(b"LRS,HRS\n5000,3e5\n5100,\xe93e5\n")
    (d / "c_cell.csv").write_text("LRS,HRS\n" + "1" * 200_000 + ",3e5\n5000,3e5\n")
    (d / "c_count.csv").write_text("state,vdd,t_sense,temperature_c,n_plus,n_minus,n_zero\n+1,1.2,1e-9,27,1e300,0,0\n")
    (d / "c_ohm.csv").write_text("LRS,HRS\n1e300,3e5\n5000,3.1e5\n")
    (d / "c_good.csv").write_text("LRS,HRS\n5000,3e5\n5100,3.1e5\n4900,2.9e5\n")
    (d / "c_swapped.csv").write_text("LRS,HRS\n3e5,5000\n3.1e5,5100\n2.9e5,4900\n")
    # a gzip bomb as MNIST: 4 small files that each inflate past the bound
    bomb = d / "bomb"
    bomb.mkdir()
    with gzip.open(bomb / "train-images-idx3-ubyte.gz", "wb", compresslevel=9) as f:
        f.write(struct.pack(">4I", 2051, 300_000, 28, 28))
        block = bytes(1 << 20)
        for _ in range(200):
            f.write(block)
    for name in ("train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (bomb / name).write_bytes((bomb / "train-images-idx3-ubyte.gz").read_bytes())
    # a tiny valid MNIST (28x28): the digits network (8x8) cannot read it
    mn = d / "mnist"
    mn.mkdir()
    rng = np.random.default_rng(0)
    for split, n in (("train", 20), ("t10k", 10)):
        _write_idx(mn / f"{split}-images-idx3-ubyte.gz", 2051, rng.integers(0, 255, (n, 28, 28)))
        _write_idx(mn / f"{split}-labels-idx1-ubyte.gz", 2049, rng.integers(0, 10, (n,)))
    (d / "empty_dir").mkdir()
    (d / "a_file").write_text("x")
    return {p.name: str(p) for p in d.iterdir()} | {"dir": str(d)}


# (case id, argv with {name} placeholders for inputs, text the one stderr line must contain)
CASES = [
    # 1: an output that exists and is not a regular file / a file where a folder belongs
    ("1-evaluate-json-folder", ["evaluate", "{ckpt.pt}", "--data", "digits", "--json", "{empty_dir}"], "empty_dir"),
    ("1-spice-json-folder", ["spice", "--json", "{empty_dir}"], "empty_dir"),
    ("1-calibrate-out-folder", ["calibrate", "--measured", "{c_ohm.csv}", "--out", "{empty_dir}"], "empty_dir"),
    ("1-train-out-file", ["train", "--data", "digits", "--model", "mlp", "--out", "{a_file}"], "a_file"),
    ("1-sweep-out-file", ["sweep", "{spec.toml}", "--out", "{a_file}"], "a_file"),
    ("1-demo-out-file", ["demo", "--out", "{a_file}"], "a_file"),
    ("1-sense-out-file", ["sense", "--out", "{a_file}"], "a_file"),
    ("1-deploy-out-file", ["deploy", "{ckpt.pt}", "--out", "{a_file}"], "a_file"),
    ("1-reproduce-out-file", ["reproduce", "--tiny", "--out", "{a_file}"], "a_file"),
    # 3: a data path the user gave is used or refused
    ("3-reproduce-missing-data-dir", ["reproduce", "--quick", "--data-dir", "{dir}/nowhere", "--out", "r"], "nowhere"),
    ("3-reproduce-empty-data-dir", ["reproduce", "--quick", "--data-dir", "{empty_dir}", "--out", "r"], "empty_dir"),
    ("3-reproduce-tiny-data-dir", ["reproduce", "--tiny", "--data-dir", "{empty_dir}", "--out", "r"], "empty_dir"),
    # 4: sizes beyond what 24 GB holds, seeds outside [0, 2**63)
    ("4-train-width", ["train", "--data", "digits", "--model", "mlp", "--width", "1000000000", "--out", "t"],
     "--width=1000000000"),
    ("4-train-crop-padding", ["train", "--data", "digits", "--crop-padding", "100000", "--out", "t"],
     "--crop-padding=100000"),
    ("4-train-batch", ["train", "--data", "digits", "--batch-size", "100000000", "--out", "t"], "--batch-size"),
    ("4-evaluate-repeats", ["evaluate", "{ckpt.pt}", "--repeats", "100000000000"], "--repeats=100000000000"),
    ("4-deploy-n-grid", ["deploy", "{ckpt.pt}", "--n-grid", "100000", "--out", "d"], "--n-grid=100000"),
    ("4-deploy-n-mc", ["deploy", "{ckpt.pt}", "--n-mc", "100000000", "--out", "d"], "--n-mc=100000000"),
    ("4-deploy-array", ["deploy", "{ckpt.pt}", "--array", "1000000000x2", "--out", "d"], "1000000000"),
    ("4-calibrate-n-mc", ["calibrate", "--measured", "{c_ohm.csv}", "--n-mc", "10000000000", "--out", "c.json"],
     "--n-mc=10000000000"),
    ("4-demo-seed-negative", ["demo", "--seed", "-1", "--out", "d"], "--seed=-1"),
    ("4-demo-seed-huge", ["demo", "--seed", str(10**20), "--out", "d"], f"--seed={10**20}"),
    ("4-train-seed", ["train", "--data", "digits", "--seed", "-1", "--out", "t"], "--seed=-1"),
    ("4-evaluate-seed", ["evaluate", "{ckpt.pt}", "--seed", str(2**63)], f"--seed={2**63}"),
    ("4-deploy-seed", ["deploy", "{ckpt.pt}", "--seed", "-5", "--out", "d"], "--seed=-5"),
    ("4-sense-seed", ["sense", "--seed", "-1", "--out", "s"], "--seed=-1"),
    ("4-spice-seed", ["spice", "--seed", "-1"], "--seed=-1"),
    ("4-calibrate-seed", ["calibrate", "--measured", "{c_ohm.csv}", "--seed", "-1", "--out", "c.json"], "--seed=-1"),
    ("4-params-not-utf8", ["sense", "--params", "{p_latin1.json}", "--out", "s"], "p_latin1.json"),
    ("4-params-deep", ["deploy", "{ckpt.pt}", "--params", "{p_deep.json}", "--out", "d"], "p_deep.json"),
    ("4-params-dev-zero", ["sense", "--params", "/dev/zero", "--out", "s"], "/dev/zero"),
    ("4-params-folder", ["reproduce", "--tiny", "--params", "{empty_dir}", "--out", "r"], "empty_dir"),
    ("4-sweep-spec-folder", ["sweep", "{spec_dir}", "--out", "w"], "spec_dir"),
    ("4-sweep-spec-binary", ["sweep", "{spec.bin}", "--out", "w"], "spec.bin"),
    ("4-calibrate-latin1", ["calibrate", "--measured", "{c_latin1.csv}", "--out", "c.json"], "c_latin1.csv"),
    ("4-calibrate-200kB-cell", ["calibrate", "--measured", "{c_cell.csv}", "--out", "c.json"], "c_cell.csv"),
    ("4-calibrate-count-1e300", ["calibrate", "--measured", "{c_count.csv}", "--out", "c.json"], "count=1e300"),
    ("4-evaluate-list-config", ["evaluate", "{list_config.pt}"], "list_config.pt"),
    ("4-deploy-list-config", ["deploy", "{list_config.pt}", "--out", "d"], "list_config.pt"),
    ("4-evaluate-text-checkpoint", ["evaluate", "{text.txt}"], "text.txt"),
    ("4-deploy-passwd-checkpoint", ["deploy", "/etc/passwd", "--out", "d"], "/etc/passwd"),
    ("4-evaluate-gzip-bomb", ["evaluate", "{ckpt.pt}", "--data", "mnist", "--data-dir", "{bomb}"],
     "train-images-idx3-ubyte.gz"),
    ("4-deploy-mnist-on-digits", ["deploy", "{ckpt.pt}", "--data", "mnist", "--data-dir", "{mnist}", "--out", "d"],
     "image_size 28"),
    ("4-evaluate-mnist-on-digits", ["evaluate", "{ckpt.pt}", "--data", "mnist", "--data-dir", "{mnist}"],
     "image_size 28"),
    # 5: validation before any output
    ("5-sense-params-1e308", ["sense", "--params", "{p_huge.json}", "--out", "s"], "median=1e+308"),
    ("5-reproduce-seed-1e20", ["reproduce", "--tiny", "--seed", str(10**20), "--out", "r"], f"--seed={10**20}"),
    # 8: nonsense PARAMS, empty names, unbounded samples
    ("8-params-boolean", ["sense", "--params", "{p_bool.json}", "--out", "s"], "median=True"),
    ("8-params-unknown-key", ["sense", "--params", "{p_unknown.json}", "--out", "s"], "'devcie'"),
    ("8-params-1e-300", ["deploy", "{ckpt.pt}", "--params", "{p_tiny.json}", "--out", "d"], "median=1e-300"),
    ("8-params-hrs-below-lrs", ["sense", "--params", "{p_below.json}", "--out", "s"], "HRS.median=1000"),
    ("8-params-mismatch-scale", ["calibrate", "--measured", "{c_good.csv}", "--params", "{p_scale.json}",
                                 "--out", "c.json"], "mismatch_scale=1e+300"),
    ("8-calibrate-ohm-1e300", ["calibrate", "--measured", "{c_ohm.csv}", "--out", "c.json"], "resistance=1e300"),
    ("8-calibrate-hrs-below-lrs", ["calibrate", "--measured", "{c_swapped.csv}", "--out", "c.json"], "HRS median"),
    ("8-sense-samples", ["sense", "--samples", "1000000000", "--out", "s"], "--samples=1000000000"),
    ("8-demo-empty-out", ["demo", "--out", ""], "--out=''"),
    ("8-sense-empty-out", ["sense", "--out", ""], "--out=''"),
    ("8-deploy-empty-out", ["deploy", "{ckpt.pt}", "--out", ""], "--out=''"),
    ("8-reproduce-empty-out", ["reproduce", "--tiny", "--out", ""], "--out=''"),
    ("8-train-empty-out", ["train", "--data", "digits", "--out", ""], "--out=''"),
    ("8-sweep-empty-out", ["sweep", "{spec.toml}", "--out", ""], "--out=''"),
    ("8-calibrate-empty-out", ["calibrate", "--measured", "{c_ohm.csv}", "--out", ""], "--out=''"),
    ("8-evaluate-empty-json", ["evaluate", "{ckpt.pt}", "--out", ""], "--out=''"),
    ("8-spice-empty-json", ["spice", "--out", ""], "--out=''"),
    ("8-evaluate-empty-json-old-name", ["evaluate", "{ckpt.pt}", "--json", ""], "--out=''"),
]


def _snapshot(folder: Path) -> dict[str, tuple]:
    return {str(p.relative_to(folder)): (p.is_dir(), p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*"))}


def _fill(argv: list[str], inputs: dict[str, str]) -> list[str]:
    """Replace each {name} by the path of that input."""
    return [re.sub(r"\{([^}]+)\}", lambda m: inputs[m.group(1)], a) for a in argv]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(case, inputs, tmp_path, monkeypatch, capsys):
    _, argv, needle = case
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    argv = _fill(argv, inputs)
    watched = Path(inputs["dir"])
    before_inputs, before_work = _snapshot(watched), _snapshot(work)
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert needle in lines[0] and "error:" in lines[0], lines[0]
    assert "Traceback" not in err
    assert _snapshot(work) == before_work, "a file was created in the working folder"
    assert _snapshot(watched) == before_inputs, "an input file or folder was changed"


def test_an_os_error_is_one_line_naming_the_file(inputs, tmp_path, monkeypatch, capsys):
    """A chmod-000 data file (simulated: root reads anything) ends in one line naming it, exit 2."""
    import ternary_rram.nn.train as train_mod  # evaluate_checkpoint loads the data set through it

    def denied(name, data_dir=None, **_kw):
        raise PermissionError(errno.EACCES, "Permission denied", str(Path(data_dir or ".") / "data_batch_1"))

    monkeypatch.setattr(train_mod, "load_dataset", denied)
    monkeypatch.chdir(tmp_path)
    rc = main(["evaluate", inputs["ckpt.pt"], "--data", "cifar10", "--data-dir", inputs["empty_dir"]])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "permission denied" in err[0] and "data_batch_1" in err[0]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads a chmod-000 file")
def test_a_really_unreadable_params_file_is_one_line(tmp_path, capsys):
    p = tmp_path / "params.json"
    p.write_text("{}")
    p.chmod(0)
    rc = main(["sense", "--params", str(p), "--out", str(tmp_path / "s")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "params.json" in err[0]
    assert not (tmp_path / "s").exists()


# ------------------------------------------------------------------------------------------------
# 1: a device node given as an output is refused, never replaced
# ------------------------------------------------------------------------------------------------
def test_device_node_output_is_refused_and_left_alone(inputs, tmp_path, capsys):
    node = tmp_path / "null"
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot create a device node here: {exc}")
    from ternary_rram.fileio import atomic_write_text

    for argv in (["evaluate", inputs["ckpt.pt"], "--json", str(node)], ["spice", "--json", str(node)],
                 ["calibrate", "--measured", inputs["c_ohm.csv"], "--out", str(node)],
                 ["sense", "--out", str(node)]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "device node" in err[0] and str(node) in err[0]
    with pytest.raises(InputError, match="device node"):
        atomic_write_text(node, "x")
    st = os.stat(node)
    assert stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]  # no temporary file left


# ------------------------------------------------------------------------------------------------
# 2: one writer per output folder
# ------------------------------------------------------------------------------------------------
SENSE_ARGV = ["sense", "--vdd", "1.2", "--t-sense", "1e-9", "--samples", "8", "--no-figures", "--no-progress"]


def test_second_writer_into_a_shared_folder_is_refused(tmp_path, capsys):
    from ternary_rram.fileio import LOCK_NAME

    out = tmp_path / "shared"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from ternary_rram.fileio import output_lock
        with output_lock({str(out)!r}):
            print("held", flush=True)
            sys.stdin.readline()
        """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        before = _snapshot(out)
        assert main([*SENSE_ARGV, "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"PID {holder.pid}" in err[0] and str(out) in err[0]
        assert _snapshot(out) == before  # the second writer wrote nothing
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    assert not (out / LOCK_NAME).exists()  # removed on exit
    assert main([*SENSE_ARGV, "--out", str(out)]) == 0  # free again
    assert (out / "sense.json").is_file() and not (out / LOCK_NAME).exists()


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path, capsys):
    from ternary_rram.fileio import LOCK_NAME

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "o"
    out.mkdir()
    (out / LOCK_NAME).write_text(f"{dead.pid} somehost\n")
    (out / ".sense.json.abcd1234.tmp").write_text("left by a kill")  # stale temporary file
    (out / "keep.tmp").write_text("not ours")
    assert main([*SENSE_ARGV, "--out", str(out)]) == 0
    assert not (out / LOCK_NAME).exists()
    assert not (out / ".sense.json.abcd1234.tmp").exists() and (out / "keep.tmp").exists()


def test_stale_checkpoint_temp_is_removed_by_the_next_train_run(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    stale = out / ".checkpoint.pt.k1ll3d00.tmp"
    stale.write_bytes(b"half a checkpoint")
    rc = main(["train", "--data", "digits", "--model", "mlp", "--width", "8", "--epochs", "1", "--cycles", "1",
               "--max-batches", "1", "--no-progress", "--out", str(out)])
    assert rc == 0
    assert not stale.exists() and (out / "checkpoint.pt").is_file()


# ------------------------------------------------------------------------------------------------
# 5: a full disk leaves the old file whole and no temporary file
# ------------------------------------------------------------------------------------------------
class _FullDisk:
    """File object whose write fails with ENOSPC (the disk fills during the write)."""

    def __init__(self, fh):
        self._fh = fh

    def write(self, _data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()


def test_full_disk_during_json_write_is_one_line_and_keeps_the_old_file(inputs, tmp_path, monkeypatch, capsys):
    import ternary_rram.fileio as fileio

    target = tmp_path / "eval.json"
    target.write_text('{"old": true}')
    real_fdopen = os.fdopen
    monkeypatch.setattr(fileio.os, "fdopen", lambda fd, *a, **k: _FullDisk(real_fdopen(fd, *a, **k)))
    rc = main(["evaluate", inputs["ckpt.pt"], "--data", "digits", "--limit", "50", "--json", str(target)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "no space left on device" in err[0].lower() and str(target) in err[0]
    assert target.read_text() == '{"old": true}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval.json"]


def test_full_disk_in_a_named_writer_removes_its_temp(tmp_path):
    from ternary_rram.fileio import atomic_write_with

    target = tmp_path / "part.parquet"
    target.write_bytes(b"old")

    def writer(name):
        Path(name).write_bytes(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), name)

    with pytest.raises(OSError):
        atomic_write_with(target, writer)
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["part.parquet"]


def test_named_writer_syncs_its_file_before_the_rename(tmp_path, monkeypatch):
    import ternary_rram.fileio as fileio

    events: list[str] = []
    real_fsync, real_replace = fileio.os.fsync, fileio.os.replace

    def fsync(fd):
        events.append("fsync-dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "fsync-file")
        real_fsync(fd)

    def replace(src, dst):
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(fileio.os, "fsync", fsync)
    monkeypatch.setattr(fileio.os, "replace", replace)
    fileio.atomic_write_with(tmp_path / "fig.png", lambda name: Path(name).write_bytes(b"png"))
    # data reaches the disk before the new name points at it; then the rename itself is made durable
    assert events == ["fsync-file", "replace", "fsync-dir"]
    assert (tmp_path / "fig.png").read_bytes() == b"png"


# ------------------------------------------------------------------------------------------------
# 6: corrupt cache units and sweep parts
# ------------------------------------------------------------------------------------------------
def test_corrupt_cache_units_are_reported_and_recomputed(tmp_path):
    from ternary_rram.experiments.cache import Cache

    said: list[str] = []
    calls = []

    def compute():
        calls.append(1)
        return {"x": 1.5}, {"a": np.arange(4.0)}

    cache = Cache(tmp_path, warn=said.append)
    cache.get_or_compute("unit", {"k": 1}, compute)
    jpath, npath = cache.paths("unit", {"k": 1})
    for damage in (lambda: npath.write_bytes(npath.read_bytes()[:20]),  # truncated NPZ: BadZipFile
                   lambda: npath.write_bytes(b"PK\x03\x04 not a zip"),
                   lambda: jpath.write_text('{"values": '),  # truncated JSON
                   lambda: jpath.write_text('{"values": [1], "has_arrays": false}')):
        damage()
        fresh = Cache(tmp_path, warn=said.append)
        r = fresh.get_or_compute("unit", {"k": 1}, compute)
        assert r["x"] == 1.5 and np.array_equal(r["a"], np.arange(4.0))
        assert fresh.misses == 1 and fresh.hits == 0 and fresh.corrupt == 1
    assert len(calls) == 5 and len(said) == 4
    assert all(jpath.name in s and "computing it again" in s for s in said)
    again = Cache(tmp_path, warn=said.append)  # repaired: read back without a warning
    again.get_or_compute("unit", {"k": 1}, compute)
    assert again.hits == 1 and len(said) == 4


def test_a_new_folder_reports_no_unit_read_from_the_cache(tmp_path):
    from ternary_rram.experiments.cache import Cache

    cache = Cache(tmp_path / "new")
    for _ in range(3):  # the same unit asked for three times in one run
        cache.get_or_compute("unit", {"k": 1}, lambda: ({"x": 1}, {}))
    assert (cache.hits, cache.misses, cache.reused) == (0, 1, 2)
    second = Cache(tmp_path / "new")
    for _ in range(2):
        second.get_or_compute("unit", {"k": 1}, lambda: ({"x": 1}, {}))
    assert (second.hits, second.misses, second.reused) == (1, 0, 1)


def test_corrupt_sweep_part_is_quarantined_and_its_point_rerun(tmp_path, capsys):
    from ternary_rram.experiments.sweep import ResultStore, load_results

    store = ResultStore(tmp_path)
    store.ensure()
    store.write({"hash": "a" * 64, "experiment": "x", "status": "ok", "error": "", "seed": 1, "v": 1.0})
    store.write({"hash": "b" * 64, "experiment": "x", "status": "ok", "error": "", "seed": 2, "v": 2.0})
    bad = store.part_path("b" * 64)
    bad.write_bytes(bad.read_bytes()[:30])  # truncated by a crash of the disk, say
    assert store.ok_hashes() == {"a" * 64}  # b is not done: it will be computed again
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and bad.name in err[0]
    assert not bad.exists() and bad.with_name(bad.name + ".corrupt").exists()  # kept aside, not deleted
    df = load_results(tmp_path)
    assert list(df["hash"]) == ["a" * 64]


# ------------------------------------------------------------------------------------------------
# 7: modes follow the umask
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("umask", [0o027, 0o002])
def test_written_files_follow_the_umask(tmp_path, umask):
    from ternary_rram.experiments.plots import new_figure, save_figure
    from ternary_rram.experiments.sweep import ResultStore
    from ternary_rram.fileio import atomic_write_text, output_lock

    old = os.umask(umask)
    try:
        atomic_write_text(tmp_path / "a.json", "{}")
        fig, _ = new_figure()
        save_figure(fig, tmp_path / "f.png")
        store = ResultStore(tmp_path / "sw")
        store.ensure()
        part = store.write({"hash": "c" * 64, "status": "ok", "v": 1.0})
        with output_lock(tmp_path / "locked"):
            lock_mode = stat.S_IMODE(os.stat(tmp_path / "locked" / ".ternary-rram.lock").st_mode)
    finally:
        os.umask(old)
    want = 0o666 & ~umask
    for p in (tmp_path / "a.json", tmp_path / "f.png", part):
        assert stat.S_IMODE(os.stat(p).st_mode) == want, p
    assert lock_mode == want


# ------------------------------------------------------------------------------------------------
# 3: reproduce honours --data-dir before any work
# ------------------------------------------------------------------------------------------------
def test_reproduce_refuses_a_broken_data_dir_before_any_work(tmp_path, capsys):
    broken = tmp_path / "cifar"
    broken.mkdir()
    (broken / "data_batch_1").write_bytes(b"not a pickle")
    out = tmp_path / "r"
    t0 = time.perf_counter()
    rc = main(["reproduce", "--quick", "--data-dir", str(broken), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and str(broken) in err[0]
    assert not out.exists()
    assert time.perf_counter() - t0 < 30  # refused up front, not after the sense-amplifier sections
