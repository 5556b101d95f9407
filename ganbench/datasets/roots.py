"""Where dataset files are looked for: the data root and the folders under it.

The data root is, in this order of precedence:

1. ``--data-root DIR`` (passed to every loader as ``root``),
2. the environment variable ``GANBENCH_DATA``,
3. the user data folder ``$XDG_DATA_HOME/ganbench``, else
   ``~/.local/share/ganbench``.

Layout under a data root (``ganbench data download`` writes the same)::

    <root>/mnist/                 train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
                                  t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]
    <root>/MNIST/raw/             the same files, as torchvision downloads them
    <root>/fashion-mnist/         the same four names, Fashion-MNIST content
    <root>/FashionMNIST/raw/      ditto, as torchvision downloads them
    <root>/cifar-10-batches-bin/  data_batch_1.bin ... data_batch_5.bin, test_batch.bin, batches.meta.txt
    <root>/cifar-10-batches-py/   data_batch_1 ... data_batch_5, test_batch, batches.meta
    <root>/svhn/                  train_32x32.mat, test_32x32.mat, [extra_32x32.mat]
    <root>/lsun/                  <category>_train_lmdb/, [<category>_val_lmdb/]

Every dataset also accepts the root itself holding its files
(``--data-root ~/data/mnist``). Sub-folders are tried before the root itself,
so a root that holds several datasets still resolves each to its own folder.
Fashion-MNIST is also looked for where Debian's ``dataset-fashion-mnist``
installs it, ``/usr/share/datasets/fashion-mnist``, after the data root.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterable

DATA_ENV = "GANBENCH_DATA"


def resolve_data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: ``root`` if given, else ``$GANBENCH_DATA``, else the user data folder."""
    if root is not None and str(root) != "":
        chosen = Path(root)
    elif os.environ.get(DATA_ENV):
        chosen = Path(os.environ[DATA_ENV])
    else:
        chosen = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "ganbench"
    return Path(os.path.abspath(chosen.expanduser()))  # absolute: messages and recorded sources name the real place


def candidate_folders(root, subfolders: Iterable[str], system_folders: Iterable[str] = ()) -> list[Path]:
    """Folders to search, in order: ``<root>/<sub>`` for each sub-folder, the root itself, system folders."""
    base = resolve_data_root(root)
    return [base / sub for sub in subfolders] + [base] + [Path(p) for p in system_folders]


def first_match(folders: Iterable[Path], has_data: Callable[[Path], bool]) -> Path | None:
    """The first folder for which ``has_data`` is true, or ``None``."""
    for folder in folders:
        if folder.is_dir() and has_data(folder):
            return folder
    return None


def looked_in(folders: Iterable[Path]) -> str:
    """``"a, b, c"``: the places searched, for an error message."""
    return ", ".join(str(f) for f in folders)
