"""The plugin manager: built-in plugins, entry points, ``GANBENCH_LOAD_PLUGINS``.

Built-in plugins are listed in :data:`BUILTIN_PLUGINS` and go through the
same loading function as third-party plugins found through the ``ganbench``
entry-point group. ``GANBENCH_LOAD_PLUGINS=a,b`` loads only the installed
plugins named (an empty value loads none); built-ins always load.

Every plugin problem is reported the same way, as one line naming the plugin,
what failed, the error and the place in the plugin's own code::

    plugin 'x' failed to import: ImportError: no module named 'foo' (x/__init__.py:3)
    plugin 'x' register_probes failed: ValueError: ... (x/__init__.py:40)

(a :class:`PluginLoadWarning`; the CLI prints it as ``warning: ...``, and
with ``--debug`` or ``GANBENCH_DEBUG=1`` the traceback below it). A plugin
that fails to import or declares a misspelled hook is *broken* (not loaded);
a plugin one of whose hooks raised is *partly loaded* when another of its
hooks worked, else *broken*. The other plugins always load.

Nothing here imports torch: loading a plugin imports its module, and a
plugin whose specs name their factories as ``"module:attribute"`` strings
costs no more than that module's own imports.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import pluggy

from ganbench.api import hookspecs
from ganbench.system.errors import RegistryError
from ganbench.api.registry import KINDS, Registry

ENTRY_POINT_GROUP = "ganbench"

# (plugin name, registration module): registered exactly as an entry point
# would be. The name is the module's path under ganbench (what `ganbench list`
# and `ganbench plugins` show); each registration module imports no torch, so
# that --help and `list` start fast.
BUILTIN_PLUGINS = (
    ("builtin.datasets.mnist", "ganbench.builtin.datasets.mnist"),
    ("builtin.datasets.fashion_mnist", "ganbench.builtin.datasets.fashion_mnist"),
    ("builtin.datasets.cifar10", "ganbench.builtin.datasets.cifar10"),
    ("builtin.datasets.svhn", "ganbench.builtin.datasets.svhn"),
    ("builtin.datasets.lsun", "ganbench.builtin.datasets.lsun"),
    ("builtin.datasets.folder", "ganbench.builtin.datasets.folder"),
    ("cli.data", "ganbench.cli.data"),
    ("builtin.models.baselines", "ganbench.builtin.models.baselines"),
    ("builtin.models.dcgan", "ganbench.builtin.models.dcgan"),
    ("builtin.models.acgan", "ganbench.builtin.models.acgan"),
    ("builtin.models.bigan", "ganbench.builtin.models.bigan"),
    ("builtin.models.ortho", "ganbench.builtin.models.ortho"),
    ("builtin.models.features", "ganbench.builtin.models.features"),
    ("builtin.models.kmeans", "ganbench.builtin.models.kmeans"),
    ("builtin.probes.knn", "ganbench.builtin.probes.knn"),
    ("builtin.probes.svm", "ganbench.builtin.probes.svm"),
    ("builtin.probes.memorization", "ganbench.builtin.probes.memorization"),
    ("builtin.probes.memorization.dedup", "ganbench.builtin.probes.memorization.dedup"),
    ("builtin.probes.quality", "ganbench.builtin.probes.quality"),
    ("cli.export", "ganbench.cli.export"),
    ("jobs.executors.local", "ganbench.jobs.executors.local"),
    ("jobs.executors.ray_executor", "ganbench.jobs.executors.ray_executor"),
    ("recipes", "ganbench.recipes"),
    ("cli.reproduce", "ganbench.cli.reproduce"),
)

_GANBENCH_DIR = Path(__file__).resolve().parent
_PLUGGY_DIR = Path(pluggy.__file__).resolve().parent


@dataclass
class PluginInfo:
    """What ``ganbench plugins`` shows for one plugin.

    ``error`` is set when the plugin could not be loaded at all (import
    failed, unknown hook); ``failed_hooks`` maps each hook that raised to its
    error line. ``module`` is the plugin's import name, used to find the
    plugin's own code in a traceback.
    """

    name: str
    version: str
    builtin: bool
    hooks: list[str] = field(default_factory=list)
    error: str | None = None
    failed_hooks: dict[str, str] = field(default_factory=dict)
    module: str = ""

    @property
    def status(self) -> str:
        """``builtin`` / ``installed`` when healthy, else ``broken`` or ``partly loaded``."""
        if self.error is not None:
            return "broken"
        if self.failed_hooks:
            return "partly loaded" if set(self.hooks) - set(self.failed_hooks) else "broken"
        return "builtin" if self.builtin else "installed"


class PluginLoadWarning(UserWarning):
    """A plugin (or one of its hooks) failed; the other plugins were loaded.

    ``args[0]`` is the one-line report; :attr:`traceback` the full traceback
    text (shown with ``--debug`` / ``GANBENCH_DEBUG=1``), or ``""``.
    """

    def __init__(self, line: str, traceback_text: str = ""):
        super().__init__(line)
        self.traceback = traceback_text


pm = pluggy.PluginManager("ganbench")
pm.add_hookspecs(hookspecs)
_infos: dict[str, PluginInfo] = {}
_loaded = False
_registry: Registry | None = None
_commands_added: set[int] = set()
_debug = False


def set_debug(enabled: bool) -> None:
    """Show plugin tracebacks (the CLI's ``--debug``)."""
    global _debug
    _debug = enabled


def debug_enabled() -> bool:
    """``--debug`` was given, or ``GANBENCH_DEBUG`` is set to something other than 0/empty."""
    return _debug or os.environ.get("GANBENCH_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def _ganbench_version() -> str:
    from ganbench import __version__

    return __version__


# -- reporting ---------------------------------------------------------------
def _module_root(module: str) -> Path | None:
    """The file (single-module plugin) or folder (package) holding ``module``'s top-level package."""
    top = module.partition(":")[0].strip().split(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or spec.origin in ("built-in", "frozen"):
        return None
    origin = Path(spec.origin).resolve()
    return origin.parent if spec.submodule_search_locations else origin


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def plugin_location(exc: BaseException, module: str) -> str:
    """``file:line`` of the innermost traceback frame in the plugin's own code.

    The plugin's own code is its top-level module or package; failing that,
    the innermost frame outside ganbench, pluggy and the import machinery (a
    plugin's call into another library). Empty when there is none.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    root = None if module.startswith("ganbench.") else _module_root(module)
    if root is not None and root != _GANBENCH_DIR:
        own = [f for f in frames if not f.filename.startswith("<") and _is_within(Path(f.filename).resolve(), root)]
        if own:
            return _short(own[-1].filename, own[-1].lineno)
    if module.startswith("ganbench."):
        own = [f for f in frames if not f.filename.startswith("<") and _is_within(Path(f.filename).resolve(), _GANBENCH_DIR)
               and not f.filename.endswith(("plugins.py", "registry.py", "options.py"))]
        if own:
            return _short(own[-1].filename, own[-1].lineno)
    outside = [f for f in frames if not f.filename.startswith("<")
               and not _is_within(Path(f.filename).resolve(), _GANBENCH_DIR)
               and not _is_within(Path(f.filename).resolve(), _PLUGGY_DIR)
               and "importlib" not in Path(f.filename).parts]
    return _short(outside[-1].filename, outside[-1].lineno) if outside else ""


def _short(filename: str, lineno: int | None) -> str:
    """A path relative to the working directory when it lies below it."""
    path = Path(filename)
    try:
        path = path.resolve().relative_to(Path.cwd())
    except ValueError:
        pass
    return f"{path}:{lineno}"


def _report(info: PluginInfo, what: str, error: str, where: str, tb: str = "") -> str:
    """Warn with the one-line report and return its ``<what>: <error>`` part."""
    summary = f"{what}: {error}"
    line = f"plugin '{info.name}' {summary}" + (f" ({where})" if where else "")
    warnings.warn(PluginLoadWarning(line, tb), stacklevel=2)
    return summary + (f" ({where})" if where else "")


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip().replace("\n", " ")


def _report_exception(info: PluginInfo, what: str, exc: BaseException) -> str:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return _report(info, what, _describe(exc), plugin_location(exc, info.module), tb)


def _mark_broken(info: PluginInfo, what: str, exc: BaseException | None = None, error: str = "", where: str = "") -> None:
    info.error = _report_exception(info, what, exc) if exc is not None else _report(info, what, error, where)


def _mark_hook_failed(info: PluginInfo, hook: str, exc: BaseException) -> None:
    info.failed_hooks[hook] = _report_exception(info, f"{hook} failed", exc)


# -- loading -----------------------------------------------------------------
def _load_one(info: PluginInfo, load: Callable[[], Any]) -> None:
    """Import and register one plugin; on any failure record it as broken."""
    _infos[info.name] = info
    try:
        module = load()
    except Exception as exc:  # a third-party import may raise anything
        _mark_broken(info, "failed to import", exc)
        return
    if pm.is_registered(module):
        return
    unknown = _unknown_hooks(module)
    if unknown:
        name, function = unknown[0]
        where = _definition_line(function)
        _mark_broken(info, "has an unknown hook", error=_explain_unknown(name), where=where)
        return
    try:
        pm.register(module, name=info.name)
    except pluggy.PluginValidationError as exc:
        _mark_broken(info, "has an invalid hook", error=str(exc).replace("\n", " "), where=_module_file(module))
        return
    info.hooks = sorted(impl_name for impl_name, _ in _hooks_of(info.name))


def _unknown_hooks(module) -> list[tuple[str, Any]]:
    """``(name, function)`` of every ``@hookimpl`` in ``module`` that names no hook (a misspelling)."""
    marker = f"{pm.project_name}_impl"
    found = []
    for name in dir(module):
        function = getattr(module, name, None)
        if callable(function) and hasattr(function, marker) and not hasattr(hookspecs, name):
            found.append((name, function))
    return found


def _definition_line(function) -> str:
    """``file:line`` of ``function``'s ``def`` (its code starts at the first decorator)."""
    import linecache

    code = getattr(function, "__code__", None)
    if code is None:
        return ""
    line = code.co_firstlineno
    for offset in range(20):
        if linecache.getline(code.co_filename, line + offset).lstrip().startswith(("def ", "async def ")):
            return _short(code.co_filename, line + offset)
    return _short(code.co_filename, line)


def _explain_unknown(name: str) -> str:
    from ganbench.api.registry_names import suggest

    known = [n for n in dir(hookspecs) if n.startswith("register_")]
    return f"unknown hook '{name}'.{suggest(name, known)} Known hooks: {', '.join(known)}."


def _module_file(module) -> str:
    path = getattr(module, "__file__", None)
    return _short(path, 1) if path else ""


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
        info = PluginInfo(name, _ganbench_version(), True, module=module)
        _load_one(info, lambda m=module: importlib.import_module(m))
    allowed = _allowed_plugins()
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if allowed is not None and ep.name not in allowed:
            continue
        dist = getattr(ep, "dist", None)
        version = dist.version if dist is not None else "?"
        package = dist.name if dist is not None else ep.value
        _load_one(PluginInfo(ep.name, f"{package} {version}", False, module=ep.value), ep.load)


def plugin_infos() -> list[PluginInfo]:
    """Every plugin, built-ins first; its ``register_*`` hooks have been called."""
    get_registry()  # a register_* hook that raises shows only when it is called
    call_registration("register_recipes", lambda plugin, source: None)
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
    """Call one plugin's ``register_<kind>s``; a spec or option it cannot build refuses that hook only."""
    plugin = impl.plugin_name

    def register(spec):
        registry.add(kind, spec, plugin)

    try:
        impl.function(register=register)
    except RegistryError:
        raise
    except Exception as exc:
        info = _infos.get(plugin)
        if info is None:
            raise
        _mark_hook_failed(info, f"register_{kind}s", exc)


def call_registration(hook_name: str, register: Callable[[str, Any], None]) -> None:
    """Call every plugin's ``hook_name(register=...)`` (built-ins first); a hook that raises is
    reported like any plugin problem (``ganbench plugins`` shows it) and the others still run.
    ``register`` is called with the plugin's name first: ``register(plugin, thing)``."""
    load_plugins()
    for impl in getattr(pm.hook, hook_name).get_hookimpls():
        try:
            impl.function(register=lambda thing, plugin=impl.plugin_name: register(plugin, thing))
        except Exception as exc:
            info = _infos.get(impl.plugin_name)
            if info is None:
                raise
            _mark_hook_failed(info, hook_name, exc)


def add_commands(cli) -> None:
    """Let every plugin add CLI commands to ``cli`` (once per load of the plugins)."""
    load_plugins()
    if id(cli) in _commands_added:
        return
    _commands_added.add(id(cli))
    for impl in pm.hook.register_commands.get_hookimpls():
        try:
            impl.function(cli=cli)
        except Exception as exc:
            info = _infos.get(impl.plugin_name)
            if info is None:
                raise
            _mark_hook_failed(info, "register_commands", exc)


def reset_for_tests() -> None:
    """Forget every loaded plugin so a test can load them again under a new environment."""
    global _loaded, _registry
    for name in list(_infos):
        plugin = pm.get_plugin(name)
        if plugin is not None:
            pm.unregister(plugin)
    _infos.clear()
    _commands_added.clear()
    _loaded = False
    _registry = None
    for mod in [m for m in sys.modules if m.startswith("ganbench_test_plugin")]:
        del sys.modules[mod]
