"""The layers hold (import-linter's contracts in pyproject.toml, docs/architecture.md), and the page that maps them is there."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: import-linter's own dependency
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
CONTRACTS = {c["id"]: c for c in CONFIG["contracts"]}
PLUGIN_FOLDERS = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())


def test_the_contracts_of_issue_26_are_there():
    assert {"layers", "core-no-implementations", "implementations-below-orchestration", "implementations-independent",
            "plugins-public-api", "fast-start"} <= set(CONTRACTS)
    assert set(CONFIG["root_packages"]) >= {"ganbench", "ganbench_centroid", "ganbench_wgan_gp", "ganbench_augment"}


def test_lint_imports_keeps_every_contract():
    """What CI runs: import-linter on this checkout (the plugin packages found by path, installed or not)."""
    env = dict(os.environ)
    paths = [str(ROOT)] + [str(p) for p in PLUGIN_FOLDERS] + [env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


def _imports_of(path: Path, module: str):
    """``(imported module, inside a function?)`` of every import statement in ``path`` (``module``'s file)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text())

    def walk(node, in_function):
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, inside
            elif isinstance(child, ast.ImportFrom):
                base = package
                for _ in range(max(child.level - 1, 0)):
                    base = base.rpartition(".")[0]
                source = (f"{base}.{child.module}" if child.module else base) if child.level else child.module
                yield source, inside
                for alias in child.names:
                    yield f"{source}.{alias.name}", inside
            yield from walk(child, inside)

    yield from walk(tree, False)


@pytest.mark.parametrize("ignored", CONTRACTS["fast-start"]["ignore_imports"])
def test_fast_start_exceptions_are_imports_inside_functions(ignored):
    """The fast-start contract lets the start-up modules reach torch only through these imports:
    each must run when a command runs, never when the module loads."""
    importer, _, imported = (part.strip() for part in ignored.partition("->"))
    path = ROOT / Path(*importer.split("."))
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    found = [inside for name, inside in _imports_of(path, importer) if name == imported or name.startswith(imported + ".")]
    assert found, f"{importer} no longer imports {imported}: drop it from the contract's ignore_imports"
    assert all(found), f"{importer} imports {imported} at module level: `ganbench --help` would import torch"


def test_every_built_in_implementation_is_kept_from_the_core(fresh_plugins):
    """A built-in spec's ``module:attribute`` names an implementation: the core may not import it, and
    a dataset implementation is independent of the others (a new built-in dataset module joins both lists)."""
    forbidden = set(CONTRACTS["core-no-implementations"]["forbidden_modules"])
    independent = set(CONTRACTS["implementations-independent"]["modules"])
    registry = fresh_plugins.get_registry()
    named = set()
    for kind, attributes in (("model", ["factory"]), ("probe", ["factory"]), ("dataset", ["loader", "locate", "download"])):
        for spec in registry.all(kind):
            for attribute in attributes:
                reference = getattr(getattr(spec, attribute), "reference", "")
                if reference.startswith("ganbench."):
                    named.add(reference.partition(":")[0])
    assert any(m.startswith("ganbench.datasets.") for m in named) and any(m.startswith("ganbench.models.") for m in named)
    for module in named:
        package = ".".join(module.split(".")[:2])
        covering = package if package in ("ganbench.models", "ganbench.probes") else module
        assert covering in forbidden and covering in independent, module


def test_no_module_is_over_520_lines():
    """Issue 26's bound, and run.py (the job flow) under 300."""
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "ganbench").rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 520}
    assert not long
    assert len((ROOT / "ganbench" / "run.py").read_text().splitlines()) < 300


def test_architecture_page_names_every_contract_and_is_linked():
    page = (ROOT / "docs" / "architecture.md").read_text()
    for contract_id in CONTRACTS:
        assert f"`{contract_id}`" in page, contract_id
    assert "](docs/architecture.md)" in (ROOT / "README.md").read_text()
    assert "](architecture.md)" in (ROOT / "docs" / "plugins.md").read_text()
