"""Parameter transforms of the PCSA: latch area, Pelgrom mismatch scale, process corner (one definition each).

* :func:`scale_latch_area`: the gate area of chosen transistors (default the cross-coupled latch)
  times ``area_scale`` with W and L both scaled by sqrt(area_scale): W/L, hence the drive current and
  the latch's speed, stays; the Pelgrom sigma A_VT / sqrt(W L) falls as 1/sqrt(area_scale). That is
  the knob the mismatch floor asks about (how much area buys how much matching); widening alone would
  also make the latch stronger and faster, mixing two effects in one number.
* :func:`scale_mismatch`: the Pelgrom coefficients A_VT of both transistor types times a factor (what
  ``calibrate`` fits to read-outcome counts).
* :func:`process_corner`: every NMOS and PMOS |Vth| shifted by k x PROCESS_SIGMA_VT (global, die to die).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

from ternary_rram.circuit.params import PROCESS_SIGMA_VT, TRANSISTOR_NAMES, PCSAParams
from ternary_rram.errors import InputError, check_positive

#: Latch transistors (cross-coupled pair), scaled by :func:`scale_latch_area` by default.
LATCH_TRANSISTORS: tuple[str, ...] = ("MP1", "MN1", "MP2", "MN2")
#: Access transistors of the two 1T1R branches.
ACCESS_TRANSISTORS: tuple[str, ...] = ("MA1", "MA2")


def scale_latch_area(params: PCSAParams, area_scale: float,
                     transistors: Sequence[str] = LATCH_TRANSISTORS) -> PCSAParams:
    """PCSA parameters with the W and L of ``transistors`` (default: the latch) scaled by sqrt(area_scale).

    W/L (drive strength) is unchanged; gate area scales by ``area_scale``, so the Pelgrom mismatch
    sigma scales by 1/sqrt(area_scale).
    """
    check_positive("area_scale", area_scale)
    k = math.sqrt(area_scale)
    unknown = [t for t in transistors if t not in TRANSISTOR_NAMES]
    if unknown:
        raise InputError(f"transistor={unknown[0]!r} is not allowed: must be one of {', '.join(TRANSISTOR_NAMES)}")
    idx = {TRANSISTOR_NAMES.index(t) for t in transistors}
    widths = tuple(w * k if i in idx else w for i, w in enumerate(params.widths))
    lengths = tuple(l * k if i in idx else l for i, l in enumerate(params.lengths))
    return replace(params, widths=widths, lengths=lengths)


def scale_mismatch(params: PCSAParams, mismatch_scale: float) -> PCSAParams:
    """PCSAParams with the Pelgrom coefficients of both transistor types multiplied by ``mismatch_scale``."""
    if not (math.isfinite(mismatch_scale) and mismatch_scale > 0):
        raise InputError(f"mismatch_scale={mismatch_scale!r} is not allowed: must be finite and > 0")
    return replace(params, nmos=replace(params.nmos, a_vt=params.nmos.a_vt * mismatch_scale),
                   pmos=replace(params.pmos, a_vt=params.pmos.a_vt * mismatch_scale))


def process_corner(params: PCSAParams, k_sigma: float) -> PCSAParams:
    """PCSAParams with NMOS and PMOS |Vth| shifted by ``k_sigma`` * PROCESS_SIGMA_VT (V); + is slow."""
    d = k_sigma * PROCESS_SIGMA_VT
    return replace(params, nmos=replace(params.nmos, vt0=params.nmos.vt0 + d),
                   pmos=replace(params.pmos, vt0=params.pmos.vt0 + d))
