"""Image data sets held in memory, batch augmentation and a plain batch iterator.

Sources (all loaded into one :class:`ImageData`):

- ``cifar10``: the official "CIFAR-10 python version" folder (pickles read by a restricted
  unpickler that only admits numpy's array reconstruction, never arbitrary code);
- ``mnist``: the official IDX gzip files (magic numbers and sizes validated);
- ``digits``: scikit-learn's embedded 8x8 digits (16 grey levels), no files needed;
- ``synthetic``: a tiny generated set for tests.

Images are kept as ``uint8`` (N, C, H, W) to save memory (CIFAR-10: 150 MB instead of 600 MB) and
turned into normalised float32 one batch at a time by :meth:`ImageData.batch`.
Bad or missing files raise :class:`ternary_rram.errors.InputError` with a one-line message that names
the file.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import pickle
import shutil
import struct
import tarfile
import tempfile
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from sklearn.datasets import load_digits as _sk_digits

from ternary_rram.errors import InputError

DATASETS: tuple[str, ...] = ("cifar10", "mnist", "digits", "synthetic")

# Normalisation per data set, on pixels scaled to [0, 1]. CIFAR values as in the seed recipe
# (docs/physics.md section 5); MNIST the usual train statistics; digits computed on its train split.
CIFAR10_MEAN: tuple[float, ...] = (0.4914, 0.4822, 0.4465)
CIFAR10_STD: tuple[float, ...] = (0.2023, 0.1994, 0.2010)
MNIST_MEAN: tuple[float, ...] = (0.1307,)
MNIST_STD: tuple[float, ...] = (0.3081,)

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_TRAIN_FILES: tuple[str, ...] = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_FILE = "test_batch"
CIFAR10_OFFICIAL_MD5: dict[str, str] = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}

MNIST_FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
_IDX_IMAGES_MAGIC = 2051
_IDX_LABELS_MAGIC = 2049


@dataclass(frozen=True)
class ImageData:
    """A train/test image set in memory.

    Attributes:
        name: data set name (one of :data:`DATASETS`).
        x_train, x_test: uint8 (N, C, H, W) raw pixels in [0, ``scale``].
        y_train, y_test: int64 (N,) class labels in [0, num_classes).
        num_classes: number of classes.
        scale: raw value of a white pixel (255, or 16 for digits).
        mean, std: per-channel normalisation of pixels scaled to [0, 1].
        augment: the augmentation this set uses by default ("flip-crop" or "none").
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    scale: float
    mean: tuple[float, ...]
    std: tuple[float, ...]
    augment: str = "none"

    @property
    def in_channels(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.x_train.shape[-1])

    @property
    def n_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.x_test.shape[0])

    def describe(self) -> dict[str, object]:
        """Plain-JSON summary (stored in checkpoints to check that a resume uses the same data)."""
        return {"name": self.name, "n_train": self.n_train, "n_test": self.n_test,
                "in_channels": self.in_channels, "image_size": self.image_size,
                "num_classes": self.num_classes, "mean": list(self.mean), "std": list(self.std)}

    def to(self, device: torch.device | str) -> ImageData:
        """The same set with its (uint8) images and labels on ``device`` (fewer host transfers)."""
        return dataclasses.replace(self, x_train=self.x_train.to(device), y_train=self.y_train.to(device),
                                   x_test=self.x_test.to(device), y_test=self.y_test.to(device))

    def normalise(self, x: torch.Tensor,
                  memory_format: torch.memory_format = torch.preserve_format) -> torch.Tensor:
        """uint8 (B, C, H, W) -> float32 normalised (B, C, H, W) on the same device, in
        ``memory_format`` (the training batch asks for channels_last: one conversion, no second copy)."""
        mean = torch.tensor(self.mean, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
        # One new float32 tensor (never ``x`` itself), then the arithmetic in place.
        return x.to(torch.float32, memory_format=memory_format, copy=True).div_(self.scale).sub_(mean).div_(std)

    def batch(self, split: str, index: torch.Tensor, device: torch.device | str = "cpu"
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (normalised float32) and labels of ``index`` (int64 (B,)) from "train" or "test"."""
        x, y = (self.x_train, self.y_train) if split == "train" else (self.x_test, self.y_test)
        index = index.to(x.device)
        return self.normalise(x[index].to(device)), y[index].to(device)


# --------------------------------------------------------------------------------------------
# Augmentation and batching
# --------------------------------------------------------------------------------------------

def augment_batch(x: torch.Tensor, generator: torch.Generator, *, flip: bool = True,
                  padding: int = 4) -> torch.Tensor:
    """Random horizontal flip and random crop of a whole batch, one draw per image.

    Args:
        x: (B, C, H, W) images of any dtype (the trainer passes raw uint8, 4x less to move than
            float) on any device.
        generator: CPU generator for all random draws (so results do not depend on the device).
        flip: flip each image left-right with probability 1/2.
        padding: pad every side with ``padding`` edge (replicated) pixels, then crop back to H x W
            at a uniform random offset; 0 disables the crop.
    Returns:
        (B, C, H, W), dtype of ``x``. Only pixels are selected, so augmenting raw images and then
        normalising gives the same floats as normalising first.
    """
    b, c, h, w = x.shape
    # Draw everything first, in a fixed order, so the stream is the same whatever is enabled.
    flips = torch.rand(b, generator=generator) < 0.5
    offsets = torch.randint(0, 2 * padding + 1, (2, b), generator=generator)
    if not flip and padding == 0:
        return x
    # Replicate padding then cropping = clamping the source index into the image; the flip
    # mirrors the column index. One gather per axis, no padded copy.
    oy, ox = (offsets - padding).to(x.device) if padding > 0 else torch.zeros(2, b, dtype=torch.long,
                                                                             device=x.device)
    rows = (oy.view(b, 1) + torch.arange(h, device=x.device).view(1, h)).clamp_(0, h - 1)  # (B, H)
    cols = (ox.view(b, 1) + torch.arange(w, device=x.device).view(1, w)).clamp_(0, w - 1)  # (B, W)
    if flip:
        cols = torch.where(flips.to(x.device).view(b, 1), w - 1 - cols, cols)
    x = x.gather(2, rows.view(b, 1, h, 1).expand(b, c, h, w))
    return x.gather(3, cols.view(b, 1, 1, w).expand(b, c, h, w))


def iterate_batches(n: int, batch_size: int, *, generator: torch.Generator | None = None,
                    shuffle: bool = True, drop_last: bool = False) -> Iterator[torch.Tensor]:
    """Yield int64 index tensors covering range(n) in batches (shuffled with ``generator``)."""
    if batch_size < 1:
        raise InputError(f"batch_size={batch_size} is not allowed: must be >= 1")
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield order[start:start + batch_size]


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    """Number of batches :func:`iterate_batches` yields."""
    return n // batch_size if drop_last else -(-n // batch_size)


# --------------------------------------------------------------------------------------------
# CIFAR-10
# --------------------------------------------------------------------------------------------

def _numpy_reconstruct():
    try:  # numpy >= 2 keeps the implementation in numpy._core
        from numpy._core.multiarray import _reconstruct  # noqa: PLC0415 (conditional import)
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct  # noqa: PLC0415 (conditional import)
    return _reconstruct


class SafeUnpickler(pickle.Unpickler):
    """Unpickler for the CIFAR-10 python files: admits numpy array reconstruction and nothing else.

    Any other global (``os.system``, ``builtins.eval``, ...) raises :class:`pickle.UnpicklingError`,
    so a malicious file cannot run code.
    """

    _ALLOWED: ClassVar[dict[tuple[str, str], object]] = {
        ("numpy.core.multiarray", "_reconstruct"): None,
        ("numpy._core.multiarray", "_reconstruct"): None,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a data file")
        obj = self._ALLOWED[(module, name)]
        # Resolve _reconstruct ourselves: avoids numpy 2's warning about the numpy.core alias.
        return _numpy_reconstruct() if obj is None else obj


def safe_pickle_load(path: Path) -> object:
    """Load a pickle with :class:`SafeUnpickler` (byte-string keys kept as bytes).

    Raises InputError naming the file when it is missing, truncated or refers to other globals.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return SafeUnpickler(f, encoding="bytes").load()
    except FileNotFoundError:
        raise InputError(f"data file {path} is missing") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, struct.error, MemoryError) as exc:
        raise InputError(f"data file {path} is not a valid CIFAR-10 pickle: {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def file_md5(path: Path, chunk: int = 1 << 20) -> str:
    """Hex MD5 of a file."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


_warned_dirs: set[str] = set()


def check_cifar10_md5(data_dir: Path, names: tuple[str, ...]) -> list[str]:
    """Names among ``names`` whose MD5 is not the official one; warns once per folder if any."""
    data_dir = Path(data_dir)
    bad = [n for n in names if file_md5(data_dir / n) != CIFAR10_OFFICIAL_MD5[n]]
    key = str(data_dir.resolve())
    if bad and key not in _warned_dirs:
        _warned_dirs.add(key)
        warnings.warn(f"CIFAR-10 files in {data_dir} are not the official ones (MD5 differs for "
                      f"{', '.join(bad)}); loading them anyway - report results as from this copy",
                      UserWarning, stacklevel=3)
    return bad


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    obj = safe_pickle_load(path)
    if not isinstance(obj, dict) or b"data" not in obj or b"labels" not in obj:
        raise InputError(f"data file {path} is not a CIFAR-10 batch: no b'data'/b'labels' entries")
    data, labels = obj[b"data"], obj[b"labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 \
            or data.shape[1] != 3072:
        shape = getattr(data, "shape", None)
        raise InputError(f"data file {path} is malformed: b'data' must be uint8 (N, 3072), got {shape}")
    try:
        y = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError):
        raise InputError(f"data file {path} is malformed: b'labels' is not a list of ints") from None
    if y.shape != (data.shape[0],) or (y.size and (y.min() < 0 or y.max() > 9)):
        raise InputError(f"data file {path} is malformed: {y.shape[0] if y.ndim else 0} labels in "
                         f"[0, 9] expected for {data.shape[0]} images")
    return data.reshape(-1, 3, 32, 32), y


def load_cifar10(data_dir: str | os.PathLike, *, verify_md5: bool = True,
                 limit: int | None = None) -> ImageData:
    """CIFAR-10 from the official python-version folder (``data_batch_1..5``, ``test_batch``).

    Args:
        data_dir: folder holding the batch files.
        verify_md5: compare with the official MD5s; a mismatch warns once (the file still loads).
        limit: keep only the first ``limit`` training and test images (quick runs, timing).
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(f"CIFAR-10 folder {data_dir} does not exist: pass --data-dir or run "
                         f"download_cifar10(dest) on a machine with internet")
    names = CIFAR10_TRAIN_FILES + (CIFAR10_TEST_FILE,)
    for n in names:
        if not (data_dir / n).is_file():
            raise InputError(f"data file {data_dir / n} is missing")
    if verify_md5:
        check_cifar10_md5(data_dir, names)
    xs, ys = zip(*(_cifar_batch(data_dir / n) for n in CIFAR10_TRAIN_FILES))
    x_test, y_test = _cifar_batch(data_dir / CIFAR10_TEST_FILE)
    x_train, y_train = np.concatenate(xs), np.concatenate(ys)
    if limit is not None:
        x_train, y_train, x_test, y_test = x_train[:limit], y_train[:limit], x_test[:limit], y_test[:limit]
    return ImageData("cifar10", torch.from_numpy(np.ascontiguousarray(x_train)),
                     torch.from_numpy(y_train), torch.from_numpy(np.ascontiguousarray(x_test)),
                     torch.from_numpy(y_test), 10, 255.0, CIFAR10_MEAN, CIFAR10_STD, "flip-crop")


def _safe_members(tar: tarfile.TarFile, dest: Path) -> list[tarfile.TarInfo]:
    """Regular files and folders whose path stays inside ``dest``; anything else is refused."""
    root = dest.resolve()
    members = []
    for m in tar.getmembers():
        target = (dest / m.name).resolve()
        if not (m.isfile() or m.isdir()) or (target != root and root not in target.parents):
            raise InputError(f"archive member {m.name!r} is not allowed (link, device or outside {dest})")
        members.append(m)
    return members


def download_cifar10(dest: str | os.PathLike, *, url: str = CIFAR10_URL, timeout_s: float = 60.0) -> Path:
    """Download and extract the official CIFAR-10 python archive into ``dest`` (needs internet).

    The archive MD5 is checked before extraction, and extraction admits only plain files and
    folders inside ``dest``. Returns the ``cifar-10-batches-py`` folder.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        archive = Path(tmp) / "cifar-10-python.tar.gz"
        with urllib.request.urlopen(url, timeout=timeout_s) as response, open(archive, "wb") as f:
            shutil.copyfileobj(response, f)
        md5 = file_md5(archive)
        if md5 != CIFAR10_ARCHIVE_MD5:
            raise InputError(f"downloaded {url} has MD5 {md5}, expected {CIFAR10_ARCHIVE_MD5}")
        with tarfile.open(archive, "r:gz") as tar:
            members = _safe_members(tar, dest)
            if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4: the library's own check too
                tar.extractall(dest, members=members, filter="data")
            else:  # pragma: no cover
                tar.extractall(dest, members=members)
    return dest / "cifar-10-batches-py"


# --------------------------------------------------------------------------------------------
# MNIST
# --------------------------------------------------------------------------------------------

#: Most bytes one decompressed IDX file may hold: 4x MNIST's training images (60000 x 28 x 28 + 16).
IDX_MAX_BYTES = 4 * 47_040_016


def read_idx(path: str | os.PathLike, magic: int) -> np.ndarray:
    """Read one gzip IDX file: images (N, 28, 28) uint8 for magic 2051, labels (N,) for 2049."""
    path = Path(path)
    try:
        with gzip.open(path, "rb") as f:
            # Bounded: a small gzip file may inflate to any size (a "gzip bomb").
            raw = f.read(IDX_MAX_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"data file {path} is missing") from None
    except PermissionError as exc:
        raise InputError(f"data file {path} cannot be read: {exc.strerror}") from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"data file {path} is not a valid gzip file: {_one_line(exc)}") from None
    if len(raw) > IDX_MAX_BYTES:
        raise InputError(f"data file {path} is not allowed: it decompresses to more than {IDX_MAX_BYTES} bytes "
                         "(MNIST's largest file has 47,040,016)")
    ndim = 3 if magic == _IDX_IMAGES_MAGIC else 1
    header = 4 * (1 + ndim)
    if len(raw) < header:
        raise InputError(f"data file {path} is truncated: {len(raw)} bytes, header needs {header}")
    found, *dims = struct.unpack(f">{1 + ndim}I", raw[:header])
    if found != magic:
        raise InputError(f"data file {path} has IDX magic {found}, expected {magic}")
    if ndim == 3 and dims[1:] != [28, 28]:
        raise InputError(f"data file {path} holds {dims[1]}x{dims[2]} images, expected 28x28")
    expected = int(np.prod(dims))
    if len(raw) - header != expected:
        raise InputError(f"data file {path} has {len(raw) - header} data bytes, header says {expected}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def load_mnist(data_dir: str | os.PathLike, *, limit: int | None = None) -> ImageData:
    """MNIST from the four official IDX gzip files in ``data_dir``; images 1 x 28 x 28."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputError(f"MNIST folder {data_dir} does not exist: pass --data-dir")
    arrays = {}
    for key, name in MNIST_FILES.items():
        arrays[key] = read_idx(data_dir / name, _IDX_IMAGES_MAGIC if "images" in key else _IDX_LABELS_MAGIC)
    for split in ("train", "test"):
        ni, nl = len(arrays[f"{split}_images"]), len(arrays[f"{split}_labels"])
        if ni != nl:
            raise InputError(f"data file {data_dir / MNIST_FILES[split + '_labels']} has {nl} labels "
                             f"for {ni} images")
        if nl and arrays[f"{split}_labels"].max() > 9:
            raise InputError(f"data file {data_dir / MNIST_FILES[split + '_labels']} has labels > 9")
    cut = slice(None, limit)
    x_tr = torch.from_numpy(arrays["train_images"][cut].copy()).unsqueeze(1)
    x_te = torch.from_numpy(arrays["test_images"][cut].copy()).unsqueeze(1)
    y_tr = torch.from_numpy(arrays["train_labels"][cut].astype(np.int64))
    y_te = torch.from_numpy(arrays["test_labels"][cut].astype(np.int64))
    return ImageData("mnist", x_tr, y_tr, x_te, y_te, 10, 255.0, MNIST_MEAN, MNIST_STD, "none")


# --------------------------------------------------------------------------------------------
# Embedded and synthetic sets
# --------------------------------------------------------------------------------------------

def load_digits(*, test_fraction: float = 0.25, seed: int = 0) -> ImageData:
    """scikit-learn's 1,797 8x8 digits (values 0..16), split train/test with a fixed seed.

    Normalisation uses the train split's own mean and std.
    """

    d = _sk_digits()
    x = d.images.astype(np.uint8)  # (1797, 8, 8), values 0..16
    y = d.target.astype(np.int64)
    order = np.random.RandomState(seed).permutation(len(y))
    n_test = round(test_fraction * len(y))
    te, tr = order[:n_test], order[n_test:]
    scaled = x[tr].astype(np.float64) / 16.0
    mean, std = (float(scaled.mean()),), (float(scaled.std()),)
    return ImageData("digits", torch.from_numpy(x[tr]).unsqueeze(1), torch.from_numpy(y[tr]),
                     torch.from_numpy(x[te]).unsqueeze(1), torch.from_numpy(y[te]), 10, 16.0,
                     mean, std, "none")


def make_synthetic(*, n_train: int = 256, n_test: int = 128, num_classes: int = 4, channels: int = 1,
                   image_size: int = 8, noise: float = 40.0, seed: int = 0) -> ImageData:
    """A tiny learnable set: each class is a fixed random uint8 template plus Gaussian noise.

    Args:
        noise: standard deviation of the added noise, in raw grey levels (0..255).
    """
    g = torch.Generator().manual_seed(seed)
    templates = torch.randint(0, 256, (num_classes, channels, image_size, image_size), generator=g)

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, num_classes, (n,), generator=g)
        x = templates[y].float() + noise * torch.randn(n, channels, image_size, image_size, generator=g)
        return x.round().clamp(0, 255).to(torch.uint8), y

    x_tr, y_tr = draw(n_train)
    x_te, y_te = draw(n_test)
    return ImageData("synthetic", x_tr, y_tr, x_te, y_te, num_classes, 255.0,
                     (0.5,) * channels, (0.3,) * channels, "none")


def default_cifar10_dir(cwd: str | os.PathLike | None = None) -> Path | None:
    """``../shared/data/cifar-10-batches-py`` relative to ``cwd`` if it exists, else None."""
    candidate = Path(cwd or os.getcwd()) / ".." / "shared" / "data" / "cifar-10-batches-py"
    return candidate if candidate.is_dir() else None


def default_mnist_dir(cwd: str | os.PathLike | None = None) -> Path | None:
    """``../shared/data/mnist`` relative to ``cwd`` if it exists, else None."""
    candidate = Path(cwd or os.getcwd()) / ".." / "shared" / "data" / "mnist"
    return candidate if candidate.is_dir() else None


def load_dataset(name: str, data_dir: str | os.PathLike | None = None, *, seed: int = 0,
                 limit: int | None = None) -> ImageData:
    """Load a data set by name; ``data_dir`` for cifar10/mnist (default: ../shared/data/...).

    ``limit`` truncates train and test sets (quick runs); ``seed`` fixes digits' split and the
    synthetic set.
    """
    if limit is not None and limit < 1:
        raise InputError(f"limit={limit} is not allowed: must be >= 1")
    if name == "cifar10":
        d = Path(data_dir) if data_dir is not None else default_cifar10_dir()
        if d is None:
            raise InputError("no CIFAR-10 folder: pass --data-dir DIR (the cifar-10-batches-py folder) "
                             "or download it with ternary_rram.nn.data.download_cifar10(dest)")
        return load_cifar10(d, limit=limit)
    if name == "mnist":
        d = Path(data_dir) if data_dir is not None else default_mnist_dir()
        if d is None:
            raise InputError("no MNIST folder: pass --data-dir DIR (the folder with the IDX .gz files)")
        return load_mnist(d, limit=limit)
    if name == "digits":
        data = load_digits(seed=seed)
    elif name == "synthetic":
        data = make_synthetic(seed=seed)
    else:
        raise InputError(f"data={name!r} is not allowed: must be one of {', '.join(DATASETS)}")
    if limit is not None:
        data = dataclasses.replace(data, x_train=data.x_train[:limit], y_train=data.y_train[:limit],
                                   x_test=data.x_test[:limit], y_test=data.y_test[:limit])
    return data


__all__ = [
    "DATASETS", "ImageData", "SafeUnpickler", "augment_batch", "data_copy", "default_cifar10_dir",
    "download_cifar10", "iterate_batches", "load_cifar10", "load_dataset", "load_digits",
    "load_mnist", "make_synthetic", "num_batches", "read_idx", "safe_pickle_load",
]


def data_copy(name: str, data_dir: str | None) -> dict:
    """Which copy of the data a network was trained on: the folder and whether its files are official."""
    folder = data_dir or {"cifar10": default_cifar10_dir, "mnist": default_mnist_dir}.get(name, lambda: None)()
    info: dict = {"folder": None if folder is None else str(Path(folder).resolve())}
    if name == "cifar10" and folder is not None:
        info["official_md5"] = all(file_md5(Path(folder) / f) == md5 for f, md5 in CIFAR10_OFFICIAL_MD5.items()
                                   if (Path(folder) / f).is_file())
    return info
