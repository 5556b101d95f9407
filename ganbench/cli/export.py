"""``ganbench features export`` and ``ganbench samples export``: ganbench's features and samples,
taken to other tools.

Both get their model exactly as ``ganbench run`` does (:func:`ganbench.jobs.run.prepare_model`:
trained, or loaded from the cache, or a snapshot with ``--at-epoch``) and extract with the
run's own :class:`ganbench.jobs.run.FeatureSource` and generator, so an exported file holds the
very figures a probe sees. Files are written without pickle (:mod:`ganbench.store.feature_files`).

This module imports no torch: the commands import what they need when they run.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import click

from ganbench import __version__, hookimpl
from ganbench.system.errors import UsageError
from ganbench.api.options import split_assignments
from ganbench.store.guard import check_cache_dir, check_output, output_option

SPLIT_CHOICES = ("train", "test", "both")
MAX_SAMPLES = 100_000  # images drawn and held in memory at once (uint8 and float): beyond, several exports


def model_request_options(command):
    """Which trained model to use: ``ganbench run``'s model, dataset, seed and schedule options."""
    options = [
        click.option("--model", required=True, help="Model plugin (see `ganbench list models`)."),
        click.option("--model-opt", "model_opts", multiple=True, metavar="KEY=VALUE", help="Model option."),
        click.option("--dataset", default="mnist-5k", show_default=True, help="Dataset (see `ganbench list datasets`)."),
        click.option("--data-root", type=click.Path(file_okay=False), help="Folder holding the dataset's files."),
        click.option("--dataset-opt", "dataset_opts", multiple=True, metavar="KEY=VALUE", help="Dataset option."),
        click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=0, show_default=True,
                     help="The run's seed (training)."),
        click.option("--cache-dir", default=None, help="Trained models [default: $GANBENCH_CACHE or ~/.cache/ganbench]."),
        click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N."),
        click.option("--epochs", type=click.IntRange(min=0), help="Training epochs [default: the model's schedule]."),
        click.option("--max-steps", type=click.IntRange(min=0), help="Training steps, as given to `ganbench run`."),
        click.option("--batch-size", type=click.IntRange(min=1), help="Training batch size [default: the model's]."),
        click.option("--at-epoch", type=click.IntRange(min=1), help="The weights at the end of this epoch of the same "
                     "training (a snapshot); never trains."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def make_job(model, model_opts, dataset, data_root, dataset_opts, seed, cache_dir, device, epochs, max_steps,
             batch_size, at_epoch, views=None, bn_stats="train-images"):
    from ganbench.jobs.run import Job

    return Job(model=model, dataset=dataset, probes=[], model_options=dict(split_assignments(model_opts, "--model-opt")),
               dataset_options=dict(split_assignments(dataset_opts, "--dataset-opt")), seed=seed, data_root=data_root,
               cache_dir=str(check_cache_dir(cache_dir)), device=device, epochs=epochs, max_steps=max_steps,
               batch_size=batch_size, at_epoch=at_epoch, views=views, bn_stats=bn_stats)


def _log(message: str) -> None:
    click.echo(message, err=True)


def prepare(job):
    """The job's model, trained or loaded as ``ganbench run`` would; UsageError when it did not train."""
    from ganbench.jobs.run import prepare_model

    prepared = prepare_model(job, _log)
    if prepared.outcome.status != "ok":
        raise UsageError(f"Model '{job.model}' did not train ({prepared.outcome.status}: {prepared.outcome.error}); "
                         f"nothing to export. Its folder: {prepared.folder}.")
    return prepared


def _capable(job, capability: str, what: str) -> object:
    """The resolved request, refused in one line (before anything loads) when the model lacks ``capability``."""
    from ganbench.jobs.run import resolve

    resolved = resolve(job)
    spec = resolved.model_spec
    if capability not in spec.capabilities:
        from ganbench.plugins import get_registry

        able = [s.name for s in get_registry().all("model") if capability in s.capabilities]
        raise UsageError(f"Model '{spec.name}' has no {capability} ({what}); it offers "
                         f"{', '.join(sorted(spec.capabilities)) or 'nothing'}. Models with one: {', '.join(able)}.")
    return resolved


# -- features ---------------------------------------------------------------
@click.group("features")
def features_group():
    """Features of a model, to a file (`--model features` reads such files back)."""


@features_group.command("export")
@model_request_options
@click.option("--view", default=None, help="Feature view [default: the model's only view; required when it has several].")
@click.option("--split", "split", type=click.Choice(SPLIT_CHOICES), default="both", show_default=True,
              help="Which split(s) to export.")
@click.option("--bn-stats", type=click.Choice(["train-images", "running"]), default="train-images", show_default=True,
              help="Batch-norm statistics of the features, as `ganbench run --bn-stats`.")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              callback=output_option("features file", suffixes=(".npz", ".safetensors")),
              help="File to write: *.npz (numpy) or *.safetensors (never in a result store's folder).")
