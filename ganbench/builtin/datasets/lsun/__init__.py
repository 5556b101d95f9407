"""Registration of ``lsun-{category}`` (implementation: :mod:`ganbench.builtin.datasets.lsun.loader`)."""

from __future__ import annotations

from ganbench import hookimpl
from ganbench.api.options import Option
from ganbench.api.registry import DatasetSpec

IMPLEMENTATION = "ganbench.builtin.datasets.lsun.loader"


@hookimpl
def register_datasets(register):
    register(DatasetSpec(
        "lsun-{category}", f"{IMPLEMENTATION}:load_lsun",
        "LSUN scenes (e.g. lsun-bedroom), official LMDB databases under --data-root, center-cropped to 64x64 as DCGAN",
        options=[
            Option("size", "int", 64, "image side after DCGAN's resize + center crop", minimum=8),
            Option("limit", "int", 0, "read only the first N training images in key order (0 = all)", minimum=0),
            Option("test", "str", "holdout", "test split: holdout (every holdout_every-th training image) or val "
                   "(the official validation database)", choices=("holdout", "val")),
            Option("holdout_every", "int", 100, "with test=holdout, every N-th image is a test image", minimum=2),
        ],
        locate=f"{IMPLEMENTATION}:locate_lsun", download=f"{IMPLEMENTATION}:download_lsun",
    ))
