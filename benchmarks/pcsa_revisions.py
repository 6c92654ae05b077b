"""PCSA.sense throughput of several git revisions of circuit/pcsa.py, side by side in one process.

Each argument REV:PRECISION loads ``src/ternary_rram/circuit/pcsa.py`` as it was at git revision REV
(``work``: the working tree) as its own module (the rest of the package is the working tree's) and
senses the same (LRS, HRS) cells with the default transistors at 1.2 V, window 10 characteristic
times; PRECISION is f64 or f32 (``PCSA(dtype=torch.float32)``, where that revision has it). The
variants are alternated ``--repeats`` times after a warm-up and the best CPU time of the calling
thread is kept (steadier than wall time on a shared machine). Prints senses per CPU second.

    python benchmarks/pcsa_revisions.py --batch 4096 b34a0ff:f64 work:f64 work:f32
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.device.model import DeviceModel, State

ROOT = Path(__file__).resolve().parent.parent
PCSA_FILE = "src/ternary_rram/circuit/pcsa.py"


def load_revision(rev: str, folder: Path):
    """The pcsa module of git revision ``rev`` (or the working tree for ``work``)."""
    if rev == "work":
        text = (ROOT / PCSA_FILE).read_text()
    else:
        text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{PCSA_FILE}"], check=True,
                              capture_output=True, text=True).stdout
    name = f"pcsa_at_{rev.replace('-', '_')}"
    path = folder / f"{name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("variants", nargs="+", help="REV:f64 or REV:f32")
    ap.add_argument("--batch", type=int, default=4096)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    modules = {}
    pcsas = {}
    with tempfile.TemporaryDirectory() as tmp:
        for variant in args.variants:
            rev, precision = variant.split(":")
            if rev not in modules:
                modules[rev] = load_revision(rev, Path(tmp))
            cls = modules[rev].PCSA
            pcsas[variant] = cls() if precision == "f64" else cls(dtype=torch.float32)
    first = next(iter(pcsas.values()))
    op = OperatingPoint(1.2, 10.0 * first.characteristic_time(OperatingPoint(1.2, 1.0)))
    g = torch.Generator().manual_seed(0)
    dev = DeviceModel()
    r_bl, r_blb = dev.sample(State.LRS, args.batch, g), dev.sample(State.HRS, args.batch, g)
    dvth = first.sample_mismatch(args.batch, g)
    best = dict.fromkeys(pcsas, 0.0)
    for pc in pcsas.values():
        pc.sense(r_bl, r_blb, op, dvth=dvth)  # warm-up (and the cached nominal precharge)
    for _ in range(args.repeats):
        for variant, pc in pcsas.items():
            t0 = time.thread_time()
            pc.sense(r_bl, r_blb, op, dvth=dvth)
            best[variant] = max(best[variant], args.batch / (time.thread_time() - t0))
    for variant, rate in best.items():
        print(f"{variant}: {rate:.0f} senses per CPU second (batch {args.batch}, best of {args.repeats})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
