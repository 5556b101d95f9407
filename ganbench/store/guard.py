"""Where a command may write files for people, and the cache: never into a store, never over rows.

The one guard of every output path: ``leaderboard --output``, ``show ... --output``,
``dedup --output``, ``features export --out``, ``samples export --out`` (click
callbacks made by :func:`output_option`, so the check runs while the command line
is parsed, before any model is loaded or trained) and the cache folder
(``--cache-dir`` or ``$GANBENCH_CACHE``, :func:`check_cache_dir`). Refused in one
line (:class:`UsageError`, exit 2):

- a path in a result store's folder or anywhere below it (its ``predictions/``, a
  subfolder): a store folder holds ``results.jsonl`` (or its lock), or a
  ``predictions/`` folder beside a ``.jsonl`` file of rows. Only the store writes
  there (:mod:`ganbench.store.jsonl`, :mod:`ganbench.store.predictions`);
- a file the command did not make: one holding result rows, a predictions file;
- a suffix the command cannot write (``show --output out.npz``);
- a path that cannot be written: under a regular file, under ``/proc`` or
  ``/sys``, a folder that refuses a new file (tried, not assumed:
  :func:`ganbench.system.paths.check_writable`).

Files are written by :func:`write_text_atomically` (or the command's own
temporary-file-then-rename), so a refused or failed write leaves whatever was
there byte-identical.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

from ganbench.store.schema import NewerSchema, parse_line
from ganbench.system.errors import UsageError
from ganbench.system.paths import check_writable, default_cache_dir, path_kind, real_path

STORE_NAME = "results.jsonl"  # ganbench.store.jsonl's name for a store file; not imported here so that no numpy loads
PREDICTIONS = "predictions"  # ganbench.store.predictions.FOLDER, likewise
# files no text output may be written as: a store, arrays, weights, pictures, archives
NOT_TEXT = (".jsonl", ".npz", ".npy", ".safetensors", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".png", ".jpg",
            ".jpeg", ".gif", ".pdf", ".zip", ".gz", ".tar")


def store_folder_above(path: Path) -> Path | None:
    """The result store folder ``path`` lies in (itself or an ancestor, links followed), else None."""
    real = real_path(path)
    for folder in (real, *real.parents):
        if is_store_folder(folder):
            return folder
    return None


def is_store_folder(folder: Path) -> bool:
    """Whether ``folder`` is a result store's: it holds ``results.jsonl`` (or its lock), or a ``predictions/``
    folder beside a ``.jsonl`` file of rows (a store named ``--results DIR/other.jsonl``)."""
    try:
        if (folder / STORE_NAME).exists() or (folder / (STORE_NAME + ".lock")).exists():
            return True
        if not (folder / PREDICTIONS).is_dir():
            return False
        return any(holds_rows(f) for f in sorted(folder.glob("*.jsonl"))[:20] if f.is_file())
    except OSError:  # a folder we may not list holds no store we could damage
        return False


def check_output(path: str | os.PathLike, flag: str = "--output", what: str = "output", *,
                 suffixes: tuple[str, ...] | None = None, not_suffixes: tuple[str, ...] = NOT_TEXT,
                 folder: bool = False, in_place: bool = False) -> Path:
    """``path`` with ``~`` expanded, after checking that writing ``what`` there loses nothing (module docstring).

    ``suffixes``: the file suffixes the command writes (lower case, ``""`` for none; None: any but
    ``not_suffixes``, by default those of data files: a text output is never named as a store or an array);
    ``folder``: the output is a folder the command fills; ``in_place``: an existing FIFO or device
    (``/dev/stdout``) is written in place rather than refused.
    """
    path = Path(path).expanduser()
    fix = f"Pass another {flag}."
    kind = path_kind(path)
    if kind in ("a FIFO", "a device", "a socket") and not in_place:
        raise UsageError(f"{flag} {path}: is {kind}, not a regular file; the {what} is written to a file. {fix}")
    if kind in ("a FIFO", "a device") and in_place:
        return path  # written in place (/dev/stdout, /dev/null); nothing of a store is there
    target = real_path(path)  # a link to a store is the store
    store_fix = f"Pass another {flag}, outside any result store's folder."
    if target.name in (STORE_NAME, STORE_NAME + ".lock"):
        raise UsageError(f"{flag} {path}: is a result store's file; writing the {what} there would replace the "
                         f"store. {store_fix}")
    store = store_folder_above(target if folder else target.parent)
    if store is not None:
        where = "is" if target == store else "is inside"
        raise UsageError(f"{flag} {path}: {where} the result store folder {store}; only the store writes into its "
                         f"folder. {store_fix}")
    if kind == "a regular file":
        if holds_rows(target):
            raise UsageError(f"{flag} {path}: holds result rows; writing the {what} there would replace them. "
                             f"{store_fix}")
        if is_predictions_file(target):
            raise UsageError(f"{flag} {path}: is a file of per-example predictions (predicted, labels) that "
                             f"ganbench did not write as {what}; writing there would replace it. {fix}")
    suffix = path.suffix.lower()
    if not folder and suffixes is not None and suffix not in suffixes:
        wanted = ", ".join(f"*{s}" for s in suffixes if s) + (" or no suffix" if "" in suffixes else "")
        raise UsageError(f"{flag} {path}: the {what} is written as {wanted}, not {path.suffix or 'without a suffix'}. "
                         f"{fix}")
    if not folder and suffixes is None and suffix in not_suffixes:
        raise UsageError(f"{flag} {path}: the {what} is text, not a *{suffix} file. {fix}")
    check_writable(path, what, flag, is_folder=folder)
    return path


def check_cache_dir(cache_dir: str | os.PathLike | None) -> Path:
    """The cache folder (``cache_dir``, else ``$GANBENCH_CACHE``, else the default), ``~`` expanded, checked
    before any work: writable (tried), not under /proc or /sys, not in a result store's ``predictions/`` folder.

    The cache may sit in a store's folder (``--results runs --cache-dir runs/cache``): its files (``models/``,
    ``datasets/``, ...) never take a store file's name; ``predictions/`` holds the store's files alone."""
    if cache_dir:
        path, flag, fix = Path(cache_dir).expanduser(), "--cache-dir", "Pass another --cache-dir."
    else:
        path = default_cache_dir()
        flag = "GANBENCH_CACHE" if os.environ.get("GANBENCH_CACHE") else "the default cache folder"
        fix = f"Set {'GANBENCH_CACHE' if flag == 'GANBENCH_CACHE' else 'GANBENCH_CACHE or XDG_CACHE_HOME'} to " \
              f"another folder, or pass --cache-dir."
    store = store_folder_above(path)
    real = real_path(path)
    if store is not None and (real == store / PREDICTIONS or store / PREDICTIONS in real.parents):
        raise UsageError(f"{flag} {path}: is in the predictions folder of the result store {store}; only the store "
                         f"writes there. {fix}")
    check_writable(path, "trained models and features", flag, is_folder=True, fix=fix)
    return path


def holds_rows(path: Path, max_bytes: int = 4 << 20) -> bool:
    """Whether one of the first lines of ``path`` (at most ``max_bytes`` read) is a result row, of this
    ganbench's schema or a newer one."""
    if path_kind(path) != "a regular file":
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(max_bytes)
    except OSError:
        return False
    for line in head.splitlines():
        if line.strip():
            row, problem = parse_line(line)
            if row is not None or isinstance(problem, NewerSchema):
                return True
    return False


