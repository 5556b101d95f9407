"""The ``ganbench leaderboard`` command (tables in :mod:`ganbench.reports.leaderboard`, formats in
:mod:`ganbench.reports.formats`)."""

from __future__ import annotations

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


def reference_hint() -> str:
    """Where the committed reference rows are: in this checkout when ganbench runs from one, else in the repository."""
    checkout = Path(__file__).resolve().parents[2] / REFERENCE_RESULTS
    if (checkout / "results.jsonl").is_file():
        return f"the committed reference rows: ganbench leaderboard {checkout}"
    return f"the committed reference rows are in {REFERENCE_RESULTS}/ of the ganbench repository"


@click.command("leaderboard")
@click.argument("results_dir", default=DEFAULT_RESULTS, required=False)
@click.option("--format", "fmt", type=click.Choice(["table", "md", "csv", "latex", "html"]), default="table",
              show_default=True, help="table: terminal; latex: booktabs; html: one self-contained page.")
@click.option("--output", type=click.Path(dir_okay=False), callback=output_option("leaderboard", in_place=True),
              help="Write the leaderboard to this file instead of the terminal (never a store or into a store's folder).")
@click.option("--metric", "metrics", multiple=True, metavar="GLOB",
              help="Only metrics matching this name or glob (acc_l2_k1_*); repeatable [default: each probe's headline].")
@click.option("--all-metrics", is_flag=True, help="Every metric, not only each probe's headline figures.")
@click.option("--width", type=click.IntRange(min=40), default=120, show_default=True, help="Terminal table width.")
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
        text = "no rows to show" + (f" (no metric matches {', '.join(metrics)})" if metrics and len(frame) else
                                    f" in {store_path(results_dir)}; {reference_hint()}" if not len(frame) else "")
    else:
        thumbnails = sample_thumbnails(Path(cache_dir or default_cache_dir()), tables) if fmt == "html" else {}
        text = render(tables, fmt, width=width, thumbnails=thumbnails)
    if output:
        write_text_atomically(output, text if text.endswith("\n") else text + "\n")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))
