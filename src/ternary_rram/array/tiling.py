"""Tiling of layer weight matrices over 2T2R arrays, and a one-pass read of whole weight matrices.

A layer's weights become a matrix with one row per input (fan-in) and one column per output:
a convolution weight (C_out, C_in, k_h, k_w) unrolls to (C_in * k_h * k_w, C_out), a linear weight
(out, in) to (in, out). Rows of an array are read one at a time and each column has its own PCSA
[S P5], so a column of the matrix is a neuron's synapses and the matrix is cut into
ceil(n_rows / rows) x ceil(n_cols / cols) arrays of the configured size.

:func:`read_weights` reads any number of weights (1e7 in seconds) through a sense map in one
vectorised pass per chunk: all device resistances drawn at once, the sense map sampled at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import torch

from ternary_rram.array.array2t2r import ReadResult, check_weights, count_errors, encode, sense_energy
from ternary_rram.array.params import DEFAULT_ARRAY, ArrayParams
from ternary_rram.device import DeviceModel
from ternary_rram.errors import InputError

if TYPE_CHECKING:
    from ternary_rram.circuit.sensemap import SenseMap

#: Weights per chunk in :func:`read_weights` (bounds the working memory to a few hundred MB). [D]
READ_CHUNK: int = 1 << 22


def matrix_shape(weight_shape: Sequence[int]) -> tuple[int, int]:
    """(n_rows, n_cols) of the unrolled matrix of a weight of shape (out, in) or (C_out, C_in, k_h, k_w).

    A 1-D weight (n,) is taken as one column (n, 1).
    """
    shape = tuple(int(s) for s in weight_shape)
    if any(s < 1 for s in shape):
        raise InputError(f"weight shape {shape} is not allowed: every dimension must be >= 1")
    if len(shape) == 4:
        c_out, c_in, kh, kw = shape
        return c_in * kh * kw, c_out
    if len(shape) == 2:
        out, inp = shape
        return inp, out
    if len(shape) == 1:
        return shape[0], 1
    raise InputError(f"weight shape {shape} is not allowed: must be (out, in) or (C_out, C_in, k_h, k_w)")


def weight_matrix(weight: torch.Tensor) -> torch.Tensor:
    """Unroll a weight to its array matrix: (C_out, C_in, k_h, k_w) -> (C_in*k_h*k_w, C_out),
    (out, in) -> (in, out), (n,) -> (n, 1). Row index of a conv weight: c_in * k_h * k_w + i * k_w + j.
    """
    n_rows, n_cols = matrix_shape(weight.shape)
    return weight.reshape(n_cols, n_rows).t() if weight.ndim != 1 else weight.reshape(n_rows, 1)


def tile_slices(n_rows: int, n_cols: int, params: ArrayParams = DEFAULT_ARRAY
                ) -> list[tuple[slice, slice]]:
    """(row slice, column slice) of each array covering an (n_rows, n_cols) matrix, row-major."""
    return [(slice(r, min(r + params.rows, n_rows)), slice(c, min(c + params.cols, n_cols)))
            for r in range(0, n_rows, params.rows) for c in range(0, n_cols, params.cols)]


@dataclass(frozen=True)
class TileCounts:
    """Arrays, cells and reads of one layer.

    Attributes:
        n_rows, n_cols: unrolled matrix shape.
        arrays_down, arrays_across: arrays along the rows / columns of the matrix.
        array_rows, array_cols: configured array size.
    """

    n_rows: int
    n_cols: int
    arrays_down: int
    arrays_across: int
    array_rows: int
    array_cols: int

    @property
    def arrays(self) -> int:
        """Arrays holding the layer."""
        return self.arrays_down * self.arrays_across

    @property
    def cells(self) -> int:
        """2T2R cells holding a weight (= weights = senses for one full read)."""
        return self.n_rows * self.n_cols

    @property
    def cells_allocated(self) -> int:
        """Cells in the arrays, used or not."""
        return self.arrays * self.array_rows * self.array_cols

    @property
    def utilization(self) -> float:
        """cells / cells_allocated."""
        return self.cells / self.cells_allocated

    @property
    def reads(self) -> int:
        """Sense operations to read every weight once (one per weight)."""
        return self.cells

    @property
    def row_reads(self) -> int:
        """Row read operations to read every weight once (each array reads its rows one by one)."""
        return self.arrays_across * self.n_rows

    @property
    def rows_sequential(self) -> int:
        """Rows read one after another when all arrays work in parallel."""
        return min(self.array_rows, self.n_rows)

    def latency(self, t_sense: float, params: ArrayParams = DEFAULT_ARRAY) -> float:
        """Time to read the layer once with all its arrays in parallel, s."""
        return params.read_latency(t_sense, rows=self.rows_sequential)


def tile_counts(weight_shape: Sequence[int], params: ArrayParams = DEFAULT_ARRAY) -> TileCounts:
    """Tiling of one layer's weight (shape (out, in) or (C_out, C_in, k_h, k_w)) over arrays."""
    n_rows, n_cols = matrix_shape(weight_shape)
    return TileCounts(n_rows=n_rows, n_cols=n_cols, arrays_down=math.ceil(n_rows / params.rows),
                      arrays_across=math.ceil(n_cols / params.cols), array_rows=params.rows,
                      array_cols=params.cols)


