"""Bad option values and run settings are refused in one line, exit 2, before anything trains."""

from __future__ import annotations

import math

import pytest
from click.testing import CliRunner

from ganbench.cli.app import cli
from ganbench.system.errors import UsageError
from ganbench.api.options import Option, resolve_options
from ganbench.jobs.training import Trainer


@pytest.fixture
def no_training(monkeypatch):
    """Any attempt to train fails the test loudly (the refusals must come first)."""
    def refuse(self):
        raise AssertionError("training started")
    monkeypatch.setattr(Trainer, "run", refuse)


def run_cli(tmp_path, *args):
    return CliRunner().invoke(cli, ["run", "--results", str(tmp_path / "results"), "--cache-dir", str(tmp_path / "cache"),
                                    *args])


def assert_refused(result, *needles):
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.parametrize("args, needles", [
    (["--seed", "-1"], ["--seed"]),
    (["--seed", "99999999999999999999"], ["--seed", "4294967295"]),
    (["--epochs", "0"], ["--epochs 0", "dcgan"]),
    (["--max-steps", "0"], ["--max-steps 0", "dcgan"]),
    (["--device", "cpu:1"], ["cpu:1"]),
    (["--probe-opt", "temperature=nan"], ["temperature", "finite"]),
    (["--probe-opt", "temperature=0"], ["temperature", "> 0"]),
    (["--model-opt", "lr=nan"], ["'lr'", "finite"]),
    (["--model-opt", "lr=inf"], ["'lr'", "finite"]),
    (["--model-opt", "beta1=5"], ["beta1", ">= 0 and < 1"]),
    (["--model-opt", "beta2=1"], ["beta2", "< 1"]),
    (["--model-opt", "width=0"], ["width"]),
])
def test_bad_settings_are_refused_before_training(tmp_path, no_training, args, needles):
    result = run_cli(tmp_path, "--model", "dcgan", "--probe", "knn", *args)
    assert_refused(result, *needles)


def test_zero_epochs_are_fine_for_a_model_that_does_not_train(tmp_path):
    from ganbench.jobs.run import Job, ProbeRequest, resolve

    resolve(Job("random-d", "mnist-5k", [ProbeRequest("knn")], epochs=0))  # no error: nothing trains


def test_cuda_is_refused_where_there_is_none(tmp_path, no_training):
    import torch

    if torch.cuda.is_available():
        result = run_cli(tmp_path, "--model", "dcgan", "--probe", "knn", "--device", f"cuda:{torch.cuda.device_count()}")
    else:
        result = run_cli(tmp_path, "--model", "dcgan", "--probe", "knn", "--device", "cuda")
    assert_refused(result, "--device")


@pytest.mark.parametrize("probe, per_class", [("knn", 450), ("svm", 380)])
def test_label_budget_larger_than_a_class_is_refused_before_training(tmp_path, no_training, probe, per_class):
    # mnist-5k has about 400 training digits per class; svm first carves a validation split (~67 a class) out.
    result = run_cli(tmp_path, "--model", "dcgan", "--probe", probe, "--probe-opt", f"labels_per_class={per_class}")
    assert_refused(result, f"labels_per_class={per_class}", "class", "mnist-5k", "or fewer")
    assert not (tmp_path / "results").exists()


def test_label_budget_checks_match_what_the_draws_can_take():
    from ganbench.api.data import DataInfo
    from ganbench.builtin.probes.knn import probe as knn_module
    from ganbench.builtin.probes.svm import probe as svm_module
    from ganbench.builtin.probes.knn.probe import KNN
    from ganbench.builtin.probes.svm.probe import SVM, budget_draws
    from ganbench.api.splits import label_budget
    import numpy as np

    labels = np.repeat(np.arange(3), [30, 12, 20])
    info = DataInfo("toy", 1, 8, 8, 3, len(labels), (30, 12, 20))
    knn_options = resolve_options(knn_module.OPTIONS, {}, "knn")
    knn = lambda n: KNN(**{**knn_options, "labels_per_class": n})
    knn(12).check(info)  # the smallest class has exactly 12
    label_budget(labels, 12)
    with pytest.raises(UsageError, match="class 1 .* has only 12"):
        knn(13).check(info)
    svm_options = resolve_options(svm_module.OPTIONS, {}, "svm")
    # the largest budget the check accepts is exactly the largest the validation carve leaves
    accepted = [n for n in range(1, 13) if _passes(SVM(**{**svm_options, "labels_per_class": n}), info)]
    drawable = [n for n in range(1, 13) if _draws(budget_draws, labels, n, svm_options["val_size"])]
    assert accepted == drawable and 0 < max(accepted) < 12


def _passes(probe, info) -> bool:
    try:
        probe.check(info)
        return True
    except UsageError:
        return False


def _draws(budget_draws, labels, n, val_size) -> bool:
    try:
        budget_draws(labels, n, 1, 0, val_size)
        return True
    except ValueError:
        return False


def test_option_bounds_open_and_closed():
    lr = Option("lr", "float", 0.1, "rate", minimum=0.0, exclusive_minimum=True, maximum=1.0)
    beta = Option("beta", "float", 0.5, "beta", minimum=0.0, maximum=1.0, exclusive_maximum=True)
    assert lr.parse("1", "m") == 1.0 and beta.parse("0", "m") == 0.0
    for option, text in [(lr, "0"), (lr, "1.0000001"), (beta, "1"), (beta, "-0.1"), (lr, "nan"), (lr, "-inf"),
                         (beta, "1e999")]:
        with pytest.raises(UsageError) as err:
            option.parse(text, "model 'm'")
        assert f"option '{option.name}' of model 'm'" in str(err.value) and "\n" not in str(err.value)
    floats = Option("c", "floats", [1.0], "grid", minimum=0.0, exclusive_minimum=True)
    with pytest.raises(UsageError, match="finite"):
        floats.parse("0.1,nan", "probe 'svm'")


@pytest.mark.parametrize("kwargs, needle", [
    (dict(type="float", default=math.nan), "finite"),
    (dict(type="float", default=0.0, minimum=0.0, exclusive_minimum=True), "> 0"),
    (dict(type="int", default=5, maximum=4), "<= 4"),
    (dict(type="int", default="3"), "type int"),
    (dict(type="int", default=True), "type int"),
    (dict(type="str", default="x", choices=("a", "b")), "one of a, b"),
    (dict(type="ints", default=[1, 0], minimum=1), ">= 1"),
    (dict(type="ints", default=3), "not a list"),
])
def test_a_bad_default_is_refused_when_the_option_is_declared(kwargs, needle):
    with pytest.raises(ValueError) as err:
        Option("opt", help="h", **kwargs)
    assert "'opt'" in str(err.value) and needle in str(err.value)


def test_every_builtin_option_has_a_valid_default_and_floats_a_range():
    from ganbench.plugins import get_registry

    registry = get_registry()
    for kind in ("model", "probe", "dataset"):
        for spec in registry.all(kind):
            for option in spec.options:
                assert option._default_problem() is None, (spec.name, option.name)
                if option.base_type == "float":
                    assert option.minimum is not None, (spec.name, option.name)
