"""The command line: one module per command; nothing outside this folder imports it.

``ganbench.cli.cli`` (the click group, for ``CliRunner``) and ``ganbench.cli.main`` (the console
script) are the names plugin tests and the entry point use.
"""

from __future__ import annotations

import importlib
import warnings

from ganbench.cli.app import cli
from ganbench.cli.app import main

__all__ = ['cli', 'main']


def __getattr__(name: str):
    module = importlib.import_module("ganbench.cli.app")
    if name.startswith("__") or not hasattr(module, name):
        raise AttributeError(f"module 'ganbench.cli' has no attribute {name!r}")
    warnings.warn(f"ganbench.cli.{name} is deprecated: use ganbench.cli.app.{name}", DeprecationWarning, stacklevel=2)
    return getattr(module, name)
