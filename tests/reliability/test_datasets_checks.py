"""Damaged dataset files, dedup lists and the decode cache's folder: one line naming the file, before training."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from ganbench.api.data import Dataset
from ganbench.builtin.datasets import idx_datasets
from ganbench.builtin.datasets.mnist import loader as mnist
from ganbench.datasets.cache import cached
from ganbench.system.errors import DataError, UsageError
from ganbench.system.paths import dedup_path
from ganbench.jobs.run import Job, Resolved, drop_duplicates, load_dataset

RNG = np.random.default_rng(1)


def idx(magic: int, dims, payload: bytes) -> bytes:
    return struct.pack(">I", magic) + struct.pack(f">{len(dims)}I", *dims) + payload


def write_mnist(folder: Path, n_train=6, n_test=3, train_labels=None, train_images=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    images = {"train": RNG.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "t10k": RNG.integers(0, 256, (n_test, 28, 28), dtype=np.uint8)}
    labels = {"train": np.arange(n_train, dtype=np.uint8) % 10 if train_labels is None else np.asarray(train_labels, np.uint8),
              "t10k": np.arange(n_test, dtype=np.uint8) % 10}
    for split in ("train", "t10k"):
        (folder / f"{split}-images-idx3-ubyte").write_bytes(
            train_images if split == "train" and train_images is not None else idx(2051, images[split].shape, images[split].tobytes()))
        (folder / f"{split}-labels-idx1-ubyte").write_bytes(idx(2049, labels[split].shape, labels[split].tobytes()))
    return folder


def load(folder: Path):
    return idx_datasets.load_idx_dataset(mnist.MNIST, folder)


def one_line_naming(err, *needles) -> str:
    message = str(err.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message
    return message


def test_idx_header_whose_dimensions_overflow(tmp_path):
    huge = idx(2051, (2**31, 2**31, 2**31), b"\x00" * 64)
    folder = write_mnist(tmp_path / "m", train_images=huge)
    with pytest.raises(DataError) as err:
        load(folder)
    one_line_naming(err, "train-images-idx3-ubyte", str(2**93 + 16), "replace it")


def test_idx_file_with_no_images(tmp_path):
    folder = write_mnist(tmp_path / "m", train_images=idx(2051, (0, 28, 28), b""), train_labels=[])
    with pytest.raises(DataError) as err:
        load(folder)
    one_line_naming(err, "train-images-idx3-ubyte", "holds no images")


def test_labels_out_of_range(tmp_path):
    folder = write_mnist(tmp_path / "m", train_labels=[0, 1, 2, 10, 4, 5])
    with pytest.raises(DataError) as err:
        load(folder)
    one_line_naming(err, "train-labels-idx1-ubyte", "label 10 at position 3", "0 to 9")


def test_label_count_that_does_not_match_the_images(tmp_path):
    folder = write_mnist(tmp_path / "m", train_labels=[0, 1, 2, 3, 4])
    with pytest.raises(DataError) as err:
        load(folder)
    one_line_naming(err, "6 images", "5 labels", "one label per image")


def test_intact_files_still_load(tmp_path):
    data = load(write_mnist(tmp_path / "m"))
    assert data.train_y.tolist() == [0, 1, 2, 3, 4, 5] and data.info().train_class_counts == (1,) * 6 + (0,) * 4


# -- dedup lists ------------------------------------------------------------
def tiny() -> Dataset:
    x = torch.arange(10, dtype=torch.uint8).reshape(10, 1, 1, 1).expand(10, 1, 2, 2).contiguous()
    y = torch.arange(10) % 2
    return Dataset("tiny", x, y, x[:2].clone(), y[:2].clone(), ["a", "b"])


def write_drop(cache: Path, dataset: Dataset, content) -> Path:
    path = dedup_path(cache, dataset.name, dataset.fingerprint)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps({"drop": content}))
    return path


@pytest.mark.parametrize("content, needle", [
    ([-1], "index -1 is outside"),
    ([3, 10], "index 10 is outside"),
    ([2, 2], "repeats"),
    ([1.5], "list of integers"),
    ([True], "list of integers"),
    ('{"drop": [1, 2', "expected JSON"),
    ('[1, 2]', "expected JSON"),
])
def test_damaged_dedup_list_is_one_line(tmp_path, content, needle):
    dataset = tiny()
    path = write_drop(tmp_path, dataset, content)
    with pytest.raises(UsageError) as err:
        drop_duplicates(dataset, str(tmp_path))
    one_line_naming(err, str(path), needle, "ganbench dedup")


def test_valid_dedup_list_drops_exactly_those_images(tmp_path):
    dataset = tiny()
    write_drop(tmp_path, dataset, [0, 7])
    kept = drop_duplicates(dataset, str(tmp_path))
    assert kept.train_x[:, 0, 0, 0].tolist() == [1, 2, 3, 4, 5, 6, 8, 9]


# -- the decode cache follows the run's --cache-dir ---------------------------
def test_decode_cache_goes_to_the_runs_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "env-cache"))
    monkeypatch.delenv("GANBENCH_DATA_CACHE", raising=False)
    source = tmp_path / "source.bin"
    source.write_bytes(b"x")
    spec = SimpleNamespace(name="toy", loader=lambda root, argument: cached("toy", {}, [source], tiny))
    resolved = Resolved(None, {}, [], spec, None, {})
    load_dataset(Job("m", "toy", [], cache_dir=str(tmp_path / "run-cache")), resolved)
    assert len(list((tmp_path / "run-cache" / "datasets").glob("toy-*.safetensors"))) == 1
    assert not (tmp_path / "env-cache").exists()


def test_a_decode_cache_entry_with_damaged_bytes_is_decoded_afresh(tmp_path, monkeypatch):
    """A flipped byte inside the image tensors still loads as safetensors; the entry's digest catches it."""
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("GANBENCH_DATA_CACHE", raising=False)
    source = tmp_path / "source.bin"
    source.write_bytes(b"x")
    builds = []

    def build():
        builds.append(1)
        return tiny()

    first = cached("toy", {}, [source], build)
    [entry] = (tmp_path / "cache" / "datasets").glob("toy-*.safetensors")
    assert torch.equal(cached("toy", {}, [source], build).train_x, first.train_x) and len(builds) == 1
    data = bytearray(entry.read_bytes())
    data[-3] ^= 0xFF  # the last bytes belong to the last tensor's data, not to the header
    entry.write_bytes(bytes(data))
    again = cached("toy", {}, [source], build)
    assert len(builds) == 2  # decoded afresh, not read from the damaged entry
    assert torch.equal(again.train_x, first.train_x) and torch.equal(again.test_y, first.test_y)
