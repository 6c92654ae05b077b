"""Regenerate ``examples/measured_counts.csv``: read-outcome counts drawn from the transient PCSA model with
KNOWN parameters, so that ``ternary-rram calibrate`` can be checked against the truth.

Truth: the default transistors (SKY130 tt fit) with mismatch_scale 1.2; LRS 6 kohm, sigma 0.18; HRS 250 kohm,
sigma 0.60 (ln units, total spread); 400 reads per row. Operating points: where the default transistors read
(LRS, HRS) but (HRS, HRS) partly resolves, and at the 0.8 V mismatch floor with a long window (docs/results.md).

    python examples/make_measured_counts.py examples/measured_counts.csv
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.params import DEFAULT_PCSA
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.circuit.read import CELL_STATES
from ternary_rram.circuit.transforms import scale_mismatch
from ternary_rram.device import DeviceModel, LognormalState
from ternary_rram.experiments.calibrate import OutcomeCounts, write_counts_csv

TRUTH_MISMATCH_SCALE = 1.2
DEVICE = DeviceModel(lrs=LognormalState.from_total(6e3, 0.18), hrs=LognormalState.from_total(250e3, 0.60),
                     programming=None)
POINTS = ((1.2, 1.5e-9), (1.0, 2.2e-9), (0.9, 3e-9), (0.8, 8e-9))  # (VDD V, window s)
READS = 400


def main(path: str) -> None:
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(2026)
    pcsa = PCSA(scale_mismatch(DEFAULT_PCSA, TRUTH_MISMATCH_SCALE))
    rows = []
    for vdd, t_sense in POINTS:
        for state in (1, -1, 0):
            bl, blb = CELL_STATES[state]  # the one encoding of a programmed cell
            r_bl = DEVICE.sample(bl, READS, g)
            r_blb = DEVICE.sample(blb, READS, g)
            v = pcsa.sense(r_bl, r_blb, OperatingPoint(vdd, t_sense), generator=g).value.numpy()
            rows.append((state, vdd, t_sense, [(v == k).sum() for k in (-1, 0, 1)]))
    write_counts_csv(path, OutcomeCounts(state=np.array([r[0] for r in rows]), vdd=np.array([r[1] for r in rows]),
                                         t_sense=np.array([r[2] for r in rows]),
                                         temperature_c=np.full(len(rows), 27.0),
                                         counts=np.array([r[3] for r in rows], dtype=np.int64)))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "examples/measured_counts.csv")
