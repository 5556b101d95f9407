"""Default folders: the cache (trained models, features) and the result store.

A user's runs append to :data:`DEFAULT_RESULTS` (``./ganbench-results/``),
which the repository's ``.gitignore`` ignores, so running the README's
commands in a clone leaves ``git status`` clean. The committed reference
rows live in :data:`REFERENCE_RESULTS` and are only written on purpose
(``--results results/reference``).
"""

from __future__ import annotations

import os
from pathlib import Path

from ganbench.system.errors import UsageError

DEFAULT_RESULTS = "ganbench-results"
NAME_MAX = 255  # bytes in one path component: ext4, xfs, btrfs, APFS, NTFS (in UTF-16 units)
PATH_MAX = 4096
REFERENCE_RESULTS = "results/reference"


def default_cache_dir() -> Path:
    """``$GANBENCH_CACHE``, else ``$XDG_CACHE_HOME/ganbench``, else ``~/.cache/ganbench``."""
    if os.environ.get("GANBENCH_CACHE"):
        return Path(os.environ["GANBENCH_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ganbench"


def dedup_path(cache_dir: Path, dataset: str, fingerprint: str) -> Path:
    """Where ``ganbench dedup`` writes, and ``ganbench run --dedup`` reads, a dataset's duplicate list."""
    safe = dataset.replace("/", "_").replace(":", "_")
    return Path(cache_dir) / "dedup" / f"{safe}-{fingerprint}.json"


def check_writable(path: Path | str, what: str, flag: str, is_folder: bool) -> None:
    """UsageError (one line) unless ``path`` can be created or written, checked before any work starts.

    ``path`` is a folder (``is_folder``) or a file; what does not exist yet must be creatable
    under its nearest existing ancestor, which must be a writable folder.
    """
    path = Path(path).expanduser()
    fix = f"Pass another {flag}, or fix the permissions."
    _check_name_lengths(path, flag)
    if path.exists():
        if is_folder and not path.is_dir():
            raise UsageError(f"{flag} {path}: is a file, not a folder, so the {what} cannot go there. {fix}")
        if not is_folder and path.is_dir():
            raise UsageError(f"{flag} {path}: is a folder, not a file, so the {what} cannot go there. {fix}")
        if not os.access(path, os.W_OK | (os.X_OK if is_folder else 0)):
            raise UsageError(f"{flag} {path}: not writable, so the {what} cannot be written. {fix}")
        return
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UsageError(f"{flag} {path}: {ancestor} is a file, not a folder, so the {what} cannot go there. {fix}")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: cannot create it, {ancestor} is not writable. {fix}")


def _check_name_lengths(path: Path, flag: str) -> None:
    """UsageError when a part of ``path`` is longer than the file system allows (255 bytes on most)."""
    for part in path.parts:
        size = len(os.fsencode(part))
        if size > NAME_MAX:
            raise UsageError(f"{flag}: the path component {part[:40]!r}... is {size} bytes long; file systems allow "
                             f"at most {NAME_MAX}. Pass a shorter {flag}.")
    if len(os.fsencode(str(path))) >= PATH_MAX:
        raise UsageError(f"{flag}: the path is longer than the {PATH_MAX - 1} bytes a path may have. "
                         f"Pass a shorter {flag}.")
