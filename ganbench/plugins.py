"""The plugin manager: built-in plugins, entry points, ``GANBENCH_LOAD_PLUGINS``.

Built-in plugins are listed in :data:`BUILTIN_PLUGINS` and go through the
same loading function as third-party plugins found through the ``ganbench``
entry-point group. ``GANBENCH_LOAD_PLUGINS=a,b`` loads only the installed
plugins named (an empty value loads none); built-ins always load.

A plugin that fails to import, declares a misspelled hook, or raises inside a
``register_*`` hook is recorded as broken, reported as a warning naming the
package and the error, and the other plugins still load.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable

import pluggy

from . import hookspecs
from .errors import RegistryError
from .registry import KINDS, Registry

ENTRY_POINT_GROUP = "ganbench"

# (plugin name, module): registered exactly as an entry point would be.
BUILTIN_PLUGINS = (
    ("ganbench.datasets.mnist", "ganbench.datasets.mnist"),
    ("ganbench.datasets.fashion_mnist", "ganbench.datasets.fashion_mnist"),
    ("ganbench.datasets.cifar10", "ganbench.datasets.cifar10"),
    ("ganbench.datasets.svhn", "ganbench.datasets.svhn"),
    ("ganbench.datasets.lsun", "ganbench.datasets.lsun"),
    ("ganbench.datasets.folder", "ganbench.datasets.folder"),
    ("ganbench.datasets.commands", "ganbench.datasets.commands"),
    ("ganbench.models.baselines", "ganbench.models.baselines"),
    ("ganbench.models.dcgan", "ganbench.models.dcgan"),
    ("ganbench.models.acgan", "ganbench.models.acgan"),
    ("ganbench.models.bigan", "ganbench.models.bigan"),
    ("ganbench.models.ortho", "ganbench.models.ortho"),
    ("ganbench.probes.knn", "ganbench.probes.knn"),
    ("ganbench.probes.svm", "ganbench.probes.svm"),
    ("ganbench.probes.memorization", "ganbench.probes.memorization"),
    ("ganbench.probes.quality", "ganbench.probes.quality"),
    ("ganbench.executors.local", "ganbench.executors.local"),
    ("ganbench.executors.ray_executor", "ganbench.executors.ray_executor"),
)


@dataclass
class PluginInfo:
    """What ``ganbench plugins`` shows for one plugin."""

    name: str
    version: str
    builtin: bool
    hooks: list[str] = field(default_factory=list)
    error: str | None = None


class PluginLoadWarning(UserWarning):
    """A plugin could not be loaded; the others were."""


pm = pluggy.PluginManager("ganbench")
pm.add_hookspecs(hookspecs)
_infos: dict[str, PluginInfo] = {}
_loaded = False
_registry: Registry | None = None


def _ganbench_version() -> str:
    from . import __version__

    return __version__


def _mark_broken(info: PluginInfo, error: str) -> None:
    info.error = error
    warnings.warn(f"ganbench plugin '{info.name}' was not loaded: {error}", PluginLoadWarning, stacklevel=3)


def _load_one(info: PluginInfo, load: Callable[[], Any]) -> None:
    """Import and register one plugin; on any failure record it as broken."""
    _infos[info.name] = info
    try:
        module = load()
    except Exception as exc:  # a third-party import may raise anything
        _mark_broken(info, f"import failed: {type(exc).__name__}: {exc}")
        return
    if pm.is_registered(module):
        return
    try:
        pm.register(module, name=info.name)
    except pluggy.PluginValidationError as exc:
        _mark_broken(info, str(exc))
        return
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        pm.unregister(module)
        _mark_broken(info, _explain_pending(exc))
        return
    info.hooks = sorted(impl_name for impl_name, _ in _hooks_of(info.name))


def _explain_pending(exc: pluggy.PluginValidationError) -> str:
    from .registry_names import suggest

    text = str(exc)
    known = [n for n in dir(hookspecs) if n.startswith("register_")]
    for word in text.replace("'", " ").split():
        if word.startswith("register") and word not in known:
            return f"unknown hook '{word}'.{suggest(word, known)} Known hooks: {', '.join(known)}."
    return text


def _hooks_of(plugin_name: str):
    plugin = pm.get_plugin(plugin_name)
    for caller in pm.get_hookcallers(plugin) or []:
        yield caller.name, plugin


def _allowed_plugins() -> set[str] | None:
    value = os.environ.get("GANBENCH_LOAD_PLUGINS")
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def load_plugins() -> None:
    """Load built-in plugins, then installed ones (once per process)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name, module in BUILTIN_PLUGINS:
        _load_one(PluginInfo(name, _ganbench_version(), True), lambda m=module: importlib.import_module(m))
    allowed = _allowed_plugins()
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if allowed is not None and ep.name not in allowed:
            continue
        dist = getattr(ep, "dist", None)
        version = dist.version if dist is not None else "?"
        package = dist.name if dist is not None else ep.value
        _load_one(PluginInfo(ep.name, f"{package} {version}", False), ep.load)


def plugin_infos() -> list[PluginInfo]:
    load_plugins()
    return sorted(_infos.values(), key=lambda i: (not i.builtin, i.name))


def get_registry() -> Registry:
    """The registry built from every loaded plugin's ``register_*`` hooks."""
    global _registry
    if _registry is not None:
        return _registry
    load_plugins()
    registry = Registry()
    for kind in KINDS:
        hook = getattr(pm.hook, f"register_{kind}s")
        for impl in hook.get_hookimpls():  # registration order: built-ins first
            _call_register(registry, kind, impl)
    _registry = registry
    return registry


def _call_register(registry: Registry, kind: str, impl) -> None:
    plugin = impl.plugin_name

    def register(spec):
        registry.add(kind, spec, plugin)

    try:
        impl.function(register=register)
    except RegistryError:
        raise
    except Exception as exc:
        info = _infos.get(plugin)
        if info is not None:
            _mark_broken(info, f"register_{kind}s raised {type(exc).__name__}: {exc}")
        else:
            raise


def add_commands(cli) -> None:
    """Let every plugin add CLI commands."""
    load_plugins()
    for impl in pm.hook.register_commands.get_hookimpls():
        try:
            impl.function(cli=cli)
        except Exception as exc:
            info = _infos.get(impl.plugin_name)
            if info is None:
                raise
            _mark_broken(info, f"register_commands raised {type(exc).__name__}: {exc}")


def reset_for_tests() -> None:
    """Forget every loaded plugin so a test can load them again under a new environment."""
    global _loaded, _registry
    for name in list(_infos):
        plugin = pm.get_plugin(name)
        if plugin is not None:
            pm.unregister(plugin)
    _infos.clear()
    _loaded = False
    _registry = None
    for mod in [m for m in sys.modules if m.startswith("ganbench_test_plugin")]:
        del sys.modules[mod]
