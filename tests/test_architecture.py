"""The parts hold (import-linter's contracts in pyproject.toml), every module is inside them, and docs/architecture.md names them all."""

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


PACKAGE = ROOT / "ganbench"
PAGE = (ROOT / "docs" / "architecture.md").read_text()
PARTS = CONTRACTS["layers"]["layers"]


def _modules():
    """Every module of the package, as (dotted name, path)."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def test_the_contracts_are_there():
    assert {"layers", "core-no-builtin", "builtin-kinds-independent", "root-is-the-public-api", "plugins-public-api",
            "fast-start", "fast-start-specs"} <= set(CONTRACTS)
    assert set(CONFIG["root_packages"]) >= {"ganbench", "ganbench_centroid", "ganbench_wgan_gp", "ganbench_augment"}


def test_ls_ganbench_is_the_architecture():
    """At most 12 entries, each a part the layers contract orders and the architecture page names."""
    entries = sorted(p.name for p in PACKAGE.iterdir() if p.name != "__pycache__")
    assert len(entries) <= 12, entries
    for entry in entries:
        name = entry.removesuffix(".py")
        assert name == "__init__" or name in PARTS, f"ganbench/{entry} is in no layer of the layers contract"
        assert f"`{entry if entry.endswith('.py') else entry + '/'}`" in PAGE, f"docs/architecture.md does not name {entry}"


def test_every_module_is_inside_a_contract():
    """A module belongs to a part of the layers contract, or is the root package (root-is-the-public-api):
    a new module outside every part fails here."""
    root_contract = CONTRACTS["root-is-the-public-api"]["source_modules"]
    for module, path in _modules():
        part = module.split(".")[1] if "." in module else None
        assert part in PARTS or module in root_contract, f"{path.relative_to(ROOT)} belongs to no contract"


def test_every_module_is_named_in_the_architecture_page():
    for module, path in _modules():
        if path.name == "__init__.py" and path.parent != PACKAGE:
            continue  # a package is named by its folder
        shown = str(path.relative_to(PACKAGE))
        assert f"`{shown}`" in PAGE or f"`{path.name}`" in PAGE, f"docs/architecture.md does not name {shown}"


def _imports(path: Path, module: str):
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(max(node.level - 1, 0)):
                base = base.rpartition(".")[0]
            source = (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            yield source
            yield from (f"{source}.{alias.name}" for alias in node.names)


def test_no_library_module_imports_the_command_line():
    for module, path in _modules():
        if module == "ganbench.cli" or module.startswith("ganbench.cli."):
            continue
        bad = [name for name in _imports(path, module) if name == "ganbench.cli" or name.startswith("ganbench.cli.")]
        assert not bad, f"{module} imports {bad}"


def _exits(tree) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
            if (owner, name) in (("sys", "exit"), ("os", "_exit"), ("", "exit"), ("", "quit")):
                lines.append(node.lineno)
        elif isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if getattr(target, "id", "") == "SystemExit":
                lines.append(node.lineno)
    return lines


def test_only_the_command_line_exits():
    """A library function raises; only a command turns an error into an exit code."""
    for module, path in _modules():
        if module == "ganbench.cli" or module.startswith("ganbench.cli."):
            continue
        assert not _exits(ast.parse(path.read_text())), f"{path.relative_to(ROOT)} exits at lines {_exits(ast.parse(path.read_text()))}"


def test_the_exit_finder_sees_an_exit():
    assert _exits(ast.parse("import sys\ndef f():\n    sys.exit(2)\n")) == [3]
    assert _exits(ast.parse("def f():\n    raise SystemExit(1)\n")) == [2]
    assert _exits(ast.parse("def f():\n    raise ValueError(1)\n")) == []


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


def test_every_built_in_implementation_lives_under_builtin(fresh_plugins):
    """A built-in spec's ``module:attribute`` names a module of ganbench.builtin (which core-no-builtin keeps
    from the core), in the same package as the spec that names it: one built-in, one place."""
    registry = fresh_plugins.get_registry()
    named = 0
    for kind, attributes in (("model", ["factory"]), ("probe", ["factory"]), ("dataset", ["loader", "locate", "download"])):
        for spec in registry.all(kind):
            for attribute in attributes:
                reference = getattr(getattr(spec, attribute), "reference", "")
                if reference.startswith("ganbench."):
                    module = reference.partition(":")[0]
                    assert module.startswith("ganbench.builtin."), (spec.name, module)
                    named += 1
    assert named >= 15


def test_architecture_page_names_every_contract_and_is_linked():
    for contract_id in CONTRACTS:
        assert f"`{contract_id}`" in PAGE, contract_id
    assert "](docs/architecture.md)" in (ROOT / "README.md").read_text()
    assert "](architecture.md)" in (ROOT / "docs" / "plugins.md").read_text()
