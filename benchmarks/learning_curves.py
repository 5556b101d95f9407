"""Learning curves from the result store: a probe figure against training epochs.

    python benchmarks/learning_curves.py results/reference --output benchmarks/learning_curves

Reads the ``ok`` rows of one metric (default: kNN ``acc_l2_k1_majority``,
1-NN in L2), takes each row's epoch -- ``details.snapshot_epoch`` for rows
of ``ganbench run --at-epoch E``, else the schedule's epochs when the run
trained to the end -- and writes ``<output>.png`` (one panel per trained
model, one line per view; the raw-pixel and untrained ``random-d`` figures,
and a model's own one-step starting point (``--max-steps 1``), as
horizontal lines; the published figures (MNIST: BiGAN's; CIFAR-10: DCGAN's
82.8 %, whose D was wider and trained on ImageNet-1k) and, on MNIST, the authors' own
trajectories, the latter on a panel of their own since they are measured on
held-out training images) and ``<output>.md`` (the same as tables, mean ± std
over seeds with the number of seeds, and a caption of what to see). Panels
form a grid of at most 3 columns sharing one y range; seeds are error bars.
``--probe NAME`` keeps one probe's rows (e.g. ``--probe svm --metric acc``).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from statistics import mean, stdev

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ganbench.store.jsonl import read_rows  # noqa: E402
from ganbench.store.standing import standing  # noqa: E402

# Published end points: BiGAN Table 1 (Donahue et al. 2016), permutation-invariant MNIST, 1-NN.
# The paper's BiGAN figure is the encoder's last hidden layer (see TRAJECTORIES), D is D's.
# Keyed by dataset: these are MNIST figures and are drawn on MNIST's curves only.
# CIFAR-10: DCGAN §5.1, L2-SVM on D's features -- a D of width 256 trained on ImageNet-1k, not CIFAR-10.
PUBLISHED = {"mnist": {("bigan", "e-hidden"): 0.9739, ("bigan", "d"): 0.9730},
             "cifar10": {("dcgan", "d"): 0.828}}
PUBLISHED_SETTING = {"cifar10": " (ImageNet-1k D, width 256)"}  # said in the legend where the paper's setting differs

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


def curve_rows(rows: list[dict], metric: str, dataset: str) -> dict[tuple[str, str], dict[int, list[dict]]]:
    """``(panel, view) -> epoch -> [row per seed]`` of the trained models; a seed probed twice
    counts once (the row standing for it: ganbench.store.standing, as on the leaderboard)."""
    trained = [row for row in selected(rows, metric, dataset) if row["model"] not in BASELINES and epoch_of(row) is not None]
    latest = standing(trained, key=lambda row: (panel_of(row), row["feature_view"], epoch_of(row), row["seed"],
                                                row["model_config_hash"]))
    out: dict[tuple[str, str], dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for (panel, view, epoch, _, _), row in sorted(latest.items(), key=lambda item: item[0]):
        out[(panel, view)][epoch].append(row)
    return out


def curves(rows: list[dict], metric: str, dataset: str) -> dict[tuple[str, str], dict[int, list[float]]]:
    """``(panel, view) -> epoch -> [value per seed]`` of the trained models (see :func:`curve_rows`)."""
    return {line: {epoch: [r["value"] for r in at] for epoch, at in points.items()}
            for line, points in curve_rows(rows, metric, dataset).items()}


def last_steps(store: str, rows: list[dict], metric: str, dataset: str) -> dict[tuple[str, str], object]:
    """``(panel, view) ->`` the paired test (``ganbench compare``: McNemar for one seed, a bootstrap over
    seeds and test examples for more) of each curve's last point against the point before it; a curve
    whose rows cannot be tested (no predictions beside them and fewer than 2 seeds) is left out."""
    from ganbench.reports.compare import compare_rows
    from ganbench.system.errors import UsageError

    tests = {}
    for line, points in curve_rows(rows, metric, dataset).items():
        epochs = sorted(points)
        if len(epochs) < 2:
            continue
        try:
            tests[line] = compare_rows(Path(store), points[epochs[-2]], points[epochs[-1]])
        except UsageError:
            pass
    return tests


def model_of(panel: str) -> str:
    return panel.split(" (")[0]


def baselines(rows: list[dict], metric: str, dataset: str) -> dict[tuple[str, str], list[float]]:
    """``(model, view) -> [value per seed]`` of the untrained baselines (width 64 for random-d)."""
    def line_of(row: dict) -> str | None:
        if row["model"] in BASELINES and row["model_config"].get("width", 64) == 64:
            return row["model"]
        if (row.get("schedule") or {}).get("max_steps") == 1 and not (row.get("details") or {}).get("snapshot_epoch"):
            return f"{row['model']}{AT_INIT}"  # a trained model's own starting point (one step: the CLI stores no untrained GAN)
        return None

    drawn = [row for row in selected(rows, metric, dataset) if line_of(row) is not None]
    latest = standing(drawn, key=lambda row: (line_of(row), row["feature_view"], row["seed"]))
    out: dict[tuple[str, str], list[float]] = defaultdict(list)
    for (model, view, _), row in sorted(latest.items(), key=lambda item: item[0]):
        out[(model, view)].append(row["value"])
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


def shared_ylim(values, pad: float = 0.05) -> tuple[float, float]:
    """One y range for every panel of a figure: the span of all values drawn, padded by ``pad``
    of that span on each side (so panels compare at a glance)."""
    lo, hi = min(values), max(values)
    margin = (hi - lo) * pad or 0.01
    return lo - margin, hi + margin


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and std over seeds (0 for one seed)."""
    return mean(values), (stdev(values) if len(values) > 1 else 0.0)


