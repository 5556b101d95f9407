"""The JSON-lines result store.

``<results dir>/results.jsonl`` holds one row per line. Appends take a file
lock (``results.jsonl.lock``) and write each batch of rows with one
``write`` on a file opened for appending, then fsync, so concurrent writers
never interleave or tear lines. An append that fails leaves the store as it
was and keeps the rows in a side file. Reading skips a torn, foreign or
mistyped line with a warning naming its line number; it is never fatal.
"""

from __future__ import annotations

import errno
import json
import math
import os
import stat
import sys
import tempfile
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Iterable

import numpy as np
from filelock import FileLock

from ganbench.system.errors import UsageError
from ganbench.system.paths import DEFAULT_RESULTS, check_writable
from ganbench.store.predictions import write_pending
from ganbench.store.schema import FIELDS, KNOWN_VERSIONS, SCHEMA_VERSION, NewerSchema, parse_line as _parse_line

if TYPE_CHECKING:  # pandas is imported where a frame is built: listing plugins needs none
    import pandas as pd

STORE_NAME = "results.jsonl"


class StoreWarning(UserWarning):
    """A line of the store was skipped."""


def store_path(results_dir: str | os.PathLike) -> Path:
    path = Path(results_dir).expanduser()  # as the checks before work expand it: '~/x' is never ./~/x
    return path if path.suffix == ".jsonl" else path / STORE_NAME


class StoreWriteError(UsageError):
    """Rows could not be appended; the store is unchanged and the rows are in a side file."""

    def __init__(self, message: str, side_file: Path | None):
        super().__init__(message)
        self.side_file = side_file


def _jsonable(value):
    """``value`` as plain JSON types: numpy scalars and arrays unwrapped, non-finite floats as null.

    Whatever JSON cannot hold otherwise is written as its ``str``: a row is
    never refused for a detail.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/Inf
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    return str(value)


def _finite_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _safe_row(row: dict) -> dict:
    """The row as it will be stored; an ``ok`` row whose value is not a finite number becomes ``failed``.

    The runner validates every metric before this; this is the last line of
    defence, so that no caller can store a figure that is not a number as ok.
    """
    if isinstance(row.get("value"), np.generic):
        row = {**row, "value": row["value"].item()}
    if row.get("status") == "ok" and not _finite_number(row.get("value")):
        original = row.get("value")
        row = {**row, "status": "failed", "value": None,
               "error": f"the value {str(original)[:60]!r} is not a finite number; not stored as ok"}
    return _jsonable(row)


def append_rows(results_dir: str | os.PathLike, rows: Iterable[dict]) -> Path:
    """Append ``rows`` atomically; return the store's path.

    When the append fails (a full disk, an I/O error, no permission) the
    store is cut back to the length it had, the rows are written to a side
    file, and :class:`StoreWriteError` names that file.
    """
    path = store_path(results_dir)
    rows = write_pending(path.parent, list(rows), _warn_stderr)
    rows = [_safe_row(row) for row in rows]
    payload = "".join(json.dumps(row, allow_nan=False) + "\n" for row in rows)
    if not payload:
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(_lock_path(path))):
            _append_locked(path, payload.encode())
    except OSError as exc:
        side = _save_aside(path, payload)
        reason = exc.strerror or str(exc)
        where = f"saved to {side}" if side else "could not be saved anywhere either"
        tail = f"; once fixed, add them with: cat {side} >> {path}" if side else ""
        raise StoreWriteError(f"Could not append {len(rows)} row(s) to {path} ({reason}); the store is unchanged and "
                              f"the rows were {where}{tail}", side) from exc
    return path


def _warn_stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def check_store_writable(results_dir: str | os.PathLike, flag: str = "--results") -> None:
    """UsageError (one line) unless rows can be appended to the store, checked before any work starts:
    the store file and its lock file can be written, and an existing store is a regular file."""
    path = store_path(results_dir)
    check_writable(path, "result store", flag, is_folder=False)
    if path.exists():
        require_regular_file(path)
        refuse_newer_schema(path, flag)
    check_writable(_lock_path(path), "result store's lock file", flag, is_folder=False)


def newer_versions(path: Path) -> dict[int, int]:
    """``{schema_version: rows}`` of the store's rows written by a newer ganbench (none: an empty dict)."""
    found: dict[int, int] = {}
    try:
        with open(path, "rb") as f:
            for raw in bounded_lines(f):
                if raw is TOO_LONG or b"schema_version" not in raw:
                    continue
                problem = _parse_line(raw)[1]
                if isinstance(problem, NewerSchema):
                    found[problem.version] = found.get(problem.version, 0) + 1
    except OSError:
        return found
    return found


