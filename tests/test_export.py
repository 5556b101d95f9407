"""Features in and out: ``ganbench features export``, ``--model features`` and ``ganbench samples export``.

The round trip is checked figure by figure against the direct run (the same
float32 features reach the same probe, so every digit agrees); the README's
numpy example is executed as written; bad files are refused in one line
(exit 2) before any probe runs, and a pickle inside an ``.npz`` never runs.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from ganbench.cli.app import cli
from ganbench.store.jsonl import read_rows

README = Path(__file__).resolve().parents[1] / "README.md"
FAST_SVM = ["--probe-opt", "svm.c_grid=1e-3,1e-2"]  # two C values keep the svm figure a matter of seconds


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def ok(result):
    assert result.exit_code == 0, result.output + (result.stderr or "") + repr(result.exception)
    return result


def refused(result, *words):
    """Exit 2 and one line on stderr saying ``words``; no traceback."""
    assert result.exit_code == 2, result.output + repr(result.exception)
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def figures(store: Path, model: str) -> dict[tuple, float]:
    return {(r["probe"], r["metric"]): r["value"] for r in read_rows(store, warn=False) if r["model"] == model}


@pytest.fixture(scope="module")
def pixels_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "pixels.npz"
    ok(invoke("features", "export", "--model", "pixels", "--out", out))
    return out


def load_npz(path):
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def test_the_exported_file_holds_the_dataset_s_pixels_labels_and_metadata(pixels_file):
    from ganbench import load_dataset

    arrays = load_npz(pixels_file)
    data = load_dataset("mnist-5k")
    for split in ("train", "test"):
        images, labels = (t.numpy() for t in data.split(split))
        expected = images.reshape(len(images), -1).astype(np.float32) / np.float32(255)  # an independent computation
        assert arrays[split].dtype == np.float32 and np.array_equal(arrays[split], expected)
        assert arrays[f"{split}_labels"].dtype == np.int64 and np.array_equal(arrays[f"{split}_labels"], labels)
    meta = json.loads(arrays["metadata"].item())
    assert meta["model"] == "pixels" and meta["view"] == "pixels" and meta["split"] == "both"
    assert meta["dataset"] == "mnist-5k" and meta["dataset_fingerprint"] == data.fingerprint
    assert meta["feature_config"] == {"bn_stats": "none", "precision": "float32", "device": "cpu"}
    assert meta["ganbench_version"] and meta["model_options"] == {}


@pytest.mark.slow
def test_model_features_gives_the_direct_run_s_knn_and_svm_figures_to_the_last_digit(pixels_file, tmp_path):
    store = tmp_path / "store"
    ok(invoke("run", "--model", "pixels", "--probe", "knn", "--probe", "svm", *FAST_SVM, "--results", store))
    ok(invoke("run", "--model", "features", "--model-opt", f"path={pixels_file}", "--model-opt", "name=px-file",
              "--probe", "knn", "--probe", "svm", *FAST_SVM, "--results", store))
    direct, from_file = figures(store, "pixels"), figures(store, "features")
    assert direct == from_file and len(direct) == 15  # 13 knn settings, svm acc and err
    assert direct[("knn", "acc_l2_k1_majority")] == 0.956  # the README's figure
    rows = [r for r in read_rows(store, warn=False) if r["model"] == "features"]
    assert {r["model_label"] for r in rows} == {"px-file"} and {r["feature_view"] for r in rows} == {"pixels"}
    assert rows[0]["feature_config"] == {"bn_stats": "none", "precision": "float32", "device": "cpu"}
    board = ok(invoke("leaderboard", store)).output
    assert "px-file · pixels" in board and "pixels · pixels" in board


@pytest.mark.slow
def test_a_safetensors_export_of_a_batch_norm_view_round_trips_with_its_feature_config(tmp_path):
    out, store = tmp_path / "d.safetensors", tmp_path / "store"
    model = ["--model", "random-d", "--model-opt", "width=4", "--view", "d-last"]
    ok(invoke("features", "export", *model, "--split", "both", "--out", out))
    from safetensors import safe_open

    with safe_open(str(out), framework="np") as f:
        meta = json.loads(f.metadata()["ganbench"])
    assert meta["feature_config"]["bn_stats"] == "train-images" and meta["view"] == "d-last"
    ok(invoke("run", *model, "--probe", "knn", "--probe-opt", "k=1", "--results", store))
    ok(invoke("run", "--model", "features", "--model-opt", f"path={out}", "--probe", "knn", "--probe-opt", "k=1",
              "--results", store))
    direct, from_file = figures(store, "random-d"), figures(store, "features")
    assert direct == from_file and len(direct) == 5
    configs = {r["model"]: r["feature_config"] for r in read_rows(store, warn=False)}
    assert configs["features"] == configs["random-d"] == meta["feature_config"]


def test_the_readme_s_numpy_example_is_scored_by_svm_and_shows_on_the_leaderboard(tmp_path, monkeypatch):
    section = README.read_text().split("## Bring your own features", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    command = section.split("```console\n$ ", 1)[1].split("\n", 1)[0].split()
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md (Bring your own features)", "exec"), {})
    assert command[:2] == ["ganbench", "run"] and "svm" in command
    ok(invoke(*command[1:], *FAST_SVM))
    rows = read_rows(tmp_path / "ganbench-results", warn=False)
    assert [(r["model_label"], r["probe"], r["metric"], r["status"]) for r in rows] == [
        ("my-encoder", "svm", "acc", "ok"), ("my-encoder", "svm", "err", "ok")]
    acc = rows[0]["value"]
    assert 0.6 < acc < 1 and rows[0]["model_config"]["sha256"]  # 64 random projections of the pixels: well above chance
    board = ok(invoke("leaderboard")).output
    assert "my-encoder · features" in board and f"{acc:.4f}" in board


def write_own(path, train, test, train_labels, test_labels, **extra):
    np.savez(path, train=train, test=test, train_labels=train_labels, test_labels=test_labels, **extra)
    return path


@pytest.fixture(scope="module")
def own_arrays(pixels_file):
    arrays = load_npz(pixels_file)
    middle = slice(392, 424)  # 32 pixels of the digits' middle row (the border pixels are all 0)
    return {k: arrays[k][:, middle] if k in ("train", "test") else arrays[k] for k in ("train", "test", "train_labels",
                                                                                          "test_labels")}


def run_features(path, store, *more):
    return invoke("run", "--model", "features", "--model-opt", f"path={path}", "--probe", "knn", "--probe-opt", "k=1",
                  "--results", store, *more)


def test_a_file_whose_labels_are_not_the_dataset_s_is_refused_before_any_probe(own_arrays, tmp_path):
    labels = own_arrays["test_labels"].copy()
    labels[[10, 11]] = labels[[11, 10]] if labels[10] != labels[11] else (labels[10] + 1) % 10
    path = write_own(tmp_path / "shuffled.npz", **{**own_arrays, "test_labels": labels})
    line = refused(run_features(path, tmp_path / "store"), "test_labels", "differ", "first: row 10")
    assert "2 of 1,000" in line
    assert not (tmp_path / "store" / "results.jsonl").exists() or not read_rows(tmp_path / "store", warn=False)
    short = write_own(tmp_path / "short.npz", **{**own_arrays, "train": own_arrays["train"][:-1],
                                                 "train_labels": own_arrays["train_labels"][:-1]})
    refused(run_features(short, tmp_path / "store"), "3,999 labels", "4,000 train")


def test_a_file_exported_from_another_copy_of_the_data_is_refused_naming_the_dataset(own_arrays, tmp_path):
    meta = {"dataset": "mnist", "dataset_fingerprint": "b74a5289561b3b39", "view": "pixels"}
    path = write_own(tmp_path / "other.npz", **own_arrays, metadata=np.array(json.dumps(meta)))
    refused(run_features(path, tmp_path / "store"), "exported from dataset 'mnist'", "--dataset mnist")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_file_with_a_value_that_is_not_finite_is_refused(own_arrays, tmp_path, bad):
    train = own_arrays["train"].copy()
    train[7, 3] = bad
    path = write_own(tmp_path / "nan.npz", **{**own_arrays, "train": train})
    refused(run_features(path, tmp_path / "store"), "'train' holds 1 values that are not finite", "row 7")


class Payload:
    """Unpickling this creates ``marker``: the proof that code from the file ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("where", ["train", "metadata"])
