"""The memorization probe: the DCGAN hash, nearest-neighbour ratios, C_T, `ganbench dedup`.

Real digits (the embedded mnist-5k) with planted duplicates; "generators"
that return training images (must be flagged by every check) or unseen
images (must not be); C_T against an independent per-cell computation with
sklearn's nearest neighbours and scipy's Mann-Whitney U.
"""

import json

import click
import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from scipy.stats import mannwhitneyu
from sklearn.neighbors import NearestNeighbors

from ganbench.api.data import Dataset
from ganbench.system.errors import UsageError
from ganbench.builtin.datasets.mnist.loader import load_mnist_5k
from ganbench.system.paths import dedup_path
from ganbench.api.probe import ProbeContext
from ganbench.builtin.probes.memorization import probe as memorization
from ganbench.builtin.probes.memorization.copying_test import copying_statistic, fit_cells, mann_whitney_u, u_z_score
from ganbench.builtin.probes.memorization import dedup
from ganbench.builtin.probes.memorization.dedup import dedup_report
from ganbench.builtin.probes.memorization.probe import MemorizationProbe
from ganbench.builtin.probes.memorization.hashing import (HashSettings, center_crops, duplicate_groups, hash_bits,
                                               indices_to_drop, train_hash)

PLANTED_FRACTION = 0.01
NOISE_GREY_LEVELS = 4.0


@pytest.fixture(scope="module")
def mnist():
    return load_mnist_5k()