def features_export_command(view, split, bn_stats, out, **request):
    """Write a model's features of one view (float32), the labels and a metadata record to one file."""
    from ganbench.store import feature_files
    job = make_job(**request, views=[view] if view else None, bn_stats=bn_stats)
    resolved = _capable(job, "features", "feature views")
    prepared = prepare(job)
    view = _one_view(view, prepared.model, job.model)
    source = prepared.features
    source.progress = True  # a bar per split; quiet when stderr is not a terminal
    splits = ["train", "test"] if split == "both" else [split]
    arrays = {}
    for name in splits:
        arrays[name] = source.split(name, view)
        arrays[f"{name}_labels"] = prepared.dataset.split(name)[1].numpy().astype("int64")
    metadata = export_metadata(prepared, resolved, job.seed, view, split, source.config(view), arrays)
    path = feature_files.write(out, arrays, metadata)
    shapes = ", ".join(f"{n} {arrays[n].shape[0]:,} x {arrays[n].shape[1]:,}" for n in splits)
    _log(f"Wrote {shapes} features of '{job.model}' view '{view}' to {path}")
    click.echo(str(path))


def _one_view(view: str | None, model, name: str) -> str:
    views = list(model.feature_views())
    if view is not None:
        return view  # checked by resolve() against the model's views
    if len(views) != 1:
        raise UsageError(f"Model '{name}' has views {', '.join(views)}: pick one with --view.")
    return views[0]


def export_metadata(prepared, resolved, seed: int, view: str, split: str, feature_config: dict, arrays: dict) -> dict:
    """What the file's features are: enough to know them again and to check them against a dataset."""
    dataset, spec = prepared.dataset, resolved.model_spec
    return {
        "format": "ganbench-features", "format_version": 1, "ganbench_version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": spec.name, "model_version": spec.version, "model_options": resolved.model_config,
        "model_config_hash": prepared.key, "seed": seed,
        "schedule": prepared.outcome.schedule, "at_epoch": prepared.snapshot_epoch,
        "view": view, "dim": int(next(a for n, a in arrays.items() if not n.endswith("_labels")).shape[1]),
        "feature_config": feature_config,
        "dataset": dataset.name, "dataset_fingerprint": dataset.fingerprint, "dataset_options": resolved.dataset_options,
        "split": split, "classes": list(dataset.classes),
    }


# -- samples ----------------------------------------------------------------
@click.group("samples")
def samples_group():
    """Generated images of a model, to files that external tools (torch-fidelity, clean-fid) read."""


@samples_group.command("export")
@model_request_options
@click.option("--n", "n", type=click.IntRange(1, MAX_SAMPLES), required=True,
              help=f"Number of images (at most {MAX_SAMPLES:,}: they are drawn in memory; FID takes 50,000).")
@click.option("--sample-seed", type=click.IntRange(0, 2**32 - 1), default=None,
              help="Seed of the draw [default: --seed]; the same seeds give the same images.")
@click.option("--out", required=True, type=click.Path(), callback=lambda ctx, param, value: _check_samples_out(value),
              help="A folder (one PNG per image, 00000.png, ...) or a *.npz file (uint8 NHWC under 'images'); never in "
                   "a result store's folder.")
def samples_export_command(n, sample_seed, out, **request):
    """Write N generated images as PNGs in a folder or as one .npz (uint8, NHWC)."""
    job = make_job(**request)
    out_path = out
    _capable(job, "generator", "samples to draw")
    prepared = prepare(job)
    from ganbench.jobs.run import generator_for

    seed = job.seed if sample_seed is None else sample_seed
    images = generator_for(prepared.model, prepared.dataset, prepared.device)(n, seed)
    nhwc = images.permute(0, 2, 3, 1).contiguous().numpy()
    if out_path.suffix.lower() == ".npz":
        write_npz_images(out_path, nhwc, {"model": job.model, "model_options": prepared.resolved.model_config,
                                          "model_config_hash": prepared.key, "dataset": prepared.dataset.name,
                                          "dataset_fingerprint": prepared.dataset.fingerprint, "seed": job.seed,
                                          "sample_seed": seed, "ganbench_version": __version__})
    else:
        write_pngs(out_path, nhwc)
    _log(f"Wrote {n:,} images of '{job.model}' (sample seed {seed}) to {out_path}")
    click.echo(str(out_path))


def _check_samples_out(value: str) -> Path:
    """``--out`` checked by the output guard before anything loads: a *.npz file, or a new or empty folder."""
    path = Path(value).expanduser()
    if path.suffix.lower() == ".npz":
        return check_output(path, "--out", "images", suffixes=(".npz",))
    if path.suffix:
        raise UsageError(f"--out {path}: give a folder (for PNGs) or a *.npz file, not *{path.suffix}.")
    check_output(path, "--out", "images", folder=True)
    if path.exists() and any(path.glob("*.png")):
        raise UsageError(f"--out {path} already holds PNGs; give an empty or new folder, so that images of two runs "
                         f"never mix.")
    return path


def write_npz_images(path: Path, nhwc, metadata: dict) -> None:
    import json

    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez(tmp, images=nhwc, metadata=np.array(json.dumps(metadata, sort_keys=True, default=str)))
    tmp.replace(path)


def write_pngs(folder: Path, nhwc) -> None:
    """One PNG per image, grayscale (``L``) or RGB, named by index so that they sort in order."""
    from PIL import Image
    from tqdm import tqdm

    folder.mkdir(parents=True, exist_ok=True)
    width = max(5, len(str(len(nhwc) - 1)))
    for i, image in enumerate(tqdm(nhwc, desc="writing PNGs", unit="img", disable=None, leave=False)):
        pixels = image[:, :, 0] if image.shape[2] == 1 else image
        Image.fromarray(pixels).save(folder / f"{i:0{width}d}.png")


@hookimpl
def register_commands(cli):
    cli.add_command(features_group)
    cli.add_command(samples_group)
