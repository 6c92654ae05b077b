"""Suite-wide test settings."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    """Every test on one torch thread: the suite's tensors are small, and on a 2-core machine
    OpenMP spin-waiting between threads costs more than it gains (measured several times slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
