"""Learning curves from the result store: a probe figure against training epochs.

    python benchmarks/learning_curves.py results/reference --output benchmarks/learning_curves

Reads the ``ok`` rows of one metric (default: kNN ``acc_l2_k1_majority``,
1-NN in L2), takes each row's epoch -- ``details.snapshot_epoch`` for rows
of ``ganbench run --at-epoch E``, else the schedule's epochs when the run
trained to the end -- and writes ``<output>.png`` (one panel per trained
model, one line per view; the raw-pixel and untrained ``random-d`` figures,
and a model's own one-step starting point (``--max-steps 1``), as
horizontal lines; on MNIST the published figures and the authors' own
trajectories) and ``<output>.md`` (the same as tables, mean ± std
over seeds with the number of seeds).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path
from statistics import mean, stdev

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ganbench.store import read_rows  # noqa: E402

# Published end points: BiGAN Table 1 (Donahue et al. 2016), permutation-invariant MNIST, 1-NN.
# The paper's BiGAN figure is the encoder's last hidden layer (see TRAJECTORIES), D is D's.
# Keyed by dataset: these are MNIST figures and are drawn on MNIST's curves only.
PUBLISHED = {"mnist": {("bigan", "e-hidden"): 0.9739, ("bigan", "d"): 0.9730}}

# The authors' code release (jeffdonahue/bigan README, train_mnist.sh): NNC_e (E(x), view e) and
# NNC_e- (E's last hidden layer, view e-hidden) after 1, 25, 200 and 400 epochs, measured on
# 10,000 training images held out of GAN training (ganbench tests on the official test split).
TRAJECTORIES = {"mnist": {
    ("bigan", "e"): {1: 0.8994, 25: 0.9541, 200: 0.9592, 400: 0.9210},
    ("bigan", "e-hidden"): {1: 0.9256, 25: 0.9628, 200: 0.9714, 400: 0.9735},
}}

# Models whose figures are drawn as horizontal reference lines, not curves.
BASELINES = ("pixels", "random-d")
AT_INIT = " after 1 step"  # the label of a model's own near-initial weights (`--max-steps 1`)


def epoch_of(row: dict) -> int | None:
    details = row.get("details") or {}
    if details.get("snapshot_epoch") is not None:
        return int(details["snapshot_epoch"])
    schedule = row.get("schedule") or {}
    if schedule.get("max_steps") is None and schedule.get("epochs"):
        return int(schedule["epochs"])
    return None


def official_split(row: dict) -> bool:
    """``--dataset-opt test=heldout`` rows are other data (a 50,000-image training set): not on these curves."""
    return ((row.get("details") or {}).get("dataset") or {}).get("test_split", "official") == "official"


def selected(rows: list[dict], metric: str, dataset: str):
    return [r for r in rows if r["status"] == "ok" and r["metric"] == metric and r["dataset"] == dataset
            and official_split(r)]


def panel_of(row: dict) -> str:
    """One panel per training: the model and the schedule it ran (a snapshot of a 50-epoch run
    is not the same training as one of a 100-epoch run: the rate decays over the schedule)."""
    epochs = (row.get("schedule") or {}).get("epochs")
    return f"{row['model']} ({epochs}-epoch schedule)" if epochs else row["model"]


def curves(rows: list[dict], metric: str, dataset: str) -> dict[tuple[str, str], dict[int, list[float]]]:
    """``(panel, view) -> epoch -> [value per seed]`` of the trained models; a seed probed twice
    counts once (its latest row)."""
    latest: dict[tuple, float] = {}
    for row in selected(rows, metric, dataset):
        epoch = epoch_of(row)
        if row["model"] in BASELINES or epoch is None:
            continue
        key = (panel_of(row), row["feature_view"], epoch, row["seed"], row["model_config_hash"])
        latest[key] = row["value"]
    out: dict[tuple[str, str], dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for (panel, view, epoch, _, _), value in sorted(latest.items()):
        out[(panel, view)][epoch].append(value)
    return out


def model_of(panel: str) -> str:
    return panel.split(" (")[0]


def baselines(rows: list[dict], metric: str, dataset: str) -> dict[tuple[str, str], list[float]]:
    """``(model, view) -> [value per seed]`` of the untrained baselines (width 64 for random-d)."""
    latest: dict[tuple, float] = {}
    for row in selected(rows, metric, dataset):
        if row["model"] in BASELINES and row["model_config"].get("width", 64) == 64:
            latest[(row["model"], row["feature_view"], row["seed"])] = row["value"]
        elif (row.get("schedule") or {}).get("max_steps") == 1 and not (row.get("details") or {}).get("snapshot_epoch"):
            # a trained model's own starting point (one step: the CLI stores no untrained GAN)
            latest[(f"{row['model']}{AT_INIT}", row["feature_view"], row["seed"])] = row["value"]
    out: dict[tuple[str, str], list[float]] = defaultdict(list)
    for (model, view, _), value in sorted(latest.items()):
        out[(model, view)].append(value)
    return out


def cell(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{mean(values):.4f} ± {stdev(values):.4f} ({len(values)})"


# One colour per view in every panel and in both datasets' figures (red and black stay for the
# baselines' lines); views not named here take the rest of the palette.
VIEW_COLORS = {"d": "tab:blue", "e": "tab:orange", "e-hidden": "tab:green", "d-joint": "tab:purple",
               "d-last": "tab:brown", "d-last-rank1": "tab:pink", "d-last-inlp": "tab:cyan"}
SPARE_COLORS = ["tab:olive", "tab:gray", "gold", "navy", "teal"]


def view_colors(lines) -> dict[str, str]:
    others = sorted({view for _, view in lines} - VIEW_COLORS.keys())
    return VIEW_COLORS | {view: SPARE_COLORS[i % len(SPARE_COLORS)] for i, view in enumerate(others)}


def plot(lines, flat, metric: str, dataset: str, path: Path) -> None:
    published, trajectories = PUBLISHED.get(dataset, {}), TRAJECTORIES.get(dataset, {})
    panels = sorted({panel for panel, _ in lines})
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(5.2 * max(1, len(panels)), 6.2), dpi=110,
                             squeeze=False)
    colors = view_colors(lines)
    for ax, panel in zip(axes[0], panels):
        model = model_of(panel)
        for (p, view), points in sorted(lines.items()):
            if p != panel:
                continue
            m = model
            epochs = sorted(points)
            ax.plot(epochs, [mean(points[e]) for e in epochs], marker="o", color=colors[view], label=f"{view} (ours)")
            trajectory = trajectories.get((m, view))
            if trajectory:
                ax.plot(sorted(trajectory), [trajectory[e] for e in sorted(trajectory)], marker="s", linestyle="--",
                        color=colors[view], alpha=0.55, label=f"{view} (authors' code, held-out train)")
            if (m, view) in published:
                ax.axhline(published[(m, view)], linestyle="-.", linewidth=1, color=colors[view], alpha=0.7,
                           label=f"{view}: paper {published[(m, view)]:.4f}")
        for (b, view), values in sorted(flat.items()):
            if b == f"{model}{AT_INIT}" and (panel, view) in lines:
                ax.axhline(mean(values), linestyle=(0, (1, 3)), linewidth=1.2, color=colors[view],
                           label=f"{view} after 1 step: {mean(values):.4f}")
            elif b == "pixels" or (b == "random-d" and model != "bigan"):
                ax.axhline(mean(values), linestyle=":", linewidth=1.2, color="black" if b == "pixels" else "tab:red",
                           label=f"{'raw pixels' if b == 'pixels' else f'{b} {view} (untrained)'}: {mean(values):.4f}")
        ax.set_xscale("log")
        ticks = sorted({e for (p, _), points in lines.items() if p == panel for e in points}
                       | {e for (m, _), t in trajectories.items() if m == model for e in t})
        ax.set_xticks(ticks, [str(t) for t in ticks], rotation=45, fontsize=8)  # 20 and 25 sit close on a log axis
        ax.minorticks_off()
        ax.set_xlabel("training epochs (log scale)")
        ax.set_ylabel(f"{metric} on {dataset} test")
        ax.set_title(panel)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)  # below: curves stay visible
    fig.suptitle(f"Learning curves: {metric} ({dataset})")
    fig.tight_layout()
    fig.savefig(path)


def table(lines, flat, metric: str, dataset: str, store: str) -> str:
    trajectories = TRAJECTORIES.get(dataset, {})
    epochs = sorted({e for p in lines.values() for e in p}
                    | {e for (m, v), t in trajectories.items() if any(model_of(p) == m and w == v for p, w in lines)
                       for e in t})
    out = [f"`{metric}` on `{dataset}` test against training epochs "
           f"(`python benchmarks/learning_curves.py {store}{'' if dataset == 'mnist' else ' --dataset ' + dataset}`); mean ± std over seeds (number of seeds) "
           f"where more than one.", ""]
    out.append("| model | view | " + " | ".join(f"epoch {e}" for e in epochs) + " |")
    out.append("| --- | --- | " + " | ".join("---" for _ in epochs) + " |")
    for (model, view), points in sorted(lines.items()):
        out.append(f"| {model} | {view} | " + " | ".join(cell(points[e]) if e in points else "" for e in epochs) + " |")
    for (model, view), trajectory in sorted(trajectories.items()):
        if any(model_of(p) == model and w == view for p, w in lines):
            out.append(f"| {model} (authors' code, held-out train) | {view} | "
                       + " | ".join(f"{trajectory[e]:.4f}" if e in trajectory else "" for e in epochs) + " |")
    if flat:
        out += ["", "Baselines (no epochs; a model \"after 1 step\" is its own starting point, one optimizer step "
                "from its initial weights): "
                + "; ".join(f"{model} `{view}` {cell(values)}" for (model, view), values in sorted(flat.items())) + "."]
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("store", nargs="?", default="results/reference")
    parser.add_argument("--metric", default="acc_l2_k1_majority")
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--output", default="benchmarks/learning_curves")
    args = parser.parse_args()
    rows = read_rows(args.store)
    lines = curves(rows, args.metric, args.dataset)
    flat = baselines(rows, args.metric, args.dataset)
    png, md = Path(f"{args.output}.png"), Path(f"{args.output}.md")
    plot(lines, flat, args.metric, args.dataset, png)
    md.write_text(table(lines, flat, args.metric, args.dataset, args.store))
    print(f"wrote {png} and {md}")


if __name__ == "__main__":
    main()
