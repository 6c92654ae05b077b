"""Parameter files of a chip: PARAMS.json (``ternary-rram calibrate``) and the shipped process presets.

:func:`load_params` reads a PARAMS.json into (DeviceModel, PCSAParams), refusing anything malformed in
one line; :func:`load_models` gives the (DeviceModel, PCSA) a chip is built from; :func:`preset_path`
names the file of a shipped preset (``--process sky130-tt``, files in ``ternary_rram/presets``).
A foundry fit (``calibrate --pdk-lib``) carries fitted transistors and mapped sizes in the ``pcsa``
block, applied by :func:`apply_transistor_block`. ``experiments/calibrate.py`` writes the files.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from importlib import resources
from pathlib import Path

from ternary_rram.circuit.params import DEFAULT_PCSA, N_TRANSISTORS, PCSAParams
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.circuit.transforms import scale_mismatch
from ternary_rram.device import DeviceModel, LognormalState, Relaxation
from ternary_rram.device import params as DP
from ternary_rram.errors import InputError, check_number
from ternary_rram.fileio import read_text_bounded

#: Identifier and version of the PARAMS.json schema.
SCHEMA: str = "ternary-rram.params/1"
#: Shipped process presets (files ``ternary_rram/presets/<name>.json``); ``--process`` and ``api.PROCESSES``.
PRESETS: tuple[str, ...] = ("sky130-tt", "sky130-ff", "sky130-ss", "generic-130")
#: MOSFETParams fields a ``pcsa.transistors`` block may set.
MOSFET_FIELDS: tuple[str, ...] = ("vt0", "n", "mu0", "cox", "k_vt", "mu_exp", "lambda_clm", "a_vt", "sigma_dibl")


def _number(block: Mapping, key: str, where: str) -> float:
    try:
        v = float(block[key])
    except (TypeError, ValueError):
        raise InputError(f"{where}: {key}={block[key]!r} is not allowed: must be a number") from None
    if not math.isfinite(v):
        raise InputError(f"{where}: {key}={block[key]!r} is not allowed: must be finite")
    return v


def apply_transistor_block(params: PCSAParams, pcsa_block: Mapping, where: str) -> PCSAParams:
    """PCSAParams with the ``transistors`` (nmos/pmos: MOSFETParams fields), ``widths`` and ``lengths``
    (m, one per transistor) of a PARAMS.json ``pcsa`` block applied; keys left out keep ``params``."""
    tr = pcsa_block.get("transistors")
    if tr is not None:
        if not isinstance(tr, dict) or set(tr) - {"nmos", "pmos"}:
            raise InputError(f"{where}.transistors: must be an object with 'nmos' and/or 'pmos'")
        for kind in ("nmos", "pmos"):
            block = tr.get(kind)
            if block is None:
                continue
            w = f"{where}.transistors.{kind}"
            if not isinstance(block, dict):
                raise InputError(f"{w}: must be an object field -> number")
            unknown = set(block) - set(MOSFET_FIELDS)
            if unknown:
                raise InputError(f"{w}: field {sorted(unknown)[0]!r} is not allowed: must be one of "
                                 f"{', '.join(MOSFET_FIELDS)}")
            values = {k: _number(block, k, w) for k in block}
            for k in ("vt0", "n", "mu0", "cox", "a_vt"):
                if k in values and values[k] <= 0:
                    raise InputError(f"{w}: {k}={values[k]!r} is not allowed: must be > 0")
            if values.get("n", 1.0) < 1.0:
                raise InputError(f"{w}: n={values['n']!r} is not allowed: a slope factor is >= 1")
            params = replace(params, **{kind: replace(getattr(params, kind), **values)})
    sizes = {}
    for key in ("widths", "lengths"):
        if key in pcsa_block:
            v = pcsa_block[key]
            if not isinstance(v, list) or len(v) != N_TRANSISTORS:
                raise InputError(f"{where}.{key}: must be a list of {N_TRANSISTORS} numbers (m)")
            vals = tuple(_number(dict(enumerate(v)), i, f"{where}.{key}") for i in range(len(v)))
            if min(vals) <= 0 or max(vals) > 1e-3:
                raise InputError(f"{where}.{key}: every entry must be > 0 and <= 1e-3 m")
            sizes[key] = vals
    return replace(params, **sizes) if sizes else params


def preset_path(name: str) -> Path:
    """File of a shipped preset (``sky130-tt`` ...). Raises InputError for an unknown name."""
    if name not in PRESETS:
        raise InputError(f"--process={name!r} is not allowed: must be one of {', '.join(PRESETS)}")
    return Path(str(resources.files("ternary_rram.presets") / f"{name}.json"))


#: Sane ranges of PARAMS.json values (a value outside is a typo or a unit error, refused):
#: resistances 1 ohm .. 1 Tohm (RRAM states lie between ~100 ohm and ~10 Mohm); ln-spreads up to 5
#: (a factor e^5 ~ 150 between one sigma and the median); relaxation k up to 10 ln-units^2 and tau up
#: to 1e9 s (30 years); mismatch scale within 100x of the 130 nm Pelgrom coefficients and A_VT up to
#: 1 V*um (1e-6 V*m; 130 nm processes report 3.5-5 mV*um); PCSA overrides within 1000x of the default.
RESISTANCE_RANGE: tuple[float, float] = (DP.RESISTANCE_MIN, DP.RESISTANCE_MAX)
SIGMA_RANGE: tuple[float, float] = (0.0, 5.0)
RELAX_K_RANGE: tuple[float, float] = (0.0, 10.0)
RELAX_TAU_RANGE: tuple[float, float] = (0.0, 1e9)
MISMATCH_SCALE_RANGE: tuple[float, float] = (0.0, 100.0)
A_VT_RANGE: tuple[float, float] = (0.0, 1e-6)
OVERRIDE_FACTOR: float = 1e3
#: Keys a PARAMS.json may hold, per block (calibrate writes all of them; a hand-written file may
#: leave any out).
#: "notes": free text (where each number comes from), read by people, ignored by the loader.
PARAMS_KEYS: tuple[str, ...] = ("schema", "created_utc", "sources", "notes", "device", "pcsa", "fit", "goodness",
                                "pdk")
DEVICE_KEYS: tuple[str, ...] = ("LRS", "HRS", "relaxation")
STATE_KEYS: tuple[str, ...] = ("median", "sigma", "d2d_fraction")
RELAX_KEYS: tuple[str, ...] = ("k_hrs", "k_lrs", "tau")
#: "transistors", "widths", "lengths": the foundry fit of ``calibrate --pdk-lib`` (:func:`apply_transistor_block`).
PCSA_KEYS: tuple[str, ...] = ("mismatch_scale", "a_vt_nmos", "a_vt_pmos", "overrides", "transistors", "widths",
                              "lengths")
#: Largest PARAMS.json read, bytes (calibrate writes a few kB).
PARAMS_MAX_BYTES: int = 1_000_000


def _num(doc: Mapping, key: str, where: str, *, positive: bool = True,
         bounds: tuple[float, float] | None = None, unit: str = "") -> float:

    if key not in doc:
        raise InputError(f"{where}: missing key {key!r}")
    v = check_number(f"{where}.{key}", doc[key])  # refuses JSON booleans, strings, null
    if positive and v <= 0:
        raise InputError(f"{where}.{key}={doc[key]!r} is not allowed: must be > 0")
    if bounds is not None:
        lo, hi = bounds
        if not (lo < v <= hi if positive else lo <= v <= hi):
            u = f" {unit}" if unit else ""
            raise InputError(f"{where}.{key}={doc[key]!r} is not allowed: must lie in "
                             f"{'(' if positive else '['}{lo:g}, {hi:g}]{u}")
    return v


def _only_keys(block: Mapping, allowed: Sequence[str], where: str) -> None:
    unknown = [k for k in block if k not in allowed]
    if unknown:
        raise InputError(f"{where}: key {unknown[0]!r} is not allowed: allowed keys are {', '.join(allowed)}")


def load_params(path: str | Path):
    """Read PARAMS.json -> (DeviceModel, PCSAParams).

    Uses the ``device`` block (LRS/HRS ``median`` ohm, ``sigma`` ln units, optional ``d2d_fraction``;
    optional ``relaxation`` ``k_hrs``, ``k_lrs``, ``tau`` s) and the ``pcsa`` block (``a_vt_nmos``,
    ``a_vt_pmos`` in V*m, or else ``mismatch_scale``; optional ``overrides``: PCSAParams field -> number).
    Blocks or keys left out keep the defaults. Raises InputError (one line) on anything malformed: a
    file that is not UTF-8 JSON or too large or too deeply nested, an unknown key, a boolean or string
    where a number belongs, a value outside its sane range (:data:`RESISTANCE_RANGE` ...), an HRS
    median not above the LRS median.
    """

    p = Path(path)
    text = read_text_bounded(p, PARAMS_MAX_BYTES, "params")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"params={str(p)!r} is not allowed: not JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise InputError(f"params={str(p)!r} is not allowed: JSON nested too deeply") from None
    if not isinstance(doc, dict):
        raise InputError(f"params={str(p)!r} is not allowed: must hold a JSON object")
    _only_keys(doc, PARAMS_KEYS, f"params={str(p)!r}")
    schema = doc.get("schema", SCHEMA)
    if schema != SCHEMA:
        raise InputError(f"params={str(p)!r}: schema={schema!r} is not allowed: must be {SCHEMA!r}")
    device = DeviceModel()
    dev = doc.get("device", {})
    if not isinstance(dev, dict):
        raise InputError(f"params={str(p)!r}: 'device' must be an object")
    _only_keys(dev, DEVICE_KEYS, f"params={str(p)!r} device")
    states = {}
    for name, default in (("LRS", device.lrs), ("HRS", device.hrs)):
        block = dev.get(name)
        if block is None:
            states[name] = default
            continue
        where = f"params={str(p)!r} device.{name}"
        if not isinstance(block, dict):
            raise InputError(f"{where}: must be an object")
        _only_keys(block, STATE_KEYS, where)
        frac = (_num(block, "d2d_fraction", where, positive=False, bounds=(0.0, 1.0)) if "d2d_fraction" in block
                else DP.D2D_VARIANCE_FRACTION)
        states[name] = LognormalState.from_total(
            _num(block, "median", where, bounds=RESISTANCE_RANGE, unit="ohm"),
            _num(block, "sigma", where, bounds=SIGMA_RANGE, unit="ln(ohm)"), frac)
    if states["HRS"].median <= states["LRS"].median:
        raise InputError(f"params={str(p)!r}: device.HRS.median={states['HRS'].median:g} ohm is not allowed: "
                         f"must exceed device.LRS.median={states['LRS'].median:g} ohm")
    relax = device.relaxation
    if "relaxation" in dev:
        r = dev["relaxation"]
        where = f"params={str(p)!r} device.relaxation"
        if not isinstance(r, dict):
            raise InputError(f"{where}: must be an object")
        _only_keys(r, RELAX_KEYS, where)
        relax = Relaxation(
            k_hrs=_num(r, "k_hrs", where, positive=False, bounds=RELAX_K_RANGE) if "k_hrs" in r else relax.k_hrs,
            k_lrs=_num(r, "k_lrs", where, positive=False, bounds=RELAX_K_RANGE) if "k_lrs" in r else relax.k_lrs,
            tau=_num(r, "tau", where, bounds=RELAX_TAU_RANGE, unit="s") if "tau" in r else relax.tau)
    device = DeviceModel(lrs=states["LRS"], hrs=states["HRS"], relaxation=relax,
                         programming=device.programming if not dev else None)
    pc = doc.get("pcsa", {})
    if not isinstance(pc, dict):
        raise InputError(f"params={str(p)!r}: 'pcsa' must be an object")
    where = f"params={str(p)!r} pcsa"
    _only_keys(pc, PCSA_KEYS, where)
    params = apply_transistor_block(DEFAULT_PCSA, pc, where)
    if "a_vt_nmos" in pc or "a_vt_pmos" in pc:
        a_n = _num(pc, "a_vt_nmos", where, bounds=A_VT_RANGE, unit="V*m") if "a_vt_nmos" in pc else params.nmos.a_vt
        a_p = _num(pc, "a_vt_pmos", where, bounds=A_VT_RANGE, unit="V*m") if "a_vt_pmos" in pc else params.pmos.a_vt
        params = replace(params, nmos=replace(params.nmos, a_vt=a_n), pmos=replace(params.pmos, a_vt=a_p))
    elif "mismatch_scale" in pc:
        params = scale_mismatch(params, _num(pc, "mismatch_scale", where, bounds=MISMATCH_SCALE_RANGE))
    if "mismatch_scale" in pc and ("a_vt_nmos" in pc or "a_vt_pmos" in pc):
        _num(pc, "mismatch_scale", where, bounds=MISMATCH_SCALE_RANGE)  # checked though A_VT is used
    over = pc.get("overrides", {})
    if over is None or not isinstance(over, dict):
        raise InputError(f"{where}.overrides: must be an object field -> number")
    if over:
        known = set(params.__dataclass_fields__)
        changes = {}
        for k, v in over.items():
            if k not in known or k in ("nmos", "pmos", "widths", "lengths"):
                raise InputError(f"{where}.overrides: field {k!r} is not allowed: must be a scalar PCSAParams field")
            default = getattr(params, k)
            if k in ("readout_fraction", "decision_fraction"):
                bounds = (0.0, 1.0)
            else:
                bounds = (abs(default) / OVERRIDE_FACTOR, abs(default) * OVERRIDE_FACTOR)
            value = _num(over, k, f"{where}.overrides", bounds=bounds)
            if isinstance(default, int) and not float(value).is_integer():
                raise InputError(f"{where}.overrides.{k}={v!r} is not allowed: must be an integer")
            changes[k] = type(default)(value)
        try:
            params = replace(params, **changes)
        except ValueError as exc:
            raise InputError(f"{where}.overrides: {exc}") from None
    return device, params


def load_models(params: str | Path | None) -> tuple[DeviceModel | None, PCSA | None]:
    """(DeviceModel, PCSA) of a PARAMS.json (or preset file); (None, None) for the default models."""
    if params is None:
        return None, None
    device_model, pcsa_params = load_params(params)
    return device_model, PCSA(pcsa_params)
