"""A bad features file given to ``--model features`` is one line naming what is wrong, exit 2, no row stored
(issue 37, items 6 and 10): a huge declared array is caught against the file's real size before anything is
allocated; a text or PNG file named .npz is said to be one (never a hint at allow_pickle); a newer
``format_version`` is named; 1e300 in float64 gives no numpy warning; a FIFO, a folder and a symlink loop are each
named for what they are."""

import io
import json
import os
import struct
import warnings
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

from ganbench.cli.app import cli


def arrays(train=None):
    return {"train": np.zeros((10, 2), np.float32) if train is None else train,
            "train_labels": np.zeros(10, np.int64), "test": np.zeros((10, 2), np.float32),
            "test_labels": np.zeros(10, np.int64)}


def huge_npz(path):
    """An .npz whose 'train' member declares 50,000,000,000 x 1 float32 in a few bytes."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays())
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "train.npy":
                data = data.replace(b"(10, 2)", b"(50000000000, 1)")
            out.writestr(info.filename, data)


def huge_safetensors(path):
    header = json.dumps({"train": {"dtype": "F32", "shape": [50_000_000_000, 1], "data_offsets": [0, 8]}}).encode()
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 8)


def run(tmp_path, path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CliRunner().invoke(cli, ["run", "--model", "features", "--model-opt", f"path={path}",
                                          "--probe", "knn", "--results", str(tmp_path / "R")])
    return result, [w for w in caught if issubclass(w.category, RuntimeWarning)]


def one_line(result, tmp_path, *needles):
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: Features file"), result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "R" / "results.jsonl").exists()  # no row, not even a failed one
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("make, needle", [
    (huge_npz, "declares 50,000,000,000 x 1 float32"),
    (huge_safetensors, "not a readable safetensors file"),
])
def test_a_file_declaring_a_huge_array_is_refused_before_any_allocation_and_stores_no_row(tmp_path, make, needle):
    path = tmp_path / ("huge.npz" if make is huge_npz else "huge.safetensors")
    make(path)
    result, _ = run(tmp_path, path)
    one_line(result, tmp_path, needle)


@pytest.mark.parametrize("content, what", [
    (b"train,test\n1,2\n", "it is a text file"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "it is a PNG image"),
    (b"\x93NUMPY\x01\x00" + b"\0" * 64, "a single .npy array"),
])
def test_a_file_named_npz_that_is_not_one_is_said_to_be_what_it_is(tmp_path, content, what):
    path = tmp_path / "features.npz"
    path.write_bytes(content)
    result, _ = run(tmp_path, path)
    line = one_line(result, tmp_path, what)
    assert "pickle" not in line  # numpy's "pickled data ... allow_pickle" is wrong here, and unsafe advice


def test_a_newer_format_version_is_refused_naming_the_version_this_ganbench_reads(tmp_path):
    path = tmp_path / "v999.npz"
    np.savez(path, metadata=np.array(json.dumps({"format": "ganbench-features", "format_version": 999})), **arrays())
    result, _ = run(tmp_path, path)
    one_line(result, tmp_path, "format_version 999", "this ganbench reads format_version 1")


def test_float64_beyond_float32_is_one_line_and_no_numpy_warning(tmp_path):
    path = tmp_path / "big.npz"
    np.savez(path, **arrays(train=np.full((10, 2), 1e300)))
    result, runtime_warnings = run(tmp_path, path)
    one_line(result, tmp_path, "beyond float32")
    assert not runtime_warnings and "RuntimeWarning" not in result.output


@pytest.mark.parametrize("kind, needle", [("fifo", "is a FIFO"), ("folder", "is a folder"),
                                          ("loop", "is a symlink loop"), ("dangling", "is a link to a file that"),
                                          ("missing", "does not exist")])
def test_fifos_folders_and_symlink_loops_are_each_named_for_what_they_are(tmp_path, kind, needle):
    path = tmp_path / "features.npz"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "loop":
        os.symlink(tmp_path / "other.npz", path)
        os.symlink(path, tmp_path / "other.npz")
    elif kind == "dangling":
        os.symlink(tmp_path / "gone.npz", path)
    result, _ = run(tmp_path, path)
    one_line(result, tmp_path, needle)
