"""Chip-aware training: the read errors of an operating point in the forward pass.

The read model of a chip at one operating point (VDD, sense window) is its sense map (circuit
layer: P(read -1, 0, +1) for a pair of device resistances) over the resistances the device model
gives each programmed state. Averaged over devices, that is a 3 x 3 matrix of *read rates*::

    rates[s + 1, r + 1] = P(read r | programmed s),  s, r in {-1, 0, +1}

(:func:`state_read_rates` over fresh devices, :func:`pair_read_rates` over given cells, e.g. the
chip's write-verified ones in ``chip.operating.chip_read_rates``; weight +1 is the pair (LRS, HRS),
-1 is (HRS, LRS), 0 is (HRS, HRS), as ``array.encode``). During training,
:class:`ReadErrorInjector` replaces each quantized weight by a value drawn from its state's row,
fresh at every forward pass (a chip read at every inference); the gradient passes straight through
to the latent weights (``layers.QuantizedLayer``).

A chip's sense amplifiers are its static part: each column (group) of each array has one, drawn
once from a pool of K amplifiers whose mismatches differ, and one bad amplifier misreads many of its
column's weights for the chip's life. Given per-amplifier rates (K, 3, 3)
(:func:`amplifier_read_rates`) and an :class:`AmplifierLayout`, the injector draws, at each forward
pass, a pool member for every amplifier of every layer (a new chip) and reads each weight with its
amplifier's rates, so the errors cluster in columns as on the chip. With (3, 3) rates every weight is
read independently. What stays out: which cell of a chip is weak for its lifetime (the cells'
resistances are redrawn at every forward pass).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ternary_rram.array import amplifier_index, encode, matrix_shape
from ternary_rram.circuit.sensemap import SenseMap, map_probabilities, mean_probabilities
from ternary_rram.device import DeviceModel
from ternary_rram.errors import InputError, check_int
from ternary_rram.nn.layers import quantized_layers

STATES = (-1, 0, 1)
RATE_SAMPLES = 200_000  # device pairs per state: standard error of a rate p below sqrt(p / 2e5)

__all__ = ["RATE_SAMPLES", "AmplifierLayout", "ReadErrorInjector", "amplifier_read_rates", "check_rates",
           "pair_read_rates", "set_read_errors", "state_read_rates"]


@dataclass(frozen=True)
class AmplifierLayout:
    """Where a layer's weights meet the sense amplifiers: its weight matrix (one row per input, one
    column per output, ``array.weight_matrix``) is tiled into arrays of ``rows`` x ``cols`` with one
    amplifier per ``column_group`` adjacent columns of each array (as ``chip.deploy`` builds a chip)."""

    rows: int
    cols: int
    column_group: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "rows", check_int("array rows", self.rows, 1, 1 << 16))
        object.__setattr__(self, "cols", check_int("array columns", self.cols, 1, 1 << 16))
        object.__setattr__(self, "column_group", check_int("column_group", self.column_group, 1, self.cols,
                                                           why="columns of one array share an amplifier"))

    def index(self, weight_shape: Sequence[int]) -> Tensor:
        """Amplifier of each weight, int64 of ``weight_shape`` ((out, in) or (C_out, C_in, k, k))."""
        n_rows, n_cols = matrix_shape(weight_shape)
        # the matrix is the weight reshaped (n_cols, n_rows) and transposed (array.weight_matrix)
        amp = amplifier_index(n_rows, n_cols, self.rows, self.cols, self.column_group)
        return amp.t().reshape(tuple(int(d) for d in weight_shape))


def state_read_rates(sense_map: SenseMap | Sequence[SenseMap], device_model: DeviceModel | None = None, *,
                     n: int = RATE_SAMPLES, generator: torch.Generator | None = None,
                     t_relax: float = 0.0) -> Tensor:
    """Read rates (3, 3) float64 of the operating point of ``sense_map``: row = programmed state
    -1/0/+1, column = read value -1/0/+1; each row sums to 1.

    Each row is the mean of the sense map's probabilities over ``n`` device pairs drawn from
    ``device_model`` in that state (``t_relax`` s after programming). Given several maps (the
    amplifier pool of a chip, one map per amplifier), the rows are also averaged over the maps:
    every column of a chip draws its amplifier from the pool with equal probability.
    """
    if n < 1:
        raise InputError(f"n={n!r} is not allowed: must be >= 1")
    dm = device_model if device_model is not None else DeviceModel()
    pairs = {}
    for s in STATES:
        bl_lrs, blb_lrs = encode(torch.full((n,), s, dtype=torch.int8))
        pairs[s] = (dm.sample_pairs(bl_lrs, generator, t_relax=t_relax),
                    dm.sample_pairs(blb_lrs, generator, t_relax=t_relax))
    return pair_read_rates(sense_map, pairs)


def pair_read_rates(sense_map: SenseMap | Sequence[SenseMap],
                    pairs: dict[int, tuple[Tensor, Tensor]]) -> Tensor:
    """Read rates (3, 3) float64 over given cells: ``pairs[s] = (r_bl, r_blb)``, the device
    resistances (ohm, any equal shapes) of cells programmed to state s in -1, 0, +1 (e.g. as a chip's
    write-verify leaves them). Each row is the mean of the maps' probabilities over its cells."""
    return _state_rates(mean_probabilities, _maps(sense_map), pairs, dim=0)


