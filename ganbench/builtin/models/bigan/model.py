"""``bigan``: the bidirectional GAN of Donahue et al. 2016 (= ALI), features from E and D."""

from __future__ import annotations

import torch
from torch import nn

from ganbench.builtin.models.bigan import BIGAN_OPTIONS, BIGAN_VIEWS  # noqa: F401  (BIGAN_OPTIONS re-exported)
from ganbench.api.data import DataInfo
from ganbench.api.model import Batch, Model, Schedule
from ganbench.builtin.models.common import adam, bce, draw_latent, epochs_for_images, eval_mode, mean_prob, step
from ganbench.builtin.models.dcgan.nets import Discriminator, Generator, init_weights, pooled

# The paper's MNIST run: 200 epochs at the initial rate, then 200 epochs of
# exponential decay to 1% of it (the authors' train_mnist.sh), on 60k images.
BIGAN_EPOCHS = 400
BIGAN_IMAGE_BUDGET = BIGAN_EPOCHS * 60_000
FINAL_LR_FACTOR = 0.01


class MlpEncoder(nn.Module):
    """``(B, p)`` -> Linear -> LReLU ``(B, h)`` -> Linear, BN, LReLU ``(B, h)`` (hidden) -> Linear ``(B, nz)``."""

    def __init__(self, inputs: int, hidden: int, nz: int):
        super().__init__()
        self.fc1 = nn.Sequential(nn.Linear(inputs, hidden), nn.LeakyReLU(0.2))
        self.fc2 = nn.Sequential(nn.Linear(hidden, hidden, bias=False), nn.BatchNorm1d(hidden, affine=False), nn.LeakyReLU(0.2))
        self.out = nn.Linear(hidden, nz, bias=False)
        self.hidden_dim = hidden

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.fc2(self.fc1(x.flatten(1)))
        return hidden, self.out(hidden)


class MlpGenerator(nn.Module):
    """``(B, nz)`` -> Linear, BN, ReLU ``(B, h)`` -> Linear + Linear(z), BN, ReLU ``(B, h)`` -> Linear, sigmoid -> image.

    z enters the second layer again, as in the authors' network."""

    def __init__(self, nz: int, hidden: int, shape: tuple[int, int, int]):
        super().__init__()
        self.fc1 = nn.Sequential(nn.Linear(nz, hidden, bias=False), nn.BatchNorm1d(hidden, affine=False), nn.ReLU())
        self.fc2 = nn.Linear(hidden, hidden, bias=False)
        self.z2 = nn.Linear(nz, hidden, bias=False)
        self.act2 = nn.Sequential(nn.BatchNorm1d(hidden, affine=False), nn.ReLU())
        self.out = nn.Linear(hidden, shape[0] * shape[1] * shape[2])
        self.shape = shape

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.act2(self.fc2(self.fc1(z)) + self.z2(z))
        return torch.sigmoid(self.out(h)).view(-1, *self.shape)


class MlpJointDiscriminator(nn.Module):
    """x ``(B, p)`` -> Linear, LReLU ``(B, h)`` (sees x alone); then Linear + Linear(z), BN, LReLU
    ``(B, h)`` (sees the pair) -> Linear -> ``(B,)`` logit."""

    def __init__(self, inputs: int, hidden: int, nz: int):
        super().__init__()
        self.x_fc = nn.Sequential(nn.Linear(inputs, hidden), nn.LeakyReLU(0.2))
        self.joint_x = nn.Linear(hidden, hidden, bias=False)
        self.joint_z = nn.Linear(nz, hidden, bias=False)
        self.joint_act = nn.Sequential(nn.BatchNorm1d(hidden, affine=False), nn.LeakyReLU(0.2))
        self.out = nn.Linear(hidden, 1)

    def x_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.x_fc(x.flatten(1))

    def joint_features(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.joint_act(self.joint_x(self.x_features(x)) + self.joint_z(z))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.joint_features(x, z)).flatten()


