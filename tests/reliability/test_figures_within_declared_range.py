"""No value outside its metric's declared range is ever shown as a figure (issue 37, item 4).

Probes declare ranges (``ProbeSpec.ranges``, additive: a probe without them works as before); an accuracy of 5.0
edited into the store is shown by neither the leaderboard nor ``reproduce`` as a number, and is counted in the
table's notes; a probe returning one gets a ``failed`` row."""

import json

import pytest
from click.testing import CliRunner

import ganbench
from ganbench.cli.app import cli
from ganbench.plugins import get_registry
from ganbench.store.jsonl import read_rows, store_path
from ganbench.store.keys import row_key

from .test_store_reader import good_row
from .toy_plugins import toys  # noqa: F401  (fixture)


def knn_row(seed, value, **extra):
    return good_row(seed, probe="knn", probe_version="2", metric="acc_l2_k1_majority", value=value, seed=seed,
                    job_key="K", feature_view="d", **extra)


@pytest.fixture
def edited(tmp_path):
    """Two seeds of one knn figure; seed 1's accuracy edited to 5.0."""
    folder = tmp_path / "S"
    folder.mkdir()
    store_path(folder).write_text(json.dumps(knn_row(0, 0.9)) + "\n" + json.dumps(knn_row(1, 5.0)) + "\n")
    return folder


def test_built_in_accuracies_and_errors_declare_the_range_0_to_1():
    registry = get_registry()
    for probe, metric in [("knn", "acc_l2_k1_majority"), ("knn", "acc_cosine_k200_t0.07"), ("svm", "acc"),
                          ("svm", "err_1000labels"), ("svm", "acc_100labels")]:
        assert registry.get("probe", probe).value_range(metric) == (0.0, 1.0), (probe, metric)


@pytest.mark.parametrize("fmt", ["table", "md", "csv", "latex", "html"])
def test_the_leaderboard_shows_no_figure_outside_its_range_and_counts_it_in_the_notes(edited, fmt):
    result = CliRunner().invoke(cli, ["leaderboard", str(edited), "--format", fmt])
    assert result.exit_code == 0, result.output
    assert "5.0000" not in result.output and "2.9500" not in result.output  # neither it nor a mean with it
    assert "0.9000 (n=1)" in result.output or "0.9000" in result.output
    assert "out of range" in result.output
    if fmt not in ("csv", "latex"):  # csv holds cells and latex the table alone, not notes
        assert "1 figure(s) not shown: outside the range their probe declares" in result.output


def test_reproduce_s_table_shows_no_figure_outside_its_range(edited):
    from ganbench.recipes.recipe import parse
    from ganbench.recipes.report import FilledRow, build_table
    from ganbench.reports.formats import render

    recipe = parse({"name": "r", "jobs": [{"id": "a", "model": "dcgan", "dataset": "mnist-5k", "probes": ["knn"]}],
                    "figures": [{"id": "1nn", "probe": "knn", "metric": "acc_l2_k1_majority"}],
                    "rows": [{"label": "dcgan", "jobs": ["a"], "view": "d"}]}, "r.toml")
    keys = {row_key(r) for r in read_rows(edited)}  # the seeds' request keys, recomputed from the rows
    table = build_table(recipe, [FilledRow("dcgan", {"knn": keys}, "d", {})], read_rows(edited), [])
    text = render([table], "md")
    assert "5.0000" not in text and "2.9500" not in text
    assert "0.9000 (n=1)" in text  # the seed within range stays
    assert "1 stored figure(s) not shown: outside the range their probe declares" in text
    assert "out of range" in text


def test_compare_refuses_a_row_outside_its_range(edited):
    result = CliRunner().invoke(cli, ["compare", "--results", str(edited), "--a", "seed=1", "--b", "seed=0"])
    assert result.exit_code == 2, result.output
    assert "lies outside [0, 1]" in result.output and "Traceback" not in result.output


class FiveProbe(ganbench.Probe):
    def run(self, ctx):
        return [ganbench.Metric("acc", 5.0, True), ganbench.Metric("gain", 5.0, True)]


def test_a_probe_returning_a_value_outside_its_declared_range_gets_a_failed_row(toys, tmp_path):
    toys.add("probe", ganbench.ProbeSpec("five", FiveProbe, "an accuracy of 5", ranges={"acc": (0, 1)}), "tests")
    result = CliRunner().invoke(cli, ["run", "--model", "toy-model", "--dataset", "toy-data", "--probe", "five",
                                      "--results", str(tmp_path), "--device", "cpu"])
    assert result.exit_code == 1, result.output
    by = {r["metric"]: r for r in read_rows(tmp_path)}
    assert by["acc"]["status"] == "failed" and by["acc"]["value"] is None
    assert "5 lies outside [0, 1]" in by["acc"]["error"]
    assert by["gain"]["status"] == "ok" and by["gain"]["value"] == 5.0  # no range declared: stored as before


def test_a_probe_spec_of_an_older_plugin_without_ranges_or_metrics_works_as_before():
    spec = ganbench.ProbeSpec("old", FiveProbe, "declares neither metrics nor ranges")
    assert spec.writes("anything") and spec.value_range("acc") is None and spec.outside_range("acc", 5.0) is None
    with pytest.raises(ValueError, match="low 1 above high 0"):
        ganbench.ProbeSpec("bad", FiveProbe, "", ranges={"acc": (1, 0)})
