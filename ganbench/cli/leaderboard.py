"""The ``ganbench leaderboard`` command (tables in :mod:`ganbench.reports.leaderboard`, formats in
:mod:`ganbench.reports.formats`)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from ganbench.store.guard import output_option, write_text_atomically
from ganbench.system.paths import DEFAULT_RESULTS, REFERENCE_RESULTS, default_cache_dir
from ganbench.store.jsonl import load_results, store_path


def sample_thumbnails(cache_dir: Path, tables) -> dict:
    """``(model, cache key)`` -> the samples PNG ``ganbench show samples`` left in the model's cache folder."""
    found = {}
    for table in tables:
        for row in table.rows:
            for key in row.model_keys:
                path = Path(cache_dir) / "models" / f"{row.model}-{key}" / "samples.png"
                if path.is_file():
                    found[(row.model, key)] = path
    return found


def reference_hint(given: str = "") -> str:
    """Where rows come from: the committed reference rows when ganbench runs from a checkout of its repository,
    else a first run (an installed package has no reference store); ``given``: the run's ``--results DIR``."""
    checkout = Path(__file__).resolve().parents[2] / REFERENCE_RESULTS
    if (checkout / "results.jsonl").is_file():
        return f"the committed reference rows: ganbench leaderboard {checkout}"
    return f"rows come from runs: ganbench run --model pixels --probe knn{given} (seconds on a CPU) makes the first ones"


def nothing_to_show(results_dir, frame, metrics) -> str:
    """Why there is no table: no store at all (named), an empty one, or no metric matching ``--metric``."""
    path = store_path(results_dir)
    if metrics and len(frame):
        return f"no rows to show (no metric matches {', '.join(metrics)})"
    if not path.exists():
        given = "" if str(results_dir) == DEFAULT_RESULTS else f" --results {results_dir}"
        return (f"no result store at {path} (nothing has run with{given or ' the default --results'} in "
                f"{Path.cwd()}); {reference_hint(given)}")
    return f"no rows to show in {path}; {reference_hint()}" if not len(frame) else "no rows to show"


def output_width() -> int:
    """The terminal's width when the table goes to one, else 100 columns (a file, a pipe, a mail)."""
    if sys.stdout.isatty():
        return max(40, shutil.get_terminal_size((100, 24)).columns)
    return 100


@click.command("leaderboard")
@click.argument("results_dir", default=DEFAULT_RESULTS, required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "md", "csv", "latex", "html"]), default="table",
              show_default=True, help="table: terminal; latex: booktabs; html: one self-contained page.")
@click.option("--output", type=click.Path(dir_okay=False), callback=output_option("leaderboard", in_place=True),
              help="Write the leaderboard to this file instead of the terminal (never a store or into a store's folder).")
@click.option("--metric", "metrics", multiple=True, metavar="GLOB",
              help="Only metrics matching this name or glob (acc_l2_k1_*); repeatable [default: each probe's headline].")
@click.option("--all-metrics", is_flag=True, help="Every metric, not only each probe's headline figures.")
@click.option("--width", type=click.IntRange(min=40), default=None,
              help="Table width in columns [default: the terminal's width; 100 when the output is not a terminal].")
@click.option("--references/--no-references", default=True, show_default=True, help="Show published figures as rows.")
@click.option("--snapshots", is_flag=True,
              help="Also show rows of training snapshots (run --at-epoch), each apart from the final weights.")
@click.option("--all-versions", is_flag=True,
              help="Also show rows of a probe's older versions, superseded by newer rows in the store.")
@click.option("--cache-dir", default=None,
              help="Where to find sample grids for the html thumbnails [default: $GANBENCH_CACHE or ~/.cache/ganbench].")
def leaderboard_command(results_dir, fmt, output, metrics, all_metrics, width, references, snapshots, all_versions,
                        cache_dir):
    """Tables per dataset: models x headline figures (mean ± std over seeds), baselines and published figures."""
    from ganbench.reports.leaderboard import build_tables, load_references, metric_filter
    from ganbench.reports.formats import render

    frame = load_results(results_dir)
    tables = build_tables(frame, metric_filter(metrics, all_metrics), load_references() if references else (),
                          snapshots=snapshots, all_versions=all_versions, store_dir=store_path(results_dir).parent)
    if not tables:
        text = nothing_to_show(results_dir, frame, metrics)
    else:
        thumbnails = sample_thumbnails(Path(cache_dir or default_cache_dir()), tables) if fmt == "html" else {}
        text = render(tables, fmt, width=width or output_width(), thumbnails=thumbnails)
    if output:
        write_text_atomically(output, text if text.endswith("\n") else text + "\n")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))