def test_a_pickle_inside_an_npz_is_refused_and_never_run(own_arrays, tmp_path, where):
    marker = tmp_path / "pwned"
    evil = np.array([Payload(marker)], dtype=object)
    path = tmp_path / "evil.npz"
    np.savez(path, **{**own_arrays, where: evil})  # np.savez pickles object arrays
    refused(run_features(path, tmp_path / "store"), f"'{where}' is an object array", "no pickle")
    assert not marker.exists()
    pickle.loads(pickle.dumps(Payload(marker)))  # the payload does run when unpickled: the test could fail
    assert marker.exists()


def test_two_different_files_at_one_path_never_share_a_leaderboard_cell(own_arrays, tmp_path):
    path, store = tmp_path / "mine.npz", tmp_path / "store"
    write_own(path, **own_arrays)
    ok(run_features(path, store, "--model-opt", "name=mine"))
    write_own(path, **{**own_arrays, "train": own_arrays["train"][:, :8], "test": own_arrays["test"][:, :8]})
    ok(run_features(path, store, "--model-opt", "name=mine"))
    rows = [r for r in read_rows(store, warn=False) if r["metric"] == "acc_l2_k1_majority"]
    assert len({r["model_config"]["sha256"] for r in rows}) == 2
    assert len({r["model_config_hash"] for r in rows}) == 2 and rows[0]["value"] != rows[1]["value"]
    board = ok(invoke("leaderboard", store)).output
    assert f"{rows[0]['value']:.4f}" in board and f"{rows[1]['value']:.4f}" in board
    assert board.count("mine · features") == 2 and board.count("(sha256=") == 2  # the label says what differs


