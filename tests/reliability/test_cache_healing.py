"""Every cache entry heals: a damaged feature file, batch-norm statistics file, ortho projection,
snapshot, quality classifier or meta.json is named in one line, set aside and rebuilt (a snapshot,
which only training rebuilds, is one line saying what to do); features are keyed by the weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file, save_file
from torch import nn

from ganbench.cli.app import cli
from ganbench.api.data import Dataset
from ganbench.api.model import Model
from ganbench.plugins import get_registry
from ganbench.jobs.run import FeatureSource, Job, ProbeRequest, prepare_model
from ganbench.store.jsonl import read_rows

CPU = torch.device("cpu")
pytestmark = pytest.mark.usefixtures("small_cpu_kernels")


def digits(n_train=40, n_test=10) -> Dataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n_train + n_test, 1, 8, 8), dtype=torch.uint8, generator=g)
    y = torch.arange(n_train + n_test) % 4
    return Dataset("noise", x[:n_train], y[:n_train], x[n_train:], y[n_train:], [str(i) for i in range(4)])


class TinyBN(Model):
    """conv -> BN -> ReLU -> flatten: ``(B, 1, 8, 8)`` -> ``(B, 2 * 8 * 8)``."""

    value_range = (-1.0, 1.0)
    trains = False

    def setup(self, info, device):
        torch.manual_seed(3)
        self.net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten()).eval()

    def modules(self):
        return {"net": self.net}

    def feature_views(self):
        return {"all": "everything"}

    @torch.no_grad()
    def features(self, x, view):
        return self.net(x)


def tiny():
    data = digits()
    model = TinyBN()
    model.setup(data.info(), CPU)
    return data, model


def source(model, data, folder, messages):
    return FeatureSource(model, data, CPU, folder, "train-images", log=messages.append)


def nan_like(a: np.ndarray) -> np.ndarray:
    return np.full_like(a, np.nan)


@pytest.mark.parametrize("damage", ["nan", "zeros", "truncated"])
def test_a_damaged_feature_file_is_set_aside_and_extracted_again(tmp_path, damage):
    data, model = tiny()
    good = source(model, data, tmp_path, []).split("test", "all").copy()
    first = source(model, data, tmp_path, [])
    path = first.cache / "all-test.npy"
    assert path.exists()
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    else:  # the right shape and dtype: only the digest tells
        np.save(path, nan_like(good) if damage == "nan" else np.zeros_like(good))
    messages = []
    again = source(model, data, tmp_path, messages).split("test", "all")
    np.testing.assert_array_equal(again, good)
    assert len(messages) == 1 and messages[0].startswith(f"warning: feature cache {path}: ") and "\n" not in messages[0]
    assert "moved aside to all-test.npy.damaged-" in messages[0]
    assert len(list(path.parent.glob("all-test.npy.damaged-*"))) == 1
    quiet = []
    np.testing.assert_array_equal(source(model, data, tmp_path, quiet).split("test", "all"), good)  # healed
    assert quiet == []


@pytest.mark.parametrize("damage", ["nan", "wrong-shape", "unknown-layer"])
def test_damaged_batch_norm_statistics_are_set_aside_and_recomputed(tmp_path, damage):
    data, model = tiny()
    good = source(model, data, tmp_path, []).split("test", "all").copy()
    first = source(model, data, tmp_path, [])
    path = first.cache / "bn-all.safetensors"
    stats = load_file(str(path))
    if damage == "nan":
        stats = {k: torch.full_like(v, float("nan")) for k, v in stats.items()}
    elif damage == "wrong-shape":
        stats = {k: torch.ones(5) for k in stats}
    else:
        stats = {k.replace("net.1", "net.7"): v for k, v in stats.items()}
    save_file(stats, str(path))
    for feature_file in first.cache.glob("*.npy"):
        feature_file.unlink()  # features come from the statistics again
    messages = []
    again = source(model, data, tmp_path, messages).split("test", "all")
    np.testing.assert_array_equal(again, good)
    named = [m for m in messages if str(path) in m]
    assert len(named) == 1 and named[0].startswith("warning: batch-norm statistics") and "moved aside" in named[0]


def test_damaged_statistics_are_caught_even_with_a_matching_digest(tmp_path):
    """A file whose digest was recorded with it (e.g. copied in with its sidecar) is still checked against the model."""
    data, model = tiny()
    first = source(model, data, tmp_path, [])
    good = first.split("test", "all").copy()
    path = first.cache / "bn-all.safetensors"
    from ganbench.system.cache_files import CacheFile

    CacheFile(path, print).write(lambda tmp: save_file({"net.1/mean": torch.ones(5), "net.1/var": torch.ones(5)}, tmp))
    for feature_file in first.cache.glob("*.npy"):
        feature_file.unlink()
    messages = []
    np.testing.assert_array_equal(source(model, data, tmp_path, messages).split("test", "all"), good)
    assert len(messages) == 1 and "net.1 mean has shape (5,), expected (2,)" in messages[0]


def test_features_are_keyed_by_the_weights_so_new_weights_never_reuse_old_features(tmp_path):
    data, model = tiny()
    old = source(model, data, tmp_path, []).split("test", "all").copy()
    with torch.no_grad():
        model.net[0].weight.add_(0.5)  # new weights under the same cache folder (a retrained network)
    new = source(model, data, tmp_path, []).split("test", "all")
    fresh = FeatureSource(model, data, CPU, None, "train-images").split("test", "all")
    np.testing.assert_array_equal(new, fresh)
    assert not np.allclose(new, old)


# -- whole models on a tiny MNIST ------------------------------------------------------------
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


ORTHO = {**TINY_DCGAN, "inlp_max_directions": "4"}


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_damaged_ortho_projections_are_set_aside_and_fitted_again(tiny_mnist, tmp_path, damage):
    first = prepare_model(job(tmp_path, model="ortho", options=ORTHO), log=lambda m: None)
    weights = first.folder / "weights.safetensors"
    expected = {k: v.clone() for k, v in first.model.state_tensors().items()}
    weights.write_bytes(weights.read_bytes()[:200] if damage == "truncated" else b"\0" * 4096)
    messages = []
    again = prepare_model(job(tmp_path, model="ortho", options=ORTHO), log=messages.append)
    named = [m for m in messages if str(weights) in m]
    assert len(named) == 1 and "moved aside" in named[0] and "fitting it again" in named[0], messages
    for name, value in again.model.state_tensors().items():
        assert torch.equal(value, expected[name]), name
    quiet = []
    prepare_model(job(tmp_path, model="ortho", options=ORTHO), log=quiet.append)
    assert any(m.startswith("Loaded the fitted model from") for m in quiet)
    assert not any("moved aside" in m for m in quiet)


def test_a_truncated_snapshot_is_one_line_naming_it_and_what_to_do(tiny_mnist, tmp_path):
    full = prepare_model(job(tmp_path), log=lambda m: None)
    snapshot = full.folder / "snapshots" / "epoch-0001.safetensors"
    snapshot.write_bytes(snapshot.read_bytes()[:300])
    args = ["run", "--model", "dcgan", "--model-opt", "width=4", "--model-opt", "nz=8", "--probe", "knn",
            "--at-epoch", "1", "--max-steps", "12", "--batch-size", "8", "--device", "cpu", "--view", "d",
            "--cache-dir", str(tmp_path / "cache"), "--results", str(tmp_path / "r")]
    for attempt in range(2):  # the rerun too: one line, never a traceback
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and "--at-epoch 1" in errors[0] and str(full.folder) in errors[0]
        assert "without --at-epoch" in errors[0]
    assert len(list(snapshot.parent.glob("epoch-0001.safetensors.damaged-*"))) == 1
    assert not (tmp_path / "r" / "results.jsonl").exists()


@pytest.mark.parametrize("meta", [
    {"status": "diverged"},  # no steps, no schedule
    {"status": "ok", "steps": "many", "files": {}},
    {"status": "ok", "steps": 12, "files": "weights.safetensors"},
    {"status": "ok", "steps": 12, "files": {"weights.safetensors": {"size": "big"}}},
])
def test_a_crafted_meta_json_is_set_aside_and_the_model_rebuilt(tiny_mnist, tmp_path, meta):
    first = prepare_model(job(tmp_path), log=lambda m: None)
    trained = {k: v.clone() for k, v in first.model.state_tensors().items()}
    (first.folder / "meta.json").write_text(json.dumps(meta))
    messages = []
    again = prepare_model(job(tmp_path), log=messages.append)
    named = [m for m in messages if "meta.json" in m]
    assert len(named) == 1 and named[0].startswith("Damaged cache entry") and "moved aside" in named[0], messages
    assert again.outcome.status == "ok"
    for name, value in again.model.state_tensors().items():
        assert torch.equal(value, trained[name]), name


def test_renamed_modules_say_the_network_changed_and_get_new_features(tiny_mnist, tmp_path, monkeypatch):
    from ganbench.builtin.models.dcgan.model import DCGAN

    first = prepare_model(job(tmp_path), log=lambda m: None)
    old_features = first.features.split("test", "d").copy()
    old_folder = first.features.cache
    original = DCGAN.modules
    monkeypatch.setattr(DCGAN, "modules", lambda self: {("critic" if k == "d" else k): v
                                                        for k, v in original(self).items()})
    messages = []
    again = prepare_model(job(tmp_path), log=messages.append)
    changed = [m for m in messages if "weights.safetensors" in m]
    assert len(changed) == 1 and "networks changed" in changed[0] and "Damaged" not in changed[0], messages
    assert again.outcome.source == "trained"
    assert again.features.cache != old_folder  # features of the new weights, never the old ones' cache
    np.testing.assert_array_equal(again.features.split("test", "d"), old_features)  # same seed, same values


def test_a_damaged_quality_classifier_is_set_aside_and_trained_again(tmp_path):
    from ganbench.builtin.probes.quality.classifier import ClassifierSettings, load_or_train

    data = Dataset("noise", *digits(n_train=40, n_test=10).split("train"), *digits(n_train=40, n_test=10).split("test"),
                   [str(i) for i in range(4)])
    settings = ClassifierSettings(epochs=1, batch_size=20)
    first = load_or_train(data, settings, CPU, tmp_path, log=lambda _: None)
    blob = first.path.read_bytes()
    for damaged in (blob[: len(blob) // 2], blob[:-9] + bytes([blob[-9] ^ 0xFF]) + blob[-8:]):
        first.path.write_bytes(damaged)
        messages = []
        again = load_or_train(data, settings, CPU, tmp_path, log=messages.append)
        named = [m for m in messages if str(first.path) in m]
        assert not again.cached and len(named) == 1 and "moved aside" in named[0], messages
        assert again.test_acc == first.test_acc
        assert load_or_train(data, settings, CPU, tmp_path, log=lambda _: None).cached
