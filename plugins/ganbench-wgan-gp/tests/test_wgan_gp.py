"""WGAN-GP: the penalty and losses against hand computations, the d view, the guard, a CLI run."""

import math

import pytest

pytest.importorskip("ganbench_wgan_gp", reason="the plugin is not installed (pip install -e plugins/ganbench-wgan-gp)")

import torch
from click.testing import CliRunner
from torch import nn
from torch.nn import functional as F

import ganbench
from ganbench.cli import cli
from ganbench.store import load_results
from ganbench_wgan_gp import WGANGP, Critic, critic_loss, generator_loss, gradient_penalty


class LinearSquareCritic(nn.Module):
    """D(x) = sum_j a_j x_j^2 + b . x, whose gradient 2 a * x + b is known in closed form."""

    def __init__(self, a, b):
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x):
        flat = x.flatten(1)
        return (self.a * flat**2).sum(1) + flat @ self.b


def test_gradient_penalty_matches_hand_computation():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(3, 1, 2, 2, generator=g), torch.randn(3, 1, 2, 2, generator=g)
    eps = torch.tensor([0.0, 0.25, 1.0])
    a, b = torch.tensor([0.5, -1.0, 2.0, 0.1]), torch.tensor([0.3, 0.0, -0.7, 1.2])
    penalty = gradient_penalty(LinearSquareCritic(a, b), real, fake, eps, weight=10.0)
    expected = 0.0
    for i in range(3):
        x = (eps[i] * real[i] + (1 - eps[i]) * fake[i]).flatten()  # interpolate by hand
        grad = 2 * a * x + b
        expected += (math.sqrt(float((grad**2).sum())) - 1) ** 2
    assert penalty.item() == pytest.approx(10.0 * expected / 3, rel=1e-5)


def test_gradient_penalty_trains_the_critic():
    """The penalty's graph reaches the critic's weights (create_graph), else it could not constrain it."""
    critic = nn.Sequential(nn.Flatten(), nn.Linear(4, 1))
    real, fake = torch.randn(5, 1, 2, 2), torch.randn(5, 1, 2, 2)
    gradient_penalty(lambda x: critic(x).flatten(), real, fake, torch.rand(5), 10.0).backward()
    w = critic[1].weight.detach().flatten()
    # For a linear critic the gradient is w everywhere: d/dw 10 (||w|| - 1)^2 = 20 (||w|| - 1) w / ||w||
    assert torch.allclose(critic[1].weight.grad.flatten(), 20 * (w.norm() - 1) * w / w.norm(), atol=1e-6)


def test_critic_and_generator_loss_signs():
    real, fake = torch.tensor([2.0, 4.0]), torch.tensor([-1.0, 0.0])
    loss, wasserstein = critic_loss(real, fake, torch.tensor(0.5))
    assert float(wasserstein) == pytest.approx(3.0 - (-0.5))  # E D(x) - E D(G(z)): positive when D scores real higher
    assert float(loss) == pytest.approx(-3.5 + 0.5)  # the critic minimises the negative estimate plus the penalty
    assert float(generator_loss(fake)) == pytest.approx(0.5)  # G minimises -E D(G(z)): raising fake scores lowers it


@pytest.mark.parametrize("image_size,norm", [(32, "layer"), (64, "none")])
def test_d_view_is_every_block_max_pooled(image_size, norm):
    critic = Critic(channels=3, width=4, image_size=image_size, norm=norm).eval()
    hooked = []
    for block in critic.blocks:
        act = [m for m in block if isinstance(m, nn.LeakyReLU)][-1]
        act.register_forward_hook(lambda m, i, out: hooked.append(out.detach()))
    x = torch.randn(2, 3, image_size, image_size)
    features = critic.features(x, "d")
    expected = torch.cat([F.adaptive_max_pool2d(h, 4).flatten(1) for h in hooked], 1)
    assert torch.equal(features, expected)
    assert features.shape[1] == 16 * 4 * (1 + 2 + 4 + (8 if image_size == 64 else 0))  # 112 w / 240 w, as dcgan's d
    assert not any(isinstance(m, nn.BatchNorm2d) for m in critic.modules())


