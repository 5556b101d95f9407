"""The ``ganbench`` command line.

User errors (``UsageError`` from anywhere, click's own usage errors) print
one line and exit with code 2; nothing else is caught.
"""

from __future__ import annotations

import json
import sys
import warnings

import click
from tabulate import tabulate

from . import __version__
from .errors import UsageError
from .options import split_assignments
from .paths import DEFAULT_RESULTS, default_cache_dir
from .plugins import PluginLoadWarning, add_commands, get_registry, plugin_infos
from .store import StoreWarning, append_rows, load_results, read_rows, store_path

KIND_OF = {"models": "model", "probes": "probe", "datasets": "dataset", "executors": "executor"}


class GanbenchGroup(click.Group):
    """A click group whose every user error is one line on stderr and exit code 2."""

    def main(self, args=None, prog_name=None, standalone_mode=True, **extra):
        warnings.showwarning = _show_warning
        try:
            return super().main(args=args, prog_name=prog_name, standalone_mode=False, **extra)
        except UsageError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help())
            sys.exit(0)
        except click.ClickException as exc:
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)


@click.group(cls=GanbenchGroup)
@click.version_option(__version__, prog_name="ganbench")
def cli():
    """Benchmark the representations GANs learn: train, probe, compare."""


# -- list / plugins ---------------------------------------------------------
def _capabilities(kind: str, spec) -> str:
    if kind == "model":
        caps = sorted(spec.capabilities) + (["trains on labels"] if spec.trains_on_labels else [])
        return ", ".join(caps)
    if kind == "probe":
        return "needs " + ", ".join(sorted(spec.requires))
    return ""


@cli.command("list")
@click.argument("what", type=click.Choice(sorted(KIND_OF)), required=False)
@click.option("--options", "show_options", is_flag=True, help="Show every plugin option with its default.")
def list_command(what, show_options):
    """List models, probes, datasets and executors."""
    registry = get_registry()
    for group in [what] if what else sorted(KIND_OF):
        kind = KIND_OF[group]
        rows = [[s.name, s.version, s.description, s.plugin, _capabilities(kind, s)] for s in registry.all(kind)]
        click.echo(f"{group}:")
        click.echo(tabulate(rows, headers=["name", "version", "description", "plugin", "capabilities"]))
        if show_options:
            for spec in registry.all(kind):
                for opt in spec.options:
                    click.echo(f"  {spec.name}: {opt.name} ({opt.type}, default {opt.default}) {opt.help}")
        click.echo()


@cli.command("plugins")
def plugins_command():
    """List every plugin: name, version, hooks, and broken ones."""
    rows = []
    for info in plugin_infos():
        status = "builtin" if info.builtin else "installed"
        rows.append([info.name, info.version, ", ".join(info.hooks) or "-", f"BROKEN: {info.error}" if info.error else status])
    click.echo(tabulate(rows, headers=["plugin", "version", "hooks", "status"]))


def route_options(kind: str, names: list[str], assignments: list[tuple[str, str]], flag: str) -> dict[str, dict[str, str]]:
    """Route ``knn.k=1`` to knn, and an unprefixed ``k=1`` to every plugin named that declares ``k``."""
    registry = get_registry()
    routed = {n: {} for n in names}
    for key, value in assignments:
        owner, dot, name = key.partition(".")
        if dot:  # option names hold no dots: this names its plugin
            if owner not in routed:
                raise UsageError(f"{flag} {key}={value}: {kind} '{owner}' is not among --{kind} {', '.join(names)}.")
            routed[owner][name] = value
            continue
        takers = [n for n in names if any(o.name == key for o in registry.get(kind, n).options)]
        for n in takers or names[:1]:  # no taker: the first plugin reports the unknown option
            routed[n][key] = value
    return routed