def drawn_values(lines, flat, trajectories, published=None) -> list[float]:
    """Every value a panel draws, published lines of the curves drawn included (the y range shows them)."""
    values = [v for points in lines.values() for seeds in points.values() for v in seeds]
    values += [v for seeds in flat.values() for v in seeds]
    values += [v for (model, view), v in (published or {}).items()
               if any(model_of(panel) == model and v_ == view for panel, v_ in lines)]
    return values + [v for t in trajectories.values() for v in t.values()]


AUTHORS = "authors' code (10,000 held-out training images)"


def plot_panel(ax, panel, lines, flat, colors, published, trajectories, setting: str = "") -> None:
    model = model_of(panel)
    for (p, view), points in sorted(lines.items()):
        if p != panel:
            continue
        epochs = sorted(points)
        stats = [mean_std(points[e]) for e in epochs]
        ax.errorbar(epochs, [m for m, _ in stats], yerr=[s for _, s in stats], marker="o", capsize=3,
                    color=colors[view], label=view)
        if (model, view) in published:
            ax.axhline(published[(model, view)], linestyle="-.", linewidth=1, color=colors[view], alpha=0.7,
                       label=f"{view}: paper {published[(model, view)]:.4f}{setting}")
    for (b, view), values in sorted(flat.items()):
        m, s = mean_std(values)
        if b == f"{model}{AT_INIT}" and (panel, view) in lines:
            ax.axhline(m, linestyle=(0, (1, 3)), linewidth=1.2, color=colors[view], label=f"{view} after 1 step")
        elif b == "pixels":
            ax.axhline(m, linestyle=":", linewidth=1.4, color="black", label="raw pixels")
        elif b == "random-d" and model != "bigan":
            ax.axhline(m, linestyle="--", linewidth=1.2, color="tab:red", label=f"random-d {view} (untrained)")
            if s:
                ax.axhspan(m - s, m + s, color="tab:red", alpha=0.15)
    ticks = sorted({e for (p, _), points in lines.items() if p == panel for e in points})
    finish_axes(ax, panel, ticks)


