"""Is a difference between two sets of rows real? ``ganbench compare`` and the leaderboard's tie marks.

Two selections of rows (one configuration each, one row per seed) give the
difference B − A of their figures, a 95 % confidence interval and a
two-sided p-value:

- **one seed each, one prediction each, on the same test images**: McNemar's
  exact test (a binomial test on the discordant pairs: A right and B wrong
  against A wrong and B right) and the Agresti–Min interval for a paired
  difference of proportions (each cell of the 2×2 table plus 1/2);
- **several seeds, or label draws**: a paired bootstrap over seeds and test
  examples -- each resample draws the test examples with replacement (the
  same for A and B) and the seeds with replacement (the same seeds for both
  when both sides hold the same seeds, else independently); the interval is
  the 2.5 and 97.5 percentiles, the p-value twice the smaller tail of the
  resampled differences around 0, each tail counted as ``(1 + k) / (1 + R)``;
- **rows without predictions, two or more seeds each**: Welch's t-test over
  the seeds' figures, with the Welch–Satterthwaite interval.

Both sides being the very same rows is a difference of 0 with p = 1
whatever the rows hold. Everything else (a selection matching nothing,
several configurations, different test images, too few seeds without
predictions) is a :class:`~ganbench.system.errors.UsageError` saying what to do.

Imports no torch; scipy loads when a test runs.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

import numpy as np

from ganbench.store import predictions as preds
from ganbench.system.errors import UsageError
from ganbench.store.schema import FIELDS
from ganbench.store.standing import newest_version, standing

RESAMPLES = 10_000
LEADERBOARD_RESAMPLES = 2000  # bootstrap resamples of the leaderboard's tests (ganbench compare uses more)
SIGNIFICANCE = 0.05  # the best is marked only when it beats the runner-up at this level
CONFIDENCE = 0.95
ALIASES = {"view": "feature_view"}
# FIELD.KEY in a selection: a key of one of the row's dicts
CONTAINERS = {"model": "model_config", "probe": "probe_config", "details": "details", "schedule": "schedule",
              "feature_config": "feature_config", "predictions": "predictions"}
# what makes two rows one configuration (seeds, runs and times may differ)
CONFIGURATION = ("model", "model_version", "model_config", "dataset", "dataset_fingerprint", "feature_view",
                 "feature_config", "probe", "probe_version", "probe_config", "metric", "labels_used", "schedule")


@dataclass
class Comparison:
    """B − A with its 95 % interval and p-value; ``method`` says how, ``note`` anything a reader must know."""

    difference: float
    low: float
    high: float
    p: float
    method: str
    mean_a: float
    mean_b: float
    seeds_a: list
    seeds_b: list
    note: str = ""
    details: dict = field(default_factory=dict)


# -- selections -------------------------------------------------------------
def parse_selection(items, side: str) -> list[tuple[str, str]]:
    """``FIELD=VALUE`` items as pairs; a malformed or unknown field is one line naming it."""
    pairs = []
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--{side} {item!r}: expected FIELD=VALUE (e.g. model=dcgan, feature_view=d, seed=0, "
                             f"model.width=64)")
        name = ALIASES.get(name, name)
        root = name.split(".", 1)[0]
        if "." in name and root in CONTAINERS:
            pass  # model.KEY / probe.KEY: an option of the row's model_config / probe_config; schedule.KEY, ...
        elif name == "at_epoch" or name in FIELDS:
            pass
        else:
            raise UsageError(f"--{side} {item!r}: unknown field {name!r}; use a row field ({', '.join(_SELECTABLE)}), "
                             f"model.OPTION, probe.OPTION, schedule.KEY, details.KEY or at_epoch")
        pairs.append((name, value.strip()))
    return pairs


_SELECTABLE = ("model", "feature_view", "probe", "metric", "seed", "dataset", "labels_used", "model_version",
               "probe_version", "run_id", "dataset_fingerprint")


def field_value(row: dict, name: str):
    """The value a selection's ``name`` refers to in ``row`` (``None`` when absent)."""
    if name == "at_epoch":
        return (row.get("details") or {}).get("snapshot_epoch")
    root, _, key = name.partition(".")
    if key and root in CONTAINERS:
        container = row.get(CONTAINERS[root]) or {}
        for part in key.split("."):
            container = container.get(part) if isinstance(container, dict) else None
        return container
    return row.get(name)


