"""``ganbench dedup``: list the duplicate groups of a dataset's training split.

Duplicates are found with the DCGAN-paper hash
(:mod:`ganbench.builtin.probes.memorization.hashing`): an autoencoder trained on the
training split, its 128 ReLU code units thresholded at 0. The list is JSON::

    {"format": "ganbench-dedup", "version": 1,
     "dataset": "mnist", "fingerprint": "<the dataset's fingerprint>",
     "split": "train", "n_train": 60000,
     "hash": {<HashSettings: noise, dropout, epochs, radius, seed, ...>},
     "groups": [[3, 17], [40, 41, 900], ...],   # train indices, ascending
     "drop": [17, 41, 900, ...]}                 # all but the first of each group

The dataset is loaded as ``ganbench run`` loads it, ``--dataset-opt`` included
(LSUN ``limit``/``size``, SVHN ``extra``, folder ``size`` change the images and
so the fingerprint). It is written by default to ``<cache dir>/dedup/<dataset>-<fingerprint>.json``
(:func:`ganbench.system.paths.dedup_path`), where ``ganbench run ... --dedup``
reads it; the fingerprint in the name ties the list to the exact bytes it
was computed from.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ganbench import __version__, hookimpl
from ganbench.builtin.probes.memorization.hash_settings import HashSettings
from ganbench.api.options import split_assignments
from ganbench.store.guard import check_cache_dir, output_option
from ganbench.system.paths import dedup_path

if TYPE_CHECKING:  # torch and faiss are imported when the command runs, not by `ganbench --help`
    from ganbench.api.data import Dataset

FORMAT = "ganbench-dedup"
VERSION = 1


def dedup_report(dataset: Dataset, settings: HashSettings, device="cpu", log=lambda message: None) -> dict:
    """Train the hash on ``dataset``'s training split and list its duplicate groups."""
    from ganbench.builtin.probes.memorization.hashing import duplicate_groups, hash_bits, indices_to_drop, train_hash

    log(f"dedup: training the hash autoencoder on {len(dataset.train_x)} images ({settings.epochs} epochs)")
    trained = train_hash(dataset.train_x, settings, device)
    groups = duplicate_groups(hash_bits(trained.codes(dataset.train_x)), settings.radius)
    return {
        "format": FORMAT,
        "version": VERSION,
        "ganbench_version": __version__,
        "dataset": dataset.name,
        "fingerprint": dataset.fingerprint,
        "split": "train",
        "n_train": len(dataset.train_x),
        "hash": {**settings.describe(), "final_loss": trained.final_loss, "seconds": round(trained.seconds, 2)},
        "groups": groups,
        "drop": indices_to_drop(groups),
    }


def write_report(report: dict, path: Path) -> Path:
    """Write atomically, so a reader never sees half a list."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as handle:
        json.dump(report, handle)
        handle.write("\n")
    os.replace(handle.name, path)
    return path


def load_dataset(name: str, data_root: str | None, options: dict[str, str] | None = None) -> Dataset:
    """The dataset exactly as ``ganbench run --dataset NAME --dataset-opt ...`` loads it (before ``--dedup``),
    so the list's fingerprint is the one ``run --dedup`` looks for."""
    from ganbench.datasets.open import open_dataset, resolve_dataset

    return open_dataset(*resolve_dataset(name, options or {}), data_root)


@click.command("dedup")
@click.option("--dataset", required=True, help="Dataset (see `ganbench list datasets`).")
@click.option("--data-root", type=click.Path(file_okay=False), help="Folder holding the dataset's files.")
@click.option("--dataset-opt", "dataset_opts", multiple=True, metavar="KEY=VALUE",
              help="Dataset option, as given to `ganbench run` (the list is tied to the dataset these options load).")
@click.option("--output", type=click.Path(dir_okay=False), callback=output_option("duplicate list", suffixes=(".json",)), help="Where to write the list [default: <cache dir>/dedup/<dataset>-<fingerprint>.json].")
@click.option("--cache-dir", default=None, help="Cache folder [default: $GANBENCH_CACHE or ~/.cache/ganbench].")
@click.option("--radius", type=click.IntRange(min=0), default=0, show_default=True, help="Hamming radius: hashes this many bits apart are duplicates (0 = the paper's rule).")
@click.option("--epochs", type=click.IntRange(min=1), default=HashSettings.epochs, show_default=True, help="Epochs of hash-autoencoder training.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
              help="Seed of the hash autoencoder (0 to 2**32-1).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
def dedup_command(dataset, data_root, dataset_opts, output, cache_dir, radius, epochs, seed, device):
    """List near-duplicate training images (DCGAN §4.1.1 hash) for `ganbench run --dedup`."""
    cache = None if output else check_cache_dir(cache_dir)  # where the list goes, checked before the dataset loads
    data = load_dataset(dataset, data_root, dict(split_assignments(dataset_opts, "--dataset-opt")))
    from ganbench.system.device import resolve_device

    settings = HashSettings(radius=radius, epochs=epochs, seed=seed)
    report = dedup_report(data, settings, resolve_device(device), log=lambda m: click.echo(m, err=True))
    path = Path(output) if output else dedup_path(cache, data.name, data.fingerprint)
    write_report(report, path)
    click.echo(f"{data.name}: {len(report['groups'])} duplicate group(s), {len(report['drop'])} of "
               f"{report['n_train']} training images to drop; wrote {path}")


@hookimpl
def register_commands(cli):
    """``ganbench dedup``: registered here, as ``ganbench data`` is from :mod:`ganbench.cli.data`
    (this module imports no torch until the command runs)."""
    cli.add_command(dedup_command)
