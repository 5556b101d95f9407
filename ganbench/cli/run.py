"""``ganbench run`` and ``ganbench sweep``: submit jobs, print their rows, exit with the code they deserve."""

from __future__ import annotations

import sys

import click
from tabulate import tabulate

from ganbench.store.jsonl import check_store_writable
from ganbench.system.paths import DEFAULT_RESULTS


def job_options(command):
    """The options ``run`` and ``sweep`` share."""
    options = [
        click.option("--probe", "probes", multiple=True, required=True, help="Probe plugin; repeat for several."),
        click.option("--data-root", type=click.Path(file_okay=False), help="Folder holding the dataset's files."),
        click.option("--seed", "seeds", type=click.IntRange(0, 2**32 - 1), multiple=True, default=[0], show_default=True, help="Seed; repeat for several runs."),
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
        click.option("--at-epoch", type=click.IntRange(min=1), help="Probe the weights at the end of this epoch of the same "
                     "training (snapshots: epochs 1, 2, 5, 10, 20, 50, ...); never trains."),
        click.option("--bn-stats", type=click.Choice(["train-images", "running"]), default="train-images", show_default=True,
                     help="Batch-norm statistics of the features: recomputed on the real training images, or the running ones."),
    ]
    for option in reversed(options):
        command = option(command)
    return command



def _echo_err(message: str) -> None:
    click.echo(message, err=True)


def submit(jobs, executor: str, results_dir: str, skipped: int = 0, note: str = "", keep_going: bool = False) -> int:
    """Run ``jobs`` (``ganbench.jobs.submit.execute``), print their rows and a summary; the exit code."""
    from ganbench.jobs.submit import execute

    outcome = execute(jobs, executor, results_dir, skipped=skipped, keep_going=keep_going, report=_echo_err)
    print_rows(outcome.rows)
    if outcome.repeated:
        _echo_err(f"{len(outcome.repeated)} failed row(s) repeat the latest stored failure of their request; "
                  f"not appended again.")
    if outcome.unsaved:
        _echo_err(f"{len(outcome.unsaved)} append(s) failed; their rows are in: "
                  f"{', '.join(str(e.side_file) for e in outcome.unsaved)}")
    else:
        from ganbench.store.jsonl import store_path

        _echo_err(f"{outcome.stored} row(s) appended to {store_path(results_dir)}")
    refused = outcome.refused_requests
    _echo_err(outcome.summary() + (f" {refused} refused (the errors above; fix them and run the sweep again: it runs "
                                   f"only what is missing)." if refused else "") + note)
    return outcome.exit_code


@click.command("run")
@click.option("--model", "model", required=True, help="Model plugin (see `ganbench list models`).")
@click.option("--dataset", default="mnist-5k", show_default=True, help="Dataset (see `ganbench list datasets`).")
@job_options
def run_command(model, dataset, executor, results_dir, **options):
    """Train (or load) a model, probe its features, append the rows to the store."""
    from ganbench.jobs.submit import build_jobs

    check_store_writable(results_dir)  # before anything trains: its rows would otherwise be lost after the work
    sys.exit(submit(build_jobs([model], [dataset], **options), executor, results_dir))


@click.command("sweep")
@click.option("--model", "models", multiple=True, required=True, help="Model plugin; repeat for several.")
@click.option("--dataset", "datasets", multiple=True, default=["mnist-5k"], show_default=True,
              help="Dataset; repeat for several.")
@job_options
def sweep_command(models, datasets, executor, results_dir, **options):
    """Run models x datasets x seeds, skipping the requests whose rows are stored.

    A request is skipped when its latest stored rows are ``ok``, or
    ``diverged`` (the model is cached as diverged and would diverge again).
    A ``failed`` request is retried.
    """
    from ganbench.jobs.job import keep_datasets_open
    from ganbench.jobs.submit import build_jobs, pending_jobs

    check_store_writable(results_dir)
    jobs = build_jobs(models, datasets, **options)
    with keep_datasets_open():  # opened to know the data's content, then run on: read once
        left, skipped, diverged = pending_jobs(jobs, results_dir)
        _echo_err(f"{len(jobs)} job(s); {skipped} (job, probe) request(s) already stored, skipped.")
        note = diverged_note(diverged)
        if left:
            sys.exit(submit(left, executor, results_dir, skipped=skipped, note=note, keep_going=True))
    _echo_err(f"Summary: 0 done, {skipped} skipped, 0 failed.{note}")


def diverged_note(rows: list[dict]) -> str:
    """What to do about requests skipped because their model diverged before."""
    if not rows:
        return ""
    folders = sorted({f"{r['model']}-{r['model_config_hash']}" for r in rows})
    return (f" {len(rows)} skipped request(s) diverged before: the model is cached as diverged; "
            f"delete {', '.join(folders)} under the cache's models/ folder to train it again.")


def print_rows(rows):
    from ganbench.reports.escape import terminal

    table = [[*map(terminal, (r.get("model_label") or r["model"], r["feature_view"] or "-", r["probe"], r["metric"] or "-")),
              "" if r["value"] is None else f"{r['value']:.4f}", r["status"]] for r in rows]
    click.echo(tabulate(table, headers=["model", "view", "probe", "metric", "value", "status"], disable_numparse=True))
    headline = headline_rows(rows)
    if len(headline) == 1:
        r = headline[0]
        click.echo(f"Headline: {terminal(r['metric'])} = {r['value']:.4f} ({terminal(r['probe'])}'s headline figure: "
                   f"the leaderboard's first {terminal(r['probe'])} column)")
    elif headline:
        click.echo("Headline figures (each probe's, the leaderboard's first column of that probe):")
        for r in headline:
            click.echo(f"  {terminal(r['probe'])} {terminal(r['metric'])} on {terminal(r.get('model_label') or r['model'])}"
                       f" · {terminal(r['feature_view'] or '-')}: {r['value']:.4f}")


def headline_rows(rows) -> list[dict]:
    """The ``ok`` rows of each probe's first headline metric (``ProbeSpec.headline``, as the rows record it), one
    per model and view: the figure the leaderboard puts first."""
    from fnmatch import fnmatchcase

    chosen = {}
    for r in rows:
        patterns = (r.get("details") or {}).get("probe_headline") or []
        key = (r.get("model_label") or r["model"], r["feature_view"], r["probe"])
        if (r["status"] == "ok" and r["metric"] and patterns and fnmatchcase(r["metric"], patterns[0])
                and key not in chosen):
            chosen[key] = r
    return list(chosen.values())
