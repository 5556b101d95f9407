"""The CLI through click's CliRunner, and one real run on mnist-5k."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ganbench.cli.app import cli
from ganbench.system.paths import DEFAULT_RESULTS
from ganbench.store.jsonl import load_results


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--model", "pixls", "--probe", "knn"], "Unknown model 'pixls'. Did you mean 'pixels'? Available: "),
        (["run", "--model", "pixels", "--probe", "knnn"], "Unknown probe 'knnn'. Did you mean 'knn'?"),
        (["run", "--model", "pixels", "--probe", "knn", "--dataset", "mnist5k"], "Did you mean 'mnist-5k'?"),
        (["run", "--model", "pixels", "--probe", "knn", "--probe-opt", "k=one"], "Bad value 'one' for option 'k' of probe 'knn'"),
        (["run", "--model", "random-d", "--probe", "knn", "--model-opt", "width=0"], "option 'width' of model 'random-d': must be at least 1"),
        (["run", "--model", "pixels", "--probe", "knn", "--probe-opt", "svm.C=1"], "probe 'svm' is not among --probe knn"),
        (["run", "--model", "pixels", "--probe", "knn", "--view", "d"], "Model 'pixels' has no feature view 'd'. Views: pixels."),
        (["run", "--model", "pixels", "--probe", "knn", "--dataset", "mnist", "--data-root", "/nonexistent/x"], "/nonexistent/x"),
        (["run", "--model", "pixels", "--probe", "knn", "--device", "tpu"], "Bad --device 'tpu'"),
        (["run", "--model", "pixels", "--probe", "knn", "--frobnicate"], "No such option"),
        (["list", "modles"], "Invalid value"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    result = invoke(*args, *(["--results", str(tmp_path)] if args[0] == "run" else []))
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "results.jsonl").exists()


def test_list_shows_every_kind_with_its_plugin():
    result = invoke("list")
    assert result.exit_code == 0
    for word in ("models:", "probes:", "datasets:", "executors:", "pixels", "random-d", "knn", "mnist-5k",
                 "builtin.models.baselines"):
        assert word in result.output


def test_plugins_lists_builtins_with_their_hooks():
    result = invoke("plugins")
    assert result.exit_code == 0
    line = next(l for l in result.output.splitlines() if l.startswith("builtin.probes.knn"))
    assert "register_probes" in line and "builtin" in line


def test_run_on_mnist_5k_matches_an_independent_knn(tmp_path):
    from sklearn.neighbors import KNeighborsClassifier

    from ganbench.builtin.datasets.mnist.loader import load_mnist_5k

    result = invoke("run", "--model", "pixels", "--probe", "knn", "--probe-opt", "k=1,5", "--probe-opt", "metric=l2",
                    "--probe-opt", "instdisc=false", "--results", str(tmp_path))
    assert result.exit_code == 0, result.output
    frame = load_results(tmp_path)
    assert len(frame) == 4 and set(frame["status"]) == {"ok"}
    data = load_mnist_5k()
    train = data.train_x.reshape(len(data.train_x), -1).numpy() / 255.0
    test = data.test_x.reshape(len(data.test_x), -1).numpy() / 255.0
    for k in (1, 5):
        for weights, vote in (("uniform", "majority"), ("distance", "distance")):
            clf = KNeighborsClassifier(k, weights=weights, algorithm="brute").fit(train, data.train_y.numpy())
            expected = float((clf.predict(test) == data.test_y.numpy()).mean())
            got = frame.loc[frame["metric"] == f"acc_l2_k{k}_{vote}", "value"].item()
            assert got == pytest.approx(expected, abs=1e-9), (k, vote)
    row = frame.iloc[0]
    assert row["dataset"] == "mnist-5k" and row["n_train"] == 4000 and row["n_test"] == 1000
    assert row["feature_dim"] == 784 and bool(row["higher_is_better"])
    assert row["probe_config"]["k"] == [1, 5] and row["model_config"] == {}
    assert row["dataset_fingerprint"] == data.fingerprint


def test_results_formats_and_leaderboard(tmp_path):
    for seed in ("0", "1"):
        r = invoke("run", "--model", "random-d", "--model-opt", "width=4", "--probe", "knn", "--probe-opt", "k=1",
                   "--probe-opt", "metric=l2", "--probe-opt", "instdisc=false", "--probe-opt", "vote=majority",
                   "--view", "d-last", "--seed", seed, "--results", str(tmp_path))
        assert r.exit_code == 0, r.output
    as_json = json.loads(invoke("results", str(tmp_path), "--format", "json").output)
    assert [row["seed"] for row in as_json] == [0, 1]
    assert as_json[0]["model_config_hash"] != as_json[1]["model_config_hash"]
    csv = invoke("results", str(tmp_path), "--format", "csv").output.splitlines()
    assert csv[0].startswith('"schema_version","run_id"') and len(csv) == 3
    values = np.array([row["value"] for row in as_json])
    board = invoke("leaderboard", str(tmp_path), "--format", "md").output
    expected = f"{values.mean():.4f} ± {values.std(ddof=1):.4f} (n=2)"
    assert expected in board and "random-d · d-last" in board and "### mnist-5k" in board
    assert "knn acc\\_l2\\_k1\\_majority ↑" in board
    assert "no rows to show" in invoke("leaderboard", str(tmp_path), "--metric", "acc_cosine*").output


@pytest.mark.slow
def test_sweep_skips_stored_requests_and_runs_new_ones(tmp_path):
    common = ["--probe", "knn", "--probe-opt", "k=1", "--probe-opt", "metric=l2", "--probe-opt", "instdisc=false",
              "--probe-opt", "vote=majority", "--results", str(tmp_path)]
    first = invoke("sweep", "--model", "pixels", "--seed", "0", "--seed", "1", *common)
    assert first.exit_code == 0, first.output
    assert len(load_results(tmp_path)) == 2
    again = invoke("sweep", "--model", "pixels", "--model", "random-d", "--model-opt", "random-d.width=4",
                   "--seed", "0", "--seed", "1", "--view", "pixels", "--view", "d", *common)
    # --view names must exist for every model: pixels has no view d
    assert again.exit_code == 2 and "has no feature view" in again.output
    again = invoke("sweep", "--model", "pixels", "--model", "random-d", "--model-opt", "random-d.width=4",
                   "--seed", "0", "--seed", "1", *common)
    assert again.exit_code == 0, again.output
    assert "2 (job, probe) request(s) already stored, skipped" in again.output
    frame = load_results(tmp_path)
    assert sorted(frame.groupby("model").size().items()) == [("pixels", 2), ("random-d", 4)]
    assert frame.loc[frame["model"] == "random-d", "model_config"].map(lambda c: c["width"]).eq(4).all()


REPO = Path(__file__).resolve().parents[1]


def git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def readme_main_command() -> tuple[list[str], list[str]]:
    """The README's first console block: the ``ganbench`` command it runs (after the installs) and its output."""
    block = (REPO / "README.md").read_text().split("```console\n", 1)[1].split("```", 1)[0].splitlines()
    command = block[0].split("&& ganbench ")[-1].split()
    return command, block[1:]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_readme_main_command_prints_what_the_readme_shows_and_leaves_a_clone_clean(tmp_path, monkeypatch):
    """A clone holding the real .gitignore and the reference store; the README's main command runs in it, with the
    default --results, and prints the README's sample output line by line (the seconds aside)."""
    clone = tmp_path / "clone"
    (clone / "results" / "reference").mkdir(parents=True)
    shutil.copy(REPO / ".gitignore", clone / ".gitignore")
    reference = clone / "results" / "reference" / "results.jsonl"
    shutil.copy(REPO / "results" / "reference" / "results.jsonl", reference)
    before = reference.read_bytes()
    git(clone, "init", "-q")
    git(clone, "add", "-A")
    git(clone, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "clone")
    monkeypatch.chdir(clone)
    command, shown = readme_main_command()
    assert command == ["run", "--model", "pixels", "--probe", "knn"]
    result = invoke(*command)
    assert result.exit_code == 0, result.output

    def seconds_aside(lines):
        return [re.sub(r": \d+\.\d s$", ": <t> s", line) for line in lines]

    assert seconds_aside(result.output.splitlines()) == seconds_aside(shown)
    rows = load_results(clone / DEFAULT_RESULTS)
    assert len(rows) == 13 and rows["metric"].iloc[0] == "acc_l2_k1_majority"
    # each row records what the leaderboard needs of the specs: the probe's headline, the model's category
    details = rows["details"].iloc[0]
    assert details["probe_headline"][0] == "acc_l2_k1_majority" and details["model_category"] == "baseline"
    assert git(clone, "status", "--porcelain", "--untracked-files=all") == ""
    assert reference.read_bytes() == before


