"""Each ``ganbench show`` picture for a tiny dcgan run, checked by value where the picture allows."""

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from ganbench.reports import pictures
from ganbench.jobs.run import Job, prepare_model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    job = Job(model="dcgan", dataset="mnist-5k", probes=[], model_options={"width": "4", "nz": "8"}, seed=0,
              cache_dir=str(cache), device="cpu", max_steps=3, batch_size=16)
    messages = []
    prepared = prepare_model(job, messages.append)
    return prepared, job, messages


def looks_like_a_picture(path, least=(30, 30)):
    image = np.asarray(Image.open(path).convert("L"), dtype=float)
    assert image.shape[0] >= least[0] and image.shape[1] >= least[1]
    assert image.std() > 1.0  # not one flat colour
    return image


def test_samples_grid(tiny, tmp_path):
    prepared, _, _ = tiny
    path = pictures.samples(prepared, tmp_path / "s.png", n=16, seed=3)
    image = looks_like_a_picture(path)
    # 4 x 4 digits of 28 px, 2 px padding: 122 px, enlarged 3 times to reach 256 px
    assert image.shape == (3 * (4 * 30 + 2), 3 * (4 * 30 + 2))
    again = pictures.compute_samples(prepared, 16, 3)
    assert torch.equal(again, pictures.compute_samples(prepared, 16, 3))  # a fixed seed: the same grid


def test_interpolation_endpoints_are_the_endpoint_latents_samples(tiny, tmp_path):
    prepared, _, _ = tiny
    images, start, end = pictures.compute_interpolation(prepared, rows=3, steps=5, seed=1)
    rows = images.reshape(3, 5, *images.shape[1:])
    assert torch.allclose(rows[:, 0], pictures.shown(prepared, prepared.model.decode(start)), atol=1e-6)
    assert torch.allclose(rows[:, -1], pictures.shown(prepared, prepared.model.decode(end)), atol=1e-6)
    middle = pictures.shown(prepared, prepared.model.decode((start + end) / 2))
    assert torch.allclose(rows[:, 2], middle, atol=1e-6)
    looks_like_a_picture(pictures.interpolate(prepared, tmp_path / "i.png", rows=3, steps=5, seed=1))


def test_sample_is_decode_of_latent(tiny):
    prepared, _, _ = tiny
    model = prepared.model
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(model.sample(4, g1), model.decode(model.latent(4, g2)))


