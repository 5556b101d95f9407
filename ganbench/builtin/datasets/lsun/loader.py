"""LSUN scene categories (Yu et al. 2015) from the official LMDB databases: ``lsun-<category>``.

Files: ``<category>_train_lmdb/`` (and optionally ``<category>_val_lmdb/``),
as unzipped from the LSUN project's downloads, under ``<root>/lsun`` or the
data root itself. Each database maps an image id to the encoded image (WebP
in the current release, JPEG in older ones); images are decoded with PIL,
converted to RGB, and brought to ``size`` x ``size`` (default 64) by DCGAN's
rule: the shorter side scaled to ``size``, then the centre cropped.

The databases are read with the ``lmdb`` package directly, in key order, as
torchvision's ``LSUNClass`` does, but not through that class: it pickles the
list of keys into the current working directory under a name made of the
database path's letters only (``/data1/...`` and ``/data2/...`` share it) and
unpickles that file on later runs, which litters the user's folder, can serve
one database the keys of another, and runs a pickle found in the working
directory.

LSUN has no labelled test split. The test split is, by default
(``test=holdout``), every ``holdout_every``-th image (default 100th, i.e.
1%) of the training database in key order, held out from training: fixed,
no randomness, the same for everyone with the official files. With
``test=val`` it is the official validation database instead (300 images per
category). ``limit=N`` reads only the first N training images (0 = all).
Every image has label 0, the category's only class.

Decoding is slow (millions of images for the large categories), so the
decoded tensors are cached (see :mod:`ganbench.datasets.cache`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ganbench.api.data import Dataset
from ganbench.system.errors import DataError
from ganbench.datasets.cache import cached
from ganbench.datasets.images import center_crop_resize, decode_image, to_chw
from ganbench.datasets.roots import candidate_folders, first_match, looked_in, resolve_data_root

CATEGORIES = ("bedroom", "bridge", "church_outdoor", "classroom", "conference_room", "dining_room",
              "kitchen", "living_room", "restaurant", "tower")
SUBFOLDERS = ("lsun",)


def how_to_get(root, category: str) -> str:
    return (f"Get {db_name(category, 'train')}.zip (and {db_name(category, 'val')}.zip) with the LSUN project's "
            f"download.py (https://github.com/fyu/lsun), unzip them into {resolve_data_root(root) / 'lsun'}, "
            f"or pass the folder holding them with --data-root.")


def db_name(category: str, split: str) -> str:
    return f"{category}_{split}_lmdb"


def find_db(root, category: str, split: str) -> Path | None:
    folder = first_match(candidate_folders(root, SUBFOLDERS), lambda f: (f / db_name(category, split)).is_dir())
    return None if folder is None else folder / db_name(category, split)


def _not_found(root, category: str, split: str) -> DataError:
    known = "" if category in CATEGORIES else f" (LSUN scene categories: {', '.join(CATEGORIES)})"
    return DataError(f"Dataset 'lsun-{category}' not found: no {db_name(category, split)}/ in "
                     f"{looked_in(candidate_folders(root, SUBFOLDERS))}{known}. {how_to_get(root, category)}")


def open_lmdb(path: Path):
    """A read-only LMDB environment, or a one-line DataError saying what is wrong with ``path``."""
    import lmdb

    data = path / "data.mdb"
    if not data.is_file():
        raise DataError(f"{path}: no data.mdb, so not an LMDB database; unzip the whole {path.name}.zip.")
    try:
        env = lmdb.open(str(path), readonly=True, lock=False, readahead=False, meminit=False)
    except lmdb.Error as exc:
        raise DataError(f"{data}: not a readable LMDB database ({exc}).") from None
    # A truncated data.mdb opens without complaint, but reading a page past its end kills
    # the process (SIGBUS), so compare the file with the length its header promises.
    needed = (env.info()["last_pgno"] + 1) * env.stat()["psize"]
    if data.stat().st_size < needed:
        env.close()
        raise DataError(f"{data}: truncated LMDB database: {data.stat().st_size} bytes, its header needs {needed}. Download it again.")
    return env


def read_lmdb_images(path: Path, size: int, limit: int, put: Callable[[int, np.ndarray], None]) -> int:
    """Decode the first ``limit`` (0 = all) images of a database in key order, handing each to ``put(i, chw)``."""
    import lmdb
    from tqdm import tqdm

    env = open_lmdb(path)
    try:
        total = count_images(env, limit)
        with env.begin(write=False) as txn, tqdm(total=total, desc=f"decoding {path.name}", unit="img",
                                                 disable=None, leave=False) as bar:
            for i, (key, value) in enumerate(txn.cursor()):
                if i >= total:
                    break
                image = decode_image(value, f"{path} key {key.decode(errors='replace')}")
                put(i, to_chw(center_crop_resize(image, size), 3))
                bar.update()
    except lmdb.Error as exc:
        raise DataError(f"{path / 'data.mdb'}: damaged LMDB database ({exc}). Download it again.") from None
    finally:
        env.close()
    return total


def count_images(env, limit: int) -> int:
    entries = env.stat()["entries"]
    return min(entries, limit) if limit else entries


def _count(path: Path, limit: int) -> int:
    env = open_lmdb(path)
    try:
        return count_images(env, limit)
    finally:
        env.close()


def read_with_holdout(path: Path, size: int, limit: int, every: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(train, test)``: image ``i`` (key order) is a test image when ``i % every == every - 1``.

    ``every=None`` holds nothing out. Images are written straight into preallocated tensors:
    a large category does not fit in memory twice.
    """
    n = _count(path, limit)
    n_test = n // every if every else 0
    train = torch.empty((n - n_test, 3, size, size), dtype=torch.uint8)
    test = torch.empty((n_test, 3, size, size), dtype=torch.uint8)

    def put(i, chw):
        if every and i % every == every - 1:
            test[i // every] = torch.from_numpy(chw)
        else:
            train[i - (i // every if every else 0)] = torch.from_numpy(chw)  # minus the test images before i

    read_lmdb_images(path, size, limit, put)
    return train, test


def _decode(category: str, train_db: Path, val_db: Path | None, size: int, limit: int, every: int) -> Dataset:
    if val_db is None:
        train_x, test_x = read_with_holdout(train_db, size, limit, every)
        notes = {"test": f"every {every}th training image (key order) held out"}
    else:
        train_x, _ = read_with_holdout(train_db, size, limit, None)
        test_x, _ = read_with_holdout(val_db, size, 0, None)
        notes = {"test": f"official validation database {val_db.name}"}
    return Dataset(f"lsun-{category}", train_x, _one_class(train_x), test_x, _one_class(test_x), [category],
                   source=str(train_db.parent), notes=notes)


def _one_class(images: torch.Tensor) -> torch.Tensor:
    return torch.zeros(len(images), dtype=torch.int64)


def load_lsun(root=None, argument=None, size: int = 64, limit: int = 0, test: str = "holdout",
              holdout_every: int = 100) -> Dataset:
    """``lsun-<category>`` (``argument`` is the category); see the module docstring for the split."""
    category = argument
    train_db = find_db(root, category, "train")
    if train_db is None:
        raise _not_found(root, category, "train")
    val_db = None
    if test == "val":
        val_db = find_db(root, category, "val")
        if val_db is None:
            raise _not_found(root, category, "val")
    for db in [train_db] + ([val_db] if val_db else []):
        open_lmdb(db).close()  # reports a missing, foreign or truncated data.mdb before the cache stats it
    sources = [train_db / "data.mdb"] + ([val_db / "data.mdb"] if val_db else [])
    params = {"size": size, "limit": limit, "test": test, "holdout_every": holdout_every}
    return cached(f"lsun-{category}", params, sources, lambda: _decode(category, train_db, val_db, size, limit, holdout_every))


def download_lsun(root=None, argument=None) -> Path:
    """No downloader: LSUN is distributed by its own script, tens of GB per category."""
    raise DataError(f"Dataset 'lsun-{argument}' cannot be downloaded by ganbench (torchvision has no LSUN downloader). {how_to_get(root, argument)}")


def locate_lsun(root=None, argument=None) -> Path | None:
    """The category's training database; with no category, the first folder holding any LSUN database."""
    if argument:
        return find_db(root, argument, "train")
    return first_match(candidate_folders(root, SUBFOLDERS), lambda f: any(f.glob("*_train_lmdb")))
