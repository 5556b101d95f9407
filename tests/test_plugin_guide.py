"""The package in docs/plugins.md, taken from the guide verbatim, installs and runs.

The files of "A complete package" are cut out of the guide (each code block
after a line naming its file), written into a folder on ``sys.path`` with a
dist-info whose entry point comes from the guide's pyproject.toml, as pip
would, and run through the real command line on mnist-5k.
"""

import json
import re
import sys
import tomllib
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
        if name.endswith(".py"):
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


def test_the_guide_names_every_file_of_its_package():
    assert set(guide_files()) == {"pyproject.toml", "ganbench_ae/__init__.py", "ganbench_ae/model.py",
                                  "ganbench_ae/probe.py"}


def test_the_guides_ae_and_logreg_run_on_mnist_5k(guide_package, tmp_path, monkeypatch, small_cpu_kernels):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from ganbench.cli.app import cli
    from ganbench.store.jsonl import load_results

    monkeypatch.setenv("GANBENCH_LOAD_PLUGINS", "ae")
    runner = CliRunner()
    listed = runner.invoke(cli, ["list", "models", "--views"])
    assert listed.exit_code == 0 and "    code: the autoencoder's bottleneck code" in listed.stdout
    assert "warning" not in listed.stderr, listed.stderr
    with threadpool_limits(limits=1):  # BLAS threads fighting torch's on a shared machine cost minutes
        result = runner.invoke(cli, ["run", "--model", "ae", "--probe", "logreg", "--max-steps", "120",
                                     "--device", "cpu", "--results", str(tmp_path / "results")])
    assert result.exit_code == 0, result.output
    rows = load_results(tmp_path / "results")
    assert len(rows) == 1
    row = rows.iloc[0]
    assert (row["status"], row["model"], row["probe"], row["feature_view"], row["metric"]) == ("ok", "ae", "logreg", "code", "acc")
    assert row["feature_dim"] == 32 and row["n_train"] == 4000 and row["n_test"] == 1000
    assert row["schedule"]["steps"] == 120 and row["model_config"] == {"code_size": 32, "hidden": 256, "lr": 0.001}
    assert row["value"] > 0.7  # ten digit classes: chance is 0.1
    # its test predictions are kept beside the store and give its figure
    from ganbench.store.predictions import load as load_predictions

    kept = load_predictions(tmp_path / "results", row["predictions"])
    assert kept.predicted.shape == (1, 1000) and kept.correct.mean() == pytest.approx(row["value"])

    # the autoencoder learned: its reconstruction error fell
    folder = Path(tmp_path / "cache" / "models").glob("ae-*").__next__()
    losses = [json.loads(line)["loss"] for line in (folder / "log.jsonl").read_text().splitlines()]
    assert len(losses) == 120 and np.mean(losses[-10:]) < 0.6 * np.mean(losses[:10])

    # the stored figure is sklearn's on the cached code features with the chosen C
    from ganbench.builtin.datasets.mnist.loader import load_mnist_5k

    data = load_mnist_5k()
    (weights,) = (folder / "features").glob("final-*")  # the final weights, by their digest
    (cached,) = weights.iterdir()  # one extraction setting: train-images BN, float32, cpu
    train = np.load(cached / "code-train.npy")
    test = np.load(cached / "code-test.npy")
    scaler = StandardScaler().fit(train)
    clf = LogisticRegression(C=row["details"]["C"], max_iter=1000, random_state=0)
    with threadpool_limits(limits=1):
        clf.fit(scaler.transform(train), data.train_y.numpy())
    assert row["value"] == pytest.approx(clf.score(scaler.transform(test), data.test_y.numpy()), abs=1e-12)
