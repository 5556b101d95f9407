"""A sweep contains each job's failure in its own rows, goes on, sums up, and does not repeat failures."""

import pytest
from click.testing import CliRunner

from ganbench.cli import cli
from ganbench.jobs.submit import build_jobs
from ganbench.jobs.submit import request_keys
from ganbench.store.jsonl import append_rows, read_rows

from .toy_plugins import ACC, toy_data, toys  # noqa: F401  (fixture)


def sweep(tmp_path, *args):
    return CliRunner().invoke(cli, ["sweep", "--model", "toy-model", "--model", "pixels", "--dataset", "toy-data",
                                    "--probe", "toy-probe", "--device", "cpu", "--results", str(tmp_path), *args])


@pytest.mark.parametrize("where, error", [("factory", "model setup failed: RuntimeError: factory exploded"),
                                          ("setup", "model setup failed: ValueError: setup exploded")])
def test_a_model_failing_outside_a_probe_fails_its_own_rows_only_and_is_not_stored_twice(toys, tmp_path, where, error):
    first = sweep(tmp_path, "--model-opt", f"toy-model.fail={where}")
    assert first.exit_code == 1, first.output
    assert "Summary: 1 done, 0 skipped, 1 failed (0 diverged)." in first.output
    rows = read_rows(tmp_path)
    assert [(r["model"], r["status"], r["metric"]) for r in rows] == [
        ("toy-model", "failed", None), ("pixels", "ok", "acc"), ("pixels", "ok", "err")]
    assert rows[0]["error"] == error and rows[1]["value"] == pytest.approx(ACC)

    again = sweep(tmp_path, "--model-opt", f"toy-model.fail={where}")  # the failed request is retried ...
    assert again.exit_code == 1, again.output
    assert "1 failed row(s) repeat the latest stored failure of their request; not appended again." in again.output
    assert "Summary: 0 done, 1 skipped, 1 failed (0 diverged)." in again.output
    assert read_rows(tmp_path) == rows  # ... but the identical failure is not appended again

    fixed = sweep(tmp_path)  # another request (fail=no): runs and succeeds
    assert fixed.exit_code == 0, fixed.output
    assert [r["status"] for r in read_rows(tmp_path)[3:]] == ["ok", "ok"]


def test_a_probe_returning_none_in_a_sweep_fails_its_rows_and_the_sweep_goes_on(toys, tmp_path):
    result = sweep(tmp_path, "--probe-opt", "returns=none", "--seed", "0", "--seed", "1")
    assert result.exit_code == 1, result.output
    assert "Summary: 0 done, 0 skipped, 4 failed (0 diverged)." in result.output
    rows = read_rows(tmp_path)
    assert [(r["model"], r["seed"], r["status"]) for r in rows] == [
        ("toy-model", 0, "failed"), ("toy-model", 1, "failed"), ("pixels", 0, "failed"), ("pixels", 1, "failed")]


def test_a_request_whose_model_diverged_is_skipped_with_a_note(toys, tmp_path):
    job = build_jobs(["toy-model"], ["toy-data"], ["toy-probe"], [0], (), (), (), str(tmp_path / "cache"), (),
                     data_root=None, device="cpu", epochs=None, max_steps=None, batch_size=None, checkpoint_every=200,
                     dedup=False)[0]
    diverged = {"schema_version": 1, "run_id": "r1", "model": "toy-model", "probe": "toy-probe", "dataset": "toy-data",
                "metric": None, "value": None, "status": "diverged", "error": "non-finite loss",
                "model_config_hash": "abc123", "seed": 0}
    made = job._resolution  # the row carries what its key is made of (ganbench.store.keys)
    diverged.update(model_version=made.model_spec.version, model_config=made.model_config, schedule={},
                    dataset_fingerprint=toy_data().fingerprint,
                    probe_version=made.probes[0][0].version, probe_config=made.probes[0][1])
    diverged["job_key"] = request_keys(job)[0]
    append_rows(tmp_path, [diverged])
    result = sweep(tmp_path, "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 0, result.output
    assert "Summary: 1 done, 1 skipped, 0 failed (0 diverged)." in result.output
    assert "1 skipped request(s) diverged before" in result.output and "toy-model-abc123" in result.output
    assert [r["model"] for r in read_rows(tmp_path)] == ["toy-model", "pixels", "pixels"]
