"""Appends: a failed one changes nothing and keeps its rows; kill -9 and concurrent writers lose nothing."""

import errno
import json
import multiprocessing as mp
import os
import signal
import warnings

import numpy as np
import pytest

from ganbench.store.jsonl import StoreWriteError, append_rows, read_rows, store_path

from .test_store_reader import good_row
from .toy_plugins import toys  # noqa: F401  (fixture)


def full_disk_after(monkeypatch, store, allowed: int):
    """os.write to ``store`` writes ``allowed`` bytes, then fails with ENOSPC (other files are untouched)."""
    real_write = os.write
    left = {"bytes": allowed}

    def write(fd, data):
        if os.path.realpath(f"/proc/self/fd/{fd}") != os.path.realpath(store):
            return real_write(fd, data)
        if left["bytes"] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = real_write(fd, bytes(data[:left["bytes"]]))
        left["bytes"] -= written
        return written

    monkeypatch.setattr(os, "write", write)


def test_a_full_disk_leaves_the_store_as_it_was_and_keeps_the_rows_aside(tmp_path, monkeypatch):
    append_rows(tmp_path, [good_row(1)])
    with open(store_path(tmp_path), "ab") as f:
        f.write(b'{"torn": ')  # a writer killed mid-line before us
    before = store_path(tmp_path).read_bytes()
    full_disk_after(monkeypatch, store_path(tmp_path), allowed=100)  # part of our first line gets through
    new = [good_row(2), good_row(3)]
    with pytest.raises(StoreWriteError) as caught:
        append_rows(tmp_path, new)
    monkeypatch.undo()
    assert store_path(tmp_path).read_bytes() == before  # cut back to the last byte it had
    message = str(caught.value)
    assert "No space left on device" in message and "the store is unchanged" in message and "\n" not in message
    side = caught.value.side_file
    assert side.parent == tmp_path and str(side) in message
    assert [json.loads(line) for line in side.read_text().splitlines()] == new
    # and the next append, disk freed, starts on a fresh line after the torn one
    append_rows(tmp_path, [good_row(4)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert [r["metric"] for r in read_rows(tmp_path)] == ["acc1", "acc4"]


def test_an_unwritable_results_path_keeps_the_rows_in_the_temp_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreWriteError) as caught:
        append_rows(tmp_path / "file" / "results", [good_row(1)])
    side = caught.value.side_file
    assert side.parent == tmp_path / "tmp" and str(side) in str(caught.value)
    assert json.loads(side.read_text())["metric"] == "acc1"


def test_an_ok_row_with_a_value_that_is_not_a_finite_number_is_stored_as_failed(tmp_path):
    rows = [good_row(1, value=float("nan")), good_row(2, value=np.float32("inf")), good_row(3, value="0.5"),
            good_row(4, value=np.float32(0.25), details={"a": np.arange(3), "b": np.float64("nan")})]
    append_rows(tmp_path, rows)
    stored = [json.loads(line) for line in store_path(tmp_path).read_text().splitlines()]
    assert [r["status"] for r in stored] == ["failed", "failed", "failed", "ok"]
    assert [r["value"] for r in stored] == [None, None, None, 0.25]
    assert "'nan' is not a finite number" in stored[0]["error"]
    assert stored[3]["details"] == {"a": [0, 1, 2], "b": None}


# -- a guarantee that held before: kill -9 during appends (concurrent writers: tests/test_store.py) --
def _append_forever(folder, ready):
    i = 0
    while True:
        append_rows(folder, [good_row(i, run_id="k", details={"pad": "x" * 5000}), good_row(i + 1, run_id="k")])
        ready.send(i + 2)  # rows committed so far
        i += 2


def test_kill_9_during_appends_loses_no_committed_row(tmp_path):
    ctx = mp.get_context("fork")
    for kill in range(5):
        receive, send = ctx.Pipe(duplex=False)
        child = ctx.Process(target=_append_forever, args=(tmp_path, send))
        child.start()
        committed = 0
        while committed < 6 + 4 * kill:
            committed = receive.recv()
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        while receive.poll():
            committed = receive.recv()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rows = [r for r in read_rows(tmp_path) if r["run_id"] == "k"]
        assert len(rows) >= committed  # rows it appended after the last report may be there too
        assert all(r["value"] == 0.5 + int(r["metric"][3:]) / 1000 for r in rows)
        store_path(tmp_path).unlink()


def test_a_run_whose_appends_fail_goes_on_and_exits_1_naming_the_side_files(toys, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from ganbench.cli.app import cli

    append_rows(tmp_path, [good_row(0)])
    before = store_path(tmp_path).read_bytes()
    full_disk_after(monkeypatch, store_path(tmp_path), allowed=10)
    result = CliRunner().invoke(cli, ["run", "--model", "toy-model", "--dataset", "toy-data", "--probe", "toy-probe",
                                      "--probe", "knn", "--probe-opt", "k=1", "--probe-opt", "instdisc=false",
                                      "--device", "cpu", "--results", str(tmp_path)])
    monkeypatch.undo()
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert store_path(tmp_path).read_bytes() == before
    errors = [line for line in result.output.splitlines() if line.startswith("Error: Could not append")]
    assert len(errors) == 2  # one per probe: the run went on after the first failed append
    sides = sorted(tmp_path.glob("results.unsaved-*.jsonl"))
    assert len(sides) == 2 and all(str(s) in result.output for s in sides)
    saved = [json.loads(line) for s in sides for line in s.read_text().splitlines()]
    probes = [r["probe"] for r in saved]
    assert probes.count("toy-probe") == 2 and probes.count("knn") == len(probes) - 2 > 0
    assert all(r["status"] == "ok" for r in saved)
