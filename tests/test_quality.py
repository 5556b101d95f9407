"""The quality probe: its feature spaces, its errors before training, and one real run."""

from __future__ import annotations

import json
import socket
import urllib.request

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from ganbench.cli.app import cli
from ganbench.builtin.probes.quality.classifier import ClassifierSettings, load_or_train
from ganbench.builtin.probes.quality.spaces import FID_WEIGHTS, inception_space, load_inception

from ganbench.api.testing import tiny_dataset


@pytest.fixture
def offline(monkeypatch):
    """Any attempt to reach the network fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)


def random_fid_inception_state() -> dict[str, torch.Tensor]:
    """A randomly initialised torchvision Inception-v3 with the FID network's 1008-class head."""
    from torchvision.models import inception_v3

    torch.manual_seed(0)
    return inception_v3(weights=None, aux_logits=False, init_weights=False, num_classes=1008).state_dict()


@pytest.mark.slow
def test_inception_loader_reads_a_state_dict_file_offline_and_gives_pool3_features(tmp_path, offline):
    from safetensors.torch import save_file

    state = random_fid_inception_state()
    torch.save(state, tmp_path / FID_WEIGHTS)
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "fid.safetensors"))
    net = load_inception(str(tmp_path / FID_WEIGHTS), torch.device("cpu"))
    loaded = net.state_dict()
    for key in ("Conv2d_1a_3x3.conv.weight", "Mixed_7c.branch_pool.conv.weight", "Mixed_6e.branch7x7dbl_5.bn.running_var"):
        assert torch.equal(loaded[key], state[key])
    assert type(net.Mixed_7c).__name__ == "FIDInceptionE2"  # the FID network's max-pooling last block
    images = torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    from_pth = inception_space(str(tmp_path / FID_WEIGHTS), torch.device("cpu"))
    features = from_pth.embed(images)
    assert features.shape == (2, 2048) and np.isfinite(features).all()
    assert features.std() > 0 and not np.allclose(features[0], features[1])
    from_safetensors = inception_space(str(tmp_path / "fid.safetensors"), torch.device("cpu")).embed(images)
    np.testing.assert_allclose(from_safetensors, features, rtol=1e-5, atol=1e-6)
    assert from_pth.name == "inception:pool3"


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("weights, why", [
    ([], "no inception_weights=PATH given"),
    (["--probe-opt", "inception_weights=/nowhere/fid.pth"], "no such file"),
])
def test_inception_without_a_weights_file_is_one_line_exit_2_before_training_and_offline(tmp_path, offline, weights, why):
    cache = tmp_path / "cache"
    result = invoke("run", "--model", "dcgan", "--model-opt", "width=4", "--probe", "quality", "--max-steps", "5",
                    "--probe-opt", "space=inception", *weights, "--results", str(tmp_path), "--cache-dir", str(cache))
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert why in lines[0] and "pt_inception-2015-12-05" in lines[0] and "inception_weights=" in lines[0]
    assert not (cache / "models").exists()  # refused before the model trained


def test_a_damaged_weights_file_is_one_line_exit_2(tmp_path, offline):
    bad = tmp_path / "fid.pth"
    bad.write_bytes(b"not a state dict")
    result = invoke("run", "--model", "dcgan", "--model-opt", "width=4", "--probe", "quality", "--max-steps", "5",
                    "--probe-opt", "space=inception", "--probe-opt", f"inception_weights={bad}",
                    "--results", str(tmp_path), "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 2 and "unreadable" in result.output and len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("space, message", [
    ("model:dcgan:d", "model 'dcgan' trains"),
    ("model:random-d:nope", "no feature view 'nope'"),
    ("pixels", "expected classifier, inception or model:NAME:VIEW"),
])
def test_bad_spaces_are_refused_in_one_line_before_training(tmp_path, space, message):
    result = invoke("run", "--model", "dcgan", "--model-opt", "width=4", "--probe", "quality", "--max-steps", "5",
                    "--probe-opt", f"space={space}", "--results", str(tmp_path), "--cache-dir", str(tmp_path / "c"))
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "c" / "models").exists()


def test_the_classifier_is_cached_by_dataset_and_reused(tmp_path):
    data = tiny_dataset(n_train=120, n_test=30, classes=3)
    settings = ClassifierSettings(epochs=1, batch_size=32)
    first = load_or_train(data, settings, torch.device("cpu"), tmp_path, log=lambda _: None)
    again = load_or_train(data, settings, torch.device("cpu"), tmp_path, log=lambda _: None)
    assert not first.cached and again.cached and again.path == first.path
    assert again.test_acc == first.test_acc
    np.testing.assert_array_equal(again.embed(data.test_x), first.embed(data.test_x))
    other = tiny_dataset(n_train=120, n_test=30, classes=3, seed=1)
    assert load_or_train(other, settings, torch.device("cpu"), tmp_path, log=lambda _: None).path != first.path


def test_two_runs_needing_one_classifier_at_once_train_it_once(tmp_path, monkeypatch):
    import threading
    import time

    from ganbench.builtin.probes.quality import classifier

    data = tiny_dataset(n_train=120, n_test=30, classes=3)
    settings = ClassifierSettings(epochs=1, batch_size=32)
    trainings, real_train = [], classifier.train

    def slow_train(*args, **kwargs):
        trainings.append(threading.get_ident())
        time.sleep(1.0)  # long enough for the other run to arrive while this one trains
        return real_train(*args, **kwargs)

    monkeypatch.setattr(classifier, "train", slow_train)
    said, got = [], {}

    def run(name):
        got[name] = load_or_train(data, settings, torch.device("cpu"), tmp_path, log=said.append)

    threads = [threading.Thread(target=run, args=(name,)) for name in ("first", "second")]
    for t in threads:
        t.start()
        time.sleep(0.2)
    for t in threads:
        t.join()
    assert len(trainings) == 1
    assert sorted(r.cached for r in got.values()) == [False, True] and got["first"].path == got["second"].path
    assert got["first"].test_acc == got["second"].test_acc
    assert any("another run is training this classifier" in line for line in said)


@pytest.mark.slow
def test_dcgan_quality_run_on_mnist_5k_writes_every_figure_with_its_space(tmp_path):
    result = invoke("run", "--model", "dcgan", "--model-opt", "width=4", "--probe", "quality", "--max-steps", "20",
                    "--probe-opt", "n_generated=200", "--probe-opt", "kid_subsets=10",
                    "--probe-opt", "kid_subset_size=100", "--probe-opt", "classifier_epochs=1",
                    "--results", str(tmp_path), "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert [r["metric"] for r in rows] == ["fid", "kid", "precision", "recall", "density", "coverage"]
    for row in rows:
        assert row["status"] == "ok" and row["probe_config"]["space"] == "classifier"
        assert row["details"]["space"] == "classifier:lenet"
        assert 0.5 < row["details"]["classifier_test_acc"] <= 1.0
        assert row["details"]["classifier_file"].startswith("quality/classifier-lenet-")  # not this machine's path
        assert row["details"]["n_generated"] == 200 and row["details"]["n_real"] == 1000
    by = {r["metric"]: r for r in rows}
    # 20 steps of a 4-wide DCGAN draw blobs: far from the digits, and far above real training images' floor.
    assert by["fid"]["value"] > 5 * by["fid"]["details"]["real_floor"] > 0
    assert by["precision"]["details"]["real_floor"] > 0.5 and by["kid"]["stderr"] > 0
    assert by["fid"]["higher_is_better"] is False and by["recall"]["higher_is_better"] is True
