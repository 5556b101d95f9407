"""Only regular files are stores, and a line is read with a bound: no hang, no unbounded memory."""

import os
import threading
import tracemalloc
import warnings

import pytest
from click.testing import CliRunner

from ganbench.store import jsonl as store_module
from ganbench.cli.app import cli
from ganbench.system.errors import UsageError
from ganbench.store.jsonl import StoreWarning, append_rows, read_rows, store_path

from .test_store_reader import good_row
from .refusals import one_line_exit_2


def invoke_with_deadline(args, seconds=60):
    """CliRunner in a thread: a command that hangs (reading a FIFO) fails the test instead of the suite."""
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", CliRunner().invoke(cli, args)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert "result" in box, f"{args} still running after {seconds} s"
    return box["result"]


@pytest.fixture
def fifo_store(tmp_path):
    (tmp_path / "fifo").mkdir()
    os.mkfifo(store_path(tmp_path / "fifo"))
    return tmp_path / "fifo"


@pytest.fixture
def device_store(tmp_path):
    (tmp_path / "device").mkdir()
    os.symlink("/dev/full", store_path(tmp_path / "device"))  # read: endless zero bytes, one endless line
    return tmp_path / "device"


@pytest.mark.parametrize("command", [["results"], ["leaderboard"], ["leaderboard", "--format", "csv"]])
def test_reading_a_fifo_or_a_device_as_a_store_is_refused_in_one_line(fifo_store, device_store, command):
    for folder, kind in [(fifo_store, "a FIFO"), (device_store, "a device")]:
        result = invoke_with_deadline([*command, str(folder)])
        one_line_exit_2(result, str(store_path(folder)), kind, "not a regular file")


def test_run_into_a_fifo_or_a_device_store_is_refused_before_anything_loads(tmp_path, monkeypatch):
    from ganbench.jobs import run as run_module
    def refuse(*args, **kwargs):
        raise AssertionError("the dataset was loaded")
    monkeypatch.setattr(run_module, "load_dataset", refuse)
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    device = tmp_path / "device"
    device.mkdir()
    os.symlink("/dev/full", store_path(device))
    for target, kind in [(fifo, "a FIFO"), (device, "a device")]:
        result = invoke_with_deadline(["run", "--model", "pixels", "--probe", "knn", "--results", str(target),
                                       "--cache-dir", str(tmp_path / "cache")])
        one_line_exit_2(result, kind)


def test_append_rows_never_waits_on_a_fifo(tmp_path):
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    box = {}

    def append():
        try:
            append_rows(fifo, [good_row(1)])
        except UsageError as exc:
            box["error"] = str(exc)
    thread = threading.Thread(target=append, daemon=True)
    thread.start()
    thread.join(30)
    assert "error" in box and "the store is unchanged" in box["error"]


def test_a_line_longer_than_the_bound_is_one_skipped_line_and_memory_stays_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "MAX_LINE_BYTES", 1 << 20)
    append_rows(tmp_path, [good_row(1)])
    with open(store_path(tmp_path), "ab") as f:
        f.write(b"x" * (40 << 20) + b"\n")  # 40 MB on one line
    append_rows(tmp_path, [good_row(2)])
    tracemalloc.start()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = read_rows(tmp_path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [r["metric"] for r in rows] == ["acc1", "acc2"]
    messages = [str(w.message) for w in caught if issubclass(w.category, StoreWarning)]
    assert len(messages) == 1 and ":2: " in messages[0] and "longer than 1,048,576 bytes" in messages[0]
    assert peak < 8 << 20, peak  # the 40 MB line was never held whole


def test_an_endless_line_without_a_newline_ends_the_reader_with_the_rows_before_it(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "MAX_LINE_BYTES", 1 << 20)
    append_rows(tmp_path, [good_row(1)])
    with open(store_path(tmp_path), "ab") as f:
        f.truncate(f.tell() + (64 << 20))  # 64 MB of zero bytes, no newline (sparse: instant to make)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = read_rows(tmp_path)
    assert [r["metric"] for r in rows] == ["acc1"]
    assert ["longer than" in str(w.message) for w in caught] == [True]
