"""``ganbench compare``: McNemar, the paired bootstrap and Welch's test, checked against scipy and statsmodels."""

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from ganbench.store import predictions
from ganbench.cli.app import cli
from ganbench.reports.compare import mcnemar, paired_bootstrap, welch
from ganbench.store.jsonl import append_rows

N = 1000
LABELS = np.arange(N) % 10


def outcomes(right_a: int, only_a: int, only_b: int, n: int = N):
    """0/1 outcomes of A and B: both right on ``right_a - only_a``, only A right on ``only_a``, only B on ``only_b``."""
    a, b = np.zeros(n, bool), np.zeros(n, bool)
    both = right_a - only_a
    a[:right_a] = True
    b[:both] = True
    b[right_a:right_a + only_b] = True
    return a, b


def test_mcnemar_is_statsmodels_exact_test_and_the_difference_is_b_minus_a():
    a, b = outcomes(900, only_a=5, only_b=17)
    result = mcnemar(a, b)
    table = [[int((a & b).sum()), int((a & ~b).sum())], [int((~a & b).sum()), int((~a & ~b).sum())]]
    assert result.p == pytest.approx(sm_mcnemar(table, exact=True).pvalue, rel=1e-12)
    assert result.difference == pytest.approx(b.mean() - a.mean()) == pytest.approx(12 / N)
    # Agresti-Min: each cell + 1/2; centre 12/1002, se sqrt(23 - 144/1002)/1002
    se = np.sqrt(23 - 144 / 1002) / 1002
    assert (result.low, result.high) == pytest.approx((12 / 1002 - 1.959964 * se, 12 / 1002 + 1.959964 * se), abs=1e-6)
    assert result.p < 0.05 and result.low > 0


def test_mcnemar_without_a_difference_and_on_identical_predictions():
    a, b = outcomes(900, only_a=10, only_b=10)
    balanced = mcnemar(a, b)
    assert balanced.difference == 0 and balanced.p == pytest.approx(1.0)
    assert balanced.low == pytest.approx(-balanced.high)
    same = mcnemar(a, a)
    assert (same.difference, same.p) == (0.0, 1.0)
    assert same.low < 0 < same.high  # Agresti-Min keeps a width even with no discordant pair


def test_paired_bootstrap_over_examples_is_scipys_and_finds_a_known_difference():
    a, b = outcomes(900, only_a=10, only_b=30)  # B is right on 20 more of 1,000: +0.02
    result = paired_bootstrap(a[None].astype(float), b[None].astype(float), resamples=10_000, seed=0)
    assert result.difference == pytest.approx(0.02)
    reference = stats.bootstrap(((b.astype(float) - a.astype(float)),), np.mean, method="percentile",
                                n_resamples=10_000, random_state=np.random.default_rng(1)).confidence_interval
    assert result.low == pytest.approx(reference.low, abs=0.003)
    assert result.high == pytest.approx(reference.high, abs=0.003)
    assert result.p == pytest.approx(mcnemar(a, b).p, abs=0.01)  # the exact test on the same pairs: both ~0.002


def test_paired_bootstrap_of_identical_scores_is_zero_with_p_1():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 2, size=(3, N)).astype(float)
    result = paired_bootstrap(scores, scores.copy(), resamples=2000, seed=0, paired_seeds=True)
    assert (result.difference, result.low, result.high, result.p) == (0.0, 0.0, 0.0, 1.0)


