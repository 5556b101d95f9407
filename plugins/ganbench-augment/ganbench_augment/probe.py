"""``augment``: does adding GAN samples to a small labelled set help a classifier?"""

from __future__ import annotations

import copy

import numpy as np
import torch

import ganbench

from .options import OPTIONS
from .training import SCHEMES, accuracy, as_input, predict, real_image_statistics, train_classifier

VARIANTS = ("real",) + SCHEMES


def choose_epochs(fit_x, fit_y, val_x, val_y, classes: int, seed: int, o: dict) -> tuple[int, list[float]]:
    """The epoch count whose real-only classifier, trained on the fit part of the
    labelled images, scores best on their validation part (the first such), and
    the validation accuracy after every epoch, scored as the test split will be
    (``bn_statistics``; a copy of the network is rescored, so training goes on
    untouched). Sees no test image."""
    scores = []

    def score(epoch: int, net: torch.nn.Module) -> None:
        scored = scored_network(copy.deepcopy(net), fit_x, o)
        scores.append(accuracy(scored, val_x, val_y, classes))

    train_classifier("real", fit_x, fit_y, fit_x[:0], classes, o["max_epochs"], seed, o["width"], o["batch_size"], o["lr"],
                     after_epoch=score)
    return int(np.argmax(scores)) + 1, scores


def scored_network(net: torch.nn.Module, real: torch.Tensor, o: dict) -> torch.nn.Module:
    """``net`` as it is scored: with its running batch-norm statistics (``mixed``) or
    with statistics recomputed on the labelled ``real`` images (``real``)."""
    return real_image_statistics(net, real) if o["bn_statistics"] == "real" else net.eval()


def draw_labels(train_y: np.ndarray, per_class: int, seed: int, draw: int) -> np.ndarray:
    try:
        return ganbench.label_budget(train_y, per_class, seed=seed, draw=draw)
    except ValueError as exc:
        raise ganbench.UsageError(f"Probe 'augment': {exc}; lower --probe-opt labels_per_class.") from None


def draw_seed(seed: int, draw: int) -> int:
    return seed * 10_007 + draw * 101


def mean_and_stderr(values) -> tuple[float, float | None]:
    values = np.asarray(values, dtype=float)
    stderr = float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else None
    return float(values.mean()), stderr


class Augment(ganbench.Probe):
    """A small CNN trained on ``labels_per_class`` real labels per class, alone and with
    ``ratio`` generated images per real one under each labelling scheme
    (:mod:`ganbench_augment.training`), over ``draws`` seeded label draws.

    Per draw: the labelled images are drawn (``ganbench.label_budget``), a
    stratified ``val_fraction`` of them is held out (``ganbench.validation_split``)
    and the number of epochs is chosen by the real-only classifier's accuracy on
    it; then the four classifiers (real-only and the three schemes) are trained
    on all the draw's labelled images for that many epochs, from the same
    initial weights and real-image order, and scored once on the test split.
    Validation and test scores use batch-norm statistics recomputed on the
    draw's labelled real images (``bn_statistics=real``, the default) or the
    running ones, which blend real and generated batches (``mixed``).
    """

    def check(self, info: ganbench.DataInfo) -> None:
        """The label budget, checked once the dataset loads and before the model trains (one line, exit 2)."""
        per_class = self.options["labels_per_class"]
        short = [(c, int(n)) for c, n in enumerate(info.train_class_counts) if 0 < n < per_class]
        if short:
            cls, n = min(short, key=lambda item: item[1])
            raise ganbench.UsageError(
                f"Probe 'augment': labels_per_class={per_class}, but class {cls} of dataset '{info.name}' has only "
                f"{n} training examples. Use --probe-opt augment.labels_per_class={n} or fewer.")

    def run(self, ctx: ganbench.ProbeContext) -> list[ganbench.Metric]:
        o = self.options
        dataset = ctx.dataset
        classes = dataset.num_classes
        train_y = dataset.train_y.numpy()
        test_x, test_y = as_input(dataset.test_x, ctx.device), dataset.test_y.to(ctx.device)
        acc = {v: [] for v in VARIANTS}
        predicted = {v: [] for v in VARIANTS}  # per draw: the test predictions, for `ganbench compare`
        chosen, validation = [], []
        n_labelled = n_generated = 0
        for draw in range(o["draws"]):
            seed = draw_seed(ctx.seed, draw)
            labelled = draw_labels(train_y, o["labels_per_class"], ctx.seed, draw)
            x = as_input(dataset.train_x[labelled], ctx.device)
            y = dataset.train_y[labelled].to(ctx.device)
            fit, val = ganbench.validation_split(train_y[labelled], fraction=o["val_fraction"], seed=seed)
            epochs, scores = choose_epochs(x[fit], y[fit], x[val], y[val], classes, seed, o)
            chosen.append(epochs)
            validation.append([round(s, 4) for s in scores])
            n_labelled, n_generated = len(labelled), int(round(o["ratio"] * len(labelled)))
            generated = as_input(ctx.generate(n_generated, seed=seed), ctx.device) if n_generated else x[:0]
            ctx.log(f"augment draw {draw + 1}/{o['draws']}: {n_labelled} labels, {n_generated} generated, {epochs} epochs")
            for variant in VARIANTS:
                net = train_classifier(variant, x, y, generated if variant != "real" else x[:0], classes, epochs, seed,
                                       o["width"], o["batch_size"], o["lr"])
                predicted[variant].append(predict(scored_network(net, x, o), test_x, classes).cpu().numpy())
                acc[variant].append(float((predicted[variant][-1] == test_y.cpu().numpy()).mean()))
            ctx.log(f"augment draw {draw + 1}: test accuracy " + ", ".join(f"{v} {acc[v][-1]:.4f}" for v in VARIANTS))
        details = {"epochs_per_draw": chosen, "val_acc_per_epoch": validation, "ratio": o["ratio"],
                   "bn_statistics": o["bn_statistics"], "n_generated": n_generated,
                   "acc_per_draw": {v: acc[v] for v in VARIANTS}}
        common = {"n_test": len(test_y), "labels_used": n_labelled}
        metrics = []
        for variant in VARIANTS:
            value, stderr = mean_and_stderr(acc[variant])
            n_train = n_labelled + (n_generated if variant != "real" else 0)
            metrics.append(ganbench.Metric(f"acc_{variant}", value, True, stderr=stderr, n_train=n_train,
                                           details=details, predictions=np.stack(predicted[variant]), **common))
        for scheme in SCHEMES:  # paired over draws: same labels, schedule and initial weights
            value, stderr = mean_and_stderr(np.subtract(acc[scheme], acc["real"]))
            metrics.append(ganbench.Metric(f"gain_{scheme}", value, True, stderr=stderr,
                                           n_train=n_labelled + n_generated, details=details, **common))
        return metrics
