"""``ganbench reproduce list`` and ``ganbench reproduce NAME``: a paper's table, run where rows are missing.

``list`` imports no torch: the recipe is checked against the registry's specs. ``--dry-run`` and a real
run build the same jobs as ``ganbench sweep``: request keys by the data's content (each dataset is opened
once to know it, :mod:`ganbench.store.keys`), the same skipping of stored requests, the same executors;
estimates come from the store's rows. A run ends with the paper's table in any leaderboard format.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

import click

from ganbench import hookimpl

from ganbench.system.errors import UsageError
from ganbench.system.paths import DEFAULT_RESULTS, default_cache_dir
from ganbench.recipes.recipe import Checked, JobEntry, Recipe, Request, check_job, requests

FORMATS = ["table", "md", "csv", "latex", "html"]
MAX_SEEDS = 10_000  # seeds per job: a dry run lists every request, and a paper's table takes a handful
REFERENCE_STORE = "results/reference"  # the repository's committed store, relative to a clone's root


@dataclass
class Planned:
    """One request of the recipe: its names checked, its job, and per probe its key and the views it asks."""

    request: Request
    checked: Checked
    job: object  # ganbench.jobs.job.Job
    keys: list[str]  # empty when ``problem`` says why they cannot be known (the dataset is not found)
    views: list  # per probe: the views asked (None for a probe without views)
    problem: str | None = None

    def stored(self, stored) -> list[bool]:
        """Per probe: whether the store answers it (``stored``: :class:`ganbench.jobs.submit.Stored`)."""
        if self.problem:
            return [False] * len(self.checked.probes)
        return [stored.has(key, views) or key in stored.diverged for key, views in zip(self.keys, self.views)]


def parse_with(text: str, template: JobEntry | None, recipe: Recipe) -> JobEntry:
    """``MODEL[:KEY=VALUE[:KEY=VALUE...]]`` -> the recipe's ``[with]`` job with that model and options."""
    if template is None:
        raise UsageError(f"Recipe '{recipe.name}' has no [with] job, so --with cannot add a model to it.")
    model, *pairs = text.split(":")
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"Bad --with {text!r}: expected MODEL or MODEL:KEY=VALUE[:KEY=VALUE...], "
                             f"e.g. --with dcgan:width=64.")
        options[key.strip()] = value
    return replace(template, id=f"with {text}", model=model.strip(), model_options=options, views=None,
                   label=text)


def parse_data_roots(values: tuple[str, ...]) -> dict:
    """``--data-root DIR`` (every dataset) and ``--data-root DATASET=DIR`` -> {dataset or None: DIR}."""
    roots: dict = {}
    for value in values:
        dataset, sep, folder = value.partition("=")
        if sep and dataset and "/" not in dataset:
            roots[dataset] = folder
        else:
            roots[None] = value
    return roots


def plan(recipe: Recipe, entry: JobEntry, seeds: list[int] | None, data_roots: dict, cache_dir: str,
         device: str) -> list[Planned]:
    """Every request of ``entry``: names checked, then its job and its request keys (the dataset opened once)."""
    from ganbench.jobs.job import Job, ProbeRequest
    from ganbench.jobs.submit import asked_views, request_keys
    from ganbench.plugins import get_registry

    checked = check_job(entry, get_registry(), f"'{recipe.name}', job '{entry.id}'")
    out = []
    for request in requests(entry, seeds, data_roots):
        job = Job(**{**request.job_fields(), "probes": [ProbeRequest(p.name, dict(p.options)) for p in request.probes]},
                  cache_dir=cache_dir, device=device)
        try:
            keys = request_keys(job)
        except UsageError as exc:  # no data here: what it would cost is still listed, whether it is stored is not known
            out.append(Planned(request, checked, job, [], [], problem=str(exc)))
            continue
        views = [asked_views(job, pspec) for pspec, _ in checked.probes]
        out.append(Planned(request, checked, job, keys, views))
    return out


def _describe(request: Request) -> str:
    schedule = [f"{k.replace('_', '-')} {getattr(request, k)}" for k in ("epochs", "max_steps", "at_epoch")
                if getattr(request, k) is not None]
    options = ",".join(f"{k}={v}" for k, v in request.model_options.items())
    views = ",".join(request.views) if request.views else "every view"
    probes = " ".join(p.name + (f"({','.join(f'{k}={v}' for k, v in p.options.items())})" if p.options else "")
                      for p in request.probes)
    return (f"{request.model}{':' + options if options else ''} on {request.dataset}, seed {request.seed}"
            f"{', ' + ', '.join(schedule) if schedule else ''}; {probes}; {views}")


