"""Small matplotlib helpers shared by the experiments: headless backend, atomic PNG writes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ternary_rram.fileio import atomic_write_with  # noqa: E402

#: Default resolution of written figures, dots per inch.
DPI: int = 120


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = 5.0, height: float = 3.6,
               **kwargs: Any) -> tuple[Any, Any]:
    """A figure with ``nrows`` x ``ncols`` axes of ``width`` x ``height`` inches each (squeeze off)."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, **kwargs)
    return fig, axes


def save_figure(fig: Any, path: str | os.PathLike) -> Path:
    """Write ``fig`` as PNG to ``path`` through a temporary file and a rename; close it. Returns the path."""
    p = Path(path)
    try:
        fig.tight_layout()
        # temporary file with the umask mode, removed on failure; a device node at p is refused
        atomic_write_with(p, lambda tmp: fig.savefig(tmp, dpi=DPI, format="png"))
    finally:
        plt.close(fig)
    return p
