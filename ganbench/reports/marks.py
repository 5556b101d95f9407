"""Which leaderboard cell is best: only among trained GAN rows, and only where a paired test says so.

:func:`mark_best` is called by :func:`ganbench.reports.leaderboard.build_tables` on each table's columns and rows.
"""

from __future__ import annotations

import math

from ganbench.reports.leaderboard_table import RESAMPLES, SIGNIFICANCE, Cell, Column, Row


def _score(column: Column, mean: float) -> float:
    """Larger is better."""
    if column.higher_is_better is None:
        return -abs(mean - column.target) if column.target is not None else float("nan")
    return mean if column.higher_is_better else -mean


def _competes(row: Row) -> bool:
    """Rows that may be marked best: trained GANs -- not baselines, published figures, models trained on labels,
    nor a trained model without a generator (a k-means or other feature baseline that fits)."""
    return row.section == "model" and not row.trains_on_labels and _has_generator(row.model)


def _has_generator(model: str) -> bool:
    """Whether the installed model declares a generator; a model that is not installed is given the benefit."""
    from ganbench.system.errors import RegistryError
    from ganbench.plugins import get_registry

    try:
        return "generator" in get_registry().get("model", model).capabilities
    except (RegistryError, KeyError):
        return True


def mark_best(columns: list[Column], rows: list[Row], store_dir=None, resamples: int = RESAMPLES) -> list[Column]:
    """Bold the top competing row only where a paired test says it beats the runner-up (p < 0.05); where the
    test finds no difference, mark the top row and every row the tests do not tell from it as tied. Returns the
    columns where no test was possible between the top two (one seed each without predictions): nothing marked."""
    untested = []
    for column in columns:
        ranked = [(_score(column, row.cells[column.key].mean), row.cells[column.key]) for row in rows
                  if _competes(row) and column.key in row.cells]
        ranked = sorted([(s, c) for s, c in ranked if math.isfinite(s)], key=lambda sc: -sc[0])
        if len(ranked) < 2:
            continue
        top, runner_up = ranked[0][1], ranked[1][1]
        p_runner_up = _p_value(column, top, runner_up, store_dir, resamples)
        if p_runner_up is None:
            untested.append(column)
        elif p_runner_up < SIGNIFICANCE:
            top.best = True
        else:
            top.tied = runner_up.tied = True
            for _, cell in ranked[2:]:
                p = _p_value(column, top, cell, store_dir, resamples)
                cell.tied = p is not None and p >= SIGNIFICANCE
    return untested


def _p_value(column: Column, a: Cell, b: Cell, store_dir, resamples: int) -> float | None:
    """The paired test's p-value for two cells' rows (:func:`ganbench.reports.compare.compare_rows`); None when no
    test is possible (one seed without per-example predictions)."""
    from pathlib import Path

    from ganbench.reports.compare import compare_rows
    from ganbench.system.errors import UsageError

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
