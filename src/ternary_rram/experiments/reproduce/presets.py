"""Presets of a reproduction run and the constants its studies share (sizes, supplies, criteria)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ternary_rram.nn.train import TrainConfig

#: Nominal supply of the reproduction, V: the SEED's 1.2 V (docs/physics.md section 1.7), kept so that the paper's
#: claims are tested at the supply they were made for. The default transistors (SKY130 core devices, circuit/params.py)
#: are rated 1.8 V, so 1.2 V is 0.6 V below their nominal: compare by overdrive (VDD - |Vth|, |Vth| about 0.69 V).
VDD_NOMINAL: float = 1.2
#: Ternary read error below which single-sense ternary reading "works". [D] chosen.
TERNARY_OK: float = 0.01
#: Ternary read error that still counts as "the scheme is used" at a VDD. [D] chosen.
TERNARY_USED: float = 0.05
STATE_LABEL: dict[int, str] = {1: "+1 (LRS,HRS)", -1: "-1 (HRS,LRS)", 0: "0 (HRS,HRS)"}
#: Section 7 (networks on the chip): read mode, array size, temperature (degrees C) and test images per
#: fresh read. [D] chosen: the arrays are sensed for every inference (so the sense amplifiers and bit
#: lines are part of every inference's energy, and each read draws fresh errors), 128 x 128 arrays
#: (the chip layer's default), the nominal temperature of sections 2-4.
CHIP_READS: str = "every-inference"
CHIP_ARRAY: tuple[int, int] = (128, 128)
CHIP_TEMPERATURE_C: float = 27.0
CHIP_BATCH: int = 500


# ------------------------------------------------------------------------------------------------
# presets
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Preset:
    """Sizes of a reproduction run.

    Attributes:
        name: "tiny", "quick" or "full".
        vdds: supply grid, V. windows: sense-window grid, s.
        n_map: Monte Carlo instances per state and VDD in the map. n_point: per state and PVT point.
        n_wave: instances per state drawn in the waveform figure.
        temperatures_c: temperatures of the robustness study, degrees Celsius.
        corners: process corners in units of PROCESS_SIGMA_VT (+ = slow, higher |Vth|).
        widths: VGG widths F. epochs: training epochs. data_limit: images kept per split (None: all).
        max_batches: training batches per epoch (None: all). bers: error rates of section 6.
        repeats: error draws per evaluation. anneal_within_run: one cosine cycle over the run
            (instead of the seed recipe's 100/200/400 cycles).
        steps_per_tau: transient accuracy knob (None: the circuit default).
        chip_grid, chip_mc, chip_amplifiers: amplifier pool of the chip in section 7: resistance
            points per axis, noise draws per point and amplifiers (transient senses per VDD:
            chip_amplifiers * chip_grid**2 * chip_mc).
        judge_shipped: on CIFAR-10, judge the network claims (binary against ternary, error
            tolerance, the chip) on the converged networks shipped with the package
            (``ternary_rram.nn.packed.SHIPPED_CIFAR10``) instead of the preset's own short runs, when both are shipped.
    """

    name: str
    vdds: tuple[float, ...]
    windows: tuple[float, ...]
    n_map: int
    n_point: int
    n_wave: int
    temperatures_c: tuple[float, ...]
    corners: tuple[float, ...]
    widths: tuple[int, ...]
    epochs: int
    data_limit: int | None
    max_batches: int | None
    bers: tuple[float, ...]
    repeats: int
    anneal_within_run: bool
    steps_per_tau: float | None = None
    chip_grid: int = 17
    chip_mc: int = 8
    chip_amplifiers: int = 8
    judge_shipped: bool = False


PRESETS: dict[str, Preset] = {
    # VDD grids: the seed's 1.2 V down to where the default (SKY130) transistors stop reading (LRS, HRS):
    # the timing margin closes near 0.85 V and nothing reliable decides below about 0.75 V (docs/results.md).
    "tiny": Preset("tiny", vdds=(1.2, 0.9), windows=(0.5e-9, 1e-9, 2.2e-9), n_map=6, n_point=6, n_wave=1,
                   temperatures_c=(-40.0, 27.0, 125.0), corners=(-3.0, 3.0), widths=(2,), epochs=1,
                   data_limit=200, max_batches=2, bers=(0.0, 0.1), repeats=1, anneal_within_run=True,
                   steps_per_tau=3.0, chip_grid=9, chip_mc=4, chip_amplifiers=2),
    "quick": Preset("quick", vdds=(1.2, 1.1, 1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7),
                    windows=tuple(float(w) for w in np.geomspace(0.25e-9, 8e-9, 9)), n_map=150, n_point=150,
                    n_wave=6, temperatures_c=(-40.0, 27.0, 125.0), corners=(-3.0, 3.0), widths=(8, 16), epochs=4,
                    data_limit=6000, max_batches=None, bers=(0.0, 1e-3, 1e-2, 3e-2, 0.1, 0.2), repeats=2,
                    anneal_within_run=True, judge_shipped=True),
    "full": Preset("full", vdds=tuple(round(v, 3) for v in np.arange(1.2, 0.649, -0.05)),
                   windows=tuple(float(w) for w in np.geomspace(0.1e-9, 30e-9, 18)), n_map=2000, n_point=5000,
                   n_wave=10, temperatures_c=(-40.0, 27.0, 125.0), corners=(-3.0, 3.0), widths=(32, 64, 128, 256),
                   epochs=700, data_limit=None, max_batches=None,
                   bers=(0.0, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.2), repeats=5, anneal_within_run=False,
                   chip_grid=25, chip_mc=16, chip_amplifiers=32),
}


def train_config(preset: Preset, seed: int):
    """The :class:`~ternary_rram.nn.train.TrainConfig` of a preset: the seed recipe's defaults (AdamW,
    lr 0.01, batch 128, normalised decay, moments reset at restarts), with the preset's epochs and, for
    the short presets, one cosine cycle over the run instead of the 100/200/400 warm restarts."""

    return TrainConfig(epochs=preset.epochs, cycles=(preset.epochs,) if preset.anneal_within_run else (100, 200, 400),
                       seed=seed, max_batches=preset.max_batches)
