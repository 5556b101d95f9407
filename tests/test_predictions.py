"""Per-example test predictions kept beside the store (``Metric.predictions``, the row's ``predictions``)."""

import hashlib
import json

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.neighbors import KNeighborsClassifier

import ganbench
from ganbench.store import predictions
from ganbench.cli.app import cli
from ganbench.api.registry import DatasetSpec
from ganbench.store.schema import SCHEMA_VERSION, check_row
from ganbench.store.jsonl import append_rows, read_rows

from ganbench.api.testing import tiny_dataset
from reliability.toy_plugins import toys  # noqa: F401  (fixture)

N_TEST = 30


class GuessingProbe(ganbench.Probe):
    """Predicts class 0 for every test example (option ``shape`` spoils it on purpose)."""

    def run(self, ctx):
        _, test_y = ctx.features("test")
        guess = {"good": np.zeros(len(test_y), np.int64), "short": np.zeros(len(test_y) - 1, np.int64),
                 "class": np.full(len(test_y), 7), "float": np.zeros(len(test_y)),
                 "list": [0] * len(test_y)}[self.options["shape"]]
        acc = float((test_y == 0).mean())
        return [ganbench.Metric("acc", acc, True, predictions=guess), ganbench.Metric("plain", acc, True)]


@pytest.fixture
def tiny(toys):
    toys.add("dataset", DatasetSpec("tiny-data", lambda root=None, argument=None, **o: tiny_dataset(
        n_train=60, n_test=N_TEST, classes=3, size=6), "60 + 30 random 6x6 images, 3 classes"), "tests")
    toys.add("probe", ganbench.ProbeSpec("guess", GuessingProbe, "class 0 everywhere", options=[
        ganbench.Option("shape", "str", "good", "what to return", choices=["good", "short", "class", "float", "list"])]),
        "tests")
    return toys


def run(tmp_path, *args):
    return CliRunner().invoke(cli, ["run", "--model", "pixels", "--dataset", "tiny-data", "--results", str(tmp_path),
                                    "--device", "cpu", *args])


def by_metric(rows, probe):
    return {r["metric"]: r for r in rows if r["probe"] == probe}


def test_knn_predictions_are_scikit_learns_and_give_the_rows_figure(tiny, tmp_path):
    result = run(tmp_path, "--probe", "knn", "--probe-opt", "k=1,5", "--probe-opt", "instdisc=false")
    assert result.exit_code == 0, result.output
    data = tiny_dataset(n_train=60, n_test=N_TEST, classes=3, size=6)
    train = data.train_x.flatten(1).numpy() / 255.0
    test = data.test_x.flatten(1).numpy() / 255.0
    rows = by_metric(read_rows(tmp_path), "knn")
    for k in (1, 5):
        row = rows[f"acc_l2_k{k}_majority"]
        loaded = predictions.load(tmp_path, row["predictions"])
        expected = KNeighborsClassifier(n_neighbors=k).fit(train, data.train_y.numpy()).predict(test)
        np.testing.assert_array_equal(loaded.predicted[0], expected)
        np.testing.assert_array_equal(loaded.labels, data.test_y.numpy())
        assert loaded.correct.mean() == pytest.approx(row["value"])
        assert row["predictions"]["test_set"] == predictions.test_set_fingerprint(data)
        assert row["schema_version"] == SCHEMA_VERSION and check_row(row) is None
    # the file is named by its content: equal predictions share it, and its sha256 is the recorded one
    files = {r["predictions"]["file"] for r in rows.values()}
    assert len(list((tmp_path / "predictions").glob("*.npz"))) == len(files)
    for row in rows.values():
        digest = hashlib.sha256((tmp_path / row["predictions"]["file"]).read_bytes()).hexdigest()
        assert digest == row["predictions"]["sha256"]


