"""An 8×8 grid of samples of each trained G, side by side, each labelled with its model, epoch and seed.

    python benchmarks/sample_grids.py --data-root ../shared/data/cifar-10 --cache-dir CACHE \\
        --model dcgan --model acgan:batch_size=128 --model bigan:arch=conv --model wgan-gp:batch_size=640 \\
        --epochs 10 --output benchmarks/cifar10_samples_10ep.png

Each model is loaded from the cache exactly as `ganbench show samples --at-epoch E` loads it (never trained
here: a model whose weights of that epoch are not cached is refused in one line); the 64 samples are drawn with `ganbench show`'s own function
(``ganbench.reports.pictures.compute_samples``) from the same fixed latent seed, so the grid of one model is the
picture `ganbench show samples --model M … --sample-seed 0` writes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from torchvision.utils import make_grid  # noqa: E402

from ganbench.jobs.job import Job  # noqa: E402
from ganbench.jobs.run import prepare_model  # noqa: E402
from ganbench.reports.pictures import compute_samples  # noqa: E402
from ganbench.system.errors import UsageError  # noqa: E402


def parse(text: str) -> tuple[str, dict, int | None]:
    """``MODEL[:KEY=VALUE...]`` -> (model, model options, batch size); ``batch_size`` is the run's, not an option."""
    model, *pairs = text.split(":")
    options = dict(pair.split("=", 1) for pair in pairs)
    batch = options.pop("batch_size", None)
    return model, options, int(batch) if batch else None


def grid_of(model: str, options: dict, batch: int | None, args) -> np.ndarray:
    # --at-epoch never trains: the weights at the end of that epoch (the final ones at the last epoch), or one line
    job = Job(model=model, dataset=args.dataset, probes=[], model_options=options, seed=args.seed,
              data_root=args.data_root, cache_dir=args.cache_dir, device="cpu", epochs=args.epochs, batch_size=batch,
              at_epoch=args.at_epoch or args.epochs)
    prepared = prepare_model(job, log=lambda message: None)
    images = compute_samples(prepared, 64, 0)
    return make_grid(images, nrow=8, padding=2, pad_value=1.0).permute(1, 2, 0).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, help="MODEL[:KEY=VALUE...]; repeat")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--data-root")
    parser.add_argument("--cache-dir", required=True)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--at-epoch", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    try:
        grids = [(text, grid_of(*parse(text), args)) for text in args.model]
    except UsageError as exc:
        sys.exit(f"Error: {exc}")
    epoch = args.at_epoch or args.epochs
    fig, axes = plt.subplots(1, len(grids), figsize=(3.1 * len(grids), 3.4), squeeze=False)
    for ax, (text, grid) in zip(axes[0], grids):
        ax.imshow(grid.squeeze() if grid.shape[2] == 1 else grid, cmap="gray" if grid.shape[2] == 1 else None)
        model, options, _ = parse(text)
        named = f"{model} ({', '.join(f'{k}={v}' for k, v in options.items())})" if options else model
        ax.set_title(f"{named} · epoch {epoch} · seed {args.seed}", fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.output, dpi=110)
    print(args.output)


if __name__ == "__main__":
    main()
