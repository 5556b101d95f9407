"""Shared fixtures: a fresh plugin manager per test that needs one, tiny datasets."""

import pytest
import torch

from ganbench import plugins
from ganbench.data import Dataset


@pytest.fixture
def fresh_plugins(monkeypatch):
    """Plugins loaded anew inside the test (and again, as before, after it)."""
    plugins.reset_for_tests()
    yield plugins
    plugins.reset_for_tests()


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """No test writes to the user's cache."""
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))


def tiny_dataset(n_train=60, n_test=20, classes=3, size=8, channels=1, seed=0, name="tiny") -> Dataset:
    g = torch.Generator().manual_seed(seed)
    def split(n):
        y = torch.arange(n) % classes
        x = torch.randint(0, 256, (n, channels, size, size), generator=g, dtype=torch.uint8)
        return x, y.long()
    train_x, train_y = split(n_train)
    test_x, test_y = split(n_test)
    return Dataset(name, train_x, train_y, test_x, test_y, [str(c) for c in range(classes)])


@pytest.fixture
def small_cpu_kernels():
    """Tiny networks run fastest on one thread of plain kernels: oneDNN compiles kernels for
    every new tensor shape (seconds each on a busy machine), and a second thread only waits.
    Results are compared within one process, so the choice of kernels does not matter."""
    previous = torch.backends.mkldnn.enabled, torch.get_num_threads()
    torch.backends.mkldnn.enabled = False
    torch.set_num_threads(1)
    yield
    torch.backends.mkldnn.enabled = previous[0]
    torch.set_num_threads(previous[1])
