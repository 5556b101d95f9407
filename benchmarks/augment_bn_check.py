"""Diagnostic for the augment probe (validation only, never test): does mixing generated
images into the classifier's batch-norm statistics explain the losses in augment_mnist.md?

Per label draw, as the probe does: labels drawn, a validation part held out, epochs chosen on
it; then each classifier (real only, extra-class, argmax, uniform) is trained on the fit part
alone and scored on the validation part twice: (a) with its running batch-norm statistics,
which mix real and generated batches, as the probe scores it; (b) with the statistics
recomputed on the fit part's real images only. Run through ganbench with the probe
registered here as ``bncheck``:

    python benchmarks/augment_bn_check.py --results /tmp/bncheck --seed 0 --model dcgan \
        --model-opt width=64 --dataset mnist --data-root ../shared/data/mnist --epochs 25 \
        --probe bncheck --probe-opt draws=2 --probe-opt max_epochs=30

Figures: benchmarks/augment_mnist.md ("Batch-norm statistics").
"""

import sys

import ganbench
from ganbench_augment.options import OPTIONS
from ganbench_augment.probe import VARIANTS, choose_epochs, draw_labels, draw_seed
from ganbench_augment.training import accuracy, as_input, real_image_statistics, train_classifier


class BatchNormCheck(ganbench.Probe):
    def run(self, ctx: ganbench.ProbeContext) -> list[ganbench.Metric]:
        o, dataset = self.options, ctx.dataset
        classes, train_y = dataset.num_classes, dataset.train_y.numpy()
        metrics = []
        for draw in range(o["draws"]):
            seed = draw_seed(ctx.seed, draw)
            labelled = draw_labels(train_y, o["labels_per_class"], ctx.seed, draw)
            x, y = as_input(dataset.train_x[labelled], ctx.device), dataset.train_y[labelled].to(ctx.device)
            fit, val = ganbench.validation_split(train_y[labelled], fraction=o["val_fraction"], seed=seed)
            epochs, _ = choose_epochs(x[fit], y[fit], x[val], y[val], classes, seed, o)
            generated = as_input(ctx.generate(int(round(o["ratio"] * len(fit))), seed=seed), ctx.device)
            for variant in VARIANTS:
                net = train_classifier(variant, x[fit], y[fit], generated if variant != "real" else x[:0], classes,
                                       epochs, seed, o["width"], o["batch_size"], o["lr"])
                running = accuracy(net, x[val], y[val], classes)
                real_only = accuracy(real_image_statistics(net, x[fit], batch=50), x[val], y[val], classes)
                ctx.log(f"draw {draw} ({epochs} epochs) {variant}: validation {running:.4f} with running "
                        f"batch-norm statistics, {real_only:.4f} with real-image statistics")
                metrics += [ganbench.Metric(f"val_{variant}_running_bn_draw{draw}", running, True),
                            ganbench.Metric(f"val_{variant}_real_bn_draw{draw}", real_only, True)]
        return metrics


@ganbench.hookimpl
def register_probes(register):
    register(ganbench.ProbeSpec(name="bncheck", factory="__main__:BatchNormCheck", version="0", options=OPTIONS,
                                description="augment's classifiers scored on validation with mixed / real-only BN",
                                requires={"generator"}))


if __name__ == "__main__":
    from ganbench.cli.app import main
    from ganbench.plugins import pm

    pm.register(sys.modules[__name__], name="bncheck")
    sys.argv = ["ganbench", "run", *sys.argv[1:]]
    main()
