"""Tiny networks run on one thread of plain kernels, as in ganbench's own tests (ganbench.testing)."""

import pytest

from ganbench.testing import small_cpu_kernels


@pytest.fixture(autouse=True)
def one_plain_thread():
    with small_cpu_kernels():
        yield
