"""A third-party ganbench probe: classify each test point by its nearest class centroid."""

import numpy as np

import ganbench


class Centroid(ganbench.Probe):
    def run(self, ctx):
        train_x, train_y = ctx.features("train")
        test_x, test_y = ctx.features("test")
        classes = np.unique(train_y)
        centroids = np.stack([train_x[train_y == c].mean(axis=0) for c in classes])
        if self.options["metric"] == "cosine":
            centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
            test_x = test_x / np.linalg.norm(test_x, axis=1, keepdims=True)
            predicted = classes[(test_x @ centroids.T).argmax(axis=1)]
        else:
            squared = (test_x**2).sum(1, keepdims=True) - 2 * test_x @ centroids.T + (centroids**2).sum(1)
            predicted = classes[squared.argmin(axis=1)]
        accuracy = float((predicted == test_y).mean())
        return [ganbench.Metric(f"acc_{self.options['metric']}", accuracy, higher_is_better=True,
                                n_train=len(train_x), n_test=len(test_x), predictions=predicted)]


@ganbench.hookimpl
def register_probes(register):
    register(ganbench.ProbeSpec(
        name="centroid",
        factory=Centroid,
        description="nearest-class-centroid accuracy",
        version="1",
        options=[ganbench.Option("metric", "str", "l2", "distance to the centroids", choices=("l2", "cosine"))],
        requires={"features"},
        metrics=("acc_l2", "acc_cosine"),
        ranges={"acc_*": (0.0, 1.0)},
    ))
