"""Options that would fail late or never end are refused in one line before anything trains."""

import pytest
from click.testing import CliRunner

from ganbench.cli.app import cli


def run(tmp_path, *args):
    return CliRunner().invoke(cli, ["run", "--device", "cpu", "--results", str(tmp_path / "r"),
                                    "--cache-dir", str(tmp_path / "c"), *args])


@pytest.mark.parametrize("args, limit", [
    (["--model", "wgan-gp", "--model-opt", "width=100000", "--probe", "knn"], "option 'width' of model 'wgan-gp': must be >= 1 and <= 1024"),
    (["--model", "wgan-gp", "--model-opt", "nz=1000000000", "--probe", "knn"], "option 'nz' of model 'wgan-gp': must be >= 1 and <= 4096"),
    (["--model", "wgan-gp", "--model-opt", "n_critic=1000000000", "--probe", "knn"], "option 'n_critic' of model 'wgan-gp': must be >= 1 and <= 100"),
    (["--model", "dcgan", "--probe", "augment", "--probe-opt", "width=100000"], "option 'width' of probe 'augment': must be >= 1 and <= 512"),
    (["--model", "dcgan", "--probe", "quality", "--probe-opt", "n_generated=1000000000"], "option 'n_generated' of probe 'quality': must be >= 2 and <= 200000"),
    (["--model", "dcgan", "--probe", "quality", "--probe-opt", "kid_subsets=1000000000"], "option 'kid_subsets' of probe 'quality': must be >= 2 and <= 10000"),
])
def test_an_option_beyond_its_maximum_is_one_line_and_exit_2(tmp_path, args, limit):
    result = run(tmp_path, *args)
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert "\n" not in line and limit in line, line
    assert not (tmp_path / "c" / "models").exists()


def test_augments_label_budget_is_checked_before_training(tmp_path):
    result = run(tmp_path, "--model", "dcgan", "--model-opt", "width=4", "--max-steps", "1", "--probe", "augment",
                 "--probe-opt", "labels_per_class=1000")
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert "\n" not in line and "Probe 'augment': labels_per_class=1000, but class 0 of dataset 'mnist-5k' has only " \
        "400 training examples. Use --probe-opt augment.labels_per_class=400 or fewer." in line, line
    assert not (tmp_path / "c" / "models").exists()  # nothing trained