def print_dry_run(planned: list[Planned], answered, stored: list[dict], device: str, sources: list[str]) -> None:
    """Every request: stored, or what it is expected to cost, from the rows of ``stored`` (read from ``sources``);
    ``answered`` is the results store's :class:`ganbench.jobs.submit.Stored`."""
    from ganbench.recipes.report import duration, probe_estimate, training_estimate

    total, unknown, waiting, devices = 0.0, 0, 0, set()
    for item in planned:
        stored_probes = item.stored(answered)
        click.echo(f"[{item.request.entry}] {_describe(item.request)}")
        if item.problem:
            click.echo(f"    not known whether stored: {item.problem}")
        if all(stored_probes):
            click.echo("    stored: nothing to run")
            continue
        waiting += 1
        parts = [training_estimate(item.request, item.checked, stored, device)]
        parts += [probe_estimate(item.request, item.checked, i, stored, device)
                  for i, is_stored in enumerate(stored_probes) if not is_stored]
        known = [p.seconds for p in parts if p.seconds is not None]
        unknown += len(parts) - len(known)
        total += sum(known)
        devices |= {d.split(":")[0] for p in parts for d in p.devices}
        click.echo("    to run: " + "; ".join(p.text for p in parts))
    asked = "" if device == "auto" else f", --device {device}"
    if total or not unknown:
        expected = (f"expected ≈ {duration(total)}" + (f", plus {unknown} part(s) with no measurement" if unknown else "")
                    + (f" (an estimate from runs measured on {', '.join(sorted(devices))}{asked})" if devices else ""))
    else:
        expected = f"expected time unknown: none of its {unknown} part(s) measured{asked}"
    click.echo(f"\n{len(planned)} request(s): {len(planned) - waiting} stored, {waiting} to run; {expected}. "
               f"Times: the rows of {' and '.join(sources)}. Nothing was run.")


SHIPPED_TIMINGS = "the timings shipped with ganbench (its reference runs)"


def timing_sources(results_dir: str, timings: tuple[str, ...]) -> list[str]:
    """The stores whose rows time a dry run: --timings, else the results store and, when the current
    folder holds one, the repository's committed reference store, else the same runs' timings shipped
    with ganbench (:mod:`ganbench.recipes.timings`; an installed ganbench has no clone to read)."""
    if timings:
        return list(timings)
    sources = [results_dir]
    if Path(REFERENCE_STORE, "results.jsonl").is_file():
        if Path(results_dir).resolve() != Path(REFERENCE_STORE).resolve():
            sources.append(REFERENCE_STORE)
    else:
        sources.append(SHIPPED_TIMINGS)
    return sources


def timing_rows(sources: list[str]) -> list[dict]:
    """The rows of every timing source (the shipped timings read from the package)."""
    from ganbench.recipes.timings import shipped
    from ganbench.store.jsonl import read_rows

    return [row for source in sources
            for row in (shipped() if source == SHIPPED_TIMINGS else read_rows(source, warn=False))]


def run_missing(planned: list[Planned], results_dir: str, executor: str, cache_dir: str) -> int:
    """Run the requests whose rows are missing, as ``ganbench sweep`` would; the exit code the run deserves."""
    from ganbench.cli.run import submit
    from ganbench.jobs.submit import pending, stored_requests
    from ganbench.store.jsonl import check_store_writable

    check_store_writable(results_dir)  # checked before planning too; the store may have changed since
    stored = stored_requests(results_dir)
    jobs = [item.job for item in planned]
    left = [j for j in (pending(job, stored) for job in jobs) if j is not None]
    skipped = sum(len(j.probes) for j in jobs) - sum(len(j.probes) for j in left)
    click.echo(f"{len(jobs)} job(s); {skipped} (job, probe) request(s) already stored, skipped.", err=True)
    if not left:
        return 0
    return submit(left, executor, results_dir, skipped=skipped)  # on failures the table still shows what is there


def print_table(recipe: Recipe, filled_from: list[tuple], stored: list[dict], fmt: str) -> None:
    from ganbench.recipes.report import FilledRow, build_table
    from ganbench.reports.formats import render
    from ganbench.reports.leaderboard import load_references
    from ganbench.store.keys import row_key

    filled = []
    for row, planned in filled_from:
        keys: dict[str, set[str]] = {}
        for item in planned:
            for (pspec, _), key in zip(item.checked.probes, item.keys):
                keys.setdefault(pspec.name, set()).add(key)
        if row is None:  # a --with model: one row per view it was probed on
            every = set().union(*keys.values())
            views = sorted({r.get("feature_view") for r in stored if row_key(r) in every and r.get("feature_view")})
            label = planned[0].request.model + "".join(f":{k}={v}" for k, v in planned[0].request.model_options.items())
            filled += [FilledRow(f"{label} · {view}", keys, view, {}) for view in views] or [FilledRow(label, keys, None, {})]
        else:
            filled.append(FilledRow(row.label, keys, row.view, row.published, row.baseline))
    table = build_table(recipe, filled, stored, load_references())
    text = render([table], fmt)
    click.echo(text, nl=not text.endswith("\n"))


