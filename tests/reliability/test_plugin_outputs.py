"""What a model plugin hands the core is checked at run time, and a bad output names the plugin.

The plugin is installed the way pip installs one (a module and a dist-info whose entry point
names it, as tests/test_plugins.py does): ``bad-outputs``'s option ``mode`` picks what its
``features`` / ``sample`` / ``train_step`` get wrong.
"""

import textwrap

import pytest
from click.testing import CliRunner

from ganbench.cli.app import cli
from ganbench.store.jsonl import read_rows

PLUGIN = '''
import numpy as np
import torch
import ganbench

MODES = ["ok", "nan", "short", "4d", "int", "range-255", "np-stats"]


class BadOutputs(ganbench.Model):
    value_range = (-1.0, 1.0)

    @property
    def trains(self):
        return self.options["mode"] == "np-stats"

    def setup(self, info, device):
        self.net = torch.nn.Linear(1, 1)
        self.opt = torch.optim.SGD(self.net.parameters(), lr=0.1)

    def modules(self):
        return {"net": self.net}

    def optimizers(self):
        return {"net": self.opt}

    def feature_views(self):
        return {"flat": "the pixels"}

    def default_schedule(self, info):
        return ganbench.Schedule(epochs=1, batch_size=50)

    def train_step(self, batch):
        loss = self.net(batch.x.mean((1, 2, 3))[:, None]).pow(2).mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return {"loss": loss.item(), "per_class": np.array([1.0, 2.0])}

    def features(self, x, view):
        f, mode = x.flatten(1).float(), self.options["mode"]
        if mode == "nan":
            return f * float("nan")
        if mode == "short":
            return f[:-1]
        if mode == "4d":
            return x
        if mode == "int":
            return (f * 100).long()
        return f

    def sample(self, n, generator):
        x = torch.rand(n, 1, 28, 28, generator=generator) * 2 - 1
        return (x + 1) * 127.5 if self.options["mode"] == "range-255" else x


class Draw(ganbench.Probe):
    def run(self, ctx):
        images = ctx.generate(10)
        return [ganbench.Metric("mean_pixel", float(images.float().mean()), None, target=127.5)]


@ganbench.hookimpl
def register_models(register):
    register(ganbench.ModelSpec("bad-outputs", BadOutputs, "gets one output wrong", options=[
        ganbench.Option("mode", "str", "ok", "what goes wrong", choices=MODES)],
        capabilities=frozenset({"features", "generator"})))


@ganbench.hookimpl
def register_probes(register):
    register(ganbench.ProbeSpec("draw", Draw, "draws 10 samples", requires=frozenset({"generator"})))
'''


@pytest.fixture
def bad_outputs(tmp_path, monkeypatch, fresh_plugins):
    site = tmp_path / "site"
    site.mkdir()
    (site / "ganbench_test_bad_outputs.py").write_text(textwrap.dedent(PLUGIN))
    dist = site / "ganbench_test_bad_outputs-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ganbench-test-bad-outputs\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[ganbench]\nbad-outputs = ganbench_test_bad_outputs\n")
    monkeypatch.syspath_prepend(str(site))
    fresh_plugins.get_registry()
    return tmp_path


def run(tmp_path, mode, *args, results="r"):
    return CliRunner().invoke(cli, ["run", "--model", "bad-outputs", "--model-opt", f"mode={mode}", "--device", "cpu",
                                    "--results", str(tmp_path / results), "--cache-dir", str(tmp_path / "c"), *args])


KNN = ["--probe", "knn", "--probe-opt", "k=1", "--probe-opt", "metric=l2", "--probe-opt", "vote=majority",
       "--probe-opt", "instdisc=false"]


@pytest.mark.parametrize("mode, problem", [
    ("nan", "returned non-finite values (NaN or inf) in 500 of 500 rows"),
    ("short", "returned shape (499, 784) for a batch of 500 images, expected (500, D)"),
    ("4d", "returned shape (500, 1, 28, 28) for a batch of 500 images"),
    ("int", "returned dtype int64, expected a float dtype"),
])
def test_bad_features_give_failed_rows_naming_the_plugin_and_the_view(bad_outputs, mode, problem):
    for attempt in range(2):  # the rerun fails the same way: nothing bad was cached, and the cache is not blamed
        result = run(bad_outputs, mode, *KNN, "--probe", "svm", "--probe-opt", "c_grid=1", results=f"r{attempt}")
        assert result.exit_code == 1, result.output
        assert "Traceback" not in result.output and "feature cache" not in result.output
        rows = read_rows(bad_outputs / f"r{attempt}")
        assert len(rows) == 2 and {r["status"] for r in rows} == {"failed"}, rows
        for row in rows:
            assert row["error"].startswith("model plugin 'bad-outputs' view 'flat': features() "), row["error"]
            assert problem in row["error"]


def test_good_features_still_give_ok_rows(bad_outputs):
    result = run(bad_outputs, "ok", *KNN)
    assert result.exit_code == 0, result.output
    (row,) = read_rows(bad_outputs / "r")
    assert row["status"] == "ok" and row["value"] == pytest.approx(0.9560, abs=1e-4)  # the pixels' 1-NN figure


def test_samples_out_of_the_value_range_fail_naming_the_plugin(bad_outputs):
    result = run(bad_outputs, "range-255", "--probe", "draw")
    assert result.exit_code == 1, result.output
    (row,) = read_rows(bad_outputs / "r")
    assert row["status"] == "failed" and row["value"] is None
    assert row["error"].startswith("model plugin 'bad-outputs': sample(10) returned values in [")
    assert "expected the model's value_range [-1, 1]" in row["error"]
    ok = run(bad_outputs, "ok", "--probe", "draw")
    assert ok.exit_code == 0, ok.output


def test_an_array_among_train_steps_statistics_names_its_key(bad_outputs):
    result = run(bad_outputs, "np-stats", *KNN)
    assert result.exit_code == 1
    (row,) = read_rows(bad_outputs / "r")
    assert row["status"] == "failed"
    assert "BadOutputs.train_step statistic 'per_class' is a numpy.ndarray of shape (2,), expected one number" \
        in row["error"], row["error"]
