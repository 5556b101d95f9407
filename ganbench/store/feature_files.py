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
import math
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ganbench.system.errors import UsageError
from ganbench.system.paths import path_kind

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
    kind = path_kind(path)
    if kind != "a regular file":
        said = {"missing": "does not exist", "a folder": "is a folder, not a file",
                "a FIFO": "is a FIFO, not a regular file (reading one could wait forever)",
                "a symlink loop": "is a symlink loop (the links lead back to themselves)",
                "a link to nothing": "is a link to a file that does not exist"}.get(kind, f"is {kind}, not a regular file")
        raise UsageError(f"Features file {path} {said}. Give --model-opt path=FILE with a file written by "
                         f"`ganbench features export` or by numpy (README: Bring your own features).")
    return path


def read_metadata(path: str | os.PathLike) -> FeatureFile:
    """The file's metadata, array names and sha256, without reading the arrays (cheap); every array's declared
    size checked against the file's real size, so that reading it later allocates no more than the file holds."""
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
    _check_format_version(path, metadata)
    arrays = {n: np.empty(0) for n in names if n != "metadata"}  # placeholders: names only
    return FeatureFile(path, arrays, metadata, sha256(path))


def _check_format_version(path: Path, metadata: dict) -> None:
    """UsageError unless the metadata's ``format_version`` (when it has one) is one this ganbench reads."""
    if "format_version" not in metadata:
        return  # a file of one's own arrays says no version: read as the current format
    version = metadata["format_version"]
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        shown = repr(version) if len(repr(version)) <= 40 else repr(version)[:37] + "..."
        newer = " (a newer ganbench may have written it: upgrade ganbench, or export again with this one)" \
            if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION else ""
        raise UsageError(f"Features file {path}: its metadata says format_version {shown}; this ganbench reads "
                         f"format_version {FORMAT_VERSION}{newer}.")


def read(path: str | os.PathLike) -> FeatureFile:
    """The whole file, every array checked: features real and finite ``(N, D)``, labels integer ``(N,)``."""
    path = _existing(path)
    if path.suffix.lower() == ".npz":
        with _open_npz(path) as npz:
            metadata = _npz_metadata(path, npz) if "metadata" in npz.files else {}
            _check_format_version(path, metadata)
            arrays = {name: _npz_array(path, npz, name) for name in npz.files if name != "metadata"}
    else:
        from safetensors.numpy import load_file

        try:
            arrays = load_file(str(path))
        except Exception as exc:
            raise UsageError(f"Features file {path} is not a readable safetensors file ({_short(exc)}).") from None
        metadata = read_metadata(path).metadata  # its format version checked there
    found = FeatureFile(path, arrays, metadata, sha256(path))
    check_arrays(found)
    return found


ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip archive (an .npz), or an empty one
MAX_DEFLATE_RATIO = 1032  # deflate's most: no member unpacks to more than this many times its packed size


def _open_npz(path: Path):
    """The archive, once it is known to be a zip and every member's declared array fits the bytes it holds."""
    what = _what_it_is(path)
    if what:
        raise UsageError(f"Features file {path} is not an .npz file (a zip archive of .npy arrays): it is {what}. "
                         f"Save the arrays with numpy.savez (README: Bring your own features).")
    _check_npz_members(path)
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise UsageError(f"Features file {path} is not a readable .npz file ({_short(exc)}).") from None


def _what_it_is(path: Path) -> str | None:
    """What a file named .npz is when it is no zip archive, from its first bytes (None: a zip archive).

    Said so that no one is sent after numpy's ``allow_pickle``, which numpy names for any file it cannot place."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if head.startswith(ZIP_MAGIC):
        return None
    if not head:
        return "empty"
    for magic, what in ((b"\x93NUMPY", "a single .npy array (numpy.save), not an archive of the four arrays"),
                        (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
                        (b"\x1f\x8b", "a gzip file"), (b"%PDF", "a PDF document"),
                        (b"\x80", "a Python pickle, which ganbench never reads (it could run code)")):
        if head.startswith(magic):
            return what
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "binary data of no known kind"
    return "a text file" + (" (JSON)" if text.lstrip().startswith(("{", "[")) else "")


def _check_npz_members(path: Path) -> None:
    """Every ``.npy`` member's declared shape and type against the bytes the archive really holds for it, before
    numpy allocates anything: a header may declare 50,000,000,000 rows in a file of a few kB."""
    size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                name = info.filename[:-4]
                packed_ok = info.compress_size <= size and (
                    info.file_size == info.compress_size if info.compress_type == zipfile.ZIP_STORED
                    else info.file_size <= info.compress_size * MAX_DEFLATE_RATIO + 1024)
                if not packed_ok:
                    raise UsageError(f"Features file {path}: array '{name}' claims {info.file_size:,} bytes, more "
                                     f"than a file of {size:,} bytes can hold; the file is damaged. Write it again.")
                with archive.open(info) as member:
                    shape, dtype, header = _npy_header(member)
                if dtype.hasobject:
                    raise UsageError(f"Features file {path}: array '{name}' is an object array, stored as a pickle; "
                                     f"ganbench reads no pickle (it could run code). Save plain numeric arrays.")
                declared = math.prod(shape) * dtype.itemsize
                if declared != info.file_size - header:
                    dims = " x ".join(f"{d:,}" for d in shape) or "a scalar"
                    raise UsageError(f"Features file {path}: array '{name}' declares {dims} {dtype} "
                                     f"({_bytes(declared)}), but the file holds {_bytes(info.file_size - header)} of "
                                     f"it; the file is damaged or not what it claims. Write it again.")
    except UsageError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, RuntimeError, NotImplementedError) as exc:
        raise UsageError(f"Features file {path} is not a readable .npz file ({_short(exc)}).") from None


def _npy_header(f) -> tuple[tuple[int, ...], np.dtype, int]:
    """``(shape, dtype, header bytes)`` of an ``.npy`` stream, read without its data (numpy's header
    reader, whose header size is bounded)."""
    from numpy.lib import format as npy

    version = npy.read_magic(f)
    read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
    shape, _, dtype = read(f)
    return tuple(int(d) for d in shape), np.dtype(dtype), f.tell()


def _bytes(n: int) -> str:
    for unit, scale in (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,} bytes"


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
        with np.errstate(over="ignore", invalid="ignore"):  # said below in one line, not as numpy's warning
            bad = ~np.isfinite(feats.astype(np.float32, copy=False)) if feats.dtype.kind == "f" else None
        if bad is not None and bad.any():
            row = int(np.argwhere(bad)[0][0])
            raise UsageError(f"Features file {path}: '{split}' holds {int(bad.sum()):,} values that are not finite "
                             f"in float32 (NaN, infinity, or beyond float32's ±3.4e38), the first in row {row}. Fix "
                             f"them before scoring: a probe would otherwise report a meaningless figure.")
        dims.add(feats.shape[1])
    if len(dims) > 1 or 0 in dims:
        raise UsageError(f"Features file {path}: 'train' and 'test' must have the same number (> 0) of columns, "
                         f"got {arrays['train'].shape[1]} and {arrays['test'].shape[1]}.")


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."
