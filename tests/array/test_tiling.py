"""Tests of the tiling counts and of reading a tiled layer matrix through its column amplifiers."""

import math

import pytest
import torch

from ternary_rram.array import (
    DEFAULT_NOISE,
    NO_NOISE,
    AmplifierPool,
    Array2T2R,
    ArrayParams,
    matrix_shape,
    network_counts,
    sense_energy,
    tile_counts,
    tile_slices,
    weight_matrix,
)
from ternary_rram.device import DeviceModel
from ternary_rram.errors import InputError

from .conftest import make_map


def vgg_shapes(f: int) -> dict[str, tuple[int, ...]]:
    """Weight shapes of the docs/physics.md section 5 VGG of width f."""
    return {"conv1": (f, 3, 3, 3), "conv2": (f, f, 3, 3), "conv3": (2 * f, f, 3, 3),
            "conv4": (2 * f, 2 * f, 3, 3), "conv5": (4 * f, 2 * f, 3, 3), "conv6": (4 * f, 4 * f, 3, 3),
            "fc1": (512, 4 * f * 16), "fc2": (10, 512)}


def test_matrix_shape_and_unroll():
    assert matrix_shape((128, 64, 3, 3)) == (576, 128)
    assert matrix_shape((10, 512)) == (512, 10)
    w = torch.arange(2 * 3 * 2 * 2).reshape(2, 3, 2, 2)
    m = weight_matrix(w)
    assert m.shape == (12, 2)
    assert m[5, 1] == w[1, 1, 0, 1]     # row = c_in * k*k + i * k + j
    with pytest.raises(InputError, match="shape"):
        matrix_shape((2, 3, 4))


def test_tile_counts_known_shape():
    t = tile_counts((128, 128, 3, 3), ArrayParams(rows=64, cols=64))
    assert (t.n_rows, t.n_cols) == (1152, 128)
    assert (t.arrays_down, t.arrays_across, t.arrays) == (18, 2, 36)
    assert t.cells == 147456 and t.cells_allocated == 36 * 4096 and t.utilization == 1.0
    assert t.reads == 147456 and t.row_reads == 2 * 1152
    t2 = tile_counts((10, 512), ArrayParams(rows=64, cols=64))
    assert (t2.arrays, t2.cells_allocated, t2.row_reads) == (8, 8 * 4096, 512)
    assert t2.utilization == pytest.approx(10 / 64)
    assert t2.latency(2e-9, ArrayParams()) == pytest.approx(64 * (1e-9 + 2e-9))
    t3 = tile_counts((1, 3, 1, 1))
    assert t3.rows_sequential == 3


def test_tile_slices_cover_matrix():
    sl = tile_slices(130, 70, ArrayParams(rows=64, cols=64))
    assert len(sl) == 3 * 2
    covered = torch.zeros(130, 70, dtype=torch.int64)
    for rs, cs in sl:
        covered[rs, cs] += 1
    assert bool(torch.all(covered == 1))


def test_network_counts_vgg128():
    n = network_counts(vgg_shapes(128))
    assert n.cells == 8_774_016                 # docs/physics.md section 5
    assert n.reads == n.cells
    assert n.arrays == sum(t.arrays for t in n.layers.values())
    assert n.layers["fc1"].arrays == math.ceil(8192 / 64) * math.ceil(512 / 64)
    assert network_counts([(10, 512)]).layers["0"].arrays == 8


def _pool(maps, noise=NO_NOISE) -> AmplifierPool:
    return AmplifierPool(mismatch=torch.zeros(len(maps), 9, dtype=torch.float64), maps=tuple(maps), noise=noise)


def test_tiled_layer_reads_through_column_amplifiers():
    g = torch.Generator().manual_seed(0)
    w = torch.randint(-1, 2, (64, 32, 3, 3), generator=g, dtype=torch.int8)
    m = weight_matrix(w)
    p = ArrayParams()
    arr = Array2T2R(m.shape[0], m.shape[1], DeviceModel(), p, tile=(64, 16))
    arr.program(m, g)
    pool = _pool([make_map(a=1.0, s=0.2, energy=20e-15), make_map(a=1.0, s=0.2, energy=40e-15)],
                 noise=DEFAULT_NOISE)
    arr.assign_amplifiers(pool, g)
    r = arr.read_columns(pool, g)
    assert r.weights.shape == m.shape and r.weights.dtype == torch.int8
    n0 = int((m == 0).sum())
    # default HRS sigma 0.7: x of an (HRS, HRS) pair ~ N(0, 0.99^2) -> P(|x| > 1) about 0.31
    assert 0.2 < r.errors.from_zero / n0 < 0.4 and r.errors.sign_flip == 0
    # each cell costs its own amplifier's energy per sense
    e_cell = torch.tensor([20e-15, 40e-15], dtype=torch.float64)[arr.pool_index[arr.amplifier_index()]]
    assert r.energy_sense == pytest.approx(float(e_cell.sum()), rel=1e-5)
    assert r.energy_bitline == pytest.approx(m.numel() * p.bitline_energy_per_column_read(0.6, rows=64))
    assert r.latency == pytest.approx(64 * (1e-9 + 2e-9))  # one tile of 64 rows, tiles in parallel
    assert arr.n_amplifiers == math.ceil(m.shape[0] / 64) * math.ceil(m.shape[1] / 16) * 16


def test_perfect_maps_read_exactly(tight_model, perfect_map):
    w = torch.randint(-1, 2, (100, 300), generator=torch.Generator().manual_seed(1), dtype=torch.int8)
    arr = Array2T2R(100, 300, tight_model, tile=(64, 64))
    g = torch.Generator().manual_seed(2)
    arr.program(w, g)
    pool = _pool([perfect_map] * 3)
    arr.assign_amplifiers(pool, g)
    r = arr.read_columns(pool, g)
    assert torch.equal(r.weights, w) and r.errors.total == 0


def test_energy_estimate_matches_exact_sum():
    sense = make_map()
    g = sense.n_grid
    ln_r = torch.linspace(sense.ln_r_min, sense.ln_r_max, g, dtype=torch.float64)
    x = ln_r[None, :] - ln_r[:, None]
    varying = type(sense)(op=sense.op, ln_r_min=sense.ln_r_min, ln_r_max=sense.ln_r_max, probs=sense.probs,
                          energy_grid=10e-15 + 20e-15 * torch.sigmoid(x), t_decide_grid=sense.t_decide_grid)
    gen = torch.Generator().manual_seed(5)
    w = torch.randint(-1, 2, (150_000,), generator=gen)
    m = DeviceModel()
    r_bl = m.sample_pairs(w == 1, gen)
    r_blb = m.sample_pairs(w == -1, gen)
    exact = sense_energy(varying, r_bl, r_blb, max_pairs=None)
    est = sense_energy(varying, r_bl, r_blb)
    assert 150_000 * 10e-15 < exact < 150_000 * 30e-15
    assert est == pytest.approx(exact, rel=0.01)
