"""Helpers for tests of ganbench and of plugin packages (public: docs/plugins.md, "Testing a plugin").

Plugin packages' tests use these instead of copying ganbench's own ``tests/conftest.py``::

    # tests/conftest.py of a plugin package
    import pytest
    from ganbench.api.testing import small_cpu_kernels

    @pytest.fixture(autouse=True)
    def one_plain_thread():
        with small_cpu_kernels():
            yield

Imports torch (tests need it anyway); nothing in ganbench's command line imports this module.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch

from ganbench.api.data import Dataset


@contextmanager
def small_cpu_kernels() -> Iterator[None]:
    """Run tiny networks on one thread of plain kernels while inside, as before after.

    oneDNN compiles kernels for every new tensor shape (seconds each on a busy machine),
    and for networks this small a second thread only waits. Results compared within one
    process do not depend on the choice of kernels.
    """
    previous = torch.backends.mkldnn.enabled, torch.get_num_threads()
    torch.backends.mkldnn.enabled = False
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = previous[0]
        torch.set_num_threads(previous[1])


def tiny_dataset(n_train: int = 60, n_test: int = 20, classes: int = 3, size: int = 8, channels: int = 1,
                 seed: int = 0, name: str = "tiny") -> Dataset:
    """Random uint8 images with labels ``0, 1, ..., classes-1`` in turn: a dataset for tests of shapes and plumbing."""
    g = torch.Generator().manual_seed(seed)

    def split(n):
        y = torch.arange(n) % classes
        x = torch.randint(0, 256, (n, channels, size, size), generator=g, dtype=torch.uint8)
        return x, y.long()

    train_x, train_y = split(n_train)
    test_x, test_y = split(n_test)
    return Dataset(name, train_x, train_y, test_x, test_y, [str(c) for c in range(classes)])