def is_predictions_file(path: Path) -> bool:
    """Whether ``path`` is a predictions file of a store (``predictions/<id>.npz``: ``predicted`` and ``labels``)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return False
    return {"predicted.npy", "labels.npy"} <= names


def output_option(what: str, suffixes: tuple[str, ...] | None = None, in_place: bool = False, flag: str | None = None):
    """A click callback for an output option: the checked path (``~`` expanded), or None (:func:`check_output`)."""
    def callback(ctx, param, value):
        if value is None:
            return None
        return check_output(value, flag or "--" + param.name.replace("_", "-"), what, suffixes=suffixes,
                            in_place=in_place)
    return callback


def _new_file_mode() -> int:
    """The mode ``open(path, "w")`` would give a new file: 0o666 less the process's umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _is_stream(path: Path) -> bool:
    """``/dev/stdout``, ``/proc/self/fd/1``, a pipe, a terminal, or a link to one: a path whose file the caller's
    shell may hold open (``--output /dev/stdout >> log``), which a rename would lose or replace."""
    here = os.path.abspath(path)
    for _ in range(40):  # the links one by one: /dev/stdout -> /proc/self/fd/1 -> the redirected file
        if here.startswith(("/dev/", "/proc/")):
            return True
        if not os.path.islink(here):
            break
        here = os.path.abspath(os.path.join(os.path.dirname(here), os.readlink(here)))
    return os.path.exists(here) and not os.path.isfile(here)


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in its folder (created if missing).

    A link to a regular file is written through: its target gets the text, the link stays. A stream
    (``/dev/stdout``, a pipe, :func:`_is_stream`) is appended to in place: the shell's redirection decides
    whether that file was emptied first (``>``) or not (``>>``).
    """
    path = Path(path)
    if _is_stream(path):
        with open(path, "a", encoding="utf-8") as f:
            f.write(text)
        return
    path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(temporary, _new_file_mode())  # mkstemp makes the file private; open() would not
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
