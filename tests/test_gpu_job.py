"""The prepared GPU job, ``benchmarks/gpu/paper_width.py``, on the CPU.

Its smoke mode runs every step of the real job -- pack here, carry, stash and unpack (md5s) there,
the GPU tests, throughput, training with checkpoints, features, $OUT in parts, send, home -- tiny,
with the device's folders simulated by temporary ones and the packages the device lacks made
unimportable in its steps. Small CIFAR-10 files in the official binary format are written here.
"""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu" / "paper_width.py"
BATCHES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


def load_script():
    spec = importlib.util.spec_from_file_location("paper_width", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["paper_width"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def write_cifar(folder: Path, per_batch: int = 20, seed: int = 0) -> Path:
    """Six batches of 3,073-byte records (label, red, green, blue planes): smooth images plus noise, labels 0-9."""
    rng = np.random.default_rng(seed)
    target = folder / "cifar-10-batches-bin"
    target.mkdir(parents=True)
    rows = np.linspace(0, 1, 32)[:, None]
    for name in BATCHES:
        records = np.zeros((per_batch, 3073), np.uint8)
        records[:, 0] = np.arange(per_batch) % 10
        for i in range(per_batch):
            image = rng.uniform(30, 200, (3, 1, 1)) + 40 * rows + rng.normal(0, 5, (3, 32, 32))
            records[i, 1:] = np.clip(image, 0, 255).astype(np.uint8).ravel()
        records.tofile(target / name)
    return folder


def run(*args, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=cwd, capture_output=True, text=True)


def one_line_refusal(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def test_the_codec_gives_every_record_back():
    pw = load_script()
    rng = np.random.default_rng(1)
    records = rng.integers(0, 256, (30, 3073), dtype=np.uint8)  # noise: the worst case for the codec
    records[:, 0] %= 10
    smooth = np.tile(np.arange(3073, dtype=np.uint8), (5, 1))  # ramps: what a lossless image codec predicts well
    for raw in (records.tobytes(), smooth.tobytes()):
        assert pw.decode_batch(pw.encode_batch(raw)) == raw
    assert len(pw.encode_batch(smooth.tobytes())) < len(smooth.tobytes()) / 10


def test_a_flipped_byte_in_a_carried_part_is_refused_in_one_line(tmp_path):
    data = write_cifar(tmp_path / "data")
    here, there = tmp_path / "here", tmp_path / "there"
    packed = run("pack", "--data", data, "--carry", here, "--smoke", "--tree-mib", 0)
    assert packed.returncode == 0, packed.stderr
    calls = sorted(p.name for p in here.glob("call-*"))
    assert len(calls) >= 2 and "run(command=" in packed.stdout  # the tiny limits make it several calls
    assert all(f'carry=[".gpu-carry/{call}"]' in packed.stdout for call in calls)

    shutil.copytree(here / calls[0], there / calls[0])
    assert run("stash", "--carry", there).returncode == 0
    early = one_line_refusal(run("unpack", "--carry", there, "--smoke"))
    assert "missing" in early and "2" in early  # names the call still to make
    for call in calls[1:]:
        shutil.copytree(here / call, there / call)
        assert run("stash", "--carry", there).returncode == 0

    part = sorted((there / "parts").iterdir())[3]
    original = part.read_bytes()
    flipped = bytearray(original)
    flipped[len(flipped) // 2] ^= 0x01
    part.write_bytes(bytes(flipped))
    refused = one_line_refusal(run("unpack", "--carry", there, "--smoke"))
    assert part.name in refused and "md5" in refused
    assert not (there / "work" / "data" / "cifar-10-batches-bin" / part.name.split(".webp")[0]).exists()

    part.write_bytes(original)
    done = run("unpack", "--carry", there, "--smoke")
    assert done.returncode == 0, done.stderr
    for name in BATCHES:
        assert (there / "work" / "data" / "cifar-10-batches-bin" / name).read_bytes() == \
            (data / "cifar-10-batches-bin" / name).read_bytes()
    # these are not the official batches: without --smoke their md5s are refused
    (there / "work" / "data" / "cifar-10-batches-bin" / BATCHES[0]).unlink()
    assert "official" in one_line_refusal(run("unpack", "--carry", there))


def test_pack_refuses_what_is_not_cifar10(tmp_path):
    folder = write_cifar(tmp_path / "data") / "cifar-10-batches-bin"
    with open(folder / "test_batch.bin", "ab") as f:
        f.write(b"\0")  # one byte past the last record
    assert "3073" in one_line_refusal(run("pack", "--data", tmp_path / "data", "--carry", tmp_path / "c", "--smoke",
                                          "--tree-mib", 0))
    assert "cifar-10-batches-bin" in one_line_refusal(run("pack", "--data", tmp_path / "nowhere", "--carry",
                                                          tmp_path / "c", "--smoke", "--tree-mib", 0))
    (folder / "test_batch.bin").write_bytes((folder / "data_batch_1.bin").read_bytes())
    assert "official" in one_line_refusal(run("pack", "--data", tmp_path / "data", "--carry", tmp_path / "c",
                                              "--tree-mib", 0))


def test_the_gpu_tests_need_nothing_the_device_lacks(monkeypatch, tmp_path, small_cpu_kernels):
    """tests/test_gpu.py runs on the lent machine, whose image has no FAISS, mlxtend or lmdb: its data and
    its probe's figures are made without them (here on the CPU, as the test does on both sides)."""
    import torch

    from ganbench.jobs.run import FeatureSource
    from ganbench.jobs.training import Trainer, TrainSettings

    for name in load_script().DEVICE_LACKS:
        monkeypatch.setitem(sys.modules, name, None)  # `import faiss` now raises ImportError
    monkeypatch.syspath_prepend(str(ROOT / "tests"))
    gpu_tests = importlib.import_module("test_gpu")
    cpu = torch.device("cpu")
    data = gpu_tests.noisy_templates(n_train=200, n_test=50)
    model = gpu_tests.built("dcgan", data, cpu)
    Trainer(model, data, cpu, 0, TrainSettings(max_steps=2, batch_size=50), tmp_path / "model", log=lambda m: None).run()
    model.train(False)
    figures = gpu_tests.svm_accuracy(FeatureSource(model, data, cpu, None), data, "d", cpu, tmp_path / "svm")
    assert 0.0 <= figures["acc"] <= 1.0 and set(figures) == {"acc", "err"}


@pytest.mark.slow
def test_smoke_mode_puts_the_row_with_its_predictions_in_the_store(tmp_path):
    data, work, results = write_cifar(tmp_path / "data"), tmp_path / "work", tmp_path / "results"
    done = run("smoke", "--data", data, "--work", work, "--results", results)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    outs = sorted(work.glob("out-*"))
    assert len(outs) >= 2, "the weights came back over the device call and at least one send"
    assert all(len(list(out.iterdir())) <= 8 for out in outs)
    assert "GPU tests: exit code 0" in done.stdout and "skipped" in done.stdout  # collected, and skipped without CUDA

    rows = [json.loads(line) for line in (results / "results.jsonl").read_text().splitlines()]
    row = next(r for r in rows if r["model"] == "dcgan" and r["probe"] == "svm" and r["metric"] == "acc")
    assert row["status"] == "ok" and row["feature_view"] == "d" and math.isfinite(row["value"])
    assert row["model_config"]["width"] == 8 and row["schedule"]["epochs"] == 2
    assert row["train_seconds"] == 0.0  # home loaded the device's model: it did not train
    assert (results / row["predictions"]["file"]).is_file()
    record = json.loads((work / "record.jsonl").read_text().splitlines()[-1])
    assert [s["width"] for s in record["speed"]] == [8, 16] and all(s["ratio"] > 0 for s in record["speed"])
    assert record["features_vs_device"]["max_abs_diff_over_scale"] < 1e-4  # the same CPU on both sides here

    # a flipped byte in a part that came back is refused, and nothing is placed or probed
    part = next(p for p in outs[0].iterdir() if p.name.startswith("weights.safetensors."))
    original = part.read_bytes()
    flipped = bytearray(original)
    flipped[0] ^= 0x80
    part.write_bytes(bytes(flipped))
    refused = one_line_refusal(run("home", "--back", *outs, "--data-root", data, "--cache-dir", tmp_path / "other-cache",
                                   "--results", tmp_path / "other-results", "--record", tmp_path / "r.jsonl"))
    assert part.name in refused and "md5" in refused
    assert not (tmp_path / "other-cache" / "models").exists() and not (tmp_path / "other-results").exists()
    # a folder that came back missing: the parts it held are named, and `send` is the way to get them
    part.write_bytes(original)
    missing = one_line_refusal(run("home", "--back", outs[0], "--data-root", data, "--cache-dir", tmp_path / "other-cache",
                                   "--results", tmp_path / "other-results", "--record", tmp_path / "r.jsonl"))
    assert "send" in missing
