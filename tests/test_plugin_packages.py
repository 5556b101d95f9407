"""The packages under plugins/ use nothing of ganbench but its public API (``ganbench.__all__``)."""

import ast
from pathlib import Path

import pytest

import ganbench

PLUGINS = Path(__file__).resolve().parent.parent / "plugins"
SOURCES = sorted(p for p in PLUGINS.glob("*/**/*.py") if "tests" not in p.parts)


def ganbench_names(tree: ast.AST) -> set[str]:
    """Every ``ganbench.X`` attribute and every name imported from a ganbench module (dotted when private)."""
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ganbench":
            used.add(node.attr)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "ganbench":
            used |= {a.name if node.module == "ganbench" else f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            used |= {a.name for a in node.names if a.name.startswith("ganbench.")}
    return used


def test_there_are_plugin_packages():
    assert {p.parts[len(PLUGINS.parts)] for p in SOURCES} >= {"ganbench-centroid", "ganbench-wgan-gp", "ganbench-augment"}


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: str(p.relative_to(PLUGINS)))
def test_plugin_uses_only_the_public_api(source):
    private = ganbench_names(ast.parse(source.read_text())) - set(ganbench.__all__) - {"__all__"}
    assert not private, f"{source} uses {sorted(private)}, not in ganbench.__all__"


def test_the_check_sees_private_imports():
    tree = ast.parse("import ganbench.api.splits\nfrom ganbench.builtin.models.dcgan.nets import Critic\nganbench.training.Trainer\n")
    assert ganbench_names(tree) - set(ganbench.__all__) == {"ganbench.api.splits", "ganbench.builtin.models.dcgan.nets.Critic", "training"}
