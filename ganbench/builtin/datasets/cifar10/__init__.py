"""Registration of ``cifar10`` (implementation: :mod:`ganbench.builtin.datasets.cifar10.loader`)."""

from __future__ import annotations

from ganbench import hookimpl
from ganbench.api.options import Option
from ganbench.api.registry import DatasetSpec

IMPLEMENTATION = "ganbench.builtin.datasets.cifar10.loader"


@hookimpl
def register_datasets(register):
    register(DatasetSpec(
        "cifar10", f"{IMPLEMENTATION}:load_cifar10",
        "CIFAR-10, 50,000 + 10,000 32x32 colour images, official binary or python batches under --data-root",
        options=[Option("format", "str", "auto", "which copy to read: bin, py, or auto (bin when present)",
                        choices=("auto", "bin", "py"))],
        locate=f"{IMPLEMENTATION}:locate_cifar10", download=f"{IMPLEMENTATION}:download_cifar10",
    ))
