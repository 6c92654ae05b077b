"""The operating point of a chip: supply, sense window, temperature, and the amplifier pool it reads with.

* :func:`operating_point_for`: validates VDD / window / temperature; when no window is given it is
  chosen by the one rule of the circuit layer (:func:`ternary_rram.circuit.window.choose_window`:
  the geometric centre of the timing margin, else the best score); a window that reads nothing
  (P(correct | LRS, HRS) below ``MIN_P_CORRECT``) is refused.
* :func:`pool_at`: the column-amplifier pool at an operating point (transient Monte Carlo per
  amplifier over the per-read noise), cached as JSON in a folder when one is given (keyed by the
  operating point, pool size, grid, noise, seed and the PCSA and device parameters).
* :func:`chip_read_rates`: P(read | programmed) of a chip's operating point, what chip-aware
  training injects.

Used by ``ternary-rram deploy`` / ``train --chip`` (through ``experiments``), the demo and the
Python face (``api.Chip``).
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ternary_rram.array.array2t2r import Array2T2R, WriteVerify
from ternary_rram.array.column import N_AMPLIFIERS, N_GRID, N_MC, AmplifierPool
from ternary_rram.array.params import DEFAULT_NOISE, ReadNoise
from ternary_rram.chip.deploy import build_amplifier_pool, default_verify
from ternary_rram.chip.params import MIN_P_CORRECT, T_SENSE_RANGE, TEMPERATURE_C_RANGE, VDD_RANGE, WINDOW_SAMPLES
from ternary_rram.circuit.operating import OperatingPoint
from ternary_rram.circuit.pcsa import PCSA
from ternary_rram.circuit.read import seeded_generator, simulate_state
from ternary_rram.circuit.window import choose_window, timing_margin
from ternary_rram.device import DeviceModel
from ternary_rram.errors import InputError, check_range
from ternary_rram.fileio import atomic_write_text, jsonable
from ternary_rram.nn.chip_aware import RATE_SAMPLES, amplifier_read_rates, pair_read_rates

#: Columns of each array programmed for :func:`programmed_pairs` (cells are independent: the shape only
#: sets how the samples are laid out).
RATE_COLUMNS = 500


@dataclass(frozen=True)
class WindowInfo:
    """How the sense window was set: ``source`` "given" or "auto (...)"; probe result; with an
    automatic window also the timing margin of the scan (``w_low``, ``w_high`` s, NaN when given; inf:
    beyond the scan) and the rule's ``policy`` ("centre" or "score")."""

    t_sense: float
    source: str
    p_correct_lh: float
    p_zero_hh: float
    n_samples: int
    w_low: float = float("nan")
    w_high: float = float("nan")
    policy: str = "given"

    @property
    def margin(self) -> float:
        """W_high / W_low (NaN when unknown)."""
        return timing_margin(self.w_low, self.w_high)

    def to_dict(self) -> dict[str, Any]:
        return {"t_sense": self.t_sense, "source": self.source, "p_correct_lh": self.p_correct_lh,
                "p_zero_hh": self.p_zero_hh, "n_samples": self.n_samples, "w_low": self.w_low,
                "w_high": self.w_high, "policy": self.policy}


def _generator(seed: int, *keys: float) -> torch.Generator:
    # Keys resolved to 1e-12 (windows are ~1e-10 s), unlike the sense study's 1e-6.
    return seeded_generator(seed, *keys, resolution=1e12)


def check_vdd(vdd: float) -> float:
    """``vdd`` if inside :data:`VDD_RANGE`, else :class:`InputError`."""
    return check_range("vdd", vdd, VDD_RANGE[0], VDD_RANGE[1], unit="V")


def operating_point_for(vdd: float, t_sense: float | None = None, temperature_c: float = 27.0, *,
                        pcsa: PCSA | None = None, device_model: DeviceModel | None = None,
                        n: int = WINDOW_SAMPLES, seed: int = 0,
                        factors: Sequence[float] | None = None) -> tuple[OperatingPoint, WindowInfo]:
    """Validated operating point; window chosen by :func:`~ternary_rram.circuit.window.choose_window`
    when ``t_sense`` is None.

    The window is probed with ``n`` transient senses per state ((LRS, HRS) and (HRS, HRS) cells from
    the device model); a window with P(correct | LRS, HRS) < ``MIN_P_CORRECT`` raises InputError.
    """
    check_vdd(vdd)
    check_range("temperature_c", temperature_c, *TEMPERATURE_C_RANGE, unit="degC")
    pcsa = pcsa if pcsa is not None else PCSA()
    dm = device_model if device_model is not None else DeviceModel()
    gen = _generator(seed, vdd, temperature_c)
    if t_sense is None:
        kw = {} if factors is None else {"factors": tuple(factors)}
        choice = choose_window(pcsa, dm, vdd, temperature_c, n, gen, **kw)
        i = choice.best_index
        info = WindowInfo(choice.t_sense, "auto (circuit.window.choose_window)",
                          choice.p_correct_lh[i], choice.p_zero_hh[i], n, w_low=choice.w_low,
                          w_high=choice.w_high, policy=choice.policy)
    else:
        check_range("t_sense", t_sense, *T_SENSE_RANGE, unit="s")
        op = OperatingPoint.from_celsius(vdd, t_sense, temperature_c)
        lh = simulate_state(pcsa, dm, op, "LRS/HRS", n, gen)
        hh = simulate_state(pcsa, dm, op, "HRS/HRS", n, gen)
        info = WindowInfo(float(t_sense), "given", float((lh.value == 1).double().mean()),
                          float((hh.value == 0).double().mean()), n)
    if not info.p_correct_lh >= MIN_P_CORRECT:
        raise InputError(f"t_sense={info.t_sense:.3g} s at vdd={vdd:g} V is not allowed: it reads nothing "
                         f"(P(correct | LRS, HRS) = {info.p_correct_lh:.2f} < {MIN_P_CORRECT}); "
                         "choose a longer window or a higher VDD")
    return OperatingPoint.from_celsius(vdd, info.t_sense, temperature_c), info