def plant_duplicates(images: torch.Tensor, seed: int = 1):
    """Append 1% copies: half exact, half with Gaussian pixel noise (std 4 grey levels)."""
    rng = np.random.default_rng(seed)
    sources = rng.choice(len(images), int(len(images) * PLANTED_FRACTION), replace=False)
    copies = images[torch.from_numpy(sources)].float()
    noisy = slice(len(sources) // 2, None)
    copies[noisy] += torch.from_numpy(rng.normal(0, NOISE_GREY_LEVELS, copies[noisy].shape)).float()
    copies = copies.round().clamp(0, 255).to(torch.uint8)
    assert (copies[noisy] != images[torch.from_numpy(sources[noisy])]).any(), "the noise must change the copies"
    return torch.cat([images, copies]), sources


def recall_and_false_positives(groups, n_original, sources):
    """Planted copies grouped with their source; originals grouped with another original."""
    group_of = {i: g for g, members in enumerate(groups) for i in members}
    found = [group_of.get(n_original + j, -1) == group_of.get(int(s), -2) for j, s in enumerate(sources)]
    wrongly = sum(1 for members in groups for i in members
                  if i < n_original and any(j < n_original and j != i for j in members))
    return np.array(found), wrongly / n_original


@pytest.fixture(scope="module")
def planted(mnist):
    images, sources = plant_duplicates(mnist.train_x)
    trained = train_hash(images, HashSettings(seed=0))
    return hash_bits(trained.codes(images)), len(mnist.train_x), sources


@pytest.mark.slow
def test_hash_with_hamming_radius_finds_planted_near_duplicates(planted):
    bits, n_original, sources = planted
    found, false_positive_rate = recall_and_false_positives(duplicate_groups(bits, radius=2), n_original, sources)
    print(f"radius 2: recall {found.mean():.3f} (noisy {found[len(found) // 2:].mean():.3f}), "
          f"false positives {false_positive_rate:.4f}")
    assert found.mean() >= 0.95
    assert false_positive_rate < 0.01


@pytest.mark.slow
def test_paper_hash_finds_every_exact_copy_and_rarely_collides(planted):
    bits, n_original, sources = planted
    found, false_positive_rate = recall_and_false_positives(duplicate_groups(bits, radius=0), n_original, sources)
    exact = found[: len(found) // 2]
    print(f"radius 0: exact {exact.mean():.3f}, noisy {found[len(found) // 2:].mean():.3f}, "
          f"false positives {false_positive_rate:.4f}")
    assert exact.all()
    assert false_positive_rate < 0.01


def test_groups_and_drop_list_from_hashes():
    bits = np.packbits(np.array([[1] * 8 + [0] * 8, [0] * 16, [1] * 8 + [0] * 8, [1] * 7 + [0] * 9, [0] * 16]), axis=1)
    assert duplicate_groups(bits, radius=0) == [[0, 2], [1, 4]]
    assert duplicate_groups(bits, radius=1) == [[0, 2, 3], [1, 4]]
    assert indices_to_drop(duplicate_groups(bits, radius=1)) == [2, 3, 4]


def test_center_crops_keep_channels_and_pad_digits():
    digits = torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8)
    padded = center_crops(digits).reshape(2, 1, 32, 32)
    assert torch.equal(padded[:, :, 2:30, 2:30], digits.float() / 255)
    assert padded[:, :, :2].abs().sum() == 0
    assert center_crops(torch.zeros(3, 3, 64, 48, dtype=torch.uint8)).shape == (3, 3072)


def split_for_generators(mnist):
    """Train on 3,000 training digits; keep 1,000 other training digits as a fresh generator's pool."""
    order = torch.from_numpy(np.random.default_rng(0).permutation(len(mnist.train_x)))
    train, pool = order[:3000], order[3000:]
    data = Dataset("mnist-5k-part", mnist.train_x[train], mnist.train_y[train], mnist.test_x, mnist.test_y, mnist.classes)
    return data, mnist.train_x[pool]


def run_probe(data, images, artifacts):
    def generate(n, seed):
        chosen = np.random.default_rng(seed).choice(len(images), n, replace=False)
        return images[torch.from_numpy(chosen)]

    ctx = ProbeContext(data, None, 0, torch.device("cpu"), artifacts, None, _features=None, _embed=None,
                       _generate=generate, log=lambda message: None)
    return {m.name: m for m in MemorizationProbe(hash_epochs=10).run(ctx)}


@pytest.fixture(scope="module")
def probe_results(mnist, tmp_path_factory):
    data, pool = split_for_generators(mnist)
    return {"copier": run_probe(data, data.train_x, tmp_path_factory.mktemp("copier")),
            "fresh": run_probe(data, pool, tmp_path_factory.mktemp("fresh"))}


@pytest.mark.slow
def test_generator_returning_training_images_is_flagged_by_every_check(probe_results):
    m = probe_results["copier"]
    assert m["hash_collision_fraction"].value > 0.95
    assert m["hash_collision_fraction"].details["heldout_collision_fraction"] < 0.05
    assert m["nn_ratio_pixels"].value < 0.1
    assert m["nn_ratio_ae_code"].value < 0.1
    assert m["copying_ct"].value < -3
    assert m["copying_ct"].details["cells_kept"] >= 10


@pytest.mark.slow
def test_generator_returning_unseen_images_is_not_flagged(probe_results):
    m = probe_results["fresh"]
    baseline = m["hash_collision_fraction"].details["heldout_collision_fraction"]
    assert m["hash_collision_fraction"].value <= baseline + 0.01
    assert 0.85 < m["nn_ratio_pixels"].value < 1.2
    assert 0.85 < m["nn_ratio_ae_code"].value < 1.2
    assert abs(m["copying_ct"].value) < 2
    assert m["copying_ct"].details["heldout_mass_kept"] > 0.8


@pytest.mark.slow
def test_metrics_are_described_and_the_picture_is_written(probe_results):
    m = probe_results["copier"]
    assert set(m) == {"hash_train_duplicate_fraction", "hash_collision_fraction", "nn_ratio_pixels",
                      "nn_ratio_ae_code", "copying_ct"}
    assert m["hash_collision_fraction"].higher_is_better is False
    assert all(metric.n_train == 3000 and metric.n_test == 1000 for metric in m.values())
    with Image.open(m["nn_ratio_pixels"].details["grid"]) as picture:
        # 32 samples, 8 a row: 4 rows of samples, each above a row of neighbours, 28 px + 2 px frames
        assert picture.size == (8 * 30 + 2, 8 * 30 + 2)


def better(metric, a: float, b: float) -> bool:
    """Does the metric's declared direction rank value ``a`` above value ``b``?"""
    if metric.higher_is_better is None:
        return abs(a - metric.target) < abs(b - metric.target)
    return a > b if metric.higher_is_better else a < b


@pytest.mark.slow
def test_ratios_and_ct_rank_by_closeness_to_what_a_faithful_generator_gets(probe_results):
    copier, fresh = probe_results["copier"], probe_results["fresh"]
    for name, target in (("nn_ratio_pixels", 1.0), ("nn_ratio_ae_code", 1.0), ("copying_ct", 0.0)):
        metric = fresh[name]
        assert metric.higher_is_better is None and metric.target == target, name
        assert better(metric, fresh[name].value, copier[name].value), name
        # an under-fitting generator (samples far from every training image) must not rank above a faithful one
        under_fitter = target + 10 * abs(fresh[name].value - target) + 1.0
        assert better(metric, fresh[name].value, under_fitter), name
    for name in ("hash_collision_fraction", "hash_train_duplicate_fraction"):
        assert fresh[name].higher_is_better is False and fresh[name].target is None
    assert better(fresh["hash_collision_fraction"], fresh["hash_collision_fraction"].value,
                  copier["hash_collision_fraction"].value)


@pytest.mark.slow
def test_headline_names_metrics_the_probe_writes(probe_results, fresh_plugins):
    from fnmatch import fnmatch

    headline = fresh_plugins.get_registry().get("probe", "memorization").headline
    assert headline and all(any(fnmatch(name, pattern) for name in probe_results["fresh"]) for pattern in headline)


def reference_ct(train, heldout, generated, cells, k, tau):
    """The authors' algorithm, written independently: sklearn neighbours, scipy's U."""
    t_cells, p_cells, q_cells = cells
    z, weights = [], []
    for cell in range(k):
        t, p, q = train[t_cells == cell], heldout[p_cells == cell], generated[q_cells == cell]
        if len(q) <= tau or len(p) == 0:
            continue
        nn = NearestNeighbors(n_neighbors=1).fit(t)
        d_q, d_p = nn.kneighbors(q)[0].ravel(), nn.kneighbors(p)[0].ravel()
        u = mannwhitneyu(d_q, d_p).statistic
        z.append((u - len(q) * len(p) / 2) / np.sqrt(len(q) * len(p) * (len(q) + len(p) + 1) / 12))
        weights.append(len(p) / len(heldout))
    return float(np.dot(weights, z) / np.sum(weights))


@pytest.mark.parametrize("shift", ["copies", "far"])
def test_ct_matches_an_independent_computation_and_has_the_paper_sign(shift):
    rng = np.random.default_rng(0)
    train = rng.normal(size=(2000, 6))
    heldout = rng.normal(size=(600, 6))
    fresh = rng.normal(size=(300, 6))
    if shift == "copies":
        moved = train[rng.choice(2000, 300, replace=False)] + rng.normal(scale=0.01, size=(300, 6))
    else:
        moved = rng.normal(size=(300, 6)) * 1.5
    generated = np.concatenate([fresh, moved])
    k, tau = 10, 20
    partition = fit_cells(train, k, seed=0)
    cells = [partition.predict(x.astype(np.float32)) for x in (train, heldout, generated)]
    ours = copying_statistic(train, heldout, generated, *cells, k=k, tau=tau)
    expected = reference_ct(train, heldout, generated, cells, k, tau)
    assert ours.value == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert ours.kept.sum() >= 5
    assert (ours.value < -2) if shift == "copies" else (ours.value > 2)


def test_mann_whitney_u_counts_pairs_and_half_ties():
    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 6, size=40).astype(float), rng.integers(0, 6, size=55).astype(float)
    brute = sum((a > b) + 0.5 * (a == b) for a in x for b in y)
    assert mann_whitney_u(x, y) == pytest.approx(brute)
    assert mann_whitney_u(x, y) == pytest.approx(mannwhitneyu(x, y).statistic)
    assert u_z_score(len(x) * len(y) / 2, len(x), len(y)) == 0