def test_model_features_without_a_path_or_with_a_missing_file_is_one_line(tmp_path):
    refused(invoke("run", "--model", "features", "--probe", "knn", "--results", tmp_path), "path=FILE")
    refused(run_features(tmp_path / "nowhere.npz", tmp_path), "does not exist")
    refused(run_features(tmp_path / "x.csv", tmp_path), "*.npz", "*.safetensors")


def test_a_file_of_one_split_is_refused_with_the_export_to_run(tmp_path):
    out = tmp_path / "train-only.npz"
    ok(invoke("features", "export", "--model", "pixels", "--split", "train", "--out", out))
    assert sorted(load_npz(out)) == ["metadata", "train", "train_labels"]
    refused(run_features(out, tmp_path / "store"), "lacks 'test', 'test_labels'", "--split both")


def test_the_progress_bar_shows_on_a_terminal_only(monkeypatch):
    import io
    import sys

    import torch

    from ganbench.api.data import Dataset
    from ganbench.builtin.models.baselines.model import Pixels
    from ganbench.jobs.run import FeatureSource

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    images = torch.zeros((1200, 1, 4, 4), dtype=torch.uint8)
    labels = torch.zeros(1200, dtype=torch.int64)
    data = Dataset("zeros", images, labels, images[:2], labels[:2], ["0"])
    for stream, shown in ((io.StringIO(), False), (Terminal(), True)):
        monkeypatch.setattr(sys, "stderr", stream)
        source = FeatureSource(Pixels(), data, torch.device("cpu"), None, "running")
        source.progress = True
        assert source.split("train", "pixels").shape == (1200, 16)
        assert ("features 'pixels'" in stream.getvalue()) is shown
        assert ("0/3 [" in stream.getvalue()) is shown  # 1,200 images in batches of 500


def test_export_needs_a_view_when_the_model_has_several_and_a_known_suffix(tmp_path):
    refused(invoke("features", "export", "--model", "random-d", "--model-opt", "width=4", "--out", tmp_path / "f.npz"),
            "--view", "d, d-last")
    refused(invoke("features", "export", "--model", "pixels", "--out", tmp_path / "f.pkl"), "*.npz")


