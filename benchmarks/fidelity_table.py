"""The figures of benchmarks/fidelity.md, from the result store, beside the published ones.

    python benchmarks/fidelity_table.py results/reference > /tmp/fidelity_tables.md

The same figures as the leaderboard, from the same code: the rows are
``ganbench.reports.leaderboard.build_tables``' (one table per dataset copy; a seed
probed twice keeps its latest row; mean ± std over seeds with their number,
n=1 said as such, a one-seed label-budget figure with the s.d. over its
draws; final weights only, except for a schedule still training, shown by
its newest ``--at-epoch`` snapshot as "epoch E of N epochs"; ‡ a C at the
edge of its grid), written here long-form: model · view, figure, ours, what
else sets the row apart (schedule, options, probe settings), the published
figure it is read against, and the gap.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ganbench.reports.leaderboard import LABEL_MARK, build_tables, load_references
from ganbench.store.jsonl import load_results, store_path

# (probe, metric) shown, in this order, with how the table names them.
FIGURES = [
    ("knn", "acc_l2_k1_majority", "1-NN L2"),
    ("knn", "acc_l2_k5_distance", "5-NN L2, distance vote"),
    ("svm", "acc", "linear SVM, all labels"),
    ("svm", "acc_1000labels", "linear SVM, 100 labels/class"),
]
# (model, view) -> the published row (references.csv ``model``) our figure is read against.
PUBLISHED_AS = {
    ("bigan", "e-hidden"): "BiGAN", ("bigan", "e"): "BiGAN E(x)", ("bigan", "d"): "D (discriminator)",
    ("pixels", "pixels"): "raw pixels",
}
ORDER = ("bigan", "dcgan", "ortho", "acgan", "wgan-gp", "random-d", "pixels")


def shown(probe: str, metric: str) -> bool:
    return any((probe, metric) == figure[:2] for figure in FIGURES)


def published(references, dataset: str, model: str, view: str, figure) -> tuple[str, float | None]:
    name = PUBLISHED_AS.get((model, view))
    for ref in references:
        if ref.dataset == dataset and ref.model == name and (ref.probe, ref.metric) == figure[:2]:
            return f"{ref.value:.4f} ({ref.paper})", ref.value
    return "—", None


def lines(table, references) -> list[str]:
    """The long-form lines of one leaderboard table."""
    out = [f"#### {table.title}\n", "| model · view | figure | ours | settings | published | gap |",
           "| --- | --- | --- | --- | --- | --- |"]
    entries = []
    for row in table.rows:
        if row.section == "reference":
            continue
        for column in table.columns:
            cell = row.cells.get(column.key)
            figure = next((f for f in FIGURES if (column.probe, column.metric) == f[:2]), None)
            if cell is None or figure is None:
                continue
            entries.append((ORDER.index(row.model) if row.model in ORDER else len(ORDER), row.model, row.view,
                            FIGURES.index(figure), row.settings, row, figure, cell))
    for *_, row, figure, cell in sorted(entries, key=lambda e: e[:5]):
        text, value = published(references, table.dataset, row.model, row.view, figure)
        gap = "—" if value is None else f"{cell.mean - value:+.4f}"
        mark = f" {LABEL_MARK}" if row.trains_on_labels else ""
        out.append(f"| {row.model}{mark} · {row.view} | {figure[2]} | {cell.text()} | {row.settings} | {text} | {gap} |")
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("store", nargs="?", default="results/reference")
    args = parser.parse_args()
    tables = build_tables(load_results(args.store), shown, (), store_dir=store_path(args.store).parent)
    references = load_references()
    for table in tables:
        print("\n".join(lines(table, references)))
        print()


if __name__ == "__main__":
    main()
