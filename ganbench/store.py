"""The JSON-lines result store.

``<results dir>/results.jsonl`` holds one row per line. Appends take a file
lock (``results.jsonl.lock``) and write each batch of rows with one
``write`` on a file opened for appending, then fsync, so concurrent writers
never interleave or tear lines. Reading skips a torn or foreign line with a
warning naming its line number; it is never fatal.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from filelock import FileLock

from .paths import DEFAULT_RESULTS
from .schema import FIELDS, check_row

if TYPE_CHECKING:  # pandas is imported where a frame is built: listing plugins needs none
    import pandas as pd

STORE_NAME = "results.jsonl"


class StoreWarning(UserWarning):
    """A line of the store was skipped."""


def store_path(results_dir: str | os.PathLike) -> Path:
    path = Path(results_dir)
    return path if path.suffix == ".jsonl" else path / STORE_NAME


def _clean(value):
    # JSON has no NaN/Inf; a diverged figure is stored as null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def append_rows(results_dir: str | os.PathLike, rows: Iterable[dict]) -> Path:
    """Append ``rows`` atomically; return the store's path."""
    path = store_path(results_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = "".join(json.dumps(_clean(row), sort_keys=False, default=str) + "\n" for row in rows)
    if not payload:
        return path
    with FileLock(str(path) + ".lock"):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            _repair_torn_tail(fd, path)
            data = payload.encode()
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            os.fsync(fd)
        finally:
            os.close(fd)
    return path


def _repair_torn_tail(fd: int, path: Path) -> None:
    # A writer killed mid-line leaves no newline at the end; start on a fresh
    # line so the torn line stays one (reported) line and ours stay whole.
    size = os.fstat(fd).st_size
    if size == 0:
        return
    with open(path, "rb") as f:
        f.seek(size - 1)
        if f.read(1) != b"\n":
            os.write(fd, b"\n")


def read_rows(results_dir: str | os.PathLike, warn: bool = True) -> list[dict]:
    """Every valid row; torn or foreign lines are reported and skipped."""
    path = store_path(results_dir)
    if not path.exists():
        return []
    rows = []
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
                problem = check_row(row)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                problem = f"not valid JSON ({exc.__class__.__name__})"
            if problem:
                if warn:
                    warnings.warn(f"{path}:{number}: skipped a torn or foreign line: {problem}", StoreWarning, stacklevel=2)
                continue
            rows.append(row)
    return rows


def load_results(results_dir: str | os.PathLike = DEFAULT_RESULTS, warn: bool = True) -> pd.DataFrame:
    """The store as a DataFrame, one row per metric, columns in schema order."""
    rows = read_rows(results_dir, warn=warn)
    columns = list(FIELDS)
    import pandas as pd

    frame = pd.DataFrame(rows)
    for col in columns:
        if col not in frame:
            frame[col] = None
    extra = [c for c in frame.columns if c not in FIELDS]
    return frame[columns + extra]
