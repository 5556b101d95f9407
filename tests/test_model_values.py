"""The GAN models' numbers against independent computations, not their shapes.

- DCGAN §5.1 features: the ``d`` / ``d-last`` views must be the 4x4 max-pooled
  activations of D's conv blocks *after* their LeakyReLU, read here with forward
  hooks on D's own modules (not through ``conv_features``), at 32 and 64 px.
- Losses: each GAN's ``train_step`` on a tiny fixed batch with fixed latents,
  against the losses written out by hand with log-sigmoid / log-softmax from the
  logits of copies of the networks taken before the step (D's loss) and of D
  after its update (the generator's loss, which the models compute after D's step).
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from ganbench.api.data import DataInfo
from ganbench.api.model import Batch
from ganbench.api.options import resolve_options
from ganbench.plugins import get_registry
from ganbench.jobs.training import set_seed

CPU = torch.device("cpu")
BATCH = 6
CLASSES = 10
MNIST_INFO = DataInfo("mnist", 1, 28, 28, CLASSES, 60_000)
RGB_INFO = DataInfo("rgb", 3, 64, 64, CLASSES, 1_000)

pytestmark = pytest.mark.usefixtures("small_cpu_kernels")


def build(name: str, info: DataInfo, seed: int = 0, **given: str):
    spec = get_registry().get("model", name)
    options = resolve_options(spec.options, given, name)
    set_seed(seed)
    model = spec.factory(**options)
    model.setup(info, CPU)
    for module in model.modules().values():
        module.train(True)  # as the Trainer leaves them during training
    return model


def fixed_images(channels: int, size: int, seed: int, n: int = BATCH) -> torch.Tensor:
    return torch.rand(n, channels, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# -- DCGAN §5.1 features ----------------------------------------------------
def hooked_activations(d: nn.Module, run) -> list[torch.Tensor]:
    """D's post-nonlinearity activations, in layer order, as its LeakyReLU modules output them."""
    activations = []
    handles = [m.register_forward_hook(lambda _m, _i, out: activations.append(out.detach().clone()))
               for m in d.modules() if isinstance(m, nn.LeakyReLU)]
    try:
        run()
    finally:
        for h in handles:
            h.remove()
    return activations


@pytest.mark.parametrize("name", ["dcgan", "ortho", "acgan"])
@pytest.mark.parametrize("size, info", [(32, MNIST_INFO), (64, RGB_INFO)])
def test_d_views_are_every_block_max_pooled_after_its_nonlinearity(name, size, info):
    model = build(name, info, width="3", nz="5", image_size=str(size))
    x = fixed_images(info.channels, size, seed=1)
    for view in ("d", "d-last"):
        features = {}
        acts = hooked_activations(model.d, lambda: features.setdefault("f", model.features(x, view)))
        assert len(acts) == (3 if size == 32 else 4), "one LeakyReLU per D conv block"
        if view == "d-last":
            acts = acts[-1:]
        expected = torch.cat([F.adaptive_max_pool2d(a, 4).flatten(1) for a in acts], dim=1)
        assert torch.equal(features["f"], expected), f"{name} view {view} at {size} px"
        # the comparison has teeth: negative post-activation values mean a pre-activation
        # read differs (v against 0.2 v), and average pooling gives other numbers
        assert (expected < 0).any()
        averaged = torch.cat([F.adaptive_avg_pool2d(a, 4).flatten(1) for a in acts], dim=1)
        if view == "d":
            assert not torch.allclose(averaged, expected)


# -- losses against a hand computation ---------------------------------------
def neg_log_sigmoid(logits: torch.Tensor) -> torch.Tensor:
    """-log sigmoid(l) = log(1 + exp(-l)), written out (stable form: max(-l, 0) + log(1 + exp(-|l|)))."""
    return torch.clamp(-logits, min=0) + torch.log1p(torch.exp(-logits.abs()))


def real_loss(logits: torch.Tensor) -> torch.Tensor:
    """Mean -log D over logits labelled real (1)."""
    return neg_log_sigmoid(logits).mean()


