"""Array layer: 2T2R arrays that store weights as device pairs and read them through sense amplifiers.

Public names: :class:`Array2T2R`, :class:`ArrayParams`, :class:`ReadResult`, :class:`ErrorCounts`,
:class:`ProgramResult`, :class:`WriteVerify`, :func:`check_weights`, :func:`encode`,
:func:`count_errors`, :func:`sense_energy`; tiling: :func:`matrix_shape`, :func:`weight_matrix`,
:func:`tile_slices`, :func:`tile_counts`, :func:`amplifier_index`, :class:`TileCounts`, :func:`network_counts`,
:class:`NetworkCounts`; column amplifiers of a chip (:mod:`ternary_rram.array.column`):
:class:`AmplifierPool`, :func:`build_pool`, :class:`ReadNoise`. Defaults and sources:
:mod:`ternary_rram.array.params`.
"""

from ternary_rram.array import params
from ternary_rram.array.array2t2r import (
    Array2T2R,
    ErrorCounts,
    ProgramResult,
    ReadResult,
    WriteVerify,
    check_weights,
    count_errors,
    encode,
    sense_energy,
)
from ternary_rram.array.column import AmplifierPool, build_pool
from ternary_rram.array.params import DEFAULT_ARRAY, DEFAULT_NOISE, NO_NOISE, ArrayParams, ReadNoise
from ternary_rram.array.tiling import (
    NetworkCounts,
    TileCounts,
    amplifier_index,
    matrix_shape,
    network_counts,
    tile_counts,
    tile_slices,
    weight_matrix,
)

__all__ = [
    "DEFAULT_ARRAY",
    "DEFAULT_NOISE",
    "NO_NOISE",
    "AmplifierPool",
    "Array2T2R",
    "ArrayParams",
    "ErrorCounts",
    "NetworkCounts",
    "ProgramResult",
    "ReadNoise",
    "ReadResult",
    "TileCounts",
    "WriteVerify",
    "amplifier_index",
    "build_pool",
    "check_weights",
    "count_errors",
    "encode",
    "matrix_shape",
    "network_counts",
    "params",
    "sense_energy",
    "tile_counts",
    "tile_slices",
    "weight_matrix",
]
