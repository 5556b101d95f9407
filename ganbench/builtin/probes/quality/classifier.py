"""The ``classifier`` feature space of the ``quality`` probe.

A small classifier trained on the dataset's training split, quickly and
deterministically (a fixed seed, independent of the run's), whose
penultimate layer is the feature space:

- ``lenet`` for one-channel images: LeNet-5-like, two 5x5 conv + max-pool
  stages (16, 32 channels) and a 128-unit hidden layer (the features);
- ``resnet`` for colour: a 3x3 stem and three residual stages (32, 64,
  128 channels, the last two strided), global average pooling to 128
  features.

Images go in at 32x32 (28 px zero-padded, other sizes resized, see
:func:`ganbench.api.data.fit_size`), pixels mapped to [-1, 1]. The trained
weights are cached as safetensors under ``<cache>/quality/``, keyed by the
dataset fingerprint, :data:`CLASSIFIER_VERSION`, the architecture and the
training settings; the test accuracy travels with them (in the file's
metadata) and goes into every row, because a feature space is only as good
as its classifier.
"""

from __future__ import annotations

import hashlib
import json
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from filelock import FileLock, Timeout
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from ganbench.builtin.probes.quality import CLASSIFIER_EPOCHS
from ganbench.system.cache_files import CacheFile
from ganbench.api.data import Dataset, to_model_input
from ganbench.builtin.probes.memorization.hashing import _one_cpu_thread  # small steps: one CPU thread is faster than two

CLASSIFIER_VERSION = "1"
INPUT_SIZE = 32
FEATURE_DIM = 128
EMBED_BATCH = 500


