"""One pass through a job: its model is built once, and every failure path builds its rows the same way."""

import json

import pytest
from click.testing import CliRunner

import ganbench
from ganbench.api.options import Option
from ganbench.cli import cli
from reliability.toy_plugins import ToyModel, toys  # noqa: F401  (fixture)


class DivergingModel(ganbench.Model):
    """Trains, and diverges at its first step."""

    def setup(self, info, device):
        pass

    def feature_views(self):
        return {"mean": "mean pixel"}

    def features(self, x, view):
        return x.flatten(1).mean(1, keepdim=True)

    def modules(self):
        return {}

    def optimizers(self):
        return {}

    def default_schedule(self, info):
        return ganbench.Schedule(epochs=1, batch_size=4)

    def train_step(self, batch):
        raise ganbench.DivergedError("loss went to infinity")


def _exploding_probe(**options):
    raise RuntimeError("probe factory exploded")


def _rows(store):
    return [json.loads(line) for line in (store / "results.jsonl").read_text().splitlines()]


def _run(tmp_path, *args):
    return CliRunner().invoke(cli, ["run", "--dataset", "toy-data", "--results", str(tmp_path / "store"),
                                    "--cache-dir", str(tmp_path / "cache"), *args])


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_job_builds_its_model_once(toys, tmp_path, command):
    built = []

    def counting(**options):
        built.append(options)
        return ToyModel(**options)

    toys.add("model", ganbench.ModelSpec("counted", counting, "counts its builds", options=[
        Option("fail", "str", "no", "where to raise", choices=["no", "factory", "setup"])]), "tests")
    result = CliRunner().invoke(cli, [command, "--model", "counted", "--dataset", "toy-data", "--probe", "toy-probe",
                                      "--results", str(tmp_path / "store"), "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    assert len(built) == 1
    assert [r["status"] for r in _rows(tmp_path / "store")] == ["ok", "ok"]


def test_the_failure_paths_build_their_rows_alike(toys, tmp_path):
    toys.add("model", ganbench.ModelSpec("diverging", DivergingModel, "diverges"), "tests")
    toys.add("probe", ganbench.ProbeSpec("exploding", _exploding_probe, "its factory raises"), "tests")
    paths = {
        "model setup": ["--model", "toy-model", "--model-opt", "fail=setup", "--probe", "toy-probe"],
        "training": ["--model", "diverging", "--probe", "toy-probe"],
        "probe setup": ["--model", "toy-model", "--probe", "exploding"],
        "metric": ["--model", "toy-model", "--probe", "toy-probe", "--probe-opt", "returns=nan"],
    }
    failed = {}
    for path, args in paths.items():
        _run(tmp_path / path.replace(" ", "-"), *args)
        rows = _rows(tmp_path / path.replace(" ", "-") / "store")
        failed[path] = [r for r in rows if r["status"] != "ok"]
        assert len(failed[path]) == 1, (path, rows)
    fields = {path: set(rows[0]) for path, rows in failed.items()}
    every = set.union(*fields.values())
    assert all(f == every for f in fields.values()), {p: sorted(every - f) for p, f in fields.items()}
    for path, [row] in failed.items():
        assert row["status"] == ("diverged" if path == "training" else "failed"), path
        assert row["value"] is None and row["error"] and row["job_key"] and row["created_at"] and row["run_id"], path
        assert row["probe"] in ("toy-probe", "exploding") and row["model_version"] and row["schema_version"], path
    assert "setup exploded" in failed["model setup"][0]["error"]
    assert "loss went to infinity" in failed["training"][0]["error"]
    assert "probe factory exploded" in failed["probe setup"][0]["error"]
    assert failed["metric"][0]["metric"] == "bad" and "non-finite" in failed["metric"][0]["error"].lower() or \
        "nan" in failed["metric"][0]["error"].lower()
