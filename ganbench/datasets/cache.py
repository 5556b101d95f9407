"""An on-disk cache of decoded datasets, for formats that are slow to decode.

Decoding LSUN's millions of compressed images, an image folder, or SVHN's
large ``.mat`` files takes minutes to seconds; reading the decoded uint8
tensors back from a safetensors file takes about as long as reading the
bytes. Entries live in ``<cache>/datasets/`` (``<cache>`` is
the run's ``--cache-dir`` (:func:`decode_cache_in`), else ``$GANBENCH_CACHE``, else the user
cache folder, see :mod:`ganbench.system.paths`)
and are keyed by a hash of the dataset name, the loader's options, the cache
format version and every source file's path, size and modification time, so
a changed or replaced source file is decoded afresh. Set
``GANBENCH_DATA_CACHE=0`` to turn the cache off. A dataset read from the
cache is indistinguishable from a decoded one: same tensors, name, classes,
source and notes, and its fingerprint is recomputed from the tensors. Each
entry carries the digest of its tensors: damaged bytes that still load are
decoded afresh, never handed to a run.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Callable, Iterable

from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from ganbench.system.cache_files import tensors_digest
from ganbench.api.data import Dataset
from ganbench.system.paths import default_cache_dir

CACHE_FORMAT = "1"
TENSORS = ("train_x", "train_y", "test_x", "test_y")


def cache_enabled() -> bool:
    return os.environ.get("GANBENCH_DATA_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")


def cache_key(name: str, params: dict, sources: Iterable[Path]) -> str:
    """Hash of what determines the decoded tensors."""
    stats = []
    for path in sorted(Path(p).resolve() for p in sources):
        st = path.stat()
        stats.append([str(path), st.st_size, st.st_mtime_ns])
    blob = json.dumps({"format": CACHE_FORMAT, "name": name, "params": params, "sources": stats}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


# The cache folder of the run loading a dataset (its --cache-dir); unset: the default cache folder.
_RUN_CACHE_DIR: ContextVar[Path | None] = ContextVar("ganbench_decode_cache_dir", default=None)


@contextmanager
def decode_cache_in(cache_dir: Path):
    """Decoded datasets go to (and are read from) ``<cache_dir>/datasets`` inside this block."""
    token = _RUN_CACHE_DIR.set(Path(cache_dir))
    try:
        yield
    finally:
        _RUN_CACHE_DIR.reset(token)


def cache_path(name: str, key: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return (_RUN_CACHE_DIR.get() or default_cache_dir()) / "datasets" / f"{safe}-{key}.safetensors"


def _read(path: Path) -> Dataset | None:
    try:
        tensors = load_file(str(path))
        with safe_open(str(path), "pt") as f:
            meta = f.metadata()
        if meta.get("digest") != tensors_digest({t: tensors[t] for t in TENSORS}):
            return None  # damaged bytes (or an entry from before digests) that still load: decode again
        return Dataset(meta["name"], *(tensors[t] for t in TENSORS), json.loads(meta["classes"]),
                       source=meta["source"], notes=json.loads(meta["notes"]))
    except (OSError, SafetensorError, KeyError, ValueError):
        return None  # unreadable entry: decode again and overwrite it


def _write(path: Path, dataset: Dataset) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # concurrent writers never share a temp file
    tensors = {t: getattr(dataset, t).contiguous() for t in TENSORS}
    meta = {"name": dataset.name, "classes": json.dumps(dataset.classes), "source": dataset.source,
            "notes": json.dumps(dataset.notes, default=str), "digest": tensors_digest(tensors)}
    try:
        save_file(tensors, str(tmp), metadata=meta)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def cached(name: str, params: dict, sources: Iterable[Path], build: Callable[[], Dataset]) -> Dataset:
    """``build()``'s dataset, read from the cache when the sources are unchanged since it was stored."""
    if not cache_enabled():
        return build()
    path = cache_path(name, cache_key(name, params, sources))
    if path.is_file():
        dataset = _read(path)
        if dataset is not None:
            return dataset
    dataset = build()
    try:
        _write(path, dataset)
    except OSError:
        pass  # a read-only or full cache folder only costs the next load a decode
    return dataset
