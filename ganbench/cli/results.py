"""``ganbench results``: the stored rows as a table, CSV or JSON."""

from __future__ import annotations

import click
from tabulate import tabulate

from ganbench.store.jsonl import load_results
from ganbench.system.paths import DEFAULT_RESULTS

SHORT_COLUMNS = ["created_at", "model", "dataset", "probe", "feature_view", "seed", "metric", "value", "stderr", "status"]


@click.command("results")
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
