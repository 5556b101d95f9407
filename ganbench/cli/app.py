"""The ``ganbench`` command line.

User errors (``UsageError`` from anywhere, click's own usage errors) print
one line and exit with code 2; nothing else is caught.
"""

from __future__ import annotations

import inspect
import sys
import textwrap
import warnings
from pathlib import Path

import click
from tabulate import tabulate

from ganbench import __version__
from ganbench.system.errors import UsageError
from ganbench.system.install_check import mismatch_message
from ganbench.api.options import split_assignments
from ganbench.system.paths import DEFAULT_RESULTS, check_writable, default_cache_dir
from ganbench.plugins import PluginLoadWarning, add_commands, debug_enabled, get_registry, plugin_infos, set_debug
from ganbench.store.jsonl import StoreWarning, StoreWriteError, append_rows, check_store_writable, load_results, read_rows, store_path

KIND_OF = {"models": "model", "probes": "probe", "datasets": "dataset", "executors": "executor"}

from ganbench.reports.tables import WIDTH, _fit_widths, _shorten, text_table  # noqa: F401 -- other commands import them from here


class GanbenchGroup(click.Group):
    """A click group whose every user error is one line on stderr and exit code 2.

    Plugins are loaded when a command is first looked up (after ``--debug``
    is parsed), and add their own commands then.
    """

    def main(self, args=None, prog_name=None, standalone_mode=True, **extra):
        set_debug(False)
        with warnings.catch_warnings():
            warnings.simplefilter("always", PluginLoadWarning)
            warnings.showwarning = _show_warning
            return self._main(args, prog_name, **extra)

    def _main(self, args, prog_name, **extra):
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
        except RuntimeError as exc:  # a torchvision built for another torch, wherever it is first imported
            message = mismatch_message(exc)
            if message is None:
                raise
            click.echo(f"Error: {message}", err=True)
            sys.exit(2)

    def list_commands(self, ctx):
        add_commands(self)
        return super().list_commands(ctx)

    def get_command(self, ctx, cmd_name):
        add_commands(self)
        return super().get_command(ctx, cmd_name)


def _debug_option(ctx, param, value):
    if value:
        set_debug(True)


@click.group(cls=GanbenchGroup)
@click.version_option(__version__, prog_name="ganbench")
@click.option("--debug", is_flag=True, is_eager=True, expose_value=False, callback=_debug_option,
              help="Show the traceback of every plugin problem (also: GANBENCH_DEBUG=1).")
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


def _spec_table(kind: str, specs, long: bool) -> str:
    """name, version, plugin, [capabilities,] description; within :data:`WIDTH` columns.

    The description is cut to one line (``…``) unless ``long``, which wraps it whole.
    """
    has_caps = kind in ("model", "probe")
    headers = ["name", "version", "plugin"] + (["capabilities"] if has_caps else []) + ["description"]
    rows = [[s.name, s.version, s.plugin] + ([_capabilities(kind, s)] if has_caps else []) + [s.description]
            for s in specs]
    if has_caps:  # capabilities wrap at 20 columns
        widths = _fit_widths(headers[:3] + headers[4:], [r[:3] + r[4:] for r in rows])
        caps = min(20, max(len(r[3]) for r in rows))
        widths = widths[:3] + [caps] + [max(20, widths[3] - caps - 2)]
    else:
        widths = _fit_widths(headers, rows)
    if not long:
        for row in rows:
            row[-1] = _shorten(row[-1], widths[-1])
    return text_table(headers, rows, widths)


def _option_lines(spec) -> list[str]:
    """One wrapped paragraph per option: name, type, default, range or choices, help."""
    lines = []
    for opt in spec.options:
        facts = [opt.type, f"default {opt.default!r}"]
        if getattr(opt, "choices", None) is not None:
            facts.append("one of " + ", ".join(str(c) for c in opt.choices))
        low, high = getattr(opt, "minimum", None), getattr(opt, "maximum", None)
        bounds = []
        if low is not None:
            bounds.append(f"{'>' if opt.exclusive_minimum else '>='} {low}")
        if high is not None:
            bounds.append(f"{'<' if opt.exclusive_maximum else '<='} {high}")
        if bounds:
            facts.append(" and ".join(bounds))
        text = f"{spec.name}.{opt.name} ({'; '.join(facts)}): {' '.join(opt.help.split())}"
        lines.append(textwrap.fill(text, WIDTH, initial_indent="  ", subsequent_indent="      ",
                                   break_on_hyphens=False))
    return lines


