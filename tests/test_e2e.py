"""One whole job through ``run_job``: a generator model (dcgan, tiny width, a few steps) on mnist-5k.

- Samples reach the probes at the dataset's size: G makes 32 x 32 images, MNIST
  is 28 x 28 (zero-padded to 32 for the networks), so they come back as the
  centre 28 x 28 of G's output -- checked value by value against ``model.sample``.
- A second run of the same job loads the trained model and the cached features:
  ``model.features`` is not called again, and every figure is identical.
"""

from __future__ import annotations

import pytest
import torch

from ganbench.jobs import run as run_module
from ganbench.api.data import to_uint8
from ganbench.builtin.models.dcgan.model import DCGAN
from ganbench.jobs.run import Job, ProbeRequest, run_job

SEED = 3


pytestmark = pytest.mark.usefixtures("small_cpu_kernels")


@pytest.fixture
def spied(monkeypatch):
    """Counts the images ``DCGAN.features`` is run on and keeps what ``generator_for`` handed the probes."""
    seen = {"features": 0, "generators": []}
    features, generator_for = DCGAN.features, run_module.generator_for

    def counting_features(self, x, view):
        seen["features"] += len(x)
        return features(self, x, view)

    def keeping_generator_for(model, dataset, device, **options):
        generate = generator_for(model, dataset, device, **options)
        seen["generators"].append((model, generate))
        return generate

    monkeypatch.setattr(DCGAN, "features", counting_features)
    monkeypatch.setattr(run_module, "generator_for", keeping_generator_for)
    return seen


def job(cache_dir) -> Job:
    return Job(model="dcgan", dataset="mnist-5k", probes=[ProbeRequest("knn", {"k": "5"})],
               model_options={"width": "2", "nz": "8"}, seed=SEED, cache_dir=str(cache_dir), device="cpu",
               views=["d-last"], max_steps=3, batch_size=16)


def position_coded(n: int, generator=None) -> torch.Tensor:
    """Two 32 x 32 images in [-1, 1] whose grey levels are 8 x row and 8 x column."""
    ramp = torch.arange(32.0) * 8
    rows, cols = ramp[:, None].expand(32, 32), ramp[None, :].expand(32, 32)
    return (torch.stack([rows, cols])[:n, None] / 255) * 2 - 1


def figures(rows) -> list[tuple]:
    return [(r["feature_view"], r["metric"], r["value"], r["status"]) for r in rows]


def test_run_job_samples_at_the_dataset_size_and_reuses_the_feature_cache(tmp_path, spied, monkeypatch):
    logs = []
    first = run_job(job(tmp_path), on_rows=lambda rows: None, log=logs.append)
    assert first and all(r["status"] == "ok" for r in first)
    # by default D's batch norm uses statistics recomputed on the real training images, and the row says so
    assert all(r["feature_config"]["bn_stats"] == r["details"]["features"]["bn_stats"] == "train-images" for r in first)
    assert all(0.0 <= r["value"] <= 1.0 for r in first if r["metric"].startswith("accuracy"))
    assert spied["features"] > 0, "the first run extracts features"
    cached = list(tmp_path.glob("models/dcgan-*/features/final-*/*/d-last-*.npy"))
    assert {p.name for p in cached} == {"d-last-train.npy", "d-last-test.npy"}

    # samples as the probes get them: at the dataset's 28 x 28, G's own images cropped
    model, generate = spied["generators"][0]
    images = generate(6, 11)
    assert images.dtype == torch.uint8 and images.shape == (6, 1, 28, 28)
    full = to_uint8(model.sample(6, torch.Generator().manual_seed(11)), model.value_range)
    assert full.shape == (6, 1, 32, 32) and torch.equal(images, full[:, :, 2:30, 2:30])
    # which 28 x 28: a G this young draws flat grey, so read the crop off position-coded images
    monkeypatch.setattr(model, "sample", position_coded)
    rows, cols = generate(2, 0)[:, 0]
    assert rows[:, 0].tolist() == [8 * r for r in range(2, 30)] and (rows == rows[:, :1]).all()
    assert cols[0].tolist() == [8 * c for c in range(2, 30)] and (cols == cols[:1]).all()

    spied["features"] = 0
    logs.clear()
    second = run_job(job(tmp_path), on_rows=lambda rows: None, log=logs.append)
    assert any("Loaded the trained model" in m for m in logs), "the second run must not train again"
    # two test images tell the cache check the view's dimension; nothing is extracted again
    assert spied["features"] <= 2, "the second run must read the cached features, not extract them"
    assert figures(second) == figures(first)
    assert second[0]["model_config_hash"] == first[0]["model_config_hash"]
