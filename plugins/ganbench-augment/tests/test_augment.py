"""augment: the three schemes' targets and losses by hand, ratio 0, the schedule choice, a CLI run."""

import math

import pytest

pytest.importorskip("ganbench_augment", reason="the plugin is not installed (pip install -e plugins/ganbench-augment)")

import numpy as np
import torch
from click.testing import CliRunner
from torch.nn import functional as F

import ganbench
from ganbench.cli import cli
from ganbench.store import load_results
from ganbench_augment import (SCHEMES, Augment, SmallCNN, accuracy, argmax_targets, batch_loss, choose_epochs,
                              extra_class_targets, generated_losses, real_image_statistics, train_classifier,
                              uniform_loss)


def test_lsro_loss_is_cross_entropy_against_uniform():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5]])
    expected = []
    for row in logits.tolist():
        z = sum(math.exp(v) for v in row)
        expected.append(-sum(math.log(math.exp(v) / z) for v in row) / 3)  # -(1/K) sum_k log p_k
    assert uniform_loss(logits).tolist() == pytest.approx(expected, rel=1e-6)
    assert expected[1] == pytest.approx(math.log(3))  # a classifier already uniform pays log K
    assert generated_losses("uniform", logits, 3).tolist() == pytest.approx(expected, rel=1e-6)


def test_argmax_labels_are_the_classifiers_most_confident_real_class():
    net = SmallCNN(1, 4, width=4, seed=3, extra_class=True).eval()
    images = torch.randn(6, 1, 8, 8)
    logits = net(images)
    targets = argmax_targets(logits, 4)
    for i in range(6):
        real_probs = F.softmax(logits[i], 0)[:4].tolist()
        assert targets[i] == real_probs.index(max(real_probs))  # never the extra class (index 4)
    assert generated_losses("argmax", logits, 4).tolist() == pytest.approx(
        [-math.log(F.softmax(logits[i], 0)[targets[i]].item()) for i in range(6)], rel=1e-5)


def test_argmax_labels_follow_the_classifier_as_it_trains():
    """Dynamic labels: a batch's argmax targets are those of the weights at that step, not fixed once."""
    net = SmallCNN(1, 3, width=4, seed=0)
    images = torch.randn(8, 1, 8, 8)
    before = argmax_targets(net(images), 3)
    with torch.no_grad():
        net.head.bias.copy_(torch.tensor([0.0, 0.0, 100.0]))
    assert not torch.equal(before, argmax_targets(net(images), 3))
    assert argmax_targets(net(images), 3).tolist() == [2] * 8


def test_extra_class_target_is_class_k():
    assert extra_class_targets(3, 10).tolist() == [10, 10, 10]
    logits = torch.tensor([[1.0, 2.0, 0.5]])  # K = 2 real classes + the extra one
    expected = -math.log(math.exp(0.5) / (math.exp(1.0) + math.exp(2.0) + math.exp(0.5)))
    assert generated_losses("extra-class", logits, 2).item() == pytest.approx(expected, rel=1e-6)


def test_batch_loss_is_the_mean_over_real_and_generated_images():
    net = SmallCNN(1, 3, width=4, seed=1).eval()
    real, labels, generated = torch.randn(2, 1, 8, 8), torch.tensor([0, 2]), torch.randn(3, 1, 8, 8)
    logits = net(torch.cat([real, generated]))
    by_hand = (F.cross_entropy(logits[:2], labels, reduction="sum") + uniform_loss(logits[2:]).sum()) / 5
    assert batch_loss("uniform", net, real, labels, generated, 3).item() == pytest.approx(by_hand.item(), rel=1e-5)


