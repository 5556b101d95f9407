"""Default folders: the cache (trained models, features) and the result store.

A user's runs append to :data:`DEFAULT_RESULTS` (``./ganbench-results/``),
which the repository's ``.gitignore`` ignores, so running the README's
commands in a clone leaves ``git status`` clean. The committed reference
rows live in :data:`REFERENCE_RESULTS` and are only written on purpose
(``--results results/reference``).
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
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


PSEUDO_FILE_SYSTEMS = ("/proc", "/sys")  # the kernel's views: nothing of ours is ever written there


def real_path(path: Path | str) -> Path:
    """``path`` with links followed as far as they go (a symlink loop or a dangling link is left as it is)."""
    return Path(os.path.realpath(Path(path).expanduser()))


def path_kind(path: Path | str) -> str:
    """What ``path`` is, in words, links followed: ``missing``, ``a regular file``, ``a folder``, ``a FIFO``,
    ``a device``, ``a socket``, ``a symlink loop``, ``a link to nothing`` (its target is missing) or
    ``unreadable (<why>)``. A message naming a bad path says which of these it is."""
    path = Path(path).expanduser()
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symlink loop"
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return "a link to nothing" if os.path.islink(path) else "missing"
        return f"unreadable ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "no regular file"


def under_pseudo_file_system(path: Path | str) -> str | None:
    """``/proc`` or ``/sys`` when ``path`` (links followed) lies in one of them, else None."""
    real = str(real_path(path))
    return next((root for root in PSEUDO_FILE_SYSTEMS if real == root or real.startswith(root + "/")), None)


def _write_probe(folder: Path) -> OSError | None:
    """Create and remove a file in ``folder``: the one test of writability that holds for root, read-only
    mounts and pseudo file systems alike (``os.access`` says yes to root everywhere)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".ganbench-write-check-", dir=folder)
    except OSError as exc:
        return exc
    os.close(fd)
    try:
        os.unlink(name)
    except OSError:
        pass
    return None


def check_writable(path: Path | str, what: str, flag: str, is_folder: bool, fix: str | None = None) -> None:
    """UsageError (one line) unless ``path`` can be created or written, checked before any work starts.

    ``path`` is a folder (``is_folder``) or a file (``fix``: what the message tells the user to do, by
    default to pass another ``flag``); what does not exist yet must be creatable
    under its nearest existing ancestor, which must be a writable folder. Writability is tried, not
    assumed: a file is created and removed in the folder that would hold the new file or folder.
    Nothing under ``/proc`` or ``/sys`` is writable here, whoever runs it.
    """
    path = Path(path).expanduser()
    other = fix or f"Pass another {flag}."
    fix = fix or f"Pass another {flag}, or fix the permissions."
    _check_name_lengths(path, flag)
    pseudo = under_pseudo_file_system(path)
    if pseudo:
        raise UsageError(f"{flag} {path}: is under {pseudo}, the kernel's pseudo file system, so the {what} cannot go "
                         f"there. {other}")
    kind = path_kind(path)
    if kind in ("a symlink loop", "a link to nothing") or kind.startswith("unreadable"):
        raise UsageError(f"{flag} {path}: is {kind}, so the {what} cannot go there. {fix}")
    if kind != "missing":
        if is_folder and kind != "a folder":
            said = "a file" if kind == "a regular file" else kind
            raise UsageError(f"{flag} {path}: is {said}, not a folder, so the {what} cannot go there. {fix}")
        if not is_folder and kind == "a folder":
            raise UsageError(f"{flag} {path}: is a folder, not a file, so the {what} cannot go there. {fix}")
        if kind == "a folder":
            problem = _write_probe(path)
        elif kind == "a regular file":
            problem = _open_for_append(path)
        else:  # a FIFO or a device is written in place (/dev/stdout); opening a FIFO could wait forever
            problem = None if os.access(path, os.W_OK) else PermissionError(errno.EACCES, "Permission denied")
        if problem is not None:
            raise UsageError(f"{flag} {path}: not writable ({problem.strerror or problem}), so the {what} cannot be "
                             f"written. {fix}")
        return
    ancestor = path.parent
    while path_kind(ancestor) == "missing" and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    kind = path_kind(ancestor)
    if kind != "a folder":
        what_it_is = "a file, not a folder" if kind == "a regular file" else f"{kind}, not a folder"
        raise UsageError(f"{flag} {path}: {ancestor} is {what_it_is}, so the {what} cannot go there. {fix}")
    problem = _write_probe(ancestor)
    if problem is not None:
        raise UsageError(f"{flag} {path}: cannot create it, {ancestor} is not writable "
                         f"({problem.strerror or problem}). {fix}")


def _open_for_append(path: Path) -> OSError | None:
    """Open an existing regular file for appending and close it again: nothing is written."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK))
    except OSError as exc:
        return exc
    return None


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
