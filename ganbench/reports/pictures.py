"""The pictures of ``ganbench show``: each ``compute_*`` returns tensors (tested by value),
each picture function writes a PNG with torchvision's ``make_grid`` / ``save_image`` or
matplotlib and returns its path.

Images are shown at the dataset's size (a 28 px digit the networks see padded
to 32 is cropped back), as floats in [0, 1]; a grid is then enlarged by a whole
factor, nearest neighbour, until its short side is at least
:data:`MIN_SHORT_SIDE` pixels, so that 28 px digits stay readable on a page.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torchvision.utils import make_grid, save_image

from ganbench.api.data import fit_back, to_model_input
from ganbench.system.errors import UsageError
from ganbench.store.jsonl import TOO_LONG, StoreWarning, bounded_lines

# A picture narrower than this is a thumbnail on a web page: grids are enlarged to it.
MIN_SHORT_SIDE = 256


# -- helpers ----------------------------------------------------------------
def shown(prepared, x: torch.Tensor) -> torch.Tensor:
    """Model-range images -> float ``(n, C, H, W)`` in [0, 1] at the dataset's size, on the CPU."""
    lo, hi = prepared.model.value_range
    _, h, w = prepared.dataset.image_shape
    return fit_back(((x.detach().float().cpu() - lo) / (hi - lo)).clamp(0, 1), h, w)


def _generator(prepared, seed: int) -> torch.Generator:
    return torch.Generator(device=prepared.device).manual_seed(seed)


def _needs_latent(prepared) -> None:
    model = prepared.model
    try:
        model.latent(1, _generator(prepared, 0))
    except NotImplementedError:
        raise UsageError(f"Model '{prepared.resolved.model_spec.name}' exposes no latent space (Model.latent / "
                         f"Model.decode); this picture needs one. Models that do: dcgan, acgan, bigan.") from None


