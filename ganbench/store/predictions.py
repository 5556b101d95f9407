"""Per-example test predictions, kept beside the result store.

A classification probe may hand back, with a metric, the class it predicted
for every test example (``Metric.predictions``: ``(n_test,)``, or
``(draws, n_test)`` for a probe that repeats over label draws). The core
validates them against the test split, and the store writes them, before
the row is appended, to ``<store dir>/predictions/<id>.npz`` (compressed:
``predicted`` as uint8 / int16 / int32, the smallest that holds the classes,
and the test ``labels``), where ``<id>`` hashes the content, so identical
predictions (two kNN votes that agree) share one file. The row's
``predictions`` field names the file, its sha256 and the fingerprint of the
test set (images and labels), so that two rows are compared example by
example only on the same test images.

This module imports no torch: the store and ``ganbench compare`` read it.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FOLDER = "predictions"
PENDING_KEY = "_predictions"  # where a row carries its predictions from the probe to the store


class PredictionsError(ValueError):
    """Predictions a probe returned, or a stored file, that cannot be used; the message says why."""


@dataclass(eq=False)  # compared by identity: rows holding one are compared as dicts (``row in rows``)
class Pending:
    """Predictions checked against the test split, waiting for the store to write them."""

    predicted: np.ndarray  # (draws, n_test), the smallest unsigned/signed int type holding the classes
    labels: np.ndarray  # (n_test,) the test labels, same dtype
    test_set: str  # fingerprint of the test images and labels


def _is_tensor(value) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def compact_dtype(num_classes: int) -> np.dtype:
    """The smallest integer type that holds every class index."""
    if num_classes <= 256:
        return np.dtype(np.uint8)
    return np.dtype(np.int16) if num_classes <= 32768 else np.dtype(np.int32)


def check(predicted, test_labels: np.ndarray, num_classes: int) -> np.ndarray:
    """``predicted`` as a compact ``(draws, n_test)`` array, or :class:`PredictionsError` saying why not.

    Accepts a numpy array or a torch tensor of integers, ``(n_test,)`` or
    ``(draws, n_test)``, each a class index in ``[0, num_classes)``.
    """
    if _is_tensor(predicted):
        predicted = predicted.detach().cpu().numpy()
    if isinstance(predicted, (list, tuple)):
        predicted = np.asarray(predicted)
    if not isinstance(predicted, np.ndarray):
        raise PredictionsError(f"predictions is a {type(predicted).__name__}, expected a numpy array of class indices")
    if predicted.dtype.kind not in "iu":
        raise PredictionsError(f"predictions have dtype {predicted.dtype}, expected integers (class indices)")
    n_test, given = len(test_labels), predicted.shape
    if predicted.ndim == 1:
        predicted = predicted[None, :]
    if predicted.ndim != 2 or predicted.shape[1] != n_test or predicted.shape[0] == 0:
        raise PredictionsError(f"predictions have shape {given}, expected ({n_test},) or (draws, {n_test}): "
                               f"one class per test example, in the test split's order")
    if predicted.size and (predicted.min() < 0 or predicted.max() >= num_classes):
        raise PredictionsError(f"predictions hold classes from {predicted.min()} to {predicted.max()}, "
                               f"expected 0 to {num_classes - 1}")
    return predicted.astype(compact_dtype(num_classes))


def test_set_fingerprint(dataset) -> str:
    """sha256 prefix of the test images and labels (memoised on the dataset: hashing 30 MB takes a moment)."""
    cached = getattr(dataset, "_test_set_fingerprint", None)
    if cached is None:
        from ganbench.api.data import fingerprint_tensors  # torch is loaded wherever a dataset exists

        cached = fingerprint_tensors(dataset.test_x, dataset.test_y)
        try:
            dataset._test_set_fingerprint = cached
        except AttributeError:  # a frozen or slotted dataset: hash again next time
            pass
    return cached


def pending(predicted, dataset) -> Pending:
    """Predictions checked against ``dataset``'s test split, ready to travel with a row to the store."""
    labels = dataset.test_y.numpy() if _is_tensor(dataset.test_y) else np.asarray(dataset.test_y)
    checked = check(predicted, labels, dataset.num_classes)
    return Pending(checked, labels.astype(checked.dtype), test_set_fingerprint(dataset))


