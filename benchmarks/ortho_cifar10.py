"""`ortho` on CIFAR-10: each view's downstream figure beside the real/fake accuracy left after its projection.

    python benchmarks/ortho_cifar10.py results/reference [--epochs 10] [--seed 0]

The claim tested (Mao et al. 2019): D's features with their real/fake information removed serve a downstream
classifier better. For each view of the final weights, the svm accuracy (all labels and 400 per class) and the
best held-out linear real/fake accuracy of that view, as the model measured it when it fitted its projections
(``details.model``: before any projection on ``d`` / ``d-last``, after the rank-1 projection on
``d-last-rank1``, after INLP on ``d-last-inlp``); 0.5 is chance. Differences against ``d-last`` are McNemar
tests on the 10,000 test images (:func:`ganbench.reports.compare.compare_rows`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ganbench.reports.compare import compare_rows
from ganbench.store.jsonl import read_rows

VIEWS = ("d", "d-last", "d-last-rank1", "d-last-inlp")


def real_fake_left(view: str, report: dict):
    """The view's held-out real/fake accuracy as the model measured it; None where it measured none."""
    if view == "d-last":
        return report.get("rank1_real_fake_acc_before")  # the rank-1 projection is fitted on d-last
    if view.endswith("-rank1"):
        return report.get("rank1_real_fake_acc_after")
    if view.endswith("-inlp"):
        return report.get("real_fake_acc_after")
    return report.get("real_fake_acc_before") if view == report.get("inlp_view") else None


def rows_of(rows, view, metric, epochs, seed):
    found = [r for r in rows if r.get("model") == "ortho" and r.get("dataset") == "cifar10" and r.get("status") == "ok"
             and r.get("feature_view") == view and r.get("metric") == metric and r.get("seed") == seed
             and (r.get("schedule") or {}).get("epochs") == epochs
             and not (r.get("at_epoch") or (r.get("details") or {}).get("snapshot_epoch"))]
    return sorted(found, key=lambda r: str(r.get("created_at")))[-1:]  # the standing row of the seed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = read_rows(args.store, warn=False)
    print("| view | svm acc | B − A vs d-last (95 % CI, p) | svm acc, 400 per class | real/fake accuracy left |")
    print("| --- | --- | --- | --- | --- |")
    base = rows_of(rows, "d-last", "acc", args.epochs, args.seed)
    for view in VIEWS:
        full = rows_of(rows, view, "acc", args.epochs, args.seed)
        budget = rows_of(rows, view, "acc_4000labels", args.epochs, args.seed)
        if not full:
            continue
        report = (full[0].get("details") or {}).get("model") or {}
        left = real_fake_left(view, report)
        versus = ""
        if base and view != "d-last":
            c = compare_rows(args.store, base, full)
            versus = f"{c.difference:+.4f} [{c.low:+.4f}, {c.high:+.4f}], p = {c.p:.2g}"
        budget_text = f"{budget[0]['value']:.4f} ± {budget[0]['stderr'] * 5 ** 0.5:.4f}" if budget else ""
        print(f"| {view} | {full[0]['value']:.4f} | {versus} | {budget_text} | "
              f"{'not measured' if left is None else f'{left:.4f}'} |")


if __name__ == "__main__":
    main()
