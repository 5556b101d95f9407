"""Every registered recipe, by name: built-in ones and those of installed plugins."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ganbench.system.errors import UsageError
from ganbench.recipes.recipe import Recipe, check, read


@dataclass
class Entry:
    """A registered recipe file: parsed (``recipe``) or not (``error``, one line)."""

    plugin: str
    source: str
    recipe: Recipe | None = None
    error: str = ""

    @property
    def name(self) -> str:
        return self.recipe.name if self.recipe else Path(self.source).stem


def entries() -> list[Entry]:
    """Every recipe that plugins registered, in registration order (built-ins first)."""
    from ganbench.plugins import call_registration

    found: list[Entry] = []

    def register(plugin, source):
        try:
            found.append(Entry(plugin, str(source), read(source, plugin)))
        except UsageError as exc:
            found.append(Entry(plugin, str(source), error=str(exc)))

    call_registration("register_recipes", register)
    return found


def find(name: str) -> Recipe:
    """The recipe called ``name`` (or in the file ``name``), checked against the installed plugins and
    ``references.csv``; one-line UsageError when it is unknown, malformed or names something unknown."""
    from ganbench.reports.leaderboard import load_references
    from ganbench.plugins import get_registry

    if name.endswith(".toml"):
        recipe = read(name)
    else:
        known = entries()
        matches = [e for e in known if e.name == name]
        if not matches:
            from ganbench.api.registry_names import suggest

            names = sorted({e.name for e in known})
            raise UsageError(f"Unknown recipe '{name}'.{suggest(name, names)} Available: {', '.join(names) or 'none'} "
                             f"(`ganbench reproduce list`), or give a recipe file (NAME.toml).")
        if len(matches) > 1:
            raise UsageError(f"The recipe name '{name}' is registered by two plugins: "
                             f"'{matches[0].plugin}' and '{matches[1].plugin}'. Uninstall one, or restrict loading "
                             f"with GANBENCH_LOAD_PLUGINS.")
        if matches[0].error:
            raise UsageError(matches[0].error)
        recipe = matches[0].recipe
    check(recipe, get_registry(), load_references())
    return recipe
