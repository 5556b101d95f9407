"""Telling a full disk apart from other write failures, so that it is reported in one line that says so."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from ganbench.system.errors import DiskFullError

NO_SPACE = {errno.ENOSPC, errno.EDQUOT}
NEARLY_FULL = 64 << 20  # bytes free under which a write failure torch does not explain is taken for a full disk
# what torch.save's zip writer says when a write fails (it wraps the OSError in a RuntimeError)
TORCH_WRITE_FAILURES = ("file write failed", "unexpected pos")


def free_bytes(path: Path) -> int | None:
    """Bytes free on the file system holding ``path`` (its nearest existing ancestor), or None if unknown."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def disk_full(exc: BaseException, path: Path, fix: str) -> DiskFullError | None:
    """A :class:`DiskFullError` naming ``path`` when ``exc`` is a write that failed for want of space, else None.

    ``fix`` says how to go on (which option moves the files elsewhere, what resumes).
    """
    if isinstance(exc, DiskFullError):
        return exc
    if isinstance(exc, OSError) and exc.errno in NO_SPACE:
        reason = exc.strerror or "No space left on device"
    elif isinstance(exc, RuntimeError) and any(s in str(exc) for s in TORCH_WRITE_FAILURES):
        free = free_bytes(Path(path).parent)
        if free is None or free >= NEARLY_FULL:
            return None
        reason = f"No space left on device: {free:,} bytes free"
    else:
        return None
    return DiskFullError(f"The disk holding {Path(path).parent} is full ({reason}; ENOSPC) while writing "
                         f"{Path(path).name}. {fix}")