def same_value(stored, given: str) -> bool:
    """Whether a stored value is the one typed on the command line (numbers compare as numbers)."""
    if stored is None:
        return given.lower() in ("none", "null", "")
    if isinstance(stored, bool):
        return given.lower() == str(stored).lower()
    if isinstance(stored, (int, float)):
        try:
            return math.isclose(float(stored), float(given), rel_tol=1e-9, abs_tol=0.0)
        except ValueError:
            return False
    if isinstance(stored, (list, tuple)):
        parts = [g.strip() for g in given.split(",")]
        return len(parts) == len(stored) and all(same_value(s, g) for s, g in zip(stored, parts))
    return str(stored) == given


def select(rows: list[dict], pairs: list[tuple[str, str]]) -> list[dict]:
    """The ``ok`` rows matching every pair; the final weights' rows only, unless ``at_epoch`` is asked for
    or the selection holds nothing but snapshots (the leaderboard too shows snapshots only when asked)."""
    chosen = [r for r in rows if r.get("status") == "ok" and all(same_value(field_value(r, n), v) for n, v in pairs)]
    if any(name == "at_epoch" for name, _ in pairs):
        return chosen
    final = [r for r in chosen if field_value(r, "at_epoch") is None]
    return final or chosen


def pick_metric(rows: list[dict], metric: str | None, side: str, headline) -> list[dict]:
    """Rows of one metric: ``metric`` (a name or glob), else the only one, else the probe's first headline figure."""
    metrics = sorted({r["metric"] for r in rows})
    if metric:
        chosen = [m for m in metrics if fnmatchcase(m, metric)]
        if len(chosen) != 1:
            what = "no metric" if not chosen else f"{len(chosen)} metrics ({', '.join(chosen[:6])})"
            raise UsageError(f"--metric {metric!r} matches {what} of selection {side.upper()}; its metrics: "
                             f"{', '.join(metrics[:12])}{' …' if len(metrics) > 12 else ''}")
        return [r for r in rows if r["metric"] == chosen[0]]
    if len(metrics) == 1:
        return rows
    for pattern in headline(rows[0]["probe"]):
        found = [m for m in metrics if fnmatchcase(m, pattern)]
        if found:
            return [r for r in rows if r["metric"] == found[0]]
    raise UsageError(f"selection {side.upper()} holds {len(metrics)} metrics ({', '.join(metrics[:8])}"
                     f"{' …' if len(metrics) > 8 else ''}); pick one with --metric")


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def one_per_seed(rows: list[dict], side: str, named_in_metric=lambda probe: ()) -> list[dict]:
    """Rows of one configuration, the one standing for each seed (:mod:`ganbench.store.standing`), by seed; else one
    line saying what differs.

    Options a probe spells in its metric names (``named_in_metric``: knn's
    ``k``) do not make another configuration: ``k=1`` and ``k=1,5,20`` wrote
    the same ``acc_l2_k1_majority``. A probe's newest version in the selection
    supersedes its older rows (``--a probe_version=V`` picks an older one).
    """
    rows = newest_version(rows, key=lambda row: row.get("probe"))  # two probes stay two configurations
    differing = _differences(rows, named_in_metric)
    if differing:
        shown = "; ".join(f"{name}: {', '.join(v[:40] for v in values[:4])}{' …' if len(values) > 4 else ''}"
                          for name, values in differing[:3])
        raise UsageError(f"selection {side.upper()} matches rows of several configurations ({shown}); narrow it with "
                         f"--{side} {differing[0][0]}=VALUE")
    latest = standing(rows, key=lambda row: row.get("seed"))  # the leaderboard's row of each seed
    return [latest[s] for s in sorted(latest, key=lambda s: (s is None, s))]


