"""Choice of the sense window at one (VDD, temperature): the one window scan and the one rule.

:func:`choose_window` scans candidate windows (``WINDOW_FACTORS`` x the PCSA characteristic time)
with one simulation per programmed state at the longest candidate (:func:`ternary_rram.circuit.read.scan_states`)
and takes the geometric centre of the timing margin [W_low, W_high] (:func:`margin_windows`), or the
best score where there is no margin. :func:`replica_delay` is what a tracking timing circuit would
measure. The chip layer (``chip/operating.py``) and the sense study use this rule; nothing else
chooses a window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.params import TRANSISTOR_NAMES
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.circuit.read import DEFAULT_BATCH, STATES, outcome_rates, scan_states
from ternary_rram.device.model import DeviceModel
from ternary_rram.errors import InputError

Tensor = torch.Tensor

#: Candidate windows of the automatic choice, in units of the PCSA characteristic time
#: (``PCSA.characteristic_time(op)``, the latch discharge time scale at that VDD). [D] chosen:
#: from 1 t_char (before any (LRS, HRS) pair decides: they take about 1-3 t_char) to 100 t_char
#: (HRS/HRS pairs of typical imbalance decide after some tens of t_char).
WINDOW_FACTORS: tuple[float, ...] = tuple(float(x) for x in np.geomspace(1.0, 100.0, 21))
#: Weight of the sign-flip rate subtracted from the window score. [D] chosen: a flip costs 100x
#: a +-1 <-> 0 error (docs/physics.md section 2.2-2.3: networks tolerate 0-errors, not sign flips).
FLIP_PENALTY: float = 100.0
#: W_low lets this fraction of (LRS, HRS)/(HRS, LRS) reads decide; W_high keeps P(0 | HRS, HRS) >= W_HIGH_P_ZERO.
W_LOW_DECIDED: float = 0.99
W_HIGH_P_ZERO: float = 0.90


def timing_margin(w_low: float, w_high: float) -> float:
    """W_high / W_low of a ternary timing margin (NaN where W_low is unknown or not reached)."""
    return w_high / w_low if math.isfinite(w_low) and w_low > 0 else float("nan")


@dataclass(frozen=True)
class WindowChoice:
    """Automatic sense-window choice at one (VDD, temperature).

    Attributes:
        vdd: V. temperature_c: degrees C. t_sense: chosen window, s. t_char: the PCSA
        characteristic time at that point, s. windows: candidate windows, s. p_correct_lh,
        p_correct_hl, p_zero_hh, p_flip: per candidate (flip: mean of the two sign-flip rates).
        score: min(p_correct_lh, p_correct_hl, p_zero_hh) - FLIP_PENALTY * p_flip per candidate.
        n_samples: instances per state in the scan. w_low: the window that lets 99 % of (LRS, HRS) and
        (HRS, LRS) reads decide, s (inf: not within the scan). w_high: the largest window keeping
        P(0 | HRS, HRS) >= 0.9, s (inf: beyond the longest candidate). policy: how t_sense was set
        ("centre": geometric centre of [w_low, w_high]; "score": best score, no margin to centre in;
        "tracking": tracking_factor x the replica delay at this VDD).
    """

    vdd: float
    temperature_c: float
    t_sense: float
    t_char: float
    windows: tuple[float, ...]
    p_correct_lh: tuple[float, ...]
    p_correct_hl: tuple[float, ...]
    p_zero_hh: tuple[float, ...]
    p_flip: tuple[float, ...]
    score: tuple[float, ...]
    n_samples: int
    w_low: float = float("nan")
    w_high: float = float("nan")
    policy: str = "score"

    @property
    def margin(self) -> float:
        """W_high / W_low (NaN where W_low is not reached)."""
        return timing_margin(self.w_low, self.w_high)

    @property
    def best_index(self) -> int:
        """Index of the candidate window closest (in log) to t_sense."""
        return int(np.argmin([abs(math.log(w / self.t_sense)) for w in self.windows]))


def choose_window(pcsa: PCSA, device: DeviceModel, vdd: float, temperature_c: float, n: int,
                  generator: torch.Generator, *, factors: Sequence[float] = WINDOW_FACTORS,
                  batch: int = DEFAULT_BATCH) -> WindowChoice:
    """Pick the sense window that best separates the three states at (``vdd``, ``temperature_c``).

    Candidates: ``factors`` x the PCSA characteristic time at that VDD (log grid). Score per
    candidate: min(P(+1|LRS,HRS), P(-1|HRS,LRS), P(0|HRS,HRS)) - FLIP_PENALTY * P(sign flip).
    The window is the geometric centre sqrt(W_low W_high) of the timing margin (``margin_windows``;
    W_high capped at the longest candidate), the choice most robust to a timing error of either sign;
    where there is no margin (W_low >= W_high) the best score is taken (the middle of a plateau of
    equal best scores). ``n`` instances per state, one simulation per state at the longest candidate.
    """
    t_char = pcsa.characteristic_time(OperatingPoint.from_celsius(vdd, 1e-9, temperature_c))
    windows = tuple(float(f * t_char) for f in factors)
    outs = scan_states(pcsa, device, vdd, temperature_c, windows, n, dict.fromkeys(STATES, generator), batch=batch)
    rates = {state: outcome_rates(out.at_windows(windows), STATES[state][2]) for state, out in outs.items()}
    pc_lh, fl_lh, _ = rates["LRS/HRS"]
    pc_hl, fl_hl, _ = rates["HRS/LRS"]
    _, _, p0 = rates["HRS/HRS"]
    flip = 0.5 * (fl_lh + fl_hl)
    score = torch.minimum(torch.minimum(pc_lh, pc_hl), p0) - FLIP_PENALTY * flip
    w_low, w_high = margin_windows({s: o.t_decide for s, o in outs.items()}, max(windows))
    if math.isfinite(w_low) and w_low < min(w_high, max(windows)):
        # Geometric centre of the margin: equal room (as a ratio) for timing error either way.
        t_sense, policy = math.sqrt(w_low * min(w_high, max(windows))), "centre"
    else:
        best = float(score.max())
        plateau = [i for i, s in enumerate(score.tolist()) if s >= best - 1e-12]
        t_sense, policy = windows[plateau[len(plateau) // 2]], "score"

    def tup(t: Tensor) -> tuple[float, ...]:
        return tuple(float(x) for x in t.tolist())

    return WindowChoice(vdd=float(vdd), temperature_c=float(temperature_c), t_sense=t_sense, t_char=t_char,
                        windows=windows, p_correct_lh=tup(pc_lh), p_correct_hl=tup(pc_hl), p_zero_hh=tup(p0),
                        p_flip=tup(flip), score=tup(score), n_samples=int(n), w_low=w_low, w_high=w_high,
                        policy=policy)


def margin_windows(decision_times: dict[str, Tensor], longest: float) -> tuple[float, float]:
    """(W_low, W_high) in s from decision times per state (NaN = undecided) simulated over ``longest``.

    Order statistics: W_low is when the ceil(0.99 N)-th (LRS, HRS)/(HRS, LRS) read has decided (inf if
    it never does within ``longest``); W_high when the (floor(0.1 N) + 1)-th (HRS, HRS) read decides,
    the first window at which P(0) drops below 0.9 (inf if that is beyond ``longest``)."""
    lh = torch.cat([decision_times["LRS/HRS"], decision_times["HRS/LRS"]])
    lh = torch.sort(torch.nan_to_num(lh, nan=math.inf)).values
    hh = torch.sort(torch.nan_to_num(decision_times["HRS/HRS"], nan=math.inf)).values
    w_low = float(lh[max(math.ceil(W_LOW_DECIDED * len(lh)) - 1, 0)])
    w_high = float(hh[min(math.floor((1.0 - W_HIGH_P_ZERO) * len(hh) + 1e-9), len(hh) - 1)])
    return w_low, (w_high if w_high <= longest else math.inf)


def replica_delay(pcsa: PCSA, device: DeviceModel, vdd: float, temperature_c: float, t_char: float) -> float:
    """Decision time (s) of a nominal replica cell (median LRS / median HRS, no mismatch) at this VDD: the
    delay a tracking timing circuit built from the same devices would measure."""
    op = OperatingPoint.from_celsius(vdd, 1000.0 * t_char, temperature_c)
    res = pcsa.sense(torch.tensor([device.lrs.median], dtype=torch.float64),
                     torch.tensor([device.hrs.median], dtype=torch.float64), op,
                     dvth=torch.zeros(1, len(TRANSISTOR_NAMES), dtype=torch.float64))
    td = float(res.t_decide[0])
    if not math.isfinite(td):
        raise InputError(f"vdd={vdd!r}: the replica cell does not decide within 1000 t_char: no tracking window")
    return td