def model_views(spec) -> dict[str, str]:
    """The spec's declared views, else those of the model built with its default options."""
    if spec.views is not None:
        return dict(spec.views)
    defaults = {o.name: o.default for o in spec.options}
    return dict(spec.factory(**defaults).feature_views())


def _view_lines(spec) -> list[str]:
    try:
        views = model_views(spec)
    except Exception as exc:  # a plugin's model that cannot be built with its defaults
        return [f"  {spec.name}: views unknown ({type(exc).__name__}: {exc})"]
    lines = [f"  {spec.name}:" + ("" if views else " no feature views")]
    for view, description in views.items():
        lines.append(textwrap.fill(f"{view}: {' '.join(description.split())}", WIDTH, initial_indent="    ",
                                   subsequent_indent="        "))
    return lines


@cli.command("list")
@click.argument("what", type=click.Choice(sorted(KIND_OF)), required=False)
@click.option("--options", "show_options", is_flag=True,
              help="Show every option: type, default, range or choices, help.")
@click.option("--views", "show_views", is_flag=True, help="Show every model's feature views.")
@click.option("--long", "long", is_flag=True, help="Full descriptions, wrapped, instead of one line each.")
def list_command(what, show_options, show_views, long):
    """List models, probes, datasets and executors."""
    registry = get_registry()
    for group in [what] if what else sorted(KIND_OF):
        kind = KIND_OF[group]
        specs = registry.all(kind)
        click.echo(f"{group}:")
        click.echo(_spec_table(kind, specs, long) if specs else "  none")
        if show_views and kind == "model":
            click.echo("\nfeature views:")
            for spec in specs:
                click.echo("\n".join(_view_lines(spec)))
        if show_options and any(spec.options for spec in specs):
            click.echo("\noptions:")
            for spec in specs:
                for line in _option_lines(spec):
                    click.echo(line)
        click.echo()


@cli.command("plugins")
def plugins_command():
    """List every plugin: name, version, hooks, status; broken or partly loaded ones with what failed."""
    rows, problems = [], []
    for info in plugin_infos():
        status = info.status
        hooks = [h + (" (failed)" if h in info.failed_hooks else "") for h in info.hooks]
        rows.append([info.name, info.version, ", ".join(hooks) or "-", status])
        problems += [f"{info.name}: {text}" for text in ([info.error] if info.error else []) + list(info.failed_hooks.values())]
    widths = [min(32, max(len(r[0]) for r in rows + [["plugin"]])), 24, 0, len("partly loaded")]
    widths[2] = WIDTH - sum(widths) - 6
    click.echo(text_table(["plugin", "version", "hooks", "status"], rows, widths))
    if problems:
        click.echo("\nproblems:")
        for text in problems:
            click.echo(textwrap.fill(text, WIDTH, initial_indent="  ", subsequent_indent="    "))


def route_options(kind: str, names: list[str], assignments: list[tuple[str, str]], flag: str) -> dict[str, dict[str, str]]:
    """Route ``knn.k=1`` to knn, and an unprefixed ``k=1`` to every plugin named that declares ``k``."""
    registry = get_registry()
    routed = {n: {} for n in names}
    for key, value in assignments:
        owner, dot, name = key.partition(".")
        if dot:  # option names hold no dots: this names its plugin
            if owner not in routed:
                raise UsageError(f"{flag} {key + '=' + value!r:.80}: {kind} {owner!r:.40} is not among --{kind} "
                                 f"{', '.join(names)}.")
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


def build_jobs(models, datasets, probes, seeds, model_opts, probe_opts, dataset_opts, cache_dir, views, **settings):
    """One job per (model, dataset, seed), every name and option checked."""
    from ganbench.jobs.run import Job, ProbeRequest, resolve

    cache_dir = str(Path(cache_dir or default_cache_dir()).expanduser())  # '~/x' checked and written the same
    check_writable(cache_dir, "trained models and features", "--cache-dir", is_folder=True)
    models, probes = list(dict.fromkeys(models)), list(dict.fromkeys(probes))
    routed_probe = route_options("probe", probes, split_assignments(probe_opts, "--probe-opt"), "--probe-opt")
    routed_model = route_options("model", models, split_assignments(model_opts, "--model-opt"), "--model-opt")
    jobs = [
        Job(model=m, dataset=d, probes=[ProbeRequest(p, routed_probe[p]) for p in probes], model_options=routed_model[m],
            dataset_options=dict(split_assignments(dataset_opts, "--dataset-opt")), seed=seed,
            cache_dir=cache_dir, views=list(views) or None, **settings)
        for m in models for d in dict.fromkeys(datasets) for seed in dict.fromkeys(seeds)
    ]
    for job in jobs:
        resolve(job)  # before anything loads or trains
    return jobs


