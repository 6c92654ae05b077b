"""Tiling of layer weight matrices over 2T2R arrays, and a one-pass read of whole weight matrices.

A layer's weights become a matrix with one row per input (fan-in) and one column per output:
a convolution weight (C_out, C_in, k_h, k_w) unrolls to (C_in * k_h * k_w, C_out), a linear weight
(out, in) to (in, out). Rows of an array are read one at a time and each column has its own PCSA
[S P5], so a column of the matrix is a neuron's synapses and the matrix is cut into
ceil(n_rows / rows) x ceil(n_cols / cols) arrays of the configured size.
Programming and reading a tiled layer goes through :class:`ternary_rram.array.Array2T2R` (its
``tile`` argument: one amplifier per column group of each array).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import torch

from ternary_rram.array.params import DEFAULT_ARRAY, ArrayParams
from ternary_rram.errors import InputError


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


def amplifier_index(n_rows: int, n_cols: int, tile_rows: int, tile_cols: int,
                    column_group: int = 1) -> torch.Tensor:
    """Sense amplifier of each cell of an (n_rows, n_cols) matrix tiled into arrays of
    (tile_rows, tile_cols): int64 (n_rows, n_cols), numbered row of arrays by row of arrays.

    Each array has one amplifier per group of ``column_group`` adjacent columns (the last group of
    an array may be narrower), so an amplifier serves up to tile_rows x column_group cells.
    """
    groups_per_tile = -(-tile_cols // column_group)
    r = torch.arange(n_rows) // tile_rows
    c = torch.arange(n_cols)
    col_amp = (c // tile_cols) * groups_per_tile + (c % tile_cols) // column_group
    return r[:, None] * amplifiers_across(n_cols, tile_cols, column_group) + col_amp[None, :]


def amplifiers_across(n_cols: int, tile_cols: int, column_group: int = 1) -> int:
    """Amplifiers of one row of arrays over ``n_cols`` columns: arrays across x column groups per array."""
    return -(-n_cols // tile_cols) * -(-tile_cols // column_group)


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


def network_counts(shapes: Mapping[str, Sequence[int]] | Iterable[Sequence[int]],
                   params: ArrayParams = DEFAULT_ARRAY) -> NetworkCounts:
    """Sum the tiling of several layers: ``shapes`` is name -> weight shape, or a sequence of shapes
    (named "0", "1", ...)."""
    items = shapes.items() if isinstance(shapes, Mapping) else ((str(i), s) for i, s in enumerate(shapes))
    return NetworkCounts(layers={name: tile_counts(s, params) for name, s in items})
