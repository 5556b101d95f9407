"""The model protocol: what a model plugin implements.

A model owns its networks, optimizers and one training step. The core owns
everything around it: epochs and steps, seeding, device placement, bf16
autocast and channels_last on CUDA (and on the CPU where a model sets
``channels_last_on_cpu``), data held on the device, progress,
checkpoints, resume and the divergence guard (see :mod:`ganbench.jobs.training`).

Life of a model in a run::

    model = spec.factory(**options)        # options already parsed and checked
    model.setup(data_info, device)         # build networks and optimizers
    model.bind_dataset(dataset)            # optional: check the loaded dataset (a features file's labels)
    for step in ...:                       # skipped when model.trains is False
        stats = model.train_step(batch)    # batch.x in model.value_range
    model.after_training(real_images)      # e.g. fit a projection; may be a no-op
    model.features(x, view)                # (B, D) float32 per feature view
    model.sample(n, generator)             # (n, C, H, W) in model.value_range
    model.decode(model.latent(n, g))       # optional: the same images from explicit latents
    model.decode(model.encode(x))          # optional: reconstructions, for a model with an encoder

The model places its own modules on the device ``setup`` is given; the core
moves only the data (and, on CUDA, the modules' memory format for training).

Features are extracted under ``torch.no_grad()`` in float32 (autocast off,
no TF32), after ``train(False)``. By default (``--bn-stats train-images``)
the core recomputes the statistics of every torch batch-norm layer that
``features(x, view)`` reaches on the real training images and makes those
layers normalise with them (forward hooks, see :mod:`ganbench.jobs.bn_stats`),
whatever mode the layers are in; it never changes the weights. A model
should still run its feature networks in eval mode (running statistics),
which is what ``--bn-stats running`` uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ganbench.api.data import DataInfo


@dataclass
class Batch:
    """One training batch on the model's device.

    ``x``: float ``(B, C, H, W)`` in the model's ``value_range`` at its
    ``image_size``; ``y``: int64 ``(B,)`` class labels (use them only when the
    spec says ``trains_on_labels``).
    """

    x: torch.Tensor
    y: torch.Tensor


@dataclass(frozen=True)
class Schedule:
    """How long a model trains by default: epochs over the training split, batch size."""

    epochs: int
    batch_size: int


class Model:
    """Base class for model plugins; override what your model has.

    Class attributes:

    - ``value_range``: the range the networks see images in (GANs with a tanh
      generator: ``(-1, 1)``).
    - ``image_size``: the square size the networks take, or ``None`` for the
      dataset's own size.
    - ``trains``: ``False`` for models used as they are built (baselines).
    - ``cache_features``: ``False`` when features are cheaper to recompute
      than to store (raw pixels).
    - ``channels_last_on_cpu``: ``True`` to be trained in ``channels_last`` on
      the CPU too (modules and ``batch.x``; CUDA always does). Convolutional
      networks train faster so (1.08x, ``benchmarks/cpu_epoch.py``); leave it
      ``False`` if ``train_step`` reshapes ``batch.x`` with ``view``.
    """

    value_range: tuple[float, float] = (-1.0, 1.0)
    image_size: int | None = None
    trains: bool = True
    cache_features: bool = True
    channels_last_on_cpu: bool = False

    def __init__(self, **options):
        self.options = options

    # -- building -----------------------------------------------------
    def setup(self, info: DataInfo, device: torch.device) -> None:
        """Build networks and optimizers for images of ``info``'s shape on ``device``."""

    def feature_views(self) -> dict[str, str]:
        """Feature view name -> one-line description. Probes run once per view.
        Must work before ``setup`` (the CLI checks ``--view`` names early)."""
        return {}

    def report(self) -> dict:
        """Facts about the trained model worth keeping in every row's ``details``
        (e.g. directions a projection removed); JSON-serialisable."""
        return {}

    # -- optional: a model tied to the dataset's own examples (the ``features`` model) --
    def config_facts(self) -> dict:
        """Facts beyond the options that decide this model's features, e.g. the sha256 of a
        file an option names; JSON-serialisable. Called when the request is checked; they join
        the options in the row's ``model_config``, the cache key and the job key, so two files
        at one path never share a leaderboard cell."""
        return {}

    def label(self) -> str | None:
        """The name its rows are shown under (the row's ``model_label``); ``None``: the plugin's."""
        return None

    def bind_dataset(self, dataset) -> None:
        """Called once after ``setup`` with the loaded :class:`ganbench.Dataset`, before
        anything trains or any probe runs; raise :class:`ganbench.UsageError` to refuse it."""

    def split_features(self, split: str, view: str):
        """float32 ``(N, D)`` numpy features of the dataset's ``split`` (``train`` / ``test``)
        that the model already holds, or ``None`` (the default): the core then extracts them
        with :meth:`features`."""
        return None

    def feature_config(self, view: str) -> dict | None:
        """How precomputed features were extracted (the row's ``feature_config``), or ``None``:
        the core's own extraction settings."""
        return None

    def default_schedule(self, info: DataInfo) -> Schedule:
        """The paper's schedule scaled to the dataset."""
        return Schedule(epochs=25, batch_size=128)

    # -- training -----------------------------------------------------
    def train_step(self, batch: Batch) -> dict[str, float]:
        """One optimisation step. Return floats: losses and, for GANs,
        ``d_real`` / ``d_fake``, the mean probability D gives real and generated
        images (watched by the divergence guard). A non-finite value ends the
        run as ``diverged``; so does raising ``ganbench.DivergedError(message)``,
        for a model with a sanity check of its own (models without
        probabilities, such as a WGAN critic, leave out ``d_real`` / ``d_fake``
        and the saturation check does not apply to them)."""
        raise NotImplementedError(f"{type(self).__name__} does not train")

    def modules(self) -> dict[str, nn.Module]:
        """Every network whose weights make up the model (saved and restored)."""
        return {}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Every optimizer whose state a resumed run needs."""
        return {}

    def plan(self, total_steps: int) -> None:
        """Called before training starts (or resumes) with the number of steps
        the run will take, so schedules such as learning-rate decay follow
        ``--epochs`` / ``--max-steps``."""

    def after_training(self, real: torch.Tensor) -> None:
        """Called once after training, before the weights are saved, with real
        training images in ``value_range`` on the device; fit anything derived
        from the trained networks here and keep it in a registered buffer, so
        loading the weights restores it. When the core reuses another model's
        training (``ModelSpec.trains_as``) or loads a snapshot (``--at-epoch``),
        it calls this with the features' batch-norm statistics in force. A model that does not
        train (``trains = False``) and overrides this method is fitted by it once (e.g. ``kmeans``:
        whitening and centroids), and its ``state_tensors()`` are then cached like trained weights."""

    # -- using --------------------------------------------------------
    def features(self, x: torch.Tensor, view: str) -> torch.Tensor:
        """``x``: ``(B, C, H, W)`` in ``value_range`` on the model's device -> ``(B, D)`` float
        features of ``view``. Called under ``torch.no_grad()`` in float32 with the modules in
        eval mode; the features of one image must not depend on the rest of its batch."""
        raise NotImplementedError

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` generated images ``(n, C, H, W)`` in ``value_range``; the same
        ``generator`` state gives the same images."""
        raise NotImplementedError(f"{type(self).__name__} has no generator")

    # -- optional: latent space (``ganbench show interpolate`` / ``arithmetic``) --
    # A generator model may expose its latent space: ``sample(n, g)`` must then
    # equal ``decode(latent(n, g))``. Models without these methods simply have
    # no latent pictures.
    def latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` latent codes ``(n, nz)`` on the model's device, drawn from ``generator``."""
        raise NotImplementedError(f"{type(self).__name__} exposes no latent space")

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images ``(n, C, H, W)`` in ``value_range`` for latent codes ``z`` ``(n, nz)`` (eval mode)."""
        raise NotImplementedError(f"{type(self).__name__} exposes no latent space")

    # -- optional: an encoder (``ganbench show reconstructions``) -------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent codes ``(n, nz)`` the model infers for images ``x`` ``(n, C, H, W)`` in
        ``value_range`` at its input size (eval mode), in the space ``decode`` takes:
        ``decode(encode(x))`` is the model's reconstruction of ``x``."""
        raise NotImplementedError(f"{type(self).__name__} has no encoder")

    # -- helpers for the core -----------------------------------------
    def train(self, mode: bool = True) -> None:
        for m in self.modules().values():
            m.train(mode)

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Every module's state as one flat ``{"module.param": tensor}`` dict."""
        out = {}
        for name, module in self.modules().items():
            for key, value in module.state_dict().items():
                out[f"{name}.{key}"] = value
        return out

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        for name, module in self.modules().items():
            prefix = f"{name}."
            module.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
