"""A probe calling sys.exit is a failed row and the next probe runs; a full disk leaves no empty side file;
junk lines in a training log are skipped with a count."""

import errno
import json
import math
import os
import sys
import warnings
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

import ganbench
from ganbench.reports import pictures
from ganbench.cli.app import cli
from ganbench.system.errors import UsageError
from ganbench.store.jsonl import StoreWarning, StoreWriteError, append_rows, read_rows, store_path

from .test_store_appends import full_disk_after
from .test_store_reader import good_row
from .toy_plugins import ACC, toys  # noqa: F401  (fixture)


class ExitingProbe(ganbench.Probe):
    def run(self, ctx):
        sys.exit(self.options["code"])


@pytest.mark.parametrize("code", [0, 3])
def test_a_probe_calling_sys_exit_is_a_failed_row_and_the_other_probes_run(toys, tmp_path, code):
    toys.add("probe", ganbench.ProbeSpec("exiting-probe", ExitingProbe, "calls sys.exit", options=[
        ganbench.Option("code", "int", 0, "exit code")]), "tests")
    result = CliRunner().invoke(cli, ["run", "--model", "toy-model", "--dataset", "toy-data", "--probe", "exiting-probe",
                                      "--probe-opt", f"code={code}", "--probe", "toy-probe", "--device", "cpu",
                                      "--results", str(tmp_path)])
    assert result.exit_code == 1, result.output
    rows = read_rows(tmp_path)
    assert [(r["probe"], r["status"]) for r in rows] == [("exiting-probe", "failed"), ("toy-probe", "ok"),
                                                         ("toy-probe", "ok")]
    assert f"sys.exit({code})" in rows[0]["error"] and rows[1]["value"] == pytest.approx(ACC)


def _fail_writes_under(monkeypatch, folder):
    """Buffered writes (the side file's) to files under ``folder`` fail with ENOSPC, as on a full disk."""
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def fdopen(fd, *args, **kwargs):
        handle = real_fdopen(fd, *args, **kwargs)
        inside = os.path.realpath(f"/proc/self/fd/{fd}").startswith(os.path.realpath(folder))
        return Full(handle) if inside else handle
    monkeypatch.setattr(os, "fdopen", fdopen)


def test_a_full_disk_leaves_no_empty_side_file(tmp_path, monkeypatch):
    store = tmp_path / "store"
    append_rows(store, [good_row(1)])
    elsewhere = tmp_path / "tmp"
    elsewhere.mkdir()
    monkeypatch.setenv("TMPDIR", str(elsewhere))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    full_disk_after(monkeypatch, store_path(store), allowed=0)
    _fail_writes_under(monkeypatch, store)
    with pytest.raises(StoreWriteError) as caught:
        append_rows(store, [good_row(2)])
    monkeypatch.undo()
    assert sorted(p.name for p in store.iterdir() if "unsaved" in p.name) == []  # no empty decoy in the store folder
    (side,) = elsewhere.glob("results.unsaved-*.jsonl")
    assert caught.value.side_file == side and [json.loads(x)["metric"] for x in side.read_text().splitlines()] == ["acc2"]


def test_when_no_side_file_can_be_written_none_is_left_anywhere(tmp_path, monkeypatch):
    store = tmp_path / "store"
    append_rows(store, [good_row(1)])
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", None)
    full_disk_after(monkeypatch, store_path(store), allowed=0)
    _fail_writes_under(monkeypatch, tmp_path)
    with pytest.raises(StoreWriteError, match="could not be saved anywhere either"):
        append_rows(store, [good_row(2)])
    monkeypatch.undo()
    assert [p.name for p in tmp_path.rglob("*unsaved*")] == []


def test_junk_lines_in_a_training_log_are_skipped_with_a_count(tmp_path):
    good = [{"step": s, "loss_d": 1.0 / s, "loss_g": 2.0, "d_real": 0.6, "d_fake": 0.4} for s in range(1, 41)]
    junk = ["not json", "[1, 2]", '{"loss_d": 1.0}', '{"step": "3"}', '{"step": true}', "\xff\xfe", "[" * 100_000,
            "1" * 5000, '{"step": 1e999}']
    lines = [json.dumps(e) for e in good[:20]] + junk + [json.dumps(e) for e in good[20:]]
    lines.append(json.dumps({"step": 41, "loss_d": "high", "loss_g": 10**400, "d_real": None, "d_fake": 0.5}))
    (tmp_path / "log.jsonl").write_bytes("\n".join(lines).encode("utf-8", "surrogateescape") + b"\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        log = pictures.read_log(tmp_path)
    assert [e["step"] for e in log] == list(range(1, 42))
    assert log[0]["loss_d"] == 1.0 and math.isnan(log[-1]["loss_d"]) and math.isnan(log[-1]["loss_g"])
    (message,) = [str(w.message) for w in caught if issubclass(w.category, StoreWarning)]
    assert f"skipped {len(junk)} line(s)" in message and "41 kept" in message
    prepared = SimpleNamespace(folder=tmp_path, resolved=SimpleNamespace(model_spec=SimpleNamespace(name="dcgan")),
                               dataset=SimpleNamespace(name="mnist-5k"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = pictures.curves(prepared, tmp_path / "curves.png")
    assert path.stat().st_size > 10_000


def test_a_training_log_with_no_valid_line_is_one_line_user_error(tmp_path):
    (tmp_path / "log.jsonl").write_text("junk\n{}\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(UsageError, match="holds no valid entry"):
            pictures.read_log(tmp_path)


class ExitingModel(ganbench.Model):
    trains = False

    def setup(self, info, device):
        sys.exit(0)

    def feature_views(self):
        return {"mean": "mean pixel"}


def test_a_model_calling_sys_exit_fails_its_own_job_and_the_sweep_goes_on(toys, tmp_path):
    toys.add("model", ganbench.ModelSpec("exiting-model", ExitingModel, "calls sys.exit in setup"), "tests")
    result = CliRunner().invoke(cli, ["sweep", "--model", "exiting-model", "--model", "toy-model", "--dataset",
                                      "toy-data", "--probe", "toy-probe", "--device", "cpu", "--results", str(tmp_path)])
    assert result.exit_code == 1, result.output
    rows = read_rows(tmp_path)
    assert [(r["model"], r["status"]) for r in rows] == [("exiting-model", "failed"), ("toy-model", "ok"),
                                                         ("toy-model", "ok")]
    assert "SystemExit" in rows[0]["error"]