def test_a_step_is_n_critic_critic_updates_and_one_generator_update():
    model = WGANGP(width=4, nz=8)
    model.setup(ganbench.DataInfo("t", 1, 28, 28, 10, 100), torch.device("cpu"))
    counts = {"d": 0, "g": 0}
    for name, opt in model.optimizers().items():
        opt.register_step_post_hook(lambda *a, name=name: counts.__setitem__(name, counts[name] + 1))
    stats = model.train_step(ganbench.Batch(torch.rand(10, 1, 32, 32) * 2 - 1, torch.zeros(10, dtype=torch.long)))
    assert counts == {"d": 5, "g": 1}
    assert set(stats) == {"wasserstein", "loss_critic", "gp", "loss_g"}
    assert float(stats["loss_critic"]) == pytest.approx(-float(stats["wasserstein"]) + float(stats["gp"]), abs=1e-5)


def test_exploding_critic_estimate_raises_diverged():
    model = WGANGP(width=4, nz=8)
    model.setup(ganbench.DataInfo("t", 1, 28, 28, 10, 100), torch.device("cpu"))
    assert model.estimate_bound() == pytest.approx(10 * 2 * 32)
    model.check_estimate(600.0)  # within the bound
    with pytest.raises(ganbench.DivergedError, match="Lipschitz"):
        model.check_estimate(-700.0)


@pytest.mark.slow
def test_cli_run_writes_ok_knn_rows(tmp_path, monkeypatch):
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    result = CliRunner().invoke(cli, ["run", "--model", "wgan-gp", "--model-opt", "width=4", "--probe", "knn",
                                      "--probe-opt", "k=1", "--max-steps", "20", "--batch-size", "20",
                                      "--results", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = load_results(tmp_path)
    assert set(rows["status"]) == {"ok"}
    assert set(rows["feature_view"]) == {"d", "d-last"}
    assert rows["value"].between(0.2, 1.0).all()  # far above chance (0.1) even after 20 steps
    log = (next((tmp_path / "cache" / "models").glob("wgan-gp-*")) / "log.jsonl").read_text().splitlines()
    assert len(log) == 20 and "wasserstein" in log[-1]


def test_cli_run_with_an_exploding_critic_is_diverged(tmp_path, monkeypatch):
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path / "cache"))
    result = CliRunner().invoke(cli, ["run", "--model", "wgan-gp", "--model-opt", "width=4", "--model-opt", "gp_lambda=0",
                                      "--model-opt", "lr=1", "--model-opt", "guard_factor=0.001", "--probe", "knn",
                                      "--max-steps", "5", "--batch-size", "20", "--results", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = load_results(tmp_path)
    assert list(rows["status"]) == ["diverged"]
    assert "Lipschitz" in rows["error"].item() and "at step" in rows["error"].item()


def test_the_packages_recipe_is_listed_and_its_dry_run_plans_its_jobs(tmp_path):
    """The recipe this package registers through register_recipes appears in `reproduce list`, names
    this plugin, and its dry run lists the wgan-gp job (nothing stored in an empty store) without training."""
    runner = CliRunner()
    listed = runner.invoke(cli, ["reproduce", "list"])
    assert listed.exit_code == 0, listed.output
    line = next(line for line in listed.output.splitlines() if line.startswith("wgan-gp-mnist-5k"))
    assert line.split()[1] == "wgan-gp"  # the plugin that registered it
    dry = runner.invoke(cli, ["reproduce", "wgan-gp-mnist-5k", "--dry-run", "--results", str(tmp_path)])
    assert dry.exit_code == 0, dry.output
    assert "[wgan-gp] wgan-gp:width=16 on mnist-5k, seed 0, max-steps 200" in dry.output
    assert "3 request(s): 0 stored, 3 to run" in dry.output
    assert not (tmp_path / "results.jsonl").exists()