def refuse_newer_schema(path: Path, flag: str = "--results") -> None:
    """UsageError (one line) when the store holds rows of a newer schema version: this ganbench would not see
    them (it would run their requests again) and would mix its older rows among them."""
    newer = newer_versions(path)
    if newer:
        versions = ", ".join(str(v) for v in sorted(newer))
        raise UsageError(f"{flag} {path}: holds {sum(newer.values()):,} row(s) of schema_version {versions}, written "
                         f"by a newer ganbench (this one writes schema_version {SCHEMA_VERSION}); nothing is appended "
                         f"to it. Upgrade ganbench (pip install -U ganbench), or pass another {flag}.")


def _lock_path(path: Path) -> Path:
    return Path(str(path) + ".lock")


def _append_locked(path: Path, data: bytes) -> None:
    # O_NONBLOCK: opening a FIFO with no reader fails at once instead of waiting forever
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK, 0o644)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file")
    size = os.fstat(fd).st_size
    try:
        _repair_torn_tail(fd, path, size)
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        os.fsync(fd)
    except OSError:
        try:  # leave the store as it was: no torn line of ours at its end
            os.ftruncate(fd, size)
            os.fsync(fd)
        except OSError:
            pass
        raise
    finally:
        os.close(fd)


def _save_aside(path: Path, payload: str) -> Path | None:
    """Write rows that could not be appended next to the store, else in the temp dir; the file's path."""
    stamp = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{os.getpid()}"
    for folder in (path.parent, Path(tempfile.gettempdir())):
        name = None
        try:
            fd, name = tempfile.mkstemp(prefix=f"{path.stem}.unsaved-{stamp}-", suffix=".jsonl", dir=folder)
            with os.fdopen(fd, "w") as f:
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
            return Path(name)
        except OSError:
            if name is not None:  # no empty or partial decoy of the rows is left behind
                try:
                    os.unlink(name)
                except OSError:
                    pass
            continue
    return None


def _repair_torn_tail(fd: int, path: Path, size: int) -> None:
    # A writer killed mid-line leaves no newline at the end; start on a fresh
    # line so the torn line stays one (reported) line and ours stay whole.
    if size == 0:
        return
    with open(path, "rb") as f:
        f.seek(size - 1)
        if f.read(1) != b"\n":
            os.write(fd, b"\n")


def read_rows(results_dir: str | os.PathLike, warn: bool = True) -> list[dict]:
    """Every valid row; torn, foreign or mistyped lines are reported with their number and skipped.

    Reading never fails on a line's content: anything that is not a row of
    a known schema version, with the declared field types, is skipped.
    """
    path = store_path(results_dir)
    if not path.exists():
        return []
    rows = []
    newer: dict[int, int] = {}
    try:
        require_regular_file(path)
        with open(path, "rb") as f:
            for number, raw in enumerate(bounded_lines(f), start=1):
                if not raw.strip():
                    continue
                row, problem = _parse_line(raw) if raw is not TOO_LONG else (None, _too_long())
                if isinstance(problem, NewerSchema):  # said once below, not line by line
                    newer[problem.version] = newer.get(problem.version, 0) + 1
                    continue
                if problem:
                    if warn:
                        warnings.warn(f"{path}:{number}: skipped a torn or foreign line: {problem}", StoreWarning, stacklevel=2)
                    continue
                rows.append(row)
    except OSError as exc:
        raise UsageError(f"Cannot read the result store {path}: {exc.strerror or exc}. Pass the folder of a readable "
                         f"store (or a .jsonl file).") from None
    if newer and warn:
        versions = ", ".join(str(v) for v in sorted(newer))
        warnings.warn(f"{path}: {sum(newer.values()):,} row(s) of schema_version {versions} were written by a newer "
                      f"ganbench and are not shown (this one reads schema_version {min(KNOWN_VERSIONS)} to "
                      f"{SCHEMA_VERSION}); nothing will be appended to this store. Upgrade ganbench to see them.",
                      StoreWarning, stacklevel=2)
    return rows


MAX_LINE_BYTES = 8 << 20  # a row is a few kB; a longer line is no row, and reading it whole could exhaust memory
TOO_LONG = b"\0"  # the marker bounded_lines yields for a line over MAX_LINE_BYTES (a real line ends in a newline)


def bounded_lines(f: BinaryIO):
    """The lines of ``f``, never holding more than :data:`MAX_LINE_BYTES` of one in memory.

    A longer line is read past in chunks and yielded as :data:`TOO_LONG`, so it still counts as one line.
    """
    while True:
        line = f.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while True:
                rest = f.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield TOO_LONG
            continue
        yield line


def _too_long() -> str:
    return f"longer than {MAX_LINE_BYTES:,} bytes, the most a row may take"


def require_regular_file(path: Path) -> None:
    """UsageError (one line) unless ``path``, links followed, is a regular file: a store is never a device,
    a FIFO (reading one waits forever) or a folder."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
                else "no regular file")
        raise UsageError(f"Cannot read the result store {path}: it is {kind}, not a regular file; a store is a "
                         f"regular file of JSON lines. Pass another folder (or .jsonl file).")


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
