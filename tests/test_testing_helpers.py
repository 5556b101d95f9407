"""ganbench.api.testing: the helpers plugin packages' tests share with ganbench's own."""

from pathlib import Path

import pytest
import torch

from ganbench.api.testing import small_cpu_kernels, tiny_dataset

PLUGINS = Path(__file__).resolve().parent.parent / "plugins"


def test_small_cpu_kernels_sets_one_plain_thread_and_restores_even_after_an_error():
    torch.set_num_threads(2)
    torch.backends.mkldnn.enabled = True
    with pytest.raises(RuntimeError):
        with small_cpu_kernels():
            assert torch.get_num_threads() == 1 and torch.backends.mkldnn.enabled is False
            raise RuntimeError("a failing test")
    assert torch.get_num_threads() == 2 and torch.backends.mkldnn.enabled is True


def test_tiny_dataset_labels_cycle_through_the_classes():
    data = tiny_dataset(n_train=7, n_test=4, classes=3, size=5, channels=2)
    assert data.train_y.tolist() == [0, 1, 2, 0, 1, 2, 0] and data.test_y.tolist() == [0, 1, 2, 0]
    assert tuple(data.train_x.shape) == (7, 2, 5, 5) and data.train_x.dtype == torch.uint8
    assert data.fingerprint == tiny_dataset(n_train=7, n_test=4, classes=3, size=5, channels=2).fingerprint


def test_plugin_packages_take_the_helper_instead_of_copying_it():
    """Each plugin package whose tests set torch's threads does it through ganbench.api.testing, in its conftest."""
    for tests in sorted(PLUGINS.glob("*/tests")):
        for path in tests.glob("*.py"):
            assert "set_num_threads" not in path.read_text(), f"{path} copies the helper"
        if any("import torch" in p.read_text() for p in tests.glob("test_*.py")):
            text = (tests / "conftest.py").read_text()
            # written against the old path, which keeps working (with a DeprecationWarning): the packages are unchanged
            assert any(f"from {path} import small_cpu_kernels" in text for path in ("ganbench.api.testing", "ganbench.testing"))
