"""Training throughput: ganbench's loop against the common PyTorch loop, in one run.

    python benchmarks/train_speed.py --data-root ../shared/data/mnist            # dcgan and bigan, CPU
    python benchmarks/train_speed.py --model dcgan --device cuda --steps 200     # on a GPU
    python benchmarks/train_speed.py --dataset cifar10 --data-root ../shared/data/cifar-10 --model dcgan

For each model the same networks, optimizers, batch size, width and device
are trained twice, alternating, ``--rounds`` times:

- ``ganbench``: the core's :class:`ganbench.jobs.training.Trainer` (uint8 images
  held on the device, converted batch by batch; bf16 autocast and
  channels_last on CUDA);
- ``example``: the loop of the common PyTorch DCGAN example --
  ``torchvision.datasets.MNIST`` with per-image transforms (``Pad(2)`` to
  32 px for dcgan, ``ToTensor``, ``Normalize``), a shuffling ``DataLoader``
  with 2 workers, the loss statistics read with ``.item()`` every step. For
  bigan the same plain loop feeds the same MLPs. On CIFAR-10 the example's
  dataset is torchvision's ``CIFAR10`` item path (uint8 HWC array ->
  ``PIL.Image`` -> ``ToTensor`` -> ``Normalize``) over the same images: the
  official binary batches here, which torchvision's reader does not open.

Images per second is steps x batch / wall time of the whole training call
(start-up included). The ratio ganbench / example, measured in one run, is
the figure to compare: absolute numbers move with whatever else the machine
runs. Results are appended to ``benchmarks/train_speed.jsonl``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import shutil
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import datasets, transforms

from ganbench.datasets.open import load_dataset
from ganbench.system.device import autocast, memory_format, resolve_device
from ganbench.api.model import Batch
from ganbench.builtin.models.bigan.model import BiGAN
from ganbench.builtin.models.dcgan.model import DCGAN
from ganbench.jobs.training import Trainer, TrainSettings

HERE = Path(__file__).parent
RAW_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def torchvision_root(data_root: Path, into: Path) -> Path:
    """A folder torchvision's MNIST reads: ``MNIST/raw/`` with the four files uncompressed."""
    raw = into / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name in RAW_FILES:
        gz, plain = data_root / f"{name}.gz", data_root / name
        with (gzip.open(gz) if gz.exists() else open(plain, "rb")) as src, open(raw / name, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return into


class CifarItems(Dataset):
    """The images as torchvision's ``CIFAR10`` serves them: ``Image.fromarray`` of an HWC uint8 array, then the transform."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform):
        self.data = images.permute(0, 2, 3, 1).contiguous().numpy()
        self.targets = labels.tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int):
        return self.transform(Image.fromarray(self.data[index])), self.targets[index]


def example_data(dataset_name: str, dataset, tv_root: Path | None, pad: list):
    """The example's training set: torchvision's MNIST reader, or CIFAR-10's item path over the same images."""
    if dataset_name == "cifar10":
        norm = transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
        return CifarItems(dataset.train_x, dataset.train_y, transforms.Compose([transforms.ToTensor(), norm]))
    return datasets.MNIST(str(tv_root), train=True, download=False,
                          transform=transforms.Compose([*pad, transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))]))


def build(model_name: str, width: int, dataset, device: torch.device):
    torch.manual_seed(0)
    model = DCGAN(width=width) if model_name == "dcgan" else BiGAN()
    model.setup(dataset.info(), device)
    return model


def run_ganbench(model_name, width, dataset, device, steps, batch) -> float:
    model = build(model_name, width, dataset, device)
    with tempfile.TemporaryDirectory() as folder:
        trainer = Trainer(model, dataset, device, seed=0, log=lambda _: None, folder=Path(folder),
                          settings=TrainSettings(max_steps=steps, batch_size=batch, checkpoint_every=10**9))
        began = time.perf_counter()
        trainer.run()
        _sync(device)
        return steps * batch / (time.perf_counter() - began)


def run_example(model_name, width, dataset, device, steps, batch, tv_root: Path | None) -> float:
    model = build(model_name, width, dataset, device)
    if model_name == "dcgan":
        data = example_data(dataset.name, dataset, tv_root, [transforms.Pad(2)])
    else:
        data = datasets.MNIST(str(tv_root), train=True, download=False, transform=transforms.ToTensor())
    loader = DataLoader(data, batch_size=batch, shuffle=True, num_workers=2, drop_last=True)
    step = dcgan_example_step if model_name == "dcgan" else bigan_plain_step
    began = time.perf_counter()
    done = 0
    while done < steps:
        for x, y in loader:
            step(model, x.to(device), y.to(device))
            done += 1
            if done == steps:
                break
    _sync(device)
    return steps * batch / (time.perf_counter() - began)


