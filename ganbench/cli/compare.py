"""The ``ganbench compare`` command (the tests in :mod:`ganbench.reports.compare`)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ganbench.system.errors import UsageError
from ganbench.system.paths import DEFAULT_RESULTS
from ganbench.store.jsonl import read_rows, store_path


def _probe_spec_field(probe: str, name: str) -> tuple[str, ...]:
    from ganbench.plugins import get_registry

    try:
        return tuple(getattr(get_registry().get("probe", probe), name))
    except Exception:  # a probe that is not installed declares nothing
        return ()


def probe_headline(probe: str) -> tuple[str, ...]:
    """The probe's headline metric patterns (none when it is not installed)."""
    return _probe_spec_field(probe, "headline")


def named_in_metric(probe: str) -> tuple[str, ...]:
    """The probe's options that its metric names spell (they do not make another configuration)."""
    return _probe_spec_field(probe, "named_in_metric")


def _recorded_first(rows: list[dict], field: str, installed):
    """``lookup(probe)``: what the rows record of the probe's spec (``details.probe_headline``, ...), else what the
    installed probe declares: a comparison reads the same whichever plugins are installed."""
    def lookup(probe: str) -> tuple[str, ...]:
        for r in rows:
            recorded = r.get("details").get(field) if isinstance(r.get("details"), dict) else None
            if r.get("probe") == probe and isinstance(recorded, list):
                return tuple(str(x) for x in recorded)
        return installed(probe)
    return lookup


def _side(rows: list[dict], items, side: str, metric: str | None, where: str) -> list[dict]:
    from ganbench.reports.compare import one_per_seed, parse_selection, pick_metric, select

    pairs = parse_selection(items, side)
    chosen = select(rows, pairs)
    if not chosen:
        wanted = ", ".join(f"{n}={v}" for n, v in pairs)
        models = sorted({r["model"] for r in rows if r.get("status") == "ok"})
        raise UsageError(f"selection {side.upper()} ({wanted}) matches no ok row of {where}; its models: "
                         f"{', '.join(models[:12]) or 'none'} (fields as in `ganbench results --format json`)")
    rows = one_per_seed(pick_metric(chosen, metric, side, _recorded_first(chosen, "probe_headline", probe_headline)),
                        side, _recorded_first(chosen, "probe_named_in_metric", named_in_metric))
    from ganbench.reports.leaderboard import outside_declared_range

    for row in rows:  # as on the leaderboard: such a row is never a figure
        why = outside_declared_range(row)
        if why:
            raise UsageError(f"selection {side.upper()}: the row of seed {row.get('seed')} ({row['probe']} "
                             f"{row['metric']}, run {row.get('run_id')}): its value {why}, the range its probe declares; "
                             f"the store was edited or damaged, and no test is made on it.")
    return rows


def _figure(value: float) -> str:
    return f"{value:.4f}"


@click.command("compare")
@click.option("--results", "results_dir", default=DEFAULT_RESULTS, show_default=True,
              help="Folder of the result store (or its .jsonl file).")
@click.option("--a", "side_a", multiple=True, required=True, metavar="FIELD=VALUE",
              help="Selection A: a row field (model, feature_view, probe, metric, seed, dataset, labels_used, ...), "
                   "model.OPTION, probe.OPTION, details.KEY or at_epoch, = a value; repeat to narrow.")
@click.option("--b", "side_b", multiple=True, required=True, metavar="FIELD=VALUE", help="Selection B, as --a.")
@click.option("--metric", default=None, metavar="NAME|GLOB",
              help="The metric to compare [default: the selection's only metric, else its probe's first headline].")
@click.option("--resamples", type=click.IntRange(min=100, max=1_000_000), default=10_000, show_default=True,
              help="Bootstrap resamples (several seeds or label draws).")
@click.option("--bootstrap-seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the bootstrap's random draws.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def compare_command(results_dir, side_a, side_b, metric, resamples, bootstrap_seed, fmt):
    """Is B better than A? The difference B − A, its 95 % interval and a p-value.

    One seed each on the same test images: McNemar's exact test on the
    per-example predictions. Several seeds or label draws: a paired bootstrap
    over seeds and test examples. Rows without predictions: Welch's t-test
    over seeds (two or more each).
    """
    from ganbench.reports.compare import compare_rows, describe

    where = str(store_path(results_dir))
    if not store_path(results_dir).exists():  # not "matches no row": there is no store to match
        raise UsageError(f"No result store at {where} (no such file, looked for from {Path.cwd()}); give --results "
                         f"the folder of a store (one `ganbench run` made, or the committed results/reference of a "
                         f"clone of the ganbench repository)")
    rows = read_rows(results_dir)
    a = _side(rows, side_a, "a", metric, where)
    b = _side(rows, side_b, "b", metric, where)
    result = compare_rows(store_path(results_dir).parent, a, b, resamples=resamples, seed=bootstrap_seed,
                          store_label=results_dir)
    if fmt == "json":
        click.echo(json.dumps({"a": describe(a), "b": describe(b), "mean_a": result.mean_a, "mean_b": result.mean_b,
                               "difference": result.difference, "ci95": [result.low, result.high], "p": result.p,
                               "method": result.method, "note": result.note, **result.details}, indent=1))
        return
    click.echo(f"A      {describe(a)}: {_figure(result.mean_a)}")
    click.echo(f"B      {describe(b)}: {_figure(result.mean_b)}")
    click.echo(f"B − A  {result.difference:+.4f}   95% CI [{result.low:+.4f}, {result.high:+.4f}]   "
               f"p = {_p(result.p)}")
    click.echo(f"test   {result.method}")
    if result.note:
        click.echo(f"note   {result.note}")


def _p(p: float) -> str:
    return "1" if p >= 1 else f"{p:.4g}"