def list_recipes() -> None:
    from ganbench.reports.tables import fit_widths, text_table
    from ganbench.recipes.catalog import entries

    rows = []
    for entry in entries():
        if entry.error:
            rows.append([entry.name, entry.plugin, "-", f"unreadable: {entry.error}"])
        else:
            recipe = entry.recipe
            rows.append([recipe.name, entry.plugin, str(sum(len(j.seeds) for j in recipe.jobs)), recipe.title])
    headers = ["recipe", "plugin", "jobs", "table"]
    click.echo(text_table(headers, rows, fit_widths(headers, rows)) if rows else "no recipes")
    click.echo(f"\n`ganbench reproduce NAME --dry-run` lists a recipe's jobs and what they cost.")


@click.command("reproduce")
@click.argument("name")
@click.option("--results", "results_dir", default=DEFAULT_RESULTS, show_default=True,
              help="Folder of the result store (or a .jsonl file): rows found there are not run again.")
@click.option("--seeds", type=click.IntRange(1, MAX_SEEDS),
              help=f"Run every job with seeds 0 to N-1 (N at most {MAX_SEEDS:,}) [default: each job's own seeds].")
@click.option("--executor", default="local", show_default=True, help="Job executor (see `ganbench list executors`).")
@click.option("--dry-run", is_flag=True, help="List every job, stored or with its expected time; run nothing.")
@click.option("--data-root", "data_roots", multiple=True, metavar="[DATASET=]DIR",
              help="Folder holding a dataset's files (DATASET=DIR for one dataset); repeatable.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="The table's format, as `ganbench leaderboard`.")
@click.option("--with", "with_models", multiple=True, metavar="MODEL[:KEY=VALUE...]",
              help="Add a model as an extra row, run like the recipe's [with] job, e.g. --with dcgan:width=64; repeatable.")
@click.option("--timings", multiple=True, metavar="STORE",
              help="Stores whose rows time --dry-run; repeatable [default: --results, and results/reference when "
                   "the current folder has it].")
@click.option("--cache-dir", default=None, help="Trained models and features [default: $GANBENCH_CACHE or ~/.cache/ganbench].")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
def reproduce_command(name, results_dir, seeds, executor, dry_run, data_roots, fmt, with_models, timings, cache_dir,
                      device):
    """Reproduce a published table: NAME is a recipe (`ganbench reproduce list`) or a recipe file (.toml).

    Runs only the jobs whose rows are missing from the store (the job keys of
    `ganbench sweep`), resumes interrupted trainings from the cache, and prints
    the paper's table: ours (mean ± std, seeds), the published figure, the gap.
    """
    if name == "list":
        list_recipes()
        return
    from ganbench.jobs.job import keep_datasets_open
    from ganbench.plugins import get_registry
    from ganbench.recipes.catalog import find
    from ganbench.store.guard import check_cache_dir
    from ganbench.store.jsonl import check_store_writable

    recipe = find(name)
    get_registry().get("executor", executor)  # an unknown executor: refused before anything runs
    if not dry_run:  # the store (a newer ganbench's is never appended to) and the cache, before anything runs
        check_store_writable(results_dir)
        cache_dir = str(check_cache_dir(cache_dir))
    extra = [parse_with(text, recipe.with_job, recipe) for text in with_models]
    with keep_datasets_open():  # each dataset opened once: to know its content, then to run on it
        _reproduce(recipe, extra, seeds, cache_dir, data_roots, device, results_dir, dry_run, timings, executor, fmt)


def _reproduce(recipe, extra, seeds, cache_dir, data_roots, device, results_dir, dry_run, timings, executor, fmt):
    from ganbench.jobs.submit import stored_requests
    from ganbench.store.jsonl import read_rows

    seed_list = list(range(seeds)) if seeds else None
    cache_dir = str(Path(cache_dir or default_cache_dir()).expanduser())
    roots = parse_data_roots(data_roots)
    by_entry = {entry.id: plan(recipe, entry, seed_list, roots, cache_dir, device) for entry in recipe.jobs + extra}
    planned = [item for items in by_entry.values() for item in items]
    stored = stored_requests(results_dir)
    if dry_run:
        sources = timing_sources(results_dir, timings)
        print_dry_run(planned, stored, timing_rows(sources), device, sources)
        return
    _note_diverged(planned, stored.diverged)
    code = run_missing(planned, results_dir, executor, cache_dir)
    rows = [(row, [item for job in row.jobs for item in by_entry[job]]) for row in recipe.rows]
    rows += [(None, by_entry[entry.id]) for entry in extra]
    print_table(recipe, rows, read_rows(results_dir, warn=False), fmt)
    if code:
        sys.exit(code)


def _note_diverged(planned: list[Planned], diverged: dict[str, dict]) -> None:
    """Requests skipped because their model diverged before (as ``ganbench sweep`` says it)."""
    rows = [diverged[k] for item in planned for k in item.keys if k in diverged]
    if rows:
        folders = sorted({f"{r['model']}-{r['model_config_hash']}" for r in rows})
        click.echo(f"{len(rows)} request(s) diverged before: skipped, the model is cached as diverged; delete "
                   f"{', '.join(folders)} under the cache's models/ folder to train it again.", err=True)


@hookimpl
def register_commands(cli):
    cli.add_command(reproduce_command)
