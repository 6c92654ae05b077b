"""Small matplotlib helpers shared by the experiments: headless backend, atomic PNG writes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

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
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".png", dir=p.parent)
    os.close(fd)
    try:
        fig.tight_layout()
        fig.savefig(tmp, dpi=DPI, format="png")
        os.replace(tmp, p)
    finally:
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p
