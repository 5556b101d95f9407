"""Features files: what ``ganbench features export`` writes and ``--model features`` reads.

One file holds one feature view of one dataset, split by split, in the
dataset's own order:

==================  ====================  ==========================================
name                array                 meaning
==================  ====================  ==========================================
``train``           float32 ``(N, D)``    features of the training split
``train_labels``    int64 ``(N,)``        its labels (must equal the dataset's)
``test``            float32 ``(M, D)``    features of the test split
``test_labels``     int64 ``(M,)``        its labels
``metadata``        a JSON string         optional: model, options, view, feature_config,
                                          dataset name and fingerprint, split, version
==================  ====================  ==========================================

``.npz`` (numpy's zip of ``.npy`` files; ``metadata`` a 0-d string array) or
``.safetensors`` (``metadata`` the JSON string under the header's
``"ganbench"`` key). Neither is read with pickle: an ``.npz`` holding an
object array is refused before anything in it is unpickled.

Imports numpy and safetensors only (no torch), so the ``features`` model's
checks and ``ganbench --help`` stay light.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ganbench.system.errors import UsageError

FORMAT = "ganbench-features"
FORMAT_VERSION = 1
SPLITS = ("train", "test")
SUFFIXES = (".npz", ".safetensors")
METADATA_KEY = "ganbench"  # the safetensors header's metadata entry


@dataclass
class FeatureFile:
    """A features file as read: arrays by name (``train``, ``train_labels``, ...), metadata, sha256."""

    path: Path
    arrays: dict[str, np.ndarray]
    metadata: dict = field(default_factory=dict)
    sha256: str = ""

    def splits(self) -> list[str]:
        return [s for s in SPLITS if s in self.arrays]


# -- writing --------------------------------------------------------------
def check_suffix(path: str | os.PathLike) -> str:
    """``npz`` or ``safetensors`` from the file name; UsageError for any other suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(f"Features file {path}: name it *.npz (numpy, the default) or *.safetensors; "
                         f"got {suffix or 'no suffix'}.")
    return suffix[1:]


def write(path: str | os.PathLike, arrays: dict[str, np.ndarray], metadata: dict) -> Path:
    """Write ``arrays`` (features float32, labels int64) and ``metadata`` to ``path`` atomically."""
    path = Path(path)
    fmt = check_suffix(path)
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    text = json.dumps(metadata, sort_keys=True, default=str)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    if fmt == "npz":
        np.savez(tmp, metadata=np.array(text), **arrays)  # a 0-d unicode array: no pickle needed to read it
    else:
        from safetensors.numpy import save_file

        save_file(arrays, str(tmp), metadata={METADATA_KEY: text})
    tmp.replace(path)
    return path


# -- reading --------------------------------------------------------------
_digests: dict[tuple, str] = {}


def sha256(path: Path) -> str:
    """The file's sha256, remembered per (path, size, mtime): a run checks its request several times."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _digests:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _digests[key] = digest.hexdigest()
    return _digests[key]


def _existing(path: str | os.PathLike) -> Path:
    path = Path(path).expanduser()
    check_suffix(path)
    if not path.is_file():
        raise UsageError(f"Features file {path} does not exist (or is not a file). Give --model-opt path=FILE with a "
                         f"file written by `ganbench features export` or by numpy (README: Bring your own features).")
    return path


def read_metadata(path: str | os.PathLike) -> FeatureFile:
    """The file's metadata, array names and sha256, without reading the arrays (cheap)."""
    path = _existing(path)
    if path.suffix.lower() == ".npz":
        with _open_npz(path) as npz:
            names = list(npz.files)
            metadata = _npz_metadata(path, npz) if "metadata" in names else {}
    else:
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="np") as f:
                names, header = list(f.keys()), f.metadata() or {}
        except Exception as exc:  # SafetensorError, OSError: a damaged header
            raise UsageError(f"Features file {path} is not a readable safetensors file ({_short(exc)}).") from None
        metadata = _parse_metadata(path, header.get(METADATA_KEY)) if METADATA_KEY in header else {}
    arrays = {n: np.empty(0) for n in names if n != "metadata"}  # placeholders: names only
    return FeatureFile(path, arrays, metadata, sha256(path))