def plot_authors(ax, flat, colors, trajectories) -> None:
    """The authors' trajectory on its own panel: another split (held-out training images), and
    ganbench's own one-step starting point (official test split) as its epoch 0."""
    ticks = {0}
    for (model, view), trajectory in sorted(trajectories.items()):
        epochs = sorted(trajectory)
        start = flat.get((f"{model}{AT_INIT}", view))
        xs, ys = epochs, [trajectory[e] for e in epochs]
        ax.plot(xs, ys, marker="s", linestyle="--", color=colors[view], label=f"{model} {view} (authors)")
        if start:
            ax.errorbar([0], [mean_std(start)[0]], yerr=[mean_std(start)[1]], marker="o", capsize=3,
                        color=colors[view], mfc="white", label=f"{view} epoch 0: ganbench 1 step")
        ticks |= set(epochs)
    finish_axes(ax, AUTHORS, sorted(ticks))


def finish_axes(ax, title, ticks) -> None:
    ax.set_xscale("symlog", linthresh=1)  # symlog: the epoch-0 point stays on the axis
    labels = [str(t) if i == len(ticks) - 1 or t == 0 or ticks[i + 1] / t >= 1.3 else ""
              for i, t in enumerate(ticks)]  # 20 and 25 overlap on a log axis: keep the later label
    ax.set_xticks(ticks, labels, rotation=45, fontsize=9)
    ax.minorticks_off()
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)


def shared_legend(fig, axes, n: int) -> None:
    """One legend for the figure (a colour is a view in every panel), in the empty grid cells if
    any, else below the grid: per-panel legends hid the curves."""
    entries = {}
    for ax in list(axes.flat)[:n]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    spare = list(axes.flat)[n:]
    for ax in spare:
        ax.axis("off")
    labels = sorted(entries, key=lambda label: ("authors" in label or "epoch 0" in label, label))
    if spare:
        spare[0].legend([entries[k] for k in labels], labels, loc="center left", fontsize=9, ncol=2 if len(spare) > 1 else 1,
                        frameon=False)
    else:
        fig.legend([entries[k] for k in labels], labels, loc="lower center", fontsize=9, ncol=4, frameon=False)


def plot(lines, flat, metric: str, dataset: str, path: Path) -> None:
    published, trajectories = PUBLISHED.get(dataset, {}), TRAJECTORIES.get(dataset, {})
    panels = sorted({panel for panel, _ in lines}, key=lambda p: (model_of(p), len(p), p))
    n = len(panels) + (1 if trajectories else 0)
    cols = min(3, n + 1) if n < 3 else 3  # a lone panel gets a second cell for the legend
    rows = -(-max(1, n) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.9 * rows), dpi=110, squeeze=False,
                             sharey=True)
    colors = view_colors(lines | {k: {} for k in trajectories})
    for ax, panel in zip(axes.flat, panels):
        plot_panel(ax, panel, lines, flat, colors, published, trajectories, PUBLISHED_SETTING.get(dataset, ""))
    if trajectories:
        plot_authors(axes.flat[len(panels)], flat, colors, trajectories)
    shared_legend(fig, axes, n)
    axes[0][0].set_ylim(*shared_ylim(drawn_values(lines, flat, trajectories, published)))
    for row in axes:
        row[0].set_ylabel(f"{metric} ({dataset})")
    for ax in axes[-1]:
        ax.set_xlabel("training epochs (symlog)")
    fig.suptitle(f"Learning curves: {metric} on {dataset} test\n(mean ± std over seeds; no bar = 1 seed)")
    fig.tight_layout(rect=(0, 0 if rows * cols > n else 0.15, 1, 1))
    fig.savefig(path)


