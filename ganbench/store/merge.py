"""Putting stores together: rows and their predictions copied into another store, nothing overwritten.

:func:`plan_merge` decides, row by row of the source stores, against the destination's rows:

- **add**: a row the destination does not hold;
- **skip**: the same row is there already -- the same answer to the same request (request key, view, metric)
  with the same status and value (for ``ok`` rows), or the same failure; a row that brings the predictions
  of a figure the destination holds without them is added (the newer row stands, and can be compared);
- **conflict**: the destination holds an ``ok`` row of the same request, view and metric with another value.
  The destination keeps its own; the source's row is written apart, to ``merge-conflicts/<time>.jsonl`` beside
  the store (with its predictions), where nothing reads it as a result;
  With ``newer_stands`` (a request run again, on weights trained again), a source row made later than the
  destination's (``created_at``) is added instead: it stands, as if the run had written into the destination,
  and the destination's row stays in the file;
- **refuse**: rows of a dataset whose test set is not one the destination's rows of that dataset were scored
  on (another copy of the data), unless ``allow_new_data``; and rows whose predictions file is missing or
  damaged. A refused row is named, never copied.

:func:`apply_merge` is atomic: the predictions files are copied first (named by their content, they change
nothing until a row names them), then the destination's ``results.jsonl`` is replaced in one rename, under
the store's lock. A merge cut off at any point leaves the destination as it was, or complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock

from ganbench.store import predictions as preds
from ganbench.store.jsonl import _lock_path, read_rows, store_path
from ganbench.store.keys import row_key
from ganbench.store.standing import created
from ganbench.system.errors import UsageError

CONFLICTS = "merge-conflicts"


def answer(row: dict) -> tuple:
    """What a row answers: its request, view and metric."""
    return row_key(row), row.get("feature_view"), row.get("metric")


def test_set(row: dict) -> tuple[str, str] | None:
    """What a row was scored on: ``("test", fingerprint)`` of its test images and labels where its predictions
    say, else ``("data", fingerprint)`` of the whole dataset (a row without predictions knows no more)."""
    reference = row.get("predictions")
    if isinstance(reference, dict) and reference.get("test_set"):
        return "test", str(reference["test_set"])
    return ("data", str(row["dataset_fingerprint"])) if row.get("dataset_fingerprint") else None


@dataclass
class Planned:
    add: list[tuple[Path, dict]] = field(default_factory=list)  # (source store folder, row)
    skip: int = 0
    conflicts: list[tuple[Path, dict, dict]] = field(default_factory=list)  # (source folder, row, the destination's)
    refused: list[str] = field(default_factory=list)  # one line each

    def summary(self) -> str:
        return (f"{len(self.add)} row(s) to add, {self.skip} already there, {len(self.conflicts)} conflict(s), "
                f"{len(self.refused)} refused")


def _test_sets_by_dataset(rows: list[dict]) -> dict[tuple, set]:
    """(dataset, kind of fingerprint) -> the fingerprints of that kind among ``rows``."""
    sets: dict[tuple, set] = {}
    for r in rows:
        _record(sets, r)
    return sets


def _record(sets: dict, row: dict) -> None:
    if row.get("status") != "ok":
        return
    if test_set(row) and test_set(row)[0] == "test":
        sets.setdefault((row.get("dataset"), "test"), set()).add(test_set(row)[1])
    if row.get("dataset_fingerprint"):
        sets.setdefault((row.get("dataset"), "data"), set()).add(str(row["dataset_fingerprint"]))


def _another_copy(row: dict, known: dict) -> tuple | None:
    """``(kind, fingerprint, known ones)`` when ``row`` was scored on data the destination's rows of its dataset
    were not (compared like with like: test sets where both know them, else whole datasets)."""
    scored = test_set(row)
    if row.get("status") != "ok" or scored is None:
        return None
    kind, fingerprint = scored
    theirs = known.get((row.get("dataset"), kind))
    if theirs and fingerprint not in theirs:
        return kind, fingerprint, theirs
    return None


def plan_merge(sources: list, destination, allow_new_data: bool = False, newer_stands: bool = False) -> Planned:
    """What merging ``sources`` into ``destination`` would do (see the module docstring); nothing is written."""
    dest_dir = store_path(destination).parent
    dest_rows = read_rows(destination, warn=False) if store_path(destination).exists() else []
    planned = Planned()
    known_sets = _test_sets_by_dataset(dest_rows)
    ok_values = {answer(r): r for r in dest_rows if r.get("status") == "ok"}
    seen = Counter(json.dumps(_comparable(r), sort_keys=True, default=str) for r in dest_rows)
    refused_sets: set = set()
    for source in sources:
        src_dir = store_path(source).parent
        if src_dir.resolve() == dest_dir.resolve():
            raise UsageError(f"{source}: a store cannot be merged into itself; give another --into.")
        if not store_path(source).is_file():
            raise UsageError(f"{source}: no result store there (expected {store_path(source)}).")
        for row in read_rows(source, warn=False):
            dataset, other = row.get("dataset"), None if allow_new_data else _another_copy(row, known_sets)
            if other is not None:
                kind, fingerprint, theirs = other
                if (dataset, fingerprint) not in refused_sets:
                    refused_sets.add((dataset, fingerprint))
                    what = "test set" if kind == "test" else "data"
                    planned.refused.append(
                        f"{source}: rows of '{dataset}' scored on {what} {fingerprint}, but {destination}'s rows of "
                        f"'{dataset}' were scored on {', '.join(sorted(theirs))}: another copy of the data; pass "
                        f"--allow-new-data to keep both (the leaderboard shows each copy apart)")
                continue
            comparable = json.dumps(_comparable(row), sort_keys=True, default=str)
            if seen[comparable]:
                planned.skip += 1
                continue
            problem = _predictions_problem(src_dir, row)
            if problem:
                planned.refused.append(f"{source}: {row.get('model')} {row.get('probe')} {row.get('metric')} "
                                       f"seed {row.get('seed')}: {problem}")
                continue
            theirs = ok_values.get(answer(row)) if row.get("status") == "ok" else None
            if theirs is not None and theirs.get("value") == row.get("value") and (theirs.get("predictions")
                                                                                   or not row.get("predictions")):
                planned.skip += 1  # the same figure, from another run of the same request
            elif theirs is not None and theirs.get("value") != row.get("value") and not (
                    newer_stands and _made_later(row, theirs)):
                planned.conflicts.append((src_dir, row, theirs))
            else:
                planned.add.append((src_dir, row))
                seen[comparable] += 1
                if row.get("status") == "ok":
                    ok_values[answer(row)] = row
                    _record(known_sets, row)
    return planned


def _made_later(row: dict, theirs: dict) -> bool:
    """``row`` was made after ``theirs`` (both with a readable ``created_at``)."""
    mine, other = created(row), created(theirs)
    return mine is not None and other is not None and mine > other


def _comparable(row: dict) -> dict:
    """A row as it answers: what was asked and what came out, without when and where it ran."""
    return {"key": row_key(row), "view": row.get("feature_view"), "metric": row.get("metric"),
            "status": row.get("status"), "value": row.get("value"), "error": row.get("error"),
            "predictions": bool(row.get("predictions"))}


def _predictions_problem(src_dir: Path, row: dict) -> str | None:
    if not row.get("predictions") or row.get("status") != "ok":
        return None
    try:
        preds.load(src_dir, row["predictions"])
    except preds.PredictionsError as exc:
        return str(exc)
    return None


def _copy_predictions(src_dir: Path, dest_dir: Path, row: dict) -> None:
    """Copy the file a row names (content-addressed: a file of that name already there is the same bytes,
    which its digest confirms)."""
    reference = row.get("predictions")
    if not isinstance(reference, dict) or not reference.get("file"):
        return
    target = dest_dir / reference["file"]
    if target.is_file():
        preds.load(dest_dir, reference)  # raises if the file there is not the row's
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        shutil.copyfile(src_dir / reference["file"], tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_lines(path: Path, lines: list[str]) -> None:
    """``path`` with ``lines``, replaced in one rename after an fsync: readers see the old file or the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(lines)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def apply_merge(planned: Planned, destination) -> Path | None:
    """Write ``planned`` into ``destination`` (see the module docstring); the conflicts file, if any."""
    target = store_path(destination)
    dest_dir = target.parent
    dest_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(_lock_path(target))):
        for src_dir, row in planned.add:
            _copy_predictions(src_dir, dest_dir, row)
        conflicts_file = None
        if planned.conflicts:
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            conflicts_file = dest_dir / CONFLICTS / f"{stamp}-{os.getpid()}.jsonl"
            for src_dir, row, _ in planned.conflicts:
                _copy_predictions(src_dir, dest_dir, row)
            _write_lines(conflicts_file, [json.dumps(row, default=str) + "\n" for _, row, _ in planned.conflicts])
        if planned.add:
            existing = target.read_bytes().decode("utf-8", errors="replace") if target.exists() else ""
            if existing and not existing.endswith("\n"):
                existing += "\n"  # a torn last line stays torn, on its own line (the reader reports it)
            _write_lines(target, [existing] + [json.dumps(row, default=str) + "\n" for _, row in planned.add])
    return conflicts_file
