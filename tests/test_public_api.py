"""ganbench.__all__ is a public contract: every name stays importable, and importing it needs no torch."""

import subprocess
import sys

import ganbench

# The contract as published in docs/plugins.md; names may be added, never removed.
PUBLISHED = {
    "__version__", "hookimpl", "Batch", "DataError", "DataInfo", "Dataset", "DatasetSpec", "ExecutorSpec", "Metric",
    "Model", "ModelSpec", "Option", "Probe", "ProbeContext", "ProbeSpec", "Schedule", "UsageError",
    "label_budget", "validation_split",
}


def test_every_public_name_is_importable_and_none_was_removed():
    assert PUBLISHED <= set(ganbench.__all__)
    for name in ganbench.__all__:
        assert getattr(ganbench, name) is not None, name
    namespace = {}
    exec("from ganbench import *", namespace)
    assert set(ganbench.__all__) <= set(namespace)


def test_every_public_name_is_documented_in_the_guide():
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text()
    table = guide.split("## The public API", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in ganbench.__all__ if f"`{name}`" not in table]
    assert missing == []


def test_lazy_names_are_the_defining_modules_objects():
    from ganbench.api.model import Model
    from ganbench.api.splits import validation_split

    assert ganbench.Model is Model and ganbench.validation_split is validation_split


def test_core_modules_import_without_torch():
    code = ("import sys; import ganbench, ganbench.cli.app, ganbench.plugins, ganbench.api.registry, ganbench.api.options, "
            "ganbench.store.jsonl, ganbench.store.schema, ganbench.system.paths; "
            "bad = sorted(m for m in ('torch', 'torchvision', 'faiss') if m in sys.modules); "
            "assert not bad, bad")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_a_dataset_of_numpy_arrays_is_refused_saying_to_wrap_them():
    """docs/plugins.md: images and labels are torch tensors; a numpy array is named as such (its dtype would
    otherwise read "must be uint8, got uint8")."""
    import numpy as np
    import pytest
    import torch

    import ganbench

    images, labels = np.zeros((4, 1, 8, 8), np.uint8), np.arange(4, dtype=np.int64) % 2
    with pytest.raises(ValueError, match=r"^toy train: images must be a torch tensor \(torch.from_numpy\(array\)\), "
                                         r"got numpy.ndarray$"):
        ganbench.Dataset("toy", images, labels, images, labels, ["a", "b"])
    data = ganbench.Dataset("toy", torch.from_numpy(images), torch.from_numpy(labels), torch.from_numpy(images),
                            torch.from_numpy(labels), ["a", "b"])
    assert data.num_classes == 2 and data.image_shape == (1, 8, 8)
