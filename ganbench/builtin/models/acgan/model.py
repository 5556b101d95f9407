"""``acgan``: the auxiliary-classifier GAN of Odena et al. 2016 (trains on labels)."""

from __future__ import annotations

import torch
from torch.nn import functional as F

from ganbench.api.data import DataInfo
from ganbench.api.model import Batch, Schedule
from ganbench.builtin.models.common import bce, epochs_for_steps, eval_mode, mean_prob, step
from ganbench.builtin.models.dcgan.model import DCGAN
from ganbench.builtin.models.dcgan.nets import Discriminator, Generator

# The paper's schedule: 50,000 mini-batches of 100 images (Odena et al. 2016, §4).
ACGAN_STEPS = 50_000
ACGAN_BATCH = 100


class ACGAN(DCGAN):
    """AC-GAN (Odena et al. 2016) on the DCGAN networks; D features as for ``dcgan``.

    Every generated image has a class ``c`` drawn uniformly; G sees z with
    c's one-hot vector appended (``(B, nz + k)``, ``k`` = classes); D has a
    real/fake head and an auxiliary linear head giving ``(B, k)`` class logits
    from its flattened last activation ``(B, 64 w)`` (32 px). All other tensor
    shapes are DCGAN's (:mod:`ganbench.builtin.models.dcgan.nets`).

    Attributes: the options of ``dcgan`` (width 64, nz 100, uniform latent,
    image_size 32, Adam lr 0.0002, beta1 0.5, beta2 0.999).

    Training step, with ``L_S`` the source log-likelihood and ``L_C`` the class
    log-likelihood: D maximises ``L_S + L_C`` (real images with their true
    labels, generated ones with the classes they were drawn for); G maximises
    ``L_C - L_S``, i.e. minimises the non-saturating BCE(D(G(z, c)), 1) plus
    the cross-entropy of D's class logits on G(z, c) against c.

    Default schedule: the paper's 50,000 mini-batches of 100, as whole epochs
    of the dataset (MNIST: 84 epochs).

    Feature views: ``d`` -- ``(B, 112 w)`` at 32 px; ``d-last`` -- ``(B, 64 w)``.
    ``sample(n, generator)`` -> ``(n, c, s, s)`` in [-1, 1], classes
    ``0, 1, ..., k-1, 0, 1, ...`` in turn (class-balanced);
    ``sample_classes(y, generator)`` draws the given classes.
    """

    def setup(self, info: DataInfo, device: torch.device) -> None:
        self.num_classes = info.num_classes
        super().setup(info, device)

    def build_generator(self, info: DataInfo) -> Generator:
        return Generator(info.channels, self.options["width"], self.image_size, self.options["nz"], info.num_classes)

    def build_discriminator(self, info: DataInfo) -> Discriminator:
        return Discriminator(info.channels, self.options["width"], self.image_size, extra_outputs=info.num_classes)

    def default_schedule(self, info: DataInfo) -> Schedule:
        return Schedule(epochs_for_steps(ACGAN_STEPS, info.n_train, ACGAN_BATCH), batch_size=ACGAN_BATCH)

    def train_step(self, batch: Batch) -> dict:
        n = len(batch.x)
        classes = torch.randint(0, self.num_classes, (n,), device=self.device)
        fake = self.g(self.latent(n), classes)
        real_logits, real_class = self.d.forward_with_aux(batch.x)
        fake_logits, fake_class = self.d.forward_with_aux(fake.detach())
        loss_d = (bce(real_logits, 1.0) + bce(fake_logits, 0.0)
                  + F.cross_entropy(real_class.float(), batch.y) + F.cross_entropy(fake_class.float(), classes))
        step(self.opt_d, loss_d)
        g_logits, g_class = self.d.forward_with_aux(fake)
        loss_g = bce(g_logits, 1.0) + F.cross_entropy(g_class.float(), classes)
        step(self.opt_g, loss_g)
        real_acc = (real_class.detach().argmax(1) == batch.y).float().mean()
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "d_real": mean_prob(real_logits), "d_fake": mean_prob(fake_logits), "class_acc_real": real_acc}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.sample_classes(torch.arange(n, device=self.device) % self.num_classes, generator)

    @torch.no_grad()
    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """``(n, nz)`` latents (and classes ``y``, default ``0, 1, ..., k-1, 0, ...``) -> images."""
        if y is None:
            y = torch.arange(len(z), device=self.device) % self.num_classes
        with eval_mode(self.g):
            return self.g(z.to(self.device), y.to(self.device))

    @torch.no_grad()
    def sample_classes(self, y: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Images of classes ``y`` (int64 ``(n,)``), ``(n, c, s, s)`` in [-1, 1]."""
        return self.decode(self.latent(len(y), generator), y)