def _content_id(p: Pending) -> str:
    h = hashlib.sha256()
    for array in (p.predicted, p.labels):
        h.update(f"{array.shape}{array.dtype}".encode())
        h.update(np.ascontiguousarray(array).tobytes())
    h.update(p.test_set.encode())
    return h.hexdigest()[:20]


def _file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write(store_dir: Path, p: Pending) -> dict:
    """Write ``p`` atomically (a temporary file renamed into place) unless the same content is stored;
    the row's ``predictions`` reference."""
    folder = store_dir / FOLDER
    name = f"{_content_id(p)}.npz"
    path = folder / name
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, predicted=p.predicted, labels=p.labels)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
        try:
            os.chmod(tmp, 0o644)  # readable like the store (mkstemp makes it private)
            with os.fdopen(fd, "wb") as f:
                f.write(buffer.getvalue())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return {"file": f"{FOLDER}/{name}", "sha256": _file_sha256(path), "test_set": p.test_set,
            "draws": int(p.predicted.shape[0]), "n_test": int(p.predicted.shape[1])}


def write_pending(store_dir: Path, rows: list[dict], warn) -> list[dict]:
    """``rows`` with each one's pending predictions written and replaced by the ``predictions`` reference.

    A row that is not ``ok`` drops them. When a file cannot be written the
    row is kept without predictions and ``warn`` is told once why: a figure is
    never lost for its attachment.
    """
    out, problem = [], None
    for row in rows:
        attached = row.get(PENDING_KEY)
        if PENDING_KEY not in row:
            out.append(row)
            continue
        row = {k: v for k, v in row.items() if k != PENDING_KEY}
        if isinstance(attached, Pending) and row.get("status") == "ok":
            try:
                row["predictions"] = write(store_dir, attached)
            except OSError as exc:
                problem = problem or f"{store_dir / FOLDER}: {exc.strerror or exc}"
        out.append(row)
    if problem:
        warn(f"Could not write test predictions ({problem}); the rows are stored without them "
             f"(`ganbench compare` then falls back to seeds)")
    return out


@dataclass
class Loaded:
    predicted: np.ndarray  # (draws, n_test)
    labels: np.ndarray  # (n_test,)
    test_set: str

    @property
    def correct(self) -> np.ndarray:
        """(draws, n_test) bool: each draw's prediction was the test label."""
        return self.predicted == self.labels[None, :]


def load(store_dir: Path, reference: dict) -> Loaded:
    """The predictions a row's ``predictions`` field names, checked against its sha256; :class:`PredictionsError` if
    the file is missing, altered or not what the reference says."""
    if not isinstance(reference, dict) or not isinstance(reference.get("file"), str):
        raise PredictionsError(f"the row's predictions field {str(reference)[:60]!r} names no file")
    relative = Path(reference["file"])
    if relative.is_absolute() or ".." in relative.parts:
        raise PredictionsError(f"the predictions file {reference['file']!r} is outside the store")
    path = store_dir / relative
    if not path.is_file():
        raise PredictionsError(f"the predictions file {path} is missing")
    if reference.get("sha256") and _file_sha256(path) != reference["sha256"]:
        raise PredictionsError(f"the predictions file {path} does not match the sha256 its row records")
    try:
        with np.load(path, allow_pickle=False) as data:
            predicted, labels = data["predicted"], data["labels"]
    except (OSError, ValueError, KeyError) as exc:
        raise PredictionsError(f"the predictions file {path} cannot be read: {exc}") from None
    if predicted.ndim == 1:
        predicted = predicted[None, :]
    if predicted.ndim != 2 or labels.ndim != 1 or predicted.shape[1] != len(labels):
        raise PredictionsError(f"the predictions file {path} holds arrays of shapes {predicted.shape} and {labels.shape}")
    return Loaded(predicted, labels, str(reference.get("test_set")))
