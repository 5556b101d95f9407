"""Running torchvision's downloaders so that a failure is one line, not a traceback.

torchvision prints a line per failed mirror to stdout and then raises; offline
that is several lines of noise followed by a traceback. :func:`fetch` keeps
its stdout chatter back and turns any network, disk or checksum failure into
one :class:`DataError` that says what could not be fetched, where it was
going and how else to get it. Progress bars (stderr) still show.
"""

from __future__ import annotations

import contextlib
import io
import urllib.error
from pathlib import Path
from typing import Callable

from ganbench.system.errors import DataError


def _reason(exc: BaseException) -> str:
    """The innermost cause of a download failure, on one line."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        inner = exc.__cause__ or exc.__context__
        if not isinstance(inner, (urllib.error.URLError, OSError)):
            break
        exc = inner
    text = getattr(exc, "reason", None) or exc
    return " ".join(str(text).split()) or type(exc).__name__


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders a failed download created, deepest first, as long as they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def fetch(title: str, target: Path, action: Callable[[], object], manual: str) -> None:
    """Run ``action`` (a torchvision download into ``target``); on failure raise one-line DataError."""
    created = [p for p in [target, *target.parents] if not p.exists()]
    try:
        target.mkdir(parents=True, exist_ok=True)
        with contextlib.redirect_stdout(io.StringIO()):
            action()
    except (urllib.error.URLError, OSError, RuntimeError) as exc:
        _remove_empty(created)
        raise DataError(f"Could not download {title} into {target}: {_reason(exc)}. "
                        f"Check the network connection and retry, or {manual}") from None
