"""Executors: rows of every job reach the one store; Ray when it is installed."""

import pytest
from click.testing import CliRunner

from ganbench.cli.app import cli
from ganbench.store.jsonl import load_results

KNN_1NN = ["--probe", "knn", "--probe-opt", "k=1", "--probe-opt", "metric=l2", "--probe-opt", "instdisc=false",
           "--probe-opt", "vote=majority"]


@pytest.mark.slow
def test_ray_executor_brings_every_row_back(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'ganbench[ray]'")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)
    try:
        local = CliRunner().invoke(cli, ["sweep", "--model", "pixels", "--seed", "0", *KNN_1NN, "--results", str(tmp_path / "local")])
        remote = CliRunner().invoke(cli, ["sweep", "--model", "pixels", "--seed", "0", "--seed", "1", *KNN_1NN,
                                          "--executor", "ray", "--results", str(tmp_path / "ray")])
    finally:
        ray.shutdown()
    assert local.exit_code == 0 and remote.exit_code == 0, remote.output
    rows = load_results(tmp_path / "ray")
    assert sorted(rows["seed"]) == [0, 1]
    assert rows["value"].tolist() == [load_results(tmp_path / "local")["value"].item()] * 2


def test_ray_executor_without_ray_is_one_line(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray":
            raise ImportError("no ray")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    result = CliRunner().invoke(cli, ["run", "--model", "pixels", *KNN_1NN, "--executor", "ray", "--results", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip() == "Error: The 'ray' executor needs Ray: pip install 'ganbench[ray]'."


def test_a_crashing_model_plugin_gives_failed_rows_and_exit_1(tmp_path, monkeypatch):
    from ganbench.builtin.models.baselines.model import RandomD

    def explode(self):
        raise RuntimeError("boom")

    monkeypatch.setattr(RandomD, "trains", True)
    monkeypatch.setattr(RandomD, "train_step", lambda self, batch: explode(self))
    result = CliRunner().invoke(cli, ["run", "--model", "random-d", "--model-opt", "width=4", *KNN_1NN,
                                      "--max-steps", "2", "--results", str(tmp_path)])
    assert result.exit_code == 1
    rows = load_results(tmp_path)
    assert rows["status"].tolist() == ["failed"]
    assert "training failed: RuntimeError: boom" in rows["error"].item()
