"""Cache files that heal: written atomically, digest-checked on read, set aside when damaged.

Every file the cache keeps (trained weights and checkpoints in
:mod:`ganbench.jobs.training`, features and batch-norm statistics in
:mod:`ganbench.jobs.run`, ortho's fitted projections, the quality probe's
classifier) follows one rule:

- it is written through a temporary file renamed into place, so a crash or a
  full disk never leaves half a file under the real name;
- its size and sha256 are recorded when written, and checked before it is
  used, so a file altered afterwards (truncated, zero-filled, replaced) is
  caught before its contents reach a figure;
- a file that fails the check, does not load, or holds the wrong contents is
  reported in one line, renamed ``<name>.damaged-<time>`` (kept for
  inspection) and rebuilt by its owner.

:class:`CacheFile` does this for files whose digest lives in a sidecar
``<name>.digest.json`` next to them; the training cache records its digests
in ``meta.json`` and uses :func:`atomic_write`, :func:`file_digest` and
:func:`set_aside` directly.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Callable, Generic, TypeVar

from ganbench.system.disk import disk_full

T = TypeVar("T")


class DamagedEntry(Exception):
    """A cache file that does not match its recorded digest, does not load, or holds the wrong contents."""


DISK_FULL_FIX = "Free space there, or pass another --cache-dir, and run the command again."


def atomic_write(path: Path, write: Callable[[str], None], before_replace: Callable[[Path], None] | None = None,
                 disk_full_fix: str = DISK_FULL_FIX) -> None:
    """Write ``path`` through a temporary file; ``before_replace(tmp)`` runs once it is complete.
    A write that fails for want of space is one line naming ``path`` and ``disk_full_fix``."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        try:
            write(str(tmp))
        except Exception as exc:
            if (full := disk_full(exc, path, disk_full_fix)) is not None:
                raise full from None  # one line that says so, not the writer's traceback
            raise
        if before_replace is not None:
            before_replace(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # a failed write (a full disk) leaves no stale temporary file


def file_digest(path: Path) -> dict:
    """``{"size": bytes, "sha256": hex}`` of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return {"size": path.stat().st_size, "sha256": h.hexdigest()}


def digest_problem(found: dict, accepted: list[dict]) -> str | None:
    """Why ``found`` matches none of the ``accepted`` digests (``None`` when one matches)."""
    if found in accepted:
        return None
    expected = accepted[0]
    if found["size"] != expected.get("size"):
        return f"{found['size']} bytes, expected {expected.get('size')}"
    return f"sha256 {found['sha256'][:12]}..., expected {str(expected.get('sha256'))[:12]}..."


def set_aside(path: Path, why: str, log: Callable[[str], None], then: str = "rebuilding it",
              what: str = "Damaged cache entry") -> Path:
    """Report ``path`` in one line and rename it ``<name>.damaged-<time>`` (kept for inspection)."""
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
    os.replace(path, aside)
    log(f"{what} {path}: {why}; moved aside to {aside.name}, {then}.")
    return aside


class CacheFile(Generic[T]):
    """One cache file with its digest in a sidecar ``<name>.digest.json``.

    ``read(load, check)`` returns the loaded contents, or ``None`` when the
    file is missing or was damaged (then set aside, named in one line, and
    the caller rebuilds it and calls ``write``). ``load(path)`` reads the
    file; ``check(contents)`` returns why the contents are wrong (a shape, a
    non-finite value) or ``None``.
    """

    def __init__(self, path: Path, log: Callable[[str], None], require_digest: bool = True,
                 what: str = "Damaged cache entry"):
        self.path = Path(path)
        self.what = what  # how the one line begins
        # False for kinds of file older versions wrote without a digest: loading and checking them is then the test
        self.require_digest = require_digest
        self.sidecar = self.path.with_name(self.path.name + ".digest.json")
        self.log = log

    def exists(self) -> bool:
        return self.path.exists()

    def read(self, load: Callable[[Path], T], check: Callable[[T], str | None] | None = None,
             then: str = "rebuilding it") -> T | None:
        if not self.path.exists():
            return None
        try:
            self._verify()
            try:
                contents = load(self.path)
            except Exception as exc:  # readers raise many types on damaged bytes
                raise DamagedEntry(f"does not load ({type(exc).__name__}: {str(exc)[:100]})") from None
            problem = check(contents) if check is not None else None
            if problem:
                raise DamagedEntry(problem)
        except DamagedEntry as exc:
            self.discard(str(exc), then, self.what)
            return None
        return contents

    def discard(self, why: str, then: str = "rebuilding it", what: str = "Damaged cache entry") -> None:
        """Set the file aside (its sidecar goes with it) and say so in one line."""
        set_aside(self.path, why, self.log, then, what)
        self.sidecar.unlink(missing_ok=True)

    def write(self, save: Callable[[str], None]) -> None:
        """``save(tmp_path)`` writes the contents; the digest is recorded before the file takes its name."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, save, before_replace=self._record)

    def _record(self, tmp: Path) -> None:
        digest = file_digest(tmp)
        atomic_write(self.sidecar, lambda p: Path(p).write_text(json.dumps(digest)))

    def _verify(self) -> None:
        try:
            recorded = json.loads(self.sidecar.read_text())
        except FileNotFoundError:
            if not self.require_digest:
                return
            raise DamagedEntry(f"no digest recorded ({self.sidecar.name} is missing)") from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise DamagedEntry(f"its digest file {self.sidecar.name} is unreadable ({type(exc).__name__})") from None
        if not isinstance(recorded, dict) or not isinstance(recorded.get("sha256"), str):
            raise DamagedEntry(f"its digest file {self.sidecar.name} holds no sha256")
        problem = digest_problem(file_digest(self.path), [recorded])
        if problem:
            raise DamagedEntry(problem)


def tensors_digest(tensors: dict) -> str:
    """sha256 (16 hex digits) of named tensors' names, dtypes, shapes and bytes, in name order:
    the identity of a set of weights, whatever file (or none) they came from."""
    import torch

    h = hashlib.sha256()
    for name in sorted(tensors):
        value = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{value.dtype}|{tuple(value.shape)}|".encode())
        if value.numel():
            h.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def meta_problem(meta) -> str | None:
    """Why a ``meta.json`` cannot be trusted (``None`` when its fields have the types this module writes)."""
    if not isinstance(meta, dict):
        return f"holds a {type(meta).__name__}, expected an object"
    if meta.get("status") not in (None, "ok", "diverged", "training", "failed"):
        return f"unknown status {str(meta.get('status'))[:40]!r}"
    steps = meta.get("steps")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 0):
        return f"steps {str(steps)[:40]!r} is not a count"
    files = meta.get("files")
    if files is not None:
        if not isinstance(files, dict):
            return "its files are not an object"
        for name, recorded in files.items():
            entries = recorded if isinstance(recorded, list) else [recorded]
            if not all(isinstance(d, dict) and isinstance(d.get("sha256"), str) and isinstance(d.get("size"), int)
                       for d in entries):
                return f"the digest of {str(name)[:60]} is not a size and a sha256"
    for key, kinds in (("schedule", dict), ("error", str), ("seconds", (int, float)), ("source", str),
                       ("total_seconds", (int, float)), ("resumed_from", int)):
        if meta.get(key) is not None and (isinstance(meta[key], bool) or not isinstance(meta[key], kinds)):
            return f"its {key} is a {type(meta[key]).__name__}"
    if meta.get("status") == "diverged" and (steps is None or not isinstance(meta.get("schedule"), dict)):
        return "a diverged entry without its steps and schedule"
    return None
