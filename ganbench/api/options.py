"""Declared plugin options and their parsing from ``KEY=VALUE`` strings.

A plugin declares its options as :class:`Option` objects in its spec. The CLI
passes ``--model-opt width=32`` or ``--probe-opt knn.k=1,5`` through; values are
parsed and checked here, so a plugin's factory only ever sees valid, typed
values and a user sees one line naming the option and what was expected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from ganbench.system.errors import UsageError
from ganbench.api.registry_names import suggest

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
    ``minimum`` and ``maximum`` bound numeric values, inclusive unless
    ``exclusive_minimum`` / ``exclusive_maximum`` is set (``lr > 0``:
    ``minimum=0.0, exclusive_minimum=True``). Float values are always
    finite: ``nan`` and ``inf`` are refused.

    The default is checked when the option is declared (type, choices,
    range); a bad one raises ``ValueError`` naming the option.
    """

    name: str
    type: str
    default: Any
    help: str
    choices: Sequence[Any] | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"option {self.name!r}: type must be one of {TYPES}, not {self.type!r}")
        problem = self._default_problem()
        if problem:
            raise ValueError(f"option {self.name!r}: default {self.default!r} {problem}")

    @property
    def is_list(self) -> bool:
        return self.type in ("ints", "floats", "strs")

    @property
    def base_type(self) -> str:
        return self.type[:-1] if self.is_list else self.type

    def _default_problem(self) -> str | None:
        """Why the declared default is not a valid value of this option (``None`` when it is)."""
        if self.is_list:
            if not isinstance(self.default, (list, tuple)):
                return f"is not a list ({self.type})"
            values = list(self.default)
        else:
            values = [self.default]
        python_types = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}[self.base_type]
        for value in values:
            if not isinstance(value, python_types) or (self.base_type != "bool" and isinstance(value, bool)):
                return f"is not of type {self.type}"
            problem = self.problem(value)
            if problem:
                return problem
        return None

    def range_text(self) -> str:
        """The allowed range in words, e.g. ``> 0 and < 1`` ('' when unbounded)."""
        parts = []
        if self.minimum is not None:
            parts.append(f"{'>' if self.exclusive_minimum else '>='} {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"{'<' if self.exclusive_maximum else '<='} {self.maximum:g}")
        return " and ".join(parts)

    def problem(self, value: Any) -> str | None:
        """What is wrong with one parsed value (``None`` when it is allowed)."""
        if isinstance(value, float) and not math.isfinite(value):
            return "is not a finite number"
        if self.choices is not None and value not in self.choices:
            return "is not one of " + ", ".join(str(c) for c in self.choices)
        if self.base_type in ("int", "float"):
            low = self.minimum is not None and (value <= self.minimum if self.exclusive_minimum else value < self.minimum)
            high = self.maximum is not None and (value >= self.maximum if self.exclusive_maximum else value > self.maximum)
            if low or high:
                return f"is out of range: must be {self.range_text()}"
        return None

    def parse(self, text: str, owner: str) -> Any:
        """Parse ``text`` into this option's type, or raise a one-line UsageError."""
        items = [t.strip() for t in text.split(",")] if self.is_list else [text.strip()]
        try:
            values = [self._parse_one(item, self.base_type) for item in items]
        except ValueError:
            raise UsageError(
                f"Bad value {_shown(text)} for option '{self.name}' of {owner}: expected {_EXAMPLES[self.type]}."
            ) from None
        for v in values:
            self._check(v, text, owner)
        return values if self.is_list else values[0]

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
        bad = f"Bad value {_shown(text)} for option '{self.name}' of {owner}"
        if isinstance(value, float) and not math.isfinite(value):
            raise UsageError(f"{bad}: expected a finite number, e.g. {self.default if not self.is_list else 0.5}.")
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(str(c) for c in self.choices)
            raise UsageError(f"{bad}: expected one of {allowed}.")
        if self.problem(value):
            if self.minimum is not None and not self.exclusive_minimum and value < self.minimum:
                raise UsageError(f"{bad}: must be at least {self.minimum}.")
            raise UsageError(f"{bad}: must be {self.range_text()}.")


def _shown(text: str, limit: int = 60) -> str:
    """``text`` quoted on one line, cut to ``limit`` characters (a value may be huge)."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def resolve_options(declared: Sequence[Option], given: dict[str, str], owner: str) -> dict[str, Any]:
    """Defaults overridden by the user's ``given`` strings, every name and value checked."""
    by_name = {o.name: o for o in declared}
    resolved = {o.name: o.default for o in declared}
    for key, text in given.items():
        if key not in by_name:
            hint = suggest(key, list(by_name))
            known = ", ".join(sorted(by_name)) or "none"
            raise UsageError(f"Unknown option {_shown(key)} for {owner}.{hint} Options: {known}.")
        resolved[key] = by_name[key].parse(text, owner)
    return resolved


def split_assignments(pairs: Sequence[str], flag: str) -> list[tuple[str, str]]:
    """``["k=1,5", "metric=l2"]`` -> ``[("k", "1,5"), ("metric", "l2")]``.

    A key given twice with two values is refused, naming both (which one was meant?); twice with one value
    is the same option once."""
    out, seen = [], {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"Bad {flag} {_shown(pair)}: expected KEY=VALUE, e.g. {flag} width=32.")
        key = key.strip()
        check_repeated(seen, key, value, flag)
        out.append((key, value))
    return out


def check_repeated(seen: dict[str, str], key: str, value: str, flag: str, shown_key: str | None = None) -> None:
    """Record ``key=value`` in ``seen``; UsageError when ``key`` was given before with another value."""
    if key in seen and seen[key] != value:
        name = shown_key or key
        name = name if name.isprintable() else _shown(name, 40)  # a line break in a key never splits the line
        raise UsageError(f"{flag} {name} is given twice, as {_shown(seen[key], 40)} and {_shown(value, 40)}; "
                         f"give it once.")
    seen[key] = value