def table(lines, flat, metric: str, dataset: str, store: str) -> str:
    trajectories = TRAJECTORIES.get(dataset, {})
    epochs = sorted({e for p in lines.values() for e in p}
                    | {e for (m, v), t in trajectories.items() if any(model_of(p) == m and w == v for p, w in lines)
                       for e in t})
    out = [f"`{metric}` on `{dataset}` test against training epochs "
           f"(`python benchmarks/learning_curves.py {' '.join(sys.argv[1:]) or store}`); mean ± std over seeds (number of seeds) "
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


def last_step_words(points: dict[int, list[float]], test=None) -> str:
    """Whether a curve still rises, said only as far as a paired test supports it."""
    epochs = sorted(points)
    before, last = epochs[-2], epochs[-1]
    diff = mean(points[last]) - mean(points[before])
    if test is None:
        return f"{diff:+.4f} from epoch {before} to {last} (not tested: no per-example predictions)"
    if test.p < 0.05:
        return (f"{'still rising' if diff > 0 else 'falling'} from epoch {before} to {last} "
                f"({diff:+.4f}, p = {test.p:.2g}, {test.method.split(' on ')[0]})")
    return (f"flat from epoch {before} to {last} ({diff:+.4f}, 95 % CI [{test.low:+.4f}, {test.high:+.4f}], "
            f"p = {test.p:.2g}: no difference the paired test can tell)")


def caption(lines, flat, dataset: str, tests: dict | None = None) -> str:
    """What a reader should see: per curve, its last point against raw pixels and the untrained
    random-d, and whether it still rises (by the paired test in ``tests``, see :func:`last_steps`)."""
    pixels = flat.get(("pixels", next((v for m, v in flat if m == "pixels"), "")))
    rand = next((vals for (m, _), vals in flat.items() if m == "random-d"), None)
    notes = []
    for (panel, view), points in sorted(lines.items()):
        epochs = sorted(points)
        last = mean(points[epochs[-1]])
        parts = [f"{panel} `{view}` ends at {last:.4f} (epoch {epochs[-1]})"]
        if pixels:
            parts.append(f"{'above' if last > mean(pixels) else 'below'} raw pixels ({mean(pixels):.4f})")
        if rand:
            parts.append(f"{'above' if last > mean(rand) else 'below'} untrained random-d ({mean(rand):.4f})")
        if len(epochs) > 1:
            parts.append(last_step_words(points, (tests or {}).get((panel, view))))
        notes.append(", ".join(parts))
    text = ("**What to see.** All panels share one y range, so heights compare across panels; bars are "
            "std over seeds, points without a bar are one seed. " + "; ".join(notes) + ".")
    if TRAJECTORIES.get(dataset):
        text += (" The last panel is the BiGAN authors' own code, measured on 10,000 training images held out "
                 "of GAN training, not on the official test split: compare its shape, not its level. The paper "
                 "publishes no epoch-0 figure, so its epoch 0 is ganbench's own one-step starting point "
                 "(`--max-steps 1`, official test split).")
    return text + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("store", nargs="?", default="results/reference")
    parser.add_argument("--metric", default="acc_l2_k1_majority")
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--probe", default=None, help="keep only this probe's rows (e.g. svm vs knn acc)")
    parser.add_argument("--output", default="benchmarks/learning_curves")
    args = parser.parse_args()
    rows = read_rows(args.store)
    if args.probe:
        rows = [r for r in rows if r.get("probe") == args.probe]
    lines = curves(rows, args.metric, args.dataset)
    flat = baselines(rows, args.metric, args.dataset)
    if not lines and not flat:
        print(f"learning_curves: no ok rows of metric {args.metric!r} on dataset {args.dataset!r}"
                         f"{' for probe ' + repr(args.probe) if args.probe else ''} in {args.store}; "
              "check --metric/--dataset/--probe against the store", file=sys.stderr)
        sys.exit(2)
    png, md = Path(f"{args.output}.png"), Path(f"{args.output}.md")
    plot(lines, flat, args.metric, args.dataset, png)
    tests = last_steps(args.store, rows, args.metric, args.dataset)
    md.write_text(table(lines, flat, args.metric, args.dataset, args.store) + "\n"
                  + caption(lines, flat, args.dataset, tests))
    print(f"wrote {png} and {md}")


if __name__ == "__main__":
    main()