def test_paired_bootstrap_over_seeds_widens_the_interval_by_the_seed_spread():
    rng = np.random.default_rng(0)
    base = rng.random(N) < 0.9
    # B's three seeds: +0.03, -0.01, +0.01 against A's seeds (identical): a mean of +0.01 that the seeds make unsure
    a = np.stack([base] * 3).astype(float)
    b = a.copy()
    wrong = np.flatnonzero(~base)
    right = np.flatnonzero(base)
    b[0, wrong[:30]] = 1
    b[1, right[:10]] = 0
    b[2, wrong[:10]] = 1
    result = paired_bootstrap(a, b, resamples=10_000, seed=0, paired_seeds=True)
    assert result.difference == pytest.approx(0.01)
    assert result.low < 0 < result.high and result.p > 0.05
    one_seed = paired_bootstrap(a[:1], b[:1], resamples=10_000, seed=0)
    assert one_seed.low > 0  # seed 0 alone: +0.03 on 1,000 paired examples is clear


def test_welch_is_statsmodels():
    a, b = [0.951, 0.948, 0.955], [0.962, 0.957, 0.966, 0.960]
    result = welch(a, b)
    compared = CompareMeans(DescrStatsW(np.array(b)), DescrStatsW(np.array(a)))
    assert result.p == pytest.approx(compared.ttest_ind(usevar="unequal")[1], rel=1e-9)
    assert (result.low, result.high) == pytest.approx(compared.tconfint_diff(usevar="unequal"), rel=1e-9)
    assert result.difference == pytest.approx(np.mean(b) - np.mean(a))


# -- the command ------------------------------------------------------------
def row(model, seed, correct, metric="acc", test_set="t1", probe="knn", view="d", keep=True, **extra):
    """A stored row whose predictions are right exactly where ``correct`` says."""
    correct = np.asarray(correct, bool)
    predicted = np.where(correct, LABELS, (LABELS + 1) % 10)
    value = float(correct.mean())
    direction = True
    if metric.startswith("err"):
        value, direction = 1 - value, False
    out = {"schema_version": 2, "run_id": f"{model}-{seed}-{metric}", "model": model, "probe": probe,
           "dataset": "mnist-5k", "dataset_fingerprint": "f", "feature_view": view, "seed": seed, "metric": metric,
           "value": value, "higher_is_better": direction, "status": "ok", "model_config": {"width": 64},
           "probe_config": {"k": [1]}, **extra}
    if keep:
        out[predictions.PENDING_KEY] = predictions.Pending(predicted[None].astype(np.uint8),
                                                           LABELS.astype(np.uint8), test_set)
    return out


def compare(store, *args):
    return CliRunner().invoke(cli, ["compare", "--results", str(store), *args])


@pytest.fixture
def store(tmp_path):
    a, b = outcomes(900, only_a=5, only_b=17)
    append_rows(tmp_path, [row("dcgan", 0, a), row("ortho", 0, b), row("dcgan", 0, a, metric="err"),
                           row("ortho", 0, b, metric="err"),
                           row("bigan", 0, a, test_set="t2"),
                           row("nopred", 0, a, keep=False), row("nopred", 1, b, keep=False),
                           row("nopred2", 0, b, keep=False), row("nopred2", 1, b, keep=False)])
    return tmp_path


def test_compare_prints_mcnemar_for_one_seed_each(store):
    a, b = outcomes(900, only_a=5, only_b=17)
    result = compare(store, "--a", "model=dcgan", "--b", "model=ortho", "--metric", "acc")
    assert result.exit_code == 0, result.output
    expected = mcnemar(a, b)
    lines = result.output.splitlines()
    assert lines[2] == (f"B − A  +0.0120   95% CI [{expected.low:+.4f}, {expected.high:+.4f}]   "
                        f"p = {expected.p:.4g}")
    assert "McNemar's exact test on 1,000 paired test examples (A right, B wrong: 5; A wrong, B right: 17)" in lines[3]
    # the error rate: the same test, the difference the other way round
    err = compare(store, "--a", "model=dcgan", "--b", "model=ortho", "--metric", "err")
    assert "B − A  -0.0120" in err.output and f"p = {expected.p:.4g}" in err.output