def pool_at(op: OperatingPoint, *, pcsa: PCSA | None = None, device_model: DeviceModel | None = None,
            n_amplifiers: int = N_AMPLIFIERS, n_grid: int = N_GRID, n_mc: int = N_MC,
            noise: ReadNoise = DEFAULT_NOISE, seed: int = 0, t_relax: float = 0.0,
            cache_dir: str | Path | None = None) -> AmplifierPool:
    """Amplifier pool at ``op`` over the device range; read from / written to ``cache_dir`` if given.

    The cache key covers the operating point, pool size, grid, Monte Carlo count, noise, seed and the
    PCSA and device parameters (their reprs).
    """
    pcsa = pcsa if pcsa is not None else PCSA()
    dm = device_model if device_model is not None else DeviceModel()
    path = None
    if cache_dir is not None:
        key = json.dumps([op.vdd, op.t_sense, op.temperature, n_amplifiers, n_grid, n_mc, repr(noise), seed,
                          repr(pcsa.params), repr(dm)] + ([t_relax] if t_relax else []), sort_keys=True)
        h = hashlib.sha256(key.encode()).hexdigest()[:16]
        path = Path(cache_dir) / f"pool-{op.vdd:.3f}V-{h}.json"
        if path.exists():
            try:
                return AmplifierPool.from_dict(json.loads(path.read_text()))
            except (InputError, ValueError, KeyError, OSError, TypeError, AttributeError, RecursionError) as exc:
                # a damaged cache entry is reported (one console warning line) and rebuilt
                warnings.warn(f"cache unit {path.name} is unreadable ({type(exc).__name__}); computing it again",
                              stacklevel=2)
    pool = build_amplifier_pool(op, pcsa, dm, n_amplifiers=n_amplifiers, n_grid=n_grid, n_mc=n_mc,
                                noise=noise, t_relax=t_relax, generator=_generator(seed, op.vdd, op.t_sense))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(jsonable(pool.to_dict())))
    return pool


def chip_read_rates(vdd: float, t_sense: float | None = None, temperature_c: float = 27.0, *,
                    pcsa: PCSA | None = None, device_model: DeviceModel | None = None, n_grid: int = N_GRID,
                    n_mc: int = N_MC, seed: int = 0, cache_dir: str | Path | None = None,
                    n: int = RATE_SAMPLES, n_amplifiers: int = N_AMPLIFIERS, per_amplifier: bool = False
                    ) -> tuple[list, OperatingPoint, WindowInfo]:
    """P(read | programmed) (3 x 3, rows and columns -1, 0, +1) of the chip at this operating point,
    or with ``per_amplifier`` one such table per amplifier of the pool (n_amplifiers x 3 x 3).

    The chip's own read model: the amplifier pool (``n_amplifiers`` maps with per-read noise) over
    cells programmed with the chip's write-verify (:func:`programmed_pairs`,
    :func:`ternary_rram.nn.chip_aware.pair_read_rates` / ``amplifier_read_rates``), ``n`` cells per
    state; the pool is cached in ``cache_dir`` (a resumed run finds the same rates). Returns
    (rates, op, window info).
    """
    if isinstance(n_grid, bool) or not isinstance(n_grid, int) or n_grid < 2:
        raise InputError(f"--n-grid {n_grid} is not allowed: must be an integer >= 2")
    if isinstance(n_mc, bool) or not isinstance(n_mc, int) or n_mc < 1:
        raise InputError(f"--n-mc {n_mc} is not allowed: must be an integer >= 1")
    op, info = operating_point_for(vdd, t_sense, temperature_c, pcsa=pcsa, device_model=device_model, seed=seed)
    pool = pool_at(op, pcsa=pcsa, device_model=device_model, n_amplifiers=n_amplifiers, n_grid=n_grid,
                   n_mc=n_mc, seed=seed, cache_dir=cache_dir)
    pairs = programmed_pairs(device_model, n=n, generator=torch.Generator().manual_seed(seed))
    rates = amplifier_read_rates if per_amplifier else pair_read_rates
    return rates(pool.maps, pairs).tolist(), op, info


def programmed_pairs(device_model: DeviceModel | None = None, *, n: int = RATE_SAMPLES,
                     verify: WriteVerify | str | None = "default",
                     generator: torch.Generator | None = None) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
    """Device resistances (ohm, float64 (n,) each) of ``n`` cells per state -1, 0, +1, programmed as
    ``deploy`` programs a chip: one array per state, its write-verify (``"default"``:
    :func:`~ternary_rram.chip.deploy.default_verify`; None: one pulse per device). The verify cuts the
    tails of the resistance spread, so these cells read better than fresh devices would."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"n={n!r} is not allowed: must be an integer >= 1 (cells per state)")
    dm = device_model if device_model is not None else DeviceModel()
    check = default_verify(dm) if verify == "default" else verify
    cols = RATE_COLUMNS
    rows = max(1, -(-n // cols))
    pairs = {}
    for s in (-1, 0, 1):
        arr = Array2T2R(rows, cols, dm)
        arr.program(torch.full((rows, cols), s, dtype=torch.int8), generator, verify=check)
        pairs[s] = (arr.r_bl.reshape(-1)[:n], arr.r_blb.reshape(-1)[:n])
    return pairs
