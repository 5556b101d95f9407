"""`ganbench results verify` and `ganbench results merge`: stores that check themselves and travel."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ganbench.cli import cli
from ganbench.store.jsonl import read_rows

ROOT = Path(__file__).resolve().parents[1]
KNN = ["--probe", "knn", "--probe-opt", "k=1,5", "--probe-opt", "metric=l2", "--probe-opt", "instdisc=false"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def run_into(store, cache, model, *extra):
    result = invoke("run", "--model", model, "--results", store, "--cache-dir", cache, *KNN, *extra)
    assert result.exit_code == 0, result.output
    return read_rows(store)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Two stores made by separate runs (pixels; random-d seed 0) and one store holding both runs."""
    base = tmp_path_factory.mktemp("stores")
    cache = base / "cache"
    run_into(base / "a", cache, "pixels")
    run_into(base / "b", cache, "random-d", "--model-opt", "width=4")
    run_into(base / "both", cache, "pixels")
    run_into(base / "both", cache, "random-d", "--model-opt", "width=4")
    return base


def copy(made, name, tmp_path):
    shutil.copytree(made / name, tmp_path / name)
    return tmp_path / name


def test_verify_recomputes_every_figure_that_has_predictions(made, tmp_path):
    store = copy(made, "both", tmp_path)
    result = invoke("results", "verify", store)
    assert result.exit_code == 0, result.output
    rows = read_rows(store)
    assert all(r.get("predictions") for r in rows)
    assert f"{len(rows)} rows, {len(rows)} verified, 0 without predictions, 0 mismatches" in result.output


def test_verify_names_a_value_changed_by_a_thousandth(made, tmp_path):
    store = copy(made, "both", tmp_path)
    lines = (store / "results.jsonl").read_text().splitlines()
    row = json.loads(lines[2])
    row["value"] = row["value"] + 0.001
    lines[2] = json.dumps(row)
    (store / "results.jsonl").write_text("\n".join(lines) + "\n")
    result = invoke("results", "verify", store)
    assert result.exit_code == 1
    assert f"mismatch: row 3 ({row['model']} {row['feature_view']} knn {row['metric']} seed 0" in result.output
    assert "1 mismatch" in result.output