class ConvEncoder(nn.Module):
    """DCGAN D trunk ``(B, c, s, s)`` -> ``(B, L, 4, 4)``, flattened ``(B, 16 L)`` (hidden) -> Linear ``(B, nz)``;
    ``L`` = 4w at 32 px, 8w at 64 px."""

    def __init__(self, channels: int, width: int, image_size: int, nz: int):
        super().__init__()
        self.trunk = Discriminator(channels, width, image_size, real_fake_head=False)
        self.hidden_dim = 16 * self.trunk.last_channels
        self.out = nn.Linear(self.hidden_dim, nz, bias=False)
        init_weights(self.out)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.trunk.conv_features(x)[-1].flatten(1)
        return hidden, self.out(hidden)


class ConvJointDiscriminator(nn.Module):
    """x through a DCGAN D trunk, flattened ``(B, 16 L)``; z through Linear, LReLU ``(B, 512)``;
    concatenated -> Linear, LReLU ``(B, h)`` (sees the pair) -> Linear -> ``(B,)`` logit."""

    Z_UNITS = 512

    def __init__(self, channels: int, width: int, image_size: int, nz: int, hidden: int):
        super().__init__()
        self.trunk = Discriminator(channels, width, image_size, real_fake_head=False)
        flat = 16 * self.trunk.last_channels
        self.z_fc = nn.Sequential(nn.Linear(nz, self.Z_UNITS), nn.LeakyReLU(0.2))
        self.joint = nn.Sequential(nn.Linear(flat + self.Z_UNITS, hidden), nn.LeakyReLU(0.2))
        self.out = nn.Linear(hidden, 1)
        init_weights(self)

    def x_features(self, x: torch.Tensor) -> torch.Tensor:
        return pooled(self.trunk.conv_features(x))

    def joint_features(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        flat = self.trunk.conv_features(x)[-1].flatten(1)
        return self.joint(torch.cat([flat, self.z_fc(z)], dim=1))

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.out(self.joint_features(x, z)).flatten()


class StepCounter(nn.Module):
    """Optimisation steps taken, kept as a buffer so a resumed run continues the rate schedule."""

    def __init__(self):
        super().__init__()
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))