def job_options(command):
    """The options ``run`` and ``sweep`` share."""
    options = [
        click.option("--probe", "probes", multiple=True, required=True, help="Probe plugin; repeat for several."),
        click.option("--data-root", type=click.Path(file_okay=False), help="Folder holding the dataset's files."),
        click.option("--seed", "seeds", type=int, multiple=True, default=[0], show_default=True, help="Seed; repeat for several runs."),
        click.option("--results", "results_dir", default=DEFAULT_RESULTS, show_default=True, help="Folder of the result store (or a .jsonl file)."),
        click.option("--cache-dir", default=None, help="Trained models and features [default: $GANBENCH_CACHE or ~/.cache/ganbench]."),
        click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N."),
        click.option("--epochs", type=click.IntRange(min=0), help="Training epochs [default: the model's schedule]."),
        click.option("--max-steps", type=click.IntRange(min=0), help="Stop training after this many steps."),
        click.option("--batch-size", type=click.IntRange(min=1), help="Training batch size [default: the model's]."),
        click.option("--checkpoint-every", type=click.IntRange(min=1), default=200, show_default=True, help="Steps between checkpoints."),
        click.option("--view", "views", multiple=True, help="Feature view to probe; repeat for several [default: all]."),
        click.option("--model-opt", "model_opts", multiple=True, metavar="[MODEL.]KEY=VALUE", help="Model option."),
        click.option("--probe-opt", "probe_opts", multiple=True, metavar="[PROBE.]KEY=VALUE", help="Probe option."),
        click.option("--dataset-opt", "dataset_opts", multiple=True, metavar="KEY=VALUE", help="Dataset option."),
        click.option("--executor", default="local", show_default=True, help="Job executor (see `ganbench list executors`)."),
        click.option("--dedup", is_flag=True, help="Train on the dataset without the duplicates `ganbench dedup` listed."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def build_jobs(models, datasets, probes, seeds, model_opts, probe_opts, dataset_opts, cache_dir, views, **settings):
    """One job per (model, dataset, seed), every name and option checked."""
    from .run import Job, ProbeRequest, resolve

    models, probes = list(dict.fromkeys(models)), list(dict.fromkeys(probes))
    routed_probe = route_options("probe", probes, split_assignments(probe_opts, "--probe-opt"), "--probe-opt")
    routed_model = route_options("model", models, split_assignments(model_opts, "--model-opt"), "--model-opt")
    jobs = [
        Job(model=m, dataset=d, probes=[ProbeRequest(p, routed_probe[p]) for p in probes], model_options=routed_model[m],
            dataset_options=dict(split_assignments(dataset_opts, "--dataset-opt")), seed=seed,
            cache_dir=str(cache_dir or default_cache_dir()), views=list(views) or None, **settings)
        for m in models for d in dict.fromkeys(datasets) for seed in dict.fromkeys(seeds)
    ]
    for job in jobs:
        resolve(job)  # before anything loads or trains
    return jobs


def execute(jobs, executor: str, results_dir: str) -> None:
    runner = get_registry().get("executor", executor).factory()
    produced = []

    def on_rows(rows):
        append_rows(results_dir, rows)
        produced.extend(rows)

    runner.run(jobs, on_rows)
    _print_rows(produced)
    click.echo(f"{len(produced)} row(s) appended to {store_path(results_dir)}", err=True)
    if any(r["status"] == "failed" for r in produced):
        sys.exit(1)


@cli.command("run")
@click.option("--model", "model", required=True, help="Model plugin (see `ganbench list models`).")
@click.option("--dataset", default="mnist-5k", show_default=True, help="Dataset (see `ganbench list datasets`).")
@job_options
def run_command(model, dataset, executor, results_dir, **options):
    """Train (or load) a model, probe its features, append the rows to the store."""
    execute(build_jobs([model], [dataset], **options), executor, results_dir)


@cli.command("sweep")
@click.option("--model", "models", multiple=True, required=True, help="Model plugin; repeat for several.")
@click.option("--dataset", "datasets", multiple=True, default=["mnist-5k"], show_default=True, help="Dataset; repeat for several.")
@job_options
def sweep_command(models, datasets, executor, results_dir, **options):
    """Run models x datasets x seeds, skipping the requests whose rows are stored."""
    from .run import pending

    done = {r.get("job_key") for r in read_rows(results_dir, warn=False) if r["status"] == "ok"}
    jobs = build_jobs(models, datasets, **options)
    left = [j for j in (pending(job, done) for job in jobs) if j is not None]
    skipped = sum(len(j.probes) for j in jobs) - sum(len(j.probes) for j in left)
    click.echo(f"{len(jobs)} job(s); {skipped} (job, probe) request(s) already stored, skipped.", err=True)
    if left:
        execute(left, executor, results_dir)


def _print_rows(rows):
    table = [[r["model"], r["feature_view"] or "-", r["probe"], r["metric"] or "-",
              "" if r["value"] is None else f"{r['value']:.4f}", r["status"]] for r in rows]
    click.echo(tabulate(table, headers=["model", "view", "probe", "metric", "value", "status"], disable_numparse=True))


# -- results / leaderboard --------------------------------------------------
SHORT_COLUMNS = ["created_at", "model", "dataset", "probe", "feature_view", "seed", "metric", "value", "stderr", "status"]


@cli.command("results")
@click.argument("results_dir", default=DEFAULT_RESULTS, required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def results_command(results_dir, fmt):
    """Show the stored rows (json: every field)."""
    frame = load_results(results_dir)
    if fmt == "json":
        click.echo(frame.to_json(orient="records", indent=1))
    elif fmt == "csv":
        click.echo(frame.to_csv(index=False), nl=False)
    else:
        click.echo(tabulate(frame[SHORT_COLUMNS], headers="keys", showindex=False, floatfmt=".4f") if len(frame) else "no rows")


from .leaderboard_cli import leaderboard_command  # noqa: E402
from .show import show_group  # noqa: E402

cli.add_command(leaderboard_command)
cli.add_command(show_group)


# -- entry point ------------------------------------------------------------
def _show_warning(message, category, filename, lineno, file=None, line=None):
    if issubclass(category, (PluginLoadWarning, StoreWarning)):
        click.echo(f"warning: {message}", err=True)
    else:
        _default_show(message, category, filename, lineno, file, line)


_default_show = warnings.showwarning
add_commands(cli)


def main(argv=None):
    """Console entry point."""
    cli.main(args=argv, prog_name="ganbench")