def test_verify_names_the_rows_of_a_predictions_file_with_a_flipped_byte(made, tmp_path):
    store = copy(made, "both", tmp_path)
    row = read_rows(store)[0]
    path = store / row["predictions"]["file"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    result = invoke("results", "verify", store)
    assert result.exit_code == 1
    assert "does not match the sha256 its row records" in result.output
    assert f"row 1 ({row['model']} {row['feature_view']} knn {row['metric']}" in result.output


def test_verify_finds_a_key_that_is_not_its_rows(made, tmp_path):
    store = copy(made, "a", tmp_path)
    lines = (store / "results.jsonl").read_text().splitlines()
    row = json.loads(lines[0])
    lines[0] = json.dumps({**row, "seed": 7})  # the figure of seed 0 filed under seed 7
    (store / "results.jsonl").write_text("\n".join(lines) + "\n")
    result = invoke("results", "verify", store)
    assert result.exit_code == 1 and "is not the key of its fields" in result.output


def test_the_committed_reference_store_verifies():
    roots = [f"--data-root={d}={p}" for d, p in (("mnist", ROOT.parent / "shared/data/mnist"),
                                                 ("cifar10", ROOT.parent / "shared/data/cifar-10")) if p.is_dir()]
    result = invoke("results", "verify", ROOT / "results" / "reference", *roots)
    assert result.exit_code == 0, result.output
    assert ", 0 mismatches" in result.output


def leaderboard(store):
    result = invoke("leaderboard", store, "--format", "md", "--all-metrics")
    assert result.exit_code == 0, result.output
    return result.output


def test_merging_two_stores_gives_the_leaderboard_of_one_store_holding_both(made, tmp_path):
    into = copy(made, "a", tmp_path)
    dry = invoke("results", "merge", made / "b", "--into", into, "--dry-run")
    assert dry.exit_code == 0 and "to add, 0 already there, 0 conflict(s), 0 refused" in dry.output
    assert read_rows(into) == read_rows(made / "a")  # a dry run writes nothing
    result = invoke("results", "merge", made / "b", made / "a", "--into", into)
    assert result.exit_code == 0, result.output
    assert leaderboard(into) == leaderboard(made / "both")
    assert invoke("results", "verify", into).exit_code == 0  # the predictions came along
    again = invoke("results", "merge", made / "b", "--into", into)
    n = len(read_rows(made / "b"))
    assert f"0 row(s) added, {n} already there" in again.output
    assert len(read_rows(into)) == len(read_rows(made / "a")) + n


def test_a_conflicting_row_is_reported_and_both_values_are_kept_apart(made, tmp_path):
    into = copy(made, "a", tmp_path)
    other = copy(made, "both", tmp_path)
    lines = (other / "results.jsonl").read_text().splitlines()
    row = json.loads(lines[0])
    lines[0] = json.dumps({**row, "value": 0.5, "predictions": None, "run_id": "elsewhere"})
    (other / "results.jsonl").write_text("\n".join(lines) + "\n")
    before = (into / "results.jsonl").read_bytes()
    result = invoke("results", "merge", other, "--into", into)
    assert result.exit_code == 1
    assert f"conflict: pixels pixels knn {row['metric']} seed 0 on mnist-5k: 0.5 here, {row['value']!r}" in result.output
    assert (into / "results.jsonl").read_bytes().startswith(before)  # nothing of DST rewritten
    assert next(r for r in read_rows(into) if r["metric"] == row["metric"] and r["model"] == "pixels")["value"] == row["value"]
    [kept] = list((into / "merge-conflicts").glob("*.jsonl"))
    assert [json.loads(line)["value"] for line in kept.read_text().splitlines()] == [0.5]


def test_with_newer_stands_a_row_made_later_is_added_and_stands_and_an_older_one_stays_a_conflict(made, tmp_path):
    into = copy(made, "a", tmp_path)
    other = copy(made, "both", tmp_path)
    lines = (other / "results.jsonl").read_text().splitlines()
    first, second = json.loads(lines[0]), json.loads(lines[1])
    theirs = {r["metric"]: r for r in read_rows(into) if r["model"] == "pixels"}
    lines[0] = json.dumps({**first, "value": 0.5, "predictions": None, "created_at": "2999-01-01T00:00:00+00:00"})
    lines[1] = json.dumps({**second, "value": 0.25, "predictions": None, "created_at": "2000-01-01T00:00:00+00:00"})
    (other / "results.jsonl").write_text("\n".join(lines) + "\n")
    before = (into / "results.jsonl").read_bytes()
    result = invoke("results", "merge", other, "--into", into, "--newer-stands")
    assert result.exit_code == 1  # the older row is still a conflict
    assert f"{second['metric']} seed 0 on mnist-5k: 0.25 here" in result.output
    assert f"{first['metric']} seed 0 on mnist-5k: 0.5 here" not in result.output
    assert (into / "results.jsonl").read_bytes().startswith(before)  # DST's rows all still there
    assert "0.5000" not in leaderboard(made / "a") and "0.5000" in leaderboard(into)  # the newer row stands
    assert theirs[first["metric"]]["value"] != 0.5
    [kept] = list((into / "merge-conflicts").glob("*.jsonl"))
    assert [json.loads(line)["value"] for line in kept.read_text().splitlines()] == [0.25]


def test_a_row_bringing_the_predictions_of_a_stored_figure_is_added(made, tmp_path):
    bare = copy(made, "a", tmp_path)
    rows = read_rows(bare)
    (bare / "results.jsonl").write_text("".join(json.dumps({**r, "predictions": None}) + "\n" for r in rows))
    result = invoke("results", "merge", made / "a", "--into", bare)
    assert result.exit_code == 0, result.output
    assert f"{len(rows)} row(s) added, 0 already there, 0 conflict(s)" in result.output
    compare = invoke("compare", "--results", bare, "--a", "model=pixels", "--a", "metric=acc_l2_k1_majority",
                     "--b", "model=pixels", "--b", "metric=acc_l2_k5_majority")
    assert compare.exit_code == 0 and "McNemar" in compare.output, compare.output


def test_rows_scored_on_another_test_set_of_a_dataset_are_refused(made, tmp_path):
    into = copy(made, "a", tmp_path)
    other = copy(made, "b", tmp_path)
    rows = read_rows(other)
    for r in rows:
        r["predictions"] = None
        r["dataset_fingerprint"] = "another-copy-0000"
    (other / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = invoke("results", "merge", other, "--into", into)
    assert result.exit_code == 1
    assert "refused:" in result.output and "another copy of the data; pass --allow-new-data" in result.output
    assert len(read_rows(into)) == len(read_rows(made / "a"))
    assert invoke("results", "merge", other, "--into", into, "--allow-new-data").exit_code == 0


def test_a_merge_killed_at_any_moment_leaves_the_destination_whole(made, tmp_path):
    big = tmp_path / "big"
    big.mkdir()
    rows = read_rows(made / "b")
    shutil.copytree(made / "b" / "predictions", big / "predictions")
    many = [{**r, "seed": s, "job_key": None} for s in range(4000) for r in rows[:2]]
    (big / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in many))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    code = "import sys; from ganbench.cli.app import main; main(sys.argv[1:])"
    outcomes = set()
    for delay in (0.2, 0.6, 1.0, 1.5, 2.5):
        into = tmp_path / f"into-{delay}"
        shutil.copytree(made / "a", into)
        before = read_rows(into)
        process = subprocess.Popen([sys.executable, "-c", code, "results", "merge", str(big), "--into", str(into)],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        after = read_rows(into)  # loadable: never a torn store
        assert after == before or len(after) == len(before) + len(many), (delay, len(after))
        outcomes.add("unchanged" if after == before else "complete")
    assert outcomes  # which moments were hit depends on the machine; each must be whole
