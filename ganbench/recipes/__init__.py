"""The built-in recipes (``ganbench/recipes/*.toml``) (the ``ganbench reproduce`` command is :mod:`ganbench.cli.reproduce`).

Registered through the ``register_recipes`` hook exactly as a third-party
package registers its own; nothing here imports torch.
"""

from __future__ import annotations

from importlib import resources

from ganbench import hookimpl


@hookimpl
def register_recipes(register):
    for source in sorted(resources.files(__name__).iterdir(), key=lambda p: p.name):
        if source.name.endswith(".toml"):
            register(source)
