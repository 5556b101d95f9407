"""``dcgan``: the deep convolutional GAN of Radford et al. 2015, features from D."""

from __future__ import annotations

import torch

from ganbench.builtin.models.dcgan import DCGAN_OPTIONS  # noqa: F401  (re-exported)
from ganbench.api.data import DataInfo
from ganbench.api.model import Batch, Model, Schedule
from ganbench.builtin.models.common import adam, bce, draw_latent, epochs_for_images, eval_mode, mean_prob, step
from ganbench.builtin.models.dcgan.nets import D_VIEWS, Discriminator, Generator

# 25 epochs is the reference implementation's default for small datasets; past
# 600k images the budget is the paper's LSUN run: 5 epochs of 3M bedrooms.
DCGAN_IMAGE_BUDGET = 15_000_000
DCGAN_MAX_EPOCHS = 25


class DCGAN(Model):
    """DCGAN (Radford et al. 2015): an unconditional GAN whose D features are probed.

    Networks: :mod:`ganbench.builtin.models.dcgan.nets` (all tensor shapes there).
    Images are seen in [-1, 1] at ``image_size``; 28 px MNIST is zero-padded
    to 32.

    Attributes:
        width (int): D's first / G's last conv layer channels ``w``; default 64.
        nz (int): latent size; default 100 (the paper).
        latent (str): ``uniform`` on [-1, 1] (the paper) or ``normal``.
        image_size (int): 32 or 64; default 32.
        lr (float): Adam learning rate; default 0.0002 (the paper).
        beta1 (float): Adam beta1; default 0.5 (the paper).
        beta2 (float): Adam beta2; default 0.999.

    Training step (one D update, then one G update, on batch ``x`` of B images):
    D minimises BCE(D(x), 1) + BCE(D(G(z)), 0), with real and generated images
    in separate batches (separate batch-norm statistics, as in the reference
    code); G minimises the non-saturating BCE(D(G(z)), 1) on the same z.

    Default schedule: batch 128 (the paper); 25 epochs (the reference
    implementation's default) on datasets up to 600k images, else the epochs
    that show 15M images (the paper's 5 epochs over 3M LSUN bedrooms).

    Feature views (eval-mode batch norm): ``d`` -- ``(B, 112 w)`` at 32 px,
    ``(B, 240 w)`` at 64 px; ``d-last`` -- ``(B, 64 w)`` / ``(B, 128 w)``.
    ``sample(n, generator)`` -> ``(n, c, s, s)`` in [-1, 1].
    """

    value_range = (-1.0, 1.0)
    channels_last_on_cpu = True  # all-conv nets: 1.08x on the CPU (benchmarks/cpu_epoch.py)

    def __init__(self, width: int = 64, nz: int = 100, latent: str = "uniform", image_size: int = 32,
                 lr: float = 2e-4, beta1: float = 0.5, beta2: float = 0.999):
        super().__init__(width=width, nz=nz, latent=latent, image_size=image_size, lr=lr, beta1=beta1, beta2=beta2)
        self.image_size = image_size

    # -- building -----------------------------------------------------
    def setup(self, info: DataInfo, device: torch.device) -> None:
        o = self.options
        self.device = device
        self.g = self.build_generator(info).to(device)
        self.d = self.build_discriminator(info).to(device)
        self.opt_g = adam([self.g], o["lr"], o["beta1"], o["beta2"])
        self.opt_d = adam([self.d], o["lr"], o["beta1"], o["beta2"])

    def build_generator(self, info: DataInfo) -> Generator:
        return Generator(info.channels, self.options["width"], self.image_size, self.options["nz"])

    def build_discriminator(self, info: DataInfo) -> Discriminator:
        return Discriminator(info.channels, self.options["width"], self.image_size)

    def modules(self):
        return {"g": self.g, "d": self.d}

    def optimizers(self):
        return {"g": self.opt_g, "d": self.opt_d}

    def feature_views(self):
        return dict(D_VIEWS)

    def default_schedule(self, info: DataInfo) -> Schedule:
        return Schedule(epochs_for_images(DCGAN_IMAGE_BUDGET, info.n_train, DCGAN_MAX_EPOCHS), batch_size=128)

    # -- training -----------------------------------------------------
    def latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(n, nz)`` codes from the model's latent distribution."""
        return draw_latent(n, self.options["nz"], self.options["latent"], self.device, generator)

    def train_step(self, batch: Batch) -> dict:
        fake = self.g(self.latent(len(batch.x)))
        real_logits = self.d(batch.x)
        fake_logits = self.d(fake.detach())
        loss_d = bce(real_logits, 1.0) + bce(fake_logits, 0.0)
        step(self.opt_d, loss_d)
        loss_g = bce(self.d(fake), 1.0)
        step(self.opt_g, loss_g)
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "d_real": mean_prob(real_logits), "d_fake": mean_prob(fake_logits)}

    # -- using --------------------------------------------------------
    @torch.no_grad()
    def features(self, x: torch.Tensor, view: str) -> torch.Tensor:
        with eval_mode(self.d):
            return self.d.features(x, view)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.decode(self.latent(n, generator))

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``(n, nz)`` latents -> ``(n, c, s, s)`` images in [-1, 1]."""
        with eval_mode(self.g):
            return self.g(z.to(self.device))

