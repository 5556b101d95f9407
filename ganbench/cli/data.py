"""``ganbench data list | check | download``: what data is there, what it holds, fetch it.

Every command takes ``--data-root DIR`` (else ``GANBENCH_DATA``, else the
user data folder; see :mod:`ganbench.datasets.roots`). Missing or damaged
data raises :class:`ganbench.system.errors.DataError`, which the main CLI prints as
one line with exit code 2.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ganbench import hookimpl
from ganbench.system.errors import UsageError
from ganbench.api.options import split_assignments
from ganbench.datasets.roots import resolve_data_root

if TYPE_CHECKING:  # torch is imported by the commands that load data, not by `ganbench --help`
    from ganbench.api.data import Dataset

data_root_option = click.option(
    "--data-root", type=click.Path(file_okay=False), default=None,
    help="Folder holding the datasets (default: $GANBENCH_DATA, else ~/.local/share/ganbench).",
)


def _registry():
    from ganbench.plugins import get_registry

    return get_registry()


def _spec_and_argument(name: str):
    from ganbench.datasets.open import dataset_spec  # at run time: opening datasets imports torch

    return dataset_spec(name)


def disk_size(path: Path) -> int:
    """Bytes of a file, or of every file under a folder."""
    if path.is_file():
        return path.stat().st_size
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def human_bytes(n: int) -> str:
    """``"26.4 MB"``: decimal units, as file managers show them."""
    for unit in ("B", "kB", "MB"):
        if n < 1000:
            return f"{n:.0f} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def list_row(name: str, spec, argument, root) -> tuple[str, str, str, str]:
    """``(name, status, where, size on disk)`` of one dataset."""
    if spec.locate is None:  # the plugin cannot say where its data is (DatasetSpec.locate)
        return name, "unknown", "(its plugin gives no locate)", "-"
    try:
        where = spec.locate(root, argument)
    except Exception as exc:  # a plugin's locate failing hides no other dataset
        return name, "error", f"locate failed: {type(exc).__name__}: {exc}", "-"
    if where is None:
        return name, "none found" if "{" in name else "missing", "-", "-"
    path = Path(where) if os.path.exists(str(where)) else None  # a locate may answer in words ("embedded")
    return name, "found", str(where), human_bytes(disk_size(path)) if path else "-"


def list_rows(root, names=()) -> list[tuple[str, str, str, str]]:
    """Rows for ``names`` (``lsun-bedroom``, ``folder:imgs``), or for every registered dataset."""
    if names:
        return [list_row(name, *_spec_and_argument(name), root) for name in names]
    return [list_row(spec.name, spec, None, root) for spec in _registry().all("dataset")]


def check_report(dataset: Dataset) -> list[str]:
    """Counts per split and class, image size and fingerprint, as lines of text."""
    import torch

    c, h, w = dataset.image_shape
    lines = [
        f"dataset      {dataset.name}",
        f"source       {dataset.source}",
        f"image size   {c} x {h} x {w} (channels x height x width), uint8",
        f"train        {len(dataset.train_y):,}",
        f"test         {len(dataset.test_y):,}",
        f"classes      {dataset.num_classes}",
        f"fingerprint  {dataset.fingerprint}",
    ]
    lines += [f"note         {k}: {v}" for k, v in dataset.notes.items()]
    counts = {s: torch.bincount(dataset.split(s)[1], minlength=dataset.num_classes) for s in ("train", "test")}
    width = max([5] + [len(str(n)) for n in dataset.classes])
    lines.append(f"{'label':>5}  {'class':<{width}}  {'train':>10}  {'test':>10}")
    for i, cls in enumerate(dataset.classes):
        lines.append(f"{i:>5}  {cls:<{width}}  {int(counts['train'][i]):>10,}  {int(counts['test'][i]):>10,}")
    return lines


@click.group("data")
def data_group():
    """List, check and download datasets."""


@data_group.command("list")
@click.argument("names", nargs=-1)
@data_root_option
def list_command(names, data_root):
    """Every dataset (or just NAMES, e.g. lsun-bedroom): found or not, where, size on disk."""
    click.echo(f"data root: {resolve_data_root(data_root)}")
    rows = list_rows(data_root, names)
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for name, status, where, size in rows:
        click.echo(f"{name:<{widths[0]}}  {status:<{widths[1]}}  {where:<{widths[2]}}  {size}")


@data_group.command("check")
@click.argument("name")
@data_root_option
@click.option("--dataset-opt", "dataset_opts", multiple=True, metavar="KEY=VALUE",
              help="A dataset option, e.g. --dataset-opt extra=true (repeatable).")
def check_command(name, data_root, dataset_opts):
    """Load NAME and report counts per split and class, image size and fingerprint."""
    options = dict(split_assignments(dataset_opts, "--dataset-opt"))
    for line in check_report(_load(name, data_root, options)):
        click.echo(line)


@data_group.command("download")
@click.argument("name")
@data_root_option
def download_command(name, data_root):
    """Download NAME into the data root with torchvision's downloaders."""
    spec, argument = _spec_and_argument(name)
    if spec.download is None:
        raise UsageError(f"Dataset '{name}' has no downloader; {spec.description}. Put its files under {resolve_data_root(data_root)} by hand.")
    folder = spec.download(data_root, argument)
    click.echo(f"{name}: downloaded into {folder}")


@hookimpl
def register_commands(cli):
    cli.add_command(data_group)


def _load(name: str, root, options):
    from ganbench.datasets.open import load_dataset  # at run time: decoding imports torch

    return load_dataset(name, root, options)