def test_a_row_against_itself_is_zero_with_p_1_with_or_without_predictions(store):
    for model in ("dcgan", "nopred"):
        result = compare(store, "--a", f"model={model}", "--a", "metric=acc", "--b", f"model={model}", "--b", "metric=acc")
        assert result.exit_code == 0, result.output
        assert "B − A  +0.0000   95% CI [+0.0000, +0.0000]   p = 1" in result.output


def test_rows_without_predictions_fall_back_to_welch_over_seeds_and_say_so(store):
    result = compare(store, "--a", "model=nopred", "--b", "model=nopred2", "--metric", "acc")
    assert result.exit_code == 0, result.output
    assert "Welch's t-test over seeds (2 and 2)" in result.output and "without per-example predictions" in result.output
    expected = welch([0.9, 0.912], [0.912, 0.912])
    assert f"p = {expected.p:.4g}" in result.output


def test_a_probes_newest_version_in_a_selection_supersedes_its_older_rows(tmp_path):
    a, b = outcomes(900, only_a=5, only_b=17)
    # version 2 of "svm" (no stop_after_falls option) and version 3 (with it), the same model and seed
    old = row("dcgan", 0, b, probe="svm", probe_version="2", run_id="old")
    new = row("dcgan", 0, a, probe="svm", probe_version="3", run_id="new", probe_config={"k": [1], "stop_after_falls": 3})
    append_rows(tmp_path, [new, old, row("ortho", 0, b, probe="svm", probe_version="3")])
    result = compare(tmp_path, "--a", "model=dcgan", "--b", "model=ortho")
    assert result.exit_code == 0, result.output
    expected = mcnemar(a, b)  # A is version 3's row (a), not version 2's (b), though the older was written last
    assert f"B − A  +0.0120   95% CI [{expected.low:+.4f}, {expected.high:+.4f}]   p = {expected.p:.4g}" in result.output
    older = compare(tmp_path, "--a", "model=dcgan", "--a", "probe_version=2", "--b", "model=ortho")
    assert older.exit_code == 0 and "B − A  +0.0000" in older.output  # the older version when asked for


@pytest.mark.parametrize("args, message", [
    (["--a", "model=nopred", "--a", "seed=0", "--b", "model=dcgan", "--metric", "acc"],
     "row nopred · d · knn acc seed 0 (run nopred-0-acc) has no predictions, and a test over seeds needs 2 or more "
     "seeds on each side (A has 1, B 1); re-run it to keep its predictions: ganbench run --model nopred"),
    (["--a", "model=dcgan", "--b", "model=bigan", "--metric", "acc"], "scored on different test sets (A: t1; B: t2)"),
    (["--a", "model=dgcan", "--b", "model=bigan"], "selection A (model=dgcan) matches no ok row of"),
    (["--a", "probe=knn", "--a", "metric=acc", "--b", "model=bigan"], "selection A matches rows of several "
     "configurations (model: \"bigan\", \"dcgan\", \"nopred\", \"nopred2\" …); narrow it with --a model=VALUE"),
    (["--a", "model=dcgan", "--b", "model=ortho"], "selection A holds 2 metrics (acc, err); pick one with --metric"),
    (["--a", "modl=dcgan", "--b", "model=ortho"], "unknown field 'modl'"),
    (["--a", "model", "--b", "model=ortho"], "--a 'model': expected FIELD=VALUE"),
])
def test_what_cannot_be_compared_is_one_line_and_exit_2(store, args, message):
    result = compare(store, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_the_readme_example_from_another_folder_says_the_store_does_not_exist(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from ganbench.cli.app import cli

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["compare", "--results", "results/reference", "--a", "dataset=mnist-5k",
                                      "--a", "model=pixels", "--a", "probe=knn", "--b", "dataset=mnist-5k",
                                      "--b", "model=pixels", "--b", "probe=svm", "--b", "metric=acc"])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: No result store at results/reference/results.jsonl (no such file, looked "
                                    f"for from {tmp_path})")
    assert "matches no ok row" not in result.stderr and len(result.stderr.splitlines()) == 1