class LeNet(nn.Module):
    """``(B, C, 32, 32)`` -> logits ``(B, classes)``; ``features``: ``(B, 128)`` after the hidden ReLU."""

    def __init__(self, channels: int, classes: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 16, 5)   # 32 -> 28, pooled to 14
        self.conv2 = nn.Conv2d(16, 32, 5)         # 14 -> 10, pooled to 5
        self.hidden = nn.Linear(32 * 5 * 5, FEATURE_DIM)
        self.head = nn.Linear(FEATURE_DIM, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return F.relu(self.hidden(x.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class ResidualBlock(nn.Module):
    """Two 3x3 conv + batch norm layers with a (1x1, strided when downsampling) shortcut."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity() if stride == 1 and cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class SmallResNet(nn.Module):
    """``(B, C, 32, 32)`` -> logits; ``features``: ``(B, 128)`` globally average-pooled from 8x8."""

    def __init__(self, channels: int, classes: int):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(channels, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
        self.stages = nn.Sequential(ResidualBlock(32, 32, 1), ResidualBlock(32, 64, 2),
                                    ResidualBlock(64, FEATURE_DIM, 2))
        self.head = nn.Linear(FEATURE_DIM, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x)).mean((2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


ARCHITECTURES = {"lenet": LeNet, "resnet": SmallResNet}


@dataclass(frozen=True)
class ClassifierSettings:
    """How the classifier trains: Adam, ``epochs`` over the training split, a fixed ``seed``."""

    epochs: int = CLASSIFIER_EPOCHS
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0


def architecture_for(channels: int) -> str:
    return "lenet" if channels == 1 else "resnet"


@dataclass
class TrainedClassifier:
    """A classifier ready to embed images; ``test_acc`` on the dataset's test split."""

    net: nn.Module
    arch: str
    test_acc: float
    cached: bool
    path: Path | None

    @property
    def space(self) -> str:
        return f"classifier:{self.arch}"

    @torch.no_grad()
    def embed(self, images: torch.Tensor) -> np.ndarray:
        """uint8 ``(N, C, H, W)`` -> float32 ``(N, 128)``."""
        self.net.eval()
        device = next(self.net.parameters()).device
        chunks = [self.net.features(_inputs(images[i:i + EMBED_BATCH], device)).float().cpu().numpy()
                  for i in range(0, len(images), EMBED_BATCH)]
        return np.concatenate(chunks) if chunks else np.zeros((0, FEATURE_DIM), np.float32)


def _inputs(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    return to_model_input(images, INPUT_SIZE, (-1.0, 1.0), device)


def cache_key(dataset: Dataset, arch: str, settings: ClassifierSettings) -> str:
    blob = json.dumps({"version": CLASSIFIER_VERSION, "arch": arch, "dataset": dataset.fingerprint,
                       "settings": asdict(settings)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def train(dataset: Dataset, settings: ClassifierSettings, device: torch.device,
          log: Callable[[str], None] = print) -> tuple[nn.Module, str]:
    """A freshly trained classifier on the training split; the global RNG is left as it was."""
    arch = architecture_for(dataset.image_shape[0])
    began = time.perf_counter()
    with torch.random.fork_rng(devices=[]), _one_cpu_thread(device):
        torch.manual_seed(settings.seed)
        net = ARCHITECTURES[arch](dataset.image_shape[0], dataset.num_classes).to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=settings.lr)
        order = torch.Generator().manual_seed(settings.seed)
        net.train()
        for _ in range(settings.epochs):
            for batch in torch.randperm(len(dataset.train_x), generator=order).split(settings.batch_size):
                loss = F.cross_entropy(net(_inputs(dataset.train_x[batch], device)),
                                       dataset.train_y[batch].to(device))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
    net.eval()
    log(f"quality: trained the {arch} classifier ({settings.epochs} epochs) in {time.perf_counter() - began:.1f} s")
    return net, arch


@torch.no_grad()
def accuracy(net: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    device = next(net.parameters()).device
    net.eval()
    right = sum(int((net(_inputs(images[i:i + EMBED_BATCH], device)).argmax(1).cpu()
                     == labels[i:i + EMBED_BATCH]).sum()) for i in range(0, len(images), EMBED_BATCH))
    return right / max(1, len(images))


def load_or_train(dataset: Dataset, settings: ClassifierSettings, device: torch.device, cache_dir: Path | None,
                  log: Callable[[str], None] = print) -> TrainedClassifier:
    """The cached classifier for this dataset and settings, or a new one (saved when there is a cache).

    The cache file is written atomically with its digest; one that is damaged (altered, truncated,
    the wrong tensors, no readable accuracy) is set aside in one line and the classifier trained again.
    Two runs that need the same classifier at once train it once: the second waits on the entry's lock
    (saying so) and reads what the first saved."""
    if cache_dir is None:
        return _trained(dataset, settings, device, None, log)
    arch = architecture_for(dataset.image_shape[0])
    path = Path(cache_dir) / "quality" / f"classifier-{arch}-{cache_key(dataset, arch, settings)}.safetensors"
    with _one_at_a_time(path, log):
        file = CacheFile(path, log, require_digest=False)  # files of older versions have no digest
        net = ARCHITECTURES[arch](dataset.image_shape[0], dataset.num_classes).to(device)
        loaded = file.read(lambda p: _read(p, device), lambda got: _problem(net, *got), then="training it again")
        if loaded is not None:
            state, test_acc = loaded
            net.load_state_dict(state)
            return TrainedClassifier(net.eval(), arch, test_acc, True, path)
        return _trained(dataset, settings, device, file, log)


def _trained(dataset: Dataset, settings: ClassifierSettings, device: torch.device, file: CacheFile | None,
             log: Callable[[str], None]) -> TrainedClassifier:
    """A new classifier, saved to ``file`` when there is one."""
    net, arch = train(dataset, settings, device, log)
    test_acc = accuracy(net, dataset.test_x, dataset.test_y)
    if file is not None:
        state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
        file.write(lambda tmp: save_file(state, tmp, metadata={
            "test_acc": repr(test_acc), "settings": json.dumps(asdict(settings)),
            "dataset_fingerprint": dataset.fingerprint, "version": CLASSIFIER_VERSION}))
    return TrainedClassifier(net, arch, test_acc, False, None if file is None else file.path)


@contextmanager
def _one_at_a_time(path: Path, log: Callable[[str], None]):
    """Hold ``path``'s lock file while the entry is read or made; a cache that takes no lock file (read-only)
    goes without one, as before."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(path) + ".lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            log(f"quality: another run is training this classifier ({path.name}); waiting to read it")
            lock.acquire()
    except OSError:
        yield
        return
    try:
        yield
    finally:
        lock.release()


def _read(path: Path, device: torch.device) -> tuple[dict, float]:
    """The saved state and test accuracy (``ValueError``/``KeyError`` when the metadata lacks it)."""
    state = load_file(str(path), device=str(device))
    with safe_open(str(path), "pt") as handle:
        test_acc = float((handle.metadata() or {})["test_acc"])
    return state, test_acc


def _problem(net: nn.Module, state: dict, test_acc: float) -> str | None:
    expected = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in state.items()}
    if found != expected:
        return "its tensors do not match the classifier's"
    if not 0.0 <= test_acc <= 1.0:
        return f"its recorded test accuracy {test_acc!r} is not in [0, 1]"
    if not all(bool(torch.isfinite(v).all()) for v in state.values() if v.is_floating_point()):
        return "it holds non-finite weights"
    return None