def tiny_images(n, classes, seed):
    """Class c: a bright square at a class-dependent place on noise, 1 x 12 x 12 uint8."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    x = torch.randint(0, 60, (n, 1, 12, 12), generator=g, dtype=torch.uint8)
    for i, c in enumerate(y.tolist()):
        x[i, 0, 2 + 3 * c:5 + 3 * c, 2:10] = 250
    return x, y.long()


def test_with_ratio_zero_every_scheme_equals_real_only():
    x, y = tiny_images(30, 3, 0)
    real = x.float() / 127.5 - 1
    weights = {}
    for variant in ("real",) + SCHEMES:
        net = train_classifier(variant, real, y, real[:0], 3, epochs=2, seed=5, width=4, batch_size=8, lr=1e-2)
        weights[variant] = torch.cat([p.detach().flatten() for p in net.parameters()])
    for scheme in SCHEMES:
        assert torch.equal(weights[scheme], weights["real"]), scheme
    with_generated = train_classifier("uniform", real, y, real[:10], 3, epochs=2, seed=5, width=4, batch_size=8, lr=1e-2)
    assert not torch.equal(torch.cat([p.detach().flatten() for p in with_generated.parameters()]), weights["real"])


def test_real_image_statistics_are_the_real_images_mean_and_variance():
    """After mixed training, the first batch-norm layer holds the mean and unbiased variance
    of its input over the real images alone (computed here from the first conv), not the blend."""
    x, y = tiny_images(30, 3, 0)
    real = x.float() / 127.5 - 1
    bright = torch.ones(30, 1, 12, 12)  # generated images far from the real ones
    net = train_classifier("extra-class", real, y, bright, 3, epochs=2, seed=5, width=4, batch_size=8, lr=1e-2)
    conv, norm = net.trunk[0], net.trunk[1]
    with torch.no_grad():
        activations = conv(real).transpose(0, 1).flatten(1)  # (channels, N * H * W)
    blend_mean = norm.running_mean.clone()
    weights = [p.detach().clone() for p in net.parameters()]
    real_image_statistics(net, real)
    assert torch.allclose(norm.running_mean, activations.mean(dim=1), atol=1e-5)
    assert torch.allclose(norm.running_var, activations.var(dim=1, unbiased=True), rtol=1e-4)
    assert not torch.allclose(blend_mean, norm.running_mean, atol=1e-3)
    assert norm.momentum == 0.1 and not net.training
    assert all(torch.equal(a, b) for a, b in zip(weights, net.parameters()))


def test_bn_statistics_changes_the_figures_and_is_recorded():
    mixed = {m.name: m for m in Augment(**{**OPTIONS, "bn_statistics": "mixed"}).run(FakeContext(tiny_dataset(test_seed=2)))}
    real = {m.name: m for m in Augment(**OPTIONS).run(FakeContext(tiny_dataset(test_seed=2)))}
    assert (mixed["acc_real"].details["bn_statistics"], real["acc_real"].details["bn_statistics"]) == ("mixed", "real")
    assert any(mixed[f"acc_{v}"].value != real[f"acc_{v}"].value for v in ("real",) + SCHEMES)


@pytest.mark.parametrize("bn_statistics", ["real", "mixed"])
def test_validation_curve_is_scored_as_the_test_split_is(bn_statistics):
    """Epoch e of the curve = a classifier trained for e epochs alone, scored with the same
    batch-norm rule; rescoring a copy each epoch leaves the training itself untouched."""
    x, y = tiny_images(60, 3, 0)
    real = x.float() / 127.5 - 1
    fit, val = torch.arange(30), torch.arange(30, 60)
    dimmed = real[val] * 0.3  # validation images the two rules score differently
    o = {**OPTIONS, "bn_statistics": bn_statistics}
    _, curve = choose_epochs(real[fit], y[fit], dimmed, y[val], 3, 5, o)
    differ = False
    for epochs in (1, 2, 3):
        net = train_classifier("real", real[fit], y[fit], real[:0], 3, epochs, 5, o["width"], o["batch_size"], o["lr"])
        running = accuracy(net, dimmed, y[val], 3)
        recomputed = accuracy(real_image_statistics(net, real[fit]), dimmed, y[val], 3)
        assert curve[epochs - 1] == (recomputed if bn_statistics == "real" else running)
        differ |= running != recomputed
    assert differ


class FakeContext:
    """What the probe reads of a ProbeContext: the dataset, seed, device, generate, log."""

    def __init__(self, dataset, seed=0):
        self.dataset, self.seed, self.device = dataset, seed, torch.device("cpu")

    def generate(self, n, seed=None):
        return tiny_images(n, 3, 100 + (seed or 0))[0]

    def log(self, message):
        pass


def tiny_dataset(test_seed):
    train_x, train_y = tiny_images(60, 3, 1)
    test_x, test_y = tiny_images(24, 3, test_seed)
    return ganbench.Dataset("tiny", train_x, train_y, test_x, test_y, ["a", "b", "c"])


OPTIONS = dict(labels_per_class=6, draws=2, ratio=1.0, max_epochs=3, val_fraction=0.34, batch_size=6, width=4, lr=1e-2,
               bn_statistics="real")


def test_schedule_is_chosen_without_the_test_split():
    """Two datasets that differ only in their test split give the same epochs and validation curves."""
    first = Augment(**OPTIONS).run(FakeContext(tiny_dataset(test_seed=2)))
    flipped = tiny_dataset(test_seed=3)
    flipped.test_y = (flipped.test_y + 1) % 3  # every test label wrong
    second = Augment(**OPTIONS).run(FakeContext(flipped))
    for key in ("epochs_per_draw", "val_acc_per_epoch"):
        assert first[0].details[key] == second[0].details[key]
    assert len(first[0].details["val_acc_per_epoch"][0]) == 3
    assert first[0].value != second[0].value  # the test split was read, afterwards


def test_metrics_are_means_and_paired_gains_over_draws():
    metrics = {m.name: m for m in Augment(**OPTIONS).run(FakeContext(tiny_dataset(test_seed=2)))}
    assert list(metrics) == ["acc_real", "acc_extra-class", "acc_argmax", "acc_uniform",
                             "gain_extra-class", "gain_argmax", "gain_uniform"]
    per_draw = metrics["acc_real"].details["acc_per_draw"]
    for scheme in SCHEMES:
        diffs = np.subtract(per_draw[scheme], per_draw["real"])
        assert metrics[f"gain_{scheme}"].value == pytest.approx(diffs.mean())
        assert metrics[f"gain_{scheme}"].stderr == pytest.approx(diffs.std(ddof=1) / math.sqrt(2))
        assert metrics[f"acc_{scheme}"].value == pytest.approx(np.mean(per_draw[scheme]))
    assert metrics["acc_real"].labels_used == 18 and metrics["acc_uniform"].n_train == 36


def test_ratio_zero_through_the_probe_gives_zero_gains():
    metrics = {m.name: m for m in Augment(**{**OPTIONS, "ratio": 0.0}).run(FakeContext(tiny_dataset(test_seed=2)))}
    for scheme in SCHEMES:
        assert metrics[f"acc_{scheme}"].value == metrics["acc_real"].value
        assert metrics[f"gain_{scheme}"].value == 0.0


@pytest.mark.slow
def test_cli_run_writes_a_row_for_real_only_and_each_scheme(tmp_path, monkeypatch):
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    result = CliRunner().invoke(cli, [
        "run", "--model", "dcgan", "--model-opt", "width=4", "--probe", "augment", "--max-steps", "20",
        "--probe-opt", "labels_per_class=4", "--probe-opt", "draws=2", "--probe-opt", "max_epochs=2",
        "--probe-opt", "width=4", "--probe-opt", "batch_size=20", "--results", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = load_results(tmp_path)
    assert set(rows["status"]) == {"ok"}
    assert set(rows["metric"]) == {"acc_real", "acc_extra-class", "acc_argmax", "acc_uniform",
                                   "gain_extra-class", "gain_argmax", "gain_uniform"}
    accuracies = rows[rows["metric"].str.startswith("acc_")]
    assert accuracies["value"].between(0.0, 1.0).all() and accuracies["stderr"].notna().all()
    assert (accuracies["labels_used"] == 40).all()


def test_too_many_labels_asked_is_a_usage_error():
    with pytest.raises(ganbench.UsageError, match="labels_per_class"):
        Augment(**{**OPTIONS, "labels_per_class": 21}).run(FakeContext(tiny_dataset(test_seed=2)))