def check_results_writable(results_dir: str) -> None:
    """The store must be writable before anything trains: its rows would otherwise be lost after the work."""
    check_store_writable(results_dir)


def _failure_signature(row: dict) -> tuple:
    return (row.get("status"), row.get("feature_view"), row.get("metric"), row.get("error"))


def latest_failures(stored: list[dict]) -> dict[str, set[tuple]]:
    """For each job_key whose latest run (in store order) did not succeed: the signatures of its non-ok rows."""
    latest: dict[str, str] = {}
    for row in stored:
        if row.get("job_key"):
            latest[row["job_key"]] = row["run_id"]
    failures: dict[str, set[tuple]] = {}
    for row in stored:
        key = row.get("job_key")
        if key and row["run_id"] == latest[key] and row["status"] != "ok":
            failures.setdefault(key, set()).add(_failure_signature(row))
    return failures


def execute(jobs, executor: str, results_dir: str, skipped: int = 0, note: str = "", keep_going: bool = False) -> None:
    """Run ``jobs``, append their rows, print them and a summary; exit 1 when a request failed or rows were not stored.

    A failure identical to the latest stored one of the same request (same
    job_key, status, view, metric and error) is not appended again. With
    ``keep_going`` (a sweep), a job refused for a user error (its dataset not
    found, a label budget it cannot meet) is reported in one line, the other
    jobs run, the summary counts its requests as refused, and the exit code is 2.
    """
    runner = get_registry().get("executor", executor).factory()
    refused: list | None = [] if keep_going else None
    previous = latest_failures(read_rows(results_dir, warn=False))
    produced, repeated, unsaved = [], [], []

    def on_rows(rows):
        new = [r for r in rows if r["status"] == "ok" or _failure_signature(r) not in previous.get(r.get("job_key"), ())]
        repeated.extend(r for r in rows if r not in new)
        produced.extend(rows)
        try:
            append_rows(results_dir, new)
        except StoreWriteError as exc:  # the rows are in a side file; later jobs still run
            click.echo(f"Error: {exc}", err=True)
            unsaved.append(exc)

    _run_jobs(runner, jobs, on_rows, refused)
    _print_rows(produced)
    stored = len(produced) - len(repeated)
    if repeated:
        click.echo(f"{len(repeated)} failed row(s) repeat the latest stored failure of their request; not appended again.",
                   err=True)
    if unsaved:
        click.echo(f"{len(unsaved)} append(s) failed; their rows are in: "
                   f"{', '.join(str(e.side_file) for e in unsaved)}", err=True)
    else:
        click.echo(f"{stored} row(s) appended to {store_path(results_dir)}", err=True)
    n_refused = sum(len(job.probes) for job in refused or ())
    click.echo(_summary(produced, skipped) + (f" {n_refused} refused (the errors above; fix them and run the sweep "
                                              f"again: it runs only what is missing)." if n_refused else "") + note, err=True)
    if n_refused:
        sys.exit(2)
    if unsaved or any(r["status"] == "failed" for r in produced):
        sys.exit(1)


def _run_jobs(runner, jobs, on_rows, refused: list | None) -> None:
    """Run ``jobs``; with ``refused`` (a sweep), a job refused for a user error is noted there and the others run."""
    if refused is None:
        runner.run(jobs, on_rows)
        return

    def on_refused(job, error):
        click.echo(f"Error: {job.model} on {job.dataset}, seed {job.seed}, not run: {error}", err=True)
        refused.append(job)

    if "on_refused" in inspect.signature(runner.run).parameters:
        runner.run(jobs, on_rows, on_refused=on_refused)
        return
    for job in jobs:  # an executor without on_refused: one job at a time, so one refusal stops no other job
        try:
            runner.run([job], on_rows)
        except UsageError as exc:
            on_refused(job, exc)


def _summary(rows: list[dict], skipped: int) -> str:
    """Requests (job, probe) done, skipped and failed."""
    status: dict[str, str] = {}
    for row in rows:
        key = row.get("job_key") or id(row)
        if row["status"] != "ok" or key not in status:
            status[key] = row["status"] if status.get(key, "ok") == "ok" else status[key]
    failed = sum(s == "failed" for s in status.values())
    diverged = sum(s == "diverged" for s in status.values())
    done = len(status) - failed - diverged
    return f"Summary: {done} done, {skipped} skipped, {failed + diverged} failed ({diverged} diverged)."


