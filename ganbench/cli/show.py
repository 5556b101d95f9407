"""``ganbench show ...``: the pictures GAN papers show, drawn from a cached trained model.

Every command takes ``run``'s model / dataset / seed / schedule options (parsed
by ``run``'s own code, so ``--model-opt dcgan.width=16`` works here too), refuses
a model that lacks what the picture needs (an encoder, a generator) before
anything loads, uses the trained model in the cache (training it first only
when none is there, and saying so), writes one PNG and prints its path. The
pictures themselves are computed in :mod:`ganbench.reports.pictures`.
"""

from __future__ import annotations

from pathlib import Path

import click

from ganbench.system.errors import UsageError
from ganbench.store.guard import output_option

# what a picture needs of the model, checked before training (as a probe's ``requires``)
GENERATOR = frozenset({"generator"})
ENCODER = frozenset({"encoder"})
CAPABILITY_METHODS = {"encoder": "Model.encode", "generator": "Model.sample"}


def model_options(command):
    """The options every picture shares: which trained model to draw from, and where to write.
    They mean what they mean to ``ganbench run`` and are parsed by the same code (:func:`_job`)."""
    options = [
        click.option("--model", required=True, help="Model plugin (see `ganbench list models`)."),
        click.option("--dataset", default="mnist-5k", show_default=True, help="Dataset (see `ganbench list datasets`)."),
        click.option("--seed", type=int, default=0, show_default=True, help="The run's seed."),
        click.option("--data-root", type=click.Path(file_okay=False), help="Folder holding the dataset's files."),
        click.option("--cache-dir", default=None, help="Trained models [default: $GANBENCH_CACHE or ~/.cache/ganbench]."),
        click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N."),
        click.option("--epochs", type=click.IntRange(min=0), help="Training epochs [default: the model's schedule]."),
        click.option("--max-steps", type=click.IntRange(min=0), help="Training steps, as given to `ganbench run`."),
        click.option("--batch-size", type=click.IntRange(min=1), help="Training batch size [default: the model's]."),
        click.option("--at-epoch", type=click.IntRange(min=1),
                     help="Draw from the weights kept at the end of this epoch of the same training (never trains)."),
        click.option("--model-opt", "model_opts", multiple=True, metavar="[MODEL.]KEY=VALUE", help="Model option."),
        click.option("--dataset-opt", "dataset_opts", multiple=True, metavar="KEY=VALUE", help="Dataset option."),
        click.option("--output", type=click.Path(dir_okay=False), callback=output_option("picture", suffixes=(".png",)), help="PNG to write [default: in the model's cache folder]."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _job(model, dataset, seed, data_root, cache_dir, device, epochs, max_steps, batch_size, at_epoch, model_opts,
         dataset_opts):
    """The run's job for these options, built and checked as ``ganbench run`` builds and checks its own."""
    from ganbench.jobs.submit import build_jobs

    [job] = build_jobs([model], [dataset], probes=[], seeds=[seed], model_opts=model_opts, probe_opts=(),
                       dataset_opts=dataset_opts, cache_dir=cache_dir, views=(), data_root=data_root, device=device,
                       epochs=epochs, max_steps=max_steps, batch_size=batch_size, at_epoch=at_epoch)
    return job


def prepare(job):
    """The job's trained model, saying whether it came from the cache or is being trained now."""
    from ganbench.jobs.run import prepare_model

    def log(message):
        click.echo(message, err=True)

    prepared = prepare_model(job, log)
    if prepared.outcome.status != "ok":
        raise UsageError(f"Model '{job.model}' did not train ({prepared.outcome.status}: {prepared.outcome.error}); "
                         f"no picture. Its folder: {prepared.folder}.")
    return prepared


def check_capabilities(job, picture: str, needs: frozenset[str]) -> None:
    """A picture the model cannot draw is refused before anything loads or trains."""
    from ganbench.plugins import get_registry

    registry = get_registry()
    spec = registry.get("model", job.model)
    missing = needs - spec.capabilities
    if missing:
        able = [s.name for s in registry.all("model") if needs <= s.capabilities]
        lacks = " and ".join(f"{c} ({CAPABILITY_METHODS.get(c, c)})" for c in sorted(missing))
        raise UsageError(f"Model '{spec.name}' has no {lacks}; `ganbench show {picture}` needs it. "
                         f"Models that have it: {', '.join(able) or 'none'}.")


def prepared_model(picture: str, options: dict, needs: frozenset[str] = frozenset()):
    """Every picture's first steps: parse and check the options, then the cached (or newly trained) model."""
    job = _job(**options)
    check_capabilities(job, picture, needs)
    if job.at_epoch is None:
        click.echo(f"Using the cached {job.model} if there is one, else training it now "
                   f"(seed {job.seed}, cache {job.cache_dir}).", err=True)
    return job, prepare(job)


def _finish(path: Path) -> None:
    click.echo(str(path))


# A picture is for eyes: bounds that refuse a typo (--n 100000) in one line before a model is loaded, not
# after minutes of drawing an image nobody can look at.
MOST_IN_A_GRID = 1024
MOST_IN_A_LINE = 64
MOST_DRAWN = 100_000


@click.group("show")
def show_group():
    """Pictures of a trained model (PNG): samples, interpolations, z arithmetic, neighbours, reconstructions,
    curves, filters."""


def _target(prepared, output, name) -> Path:
    """``--output``, else the model's folder; a snapshot's pictures are named by its epoch, beside the final ones."""
    if output:
        return Path(output)
    epoch = prepared.snapshot_epoch
    return prepared.folder / (f"{name}.png" if epoch is None else f"{name}-epoch-{epoch:04d}.png")


@show_group.command("samples")
@model_options
@click.option("--n", type=click.IntRange(1, MOST_IN_A_GRID), default=64, show_default=True,
              help=f"Number of samples (at most {MOST_IN_A_GRID:,}, a 32 x 32 grid; `samples export` writes more).")
@click.option("--sample-seed", type=int, default=0, show_default=True, help="Seed of the latent draw (fixed: same picture).")
def samples_command(output, n, sample_seed, **options):
    """A grid of samples drawn at a fixed seed."""
    from ganbench.reports import pictures
    _, prepared = prepared_model("samples", options, GENERATOR)
    path = pictures.samples(prepared, _target(prepared, output, "samples"), n, sample_seed)
    if output and prepared.snapshot_epoch is None:  # the leaderboard's html shows the final weights' grid
        pictures.samples(prepared, prepared.folder / "samples.png", n, sample_seed)
    _finish(path)


@show_group.command("interpolate")
@model_options
@click.option("--rows", type=click.IntRange(1, MOST_IN_A_LINE), default=8, show_default=True, help="Pairs of latent points.")
@click.option("--steps", type=click.IntRange(2, MOST_IN_A_LINE), default=10, show_default=True, help="Images per row.")
@click.option("--sample-seed", type=int, default=0, show_default=True)
def interpolate_command(output, rows, steps, sample_seed, **options):
    """Rows walking in a straight line between two latent points (DCGAN §6.1)."""
    from ganbench.reports import pictures
    _, prepared = prepared_model("interpolate", options, GENERATOR)
    _finish(pictures.interpolate(prepared, _target(prepared, output, "interpolate"), rows, steps, sample_seed))


@show_group.command("arithmetic")
@model_options
@click.option("--concepts", default="A,B,C", show_default=True, metavar="A,B,C",
              help="Three class names or numbers: the picture shows A - B + C.")
@click.option("--indices", default=None, metavar="i,j,k;l,m,n;o,p,q",
              help="Exemplars by index into the latent draw instead of by class (3 per concept).")
@click.option("--pool", type=click.IntRange(30, MOST_DRAWN), default=2000, show_default=True,
              help="Latent points drawn to choose from.")
@click.option("--sample-seed", type=int, default=0, show_default=True)
def arithmetic_command(output, concepts, indices, pool, sample_seed, **options):
    """Vector arithmetic on z (DCGAN §6.3): mean z of three exemplars per concept, A - B + C."""
    from ganbench.reports import pictures
    _, prepared = prepared_model("arithmetic", options, GENERATOR)
    chosen = pictures.parse_indices(indices, pool) if indices else None
    names = None if chosen else pictures.parse_concepts(concepts, prepared.dataset)
    _finish(pictures.arithmetic(prepared, _target(prepared, output, "arithmetic"), names, chosen, pool, sample_seed))


@show_group.command("neighbors")
@model_options
@click.option("--n", type=click.IntRange(1, MOST_IN_A_LINE), default=8, show_default=True, help="Samples (rows).")
@click.option("--k", type=click.IntRange(1, MOST_IN_A_LINE), default=6, show_default=True,
              help="Nearest training images per sample.")
@click.option("--sample-seed", type=int, default=0, show_default=True)
def neighbors_command(output, n, k, sample_seed, **options):
    """Samples beside their nearest training images (L2 in pixel space, FAISS)."""
    from ganbench.reports import pictures
    _, prepared = prepared_model("neighbors", options, GENERATOR)
    _finish(pictures.neighbors(prepared, _target(prepared, output, "neighbors"), n, k, sample_seed))


@show_group.command("reconstructions")
@model_options
@click.option("--per-class", type=click.IntRange(1, MOST_IN_A_LINE), default=2, show_default=True,
              help="Test images of each class.")
def reconstructions_command(output, per_class, **options):
    """Test images above their reconstructions G(E(x)), for a model with an encoder (bigan)."""
    from ganbench.reports import pictures
    _, prepared = prepared_model("reconstructions", options, ENCODER)
    path, error, baseline = pictures.reconstructions(prepared, _target(prepared, output, "reconstructions"), per_class)
    click.echo(f"mean L2 reconstruction error {error:.3f} (against another test image: {baseline:.3f})", err=True)
    _finish(path)


@show_group.command("curves")
@model_options
def curves_command(output, **options):
    """Losses and D(x) / D(G(z)) (or the model's other statistics) over training, from log.jsonl."""
    from ganbench.reports import pictures
    _, prepared = prepared_model("curves", options)
    _finish(pictures.curves(prepared, _target(prepared, output, "curves")))


@show_group.command("filters")
@model_options
@click.option("--network", default="d", show_default=True, help="Which of the model's networks (its modules()).")
@click.option("--layer", type=int, default=-1, show_default=True, help="Which activation layer, counted from 0 (-1: the last).")
@click.option("--units", type=click.IntRange(1, MOST_IN_A_LINE), default=8, show_default=True, help="Most active units shown.")
def filters_command(output, network, layer, units, **options):
    """Guided backpropagation of the most active units of a D layer on real images (DCGAN §6.2), beside random-d's."""
    from ganbench.reports import pictures
    job, prepared = prepared_model("filters", options)
    baseline = None
    if network == "d" and "random-d" in _model_names():
        width_size = {k: v for k, v in prepared.resolved.model_options.items() if k in ("width", "image_size")}
        base_job = _job(model="random-d", dataset=job.dataset, seed=job.seed, data_root=job.data_root,
                        cache_dir=job.cache_dir, device=job.device, epochs=None, max_steps=None, batch_size=None,
                        model_opts=[f"{k}={v}" for k, v in width_size.items()], dataset_opts=[
                            f"{k}={v}" for k, v in job.dataset_options.items()])
        baseline = prepare(base_job)
    _finish(pictures.filters(prepared, baseline, _target(prepared, output, "filters"), network, layer, units))


def _model_names() -> list[str]:
    from ganbench.plugins import get_registry

    return get_registry().names("model")
