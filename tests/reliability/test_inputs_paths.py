"""The result store and the cache must be writable before anything loads or trains."""

from __future__ import annotations

import os
import time

import pytest
from click.testing import CliRunner

from ganbench.cli.app import cli
from ganbench.system.errors import UsageError
from ganbench.system.paths import check_writable
from .refusals import one_line_exit_2


def invoke(*args):
    return CliRunner().invoke(cli, ["run", "--model", "dcgan", "--probe", "knn", *args])


def test_results_under_a_regular_file_fail_fast_before_loading(tmp_path, nothing_loads):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    began = time.perf_counter()
    result = invoke("--results", str(blocker / "results"), "--cache-dir", str(tmp_path / "cache"))
    assert time.perf_counter() - began < 30
    one_line_exit_2(result, "--results", str(blocker), "is a file")
    assert blocker.read_text() == "not a folder"


def test_cache_dir_that_is_a_file_fails_before_loading(tmp_path, nothing_loads):
    blocker = tmp_path / "cache"
    blocker.write_text("")
    result = invoke("--results", str(tmp_path / "results"), "--cache-dir", str(blocker))
    one_line_exit_2(result, "--cache-dir", "is a file")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes anywhere")
@pytest.mark.parametrize("flag", ["--results", "--cache-dir"])
def test_unwritable_folders_fail_before_loading(tmp_path, nothing_loads, flag):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        other = "--cache-dir" if flag == "--results" else "--results"
        result = invoke(flag, str(locked / "x"), other, str(tmp_path / "ok"))
        one_line_exit_2(result, flag, "not writable")
    finally:
        locked.chmod(0o700)


def test_check_writable_accepts_new_and_existing_paths(tmp_path):
    check_writable(tmp_path / "new" / "deeper", "cache", "--cache-dir", is_folder=True)
    check_writable(tmp_path / "store.jsonl", "store", "--results", is_folder=False)
    (tmp_path / "store.jsonl").write_text("")
    check_writable(tmp_path / "store.jsonl", "store", "--results", is_folder=False)
    with pytest.raises(UsageError, match="is a folder"):
        check_writable(tmp_path, "store", "--results", is_folder=False)
    assert not (tmp_path / "new").exists()  # checking creates nothing
