"""`ganbench dedup` loads the dataset the way `ganbench run` does, dataset options included."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from ganbench.cli.app import cli
from ganbench.system.paths import dedup_path
from ganbench.store.jsonl import read_rows

COPIES = {12: 3, 13: 7}  # train image index -> index of the image it copies (files sort as 00.png, 01.png, ...)


@pytest.fixture
def image_folder(tmp_path, monkeypatch) -> Path:
    """16 x 20 gray images (so `size=16` changes the bytes), two of them exact copies of others."""
    monkeypatch.setenv("GANBENCH_DATA_CACHE", str(tmp_path / "data-cache"))
    rng = np.random.default_rng(0)
    base = tmp_path / "images"
    train = [rng.integers(0, 256, (16, 20), dtype=np.uint8) for _ in range(14)]
    for copy, source in COPIES.items():
        train[copy] = train[source]
    for split, images in (("train", train), ("test", train[:4])):
        for i, array in enumerate(images):
            path = base / split / ("a" if i % 2 else "b") / f"{i:02d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(array).save(path)
    return base


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def test_dedup_with_dataset_options_writes_the_list_run_dedup_reads(image_folder, tmp_path):
    dataset, cache, results = f"folder:{image_folder}", tmp_path / "cache", tmp_path / "results"
    invoke("dedup", "--dataset", dataset, "--dataset-opt", "size=16", "--epochs", "1", "--device", "cpu",
           "--cache-dir", cache)
    written = list((cache / "dedup").glob("*.json"))
    assert len(written) == 1
    report = json.loads(written[0].read_text())
    assert report["n_train"] == 14 and len(report["drop"]) >= len(COPIES)

    invoke("run", "--model", "pixels", "--probe", "knn", "--probe-opt", "k=3", "--dataset", dataset,
           "--dataset-opt", "size=16", "--dedup", "--device", "cpu", "--cache-dir", cache, "--results", results)
    rows = read_rows(str(results), warn=False)
    assert rows and all(r["status"] == "ok" for r in rows)
    notes = rows[0]["details"]["dataset"]
    assert notes["dedup_list"] == str(written[0]) and notes["dedup_dropped"] == len(report["drop"])
    assert rows[0]["dataset_fingerprint"] != report["fingerprint"]  # the rows' dataset is the deduplicated one
    assert written[0] == dedup_path(cache, dataset, report["fingerprint"])


def test_dedup_refuses_an_unknown_dataset_option_in_one_line(image_folder, tmp_path):
    result = CliRunner().invoke(cli, ["dedup", "--dataset", f"folder:{image_folder}", "--dataset-opt", "sise=16",
                                      "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "sise" in lines[0] and "folder" in lines[0], result.output
    assert not (tmp_path / "cache" / "dedup").exists()