@cli.command("run")
@click.option("--model", "model", required=True, help="Model plugin (see `ganbench list models`).")
@click.option("--dataset", default="mnist-5k", show_default=True, help="Dataset (see `ganbench list datasets`).")
@job_options
def run_command(model, dataset, executor, results_dir, **options):
    """Train (or load) a model, probe its features, append the rows to the store."""
    check_results_writable(results_dir)
    execute(build_jobs([model], [dataset], **options), executor, results_dir)


@cli.command("sweep")
@click.option("--model", "models", multiple=True, required=True, help="Model plugin; repeat for several.")
@click.option("--dataset", "datasets", multiple=True, default=["mnist-5k"], show_default=True, help="Dataset; repeat for several.")
@job_options
def sweep_command(models, datasets, executor, results_dir, **options):
    """Run models x datasets x seeds, skipping the requests whose rows are stored.

    A request is skipped when its latest stored rows are ``ok``, or
    ``diverged`` (the model is cached as diverged and would diverge again).
    A ``failed`` request is retried.
    """
    from ganbench.jobs.run import pending

    check_results_writable(results_dir)
    done, diverged = stored_requests(results_dir)
    jobs = build_jobs(models, datasets, **options)
    left = [j for j in (pending(job, done | set(diverged)) for job in jobs) if j is not None]
    skipped = sum(len(j.probes) for j in jobs) - sum(len(j.probes) for j in left)
    asked = {k for job in jobs for k in _job_keys(job)}
    skipped_diverged = [row for k, row in diverged.items() if k in asked]
    click.echo(f"{len(jobs)} job(s); {skipped} (job, probe) request(s) already stored, skipped.", err=True)
    note = ""
    if skipped_diverged:
        folders = sorted({f"{r['model']}-{r['model_config_hash']}" for r in skipped_diverged})
        note = (f" {len(skipped_diverged)} skipped request(s) diverged before: the model is cached as diverged; "
                f"delete {', '.join(folders)} under the cache's models/ folder to train it again.")
    if left:
        execute(left, executor, results_dir, skipped=skipped, note=note, keep_going=True)
    else:
        click.echo(f"Summary: 0 done, {skipped} skipped, 0 failed.{note}", err=True)


def stored_requests(results_dir: str) -> tuple[set[str], dict[str, dict]]:
    """``(done, diverged)``: the job keys with ``ok`` rows in the store, and those whose latest run
    diverged (key -> one of its rows); a sweep or a recipe skips both."""
    stored = read_rows(results_dir, warn=False)
    latest: dict[str, list[dict]] = {}
    for row in stored:
        key = row.get("job_key")
        if key:
            if key in latest and latest[key][0]["run_id"] != row["run_id"]:
                latest[key] = []
            latest.setdefault(key, []).append(row)
    done = {r["job_key"] for r in stored if r["status"] == "ok" and r.get("job_key")}
    diverged = {k: rows[0] for k, rows in latest.items() if k not in done and any(r["status"] == "diverged" for r in rows)}
    return done, diverged


def _job_keys(job) -> list[str]:
    from ganbench.jobs.run import job_key, resolve

    resolved = resolve(job)
    return [job_key(job, resolved, i) for i in range(len(job.probes))]


def _print_rows(rows):
    from ganbench.reports.escape import terminal

    table = [[*map(terminal, (r.get("model_label") or r["model"], r["feature_view"] or "-", r["probe"], r["metric"] or "-")),
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
        from ganbench.reports import escape
        frame = frame.map(escape.csv).rename(columns=escape.csv)  # a foreign row's keys are column names
        click.echo(frame.to_csv(index=False, quoting=escape.CSV_QUOTING), nl=False)
    else:
        from ganbench.reports.escape import terminal

        table = frame[SHORT_COLUMNS].map(terminal)  # no ESC, BEL or NUL from a name reaches the terminal
        click.echo(tabulate(table, headers="keys", showindex=False, floatfmt=".4f") if len(frame) else "no rows")


from ganbench.cli.compare import compare_command  # noqa: E402
from ganbench.cli.leaderboard import leaderboard_command  # noqa: E402
from ganbench.cli.show import show_group  # noqa: E402

cli.add_command(compare_command)
cli.add_command(leaderboard_command)
cli.add_command(show_group)


# -- entry point ------------------------------------------------------------
def _show_warning(message, category, filename, lineno, file=None, line=None):
    if issubclass(category, (PluginLoadWarning, StoreWarning)):
        click.echo(f"warning: {message}", err=True)
        if debug_enabled() and getattr(message, "traceback", ""):
            click.echo(message.traceback.rstrip(), err=True)
    else:
        _default_show(message, category, filename, lineno, file, line)


_default_show = warnings.showwarning


def main(argv=None):
    """Console entry point."""
    cli.main(args=argv, prog_name="ganbench")
