"""Small fake data sets in the official on-disk formats (tests never download)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from ternary_rram.nn import data as D


def write_fake_cifar(folder: Path, n: int = 6) -> None:
    """A fake CIFAR-10 folder with the official layout (n images per batch)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(0)
    for name in D.CIFAR10_TRAIN_FILES + (D.CIFAR10_TEST_FILE,):
        batch = {b"batch_label": b"x", b"labels": [int(v) for v in rng.randint(0, 10, n)],
                 b"data": rng.randint(0, 256, (n, 3072)).astype(np.uint8),
                 b"filenames": [b"f"] * n}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=4))
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"a"] * 10}))