def amplifier_read_rates(sense_map: SenseMap | Sequence[SenseMap],
                         pairs: dict[int, tuple[Tensor, Tensor]]) -> Tensor:
    """Read rates of each amplifier (K, 3, 3) float64 over given cells, for K maps (the amplifiers of
    a pool): ``[k, s + 1, r + 1]`` = P(read r | programmed s) through amplifier k. ``pairs`` as in
    :func:`pair_read_rates`, whose rates are the mean of these over the K amplifiers."""
    return _state_rates(map_probabilities, _maps(sense_map), pairs, dim=1)


def _maps(sense_map: SenseMap | Sequence[SenseMap]) -> list[SenseMap]:
    maps = [sense_map] if isinstance(sense_map, SenseMap) else list(sense_map)
    if not maps:
        raise InputError("sense_map=[] is not allowed: give at least one map")
    return maps


def _state_rates(probabilities, maps: list[SenseMap], pairs: dict[int, tuple[Tensor, Tensor]], dim: int) -> Tensor:
    """Rows P(read | s) for s = -1, 0, +1, each the mean over its cells of ``probabilities(maps, r_bl,
    r_blb)`` (shape (N, ..., 3)), stacked along ``dim`` and renormalised."""
    missing = [s for s in STATES if s not in pairs]
    if missing:
        raise InputError(f"pairs without states {missing} are not allowed: give cells of -1, 0 and +1")
    rows = []
    for s in STATES:
        r_bl, r_blb = (torch.as_tensor(r, dtype=torch.float64).reshape(-1) for r in pairs[s])
        rows.append(probabilities(maps, r_bl, r_blb).mean(0))
    rates = torch.stack(rows, dim=dim)
    return rates / rates.sum(-1, keepdim=True)


