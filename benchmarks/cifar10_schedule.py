"""The CIFAR-10 schedule's two tables: what each GAN's training cost, and every view's figures with a quality column.

    python benchmarks/cifar10_schedule.py results/reference            # both tables, Markdown

The schedule (benchmarks/fidelity_cifar10.md): 10 epochs of the 50,000 training images, width 64, each model's
paper optimiser, snapshots at epochs 1, 2, 5, 10. One line per trained model and view of the final weights, its
figures the mean ± s.d. over the seeds stored (``n``; one seed is called one seed): ``svm`` on all labels and at
400 labels per class (5 draws each), ``knn`` 1-NN (L2, majority vote); beside each training, its generator's FID and KID from the
``quality`` probe in its offline ``classifier`` space (a ResNet trained on CIFAR-10's training images by the probe,
not Inception: the figures compare the rows of this table with each other, not with published FIDs).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from ganbench.store.jsonl import read_rows

EPOCHS = 10
# (label, model, model options the rows must carry, views): the trained GANs of the schedule
MODELS = [
    ("dcgan", "dcgan", {}, ("d", "d-last")),
    ("acgan †", "acgan", {}, ("d", "d-last")),
    ("bigan (conv)", "bigan", {"arch": "conv"}, ("e", "e-hidden", "d", "d-joint")),
    ("wgan-gp", "wgan-gp", {}, ("d", "d-last")),
]
# (column, probe, metric, probe options the rows must carry)
COLUMNS = [
    ("svm, all labels", "svm", "acc", {"labels_per_class": 0, "standardize": False}),
    ("svm, 400 per class", "svm", "acc_4000labels", {"labels_per_class": 400, "repeats": 5, "standardize": False}),
    ("1-NN", "knn", "acc_l2_k1_majority", {}),
]
QUALITY = [("FID ↓", "quality", "fid", {"space": "classifier"}), ("KID ↓", "quality", "kid", {"space": "classifier"})]
# the options that say how a model was optimised (the rest are its architecture's defaults)
OPTIMISER = ("arch", "lr", "beta1", "beta2", "n_critic", "gp_lambda", "lr_decay", "weight_decay")


def schedule_rows(rows: list[dict], model: str, options: dict) -> list[dict]:
    """The model's rows of the schedule's final weights on CIFAR-10 (no snapshot, width 64, 10 epochs)."""
    found = []
    for row in rows:
        config, schedule = row.get("model_config") or {}, row.get("schedule") or {}
        snapshot = row.get("at_epoch") if "at_epoch" in row else (row.get("details") or {}).get("snapshot_epoch")
        if (row.get("dataset") == "cifar10" and row.get("model") == model and row.get("status") == "ok"
                and schedule.get("epochs") == EPOCHS and config.get("width", 64) == 64 and not snapshot
                and all(config.get(k) == v for k, v in options.items())):
            found.append(row)
    return found


def cell(rows: list[dict], view: str | None, probe: str, metric: str, options: dict) -> str:
    by_seed: dict[int, float] = {}
    for row in sorted(rows, key=lambda r: str(r.get("created_at"))):  # the newest row of a seed stands
        config = row.get("probe_config") or {}
        if (row.get("probe") == probe and row.get("metric") == metric and row.get("feature_view") == view
                and all(config.get(k, 0 if k == "labels_per_class" else None) == v for k, v in options.items())):
            by_seed[row["seed"]] = row["value"]
    values = [by_seed[s] for s in sorted(by_seed)]
    if not values:
        return ""
    if len(values) == 1:
        return f"{values[0]:.4f} (one seed)"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f} (n={len(values)})"


def hours(rows: list[dict]) -> str:
    """Each seed's training time (details.training.total_seconds: every session of a resumed run)."""
    by_seed = {}
    for row in rows:
        seconds = ((row.get("details") or {}).get("training") or {}).get("total_seconds") or row.get("train_seconds")
        if seconds:
            by_seed[row["seed"]] = max(by_seed.get(row["seed"], 0.0), float(seconds))
    return ", ".join(f"seed {s}: {by_seed[s] / 3600:.2f} h" for s in sorted(by_seed))


def tables(store: Path) -> tuple[list[str], list[str]]:
    rows = read_rows(store, warn=False)
    schedule = ["| model | seeds | optimiser options | batch | steps | training, one CPU core | FID ↓ | KID ↓ |",
                "|---" * 8 + "|"]
    figures = ["| model · view | " + " | ".join(c[0] for c in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for label, model, options, views in MODELS:
        found = schedule_rows(rows, model, options)
        if not found:
            continue
        first = found[0]
        config = ", ".join(f"{k} {v}" for k, v in (first.get("model_config") or {}).items() if k in OPTIMISER)
        plan = first.get("schedule") or {}
        seeds = ", ".join(str(s) for s in sorted({r["seed"] for r in found}))
        schedule.append(f"| {label} | {seeds} | {config} | {plan.get('batch_size')} | {plan.get('steps')} | "
                        f"{hours(found)} | " + " | ".join(cell(found, None, *q[1:]) for q in QUALITY) + " |")
        for view in views:
            cells = [cell(found, view, probe, metric, opts) for _, probe, metric, opts in COLUMNS]
            figures.append(f"| {label} · {view} | " + " | ".join(cells) + " |")
    return schedule, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    args = parser.parse_args()
    schedule, figures = tables(args.store)
    print("\n".join(schedule) + "\n\n" + "\n".join(figures))


if __name__ == "__main__":
    main()
