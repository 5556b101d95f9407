"""The result store: rows and their schema, the JSON-lines file, job keys, predictions, feature files,
and the guard that keeps every other writer out of a store.

``ganbench.store.load_results`` (the stored rows as a DataFrame) is the name plugin tests use; the
store's other functions live in :mod:`.jsonl`, and the old ``ganbench.store.<name>`` spelling of each
still works with a DeprecationWarning.
"""

from __future__ import annotations

import importlib
import warnings

from ganbench.store.jsonl import load_results

__all__ = ['load_results']


def __getattr__(name: str):
    module = importlib.import_module("ganbench.store.jsonl")
    if name.startswith("__") or not hasattr(module, name):
        raise AttributeError(f"module 'ganbench.store' has no attribute {name!r}")
    warnings.warn(f"ganbench.store.{name} is deprecated: use ganbench.store.jsonl.{name}", DeprecationWarning, stacklevel=2)
    return getattr(module, name)
