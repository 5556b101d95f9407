"""Checks before work: the store's lock, long path components, --output folders, dedup seeds, '~' paths."""

import os

import pytest
from click.testing import CliRunner

from ganbench.cli.app import cli
from ganbench.store.jsonl import append_rows, read_rows, store_path

from .test_store_reader import good_row
from .refusals import one_line_exit_2


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def test_a_store_whose_lock_cannot_be_made_is_refused_before_loading(tmp_path, nothing_loads):
    append_rows(tmp_path, [good_row(1)])
    (tmp_path / "results.jsonl.lock").unlink(missing_ok=True)
    (tmp_path / "results.jsonl.lock").mkdir()  # the store is writable, its lock file cannot be made
    result = invoke("run", "--model", "pixels", "--probe", "knn", "--results", str(tmp_path),
                    "--cache-dir", str(tmp_path / "cache"))
    one_line_exit_2(result, "--results", "lock file", "is a folder")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_store_folder_with_a_writable_store_is_refused_before_loading(tmp_path, nothing_loads):
    folder = tmp_path / "S"
    append_rows(folder, [good_row(1)])
    (folder / "results.jsonl.lock").unlink(missing_ok=True)
    folder.chmod(0o500)
    try:
        result = invoke("run", "--model", "pixels", "--probe", "knn", "--results", str(folder),
                        "--cache-dir", str(tmp_path / "cache"))
        one_line_exit_2(result, "--results", "lock file", "not writable")
    finally:
        folder.chmod(0o700)


@pytest.mark.parametrize("flag", ["--results", "--cache-dir"])
def test_a_300_character_path_component_is_refused_before_loading(tmp_path, nothing_loads, flag):
    long = str(tmp_path / ("x" * 300))
    other = "--cache-dir" if flag == "--results" else "--results"
    result = invoke("run", "--model", "pixels", "--probe", "knn", flag, long, other, str(tmp_path / "ok"))
    one_line_exit_2(result, flag, "300 bytes long", "at most 255")


def test_leaderboard_output_into_a_missing_folder_is_written(tmp_path):
    append_rows(tmp_path / "S", [good_row(1)])
    target = tmp_path / "new" / "deeper" / "board.md"
    result = invoke("leaderboard", str(tmp_path / "S"), "--format", "md", "--output", str(target))
    assert result.exit_code == 0, (result.output, result.exception)
    assert "0.5010" in target.read_text()
    long = invoke("leaderboard", str(tmp_path / "S"), "--output", str(tmp_path / ("y" * 300) / "board.md"))
    one_line_exit_2(long, "--output", "300 bytes long")


def test_dedup_seed_beyond_32_bits_is_refused_before_loading(nothing_loads, monkeypatch):
    from ganbench.builtin.probes.memorization import dedup
    monkeypatch.setattr(dedup, "load_dataset", lambda *a, **k: (_ for _ in ()).throw(AssertionError("loaded")))
    result = invoke("dedup", "--dataset", "mnist-5k", "--seed", str(2**70))
    assert result.exit_code == 2, (result.output, result.exception)
    assert "--seed" in result.output and "Traceback" not in result.output


def test_a_quoted_tilde_path_is_checked_and_written_in_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    result = invoke("run", "--model", "pixels", "--probe", "knn", "--probe-opt", "k=1", "--probe-opt",
                    "instdisc=false", "--probe-opt", "metric=l2", "--device", "cpu",
                    "--results", "~/store", "--cache-dir", "~/cache")
    assert result.exit_code == 0, (result.output, result.exception)
    assert not (tmp_path / "~").exists()  # nothing written to ./~/
    assert [r["metric"] for r in read_rows(tmp_path / "home" / "store")] == ["acc_l2_k1_majority", "acc_l2_k1_distance"]
    assert str(store_path(tmp_path / "home" / "store")) in result.output