def test_arithmetic_result_is_decode_of_mean_a_minus_mean_b_plus_mean_c(tiny, tmp_path):
    prepared, _, _ = tiny
    groups = [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    rows, result = pictures.compute_arithmetic(prepared, None, groups, pool=40, seed=0)
    z = prepared.model.latent(40, torch.Generator().manual_seed(0))
    expected = z[0:3].mean(0) - z[3:6].mean(0) + z[6:9].mean(0)
    assert torch.allclose(result, expected, atol=1e-6)
    assert torch.allclose(rows[3, 3], pictures.shown(prepared, prepared.model.decode(expected[None]))[0], atol=1e-5)
    assert torch.allclose(rows[0, :3], pictures.shown(prepared, prepared.model.decode(z[0:3])), atol=1e-5)
    by_class = pictures.exemplars_by_class(prepared, pictures.shown(prepared, prepared.model.decode(z)), [0, 1, 2])
    assert [len(g) for g in by_class] == [3, 3, 3]
    path = pictures.arithmetic(prepared, tmp_path / "a.png", [0, 1, 2], None, pool=40)
    assert min(looks_like_a_picture(path).shape) >= pictures.MIN_SHORT_SIDE
    assert pictures.arithmetic_labels(prepared, [0, 1, 2], None) == ["A: 0", "B: 1", "C: 2", "A - B + C"]
    assert pictures.arithmetic_labels(prepared, None, groups)[1] == "B: z[3,4,5]"


def test_enlarged_repeats_every_pixel_into_a_block():
    grid = torch.arange(2 * 3 * 5, dtype=torch.float32).reshape(2, 3, 5)
    big = pictures.enlarged(grid, least=10)  # short side 3 -> k = 4 -> 12 x 20
    assert big.shape == (2, 12, 20)
    assert torch.equal(big[:, ::4, ::4], grid)  # each block's corner is the original pixel
    assert torch.equal(big[:, 3::4, 3::4], grid)  # and so is its opposite corner
    assert torch.equal(pictures.enlarged(grid, least=3), grid)  # already large enough: unchanged


def test_neighbors_are_the_nearest_training_images(tiny, tmp_path):
    prepared, _, _ = tiny
    samples, distances, found = pictures.compute_neighbors(prepared, n=3, k=4, seed=0)
    train = prepared.dataset.train_x.float().div(255).flatten(1)
    brute = torch.cdist(samples.flatten(1), train).pow(2)
    assert np.allclose(distances, brute.sort(1).values[:, :4].numpy(), rtol=1e-3, atol=1e-2)
    looks_like_a_picture(pictures.neighbors(prepared, tmp_path / "n.png", n=3, k=4))


def test_curves_from_the_training_log(tiny, tmp_path):
    prepared, _, _ = tiny
    log = pictures.read_log(prepared.folder)
    assert [e["step"] for e in log] == [1, 2, 3] and {"loss_d", "loss_g", "d_real", "d_fake"} <= set(log[0])
    looks_like_a_picture(pictures.curves(prepared, tmp_path / "c.png"), least=(300, 800))


def test_curve_panels_show_d_probabilities_or_else_the_models_own_statistics():
    gan = {"step": 1, "loss_d": 1.3, "loss_g": 1.9, "d_real": 0.5, "d_fake": 0.4, "images_per_s": 81.0}
    assert pictures.curve_panels(gan) == [("losses", ["loss_d", "loss_g"], None),
                                          ("mean probability of 'real' D gives", ["d_real", "d_fake"], (0.0, 1.0))]
    wgan = {"step": 1, "wasserstein": 3.3, "loss_critic": 1.2, "gp": 4.5, "loss_g": 2.9, "images_per_s": 72.5}
    assert pictures.curve_panels(wgan) == [("losses", ["loss_critic", "loss_g"], None),
                                           ("other statistics the model logs", ["gp", "wasserstein"], None)]


def test_guided_rectifier_passes_only_positive_gradients_through_positive_inputs():
    x = torch.tensor([-1.0, 2.0, 3.0, -4.0], requires_grad=True)
    y = pictures.GuidedRectifier.apply(x, 0.2)
    assert torch.equal(y.detach(), torch.tensor([-0.2, 2.0, 3.0, -0.8]))
    y.backward(torch.tensor([5.0, -6.0, 7.0, 8.0]))
    assert torch.equal(x.grad, torch.tensor([0.0, 0.0, 7.0, 0.0]))


def test_filters_pick_the_most_active_units(tiny, tmp_path):
    prepared, _, _ = tiny
    real, grads, top = pictures.compute_filters(prepared, "d", -1, units=3)
    assert real.shape[0] == grads.shape[0] == 3 and grads.abs().sum() > 0
    net, guided = pictures.guided_copy(prepared.model.modules()["d"])
    x = pictures.to_model_input(prepared.dataset.test_x[:512], 32, (-1.0, 1.0), "cpu")
    with torch.no_grad():
        means = pictures.layer_activation(net, guided[-1], x).flatten(2).amax(2).mean(0)
    assert top == means.argsort(descending=True)[:3].tolist()
    looks_like_a_picture(pictures.filters(prepared, prepared, tmp_path / "f.png", units=3))


def test_show_command_uses_the_cache_and_prints_the_path(tiny, tmp_path):
    from ganbench.cli.app import cli

    _, job, _ = tiny
    out = tmp_path / "grid.png"
    result = CliRunner().invoke(cli, ["show", "samples", "--model", "dcgan", "--model-opt", "width=4", "--model-opt", "nz=8",
                                      "--max-steps", "3", "--batch-size", "16", "--device", "cpu",
                                      "--cache-dir", job.cache_dir, "--output", str(out), "--n", "4"])
    assert result.exit_code == 0, result.output
    assert str(out) in result.output and "Loaded the trained model" in result.output
    looks_like_a_picture(out)
    bad = CliRunner().invoke(cli, ["show", "arithmetic", "--model", "dcgan", "--concepts", "1,2", "--max-steps", "3",
                                   "--model-opt", "width=4", "--model-opt", "nz=8", "--batch-size", "16",
                                   "--device", "cpu", "--cache-dir", job.cache_dir])
    assert bad.exit_code == 2 and "expected three class names" in bad.output


@pytest.fixture(scope="module")
def tiny_bigan(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    job = Job(model="bigan", dataset="mnist-5k", probes=[], model_options={"hidden": "16", "nz": "4"}, seed=0,
              cache_dir=str(cache), device="cpu", max_steps=3, batch_size=16)
    return prepare_model(job, lambda message: None), job


def test_reconstructions_are_decode_of_encode_of_test_images_and_errors_are_l2(tiny_bigan, tmp_path):
    prepared, _ = tiny_bigan
    model = prepared.model
    real, rebuilt, error, baseline = pictures.compute_reconstructions(prepared, per_class=2)
    labels = prepared.dataset.test_y
    expected = torch.cat([torch.nonzero(labels == c).flatten()[:2] for c in range(10)])
    assert torch.equal(real, prepared.dataset.test_x[expected].float() / 255)  # mlp: [0, 1] at 28 px, as stored
    with torch.no_grad():
        e_out = model.e(real.to(prepared.device))[1]
        by_hand = model.g(2 * torch.sigmoid(e_out) - 1)  # G of E(x) squashed into z's range [-1, 1]
    assert torch.allclose(rebuilt, by_hand.clamp(0, 1), atol=1e-6)
    assert error == pytest.approx(float(((real - rebuilt) ** 2).flatten(1).sum(1).sqrt().mean()), rel=1e-5)
    assert baseline == pytest.approx(float(((real.roll(1, 0) - rebuilt) ** 2).flatten(1).sum(1).sqrt().mean()), rel=1e-5)
    path, _, _ = pictures.reconstructions(prepared, tmp_path / "r.png", per_class=2)
    # real / rebuilt / real / rebuilt rows, 122 x 302 px enlarged 3 times (short side >= 256)
    assert looks_like_a_picture(path).shape == (3 * (4 * 30 + 2), 3 * (10 * 30 + 2))


def test_reconstructions_of_a_model_without_an_encoder_are_one_line_exit_2(tiny, tmp_path):
    from ganbench.cli.app import cli

    _, job, _ = tiny
    result = CliRunner().invoke(cli, ["show", "reconstructions", "--model", "dcgan", "--model-opt", "width=4",
                                      "--model-opt", "nz=8", "--max-steps", "3", "--batch-size", "16",
                                      "--device", "cpu", "--cache-dir", job.cache_dir])
    assert result.exit_code == 2
    assert "has no encoder (Model.encode)" in result.output and "Traceback" not in result.output


def test_show_takes_model_options_as_run_does(tiny, tmp_path):
    """``--model-opt dcgan.width=4`` names its model, as in ``ganbench run``: the same cached model is used."""
    from ganbench.cli.app import cli

    _, job, _ = tiny
    out = tmp_path / "prefixed.png"
    result = CliRunner().invoke(cli, ["show", "samples", "--model", "dcgan", "--model-opt", "dcgan.width=4",
                                      "--model-opt", "dcgan.nz=8", "--max-steps", "3", "--batch-size", "16",
                                      "--device", "cpu", "--cache-dir", job.cache_dir, "--output", str(out), "--n", "4"])
    assert result.exit_code == 0, result.output
    assert "Loaded the trained model" in result.output  # the unprefixed options' model: nothing trained again
    looks_like_a_picture(out)
    other = CliRunner().invoke(cli, ["show", "samples", "--model", "dcgan", "--model-opt", "bigan.width=4",
                                     "--device", "cpu", "--cache-dir", job.cache_dir])
    assert other.exit_code == 2 and "model 'bigan' is not among --model dcgan" in other.output


def test_reconstructions_without_an_encoder_are_refused_before_training(tmp_path):
    from ganbench.cli.app import cli

    cache = tmp_path / "cache"
    result = CliRunner().invoke(cli, ["show", "reconstructions", "--model", "dcgan", "--model-opt", "width=4",
                                      "--model-opt", "nz=8", "--max-steps", "3", "--batch-size", "16",
                                      "--device", "cpu", "--cache-dir", str(cache)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "has no encoder (Model.encode)" in lines[0] and "bigan" in lines[0], result.output
    assert not (cache / "models").exists()  # nothing trained, nothing cached


@pytest.mark.parametrize("args, name, most", [
    (["samples", "--n", "5000"], "--n", 1024), (["neighbors", "--k", "1000"], "--k", 64),
    (["interpolate", "--steps", "65"], "--steps", 64), (["arithmetic", "--pool", "1000001"], "--pool", 100_000),
])
def test_a_picture_too_large_to_look_at_is_refused_in_one_line_before_a_model_is_made(tmp_path, args, name, most):
    from ganbench.cli.app import cli

    cache = tmp_path / "cache"
    result = CliRunner().invoke(cli, ["show", *args, "--model", "dcgan", "--cache-dir", str(cache)])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert f"Invalid value for '{name}'" in line and f"<={most}" in line, line
    assert not cache.exists()


@pytest.mark.slow
def test_show_at_epoch_draws_the_snapshot_and_never_trains(tmp_path):
    from ganbench.cli.app import cli

    cache = tmp_path / "cache"
    common = ["--model", "dcgan", "--model-opt", "width=4", "--model-opt", "nz=8", "--epochs", "2",
              "--batch-size", "1000", "--device", "cpu", "--cache-dir", str(cache)]
    before = CliRunner().invoke(cli, ["show", "samples", "--at-epoch", "1", *common])
    assert before.exit_code == 2 and "no snapshot" in before.output  # nothing trained yet: refused, not trained
    assert not list(cache.glob("models/*/checkpoint.pt"))
    final = CliRunner().invoke(cli, ["show", "samples", "--n", "4", *common])
    assert final.exit_code == 0, final.output
    snap = CliRunner().invoke(cli, ["show", "samples", "--n", "4", "--at-epoch", "1", *common])
    assert snap.exit_code == 0, snap.output
    final_path, snap_path = (Path(r.output.strip().splitlines()[-1].split("\r")[-1].strip()) for r in (final, snap))
    assert snap_path.name == "samples-epoch-0001.png" and final_path.name == "samples.png"
    job = Job(model="dcgan", dataset="mnist-5k", probes=[], model_options={"width": "4", "nz": "8"}, seed=0,
              cache_dir=str(cache), device="cpu", epochs=2, batch_size=1000, at_epoch=1)
    expected = pictures.compute_samples(prepare_model(job, lambda _: None), 4, 0)
    drawn = np.asarray(Image.open(snap_path).convert("L"), dtype=float)
    grid = pictures.enlarged(pictures.make_grid(expected, nrow=2, padding=2, pad_value=1.0))[0].numpy() * 255
    assert np.abs(drawn - grid).max() <= 1.0  # the PNG is the snapshot's samples, to a grey level
    assert not np.array_equal(np.asarray(Image.open(final_path)), np.asarray(Image.open(snap_path)))