def enlarged(grid: torch.Tensor, least: int = MIN_SHORT_SIDE) -> torch.Tensor:
    """``grid (C, H, W)`` repeated ``k`` times along both axes, the smallest whole ``k`` that makes
    ``min(H, W) * k >= least``: every pixel becomes a k x k block, nothing is interpolated."""
    k = max(1, -(-least // min(grid.shape[-2:])))
    return grid.repeat_interleave(k, dim=-2).repeat_interleave(k, dim=-1)


def _save_figure(fig, path, dpi: int) -> Path:
    """A matplotlib figure laid out, written as a PNG and closed."""
    from matplotlib import pyplot as plt

    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def _save(grid: torch.Tensor, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(enlarged(grid), path)
    return path


# -- samples ----------------------------------------------------------------
def compute_samples(prepared, n: int, seed: int) -> torch.Tensor:
    if "generator" not in prepared.resolved.model_spec.capabilities:
        raise UsageError(f"Model '{prepared.resolved.model_spec.name}' has no generator; no samples to show.")
    with torch.no_grad():
        return shown(prepared, prepared.model.sample(n, _generator(prepared, seed)))


def samples(prepared, path, n: int = 64, seed: int = 0) -> Path:
    images = compute_samples(prepared, n, seed)
    return _save(make_grid(images, nrow=int(np.ceil(np.sqrt(n))), padding=2, pad_value=1.0), path)


# -- interpolation (DCGAN §6.1) ---------------------------------------------
def compute_interpolation(prepared, rows: int, steps: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(images (rows * steps, C, H, W), start z (rows, nz), end z (rows, nz))``; row r walks from
    ``start[r]`` to ``end[r]`` in ``steps`` equal steps (endpoints included)."""
    _needs_latent(prepared)
    model = prepared.model
    g = _generator(prepared, seed)
    start, end = model.latent(rows, g), model.latent(rows, g)
    t = torch.linspace(0, 1, steps, device=start.device)[None, :, None]
    z = (start[:, None, :] * (1 - t) + end[:, None, :] * t).reshape(rows * steps, -1)
    with torch.no_grad():
        return shown(prepared, model.decode(z)), start, end


def interpolate(prepared, path, rows: int = 8, steps: int = 10, seed: int = 0) -> Path:
    images, _, _ = compute_interpolation(prepared, rows, steps, seed)
    return _save(make_grid(images, nrow=steps, padding=2, pad_value=1.0), path)


# -- vector arithmetic (DCGAN §6.3) ------------------------------------------
def parse_concepts(text: str, dataset) -> list[int]:
    names = [t.strip() for t in text.split(",")]
    if names == ["A", "B", "C"]:  # the default: the first three classes
        names = list(dataset.classes[:3])
    if len(names) != 3:
        raise UsageError(f"--concepts {text}: expected three class names or numbers, A,B,C (the picture shows A - B + C).")
    out = []
    for name in names:
        if name in dataset.classes:
            out.append(dataset.classes.index(name))
        elif name.isdigit() and int(name) < len(dataset.classes):
            out.append(int(name))
        else:
            raise UsageError(f"--concepts: '{name}' is not a class of dataset '{dataset.name}'. "
                             f"Classes: {', '.join(dataset.classes)} (or their numbers 0-{len(dataset.classes) - 1}).")
    return out


def parse_indices(text: str, pool: int) -> list[list[int]]:
    try:
        groups = [[int(i) for i in part.split(",")] for part in text.split(";")]
    except ValueError:
        groups = []
    if len(groups) != 3 or any(len(g) != 3 or min(g) < 0 or max(g) >= pool for g in groups):
        raise UsageError(f"--indices {text}: expected three groups of three latent indices below --pool {pool}, "
                         f"e.g. 0,1,2;3,4,5;6,7,8.")
    return groups


def exemplars_by_class(prepared, images: torch.Tensor, classes: list[int], per_concept: int = 3) -> list[list[int]]:
    """For each class, the ``per_concept`` generated images (indices) nearest (L2, pixels) to the
    mean training image of that class."""
    x, y = prepared.dataset.train_x, prepared.dataset.train_y
    flat = images.flatten(1)
    chosen = []
    for c in classes:
        mean = x[y == c].float().div(255).mean(0).flatten()
        chosen.append(torch.cdist(flat, mean[None]).squeeze(1).argsort()[:per_concept].tolist())
    return chosen


def compute_arithmetic(prepared, classes, indices, pool: int, seed: int):
    """``(rows (4, 4, C, H, W), result z (nz,))``: rows A, B, C hold their three exemplars and the image of
    their mean z; the last row holds the three result images of A - B + C and its mean (the result).

    The result is ``decode(mean z_A - mean z_B + mean z_C)``; beside it, as in the paper, the same
    vector with small uniform noise (+-0.25) added, so one sees that the result is stable.
    """
    _needs_latent(prepared)
    model = prepared.model
    z = model.latent(pool, _generator(prepared, seed))
    with torch.no_grad():
        images = shown(prepared, model.decode(z))
    if indices is None:
        indices = exemplars_by_class(prepared, images, classes)
    means = [z[torch.as_tensor(group, device=z.device)].mean(0) for group in indices]
    result = means[0] - means[1] + means[2]
    noise = (torch.rand(3, result.shape[0], generator=_generator(prepared, seed + 1), device=z.device) * 0.5 - 0.25)
    with torch.no_grad():
        mean_images = shown(prepared, model.decode(torch.stack(means)))
        result_images = shown(prepared, model.decode(torch.cat([result[None] + noise, result[None]])))
    rows = [torch.cat([images[group], mean_images[i:i + 1]]) for i, group in enumerate(indices)]
    rows.append(result_images)
    return torch.stack(rows), result


def arithmetic_labels(prepared, classes, indices) -> list[str]:
    """The four row labels: what A, B and C are (class names, or the latent indices given) and the result."""
    if indices is None:
        names = [prepared.dataset.classes[c] for c in classes]
    else:
        names = [f"z[{','.join(map(str, group))}]" for group in indices]
    rows = [f"{letter}: {name}" for letter, name in zip("ABC", names)]
    return rows + ["A - B + C"]


def arithmetic(prepared, path, classes, indices, pool: int = 2000, seed: int = 0) -> Path:
    """The 4 x 4 grid of :func:`compute_arithmetic` with its rows and columns labelled."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    rows, _ = compute_arithmetic(prepared, classes, indices, pool, seed)
    labels = arithmetic_labels(prepared, classes, indices)
    columns = ["exemplar 1", "exemplar 2", "exemplar 3", "mean z"]
    last_row = ["+ noise", "+ noise", "+ noise", "result"]
    fig, axes = plt.subplots(4, 4, figsize=(6.4, 6.6))
    for r in range(4):
        for c in range(4):
            axis = axes[r, c]
            axis.imshow(rows[r, c].permute(1, 2, 0).squeeze(-1).numpy(), cmap="gray", vmin=0, vmax=1,
                        interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            axis.set_xlabel((last_row if r == 3 else columns)[c], fontsize=8)
        axes[r, 0].set_ylabel(labels[r], fontsize=9)
    names = [label.split(": ", 1)[1] for label in labels[:3]]
    fig.suptitle(f"vector arithmetic on z (DCGAN §6.3): {names[0]} - {names[1]} + {names[2]}", fontsize=10)
    return _save_figure(fig, path, dpi=100)


# -- nearest training images --------------------------------------------------
def compute_neighbors(prepared, n: int, k: int, seed: int) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """``(samples (n, C, H, W), distances (n, k), indices (n, k))``: each sample's ``k`` nearest
    training images by squared L2 distance in [0, 1] pixel space (FAISS, exact)."""
    import faiss

    images = compute_samples(prepared, n, seed)
    train = prepared.dataset.train_x.float().div(255).flatten(1).numpy()
    index = faiss.IndexFlatL2(train.shape[1])
    index.add(np.ascontiguousarray(train, dtype=np.float32))
    distances, found = index.search(np.ascontiguousarray(images.flatten(1).numpy(), dtype=np.float32), k)
    return images, distances, found


def neighbors(prepared, path, n: int = 8, k: int = 6, seed: int = 0) -> Path:
    images, _, found = compute_neighbors(prepared, n, k, seed)
    train = prepared.dataset.train_x
    rows = []
    for sample, idx in zip(images, found):
        blank = torch.ones_like(sample)  # a white gap sets the sample apart from its neighbours
        rows += [sample, blank] + [train[i].float().div(255) for i in idx]
    return _save(make_grid(torch.stack(rows), nrow=k + 2, padding=2, pad_value=1.0), path)


# -- reconstructions G(E(x)) (models with an encoder) -----------------------------
def test_images_by_class(dataset, per_class: int) -> torch.Tensor:
    """Indices of the first ``per_class`` test images of every class, class by class."""
    labels = dataset.test_y
    return torch.cat([torch.nonzero(labels == c).flatten()[:per_class] for c in range(len(dataset.classes))])


def compute_reconstructions(prepared, per_class: int) -> tuple[torch.Tensor, torch.Tensor, float, float]:
    """``(real, reconstructed, error, baseline)``: test images ``(n, C, H, W)`` in [0, 1] and
    ``decode(encode(x))`` of each; ``error`` is the mean L2 distance between the two, and
    ``baseline`` the same against another test image (the next one), the BiGAN authors'
    ``EGr`` and ``EGr_b``: an encoder that reconstructs has ``error`` well below ``baseline``."""
    model = prepared.model
    chosen = test_images_by_class(prepared.dataset, per_class)
    x = to_model_input(prepared.dataset.test_x[chosen], model.image_size, model.value_range, prepared.device)
    try:
        with torch.no_grad():
            codes = model.encode(x)
    except NotImplementedError:
        raise UsageError(f"Model '{prepared.resolved.model_spec.name}' has no encoder (Model.encode); "
                         f"reconstructions need one. Models that have one: bigan.") from None
    with torch.no_grad():
        real, rebuilt = shown(prepared, x), shown(prepared, model.decode(codes))
    error = (real - rebuilt).flatten(1).norm(dim=1)
    baseline = (real.roll(1, dims=0) - rebuilt).flatten(1).norm(dim=1)
    return real, rebuilt, float(error.mean()), float(baseline.mean())


def reconstructions(prepared, path, per_class: int = 2) -> tuple[Path, float, float]:
    """Rows of test images, each above the row of their reconstructions (10 a row)."""
    real, rebuilt, error, baseline = compute_reconstructions(prepared, per_class)
    per_row = min(10, len(real))
    rows = []
    for start in range(0, len(real), per_row):
        rows += [real[start:start + per_row], rebuilt[start:start + per_row]]
    grid = make_grid(torch.cat(rows), nrow=per_row, padding=2, pad_value=1.0)
    return _save(grid, path), error, baseline


# -- training curves ----------------------------------------------------------
def read_log(folder: Path) -> list[dict]:
    path = Path(folder) / "log.jsonl"
    if not path.exists():
        raise UsageError(f"No training log at {path}: the model was not trained by ganbench (or was trained "
                         f"before logs were kept). Delete its folder to train it again.")
    entries, bad = [], 0
    with open(path, "rb") as f:
        for line in bounded_lines(f):
            if not line.strip():
                continue
            entry = _log_entry(line)
            if entry is None:
                bad += 1
            else:
                entries.append(entry)
    if bad:
        warnings.warn(f"{path}: skipped {bad} line(s) that are no training-log entry (a JSON object with a numeric "
                      f"\"step\"); {len(entries)} kept", LogLineWarning, stacklevel=2)
    if not entries:
        raise UsageError(f"The training log {path} holds no valid entry, so there is no curve to draw. Delete the "
                         f"model's folder to train it again.")
    return entries


class LogLineWarning(StoreWarning):
    """A line of a training log was skipped (shown in one line, as a skipped line of the store is)."""


def _log_entry(line: bytes) -> dict | None:
    """The line as a log entry (statistics as floats, NaN where one is not a number), or None when it is none."""
    if line is TOO_LONG:
        return None
    try:
        entry = json.loads(line)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, an integer too long, nested too deeply
        return None
    if not isinstance(entry, dict) or not math.isfinite(_as_float(entry.get("step"))):
        return None
    return {str(k): _as_float(v) for k, v in entry.items()}


def _as_float(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    try:
        return float(value)
    except OverflowError:  # an integer past float's range
        return math.nan


# Logged per step but not a training statistic: left out of the curves.
NOT_PLOTTED = ("step", "images_per_s")


def curve_panels(entry: dict) -> list[tuple[str, list[str], tuple[float, float] | None]]:
    """(title, keys, y limits) of the two panels for a log whose entries look like ``entry``.

    The first panel has the losses. The second has D(x) / D(G(z)) where the model logs
    them (``d_real`` / ``d_fake``), else every other statistic it logs: a WGAN-GP's
    Wasserstein estimate and gradient penalty, say."""
    losses = sorted(k for k in entry if k.startswith("loss"))
    if "d_real" in entry or "d_fake" in entry:
        second = ("mean probability of 'real' D gives", [k for k in ("d_real", "d_fake") if k in entry], (0.0, 1.0))
    else:
        others = sorted(k for k in entry if k not in losses and k not in NOT_PLOTTED)
        second = ("other statistics the model logs", others, None)
    return [("losses", losses, None), second]


def curves(prepared, path, smooth: int = 25) -> Path:
    """Two panels: the losses, and D(x) / D(G(z)) (or the model's other statistics);
    thin lines per step, thick a running mean."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    log = read_log(prepared.folder)
    steps = np.array([entry["step"] for entry in log])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for axis, (title, keys, limits) in zip(axes, curve_panels(log[0])):
        for key in keys:
            values = np.array([entry.get(key, np.nan) for entry in log], dtype=float)
            label = {"d_real": "D(x)", "d_fake": "D(G(z))"}.get(key, key)
            line, = axis.plot(steps, values, alpha=0.25, linewidth=0.8)
            window = max(1, min(smooth, len(values) // 5))
            running = np.convolve(values, np.ones(window) / window, mode="valid")
            axis.plot(steps[window - 1:], running, color=line.get_color(), linewidth=2, label=label)
        axis.set_xlabel("step")
        axis.set_title(title)
        if limits is not None:
            axis.set_ylim(*limits)
        if keys:
            axis.legend()
        axis.grid(alpha=0.3)
    fig.suptitle(f"{prepared.resolved.model_spec.name} on {prepared.dataset.name} (model {prepared.folder.name})")
    return _save_figure(fig, path, dpi=100)


# -- guided backpropagation (DCGAN §6.2; Springenberg et al. 2014) ----------------
class GuidedRectifier(torch.autograd.Function):
    """Forward: the activation it replaces (ReLU or LeakyReLU with ``slope``). Backward: guided
    backpropagation -- a gradient passes only where the input was positive AND the incoming
    gradient is positive: ``grad_in = max(grad_out, 0) * [x > 0]``."""

    @staticmethod
    def forward(ctx, x, slope: float):
        ctx.save_for_backward(x)
        return torch.where(x > 0, x, x * slope)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad.clamp(min=0) * (x > 0).to(grad.dtype), None


class Guided(nn.Module):
    def __init__(self, slope: float):
        super().__init__()
        self.slope = slope

    def forward(self, x):
        return GuidedRectifier.apply(x, self.slope)


def guided_copy(network: nn.Module) -> tuple[nn.Module, list[nn.Module]]:
    """A copy of ``network`` with every ReLU / LeakyReLU made guided; also the guided modules in order."""
    import copy

    net = copy.deepcopy(network).float().eval()
    guided = []
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, (nn.ReLU, nn.LeakyReLU)):
                replacement = Guided(getattr(child, "negative_slope", 0.0))
                setattr(parent, name, replacement)
    guided = [m for m in net.modules() if isinstance(m, Guided)]
    return net, guided


class _Reached(Exception):
    pass


def layer_activation(net: nn.Module, layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The output of ``layer`` when ``net`` runs on ``x`` (the rest of the network is not run)."""
    caught = {}

    def hook(module, inputs, output):
        caught["out"] = output
        raise _Reached

    handle = layer.register_forward_hook(hook)
    try:
        net(x)
    except _Reached:
        pass
    except TypeError as exc:
        raise UsageError(f"This network cannot be run on images alone ({exc}); choose another --network.") from None
    finally:
        handle.remove()
    if "out" not in caught:
        raise UsageError("The chosen layer is not reached when the network runs on images; choose another --layer.")
    return caught["out"]


def compute_filters(prepared, network: str, layer: int, units: int, images: torch.Tensor | None = None):
    """``(real images (units, C, H, W), gradients (units, C, H, W), unit numbers)``.

    The ``units`` channels of the chosen activation layer with the highest mean (over real test images)
    of their spatial maximum; for each, the test image that excites it most, and the guided-backprop
    gradient of the unit's spatial maximum with respect to that image."""
    modules = prepared.model.modules()
    if network not in modules:
        raise UsageError(f"Model '{prepared.resolved.model_spec.name}' has no network '{network}'. "
                         f"Networks: {', '.join(modules)}.")
    net, guided = guided_copy(modules[network])
    if not guided:
        raise UsageError(f"Network '{network}' has no ReLU / LeakyReLU layers to visualise.")
    try:
        target = guided[layer]
    except IndexError:
        raise UsageError(f"--layer {layer}: network '{network}' has {len(guided)} activation layers "
                         f"(0 to {len(guided) - 1}, or -1 for the last).") from None
    model = prepared.model
    if images is None:
        images = prepared.dataset.test_x[:512]
    x = to_model_input(images, model.image_size, model.value_range, prepared.device)
    with torch.no_grad():
        acts = layer_activation(net, target, x).flatten(2).amax(2)  # (N, channels)
    top = acts.mean(0).argsort(descending=True)[:units]
    best_image = acts[:, top].argmax(0)
    x_sel = x[best_image].clone().requires_grad_(True)
    act = layer_activation(net, target, x_sel).flatten(2).amax(2)
    act[torch.arange(len(top)), top].sum().backward()
    return shown(prepared, x[best_image]), x_sel.grad.detach().float().cpu(), top.tolist()


def _as_picture(prepared, grads: torch.Tensor) -> torch.Tensor:
    """Each gradient scaled to [0, 1] by its own largest magnitude (0 -> mid grey) at the dataset's size."""
    _, h, w = prepared.dataset.image_shape
    scale = grads.flatten(1).abs().amax(1).clamp_min(1e-12)[:, None, None, None]
    return fit_back(0.5 + 0.5 * grads / scale, h, w)


def filters(prepared, baseline, path, network: str = "d", layer: int = -1, units: int = 8) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    panels = [(prepared.resolved.model_spec.name, prepared)] + ([("random-d (untrained)", baseline)] if baseline else [])
    fig, axes = plt.subplots(len(panels), 1, figsize=(units * 1.1, 2.6 * len(panels)), squeeze=False)
    for axis, (name, source) in zip(axes[:, 0], panels):
        real, grads, top = compute_filters(source, network, layer, units)
        grid = make_grid(torch.cat([real, _as_picture(source, grads)]), nrow=units, padding=2, pad_value=1.0)
        axis.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
        axis.set_title(f"{name}: units {', '.join(map(str, top))} of layer {layer} -- top: the real image that "
                       f"excites each most; bottom: guided backprop", fontsize=8)
        axis.axis("off")
    return _save_figure(fig, path, dpi=110)
