"""Which row stands for a (configuration, seed): the one rule every reader of figures uses.

A store may hold several rows of one configuration and seed: a request run
again, a side file appended after a full disk (``cat SIDE >> results.jsonl``),
two stores concatenated. The row that stands for them is the one with the
newest ``created_at``; rows with equal times (or none) are ordered by their
line in the store, the later line standing. A row without a readable
``created_at`` counts as older than any row with one.

The leaderboard (:mod:`ganbench.reports.leaderboard`), ``ganbench compare``
(:mod:`ganbench.reports.compare`), ``reproduce``'s table
(:mod:`ganbench.recipes.report`) and ``benchmarks/learning_curves.py`` all take
their figures through :func:`standing`, so a seed is never one figure in one
of them and another in the next.

A probe's newer version measures differently (its figures do not compare
with the old), so its rows supersede the older version's rows of the same
thing: :func:`newest_version` keeps, per key, only the rows of the newest
``probe_version`` -- the leaderboard per model, view and training of a
table, ``compare`` per selection.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Hashable, Iterable, TypeVar

K = TypeVar("K", bound=Hashable)


def created(row: dict) -> datetime | None:
    """The row's ``created_at`` as an aware UTC time (a time without a zone is read as UTC); None when absent or
    unreadable."""
    text = row.get("created_at")
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def order(row: dict, line: int) -> tuple:
    """The sort key of the rule: rows with a time after those without, then by time, then by line."""
    moment = created(row)
    return (moment is not None, moment or datetime.min.replace(tzinfo=timezone.utc), line)


def standing(rows: Iterable[dict], key: Callable[[dict], K]) -> dict[K, dict]:
    """``key -> the row standing for it`` among ``rows``, given in store order (the order
    :func:`ganbench.store.jsonl.read_rows` returns), by the rule of this module. The keys come in the order of
    their first row."""
    best: dict[K, tuple[tuple, dict]] = {}
    for line, row in enumerate(rows):
        k = key(row)
        rank = order(row, line)
        if k not in best or rank > best[k][0]:
            best[k] = (rank, row)
    return {k: row for k, (_, row) in best.items()}


def version_order(version) -> tuple:
    """A sortable form of a probe version: numeric parts compare as numbers ("10" > "9")."""
    parts = str(version).replace("-", ".").split(".")
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def newest_version(rows: Iterable[dict], key: Callable[[dict], K] = lambda row: None) -> list[dict]:
    """``rows`` (in their order) without those of a probe version older than the newest among the rows of the
    same ``key`` (by default: all of them)."""
    rows = list(rows)
    newest: dict[K, tuple] = {}
    for row in rows:
        k, v = key(row), version_order(row.get("probe_version"))
        if k not in newest or v > newest[k]:
            newest[k] = v
    return [row for row in rows if version_order(row.get("probe_version")) == newest[key(row)]]