def test_svm_predictions_per_label_draw_give_each_draws_accuracy(tiny, tmp_path):
    result = run(tmp_path, "--probe", "svm", "--probe-opt", "labels_per_class=5", "--probe-opt", "repeats=3",
                 "--probe-opt", "c_grid=0.01,1")
    assert result.exit_code == 0, result.output
    rows = by_metric(read_rows(tmp_path), "svm")
    acc, err = rows["acc_15labels"], rows["err_15labels"]
    loaded = predictions.load(tmp_path, acc["predictions"])
    assert loaded.predicted.shape == (3, N_TEST) and loaded.predicted.dtype == np.uint8
    np.testing.assert_allclose(loaded.correct.mean(axis=1), acc["details"]["acc_per_draw"])
    assert loaded.correct.mean() == pytest.approx(acc["value"])
    assert err["predictions"] == acc["predictions"]  # one file for both figures of one classifier


def test_a_third_party_probe_hands_predictions_back_and_bad_ones_fail_their_row(tiny, tmp_path):
    assert run(tmp_path / "good", "--probe", "guess", "--probe-opt", "shape=list").exit_code == 0
    rows = by_metric(read_rows(tmp_path / "good"), "guess")
    assert not predictions.load(tmp_path / "good", rows["acc"]["predictions"]).predicted.any()
    assert rows["plain"].get("predictions") is None
    for shape, problem in [("short", f"shape ({N_TEST - 1},), expected ({N_TEST},) or (draws, {N_TEST})"),
                           ("class", "classes from 7 to 7, expected 0 to 2"),
                           ("float", "dtype float64, expected integers")]:
        result = run(tmp_path / shape, "--probe", "guess", "--probe-opt", f"shape={shape}")
        assert result.exit_code == 1, result.output
        rows = by_metric(read_rows(tmp_path / shape), "guess")
        assert rows["acc"]["status"] == "failed" and problem in rows["acc"]["error"]
        assert rows["plain"]["status"] == "ok"


def pending_row(labels=(0, 1, 2, 1)):
    labels = np.array(labels)
    p = predictions.Pending(labels[None, :].astype(np.uint8), labels.astype(np.uint8), "abc")
    return {"schema_version": 2, "run_id": "r", "model": "m", "probe": "p", "dataset": "d", "metric": "acc",
            "value": 1.0, "status": "ok", predictions.PENDING_KEY: p}


def test_predictions_are_written_before_the_row_and_a_write_failure_keeps_the_row(tmp_path, capsys):
    append_rows(tmp_path / "ok", [pending_row()])
    (row,) = read_rows(tmp_path / "ok")
    assert predictions.PENDING_KEY not in row
    assert predictions.load(tmp_path / "ok", row["predictions"]).correct.all()
    assert not list((tmp_path / "ok" / "predictions").glob(".*.tmp"))  # no temporary file left behind

    (tmp_path / "blocked").mkdir()
    (tmp_path / "blocked" / "predictions").write_text("a file where the folder should be")
    append_rows(tmp_path / "blocked", [pending_row()])
    (row,) = read_rows(tmp_path / "blocked")
    assert row["value"] == 1.0 and "predictions" not in row
    assert "Could not write test predictions" in capsys.readouterr().err


def test_a_damaged_or_missing_predictions_file_is_named(tmp_path):
    append_rows(tmp_path, [pending_row()])
    (row,) = read_rows(tmp_path)
    path = tmp_path / row["predictions"]["file"]
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(predictions.PredictionsError, match="does not match the sha256"):
        predictions.load(tmp_path, row["predictions"])
    path.unlink()
    with pytest.raises(predictions.PredictionsError, match="is missing"):
        predictions.load(tmp_path, row["predictions"])
    with pytest.raises(predictions.PredictionsError, match="outside the store"):
        predictions.load(tmp_path, {**row["predictions"], "file": "../elsewhere.npz"})


def test_rows_of_schema_version_1_without_predictions_still_read(tmp_path):
    old = {"schema_version": 1, "run_id": "r", "model": "m", "probe": "p", "dataset": "d", "metric": "acc",
           "value": 0.5, "status": "ok"}
    (tmp_path / "results.jsonl").write_text(json.dumps(old) + "\n")
    assert read_rows(tmp_path) == [old]
    assert check_row({**old, "predictions": "predictions/x.npz"}) == "field 'predictions' is string, expected dict|null"
