"""The published CIFAR-10 figures (DCGAN Table 1, Coates et al. 2011) stand beside a CIFAR-10 row."""

import json
from pathlib import Path

from click.testing import CliRunner

from ganbench.cli.app import cli
from ganbench.reports.leaderboard import load_references

ROOT = Path(__file__).resolve().parents[1]

PUBLISHED = {  # (cite, model) -> accuracy, as the papers print it
    ("Radford et al. 2015", "DCGAN D (ImageNet-1k) + L2-SVM"): 0.828,
    ("Radford et al. 2015", "1-layer K-means"): 0.806,
    ("Radford et al. 2015", "3-layer K-means learned RF"): 0.820,
    ("Coates et al. 2011", "K-means (triangle) 1600 centroids"): 0.779,
    ("Coates et al. 2011", "K-means (triangle) 4000 centroids"): 0.796,
}


def test_the_cifar10_references_are_the_papers_figures():
    found = {(r.cite, r.model): r for r in load_references() if r.dataset == "cifar10"}
    assert {key: r.value for key, r in found.items()} == PUBLISHED
    assert all((r.probe, r.metric) == ("svm", "acc") for r in found.values())
    assert "28,672" in found[("Radford et al. 2015", "DCGAN D (ImageNet-1k) + L2-SVM")].protocol
    assert "ImageNet-1k" in found[("Radford et al. 2015", "DCGAN D (ImageNet-1k) + L2-SVM")].note
    assert "4,800" in found[("Radford et al. 2015", "1-layer K-means")].protocol


def test_the_leaderboard_shows_them_beside_a_cifar10_svm_row(tmp_path):
    template = json.loads((ROOT / "results" / "archive" / "protocol-v1.jsonl").read_text().splitlines()[0])
    ours = {**template, "model": "kmeans", "dataset": "cifar10", "dataset_fingerprint": "c1fa0000", "probe": "svm",
            "probe_version": "3", "probe_config": {"standardize": True}, "feature_view": "kmeans", "metric": "acc",
            "value": 0.7712}
    (tmp_path / "results.jsonl").write_text(json.dumps(ours) + "\n")
    out = CliRunner().invoke(cli, ["leaderboard", str(tmp_path), "--format", "md"])
    assert out.exit_code == 0, out.output
    table = out.output.split("## ")[1]  # the one table: cifar10
    assert table.startswith("cifar10")
    lines = {line.split("|")[1].strip(): line for line in table.splitlines() if line.startswith("|")}
    assert "0.7712" in next(line for label, line in lines.items() if label.startswith("kmeans"))
    for (cite, model), value in PUBLISHED.items():
        line = next(line for label, line in lines.items() if label.startswith(model))
        assert f"{value:.4f}" in line and cite in line
