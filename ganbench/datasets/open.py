"""Opening a dataset by name: the one way every command turns ``--dataset NAME --dataset-opt ...`` into a
:class:`ganbench.api.data.Dataset` (``run``, ``sweep``, ``show``, ``dedup``, ``data check``).

It sits in the datasets layer, below the orchestrator, so that a command or a probe (``ganbench dedup``)
opens a dataset without importing :mod:`ganbench.jobs.run`. It imports no torch itself; the loader it calls does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganbench.system.errors import UsageError
from ganbench.api.options import resolve_options
from ganbench.plugins import get_registry
from ganbench.datasets.cache import decode_cache_in

if TYPE_CHECKING:
    from ganbench.api.data import Dataset


def resolve_dataset(name: str, given: dict[str, str]) -> tuple[Any, str | None, dict]:
    """``(spec, argument, options)`` of a dataset name and its option strings; UsageError on a bad one.

    ``argument`` is the name's variable part (``bedroom`` of ``lsun-bedroom``, the path of ``folder:PATH``).
    """
    spec, argument = dataset_spec(name)
    return spec, argument, resolve_options(spec.options, given, f"dataset '{name}'")


def dataset_spec(name: str) -> tuple[Any, str | None]:
    """``(spec, argument)`` of a dataset name; a name that lacks its ``{placeholder}`` part is a UsageError."""
    spec = get_registry().get("dataset", name)
    argument = spec.match(name)
    if "{" in spec.name and argument is None:
        example = spec.name.replace("{", "").replace("}", "")
        raise UsageError(f"Dataset '{name}' needs its {spec.name[spec.name.index('{'):]} part, e.g. {example}.")
    return spec, argument


def open_dataset(spec, argument: str | None, options: dict, data_root: str | None,
                 cache_dir: str | None = None) -> Dataset:
    """The dataset as every command loads it; decoded datasets are cached under ``cache_dir``
    when given (the run's ``--cache-dir``), else in the default cache (:mod:`.cache`)."""
    if cache_dir is None:
        return spec.loader(data_root, argument, **options)
    with decode_cache_in(Path(cache_dir)):
        return spec.loader(data_root, argument, **options)


def load_dataset(name: str, root=None, options: dict[str, str] | None = None):
    """The dataset called ``name`` (``lsun-bedroom``, ``folder:imgs``) with its options checked
    (public as ``ganbench.load_dataset``)."""
    return open_dataset(*resolve_dataset(name, options or {}), root)