CRITERION = nn.BCEWithLogitsLoss()


def dcgan_example_step(model: DCGAN, real: torch.Tensor, _labels) -> None:
    """One iteration of the PyTorch DCGAN example: D on real, D on fake, G; statistics read every step."""
    b = real.size(0)
    ones = torch.full((b,), 1.0, device=real.device)
    zeros = torch.full((b,), 0.0, device=real.device)
    model.d.zero_grad()
    out = model.d(real)
    err_real = CRITERION(out, ones)
    err_real.backward()
    d_x = torch.sigmoid(out).mean().item()
    fake = model.g(model.latent(b))
    out = model.d(fake.detach())
    err_fake = CRITERION(out, zeros)
    err_fake.backward()
    d_g_z1 = torch.sigmoid(out).mean().item()
    model.opt_d.step()
    model.g.zero_grad()
    out = model.d(fake)
    err_g = CRITERION(out, ones)
    err_g.backward()
    d_g_z2 = torch.sigmoid(out).mean().item()
    model.opt_g.step()
    _ = f"Loss_D: {(err_real + err_fake).item():.4f} Loss_G: {err_g.item():.4f} D(x): {d_x:.4f} D(G(z)): {d_g_z1:.4f} / {d_g_z2:.4f}"


def bigan_plain_step(model: BiGAN, real: torch.Tensor, labels: torch.Tensor) -> None:
    """The same BiGAN step on a DataLoader batch, its statistics read with .item() as a plain loop does."""
    stats = model.train_step(Batch(real, labels))
    _ = {k: float(v) for k, v in stats.items()}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=("dcgan", "bigan", "both"), default="both")
    parser.add_argument("--dataset", choices=("mnist", "cifar10"), default="mnist")
    parser.add_argument("--data-root", default=None, help="[../shared/data/mnist or ../shared/data/cifar-10]")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=None, help="steps per measurement [dcgan 40, bigan 300]")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    data_root = args.data_root or f"../shared/data/{'cifar-10' if args.dataset == 'cifar10' else 'mnist'}"
    dataset = load_dataset(args.dataset, data_root)
    models = ("dcgan", "bigan") if args.model == "both" else (args.model,)
    if args.dataset == "cifar10" and "bigan" in models:
        parser.error("bigan's MLPs are MNIST's (28x28 grey): use --model dcgan with --dataset cifar10")
    with tempfile.TemporaryDirectory() as tmp:
        tv_root = torchvision_root(Path(data_root), Path(tmp)) if args.dataset == "mnist" else None
        for name in models:
            steps = args.steps or (40 if name == "dcgan" else 300)
            ours, theirs = [], []
            for r in range(args.rounds):  # alternating, so drift hits both alike
                ours.append(run_ganbench(name, args.width, dataset, device, steps, args.batch))
                theirs.append(run_example(name, args.width, dataset, device, steps, args.batch, tv_root))
                print(f"{name} round {r + 1}: ganbench {ours[-1]:.0f} img/s, example {theirs[-1]:.0f} img/s", flush=True)
            record = {
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "model": name, "dataset": args.dataset,
                "width": args.width if name == "dcgan" else None, "batch": args.batch, "steps": steps,
                "device": str(device), "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine(),
                "threads": torch.get_num_threads(), "torch": torch.__version__,
                "ganbench_img_s": round(statistics.median(ours), 1), "example_img_s": round(statistics.median(theirs), 1),
                "ratio": round(statistics.median(ours) / statistics.median(theirs), 3),
                "rounds": {"ganbench": [round(v, 1) for v in ours], "example": [round(v, 1) for v in theirs]},
            }
            print(f"{name}: ganbench {record['ganbench_img_s']} img/s, example {record['example_img_s']} img/s, "
                  f"ratio {record['ratio']} ({device}, {record['threads']} threads); "
                  f"{len(dataset.train_y) / record['ganbench_img_s']:.0f} s per epoch of {len(dataset.train_y)} images")
            with open(HERE / "train_speed.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
