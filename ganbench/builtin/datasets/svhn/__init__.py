"""Registration of ``svhn`` (implementation: :mod:`ganbench.builtin.datasets.svhn.loader`)."""

from __future__ import annotations

from ganbench import hookimpl
from ganbench.api.options import Option
from ganbench.api.registry import DatasetSpec

IMPLEMENTATION = "ganbench.builtin.datasets.svhn.loader"


@hookimpl
def register_datasets(register):
    register(DatasetSpec(
        "svhn", f"{IMPLEMENTATION}:load_svhn",
        "SVHN cropped digits, 73,257 + 26,032 32x32 colour images (optionally +531,131 extra), official .mat files "
        "under --data-root",
        options=[Option("extra", "bool", False, "append extra_32x32.mat (531,131 images) to the training split")],
        locate=f"{IMPLEMENTATION}:locate_svhn", download=f"{IMPLEMENTATION}:download_svhn",
    ))
