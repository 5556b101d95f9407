"""Declared plugin options and their parsing from ``KEY=VALUE`` strings.

A plugin declares its options as :class:`Option` objects in its spec. The CLI
passes ``--model-opt width=32`` or ``--probe-opt knn.k=1,5`` through; values are
parsed and checked here, so a plugin's factory only ever sees valid, typed
values and a user sees one line naming the option and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from .errors import UsageError
from .registry_names import suggest

TYPES = ("int", "float", "str", "bool", "ints", "floats", "strs")
_EXAMPLES = {
    "int": "an integer, e.g. 32",
    "float": "a number, e.g. 0.5",
    "str": "a word",
    "bool": "true or false",
    "ints": "integers separated by commas, e.g. 1,5,20",
    "floats": "numbers separated by commas, e.g. 0.01,0.1,1",
    "strs": "words separated by commas, e.g. l2,cosine",
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Option:
    """One option a plugin accepts.

    ``type`` is one of ``int, float, str, bool`` or the list forms
    ``ints, floats, strs`` (comma-separated on the command line).
    ``choices`` restricts every value (each element for list types);
    ``minimum`` bounds numeric values from below.
    """

    name: str
    type: str
    default: Any
    help: str
    choices: Sequence[Any] | None = None
    minimum: float | None = None

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"option {self.name!r}: type must be one of {TYPES}, not {self.type!r}")

    def parse(self, text: str, owner: str) -> Any:
        """Parse ``text`` into this option's type, or raise a one-line UsageError."""
        items = [t.strip() for t in text.split(",")] if self.type.endswith("s") and self.type != "str" else [text.strip()]
        base = self.type.rstrip("s") if self.type in ("ints", "floats", "strs") else self.type
        try:
            values = [self._parse_one(item, base) for item in items]
        except ValueError:
            raise UsageError(
                f"Bad value {text!r} for option '{self.name}' of {owner}: expected {_EXAMPLES[self.type]}."
            ) from None
        for v in values:
            self._check(v, text, owner)
        return values if self.type in ("ints", "floats", "strs") else values[0]

    @staticmethod
    def _parse_one(item: str, base: str) -> Any:
        if item == "":
            raise ValueError(item)
        if base == "int":
            return int(item)
        if base == "float":
            return float(item)
        if base == "bool":
            low = item.lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            raise ValueError(item)
        return item

    def _check(self, value: Any, text: str, owner: str) -> None:
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(str(c) for c in self.choices)
            raise UsageError(f"Bad value {text!r} for option '{self.name}' of {owner}: expected one of {allowed}.")
        if self.minimum is not None and value < self.minimum:
            raise UsageError(f"Bad value {text!r} for option '{self.name}' of {owner}: must be at least {self.minimum}.")


def resolve_options(declared: Sequence[Option], given: dict[str, str], owner: str) -> dict[str, Any]:
    """Defaults overridden by the user's ``given`` strings, every name and value checked."""
    by_name = {o.name: o for o in declared}
    resolved = {o.name: o.default for o in declared}
    for key, text in given.items():
        if key not in by_name:
            hint = suggest(key, list(by_name))
            known = ", ".join(sorted(by_name)) or "none"
            raise UsageError(f"Unknown option '{key}' for {owner}.{hint} Options: {known}.")
        resolved[key] = by_name[key].parse(text, owner)
    return resolved


def split_assignments(pairs: Sequence[str], flag: str) -> list[tuple[str, str]]:
    """``["k=1,5", "metric=l2"]`` -> ``[("k", "1,5"), ("metric", "l2")]``."""
    out = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"Bad {flag} {pair!r}: expected KEY=VALUE, e.g. {flag} width=32.")
        out.append((key.strip(), value))
    return out