@dataclass(frozen=True)
class NetworkCounts:
    """Tiling of a whole network: per-layer counts (keyed by name) and their sums."""

    layers: dict = field(default_factory=dict)

    @property
    def arrays(self) -> int:
        return sum(t.arrays for t in self.layers.values())

    @property
    def cells(self) -> int:
        return sum(t.cells for t in self.layers.values())

    @property
    def cells_allocated(self) -> int:
        return sum(t.cells_allocated for t in self.layers.values())

    @property
    def reads(self) -> int:
        return sum(t.reads for t in self.layers.values())

    @property
    def row_reads(self) -> int:
        return sum(t.row_reads for t in self.layers.values())


def network_counts(shapes: "Mapping[str, Sequence[int]] | Iterable[Sequence[int]]",
                   params: ArrayParams = DEFAULT_ARRAY) -> NetworkCounts:
    """Sum the tiling of several layers: ``shapes`` is name -> weight shape, or a sequence of shapes
    (named "0", "1", ...)."""
    items = shapes.items() if isinstance(shapes, Mapping) else ((str(i), s) for i, s in enumerate(shapes))
    return NetworkCounts(layers={name: tile_counts(s, params) for name, s in items})


def read_weights(weights: Any, sense: "SenseMap", device_model: DeviceModel | None = None,
                 generator: torch.Generator | None = None, *, params: ArrayParams = DEFAULT_ARRAY,
                 t_relax: float = 0.0, chunk: int = READ_CHUNK) -> ReadResult:
    """Store ``weights`` in fresh 2T2R cells and read each once through ``sense``, vectorised.

    Args:
        weights: int tensor of any shape in {-1, 0, +1} (e.g. a conv weight (C_out, C_in, k, k)).
        sense: sense map (its operating point, sampling and energy per sense are used).
        device_model: RRAM statistics (default :class:`DeviceModel()`); fresh devices, d2d and c2c
            together, resistances as seen ``t_relax`` s after programming.
        generator: torch generator for devices and sense draws.
        params: array size (for the bit-line load and latency) and timing.
        chunk: weights per vectorised pass (memory bound; the draws are the same law for any chunk).

    Returns:
        :class:`ReadResult` with read weights of the input shape; energy: sense energy of each pair
        + bit-line charging of an array of ``params.rows`` rows per sense; latency: one read of the
        layer with all its arrays in parallel (the weight's unrolled matrix tiled by ``params``).
    """
    w = check_weights(weights)
    if int(chunk) < 1:
        raise InputError(f"chunk={chunk!r} is not allowed: must be an integer >= 1")
    model = device_model if device_model is not None else DeviceModel()
    flat = w.reshape(-1)
    n = flat.numel()
    out = torch.empty(n, dtype=torch.int8)
    e_sense = 0.0
    for s in range(0, n, int(chunk)):
        stop = min(n, s + int(chunk))
        bl_lrs, blb_lrs = encode(flat[s:stop])
        r_bl = model.sample_pairs(bl_lrs, generator, t_relax=t_relax)
        r_blb = model.sample_pairs(blb_lrs, generator, t_relax=t_relax)
        out[s:stop] = torch.as_tensor(sense.sample(r_bl, r_blb, generator)).to(torch.int8).reshape(-1)
        e_sense += sense_energy(sense, r_bl, r_blb)
    read = out.reshape(w.shape)
    op = sense.op
    counts = tile_counts(w.shape if w.ndim else (1,), params) if n else None
    latency = counts.latency(op.t_sense, params) if counts is not None else 0.0
    return ReadResult(weights=read, errors=count_errors(w, read), n_senses=n, energy_sense=e_sense,
                      energy_bitline=n * params.bitline_energy_per_column_read(op.vdd),
                      latency=latency)


#: Order of the values in :func:`read_transition_matrix` rows and columns.
VALUES: tuple[int, int, int] = (-1, 0, 1)


def read_transition_matrix(sense: "SenseMap", device_model: DeviceModel | None = None,
                           n: int = 100_000, generator: torch.Generator | None = None, *,
                           t_relax: float = 0.0) -> torch.Tensor:
    """P(read value | stored value) of fresh cells through ``sense``: float64 (3, 3).

    Rows: stored value (-1, 0, +1); columns: read value (-1, 0, +1); rows sum to 1. For each stored
    value, ``n`` device pairs are drawn and the sense map's probabilities averaged over them
    (Monte Carlo over devices only; the sense outcome is taken in expectation, so the noise is
    that of the device draw). Useful to inject read errors into a network without drawing
    resistances at every forward pass.
    """
    if isinstance(n, bool) or int(n) != n or int(n) < 1:
        raise InputError(f"n={n!r} is not allowed: must be an integer >= 1")
    model = device_model if device_model is not None else DeviceModel()
    rows = []
    for v in VALUES:
        w = torch.full((int(n),), v, dtype=torch.int8)
        bl_lrs, blb_lrs = encode(w)
        r_bl = model.sample_pairs(bl_lrs, generator, t_relax=t_relax)
        r_blb = model.sample_pairs(blb_lrs, generator, t_relax=t_relax)
        rows.append(torch.as_tensor(sense.probabilities(r_bl, r_blb), dtype=torch.float64).mean(dim=0))
    m = torch.stack(rows)
    return m / m.sum(dim=1, keepdim=True)