def _differences(rows: list[dict], named_in_metric) -> list[tuple[str, list[str]]]:
    """``(selection field, its distinct values)`` of every field that differs between ``rows``, options one by one."""
    out = []
    for name in CONFIGURATION + ("at_epoch",):
        if name in ("model_config", "probe_config", "feature_config", "schedule"):
            prefix = {"model_config": "model", "probe_config": "probe", "feature_config": "feature_config",
                      "schedule": "schedule"}[name]
            ignored = set(named_in_metric(rows[0]["probe"])) if name == "probe_config" else set()
            keys = sorted({k for r in rows for k in (r.get(name) or {})} - ignored)
            for key in keys:
                values = sorted({_canonical((r.get(name) or {}).get(key)) for r in rows})
                if len(values) > 1:
                    out.append((f"{prefix}.{key}", values))
            continue
        values = sorted({_canonical(field_value(r, name)) for r in rows})
        if len(values) > 1:
            out.append((name, values))
    return out


def describe(rows: list[dict]) -> str:
    """``model · view · probe metric, dataset, seeds 0, 1, 2`` of one side."""
    r = rows[0]
    view = f" · {r['feature_view']}" if r.get("feature_view") else ""
    epoch = field_value(r, "at_epoch")
    at = f" at epoch {epoch}" if epoch is not None else ""
    seeds = ", ".join(str(x.get("seed")) for x in rows)
    return f"{r['model']}{at}{view} · {r['probe']} {r['metric']}, {r['dataset']}, seed{'s' if len(rows) > 1 else ''} {seeds}"


def rerun_command(row: dict, store: str) -> str:
    """A ``ganbench run`` that scores ``row`` again, keeping its predictions (the trained model comes from the cache)."""
    parts = ["ganbench run", f"--model {row['model']}", f"--dataset {row['dataset']}", f"--probe {row['probe']}",
             f"--seed {row.get('seed')}"]
    if row.get("feature_view"):
        parts.append(f"--view {row['feature_view']}")
    for key, value in sorted((row.get("model_config") or {}).items()):
        parts.append(f"--model-opt {key}={_option_text(value)}")
    for key, value in sorted((row.get("probe_config") or {}).items()):
        parts.append(f"--probe-opt {key}={_option_text(value)}")
    schedule = row.get("schedule") or {}
    for key, flag in (("epochs", "--epochs"), ("max_steps", "--max-steps"), ("batch_size", "--batch-size")):
        if schedule.get(key) is not None:
            parts.append(f"{flag} {schedule[key]}")
    if field_value(row, "at_epoch") is not None:
        parts.append(f"--at-epoch {field_value(row, 'at_epoch')}")
    if row.get("dataset") != "mnist-5k":  # the embedded default needs no files
        parts.append("--data-root DIR")
    parts.append(f"--results {store}")
    return " ".join(parts)


