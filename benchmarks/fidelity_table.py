"""The figures of benchmarks/fidelity.md, from the result store, beside the published ones.

    python benchmarks/fidelity_table.py results/reference > /tmp/fidelity_tables.md

One markdown table per dataset copy (the official MNIST test split and the
``test=heldout`` one are different data): model · view, probe figure, ours
as mean ± std over seeds (number of seeds; a label-budget figure also
carries the standard error over its draws, from the row), the schedule,
the published figure it is read against, and the gap. Final weights only,
except for a schedule still training (no final row yet for that model, view,
figure and schedule): it shows its latest ``--at-epoch`` snapshot, marked
"epoch E of N epochs". A seed probed twice keeps its latest row.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from statistics import mean, stdev

from ganbench.leaderboard import load_references, snapshot_epoch, still_training, trained_for
from ganbench.store import read_rows

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


def settings(row: dict) -> str:
    """What sets a row's figure apart beyond model, view and probe: width, schedule, odd probe options."""
    parts = ["trains on labels"] if row.get("trains_on_labels") else []  # not comparable with the unsupervised rows
    width = (row.get("model_config") or {}).get("width")
    if width is not None and row["model"] not in ("bigan", "pixels"):
        parts.append(f"width {width}")
    trained = trained_for(row.get("schedule") or {})
    if trained:
        parts.append(trained)
    config = row.get("probe_config") or {}
    if row["probe"] == "svm":
        if config.get("standardize"):
            parts.append("standardized")
        if max(config.get("c_grid") or [1.0]) > 1.0:
            parts.append(f"C up to {max(config['c_grid']):g}")
    return ", ".join(parts)


def figure_key(row: dict):
    """(table, model, view, figure, settings) of a row shown here, else None."""
    figure = next((f for f in FIGURES if (row["probe"], row["metric"]) == f[:2]), None)
    if figure is None:
        return None
    table = (row["dataset"], row["dataset_fingerprint"], (row.get("details") or {}).get("dataset", {}).get("test_split"))
    return (table, row["model"], row["feature_view"], figure, settings(row))


def collect(rows: list[dict]):
    rows = sorted((r for r in rows if r["status"] == "ok" and figure_key(r) is not None),
                  key=lambda r: str(r.get("created_at")))
    latest = {}
    for row in rows:
        if snapshot_epoch(row) is None:
            latest[(figure_key(row), row["seed"])] = row
    # a schedule still training: its newest snapshot stands for it (the leaderboard's rule, shared)
    for row, epoch in still_training(rows, key=figure_key):
        key = figure_key(row)
        latest[(key[:4] + (f"epoch {epoch} of {key[4]}",), row["seed"])] = row
    grouped = defaultdict(list)
    for (key, _), row in latest.items():
        grouped[key].append(row)
    return grouped


def ours(rows: list[dict]) -> str:
    values = [r["value"] for r in rows]
    text = f"{values[0]:.4f}" if len(values) == 1 else f"{mean(values):.4f} ± {stdev(values):.4f} ({len(values)} seeds)"
    if len(rows) == 1 and rows[0].get("stderr") is not None:
        text += f" ± {rows[0]['stderr']:.4f} (s.e. over draws)"
    return text


def published(references, dataset: str, model: str, view: str, figure) -> tuple[str, float | None]:
    name = PUBLISHED_AS.get((model, view))
    for ref in references:
        if ref.dataset == dataset and ref.model == name and (ref.probe, ref.metric) == figure[:2]:
            return f"{ref.value:.4f} ({ref.paper})", ref.value
    return "—", None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("store", nargs="?", default="results/reference")
    args = parser.parse_args()
    references = load_references()
    grouped = collect(read_rows(args.store))
    tables = sorted({key[0] for key in grouped}, key=lambda t: (t[0], str(t[2])))
    for dataset, fingerprint, split in tables:
        title = f"{dataset} ({'heldout: 10,000 training images as test' if split == 'heldout' else 'official test split'}," \
                f" data {fingerprint[:8]})"
        print(f"### {title}\n")
        print("| model · view | figure | ours | settings | published | gap |")
        print("| --- | --- | --- | --- | --- | --- |")
        keys = [k for k in grouped if k[0] == (dataset, fingerprint, split)]
        keys.sort(key=lambda k: (ORDER.index(k[1]) if k[1] in ORDER else len(ORDER), k[1], k[2], FIGURES.index(k[3]), k[4]))
        for key in keys:
            _, model, view, figure, setting = key
            rows = grouped[key]
            text, value = published(references, dataset, model, view, figure)
            gap = "—" if value is None else f"{mean(r['value'] for r in rows) - value:+.4f}"
            print(f"| {model} · {view} | {figure[2]} | {ours(rows)} | {setting} | {text} | {gap} |")
        print()


if __name__ == "__main__":
    main()
