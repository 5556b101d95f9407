"""``ganbench results``: show a store's rows, merge stores, verify a store.

``ganbench results [DIR]`` is ``ganbench results show [DIR]``: the subcommand
may be left out, as before there were others.
"""

from __future__ import annotations

import sys

import click
from tabulate import tabulate

from ganbench.system.paths import DEFAULT_RESULTS

SHORT_COLUMNS = ["created_at", "model", "dataset", "probe", "feature_view", "seed", "metric", "value", "stderr", "status"]


class ResultsGroup(click.Group):
    """``results`` with ``show`` as the command when none is named (``ganbench results DIR --format csv``)."""

    def parse_args(self, ctx, args):
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["show", *args]
        return super().parse_args(ctx, args)


@click.group("results", cls=ResultsGroup)
def results_group():
    """The result store: show its rows (the default), merge stores, verify a store."""


@results_group.command("show")
@click.argument("results_dir", default=DEFAULT_RESULTS, required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def results_command(results_dir, fmt):
    """Show the stored rows (json: every field)."""
    from ganbench.store.jsonl import load_results

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


@results_group.command("merge")
@click.argument("sources", nargs=-1, required=True, metavar="SRC...")
@click.option("--into", "destination", required=True, metavar="DST", help="The store the rows are copied into.")
@click.option("--dry-run", is_flag=True, help="Say what would be added, skipped, in conflict or refused; write nothing.")
@click.option("--allow-new-data", is_flag=True,
              help="Accept rows scored on a copy of a dataset (its test set) that DST's rows of it were not scored on.")
@click.option("--newer-stands", is_flag=True,
              help="A row in conflict that was made later than DST's is added and stands (a request run again); "
                   "DST's row stays in the file.")
def merge_command(sources, destination, dry_run, allow_new_data, newer_stands):
    """Copy the rows of SRC stores (and their predictions) into DST.

    A row already in DST is skipped; a row answering the same request, view and
    metric with another value is a conflict: DST keeps its own, the other is
    written apart (DST/merge-conflicts/). Rows of another copy of a dataset are
    refused. With --newer-stands, a conflicting row made later than DST's is
    added and stands instead. Atomic: cut off, DST is as it was or complete.
    Exit 1 on a conflict or a refusal.
    """
    from ganbench.store.jsonl import check_store_writable, store_path
    from ganbench.store.merge import apply_merge, plan_merge

    if not dry_run:
        check_store_writable(destination, "--into")
    planned = plan_merge(list(sources), destination, allow_new_data, newer_stands)
    for line in planned.refused:
        click.echo(f"refused: {line}", err=True)
    for _, row, theirs in planned.conflicts:
        click.echo(f"conflict: {row.get('model')} {row.get('feature_view') or ''} {row.get('probe')} {row.get('metric')} "
                   f"seed {row.get('seed')} on {row.get('dataset')}: {row.get('value')!r} here, {theirs.get('value')!r} "
                   f"in {destination} (kept)", err=True)
    if dry_run:
        click.echo(f"Would merge into {store_path(destination)}: {planned.summary()}. Nothing was written.")
    else:
        conflicts_file = apply_merge(planned, destination)
        kept = f"; the conflicting rows are in {conflicts_file}" if conflicts_file else ""
        click.echo(f"Merged into {store_path(destination)}: {planned.summary().replace('to add', 'added')}{kept}.")
    if planned.conflicts or planned.refused:
        sys.exit(1)


@results_group.command("verify")
@click.argument("results_dir", default=DEFAULT_RESULTS, required=False)
@click.option("--data-root", "data_roots", multiple=True, metavar="[DATASET=]DIR",
              help="Where a dataset's files are, to check the rows' test sets against the data; repeatable.")
def verify_command(results_dir, data_roots):
    """Recompute every figure that has predictions, check every file's digest and every row's key.

    Prints one line of counts; exit 1 on any mismatch, each named (row number,
    model, view, probe, metric, seed). Rows without predictions are counted.
    """
    from ganbench.store.jsonl import store_path
    from ganbench.store.verify import verify
    from ganbench.system.errors import UsageError

    if not store_path(results_dir).is_file():
        raise UsageError(f"{results_dir}: no result store there (expected {store_path(results_dir)}).")
    roots = _data_roots(data_roots)

    def open_test_set(name: str):
        from ganbench.datasets.open import load_dataset
        from ganbench.store.predictions import test_set_fingerprint

        try:
            data = load_dataset(name, roots.get(name, roots.get(None)))
        except Exception:  # the data is not here (or not readable): its rows are checked without it
            return None
        return data.fingerprint, data.test_y.numpy().astype("int64"), test_set_fingerprint(data)

    report = verify(results_dir, open_test_set)
    for mismatch in report.mismatches:
        click.echo(f"mismatch: {mismatch.describe()}", err=True)
    click.echo(report.summary())
    if report.mismatches:
        sys.exit(1)


def _data_roots(values) -> dict:
    roots: dict = {}
    for value in values:
        dataset, sep, folder = value.partition("=")
        roots[dataset if sep and dataset and "/" not in dataset else None] = folder if sep and "/" not in dataset else value
    return roots