def _option_text(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(_option_text(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


# -- the tests --------------------------------------------------------------
def mcnemar(a_right: np.ndarray, b_right: np.ndarray) -> Comparison:
    """McNemar's exact test and the Agresti–Min interval for paired 0/1 outcomes of the same examples."""
    from scipy.stats import binomtest, norm

    a_right, b_right = np.asarray(a_right, bool), np.asarray(b_right, bool)
    n = len(a_right)
    only_a = int((a_right & ~b_right).sum())  # A right, B wrong
    only_b = int((~a_right & b_right).sum())  # A wrong, B right
    discordant = only_a + only_b
    p = 1.0 if discordant == 0 else float(binomtest(min(only_a, only_b), discordant, 0.5).pvalue)
    z = float(norm.ppf(0.5 + CONFIDENCE / 2))
    # Agresti & Min (2005): add 1/2 to each of the four cells
    b_, c_, n_ = only_a + 0.5, only_b + 0.5, n + 2.0
    centre = (c_ - b_) / n_
    half = z * math.sqrt(max(b_ + c_ - (c_ - b_) ** 2 / n_, 0.0)) / n_
    return Comparison((only_b - only_a) / n, max(centre - half, -1.0), min(centre + half, 1.0), min(p, 1.0),
                      f"McNemar's exact test on {n:,} paired test examples (A right, B wrong: {only_a}; "
                      f"A wrong, B right: {only_b}); Agresti–Min interval",
                      float(a_right.mean()), float(b_right.mean()), [], [],
                      details={"only_a": only_a, "only_b": only_b, "n": n})


def paired_bootstrap(scores_a: np.ndarray, scores_b: np.ndarray, resamples: int = RESAMPLES, seed: int = 0,
                     paired_seeds: bool = False, chunk: int = 200) -> Comparison:
    """Bootstrap over seeds and test examples of per-example scores ``(seeds, n_test)`` on both sides."""
    scores_a, scores_b = np.atleast_2d(np.asarray(scores_a, float)), np.atleast_2d(np.asarray(scores_b, float))
    n = scores_a.shape[1]
    if scores_b.shape[1] != n:
        raise ValueError("both sides must score the same test examples")
    k_a, k_b = len(scores_a), len(scores_b)
    rng = np.random.default_rng(seed)
    # Drawing n examples with replacement only matters through how often each distinct pattern of scores
    # (over every seed of A and B) is drawn: a multinomial over the patterns, weighted by how many examples
    # share each, is the same resampling and costs patterns instead of examples.
    # Scores averaged over label draws are mostly distinct: then the examples drawn are counted directly.
    patterns, inverse, counts = np.unique(np.concatenate([scores_a, scores_b]).T, axis=0, return_inverse=True,
                                          return_counts=True)
    inverse = inverse.reshape(-1)
    groups = len(patterns)
    diffs = []
    for start in range(0, resamples, chunk):
        m = min(chunk, resamples - start)
        if groups <= 1024:
            drawn = rng.multinomial(n, counts / n, size=m)
        else:
            picked = inverse[rng.integers(0, n, size=(m, n))]
            drawn = np.bincount((np.arange(m)[:, None] * groups + picked).ravel(), minlength=m * groups)
            drawn = drawn.reshape(m, groups)
        weights = drawn / n  # the same examples for A and B: the pairing
        per_seed_a, per_seed_b = weights @ patterns[:, :k_a], weights @ patterns[:, k_a:]  # (m, seeds)
        pick_a = rng.integers(0, k_a, size=(m, k_a))
        pick_b = pick_a if paired_seeds else rng.integers(0, k_b, size=(m, k_b))
        diffs.append(np.take_along_axis(per_seed_b, pick_b, 1).mean(1) - np.take_along_axis(per_seed_a, pick_a, 1).mean(1))
    diffs = np.concatenate(diffs)
    diffs[np.abs(diffs) < 1e-12] = 0.0  # equal scores summed by different BLAS kernels differ in the last bits
    mean_a, mean_b = float(scores_a.mean()), float(scores_b.mean())
    low, high = np.percentile(diffs, [50 * (1 - CONFIDENCE), 50 * (1 + CONFIDENCE)])
    tails = ((1 + (diffs <= 0).sum()) / (resamples + 1), (1 + (diffs >= 0).sum()) / (resamples + 1))
    how = "paired by seed" if paired_seeds else "independently"
    return Comparison(mean_b - mean_a, float(low), float(high), float(min(1.0, 2 * min(tails))),
                      f"paired bootstrap over test examples ({n:,}) and seeds ({k_a} and {k_b}, resampled {how}), "
                      f"{resamples:,} resamples (seed {seed}); percentile interval",
                      mean_a, mean_b, [], [])


def welch(values_a, values_b) -> Comparison:
    """Welch's t-test of two samples of seed figures and the Welch–Satterthwaite interval for B − A."""
    from scipy.stats import t

    a, b = np.asarray(values_a, float), np.asarray(values_b, float)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    diff = float(b.mean() - a.mean())
    se = math.sqrt(va + vb)
    if se == 0:
        p, low, high = (1.0, diff, diff) if diff == 0 else (0.0, diff, diff)
    else:
        df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
        p = float(2 * t.sf(abs(diff) / se, df))
        half = float(t.ppf(0.5 + CONFIDENCE / 2, df)) * se
        low, high = diff - half, diff + half
    return Comparison(diff, low, high, p, f"Welch's t-test over seeds ({len(a)} and {len(b)}); Welch–Satterthwaite "
                      f"interval", float(a.mean()), float(b.mean()), [], [])


# -- two sides of rows ------------------------------------------------------
def _row_identity(row: dict) -> str:
    return _canonical(row)


def _scores(store_dir: Path, row: dict) -> tuple[np.ndarray | None, str, str]:
    """``(per-draw scores (draws, n_test) or None, test set, why not)`` of a row: 1 where it scored the example."""
    reference = row.get("predictions")
    if not reference:
        return None, "", "has no predictions"
    try:
        loaded = preds.load(store_dir, reference)
    except preds.PredictionsError as exc:
        return None, "", str(exc)
    scores = loaded.correct.astype(float)  # accuracy; an error rate is compared as accuracy, then flipped
    figure = float(scores.mean()) if row.get("higher_is_better") is not False else 1.0 - float(scores.mean())
    if not math.isclose(figure, float(row["value"]), abs_tol=1e-6):
        return None, "", f"has predictions that do not give its figure {row['metric']} ({row['value']:.4f})"
    return scores, loaded.test_set, ""


def compare_rows(store_dir, rows_a: list[dict], rows_b: list[dict], resamples: int = RESAMPLES,
                 seed: int = 0, store_label: str | None = None) -> Comparison:
    """B − A of two sides (one configuration each, one row per seed)."""
    store_dir = Path(store_dir)
    seeds_a, seeds_b = [r.get("seed") for r in rows_a], [r.get("seed") for r in rows_b]
    values_a, values_b = [r["value"] for r in rows_a], [r["value"] for r in rows_b]
    if sorted(map(_row_identity, rows_a)) == sorted(map(_row_identity, rows_b)):
        mean = float(np.mean(values_a))
        return Comparison(0.0, 0.0, 0.0, 1.0, "the two selections are the same rows", mean, mean, seeds_a, seeds_b)
    direction = {r.get("higher_is_better") for r in rows_a + rows_b}
    if len(direction) > 1:
        raise UsageError(f"the two selections' metrics ({rows_a[0]['metric']}, {rows_b[0]['metric']}) point in "
                         f"different directions; compare figures of one kind")
    scored = [_scores(store_dir, r) for r in rows_a + rows_b]
    missing = [(row, why) for row, (s, _, why) in zip(rows_a + rows_b, scored) if s is None]
    if not missing:
        test_sets = {t for _, t, _ in scored}
        if len(test_sets) > 1:
            ta = {t for _, t, _ in scored[:len(rows_a)]}
            tb = {t for _, t, _ in scored[len(rows_a):]}
            raise UsageError(f"the rows were scored on different test sets (A: {', '.join(sorted(ta))}; B: "
                             f"{', '.join(sorted(tb))}); compare rows of one dataset and test split")
        result = _from_predictions([s for s, _, _ in scored[:len(rows_a)]], [s for s, _, _ in scored[len(rows_a):]],
                                   seeds_a, seeds_b, resamples, seed)
        if direction == {False}:  # an error rate: 1 - accuracy, so B − A flips sign
            result = _as_error(result)
    elif len(rows_a) >= 2 and len(rows_b) >= 2:
        result = welch(values_a, values_b)
        row, why = missing[0]
        result.note = (f"without per-example predictions ({_short(row)} {why}): over seeds only, which needs a larger "
                       f"difference to be told from noise")
    else:
        row, why = missing[0]
        store = store_label or str(store_dir)
        raise UsageError(f"{_short(row)} {why}, and a test over seeds needs 2 or more seeds on each side (A has "
                         f"{len(rows_a)}, B {len(rows_b)}); re-run it to keep its predictions: {rerun_command(row, store)}")
    result.seeds_a, result.seeds_b = seeds_a, seeds_b
    if len(rows_a) == 1 and len(rows_b) == 1 and not missing:
        result.mean_a, result.mean_b = float(values_a[0]), float(values_b[0])
    return result


def _from_predictions(scores_a, scores_b, seeds_a, seeds_b, resamples, seed) -> Comparison:
    if len(scores_a) == 1 and len(scores_b) == 1 and len(scores_a[0]) == 1 and len(scores_b[0]) == 1:
        return mcnemar(scores_a[0][0] > 0.5, scores_b[0][0] > 0.5)  # one seed, one draw: 0/1 outcomes
    # a seed's per-example score: the mean over its label draws
    per_seed_a = np.stack([s.mean(0) for s in scores_a])
    per_seed_b = np.stack([s.mean(0) for s in scores_b])
    paired = sorted(seeds_a) == sorted(seeds_b) and len(set(seeds_a)) == len(seeds_a)
    if paired:  # the same seed's rows resampled together: align the rows by seed
        per_seed_b = per_seed_b[[seeds_b.index(s) for s in seeds_a]]
    return paired_bootstrap(per_seed_a, per_seed_b, resamples, seed, paired_seeds=paired)


def _as_error(c: Comparison) -> Comparison:
    return Comparison(-c.difference, -c.high, -c.low, c.p, c.method, 1.0 - c.mean_a, 1.0 - c.mean_b, c.seeds_a,
                      c.seeds_b, c.note, c.details)


def _short(row: dict) -> str:
    view = f" · {row['feature_view']}" if row.get("feature_view") else ""
    return f"row {row['model']}{view} · {row['probe']} {row['metric']} seed {row.get('seed')} (run {row.get('run_id')})"


# -- the leaderboard's marks: which cell is best, only among trained GAN rows, and only where a paired test says so
def _score(column, mean: float) -> float:
    """Larger is better."""
    if column.higher_is_better is None:
        return -abs(mean - column.target) if column.target is not None else float("nan")
    return mean if column.higher_is_better else -mean


def _competes(row) -> bool:
    """Rows that may be marked best: trained GANs (``ModelSpec.category`` "gan", as the rows record it) -- not
    baselines, published figures, models trained on labels, nor another kind of model (a VAE, an autoencoder,
    declared "generative") -- probed with the column's own settings (a row labelled with other probe settings,
    ``svm standardize=True``, is a secondary protocol shown for reference)."""
    return (row.section == "model" and not row.trains_on_labels and row.category == "gan"
            and not getattr(row, "probe_settings", ""))


@dataclass
class Marks:
    """What the paired tests say of a leaderboard table: cells as (row index, column key)."""

    best: set = field(default_factory=set)  # beats the runner-up (p < SIGNIFICANCE)
    tied: set = field(default_factory=set)  # the top row and every row the tests do not tell from it
    untested: list = field(default_factory=list)  # columns whose top two rows no test can compare


def best_marks(columns: list, rows: list, store_dir=None, resamples: int = LEADERBOARD_RESAMPLES) -> Marks:
    """The top competing row is best only where a paired test says it beats the runner-up (p < 0.05); where the
    test finds no difference, the top row and every row the tests do not tell from it are tied. Where no test is
    possible between the top two (one seed each without predictions), the column is untested and nothing is marked.

    Computed from the table's rows and columns before the table is built: the table and its renderings hold
    the marks, they never run a test."""
    marks = Marks()
    for column in columns:
        ranked = [(_score(column, row.cells[column.key].mean), index, row.cells[column.key])
                  for index, row in enumerate(rows) if _competes(row) and column.key in row.cells]
        ranked = sorted([item for item in ranked if math.isfinite(item[0])], key=lambda item: -item[0])
        if len(ranked) < 2:
            continue
        (_, top_index, top), (_, runner_index, runner_up) = ranked[0], ranked[1]
        p_runner_up = _p_value(column, top, runner_up, store_dir, resamples)
        if p_runner_up is None:
            marks.untested.append(column.key)
        elif p_runner_up < SIGNIFICANCE:
            marks.best.add((top_index, column.key))
        else:
            marks.tied |= {(top_index, column.key), (runner_index, column.key)}
            for _, index, cell in ranked[2:]:
                p = _p_value(column, top, cell, store_dir, resamples)
                if p is not None and p >= SIGNIFICANCE:
                    marks.tied.add((index, column.key))
    return marks


def _p_value(column, a, b, store_dir, resamples: int) -> float | None:
    """The paired test's p-value for two cells' rows (:func:`ganbench.reports.compare.compare_rows`); None when no
    test is possible (one seed without per-example predictions)."""
    rows_a, rows_b = a.records, b.records
    if column.higher_is_better is None and column.target is not None:  # closeness to the target is what ranks
        def closeness(records):
            return [{**r, "value": -abs(float(r["value"]) - column.target), "higher_is_better": True,
                     "predictions": None} for r in records]
        rows_a, rows_b = closeness(rows_a), closeness(rows_b)
    try:
        return compare_rows(Path(store_dir) if store_dir else Path("/nonexistent"), rows_a, rows_b,
                            resamples=resamples).p
    except UsageError:
        return None