def fake_loss(logits: torch.Tensor) -> torch.Tensor:
    """Mean -log(1 - D) = mean -log sigmoid(-l) over logits labelled generated (0)."""
    return neg_log_sigmoid(-logits).mean()


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean -log softmax(logits)[label], written out with logsumexp."""
    return (torch.logsumexp(logits, dim=1) - logits.gather(1, labels[:, None])[:, 0]).mean()


def fix_latent(model, z: torch.Tensor, monkeypatch) -> None:
    monkeypatch.setattr(model, "latent", lambda n, generator=None: z[:n].clone())


def assert_close(got, expected, what: str) -> None:
    assert float(got) == pytest.approx(float(expected), rel=1e-5, abs=1e-6), what


@pytest.mark.parametrize("name", ["dcgan", "ortho"])
def test_dcgan_losses_match_the_hand_computation(name, monkeypatch):
    model = build(name, MNIST_INFO, width="3", nz="5")
    x = fixed_images(1, 32, seed=2)
    z = torch.rand(BATCH, 5, generator=torch.Generator().manual_seed(3)) * 2 - 1
    fix_latent(model, z, monkeypatch)
    g0, d0 = copy.deepcopy(model.g), copy.deepcopy(model.d)

    out = model.train_step(Batch(x, torch.zeros(BATCH, dtype=torch.long)))

    with torch.no_grad():
        fake = g0(z)
        real_logits, fake_logits = d0(x), d0(fake)
        expected_d = real_loss(real_logits) + fake_loss(fake_logits)
        expected_g = real_loss(model.d(fake))  # D after its step; G wants its images called real
    assert_close(out["loss_d"], expected_d, "D: -log D(x) - log(1 - D(G(z)))")
    assert_close(out["loss_g"], expected_g, "G: non-saturating -log D(G(z))")
    assert_close(out["d_real"], torch.sigmoid(real_logits).mean(), "d_real")
    assert_close(out["d_fake"], torch.sigmoid(fake_logits).mean(), "d_fake")


def test_acgan_losses_match_the_hand_computation_with_the_class_terms(monkeypatch):
    model = build("acgan", MNIST_INFO, width="3", nz="5")
    x = fixed_images(1, 32, seed=4)
    y = torch.tensor([3, 1, 4, 1, 5, 9])
    z = torch.rand(BATCH, 5, generator=torch.Generator().manual_seed(5)) * 2 - 1
    fix_latent(model, z, monkeypatch)
    g0, d0 = copy.deepcopy(model.g), copy.deepcopy(model.d)

    torch.manual_seed(11)  # the step draws the generated images' classes from the global RNG
    out = model.train_step(Batch(x, y))
    torch.manual_seed(11)
    classes = torch.randint(0, CLASSES, (BATCH,))
    assert not torch.equal(classes, y)

    with torch.no_grad():
        fake = g0(z, classes)
        real_logits, real_class = d0.forward_with_aux(x)
        fake_logits, fake_class = d0.forward_with_aux(fake)
        expected_d = (real_loss(real_logits) + fake_loss(fake_logits)
                      + cross_entropy(real_class, y) + cross_entropy(fake_class, classes))
        g_logits, g_class = model.d.forward_with_aux(fake)
        expected_g = real_loss(g_logits) + cross_entropy(g_class, classes)
    assert_close(out["loss_d"], expected_d, "D: source terms + class terms on real (true labels) and generated (drawn classes)")
    assert_close(out["loss_g"], expected_g, "G: -log D(G(z, c)) + class term on c")
    assert_close(out["class_acc_real"], (real_class.argmax(1) == y).float().mean(), "class_acc_real")


@pytest.mark.parametrize("given", [{"arch": "mlp", "hidden": "16"}, {"arch": "conv", "width": "3", "hidden": "16"}],
                         ids=["mlp", "conv"])
def test_bigan_losses_match_the_hand_computation_with_the_squashed_code(given, monkeypatch):
    model = build("bigan", MNIST_INFO, nz="5", **given)
    size = 28 if given["arch"] == "mlp" else 32
    x = fixed_images(1, size, seed=6)
    if given["arch"] == "mlp":
        x = (x + 1) / 2  # mlp images are in [0, 1]
    z = torch.rand(BATCH, 5, generator=torch.Generator().manual_seed(7)) * 2 - 1
    fix_latent(model, z, monkeypatch)
    with torch.no_grad():  # codes beyond z's range [-1, 1]: where the squash matters
        model.e.out.weight.mul_(100)
    e0, g0, d0 = (copy.deepcopy(m) for m in (model.e, model.g, model.d))

    out = model.train_step(Batch(x, torch.zeros(BATCH, dtype=torch.long)))

    with torch.no_grad():
        raw = e0(x)[1]
        code = 2 * torch.sigmoid(raw) - 1  # the authors' UniformDistribution.logits_to_recon
        assert raw.abs().max() > 1
        fake = g0(z)
        real_logits, fake_logits = d0(x, code), d0(fake, z)
        expected_d = real_loss(real_logits) + fake_loss(fake_logits)
        # E and G: the same pairs, labels swapped, against D after its step
        expected_ge = fake_loss(model.d(x, code)) + real_loss(model.d(fake, z))
    assert_close(out["loss_d"], expected_d, "D: (x, 2 sigmoid(E(x)) - 1) real, (G(z), z) generated")
    assert_close(out["loss_ge"], expected_ge, "E, G: labels swapped")
