"""From a trained model to features: float32 extraction, batch-norm statistics recomputed on
the training images, the feature cache's key and checks, --at-epoch snapshots, ortho reusing
dcgan's training, prepare_model."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

from ganbench.jobs import bn_stats as bn
from ganbench.cli.app import cli
from ganbench.api.data import Dataset, to_model_input, to_uint8
from ganbench.api.model import Model
from ganbench.plugins import get_registry
from ganbench.jobs.run import FeatureSource, Job, ProbeRequest, generator_for, prepare_model, run_job

CPU = torch.device("cpu")
pytestmark = pytest.mark.usefixtures("small_cpu_kernels")


def digits(n_train=40, n_test=10, seed=0) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n_train + n_test, 1, 8, 8), dtype=torch.uint8, generator=g)
    y = torch.arange(n_train + n_test) % 4
    return Dataset("noise", x[:n_train], y[:n_train], x[n_train:], y[n_train:], [str(i) for i in range(4)])


class TinyBN(Model):
    """conv -> BN -> ReLU -> conv -> BN -> flatten: ``(B, 1, 8, 8)`` -> ``(B, 3 * 8 * 8)``."""

    value_range = (-1.0, 1.0)
    trains = False

    def setup(self, info, device):
        torch.manual_seed(3)
        self.net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(),
                                 nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.Flatten()).to(device)
        for m in self.net:  # running statistics far from the images' own
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.fill_(5.0)
                m.running_var.fill_(9.0)
        self.net.eval()

    def modules(self):
        return {"net": self.net}

    def feature_views(self):
        return {"all": "everything"}

    @torch.no_grad()
    def features(self, x, view):
        return self.net(x)


def tiny_bn_model(data):
    model = TinyBN()
    model.setup(data.info(), CPU)
    return model


def independent_statistics(net: nn.Sequential, batches) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per-batch mean and biased variance of each BN layer's input with the net in training
    mode (batch statistics flowing through), averaged over batches."""
    net = copy.deepcopy(net).train()
    bns = [m for m in net if isinstance(m, nn.BatchNorm2d)]
    seen = {i: [] for i in range(len(bns))}
    for i, layer in enumerate(bns):
        layer.register_forward_pre_hook(lambda m, a, i=i: seen[i].append((a[0].mean((0, 2, 3)), a[0].var((0, 2, 3), unbiased=False))))
    with torch.no_grad():
        for x in batches:
            net(x)
    return [(torch.stack([m for m, _ in seen[i]]).mean(0), torch.stack([v for _, v in seen[i]]).mean(0)) for i in seen]


