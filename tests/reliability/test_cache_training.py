"""Damaged training-cache entries are reported, set aside and rebuilt; the log survives a kill and a resume."""

from __future__ import annotations

import json

import pytest
import torch

from ganbench.api.data import Dataset
from ganbench.api.options import resolve_options
from ganbench.plugins import get_registry
from ganbench.jobs.training import Trainer, TrainSettings, set_seed

CPU = torch.device("cpu")
SEED = 3


@pytest.fixture(scope="module", autouse=True)
def plain_cpu_kernels():
    """One thread of plain kernels for the whole module (see conftest's small_cpu_kernels): fast for tiny
    networks, and the same kernels for the reference run and every rebuilt one."""
    previous = torch.backends.mkldnn.enabled, torch.get_num_threads()
    torch.backends.mkldnn.enabled = False
    torch.set_num_threads(1)
    yield
    torch.backends.mkldnn.enabled = previous[0]
    torch.set_num_threads(previous[1])


class Killed(Exception):
    """Stands in for kill -9 in the middle of training."""


def data() -> Dataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (40, 1, 28, 28), dtype=torch.uint8, generator=g)
    y = torch.arange(40) % 10
    return Dataset("noise", x, y, x[:10].clone(), y[:10].clone(), [str(i) for i in range(10)])


def dcgan(dataset):
    spec = get_registry().get("model", "dcgan")
    set_seed(SEED)
    model = spec.factory(**resolve_options(spec.options, {"width": "4", "nz": "8"}, "dcgan"))
    model.setup(dataset.info(), CPU)
    return model


def trainer(model, dataset, folder, messages=None):
    log = messages.append if messages is not None else (lambda m: None)
    return Trainer(model, dataset, CPU, SEED, TrainSettings(max_steps=12, batch_size=8, checkpoint_every=4), folder, log=log)


def killed_after(model, calls, on_kill=lambda: None):
    real_step, count = model.train_step, {"n": 0}

    def step(batch):
        if count["n"] == calls:
            on_kill()
            raise Killed()
        count["n"] += 1
        return real_step(batch)

    model.train_step = step


def same_weights(a, b) -> bool:
    x, y = a.state_tensors(), b.state_tensors()
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """An uninterrupted run: the weights every rebuilt entry must reach."""
    dataset = data()
    model = dcgan(dataset)
    trainer(model, dataset, tmp_path_factory.mktemp("straight")).run()
    return model


def interrupted_folder(tmp_path, calls=9):
    dataset = data()
    model = dcgan(dataset)
    killed_after(model, calls)
    with pytest.raises(Killed):
        trainer(model, dataset, tmp_path).run()
    assert (tmp_path / "checkpoint.pt").exists()
    return tmp_path


def rerun(folder, messages):
    dataset = data()
    torch.manual_seed(12345)  # a new process's RNG
    model = dcgan(dataset)
    return model, trainer(model, dataset, folder, messages).run()


def test_meta_records_size_and_sha256_of_weights(tmp_path, straight):
    import hashlib

    dataset = data()
    trainer(dcgan(dataset), dataset, tmp_path).run()
    meta = json.loads((tmp_path / "meta.json").read_text())
    blob = (tmp_path / "weights.safetensors").read_bytes()
    assert meta["files"]["weights.safetensors"] == {"size": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}
    assert meta["status"] == "ok" and meta["steps"] == 12


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_damaged_checkpoint_is_set_aside_and_training_rebuilt(tmp_path, straight, damage):
    folder = interrupted_folder(tmp_path)
    blob = (folder / "checkpoint.pt").read_bytes()
    if damage == "truncate":
        (folder / "checkpoint.pt").write_bytes(blob[: len(blob) // 2])
    else:  # one flipped byte: still a loadable zip, only the digest tells
        i = len(blob) - 2000
        (folder / "checkpoint.pt").write_bytes(blob[:i] + bytes([blob[i] ^ 0xFF]) + blob[i + 1:])
    messages = []
    model, outcome = rerun(folder, messages)
    assert outcome.status == "ok" and outcome.source == "trained"
    assert same_weights(model, straight)
    damaged = [m for m in messages if "Damaged cache entry" in m]
    assert len(damaged) == 1 and "checkpoint.pt" in damaged[0] and "\n" not in damaged[0]
    assert len(list(folder.glob("checkpoint.pt.damaged-*"))) == 1
    steps = [json.loads(line)["step"] for line in (folder / "log.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 13))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "other-model"])
def test_damaged_weights_are_set_aside_and_retrained(tmp_path, straight, damage):
    dataset = data()
    trainer(dcgan(dataset), dataset, tmp_path).run()
    weights = tmp_path / "weights.safetensors"
    if damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:100])
    elif damage == "garbage":
        weights.write_bytes(b"\x00" * 4096)
    else:  # a readable file of the wrong tensors, and no digest to catch it
        from safetensors.torch import save_file
        save_file({"g.x": torch.zeros(3)}, str(weights))
        meta = json.loads((tmp_path / "meta.json").read_text())
        meta.pop("files")
        (tmp_path / "meta.json").write_text(json.dumps(meta))
    messages = []
    model, outcome = rerun(tmp_path, messages)
    assert outcome.status == "ok" and outcome.source == "trained"
    assert same_weights(model, straight)
    # tensors of another network are not damage: the network changed (a plugin renamed its modules)
    said = "networks changed" if damage == "other-model" else "Damaged cache entry"
    assert sum(said in m and "weights.safetensors" in m for m in messages) == 1
    _, again = rerun(tmp_path, [])
    assert again.source == "cache"


def test_stale_temporary_files_are_removed(tmp_path, straight):
    folder = interrupted_folder(tmp_path)
    (folder / "checkpoint.pt.tmp").write_bytes(b"half a checkpoint")
    (folder / "weights.safetensors.tmp").write_bytes(b"")
    model, outcome = rerun(folder, [])
    assert outcome.source == "resumed" and same_weights(model, straight)
    assert not list(folder.glob("*.tmp"))


def test_log_is_on_disk_at_each_checkpoint_and_a_resume_does_not_repeat_steps(tmp_path, straight):
    dataset = data()
    model = dcgan(dataset)
    seen_at_kill = {}
    # what a kill -9 after step 9 leaves on disk (the checkpoint is at step 8)
    killed_after(model, 9, on_kill=lambda: seen_at_kill.update(text=(tmp_path / "log.jsonl").read_text()))
    with pytest.raises(Killed):
        trainer(model, dataset, tmp_path).run()
    steps_on_disk = [json.loads(line)["step"] for line in seen_at_kill["text"].splitlines()]
    assert steps_on_disk[:8] == list(range(1, 9))
    resumed, outcome = rerun(tmp_path, [])
    assert outcome.source == "resumed" and same_weights(resumed, straight)
    steps = [json.loads(line)["step"] for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert steps == list(range(1, 13))
