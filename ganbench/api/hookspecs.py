"""Every hook ganbench calls, in one place.

A plugin is a module (or any object) with functions named like these hooks
and decorated with ``@ganbench.hookimpl``. A function decorated with
``hookimpl`` whose name is not listed here is rejected when the plugin loads
(``PluginManager.check_pending``), so a misspelled hook never fails silently.

Each ``register_*`` hook receives a ``register`` callback. Call it once per
thing the plugin provides; the core records which plugin registered what so
that name clashes and broken plugins can be reported by plugin name.

The ``register_*`` hooks run on every command, ``--help`` and ``list``
included: keep them cheap by giving factories as ``"module:attribute"``
strings (imported when first used). A hook that raises is reported in one
line naming the plugin and the line of its code that raised; the plugin is
shown ``partly loaded`` (another of its hooks worked) or ``broken``. The
author's guide, docs/plugins.md, documents every spec and protocol.
"""

import pluggy

hookspec = pluggy.HookspecMarker("ganbench")
hookimpl = pluggy.HookimplMarker("ganbench")


@hookspec
def register_models(register):
    """Add model plugins.

    Called once, when the registry is first built. Call
    ``register(ModelSpec(...))`` for each model: its name, a factory that
    takes the parsed options as keyword arguments and returns a
    :class:`ganbench.Model`, a description, a version, its declared options,
    its capabilities (``features``, ``generator``, ``encoder``,
    ``conditional``), whether it trains on labels, and its category (``gan``,
    ``generative`` or ``baseline``: what the leaderboard takes it for).
    """


@hookspec
def register_probes(register):
    """Add probe plugins.

    Called once, when the registry is first built. Call
    ``register(ProbeSpec(...))`` for each probe: its name, a factory that
    takes the parsed options and returns a :class:`ganbench.Probe`, a
    description, a version, its declared options and what it requires from a
    model (a subset of ``features``, ``generator``).
    """


@hookspec
def register_datasets(register):
    """Add datasets.

    Called once, when the registry is first built. Call
    ``register(DatasetSpec(...))`` for each dataset. A spec name may carry
    one ``{argument}`` placeholder (``lsun-{category}``, ``folder:{path}``):
    the part of the user's name that fills it is passed to the loader.
    """


@hookspec
def register_executors(register):
    """Add job executors.

    Called once, when the registry is first built. Call
    ``register(ExecutorSpec(...))`` for each executor: a name and a factory
    returning an object with ``run(jobs, on_rows)`` that runs every
    :class:`ganbench.Job` and hands each finished job's rows to ``on_rows``
    on the calling machine.
    """


@hookspec
def register_recipes(register):
    """Add recipes: published tables that ``ganbench reproduce NAME`` runs and prints.

    Called by ``ganbench reproduce`` (and ``ganbench plugins``, to report a
    hook that raises), not at start-up. Call ``register(source)`` for each recipe file: a path (``str``
    or ``pathlib.Path``) or an ``importlib.resources`` file, e.g.
    ``register(importlib.resources.files("mypkg") / "recipes" / "my-table.toml")``.
    The file is read (TOML) when registered; the models, probes, datasets,
    views and published figures it names are checked when the recipe is used,
    so a recipe of a model that is not installed is listed and refused in one
    line when run. The format is in docs/plugins.md (*Recipes*).
    """


@hookspec
def register_commands(cli):
    """Add CLI commands.

    Called once when the ``ganbench`` command starts, with the root
    ``click.Group``; add subcommands with ``@cli.command()``.
    """
