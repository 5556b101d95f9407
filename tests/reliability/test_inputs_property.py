"""Arbitrary option strings thrown at `ganbench run`'s checks: never a traceback, always exit 0 or 2."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from ganbench.cli import run as run_cli
from ganbench.cli.app import cli

KEYS = ["lr", "beta1", "beta2", "width", "nz", "latent", "image_size", "k", "metric", "vote", "temperature",
        "labels_per_class", "repeats", "instdisc", "index", "dcgan.lr", "knn.k", "svm.c_grid", "nope.x", ""]
NUMBERS = ["nan", "-nan", "inf", "-inf", "1e999", "-0", "0", "1", "-1", "0.5", "1e-320", str(2**64), "9" * 5000,
           "1,2", ",", "", " ", "0x10", "1_000", "١٢", "true", "l2,cosine", "\n", "a\nb", "\x00"]
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
assignment = st.tuples(st.sampled_from(KEYS) | text, st.sampled_from(NUMBERS) | text).map(lambda kv: f"{kv[0]}={kv[1]}")
raw = st.sampled_from(["width", "=1", "lr==1"]) | text


@pytest.fixture(scope="module")
def poisoned():
    """Checked jobs are handed to an execute that only counts them: nothing loads or trains."""
    submitted = []
    original = run_cli.submit
    run_cli.submit = lambda jobs, executor, results_dir, **kwargs: submitted.append(jobs) or 0
    yield submitted
    run_cli.submit = original


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(model_opts=st.lists(assignment | raw, max_size=3), probe_opts=st.lists(assignment | raw, max_size=3),
       seed=st.sampled_from(["0", "-1", str(2**32), "99999999999999999999", "x", "4294967295"]))
def test_option_strings_never_give_a_traceback(poisoned, tmp_path_factory, model_opts, probe_opts, seed):
    folder = tmp_path_factory.getbasetemp()
    args = ["run", "--model", "dcgan", "--probe", "knn", "--probe", "svm", "--seed", seed,
            "--results", str(folder / "results"), "--cache-dir", str(folder / "cache")]
    for opt in model_opts:
        args += ["--model-opt", opt]
    for opt in probe_opts:
        args += ["--probe-opt", opt]
    before = len(poisoned)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code in (0, 2), (args, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
    if result.exit_code == 2:
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error:"), (args, result.output)
        assert len(poisoned) == before
    else:
        assert len(poisoned) == before + 1