class BiGAN(Model):
    """BiGAN (Donahue et al. 2016; ALI, Dumoulin et al. 2016): E, G and a D on pairs (x, z).

    D tells (x, E(x)) from (G(z), z); E and G learn to fool it together, so E
    learns to invert G. Features come from E (the paper's representation) and
    from D.

    Attributes:
        arch (str): ``mlp`` (default) -- the paper's permutation-invariant MNIST
            networks, images in [0, 1] at the dataset's size, G's output a
            sigmoid; ``conv`` -- DCGAN-style networks, images in [-1, 1] at
            ``image_size``, G's output a tanh.
        nz (int): latent size; default 50 (the paper's MNIST setting).
        latent (str): ``uniform`` on [-1, 1] (default, the paper) or ``normal``.
        hidden (int): MLP hidden units (h); default 1024 (the paper). In the conv
            D, the units of the joint layer.
        width (int): conv only, base width w; default 64.
        image_size (int): conv only, 32 (default) or 64.
        lr, beta1, beta2 (float): Adam; defaults 0.0002, 0.5, 0.999 (the paper).
        weight_decay (float): L2 decay; default 2.5e-5 (the authors' code).
        lr_decay (bool): default true -- the rate is constant for the first half
            of training, then decays exponentially to 1% of it by the end
            (the authors' 200 + 200 epochs).

    Tensor shapes, mlp (``p`` = c * H * W, 784 for MNIST; B = batch):

    - E: ``(B, c, H, W)`` -> flatten ``(B, p)`` -> Linear, LReLU(0.2) ``(B, h)``
      -> Linear, BN, LReLU ``(B, h)`` (view ``e-hidden``) -> Linear ``(B, nz)`` (view ``e``).
      D is handed ``2 sigmoid(e) - 1`` under the uniform latent, so that E(x)
      lies in z's range [-1, 1] (see :meth:`code_for_d`); the ``e`` view is
      the linear output before that squash: the squash is monotone in each
      coordinate, and the raw output keeps its resolution where the sigmoid
      saturates.

      Which view the paper's MNIST figure is: the authors' code prints the
      1-NN accuracy of both, ``NNC_e`` (E(x), view ``e``) and ``NNC_e-`` (E's
      last hidden layer, view ``e-hidden``); its README shows 92.10% and
      97.35% at epoch 400 and says the latter "normally works better". The
      paper's 97.39% (Table 1) matches ``e-hidden``.
    - G: ``(B, nz)`` -> Linear, BN, ReLU ``(B, h)`` -> Linear + Linear(z), BN, ReLU
      ``(B, h)`` -> Linear, sigmoid ``(B, p)`` -> ``(B, c, H, W)``.
    - D: x ``(B, p)`` -> Linear, LReLU ``(B, h)`` (view ``d``, x alone) -> Linear +
      Linear(z), BN, LReLU ``(B, h)`` (view ``d-joint``, on (x, E(x))) -> Linear ``(B,)``.

    Batch norm has neither scale nor shift (the authors' ``--nogain --nobias``).

    Tensor shapes, conv (w = width; L = 4w at 32 px, 8w at 64 px):

    - E: DCGAN D trunk ``(B, c, s, s)`` -> ``(B, L, 4, 4)`` -> flatten ``(B, 16 L)``
      (view ``e-hidden``) -> Linear ``(B, nz)`` (view ``e``).
    - G: DCGAN G ``(B, nz)`` -> ``(B, c, s, s)``, tanh.
    - D: x through a DCGAN D trunk (view ``d``: every conv layer max-pooled to
      4x4, ``(B, 112 w)`` at 32 px, ``(B, 240 w)`` at 64 px); z -> Linear, LReLU
      ``(B, 512)``; [flattened last activation ``(B, 16 L)``, z units] -> Linear,
      LReLU ``(B, h)`` (view ``d-joint``) -> Linear ``(B,)``.

    Training step: D minimises BCE(D(x, E'(x)), 1) + BCE(D(G(z), z), 0) with
    E'(x) = 2 sigmoid(E(x)) - 1 under the uniform latent; then E
    and G, with one Adam, minimise the same terms with the labels swapped.

    Default schedule: batch 128; 400 epochs (the paper's MNIST run) on datasets
    up to 60k images, else the epochs that show the same 24M images.

    ``sample(n, generator)`` -> ``(n, c, H, W)`` in the model's range.
    """

    def __init__(self, arch: str = "mlp", nz: int = 50, latent: str = "uniform", hidden: int = 1024, width: int = 64,
                 image_size: int = 32, lr: float = 2e-4, beta1: float = 0.5, beta2: float = 0.999,
                 weight_decay: float = 2.5e-5, lr_decay: bool = True):
        super().__init__(arch=arch, nz=nz, latent=latent, hidden=hidden, width=width, image_size=image_size, lr=lr,
                         beta1=beta1, beta2=beta2, weight_decay=weight_decay, lr_decay=lr_decay)
        self.value_range = (0.0, 1.0) if arch == "mlp" else (-1.0, 1.0)
        self.image_size = None if arch == "mlp" else image_size
        self.planned_steps: int | None = None

    # -- building -----------------------------------------------------
    def setup(self, info: DataInfo, device: torch.device) -> None:
        o = self.options
        self.device = device
        self.e, self.g, self.d = (net.to(device) for net in self._networks(info))
        self.counter = StepCounter().to(device)
        self.opt_d = adam([self.d], o["lr"], o["beta1"], o["beta2"], o["weight_decay"])
        self.opt_ge = adam([self.e, self.g], o["lr"], o["beta1"], o["beta2"], o["weight_decay"])
        if self.planned_steps is None:
            schedule = self.default_schedule(info)
            self.planned_steps = schedule.epochs * max(1, info.n_train // schedule.batch_size)

    def _networks(self, info: DataInfo) -> tuple[nn.Module, nn.Module, nn.Module]:
        o = self.options
        nz, hidden = o["nz"], o["hidden"]
        if o["arch"] == "mlp":
            shape = (info.channels, info.height, info.width)
            pixels = shape[0] * shape[1] * shape[2]
            nets = MlpEncoder(pixels, hidden, nz), MlpGenerator(nz, hidden, shape), MlpJointDiscriminator(pixels, hidden, nz)
            for net in nets:
                init_weights(net)
            return nets
        c, w, s = info.channels, o["width"], o["image_size"]
        return ConvEncoder(c, w, s, nz), Generator(c, w, s, nz), ConvJointDiscriminator(c, w, s, nz, hidden)

    def modules(self):
        return {"e": self.e, "g": self.g, "d": self.d, "counter": self.counter}

    def optimizers(self):
        return {"d": self.opt_d, "ge": self.opt_ge}

    def feature_views(self):
        return dict(BIGAN_VIEWS)

    def default_schedule(self, info: DataInfo) -> Schedule:
        return Schedule(epochs_for_images(BIGAN_IMAGE_BUDGET, info.n_train, BIGAN_EPOCHS), batch_size=128)

    def plan(self, total_steps: int) -> None:
        """The run's length, for the rate decay (without it: the default schedule's length)."""
        self.planned_steps = total_steps

    # -- training -----------------------------------------------------
    def latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return draw_latent(n, self.options["nz"], self.options["latent"], self.device, generator)

    def code_for_d(self, code: torch.Tensor) -> torch.Tensor:
        """E's linear output as D sees it: in z's range.

        With the uniform latent z lies in [-1, 1]^nz, so the output is squashed
        by 2 sigmoid(.) - 1 first (the authors' ``UniformDistribution.logits_to_recon``);
        unbounded, it would let D tell (x, E(x)) from (G(z), z) by |E(x)| > 1
        alone. The normal latent is unbounded, so the output goes as it is.
        """
        if self.options["latent"] == "uniform":
            return 2 * torch.sigmoid(code) - 1
        return code

    def learning_rate(self, step: int) -> float:
        lr = self.options["lr"]
        half = max(1, self.planned_steps // 2)
        if not self.options["lr_decay"] or step < half:
            return lr
        return lr * FINAL_LR_FACTOR ** min(1.0, (step - half) / half)

    def train_step(self, batch: Batch) -> dict:
        lr = self.learning_rate(int(self.counter.steps))
        for opt in (self.opt_d, self.opt_ge):
            for group in opt.param_groups:
                group["lr"] = lr
        x, z = batch.x, self.latent(len(batch.x))
        fake = self.g(z)
        code = self.code_for_d(self.e(x)[1])
        real_logits = self.d(x, code.detach())
        fake_logits = self.d(fake.detach(), z)
        loss_d = bce(real_logits, 1.0) + bce(fake_logits, 0.0)
        step(self.opt_d, loss_d)
        loss_ge = bce(self.d(x, code), 0.0) + bce(self.d(fake, z), 1.0)
        step(self.opt_ge, loss_ge)
        self.counter.steps += 1
        return {"loss_d": loss_d.detach(), "loss_ge": loss_ge.detach(),
                "d_real": mean_prob(real_logits), "d_fake": mean_prob(fake_logits)}

    # -- using --------------------------------------------------------
    @torch.no_grad()
    def features(self, x: torch.Tensor, view: str) -> torch.Tensor:
        with eval_mode(self.e, self.d):
            if view == "d":
                return self.d.x_features(x).float()
            hidden, code = self.e(x)
            if view == "e":
                return code.float()
            if view == "e-hidden":
                return hidden.float()
            if view == "d-joint":
                return self.d.joint_features(x, self.code_for_d(code)).float()
        raise ValueError(f"unknown bigan view {view!r}; views: {', '.join(self.feature_views())}")

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.decode(self.latent(n, generator))

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(n, c, H, W)`` images -> ``(n, nz)`` codes as G takes them: E(x) squashed into
        z's range as D sees it (:meth:`code_for_d`), the authors' ``logits_to_recon``."""
        with eval_mode(self.e):
            return self.code_for_d(self.e(x.to(self.device))[1])

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``(n, nz)`` latents -> ``(n, c, H, W)`` images in the model's range."""
        with eval_mode(self.g):
            return self.g(z.to(self.device))
