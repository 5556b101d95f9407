"""Every metric a probe returns is checked; a bad one becomes a failed row and the rest is kept."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from ganbench import Metric
from ganbench.cli.app import cli
from ganbench.api.probe import MetricError, check_metric
from ganbench.store.jsonl import load_results, read_rows, store_path

from .toy_plugins import ACC, toys  # noqa: F401  (fixture)


def run(tmp_path, *args):
    return CliRunner().invoke(cli, ["run", "--model", "toy-model", "--dataset", "toy-data", "--results", str(tmp_path),
                                    "--device", "cpu", *args])


@pytest.mark.parametrize("returns, problem", [
    ("nan", "probe 'toy-probe' metric 'bad': value is nan, expected a finite number"),
    ("np-nan", "probe 'toy-probe' metric 'bad': value is nan, expected a finite number"),
    ("tensor", "value is a torch.Tensor ('tensor(0.7500)'), expected a real number; use .item()"),
    ("string", "value is a str ('0.75'), expected a real number"),
    ("huge", "details take 688,899 bytes as JSON, more than 65,536"),
    ("no-direction", "higher_is_better is None and no target is set"),
])
def test_an_invalid_metric_is_a_failed_row_and_the_valid_ones_are_kept(toys, tmp_path, returns, problem):
    result = run(tmp_path, "--probe", "toy-probe", "--probe-opt", f"returns={returns}")
    assert result.exit_code == 1, result.output
    by_metric = {r["metric"]: r for r in read_rows(tmp_path)}
    assert by_metric["acc"]["status"] == "ok" and by_metric["acc"]["value"] == pytest.approx(ACC)
    assert by_metric["bad"]["status"] == "failed" and by_metric["bad"]["value"] is None
    assert problem in by_metric["bad"]["error"]
    assert len(store_path(tmp_path).read_bytes()) < 20_000  # no 600 KB line


@pytest.mark.parametrize("returns, kind", [("none", "NoneType"), ("float", "float"), ("dict", "dict")])
def test_a_probe_returning_no_list_is_a_failed_row_and_the_next_probe_runs(toys, tmp_path, returns, kind):
    result = run(tmp_path, "--probe", "toy-probe", "--probe-opt", f"returns={returns}", "--probe", "knn",
                 "--probe-opt", "k=1", "--probe-opt", "instdisc=false", "--probe-opt", "metric=l2",
                 "--probe-opt", "vote=majority")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    rows = load_results(tmp_path)
    failed = rows[rows["probe"] == "toy-probe"]
    assert failed["status"].tolist() == ["failed"]
    assert failed["error"].item() == f"probe 'toy-probe' returned a {kind}, expected a list of ganbench.Metric"
    knn = rows[rows["probe"] == "knn"]
    assert len(knn) == 1 and knn["status"].item() == "ok"


def test_check_metric_converts_numpy_and_refuses_what_json_cannot_hold():
    m = check_metric(Metric("a", np.float32(0.25), np.bool_(True), stderr=np.float64(0.5), n_train=np.int64(3),
                            details={"C": np.float32(0.5), "dirs": np.arange(3), "nested": {"x": [np.int8(1)]}}))
    assert (type(m.value), m.value, m.higher_is_better, m.stderr, type(m.n_train)) == (float, 0.25, True, 0.5, int)
    assert json.dumps(m.details) == '{"C": 0.5, "dirs": [0, 1, 2], "nested": {"x": [1]}}'
    assert check_metric(Metric("ratio", 1.1, None, target=1.0)).target == 1.0
    for bad, message in [
        (Metric("", 1.0, True), "metric name '' is not a non-empty str"),
        (Metric(None, 1.0, True), "metric name None"),
        (Metric("a", True, True), "value is a bool"),
        (Metric("a", None, True), "value is a NoneType"),
        (Metric("a", float("inf"), True), "value is inf"),
        (Metric("a", 1.0, "yes"), "higher_is_better is 'yes'"),
        (Metric("a", 1.0, None, target=float("nan")), "target is nan"),
        (Metric("a", 1.0, True, stderr=-0.1), "stderr is -0.1, expected >= 0"),
        (Metric("a", 1.0, True, n_test=-1), "n_test is -1"),
        (Metric("a", 1.0, True, n_train=2.5), "n_train is 2.5"),
        (Metric("a", 1.0, True, details={"t": torch.ones(2)}), "details['t'] is a torch.Tensor, which JSON cannot hold; use .item() or .tolist()"),
        (Metric("a", 1.0, True, details={1: "x"}), "details has a key 1 that is not a str"),
        (Metric("a", 1.0, True, details={"big": np.zeros(10_000)}), "details['big'] is a numpy.ndarray"),
        (Metric("a", 1.0, True, details=[1]), "details is a list, expected a dict"),
        (0.5, "returned a float where a ganbench.Metric was expected"),
    ]:
        with pytest.raises(MetricError) as caught:
            check_metric(bad)
        assert message in str(caught.value), (bad, str(caught.value))
