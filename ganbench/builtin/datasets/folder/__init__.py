"""Registration of ``folder:{path}`` (implementation: :mod:`ganbench.builtin.datasets.folder.loader`)."""

from __future__ import annotations

from ganbench import hookimpl
from ganbench.api.options import Option
from ganbench.api.registry import DatasetSpec

IMPLEMENTATION = "ganbench.builtin.datasets.folder.loader"


@hookimpl
def register_datasets(register):
    register(DatasetSpec(
        "folder:{path}", f"{IMPLEMENTATION}:load_folder",
        "your images: <path>/train/<class>/* and <path>/test/<class>/* (PNG, JPEG, ...), one class per sub-folder",
        options=[Option("size", "int", 0, "bring every image to NxN (scale + center crop); 0 = keep, all must match",
                        minimum=0)],
        locate=f"{IMPLEMENTATION}:locate_folder",
    ))
