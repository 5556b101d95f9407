"""Checking a store: every figure against its predictions, every file against its digest, every row against its key.

:func:`verify` reads a store and, for each row:

- with a predictions file: the file matches the sha256 its row records, and the value is what the predictions
  say -- the mean over label draws of each draw's accuracy on the test labels (one minus that for an error
  rate, a metric where lower is better), and the standard error over draws where there are several;
- of schema 3 or later: its ``job_key`` is the key its own fields give (:func:`ganbench.store.keys.row_key`);
- where the dataset can be opened here (``data_roots``): the test set the predictions were made on is this
  data's, and the labels in the file are its test labels.

Nothing is written. A row without predictions is counted, not judged: its figure cannot be recomputed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ganbench.store import predictions as preds
from ganbench.store.jsonl import read_rows, store_path
from ganbench.store.keys import row_key

TOLERANCE = 1e-9  # the stored figure is the same float computation; only summation order may differ


@dataclass
class Mismatch:
    line: int  # the row's position among the store's rows, from 1
    row: dict
    problem: str

    def describe(self) -> str:
        r = self.row
        what = " ".join(str(x) for x in (r.get("model"), r.get("feature_view") or "", r.get("probe"), r.get("metric"),
                                         f"seed {r.get('seed')}", r.get("dataset")) if x != "")
        return f"row {self.line} ({what}, run {r.get('run_id')}): {self.problem}"


@dataclass
class Report:
    rows: int = 0
    verified: int = 0  # rows whose figure was recomputed from predictions and agrees
    without_predictions: int = 0
    test_sets_checked: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{self.rows} rows, {self.verified} verified, {self.without_predictions} without predictions, "
                f"{len(self.mismatches)} mismatch{'es' if len(self.mismatches) != 1 else ''}"
                + (f"; test sets checked against the data for {self.test_sets_checked} rows" if self.test_sets_checked else ""))


def expected_figures(loaded: preds.Loaded, higher_is_better) -> tuple[float, float | None]:
    """The value and standard error a row's predictions give (see the module docstring)."""
    per_draw = loaded.correct.mean(axis=1)
    accuracy = float(per_draw.mean())
    value = accuracy if higher_is_better is not False else 1.0 - accuracy
    draws = len(per_draw)
    stderr = float(per_draw.std(ddof=1) / math.sqrt(draws)) if draws > 1 else None
    return value, stderr


def _close(a, b) -> bool:
    return a is not None and b is not None and abs(float(a) - float(b)) <= TOLERANCE


def check_row(store_dir: Path, row: dict, test_sets: dict) -> str | None:
    """What is wrong with one row, or ``None``. ``test_sets`` maps a dataset name to its test set
    ``(fingerprint, labels)`` where the data was opened here."""
    version = row.get("schema_version")
    if isinstance(version, int) and version >= 3 and row.get("job_key") != row_key(row):
        return f"its job_key {row.get('job_key')} is not the key of its fields ({row_key(row)})"
    reference = row.get("predictions")
    if not reference or row.get("status") != "ok":
        return None
    try:
        loaded = preds.load(store_dir, reference)
    except preds.PredictionsError as exc:
        return str(exc)
    value, stderr = expected_figures(loaded, row.get("higher_is_better"))
    if not _close(row.get("value"), value):
        return f"value {row.get('value')!r}, but its predictions give {value!r}"
    if stderr is not None and row.get("stderr") is not None and not _close(row["stderr"], stderr):
        return f"stderr {row['stderr']!r}, but its {len(loaded.predicted)} draws give {stderr!r}"
    if reference.get("test_set") != loaded.test_set:
        return f"the row names test set {reference.get('test_set')}, its file {loaded.test_set}"
    data = test_sets.get(row.get("dataset"))
    if data is not None and row.get("dataset_fingerprint") == data[0]:
        fingerprint, labels, test_set = data
        if loaded.test_set != test_set:
            return f"its predictions were made on test set {loaded.test_set}, the data here has {test_set}"
        if not np.array_equal(loaded.labels.astype(np.int64), labels):
            return "the test labels in its predictions file are not this data's"
    return None


def verify(results_dir, open_test_set: Callable[[str], tuple | None] | None = None) -> Report:
    """Check every row of the store at ``results_dir`` (see the module docstring).

    ``open_test_set(dataset_name)`` returns ``(dataset fingerprint, test labels, test-set fingerprint)`` of
    the data found here, or ``None``; without it, no row is checked against data.
    """
    store_dir = store_path(results_dir).parent
    rows = read_rows(results_dir, warn=False)
    report = Report(rows=len(rows))
    test_sets: dict = {}
    if open_test_set is not None:
        for name in sorted({r.get("dataset") for r in rows if r.get("predictions") and r.get("status") == "ok"}):
            found = open_test_set(name)
            if found is not None:
                test_sets[name] = found
    for line, row in enumerate(rows, 1):
        problem = check_row(store_dir, row, test_sets)
        if problem is not None:
            report.mismatches.append(Mismatch(line, row, problem))
            continue
        if row.get("predictions") and row.get("status") == "ok":
            report.verified += 1
            data = test_sets.get(row.get("dataset"))
            report.test_sets_checked += int(data is not None and row.get("dataset_fingerprint") == data[0])
        elif row.get("status") == "ok":
            report.without_predictions += 1
    return report
