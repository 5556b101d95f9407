"""A toy dataset, model and probe registered in-process, so that failure paths run in milliseconds.

``toy-probe``'s option ``returns`` picks what its ``run`` returns; the model's
option ``fail`` makes its factory, setup or training raise.
"""

import numpy as np
import pytest
import torch

import ganbench
from ganbench.api.data import Dataset
from ganbench.api.options import Option
from ganbench.api.registry import DatasetSpec

# what toy-probe's run returns, by the value of its option ``returns``
RETURNS = {
    "good": lambda acc: [ganbench.Metric("acc", acc, True), ganbench.Metric("err", 1 - acc, False)],
    "nan": lambda acc: [ganbench.Metric("acc", acc, True), ganbench.Metric("bad", float("nan"), True)],
    "np-nan": lambda acc: [ganbench.Metric("bad", np.float32("nan"), True), ganbench.Metric("acc", acc, True)],
    "tensor": lambda acc: [ganbench.Metric("bad", torch.tensor(0.75), True), ganbench.Metric("acc", acc, True)],
    "huge": lambda acc: [ganbench.Metric("bad", acc, True, details={"all": list(range(100_000))}),
                         ganbench.Metric("acc", acc, True)],
    "string": lambda acc: [ganbench.Metric("bad", "0.75", True), ganbench.Metric("acc", acc, True)],
    "no-direction": lambda acc: [ganbench.Metric("bad", acc, None), ganbench.Metric("acc", acc, True)],
    "none": lambda acc: None,
    "float": lambda acc: acc,
    "dict": lambda acc: {"acc": acc},
}


def toy_data(root=None, argument=None, **options) -> Dataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (12, 1, 4, 4), dtype=torch.uint8, generator=g)
    y = torch.arange(12) % 2
    return Dataset("toy-data", x[:8], y[:8], x[8:], y[8:], ["a", "b"])


class ToyModel(ganbench.Model):
    trains = False
    cache_features = False

    def __init__(self, **options):
        super().__init__(**options)
        if options["fail"] == "factory":
            raise RuntimeError("factory exploded")

    def setup(self, info, device):
        if self.options["fail"] == "setup":
            raise ValueError("setup exploded")

    def feature_views(self):
        return {"mean": "mean pixel"}

    def features(self, x, view):
        return x.flatten(1).mean(1, keepdim=True)


class ToyProbe(ganbench.Probe):
    def run(self, ctx):
        train, _ = ctx.features("train")
        test, _ = ctx.features("test")
        acc = float(len(test)) / (len(train) + len(test))  # 4 / 12
        return RETURNS[self.options["returns"]](acc)


@pytest.fixture
def toys(fresh_plugins):
    registry = fresh_plugins.get_registry()
    registry.add("dataset", DatasetSpec("toy-data", toy_data, "12 random 4x4 images"), "tests")
    registry.add("model", ganbench.ModelSpec("toy-model", ToyModel, "mean pixel", options=[
        Option("fail", "str", "no", "where to raise", choices=["no", "factory", "setup"])]), "tests")
    registry.add("probe", ganbench.ProbeSpec("toy-probe", ToyProbe, "returns what it is told", options=[
        Option("returns", "str", "good", "what run returns", choices=sorted(RETURNS))]), "tests")
    return registry


ACC = 4 / 12
