"""One bad metric fails only itself: the probe's other metrics and the job's other probes keep their ok rows."""

import pytest
from click.testing import CliRunner

import ganbench
from ganbench.cli.app import cli
from ganbench.api.options import Option
from ganbench.store.jsonl import read_rows, store_path

from .toy_plugins import ACC, toys  # noqa: F401  (fixture)


def deep(levels: int) -> dict:
    out = {}
    for _ in range(levels):
        out = {"d": out}
    return out


BAD = {
    "overflow": lambda: ganbench.Metric("bad", 10**400, True),
    "overflow-stderr": lambda: ganbench.Metric("bad", 0.5, True, stderr=10**400),
    "deep-details": lambda: ganbench.Metric("bad", 0.5, True, details=deep(5000)),
    "huge-int-details": lambda: ganbench.Metric("bad", 0.5, True, details={"n": 10**5000}),
    "long-name": lambda: ganbench.Metric("x" * 5_000_000, 0.5, True),
}


class OneBadMetric(ganbench.Probe):
    def run(self, ctx):
        return [ganbench.Metric("acc", ACC, True), BAD[self.options["bad"]]()]


@pytest.fixture
def one_bad(toys):
    toys.add("probe", ganbench.ProbeSpec("one-bad", OneBadMetric, "one good metric, one bad", options=[
        Option("bad", "str", "overflow", "what is wrong", choices=sorted(BAD))]), "tests")
    return toys


def run(tmp_path, *args):
    return CliRunner().invoke(cli, ["run", "--model", "toy-model", "--dataset", "toy-data", "--results", str(tmp_path),
                                    "--device", "cpu", *args])


@pytest.mark.parametrize("bad, problem", [
    ("overflow", "metric 'bad': value is an integer of 1329 bits, beyond a float's range"),
    ("overflow-stderr", "metric 'bad': stderr is an integer of 1329 bits"),
    ("deep-details", "metric 'bad': details are nested more than 20 levels deep"),
    ("huge-int-details", "metric 'bad': details['n'] is an integer of 16610 bits"),
    ("long-name", "item 1: metric name of 5,000,000 characters ('xxxx"),
])
def test_one_bad_metric_fails_alone_and_the_other_probes_keep_their_rows(one_bad, tmp_path, bad, problem):
    result = run(tmp_path, "--probe", "one-bad", "--probe-opt", f"bad={bad}", "--probe", "toy-probe")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    rows = read_rows(tmp_path)
    by = {(r["probe"], r["metric"]): r for r in rows}
    assert len(rows) == 4, [(r["probe"], r["metric"], r["status"]) for r in rows]
    assert by[("one-bad", "acc")]["status"] == "ok" and by[("one-bad", "acc")]["value"] == pytest.approx(ACC)
    assert by[("toy-probe", "acc")]["status"] == "ok" and by[("toy-probe", "err")]["status"] == "ok"
    (failed,) = [r for r in rows if r["status"] != "ok"]
    assert failed["status"] == "failed" and failed["value"] is None and failed["probe"] == "one-bad"
    assert failed["metric"] == (None if bad == "long-name" else "bad")
    assert f"probe 'one-bad' {problem}" in failed["error"], failed["error"]
    assert len(store_path(tmp_path).read_bytes()) < 20_000  # no 5 MB name stored anywhere


def test_a_repeated_view_is_probed_once(toys, tmp_path):
    result = run(tmp_path, "--probe", "toy-probe", "--view", "mean", "--view", "mean")
    assert result.exit_code == 0, result.output
    rows = read_rows(tmp_path)
    assert sorted(r["metric"] for r in rows) == ["acc", "err"]
    once = run(tmp_path / "once", "--probe", "toy-probe", "--view", "mean")
    assert once.exit_code == 0
    assert {r["job_key"] for r in rows} == {r["job_key"] for r in read_rows(tmp_path / "once")}  # the same request
