"""Device choice, the CUDA fast path for training (bf16 autocast, channels_last), and
float32 feature extraction."""

from __future__ import annotations

import contextlib

import torch

from ganbench.system.errors import UsageError


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when present, else CPU; ``cuda[:i]`` checked to exist."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        raise UsageError(f"Bad --device {name!r}: expected auto, cpu, cuda or cuda:N.") from None
    if device.type == "cpu" and device.index not in (None, 0):
        raise UsageError(f"Bad --device {name!r}: there is one CPU device; use --device cpu.")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"--device {name}: CUDA is not available on this machine. Use --device cpu or auto.")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s).")
    elif device.type != "cpu":
        raise UsageError(f"Bad --device {name!r}: expected auto, cpu, cuda or cuda:N.")
    return device


def autocast(device: torch.device):
    """bf16 autocast on CUDA; nothing on the CPU (keeps CPU runs bit-for-bit repeatable)."""
    if device.type == "cuda":
        return bf16_autocast("cuda")
    return contextlib.nullcontext()


def bf16_autocast(device_type: str):
    """bf16 autocast without torch's weight-cast cache. The trainer runs a whole training step in one
    autocast block, and a step updates weights in place (``optimizer.step()``) between forward passes;
    with the cache, every forward pass after the first in the block would use the bf16 copies of the
    weights as they were before the update: a GAN's G step scored by D as it was before D's step, a
    critic's several steps all computed with the first weights. Casting anew costs one read of the
    weights per forward pass."""
    return torch.autocast(device_type, dtype=torch.bfloat16, cache_enabled=False)


def memory_format(device: torch.device):
    """The layout features are extracted in: channels_last on CUDA, plain NCHW on the CPU (as cached
    features always were there)."""
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format


def training_memory_format(device: torch.device, channels_last_on_cpu: bool = False):
    """The layout a model trains in: channels_last on CUDA, and on the CPU for models that ask for it
    (``Model.channels_last_on_cpu``: 1.08x the NCHW training steps of the CIFAR-10 dcgan,
    ``benchmarks/cpu_epoch.py``). Plain NCHW otherwise, the layout the plugin guide promises on the CPU."""
    return torch.channels_last if device.type == "cuda" or channels_last_on_cpu else torch.contiguous_format


# What feature extraction runs in, recorded in every row's ``feature_config``.
FEATURE_PRECISION = "float32"


@contextlib.contextmanager
def float32_math(device: torch.device):
    """Plain float32 arithmetic on any device: autocast off (even inside an enclosing
    autocast block) and no TF32 in CUDA matmuls or convolutions, so features do not
    depend on the training fast path."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        with torch.autocast(device_type=device.type, enabled=False):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
