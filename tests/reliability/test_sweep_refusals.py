"""A sweep goes on past a job refused for a user error (a dataset not found, a label budget it cannot meet):
every other request runs, the refused ones are named and counted in the summary, and the exit code is 2."""

from click.testing import CliRunner

from ganbench.cli.app import cli
from ganbench.store.jsonl import read_rows

from .toy_plugins import ACC, toys  # noqa: F401  (fixture)


def sweep(tmp_path, *args):
    return CliRunner().invoke(cli, ["sweep", "--device", "cpu", "--results", str(tmp_path / "store"),
                                    "--cache-dir", str(tmp_path / "cache"), *args])


def test_a_dataset_that_cannot_be_found_stops_no_other_request(toys, tmp_path):
    empty = tmp_path / "no-data"
    empty.mkdir()
    result = sweep(tmp_path, "--model", "toy-model", "--model", "pixels", "--dataset", "mnist", "--dataset", "toy-data",
                   "--probe", "toy-probe", "--data-root", str(empty), "--seed", "0", "--seed", "1")
    assert result.exit_code == 2, result.output
    refusals = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(refusals) == 4 and all("on mnist" in line and "not run" in line for line in refusals), result.output
    assert "Traceback" not in result.output
    rows = read_rows(tmp_path / "store")  # every toy-data request ran after the mnist ones were refused
    assert sorted((r["model"], r["seed"]) for r in rows if r["metric"] == "acc") == [
        ("pixels", 0), ("pixels", 1), ("toy-model", 0), ("toy-model", 1)]
    assert all(r["dataset"] == "toy-data" and r["status"] == "ok" for r in rows)
    assert [r["value"] for r in rows if r["metric"] == "acc"] == [ACC] * 4
    assert "Summary: 4 done, 0 skipped, 0 failed (0 diverged). 4 refused" in result.output


def test_a_label_budget_one_dataset_cannot_meet_stops_no_other_request(toys, tmp_path):
    # toy-data has 4 training images per class: 5 labels per class cannot be drawn; mnist-5k has 400
    result = sweep(tmp_path, "--model", "pixels", "--dataset", "toy-data", "--dataset", "mnist-5k", "--probe", "knn",
                   "--probe-opt", "labels_per_class=5", "--probe-opt", "k=1", "--probe-opt", "metric=l2",
                   "--probe-opt", "instdisc=false", "--probe-opt", "repeats=1")
    assert result.exit_code == 2, result.output
    refusals = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(refusals) == 1 and "pixels on toy-data, seed 0, not run" in refusals[0], result.output
    rows = read_rows(tmp_path / "store")
    assert {r["dataset"] for r in rows} == {"mnist-5k"} and all(r["status"] == "ok" for r in rows)
    assert "Summary: 1 done, 0 skipped, 0 failed (0 diverged). 1 refused" in result.output


def test_a_run_still_stops_at_a_user_error_in_one_line(toys, tmp_path):
    result = CliRunner().invoke(cli, ["run", "--model", "pixels", "--dataset", "toy-data", "--probe", "knn",
                                      "--probe-opt", "labels_per_class=5", "--device", "cpu",
                                      "--results", str(tmp_path / "store"), "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
