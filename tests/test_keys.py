"""Request keys by the data's content: rows count wherever the data sits, old rows included, and a run of
every view answers a request for some (ganbench.store.keys)."""

import gzip
import json
import shutil

import pytest
from click.testing import CliRunner

from ganbench.cli import cli
from ganbench.store.keys import request_key, row_key
from test_datasets import write_idx_set

RECIPE = '''name = "tiny"
[[jobs]]
id = "p"
model = "random-d"
model_options = {{ width = 4 }}
dataset = "mnist"
views = {views}
probes = [{{ name = "knn", options = {{ k = 1, metric = "l2", instdisc = false }} }}]
[[figures]]
id = "f"
title = "1-NN"
probe = "knn"
metric = "acc_l2_k1_majority"
[[rows]]
label = "random D"
jobs = ["p"]
view = "d"
'''
KNN = ["--probe", "knn", "--probe-opt", "k=1", "--probe-opt", "metric=l2", "--probe-opt", "instdisc=false"]


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


def rows_of(store):
    return [json.loads(line) for line in (store / "results.jsonl").read_text().splitlines()]


@pytest.fixture
def stored(tmp_path):
    """Rows of random-d (both views) on a tiny MNIST read from one folder (gzipped files)."""
    write_idx_set(tmp_path / "here", gz=True, n_train=30, n_test=10)
    store = tmp_path / "store"
    result = invoke("run", "--model", "random-d", "--model-opt", "width=4", "--dataset", "mnist", "--data-root",
                    str(tmp_path / "here"), "--results", str(store), "--cache-dir", str(tmp_path / "cache"), *KNN)
    assert result.exit_code == 0, result.output
    return store


def elsewhere(tmp_path):
    """The same files, uncompressed, in another folder."""
    there = tmp_path / "elsewhere" / "data"
    there.mkdir(parents=True)
    for path in (tmp_path / "here").iterdir():
        (there / path.name.removesuffix(".gz")).write_bytes(gzip.decompress(path.read_bytes()))
    return there


def test_rows_made_from_one_folder_count_for_the_same_data_in_another(tmp_path, stored):
    there = elsewhere(tmp_path)
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(RECIPE.format(views='["d", "d-last"]'))
    dry = invoke("reproduce", str(recipe), "--results", str(stored), "--dry-run", "--data-root", f"mnist={there}",
                 "--cache-dir", str(tmp_path / "cache2"))
    assert dry.exit_code == 0, dry.output
    assert "1 request(s): 1 stored, 0 to run" in dry.output
    before = (stored / "results.jsonl").read_bytes()
    sweep = invoke("sweep", "--model", "random-d", "--model-opt", "width=4", "--dataset", "mnist", "--data-root",
                   str(there), "--results", str(stored), "--cache-dir", str(tmp_path / "cache2"), *KNN)
    assert sweep.exit_code == 0, sweep.output
    assert "1 (job, probe) request(s) already stored, skipped." in sweep.output
    assert (stored / "results.jsonl").read_bytes() == before


def test_other_data_is_another_request(tmp_path, stored):
    write_idx_set(tmp_path / "other", gz=False, n_train=30, n_test=10)  # other random digits
    sweep = invoke("sweep", "--model", "random-d", "--model-opt", "width=4", "--dataset", "mnist", "--data-root",
                   str(tmp_path / "other"), "--results", str(stored), "--cache-dir", str(tmp_path / "cache"), *KNN)
    assert sweep.exit_code == 0, sweep.output
    assert "0 (job, probe) request(s) already stored, skipped." in sweep.output
    assert len({r["dataset_fingerprint"] for r in rows_of(stored)}) == 2


def test_a_run_of_every_view_answers_a_request_for_some(tmp_path, stored):
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(RECIPE.format(views='["d"]'))
    before = (stored / "results.jsonl").read_bytes()
    run = invoke("reproduce", str(recipe), "--results", str(stored), "--data-root", f"mnist={tmp_path / 'here'}",
                 "--cache-dir", str(tmp_path / "cache"))
    assert run.exit_code == 0, run.output
    assert "1 (job, probe) request(s) already stored, skipped." in run.output
    assert (stored / "results.jsonl").read_bytes() == before
    # ... but a run of one view does not answer a request for every view
    only_d = tmp_path / "only-d"
    shutil.copytree(stored, only_d)
    lines = [line for line in (only_d / "results.jsonl").read_text().splitlines() if json.loads(line)["feature_view"] == "d"]
    (only_d / "results.jsonl").write_text("\n".join(lines) + "\n")
    recipe.write_text(RECIPE.format(views='["d", "d-last"]'))
    dry = invoke("reproduce", str(recipe), "--results", str(only_d), "--dry-run", "--data-root",
                 f"mnist={tmp_path / 'here'}", "--cache-dir", str(tmp_path / "cache"))
    assert "1 request(s): 0 stored, 1 to run" in dry.output, dry.output


def test_rows_of_older_schemas_are_recognised_without_a_rewrite(tmp_path, stored):
    old = []
    for row in rows_of(stored):
        row = {k: v for k, v in row.items() if k not in ("at_epoch", "bn_stats")}
        old.append({**row, "schema_version": 2, "job_key": "0123456789abcdef"})  # a key of the folder-bound kind
    (stored / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in old))
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(RECIPE.format(views='["d", "d-last"]'))
    dry = invoke("reproduce", str(recipe), "--results", str(stored), "--dry-run", "--data-root",
                 f"mnist={elsewhere(tmp_path)}", "--cache-dir", str(tmp_path / "cache"))
    assert "1 request(s): 1 stored, 0 to run" in dry.output, dry.output
    assert all(json.loads(line)["job_key"] == "0123456789abcdef" for line in (stored / "results.jsonl").open())


def test_a_rows_key_is_recomputed_from_its_fields(stored):
    rows = rows_of(stored)
    assert rows and all(row_key(r) == r["job_key"] for r in rows)
    row = rows[0]
    assert row_key({**row, "device": "cuda:0", "created_at": "2030-01-01", "train_seconds": 9.0}) == row["job_key"]
    for change in ({"seed": 1}, {"dataset_fingerprint": "0" * 16}, {"at_epoch": 2}, {"bn_stats": "running"},
                   {"probe_version": "999"}, {"model_config": {**row["model_config"], "width": 8}},
                   {"schedule": {"epochs": 3, "max_steps": None, "batch_size": 64}}):
        assert row_key({**row, **change}) != row["job_key"], change


def test_a_folder_dataset_is_keyed_by_content_not_path():
    common = dict(model="pixels", model_version="1", model_config={}, dataset_fingerprint="ab" * 8, seed=0,
                  schedule={}, at_epoch=None, bn_stats=None, probe="knn", probe_version="2", probe_config={})
    assert request_key(dataset="folder:/home/a/imgs", **common) == request_key(dataset="folder:/mnt/b", **common)
    assert request_key(dataset="mnist", **common) != request_key(dataset="fashion-mnist", **common)