def read(path: str | os.PathLike) -> FeatureFile:
    """The whole file, every array checked: features real and finite ``(N, D)``, labels integer ``(N,)``."""
    path = _existing(path)
    if path.suffix.lower() == ".npz":
        with _open_npz(path) as npz:
            metadata = _npz_metadata(path, npz) if "metadata" in npz.files else {}
            arrays = {name: _npz_array(path, npz, name) for name in npz.files if name != "metadata"}
    else:
        from safetensors.numpy import load_file

        try:
            arrays = load_file(str(path))
        except Exception as exc:
            raise UsageError(f"Features file {path} is not a readable safetensors file ({_short(exc)}).") from None
        metadata = read_metadata(path).metadata
    found = FeatureFile(path, arrays, metadata, sha256(path))
    check_arrays(found)
    return found


def _open_npz(path: Path):
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise UsageError(f"Features file {path} is not a readable .npz file ({_short(exc)}).") from None


def _npz_array(path: Path, npz, name: str) -> np.ndarray:
    try:
        return npz[name]
    except ValueError as exc:
        if "allow_pickle" in str(exc):  # an object array: its bytes are a pickle, never loaded
            raise UsageError(f"Features file {path}: array '{name}' is an object array, stored as a pickle; ganbench "
                             f"reads no pickle (it could run code). Save plain numeric arrays.") from None
        raise UsageError(f"Features file {path}: array '{name}' is unreadable ({_short(exc)}).") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise UsageError(f"Features file {path}: array '{name}' is unreadable ({_short(exc)}).") from None


def _npz_metadata(path: Path, npz) -> dict:
    value = _npz_array(path, npz, "metadata")
    if value.dtype.kind != "U" or value.size != 1:
        raise UsageError(f"Features file {path}: 'metadata' must be one JSON string (np.array(json.dumps(...))), "
                         f"got {value.dtype} {value.shape}.")
    return _parse_metadata(path, str(value.reshape(()).item()))


def _parse_metadata(path: Path, text) -> dict:
    try:
        metadata = json.loads(text)
    except (TypeError, ValueError):
        metadata = None
    if not isinstance(metadata, dict):
        raise UsageError(f"Features file {path}: its metadata is not a JSON object.")
    return metadata


def check_arrays(found: FeatureFile) -> None:
    """Both splits there, features real and finite, one integer label per row; UsageError otherwise."""
    path, arrays = found.path, found.arrays
    missing = [n for s in SPLITS for n in (s, f"{s}_labels") if n not in arrays]
    if missing:
        split = found.metadata.get("split")
        hint = " (exported with --split " + split + "; export with --split both)" if split in SPLITS else ""
        raise UsageError(f"Features file {path} lacks {', '.join(repr(m) for m in missing)}{hint}: it needs arrays "
                         f"train, train_labels, test, test_labels (README: Bring your own features).")
    dims = set()
    for split in SPLITS:
        feats, labels = arrays[split], arrays[f"{split}_labels"]
        if feats.dtype.kind not in "fiu" or feats.ndim != 2:
            raise UsageError(f"Features file {path}: '{split}' must be a 2-D array of real numbers (rows x dimensions), "
                             f"got {feats.dtype} {feats.shape}.")
        if labels.dtype.kind not in "iu" or labels.ndim != 1:
            raise UsageError(f"Features file {path}: '{split}_labels' must be a 1-D integer array, got {labels.dtype} "
                             f"{labels.shape}.")
        if len(labels) != len(feats):
            raise UsageError(f"Features file {path}: '{split}' has {len(feats):,} rows but '{split}_labels' "
                             f"{len(labels):,} labels.")
        bad = ~np.isfinite(feats.astype(np.float32, copy=False)) if feats.dtype.kind == "f" else None
        if bad is not None and bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise UsageError(f"Features file {path}: '{split}' holds {int(bad.sum()):,} values that are not finite "
                             f"(NaN or infinity, after conversion to float32), the first in row {row}. Fix them before "
                             f"scoring: a probe would otherwise report a meaningless figure.")
        dims.add(feats.shape[1])
    if len(dims) > 1 or 0 in dims:
        raise UsageError(f"Features file {path}: 'train' and 'test' must have the same number (> 0) of columns, "
                         f"got {arrays['train'].shape[1]} and {arrays['test'].shape[1]}.")


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."