# -- samples ------------------------------------------------------------------
TINY_DCGAN = ["--model", "dcgan", "--model-opt", "width=4", "--model-opt", "nz=8", "--max-steps", "10",
              "--batch-size", "16", "--device", "cpu"]


@pytest.mark.slow
@pytest.mark.usefixtures("small_cpu_kernels")
def test_samples_export_writes_n_images_as_pngs_and_as_npz_seeded(tmp_path):
    ok(invoke("samples", "export", *TINY_DCGAN, "--n", "100", "--out", tmp_path / "pngs"))
    pngs = sorted((tmp_path / "pngs").glob("*.png"))
    assert len(pngs) == 100 and pngs[0].name == "00000.png" and pngs[-1].name == "00099.png"
    ok(invoke("samples", "export", *TINY_DCGAN, "--n", "100", "--out", tmp_path / "s.npz"))
    images = load_npz(tmp_path / "s.npz")["images"]
    assert images.dtype == np.uint8 and images.shape == (100, 28, 28, 1)
    for i in (0, 57, 99):  # the same seed: the PNGs are the npz's images
        assert np.array_equal(np.array(Image.open(pngs[i])), images[i, :, :, 0])
    assert len({images[i].tobytes() for i in range(100)}) == 100
    ok(invoke("samples", "export", *TINY_DCGAN, "--n", "10", "--sample-seed", "1", "--out", tmp_path / "t.npz"))
    assert not np.array_equal(load_npz(tmp_path / "t.npz")["images"], images[:10])


def test_samples_export_of_a_model_without_a_generator_is_refused_before_training(tmp_path):
    cache = tmp_path / "cache"
    refused(invoke("samples", "export", "--model", "random-d", "--n", "5", "--cache-dir", cache, "--out", tmp_path / "s"),
            "Model 'random-d' has no generator", "dcgan")
    assert not (cache / "models").exists() and not (tmp_path / "s").exists()


def test_the_leaderboard_shows_a_named_row_under_its_name_and_never_merges_it_with_a_plugin_of_that_name():
    import pandas as pd

    from ganbench.reports.leaderboard import build_tables, metric_filter

    def row(model, label, value, config):
        return {"model": model, "model_label": label, "feature_view": "pixels", "dataset": "mnist-5k",
                "dataset_fingerprint": "aaaa", "probe": "knn", "probe_version": "1", "probe_config": {},
                "metric": "acc", "value": value, "seed": 0, "status": "ok", "trains_on_labels": False,
                "created_at": "2026-01-01", "higher_is_better": True, "target": None, "run_id": "r", "schedule": {},
                "feature_config": None, "model_config": config, "model_version": "1", "model_config_hash": "h"}

    rows = [row("pixels", "pixels", 0.9, {}), row("features", "pixels", 0.8, {"path": "p.npz", "name": "pixels"}),
            row("features", "enc", 0.7, {"path": "e.npz", "name": "enc"}), {**row("pixels", "pixels", 0.6, {}),
                                                                          "model_label": None, "dataset": "old"}]
    tables = {t.dataset: t for t in build_tables(pd.DataFrame(rows), metric_filter(None, True))}
    cells = {r.label: next(iter(r.cells.values())).mean for r in tables["mnist-5k"].rows}
    assert cells == {"enc · pixels": 0.7, "pixels · pixels (name=pixels, path=p.npz, plugin=features)": 0.8,
                     "pixels · pixels (no name, no path, plugin=pixels)": 0.9}
    assert [r.label for r in tables["old"].rows] == ["pixels · pixels"]  # rows written before model_label
    old, new = row("pixels", "pixels", 0.5, {}), row("pixels", "pixels", 0.7, {})
    old.pop("model_label")
    new["seed"] = 1
    [table] = build_tables(pd.DataFrame([old, new]), metric_filter(None, True))
    [merged] = table.rows  # a store holding rows from before and after model_label: one row, two seeds
    assert merged.label == "pixels · pixels" and next(iter(merged.cells.values())).text() == "0.6000 ± 0.1414 (n=2)"
