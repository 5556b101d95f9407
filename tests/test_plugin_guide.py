"""The package in docs/plugins.md, taken from the guide verbatim, installs and runs.

The files of "A complete package" (a model, a probe, a dataset, a recipe) are
cut out of the guide (each code block after a line naming its file), written
into a folder on ``sys.path`` with a dist-info whose entry point comes from
the guide's pyproject.toml, as pip would, and run through the real command
line on the package's own dataset. (``tests/test_installed.py`` pip-installs
the same files, to check what the pyproject ships.)
"""

import json
import re
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from threadpoolctl import threadpool_limits

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def guide_files() -> dict[str, str]:
    """``{"ganbench_ae/model.py": source, "pyproject.toml": source, ...}`` from the guide."""
    text = GUIDE.read_text()
    pattern = re.compile(r"^`([\w./-]+\.(?:py|toml))`:\n\n```(?:python|toml)\n(.*?)^```", re.S | re.M)
    return {name: body for name, body in pattern.findall(text)}


@pytest.fixture
def guide_package(tmp_path, monkeypatch, fresh_plugins):
    files = guide_files()
    site = tmp_path / "site"
    for name, source in files.items():
        if name != "pyproject.toml":  # the modules and the recipe, at their places in the package
            (site / name).parent.mkdir(parents=True, exist_ok=True)
            (site / name).write_text(source)
    project = tomllib.loads(files["pyproject.toml"])["project"]
    dist = site / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    entry_points = "".join(f"{k} = {v}\n" for k, v in project["entry-points"]["ganbench"].items())
    (dist / "entry_points.txt").write_text("[ganbench]\n" + entry_points)
    monkeypatch.syspath_prepend(str(site))
    yield project
    for module in [m for m in sys.modules if m == "ganbench_ae" or m.startswith("ganbench_ae.")]:
        del sys.modules[module]


def test_the_guide_names_every_file_of_its_package_and_ships_its_recipe_as_package_data():
    files = guide_files()
    assert set(files) == {"pyproject.toml", "ganbench_ae/__init__.py", "ganbench_ae/model.py", "ganbench_ae/probe.py",
                          "ganbench_ae/shapes.py", "ganbench_ae/recipes/ae-shapes.toml"}
    setuptools = tomllib.loads(files["pyproject.toml"])["tool"]["setuptools"]
    shipped = setuptools["package-data"]["ganbench_ae"]
    assert any(fnmatch("recipes/ae-shapes.toml", pattern) for pattern in shipped)  # a pip install copies it


@pytest.mark.slow
def test_the_guides_package_runs_its_model_probe_dataset_and_recipe(guide_package, tmp_path, monkeypatch,
                                                                    small_cpu_kernels):
    """The package written from the guide alone: listed (the model's category, the dataset found by its locate),
    run on its own dataset, its row read back and checked against sklearn; then its recipe, package data, finds
    the request stored and runs nothing."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from ganbench.cli.app import cli
    from ganbench.store.jsonl import load_results

    monkeypatch.setenv("GANBENCH_LOAD_PLUGINS", "ae")
    runner = CliRunner()
    listed = runner.invoke(cli, ["list", "models", "--views"])
    assert listed.exit_code == 0 and "    code: the autoencoder's bottleneck code" in listed.stdout
    assert re.search(r"^ae +1 +ae +generative: features", listed.stdout, re.M), listed.stdout
    assert "warning" not in listed.stderr, listed.stderr
    data = runner.invoke(cli, ["data", "list", "shapes"])
    assert data.exit_code == 0 and data.stdout.splitlines()[1].split()[:2] == ["shapes", "found"], data.output
    results = tmp_path / "results"
    with threadpool_limits(limits=1):  # BLAS threads fighting torch's on a shared machine cost minutes
        result = runner.invoke(cli, ["run", "--model", "ae", "--dataset", "shapes", "--probe", "logreg",
                                     "--max-steps", "120", "--results", str(results)])
    assert result.exit_code == 0, result.output
    assert "Headline: acc = " in result.stdout  # logreg's headline, as the spec declares it
    rows = load_results(results)
    assert len(rows) == 1
    row = rows.iloc[0]
    assert (row["status"], row["model"], row["probe"], row["dataset"], row["feature_view"], row["metric"]) == \
        ("ok", "ae", "logreg", "shapes", "code", "acc")
    assert row["feature_dim"] == 32 and row["n_train"] == 1200 and row["n_test"] == 300
    assert row["schedule"]["steps"] == 120 and row["model_config"] == {"code_size": 32, "hidden": 256, "lr": 0.001}
    assert row["details"]["model_category"] == "generative" and row["details"]["probe_headline"] == ["acc"]
    assert row["value"] > 0.6  # three classes: chance is 1/3
    # its test predictions are kept beside the store and give its figure
    from ganbench.store.predictions import load as load_predictions

    kept = load_predictions(results, row["predictions"])
    assert kept.predicted.shape == (1, 300) and kept.correct.mean() == pytest.approx(row["value"])

    # the autoencoder learned: its reconstruction error fell
    folder = Path(tmp_path / "cache" / "models").glob("ae-*").__next__()
    losses = [json.loads(line)["loss"] for line in (folder / "log.jsonl").read_text().splitlines()]
    assert len(losses) == 120 and np.mean(losses[-10:]) < 0.6 * np.mean(losses[:10])

    # the stored figure is sklearn's on the cached code features with the chosen C
    import ganbench

    shapes = ganbench.load_dataset("shapes")  # the loader's own images, the same bytes as the run's
    assert shapes.classes == ["horizontal bar", "vertical bar", "square"] and shapes.fingerprint == row["dataset_fingerprint"]
    (weights,) = (folder / "features").glob("final-*")  # the final weights, by their digest
    (cached,) = weights.iterdir()  # one extraction setting: train-images BN, float32, cpu
    train = np.load(cached / "code-train.npy")
    test = np.load(cached / "code-test.npy")
    scaler = StandardScaler().fit(train)
    clf = LogisticRegression(C=row["details"]["C"], max_iter=1000, random_state=0)
    with threadpool_limits(limits=1):
        clf.fit(scaler.transform(train), shapes.train_y.numpy())
    assert row["value"] == pytest.approx(clf.score(scaler.transform(test), shapes.test_y.numpy()), abs=1e-12)

    # the recipe, registered from package data: the same request is stored, so nothing runs and no row is added
    listed = runner.invoke(cli, ["reproduce", "list"])
    assert re.search(r"^ae-shapes +ae +1 ", listed.stdout, re.M), listed.output
    reproduced = runner.invoke(cli, ["reproduce", "ae-shapes", "--results", str(results), "--format", "md"])
    assert reproduced.exit_code == 0, reproduced.output
    assert "1 (job, probe) request(s) already stored, skipped" in reproduced.stderr
    assert f"| ae · code, 120 steps | {row['value']:.4f} (n=1) |" in reproduced.stdout
    assert "published" not in reproduced.stdout.split("\n\n")[1]  # no row publishes: no published, no gap
    assert len(load_results(results)) == 1
    refused = runner.invoke(cli, ["reproduce", "ae-shapes", "--with", "pixels", "--dry-run"])
    assert refused.exit_code == 2 and "has no [with] job" in refused.stderr
