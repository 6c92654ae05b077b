"""Data loading: safe CIFAR-10 pickles, MNIST IDX validation, digits, augmentation, batching."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from ternary_rram.errors import InputError
from ternary_rram.nn import data as D
from tests.fake_data import write_fake_cifar


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_safe_unpickler_refuses_os_system(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    bad = tmp_path / "data_batch_1"
    bad.write_bytes(pickle.dumps({b"data": _Evil(marker)}))
    with pytest.raises(InputError, match="data_batch_1.*os|posix|system"):
        D.safe_pickle_load(bad)
    assert not marker.exists()


def test_cifar_loads_official_layout_and_warns_once(tmp_path: Path) -> None:
    write_fake_cifar(tmp_path / "c")
    with pytest.warns(UserWarning, match="not the official"):
        data = D.load_cifar10(tmp_path / "c")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second load of the same folder does not warn again
        D.load_cifar10(tmp_path / "c")
    assert data.x_train.shape == (30, 3, 32, 32) and data.x_train.dtype == torch.uint8
    assert data.x_test.shape == (6, 3, 32, 32) and data.y_train.dtype == torch.int64
    raw = pickle.loads((tmp_path / "c" / "data_batch_2").read_bytes())
    assert torch.equal(data.x_train[6:12].reshape(6, -1), torch.from_numpy(raw[b"data"]))
    x, y = data.batch("test", torch.arange(3))
    assert x.dtype == torch.float32 and x.shape == (3, 3, 32, 32) and y.shape == (3,)


@pytest.mark.parametrize("damage", ["truncate", "missing", "labels"])
def test_cifar_bad_files_name_the_file(tmp_path: Path, damage: str) -> None:
    folder = tmp_path / "c"
    write_fake_cifar(folder)
    target = folder / "data_batch_3"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:500])
    elif damage == "missing":
        target.unlink()
    else:
        batch = pickle.loads(target.read_bytes())
        batch[b"labels"] = batch[b"labels"][:-1]
        target.write_bytes(pickle.dumps(batch, protocol=4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InputError, match="data_batch_3") as info:
            D.load_cifar10(folder)
    assert "\n" not in str(info.value)


def _idx(path: Path, magic: int, array: np.ndarray) -> None:
    header = struct.pack(f">{1 + array.ndim}I", magic, *array.shape)
    path.write_bytes(gzip.compress(header + array.tobytes()))


def _write_mnist(folder: Path, n: int = 5) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(1)
    for split in ("train", "t10k"):
        _idx(folder / f"{split}-images-idx3-ubyte.gz", 2051, rng.randint(0, 256, (n, 28, 28)).astype(np.uint8))
        _idx(folder / f"{split}-labels-idx1-ubyte.gz", 2049, rng.randint(0, 10, n).astype(np.uint8))


def test_mnist_loads_and_validates(tmp_path: Path) -> None:
    _write_mnist(tmp_path / "m")
    data = D.load_mnist(tmp_path / "m")
    assert data.x_train.shape == (5, 1, 28, 28) and data.num_classes == 10
    bad = tmp_path / "m" / "t10k-labels-idx1-ubyte.gz"
    _idx(bad, 2051, np.zeros(5, np.uint8))
    with pytest.raises(InputError, match="t10k-labels.*magic"):
        D.load_mnist(tmp_path / "m")
    raw = gzip.decompress((tmp_path / "m" / "train-images-idx3-ubyte.gz").read_bytes())
    (tmp_path / "m" / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw[:-10]))
    with pytest.raises(InputError, match="train-images.*bytes"):
        D.read_idx(tmp_path / "m" / "train-images-idx3-ubyte.gz", 2051)
    (tmp_path / "m" / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw)[:100])
    with pytest.raises(InputError, match="train-images"):
        D.read_idx(tmp_path / "m" / "train-images-idx3-ubyte.gz", 2051)


def test_shared_mnist_header_if_present() -> None:
    labels = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist" / "t10k-labels-idx1-ubyte.gz"
    if not labels.exists():
        pytest.skip("shared MNIST copy not present")
    y = D.read_idx(labels, 2049)
    assert y.shape == (10000,) and np.bincount(y)[0] == 980


def test_digits_fixed_split() -> None:
    a, b = D.load_digits(), D.load_digits()
    assert a.x_train.shape == (1348, 1, 8, 8) and a.x_test.shape == (449, 1, 8, 8)
    assert torch.equal(a.y_test, b.y_test) and int(a.x_train.max()) <= 16
    x, _ = a.batch("train", torch.arange(a.n_train))
    assert abs(float(x.mean())) < 1e-4 and abs(float(x.std()) - 1) < 1e-2


def test_load_dataset_unknown_name() -> None:
    with pytest.raises(InputError, match="data='imagenet'"):
        D.load_dataset("imagenet")


def test_augment_flip_crop() -> None:
    x = torch.randn(16, 3, 8, 8)
    flipped = D.augment_batch(x, torch.Generator().manual_seed(0), padding=0)
    for i in range(16):  # each image is itself or its mirror
        assert torch.equal(flipped[i], x[i]) or torch.equal(flipped[i], x[i].flip(-1))
    assert not torch.equal(flipped, x)
    const = torch.ones(4, 1, 8, 8) * torch.arange(4.0).view(4, 1, 1, 1)
    # Edge (replicate) padding: a constant image stays constant after any crop.
    assert torch.equal(D.augment_batch(const, torch.Generator().manual_seed(1)), const)
    a = D.augment_batch(x, torch.Generator().manual_seed(3), flip=False, padding=2)
    b = D.augment_batch(x, torch.Generator().manual_seed(3), flip=False, padding=2)
    assert torch.equal(a, b) and a.shape == x.shape
    # A crop is a shifted window: the centre 4x4 of the original sits somewhere inside.
    assert a[:, :, 2:6, 2:6].shape == (16, 3, 4, 4)


def test_iterate_batches_cover_once() -> None:
    g = torch.Generator().manual_seed(0)
    parts = list(D.iterate_batches(10, 4, generator=g))
    assert [len(p) for p in parts] == [4, 4, 2] == [4, 4, 2][: D.num_batches(10, 4)]
    assert sorted(torch.cat(parts).tolist()) == list(range(10))


def test_tar_extraction_refuses_escapes_and_links(tmp_path: Path) -> None:
    import io
    import tarfile

    def archive(member: tarfile.TarInfo) -> tarfile.TarFile:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            tar.addfile(member, io.BytesIO(b"x" * member.size) if member.isfile() else None)
        buf.seek(0)
        return tarfile.open(fileobj=buf)

    ok = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
    ok.size = 1
    assert [m.name for m in D._safe_members(archive(ok), tmp_path)] == [ok.name]
    escape = tarfile.TarInfo("../outside")
    escape.size = 1
    link = tarfile.TarInfo("cifar-10-batches-py/link")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    for member in (escape, link):
        with pytest.raises(InputError, match="not allowed"):
            D._safe_members(archive(member), tmp_path)
