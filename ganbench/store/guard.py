"""Where a command's ``--output`` may write: never over result rows, never into a store's folder.

Every ``--output`` option (``leaderboard``, ``dedup``, ``show``) is checked
by :func:`output_option` before any work starts, and files are written by
:func:`write_text_atomically`, so a refused or failed write leaves whatever
was there byte-identical.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ganbench.system.errors import UsageError
from ganbench.system.paths import check_writable
from ganbench.store.schema import parse_line

STORE_NAME = "results.jsonl"  # ganbench.store.jsonl's name for a store file; not imported here so that no numpy loads


def check_output(path: str | os.PathLike, flag: str = "--output", what: str = "output") -> Path:
    """``path`` with ``~`` expanded, after checking that writing ``what`` there loses no result row.

    Refused in one line (:class:`UsageError`): a store file (named ``results.jsonl``, or any file
    holding a valid row), a file in a folder holding ``results.jsonl``, and a path that cannot be
    created or written.
    """
    path = Path(path).expanduser()
    check_writable(path, what, flag, is_folder=False)
    target = path.resolve()  # a link to a store is the store
    fix = f"Pass another {flag}, outside any result store's folder."
    if target.name == STORE_NAME or target.name == STORE_NAME + ".lock":
        raise UsageError(f"{flag} {path}: is a result store's file; writing the {what} there would replace the "
                         f"store. {fix}")
    if (target.parent / STORE_NAME).exists():
        raise UsageError(f"{flag} {path}: is inside the result store folder {target.parent}; no command writes "
                         f"into a store's folder. {fix}")
    if target.is_file() and holds_rows(target):
        raise UsageError(f"{flag} {path}: holds result rows; writing the {what} there would replace them. {fix}")
    return path


def holds_rows(path: Path, max_bytes: int = 4 << 20) -> bool:
    """Whether one of the first lines of ``path`` (at most ``max_bytes`` read) is a valid result row."""
    try:
        with open(path, "rb") as f:
            head = f.read(max_bytes)
    except OSError:
        return False
    return any(line.strip() and parse_line(line)[1] is None for line in head.splitlines())


def output_option(what: str):
    """A click callback for an ``--output`` option: the checked path (``~`` expanded), or None."""
    def callback(ctx, param, value):
        if value is None:
            return None
        return check_output(value, "--" + param.name.replace("_", "-"), what)
    return callback


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in its folder (created if missing).

    A path that exists and is no regular file (``/dev/stdout``, a pipe) is written in place.
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
