"""Every trained GAN of the CIFAR-10 schedule against every other: B − A, its 95 % CI and p (ganbench compare's tests).

    python benchmarks/pairwise_cifar10.py results/reference                      # the table, Markdown
    python benchmarks/pairwise_cifar10.py results/reference --metric acc_4000labels

Each arm is one configuration of the 10-epoch schedule of benchmarks/fidelity_cifar10.md (width 64, batch 128,
each model's paper optimiser; svm on raw features, the probe's defaults) and one view; its rows are one per seed.
Every pair goes through :func:`ganbench.reports.compare.compare_rows`, the test `ganbench compare` runs: McNemar on
the per-example predictions for one seed against one seed, else a paired bootstrap over seeds and test images. The
seed spread of each arm (mean ± s.d. over seeds, n) is printed beside it. K-means (standardised features, its
paper's protocol) is the baseline row every arm is also tested against. Only rows with per-example predictions
enter (a test needs them): kmeans seed 0 predates predictions, so its arm is seeds 1 and 2.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
from pathlib import Path

from ganbench.reports.compare import RESAMPLES, compare_rows
from ganbench.store.jsonl import read_rows

# (label, model, view, extra conditions on the row): the trained GANs of the schedule, then the baseline
ARMS = [
    ("dcgan · d", "dcgan", "d", {}),
    ("acgan · d †", "acgan", "d", {}),
    ("bigan (conv) · e-hidden", "bigan", "e-hidden", {"arch": "conv"}),  # the encoder: the paper's view
    ("bigan (conv) · d", "bigan", "d", {"arch": "conv"}),
    ("wgan-gp · d", "wgan-gp", "d", {}),
]
BASELINE = ("kmeans (standardised)", "kmeans", "kmeans", {})
EPOCHS = 10
BOOTSTRAP_FLOOR = 2 / (RESAMPLES + 1)  # the smallest two-sided p of the paired bootstrap: no resample crossed 0


def _probe_ok(row: dict, metric: str, baseline: bool) -> bool:
    config = row.get("probe_config") or {}
    budget = 400 if metric.endswith("labels") else 0
    if config.get("labels_per_class", 0) != budget or config.get("standardize", False) != baseline:
        return False
    return not budget or config.get("repeats") == 5


def arm_rows(rows: list[dict], arm, metric: str, baseline: bool = False) -> list[dict]:
    """The arm's rows, one per seed (the newest of a seed, as the leaderboard keeps)."""
    label, model, view, extra = arm
    chosen: dict[int, dict] = {}
    for row in sorted(rows, key=lambda r: str(r.get("created_at"))):
        config = row.get("model_config") or {}
        schedule = row.get("schedule") or {}
        if (row.get("dataset") != "cifar10" or row.get("model") != model or row.get("feature_view") != view
                or row.get("probe") != "svm" or row.get("metric") != metric or row.get("status") != "ok"
                or not row.get("predictions") or not _probe_ok(row, metric, baseline) or any(config.get(k) != v for k, v in extra.items())
                or (row.get("at_epoch") if "at_epoch" in row else (row.get("details") or {}).get("snapshot_epoch"))
                or (not baseline and (schedule.get("epochs") != EPOCHS or config.get("width", 64) != 64))):
            continue
        chosen[row["seed"]] = row
    return [chosen[s] for s in sorted(chosen)]


def spread(rows: list[dict]) -> str:
    values = [r["value"] for r in rows]
    if len(values) == 1:
        return f"{values[0]:.4f} (one seed)"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f} (n={len(values)})"


def p_text(p: float, method: str = "") -> str:
    """Two significant digits; a p-value below what a double holds, or at the bootstrap's floor, said as such."""
    if p < 1e-300:
        return "< 1e-300"
    if "bootstrap" in method and p <= BOOTSTRAP_FLOOR * (1 + 1e-9):
        return f"≤ {BOOTSTRAP_FLOOR:.1g} (floor)"
    return f"{p:.2g}"


def short_method(method: str) -> str:
    """The test's name, short enough for a table row at 100 columns."""
    if method.startswith("McNemar"):
        return "McNemar"
    return "bootstrap" if "bootstrap" in method else method.split(" (")[0]


def pairwise(store: Path, metric: str) -> tuple[list[str], list[str]]:
    """The arms' spreads and the pairs' table, as Markdown lines."""
    rows = read_rows(store, warn=False)
    arms = [(arm, arm_rows(rows, arm, metric)) for arm in ARMS]
    arms = [(arm, r) for arm, r in arms if r]
    base = arm_rows(rows, BASELINE, metric, baseline=True)
    spreads = ["| arm | seeds | " + metric + " (mean ± s.d. over seeds) |", "| --- | --- | --- |"]
    for (label, *_), r in arms + ([(BASELINE, base)] if base else []):
        spreads.append(f"| {label} | {', '.join(str(x['seed']) for x in r)} | {spread(r)} |")
    table = ["| A | B | B − A | 95 % CI | p | test |", "| --- | --- | --- | --- | --- | --- |"]
    pairs = list(itertools.combinations(arms, 2)) + ([(a, (BASELINE, base)) for a in arms] if base else [])
    for (arm_a, rows_a), (arm_b, rows_b) in pairs:
        result = compare_rows(store, rows_a, rows_b)
        table.append(f"| {arm_a[0]} | {arm_b[0]} | {result.difference:+.4f} | [{result.low:+.4f}, {result.high:+.4f}] | "
                     f"{p_text(result.p, result.method)} | {short_method(result.method)} |")
    return spreads, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--metric", default="acc", help="acc (all 50,000 labels) or acc_4000labels (400 per class)")
    args = parser.parse_args()
    spreads, table = pairwise(args.store, args.metric)
    print("\n".join(spreads) + "\n\n" + "\n".join(table))


if __name__ == "__main__":
    main()
