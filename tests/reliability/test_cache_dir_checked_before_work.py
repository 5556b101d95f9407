"""An unusable cache folder (``--cache-dir`` or ``$GANBENCH_CACHE``) is one line and exit 2 before anything runs,
for every command that trains or loads a model; no row is stored (issue 37, item 7)."""

import json

import pytest
from click.testing import CliRunner

from ganbench.cli.app import cli

from .test_store_reader import good_row
from .refusals import one_line_exit_2


def commands(tmp_path):
    results = str(tmp_path / "R")
    return {
        "run": ["run", "--model", "pixels", "--probe", "knn", "--results", results],
        "sweep": ["sweep", "--model", "pixels", "--probe", "knn", "--results", results],
        "features export": ["features", "export", "--model", "pixels", "--out", str(tmp_path / "f.npz")],
        "samples export": ["samples", "export", "--model", "dcgan", "--n", "4", "--out", str(tmp_path / "s.npz")],
        "show samples": ["show", "samples", "--model", "dcgan"],
        "dedup": ["dedup", "--dataset", "mnist-5k"],
    }


@pytest.mark.parametrize("command", ["run", "sweep", "features export", "samples export", "show samples", "dedup"])
@pytest.mark.parametrize("how", ["flag", "environment"])
def test_a_cache_under_proc_is_refused_in_one_line_before_anything_runs(tmp_path, monkeypatch, nothing_loads,
                                                                        command, how):
    from ganbench.builtin.probes.memorization import dedup
    monkeypatch.setattr(dedup, "load_dataset", lambda *a, **k: (_ for _ in ()).throw(AssertionError("loaded")))
    args = commands(tmp_path)[command]
    if how == "flag":
        args = [*args, "--cache-dir", "/proc/nope"]
    else:
        monkeypatch.setenv("GANBENCH_CACHE", "/proc/nope")
    result = CliRunner().invoke(cli, args)
    one_line_exit_2(result, "--cache-dir /proc/nope" if how == "flag" else "GANBENCH_CACHE /proc/nope", "under /proc")
    assert not (tmp_path / "R").exists()  # no row, not even a failed one


def test_reproduce_checks_the_cache_before_anything_runs(tmp_path, nothing_loads):
    recipe = tmp_path / "r.toml"
    recipe.write_text('name = "r"\n[[jobs]]\nid = "a"\nmodel = "pixels"\ndataset = "mnist-5k"\nprobes = ["knn"]\n')
    result = CliRunner().invoke(cli, ["reproduce", str(recipe), "--results", str(tmp_path / "R"),
                                      "--cache-dir", "/sys/nope"])
    one_line_exit_2(result, "--cache-dir /sys/nope", "under /sys")
    assert not (tmp_path / "R").exists()


def test_a_cache_in_a_store_s_predictions_folder_or_under_a_file_is_refused(tmp_path, nothing_loads):
    store = tmp_path / "S"
    (store / "predictions").mkdir(parents=True)
    (store / "results.jsonl").write_text(json.dumps(good_row(1)) + "\n")
    before = (store / "results.jsonl").read_bytes()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for cache, needle in [(store / "predictions" / "cache", "predictions folder of the result store"),
                          (blocker / "cache", "is a file, not a folder")]:
        result = CliRunner().invoke(cli, [*commands(tmp_path)["run"], "--cache-dir", str(cache)])
        one_line_exit_2(result, "--cache-dir", needle)
    assert (store / "results.jsonl").read_bytes() == before and not (store / "predictions" / "cache").exists()