def check_rates(rates: Sequence | Tensor) -> Tensor:
    """``rates`` as a float64 tensor (3, 3), or (K, 3, 3) per amplifier; InputError unless every row
    is a probability vector."""
    what = "a 3 x 3 table of probabilities, or K such tables (one per amplifier)"
    try:
        r = torch.as_tensor(rates, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise InputError(f"read rates {rates!r} are not allowed: must be {what}") from None
    if r.ndim not in (2, 3) or tuple(r.shape[-2:]) != (3, 3) or r.numel() == 0 \
            or not bool(torch.isfinite(r).all()) or bool((r < 0).any()) \
            or not bool(torch.allclose(r.sum(-1), torch.ones((), dtype=torch.float64), atol=1e-9)):
        shown = r.tolist() if r.numel() <= 9 else f"of shape {tuple(r.shape)}"
        raise InputError(f"read rates {shown} are not allowed: must be {what}, rows of probabilities "
                         "(>= 0, summing to 1) for programmed -1, 0, +1")
    return r


class ReadErrorInjector:
    """Error hook: quantized weights in {-1, 0, +1} (shape (out, in) or (C_out, C_in, k, k)) -> the
    values read with ``rates``, fresh at every call.

    Args:
        rates: (3, 3) read rates, row = programmed state -1/0/+1, column = read value -1/0/+1, every
            weight read independently; or (K, 3, 3), one table per amplifier of a pool.
        generator: optional ``torch.Generator`` for the draws (on the weights' device).
        layout: with (K, 3, 3) rates: which weights share an amplifier. Each call draws a pool
            member for every amplifier (uniformly, as a chip is made) and reads each weight with
            its amplifier's table.
    """

    def __init__(self, rates: Sequence | Tensor, generator: torch.Generator | None = None,
                 layout: AmplifierLayout | None = None) -> None:
        self.rates = check_rates(rates)
        if (self.rates.ndim == 3) != (layout is not None):
            raise InputError("per-amplifier read rates (K x 3 x 3) need an amplifier layout, and a layout needs "
                             "them: give both or neither")
        self.layout = layout
        self.generator = generator
        self._cum: dict[tuple, Tensor] = {}
        self._index: dict[tuple, tuple[Tensor, int]] = {}

    def _cumulative(self, w: Tensor) -> Tensor:
        """P(read -1 | table row) and P(read <= 0 | table row): (3, 2), or (3K, 2) row k*3 + s+1."""
        key = (w.device, w.dtype)
        if key not in self._cum:
            # float32 at least: the rates can be ~1e-6
            dtype = torch.float64 if w.dtype == torch.float64 else torch.float32
            self._cum[key] = self.rates.cumsum(-1)[..., :2].reshape(-1, 2).to(device=w.device, dtype=dtype)
        return self._cum[key]

    def _amplifiers(self, w: Tensor) -> tuple[Tensor, int]:
        """Amplifier of each weight (int64, w's shape, on w's device) and the number of amplifiers."""
        key = (tuple(w.shape), w.device)
        if key not in self._index:
            assert self.layout is not None
            idx = self.layout.index(w.shape)
            self._index[key] = (idx.to(w.device), int(idx.max()) + 1)
        return self._index[key]

    def _random(self, sample, *args: Any, device: torch.device, **kw: Any) -> Tensor:
        """``sample(*args, **kw)`` (torch.rand, torch.randint) from the generator when one is given
        (on its device), moved to ``device``."""
        if self.generator is None:
            return sample(*args, device=device, **kw)
        return sample(*args, generator=self.generator, device=self.generator.device, **kw).to(device)

    def __call__(self, w: Tensor) -> Tensor:
        cum = self._cumulative(w)
        row = (w.round().to(torch.long) + 1).clamp_(0, 2)
        if self.layout is not None:
            amp, n_amp = self._amplifiers(w)
            member = self._random(torch.randint, len(self.rates), (n_amp,), device=w.device)
            row = row + 3 * member[amp]
        c = cum[row]  # (..., 2)
        u = self._random(torch.rand, tuple(w.shape), dtype=c.dtype, device=w.device)
        return (u >= c[..., 0]).to(w.dtype) + (u >= c[..., 1]).to(w.dtype) - 1

    def __repr__(self) -> str:
        if self.layout is None:
            return f"ReadErrorInjector(rates={self.rates.tolist()})"
        return f"ReadErrorInjector({len(self.rates)} amplifiers, {self.layout})"


def set_read_errors(model: nn.Module, rates: Sequence | Tensor | None,
                    generator: torch.Generator | None = None, layout: AmplifierLayout | None = None) -> None:
    """Install read errors with ``rates`` (and ``layout`` for per-amplifier rates; see
    :class:`ReadErrorInjector`) in every quantized layer of ``model`` (None removes them)."""
    layers = [layer for _, layer in quantized_layers(model) if layer.weight_quantizer.is_quantized]
    if rates is None:
        for layer in layers:
            layer.error_hook = None
        return
    injector = ReadErrorInjector(rates, generator, layout)
    for layer in layers:
        layer.error_hook = injector