def test_dedup_report_groups_planted_copies_with_their_sources_and_drops_the_copies(mnist):
    base = mnist.train_x[:500]
    sources = [3, 77, 250]
    images = torch.cat([base, base[sources]])
    data = Dataset("planted", images, torch.zeros(len(images), dtype=torch.long), mnist.test_x[:10],
                   mnist.test_y[:10], mnist.classes)
    report = dedup_report(data, HashSettings(epochs=3))
    group_of = {i: g for g, members in enumerate(report["groups"]) for i in members}
    assert all(group_of.get(500 + j) == group_of.get(s) is not None for j, s in enumerate(sources))
    assert {500, 501, 502} <= set(report["drop"])
    assert report["drop"] == indices_to_drop(report["groups"])
    assert report["fingerprint"] == data.fingerprint and report["n_train"] == 503


def test_dedup_command_writes_where_run_dedup_reads(mnist, tmp_path, monkeypatch):
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    group = click.Group()
    dedup.register_commands(cli=group)
    result = CliRunner().invoke(group, ["dedup", "--dataset", "mnist-5k", "--epochs", "1", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    path = dedup_path(tmp_path / "cache", "mnist-5k", mnist.fingerprint)
    report = json.loads(path.read_text())
    assert report["dataset"] == "mnist-5k" and report["fingerprint"] == mnist.fingerprint
    assert report["drop"] == indices_to_drop(report["groups"])
    assert all(g == sorted(g) and len(g) > 1 for g in report["groups"])

    output = tmp_path / "list.json"
    result = CliRunner().invoke(group, ["dedup", "--dataset", "mnist-5k", "--epochs", "1", "--device", "cpu",
                                        "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert json.loads(output.read_text())["groups"] == report["groups"]


def test_dropout_of_one_is_refused_in_one_line():
    with pytest.raises(UsageError, match="hash_dropout"):
        MemorizationProbe(hash_dropout=1.0)


def test_probe_is_registered_and_needs_only_a_generator(fresh_plugins):
    spec = fresh_plugins.get_registry().get("probe", "memorization")
    assert spec.requires == {"generator"}
    assert {o.name for o in spec.options} >= {"samples", "hash_radius", "ct_cells", "ct_tau", "grid"}
