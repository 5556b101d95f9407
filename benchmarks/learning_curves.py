"""Learning curves from the result store: a probe figure against training epochs.

    python benchmarks/learning_curves.py results/reference --output benchmarks/learning_curves

Reads the ``ok`` rows of one metric (default: kNN ``acc_l2_k1_majority``,
1-NN in L2), takes each row's epoch -- ``details.snapshot_epoch`` for rows
of ``ganbench run --at-epoch E``, else the schedule's epochs when the run
trained to the end -- and writes ``<output>.png`` (one line per model and
view, the published figures and the raw-pixel baseline as horizontal
lines) and ``<output>.md`` (the same as a table). Seeds are averaged.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path
from statistics import mean

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ganbench.store import read_rows  # noqa: E402

# BiGAN Table 1 (Donahue et al. 2016), permutation-invariant MNIST, 1-NN accuracy.
PUBLISHED = {("bigan", "e"): 0.9739, ("bigan", "d"): 0.9730}


def epoch_of(row: dict) -> int | None:
    details = row.get("details") or {}
    if details.get("snapshot_epoch") is not None:
        return int(details["snapshot_epoch"])
    schedule = row.get("schedule") or {}
    if schedule.get("max_steps") is None and schedule.get("epochs"):
        return int(schedule["epochs"])
    return None


def curves(rows: list[dict], metric: str, dataset: str) -> dict[tuple[str, str], dict[int, list[float]]]:
    out: dict[tuple[str, str], dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row["status"] != "ok" or row["metric"] != metric or row["dataset"] != dataset:
            continue
        epoch = epoch_of(row)
        if row["model"] == "pixels" or epoch is None:
            continue
        out[(row["model"], row["feature_view"])][epoch].append(row["value"])
    return out


def baseline(rows: list[dict], metric: str, dataset: str) -> float | None:
    values = [r["value"] for r in rows if r["status"] == "ok" and r["model"] == "pixels"
              and r["metric"] == metric and r["dataset"] == dataset]
    return mean(values) if values else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("store", nargs="?", default="results/reference")
    parser.add_argument("--metric", default="acc_l2_k1_majority")
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--output", default="benchmarks/learning_curves")
    args = parser.parse_args()
    rows = read_rows(args.store)
    lines = curves(rows, args.metric, args.dataset)
    pixels = baseline(rows, args.metric, args.dataset)

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for (model, view), points in sorted(lines.items()):
        epochs = sorted(points)
        ax.plot(epochs, [mean(points[e]) for e in epochs], marker="o", label=f"{model} {view}")
    shown = [(key, figure) for key, figure in PUBLISHED.items() if key in lines]
    for i, ((model, view), figure) in enumerate(shown):  # close figures: labels alternate left and right
        ax.axhline(figure, linestyle="--", linewidth=1, color="grey")
        ax.annotate(f"{model} {view}, paper: {figure:.4f}", (0.01 if i % 2 == 0 else 0.45, figure),
                    xycoords=("axes fraction", "data"), fontsize=8, va="bottom", color="dimgrey")
    if pixels is not None:
        ax.axhline(pixels, linestyle=":", linewidth=1, color="black")
        ax.annotate(f"raw pixels: {pixels:.4f}", (0.75, pixels), xycoords=("axes fraction", "data"), fontsize=8,
                    va="top", color="black")
    ax.set_xscale("log")
    ticks = sorted({e for p in lines.values() for e in p})
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("training epochs (log scale)")
    ax.set_ylabel(f"{args.metric} on {args.dataset} test")
    ax.set_title(f"Learning curves: {args.metric} ({args.dataset})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    png = Path(f"{args.output}.png")
    fig.savefig(png)

    table = [f"| model | view | " + " | ".join(f"epoch {e}" for e in sorted({e for p in lines.values() for e in p})) + " |"]
    all_epochs = sorted({e for p in lines.values() for e in p})
    table.append("| --- | --- | " + " | ".join("---" for _ in all_epochs) + " |")
    for (model, view), points in sorted(lines.items()):
        cells = [f"{mean(points[e]):.4f}" if e in points else "" for e in all_epochs]
        table.append(f"| {model} | {view} | " + " | ".join(cells) + " |")
    md = Path(f"{args.output}.md")
    md.write_text(f"`{args.metric}` on `{args.dataset}` test against training epochs "
                  f"(`python benchmarks/learning_curves.py {args.store}`); raw pixels: "
                  f"{'n/a' if pixels is None else f'{pixels:.4f}'}.\n\n" + "\n".join(table) + "\n")
    print(f"wrote {png} and {md}")


if __name__ == "__main__":
    main()