def test_every_declared_view_list_matches_the_built_model():
    from ganbench.cli.listing import model_views
    from ganbench.plugins import get_registry

    for spec in get_registry().all("model"):
        defaults = {o.name: o.default for o in spec.options}
        assert model_views(spec) == spec.factory(**defaults).feature_views(), spec.name


def test_list_fits_100_columns_and_shows_views_choices_and_ranges():
    for args in (["list"], ["list", "--options", "--views"], ["list", "--long"], ["plugins"]):
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        too_wide = [line for line in result.output.splitlines() if len(line) > 100]
        assert too_wide == [], (args, too_wide)
    output = invoke("list", "models", "--views", "--options").output
    assert "    d-last: D's last conv layer max-pooled to 4x4, flattened" in output
    assert "    e: E(x), the inferred latent code" in output  # bigan's views
    assert "  dcgan.latent (str; default 'uniform'; one of uniform, normal): latent distribution" in output
    assert "  random-d.width (int; default 64; >= 1 and <= 1024): D's base width w" in output
    cut = invoke("list", "models").output
    assert "gan: features," in cut and "baseline: features" in cut  # each model's category (ModelSpec.category)
    assert "BiGAN / ALI (Donahue et al." in cut and "features from E and D" not in cut
    assert "features from E and D" in " ".join(invoke("list", "models", "--long").output.split())


def test_ci_runs_the_readme_s_test_command_and_then_the_slow_set():
    """The README's test command is the one .ci/run runs first; the slow set it leaves out runs after it; the extras
    CI installs are the ones the README says."""
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    command = re.search(r"^\$ pip install -e '\.\[test\]'.* && (pytest -q -m \"not slow\")$", readme, re.M).group(1)
    runs = [line.strip().removeprefix("python -m ").split(" ||")[0] for line in ci.splitlines()
            if line.strip().startswith("python -m pytest")]
    assert runs == [command, "pytest -q -m slow"]
    assert "installs `.[test,ray]`" in readme and "-e '.[test,ray]'" in ci
