"""``wgan-gp``: WGAN with gradient penalty (Gulrajani et al. 2017), features from the critic."""

from __future__ import annotations

import contextlib
import math

import torch

import ganbench

from .nets import VIEWS, Critic, Generator
from .options import OPTIONS

# Algorithm 1 of the paper: lambda = 10, n_critic = 5, Adam(1e-4, beta1 = 0, beta2 = 0.9), batch 64.
CRITIC_BATCH = 64
# The paper's CIFAR-10 runs: 200,000 generator iterations, each after n_critic critic batches.
PAPER_GENERATOR_STEPS = 200_000
MAX_EPOCHS = 200



def interpolates(real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """``eps * real + (1 - eps) * fake`` with ``eps`` ``(B,)`` broadcast over the image: ``(B, C, H, W)``."""
    eps = eps.view(-1, *([1] * (real.dim() - 1))).to(real.dtype)
    return eps * real + (1 - eps) * fake


def gradient_penalty(critic: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor,
                     weight: float) -> torch.Tensor:
    """``weight * mean_i (||grad_x critic(x_i)||_2 - 1)^2`` at the interpolates ``x_i`` (paper, eq. 3).

    ``real``, ``fake``: ``(B, C, H, W)``; ``eps``: ``(B,)`` in [0, 1]. The graph
    is kept (``create_graph``) so the penalty trains the critic.
    """
    x = interpolates(real.detach(), fake.detach(), eps).requires_grad_(True)
    scores = critic(x)
    (grad,) = torch.autograd.grad(scores.sum(), x, create_graph=True)
    norms = grad.float().flatten(1).norm(2, dim=1)
    return weight * ((norms - 1) ** 2).mean()


def critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor, penalty: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(loss, wasserstein)``: the critic minimises ``E[D(G(z))] - E[D(x)] + penalty``;
    ``wasserstein = E[D(x)] - E[D(G(z))]`` is the estimate of W(P_r, P_g) it maximises."""
    wasserstein = real_scores.float().mean() - fake_scores.float().mean()
    return -wasserstein + penalty, wasserstein


def generator_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """G minimises ``-E[D(G(z))]``."""
    return -fake_scores.float().mean()


@contextlib.contextmanager
def eval_mode(module: torch.nn.Module):
    """Batch norm on running statistics (the generator's), whatever mode it was in."""
    was = module.training
    module.train(False)
    try:
        yield
    finally:
        module.train(was)


class WGANGP(ganbench.Model):
    """WGAN-GP (Gulrajani et al. 2017, Algorithm 1) with DCGAN-shaped networks.

    Networks and tensor shapes: :mod:`ganbench_wgan_gp.nets`. Images are seen
    in [-1, 1] at ``image_size`` (28 px MNIST zero-padded to 32).

    One ``train_step`` is one iteration of Algorithm 1: ``n_critic`` critic
    updates, then one generator update. The batch the core hands over,
    ``(B, C, H, W)`` with ``B = n_critic * 64`` by default, is split into
    ``n_critic`` critic batches of ``B / n_critic`` real images each, so a step
    consumes ``B`` real images and an epoch of the core's schedule (``N / B``
    steps) shows the critic every real image once; the generator update uses
    ``B / n_critic`` latents. ``--batch-size`` sets ``B`` (at least ``n_critic``).

    Returned statistics (logged each step; the critic's are those of its last
    update in the step): ``wasserstein`` = E[D(x)] - E[D(G(z))], the critic's
    estimate of the Wasserstein distance; ``loss_critic`` = -wasserstein + gp;
    ``gp`` = the gradient penalty; ``loss_g`` = -E[D(G(z))]. There is no
    ``d_real`` / ``d_fake``: the critic gives unbounded scores, not
    probabilities, so the core's saturation check does not apply. Its
    non-finite check does, and the model adds a guard of its own: a critic
    that is (softly) 1-Lipschitz cannot separate two image distributions by
    more than the largest distance between two images, ``2 sqrt(C H W)`` in
    [-1, 1]; an estimate ``guard_factor`` (10) times past that means the
    constraint has failed, and the step raises ``ganbench.DivergedError``.

    Default schedule: the paper's 200,000 generator iterations of 5 x 64 real
    images, in epochs of the dataset, at most 200 epochs.

    Feature views (as dcgan's): ``d`` ``(B, 112 w)`` at 32 px, ``(B, 240 w)`` at
    64 px; ``d-last`` ``(B, 64 w)`` / ``(B, 128 w)``. The critic has no batch
    norm, so features never depend on the batch. ``sample(n, generator)`` ->
    ``(n, c, s, s)`` in [-1, 1], G in eval mode.
    """

    value_range = (-1.0, 1.0)

    def __init__(self, width: int = 64, nz: int = 128, image_size: int = 32, norm: str = "layer",
                 gp_lambda: float = 10.0, n_critic: int = 5, lr: float = 1e-4, beta1: float = 0.0,
                 beta2: float = 0.9, guard_factor: float = 10.0):
        super().__init__(width=width, nz=nz, image_size=image_size, norm=norm, gp_lambda=gp_lambda,
                         n_critic=n_critic, lr=lr, beta1=beta1, beta2=beta2, guard_factor=guard_factor)
        self.image_size = image_size

    # -- building -----------------------------------------------------
    def setup(self, info: ganbench.DataInfo, device: torch.device) -> None:
        o = self.options
        self.device = device
        self.channels = info.channels
        self.g = Generator(info.channels, o["width"], self.image_size, o["nz"]).to(device)
        self.d = Critic(info.channels, o["width"], self.image_size, o["norm"]).to(device)
        betas = (o["beta1"], o["beta2"])
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=o["lr"], betas=betas)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=o["lr"], betas=betas)

    def modules(self):
        return {"g": self.g, "d": self.d}

    def optimizers(self):
        return {"g": self.opt_g, "d": self.opt_d}

    def feature_views(self):
        return dict(VIEWS)

    def default_schedule(self, info: ganbench.DataInfo) -> ganbench.Schedule:
        batch = self.options["n_critic"] * CRITIC_BATCH
        images = PAPER_GENERATOR_STEPS * batch
        return ganbench.Schedule(epochs=max(1, min(MAX_EPOCHS, round(images / max(info.n_train, 1)))), batch_size=batch)

    def estimate_bound(self) -> float:
        """The largest |Wasserstein estimate| the guard accepts (see the class docstring)."""
        return self.options["guard_factor"] * 2 * math.sqrt(self.channels * self.image_size**2)

    # -- training -----------------------------------------------------
    def latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        where = generator.device if generator is not None else self.device
        return torch.randn(n, self.options["nz"], generator=generator, device=where).to(self.device)

    def critic_update(self, real: torch.Tensor) -> dict:
        with torch.no_grad():
            fake = self.g(self.latent(len(real)))
        eps = torch.rand(len(real), device=real.device)
        penalty = gradient_penalty(self.d, real, fake, eps, self.options["gp_lambda"])
        loss, wasserstein = critic_loss(self.d(real), self.d(fake), penalty)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return {"wasserstein": wasserstein.detach(), "loss_critic": loss.detach(), "gp": penalty.detach()}

    def train_step(self, batch: ganbench.Batch) -> dict:
        n_critic = self.options["n_critic"]
        if len(batch.x) < n_critic:
            raise ValueError(f"wgan-gp needs batches of at least n_critic={n_critic} images, got {len(batch.x)}")
        for real in batch.x.tensor_split(n_critic):
            stats = self.critic_update(real)
        self.check_estimate(float(stats["wasserstein"]))
        for p in self.d.parameters():  # the critic is fixed during G's update
            p.requires_grad_(False)
        try:
            loss_g = generator_loss(self.d(self.g(self.latent(len(batch.x) // n_critic))))
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            self.opt_g.step()
        finally:
            for p in self.d.parameters():
                p.requires_grad_(True)
        return {**stats, "loss_g": loss_g.detach()}

    def check_estimate(self, wasserstein: float) -> None:
        bound = self.estimate_bound()
        if self.options["guard_factor"] > 0 and math.isfinite(wasserstein) and abs(wasserstein) > bound:
            raise ganbench.DivergedError(
                f"critic estimate |W| = {abs(wasserstein):.4g} exceeds {bound:.4g} "
                f"({self.options['guard_factor']:g} x the largest distance between two images): the Lipschitz constraint failed")

    # -- using --------------------------------------------------------
    @torch.no_grad()
    def features(self, x: torch.Tensor, view: str) -> torch.Tensor:
        return self.d.features(x, view)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        with eval_mode(self.g):
            return self.g(self.latent(n, generator))