def test_recomputed_statistics_equal_an_independent_per_batch_computation():
    data = digits(n_train=40)
    model = tiny_bn_model(data)
    before = {k: v.clone() for k, v in model.net.state_dict().items()}
    to_input = lambda x: to_model_input(x, None, model.value_range, CPU)
    stats = bn.recompute(model, "all", bn.batches(data.train_x, to_input, size=16))  # 2 batches of 16; 8 dropped
    expected = independent_statistics(model.net, [to_input(data.train_x[:16]), to_input(data.train_x[16:32])])
    assert sorted(stats) == ["net.1", "net.4"]
    for name, (mean, var) in zip(["net.1", "net.4"], expected):
        torch.testing.assert_close(stats[name].mean, mean, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(stats[name].var, var, rtol=1e-5, atol=1e-6)
    # applied: the features of an eval-mode copy whose running statistics are the recomputed ones
    reference = copy.deepcopy(model.net).eval()
    reference[1].running_mean.copy_(stats["net.1"].mean); reference[1].running_var.copy_(stats["net.1"].var)
    reference[4].running_mean.copy_(stats["net.4"].mean); reference[4].running_var.copy_(stats["net.4"].var)
    x = to_input(data.test_x)
    with bn.applied(model, stats):
        got = model.features(x, "all")
    torch.testing.assert_close(got, reference(x), rtol=1e-5, atol=1e-5)
    assert not torch.allclose(model.features(x, "all"), got)  # outside: running statistics again
    for k, v in model.net.state_dict().items():  # the weights never change
        assert torch.equal(v, before[k]), k


def test_batch_norm_mode_is_recorded_and_keys_the_cache(tmp_path):
    data = digits()
    model = tiny_bn_model(data)
    recomputed = FeatureSource(model, data, CPU, tmp_path, "train-images", log=lambda m: None)
    running = FeatureSource(model, data, CPU, tmp_path, "running", log=lambda m: None)
    assert recomputed.config("all") == {"bn_stats": "train-images", "precision": "float32", "device": "cpu"}
    assert running.config("all")["bn_stats"] == "running"
    assert recomputed.cache != running.cache and recomputed.cache.name == "train-images-float32-cpu"
    a, b = recomputed.split("test", "all"), running.split("test", "all")
    x = to_model_input(data.test_x, None, model.value_range, CPU)
    np.testing.assert_array_equal(b, model.features(x, "all").numpy())
    assert not np.allclose(a, b)
    pixels = get_registry().get("model", "pixels").factory()
    assert FeatureSource(pixels, data, CPU, None).config("pixels")["bn_stats"] == "none"


def test_features_are_float32_even_inside_a_bf16_autocast_block():
    data = digits()
    model = tiny_bn_model(data)
    source = FeatureSource(model, data, CPU, None, "running")
    plain = source.embed(data.test_x, "all")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = source.embed(data.test_x, "all")
    np.testing.assert_array_equal(inside, plain)


class LinearSampler(Model):
    """z ``(n, 16)`` -> Linear -> tanh -> ``(n, 1, 8, 8)`` in [-1, 1]: enough arithmetic for bf16
    to move pixels by whole grey levels."""

    value_range = (-1.0, 1.0)
    trains = False

    def setup(self, info, device):
        torch.manual_seed(5)
        self.net = nn.Linear(16, 64).to(device)

    def modules(self):
        return {"net": self.net}

    def feature_views(self):
        return {"all": "everything"}

    @torch.no_grad()
    def sample(self, n, generator):
        return torch.tanh(self.net(torch.randn(n, 16, generator=generator))).view(n, 1, 8, 8)


def test_samples_are_drawn_in_float32_even_inside_a_bf16_autocast_block():
    data = digits()
    model = LinearSampler()
    model.setup(data.info(), CPU)
    generate = generator_for(model, data, CPU)
    plain = generate(256, seed=1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = generate(256, seed=1)
        in_bf16 = to_uint8(model.sample(256, torch.Generator().manual_seed(1)), model.value_range)
    assert not torch.equal(in_bf16, plain)  # the block does change samples drawn without the guard
    assert torch.equal(inside, plain)


@pytest.mark.parametrize("damage", ["rows", "columns", "garbage"])
def test_a_damaged_feature_cache_is_rebuilt_with_a_warning(damage, tmp_path):
    data = digits()
    model = tiny_bn_model(data)
    messages = []
    source = FeatureSource(model, data, CPU, tmp_path, "running", log=messages.append)
    good = source.split("test", "all").copy()
    path = source.cache / "all-test.npy"
    if damage == "garbage":
        path.write_bytes(b"not a numpy file")
    else:
        np.save(path, good[:5] if damage == "rows" else good[:, :7])
    again = FeatureSource(model, data, CPU, tmp_path, "running", log=messages.append)
    np.testing.assert_array_equal(again.split("test", "all"), good)
    assert len(messages) == 1 and messages[0].startswith(f"warning: feature cache {path}")
    np.testing.assert_array_equal(np.load(path), good)  # rewritten


# -- whole runs on a tiny dataset ----------------------------------------------------------
TINY_DCGAN = {"width": "4", "nz": "8"}


@pytest.fixture
def tiny_mnist(monkeypatch):
    """``mnist-5k`` replaced by 40 + 10 noise images (5 steps an epoch in batches of 8)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (50, 1, 28, 28), dtype=torch.uint8, generator=g)
    y = torch.arange(50) % 10
    data = Dataset("mnist-5k", x[:40], y[:40], x[40:], y[40:], [str(i) for i in range(10)])
    monkeypatch.setattr(get_registry().get("dataset", "mnist-5k"), "loader", lambda root, argument: data)
    return data


def job(tmp_path, model="dcgan", options=TINY_DCGAN, **settings):
    knn = ProbeRequest("knn", {"k": "1", "metric": "l2", "instdisc": "false", "vote": "majority"})
    defaults = dict(max_steps=12, batch_size=8, device="cpu", cache_dir=str(tmp_path / "cache"), views=["d"])
    return Job(model=model, dataset="mnist-5k", probes=[knn], model_options=dict(options), **{**defaults, **settings})


def test_at_epoch_probes_the_snapshot_without_training(tiny_mnist, tmp_path):
    from safetensors.torch import load_file

    full = prepare_model(job(tmp_path), log=lambda m: None)
    snapshot = full.folder / "snapshots" / "epoch-0002.safetensors"
    assert full.outcome.source == "trained" and snapshot.exists()
    messages = []
    rows = run_job(job(tmp_path, at_epoch=2), on_rows=lambda r: None, log=messages.append)
    assert any("Loaded the epoch-2 weights" in m for m in messages)
    assert {r["details"]["snapshot_epoch"] for r in rows} == {2}
    assert {r["schedule"]["steps"] for r in rows} == {10} and {r["train_seconds"] for r in rows} == {0.0}
    at2 = prepare_model(job(tmp_path, at_epoch=2), log=lambda m: None)
    weights = load_file(str(snapshot))
    for name, value in at2.model.state_tensors().items():
        assert torch.equal(value, weights[name]), name
    assert not torch.equal(next(iter(at2.model.d.parameters())), next(iter(full.model.d.parameters())))  # epoch 2 != final
    with pytest.raises(Exception) as missing:
        prepare_model(job(tmp_path, at_epoch=5), log=lambda m: None)
    assert "epoch-0005.safetensors" in str(missing.value) and "epochs 1, 2" in str(missing.value)


def test_at_epoch_with_no_snapshot_is_one_line_and_exit_2(tiny_mnist, tmp_path):
    result = CliRunner().invoke(cli, ["run", "--model", "dcgan", "--model-opt", "width=4", "--probe", "knn", "--at-epoch", "1",
                                      "--max-steps", "12", "--batch-size", "8", "--device", "cpu",
                                      "--cache-dir", str(tmp_path / "c"), "--results", str(tmp_path / "r")])
    assert result.exit_code == 2
    line = result.output.strip()
    assert "\n" not in line and line.startswith("Error: --at-epoch 1: no snapshot at ") and "epochs none" in line
    assert not (tmp_path / "r" / "results.jsonl").exists()


def test_ortho_reuses_dcgan_training_and_its_d_view_equals_dcgans(tiny_mnist, tmp_path):
    dcgan = prepare_model(job(tmp_path), log=lambda m: None)
    assert dcgan.outcome.source == "trained"
    messages = []
    ortho = prepare_model(job(tmp_path, model="ortho", options={**TINY_DCGAN, "inlp_max_directions": "4"}), log=messages.append)
    assert ortho.outcome.source == "cache" and ortho.outcome.seconds == 0.0
    assert any(m.startswith("Loaded the trained model from") and str(dcgan.folder) in m for m in messages)
    assert ortho.folder != dcgan.folder and (ortho.folder / "weights.safetensors").exists()
    np.testing.assert_array_equal(ortho.features.split("test", "d"), dcgan.features.split("test", "d"))
    assert ortho.model.report()["inlp_directions_removed"] >= 1
    again = []
    prepare_model(job(tmp_path, model="ortho", options={**TINY_DCGAN, "inlp_max_directions": "4"}), log=again.append)
    assert any(m.startswith("Loaded the fitted model from") for m in again)


def test_bn_stats_and_at_epoch_are_part_of_the_request_key():
    from ganbench.jobs.submit import request_keys

    fields = dict(model="pixels", dataset="mnist-5k", probes=[ProbeRequest("knn")])
    variants = [Job(**fields), Job(**fields, bn_stats="running"), Job(**fields, at_epoch=2)]
    assert len({request_keys(j)[0] for j in variants}) == 3


def test_rows_carry_the_whole_trainings_time_and_a_cached_run_keeps_it(tiny_mnist, tmp_path):
    first = run_job(job(tmp_path), on_rows=lambda r: None, log=lambda m: None)
    second = run_job(job(tmp_path), on_rows=lambda r: None, log=lambda m: None)
    trained = {r["train_seconds"] for r in first}
    assert len(trained) == 1 and trained.pop() > 0
    assert {r["details"]["training"]["total_seconds"] for r in first} == {first[0]["train_seconds"]}
    # the second call loads the model: it spent no time training, and the row still says what the training cost
    assert {r["train_seconds"] for r in second} == {0.0}
    assert {r["details"]["training"]["total_seconds"] for r in second} == {first[0]["train_seconds"]}
