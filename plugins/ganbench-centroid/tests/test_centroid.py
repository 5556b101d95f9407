"""The plugin, installed, is found through its entry point and agrees with scikit-learn."""

import pytest

pytest.importorskip("ganbench_centroid", reason="the example plugin is not installed (pip install -e plugins/ganbench-centroid)")

from click.testing import CliRunner
from sklearn.neighbors import NearestCentroid

from ganbench.cli import cli
from ganbench.datasets.mnist import load_mnist_5k
from ganbench.plugins import get_registry
from ganbench.store import load_results


def test_registered_through_its_entry_point():
    spec = get_registry().get("probe", "centroid")
    assert spec.plugin == "centroid"


@pytest.mark.slow
def test_run_matches_scikit_learn(tmp_path, monkeypatch):
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    result = CliRunner().invoke(cli, ["run", "--model", "pixels", "--probe", "centroid", "--results", str(tmp_path)])
    assert result.exit_code == 0, result.output
    value = load_results(tmp_path)["value"].item()
    data = load_mnist_5k()
    train = data.train_x.reshape(len(data.train_x), -1).numpy() / 255.0
    test = data.test_x.reshape(len(data.test_x), -1).numpy() / 255.0
    expected = (NearestCentroid().fit(train, data.train_y.numpy()).predict(test) == data.test_y.numpy()).mean()
    assert value == pytest.approx(expected, abs=1e-6)
