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

The chip model's static part (which amplifier serves a column, which cell stays weak for its
lifetime) is not modelled here: each read is independent given the programmed state.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ternary_rram.array import encode
from ternary_rram.circuit.sensemap import SenseMap, mean_probabilities
from ternary_rram.device import DeviceModel
from ternary_rram.errors import InputError
from ternary_rram.nn.layers import quantized_layers

STATES = (-1, 0, 1)
RATE_SAMPLES = 200_000  # device pairs per state: standard error of a rate p below sqrt(p / 2e5)

__all__ = ["RATE_SAMPLES", "ReadErrorInjector", "check_rates", "pair_read_rates", "set_read_errors",
           "state_read_rates"]


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
    maps = [sense_map] if isinstance(sense_map, SenseMap) else list(sense_map)
    if not maps:
        raise InputError("sense_map=[] is not allowed: give at least one map")
    missing = [s for s in STATES if s not in pairs]
    if missing:
        raise InputError(f"pairs without states {missing} are not allowed: give cells of -1, 0 and +1")
    rows = []
    for s in STATES:
        r_bl, r_blb = (torch.as_tensor(r, dtype=torch.float64).reshape(-1) for r in pairs[s])
        rows.append(mean_probabilities(maps, r_bl, r_blb).mean(0))
    rates = torch.stack(rows)
    return rates / rates.sum(1, keepdim=True)


def check_rates(rates: Sequence[Sequence[float]] | Tensor) -> Tensor:
    """``rates`` as a float64 (3, 3) tensor; InputError unless every row is a probability vector."""
    try:
        r = torch.as_tensor(rates, dtype=torch.float64)
    except (TypeError, ValueError):
        raise InputError(f"read rates {rates!r} are not allowed: must be a 3 x 3 table of probabilities") from None
    if tuple(r.shape) != (3, 3) or not bool(torch.isfinite(r).all()) or bool((r < 0).any()) \
            or not bool(torch.allclose(r.sum(1), torch.ones(3, dtype=torch.float64), atol=1e-9)):
        raise InputError(f"read rates {r.tolist()} are not allowed: must be 3 x 3, rows of "
                         "probabilities (>= 0, summing to 1) for programmed -1, 0, +1")
    return r


class ReadErrorInjector:
    """Error hook: quantized weights in {-1, 0, +1} (any shape) -> values read with ``rates``.

    Args:
        rates: (3, 3) read rates, row = programmed state -1/0/+1, column = read value -1/0/+1.
        generator: optional ``torch.Generator`` for the uniform draws (on the weights' device).
    """

    def __init__(self, rates: Sequence[Sequence[float]] | Tensor,
                 generator: torch.Generator | None = None) -> None:
        self.rates = check_rates(rates)
        self.generator = generator
        self._cum: dict[tuple, Tensor] = {}

    def _cumulative(self, w: Tensor) -> Tensor:
        key = (w.device, w.dtype)
        if key not in self._cum:
            # P(read -1 | s) and P(read <= 0 | s); float32 at least, the rates can be ~1e-6.
            dtype = torch.float64 if w.dtype == torch.float64 else torch.float32
            self._cum[key] = self.rates.cumsum(1)[:, :2].to(device=w.device, dtype=dtype)
        return self._cum[key]

    def __call__(self, w: Tensor) -> Tensor:
        cum = self._cumulative(w)
        state = (w.round().to(torch.long) + 1).clamp_(0, 2)
        c = cum[state]  # (..., 2)
        if self.generator is None:
            u = torch.rand(w.shape, device=w.device, dtype=c.dtype)
        else:
            u = torch.rand(w.shape, generator=self.generator, device=self.generator.device,
                           dtype=c.dtype).to(w.device)
        read = (u >= c[..., 0]).to(w.dtype) + (u >= c[..., 1]).to(w.dtype) - 1
        return read

    def __repr__(self) -> str:
        return f"ReadErrorInjector(rates={self.rates.tolist()})"


def set_read_errors(model: nn.Module, rates: Sequence[Sequence[float]] | Tensor | None,
                    generator: torch.Generator | None = None) -> None:
    """Install read errors with ``rates`` in every quantized layer of ``model`` (None removes them)."""
    layers = [layer for _, layer in quantized_layers(model) if layer.weight_quantizer.is_quantized]
    if rates is None:
        for layer in layers:
            layer.error_hook = None
        return
    injector = ReadErrorInjector(rates, generator)
    for layer in layers:
        layer.error_hook = injector
