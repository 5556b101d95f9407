"""Plugin loading through real entry points: a dist-info directory on sys.path."""

import textwrap
import warnings

import pytest

from ganbench.plugins import PluginLoadWarning

GOOD = '''
import torch
import ganbench

class Mean(ganbench.Model):
    trains = False
    def feature_views(self):
        return {"mean": "mean pixel"}
    def features(self, x, view):
        return x.flatten(1).mean(1, keepdim=True)

@ganbench.hookimpl
def register_models(register):
    register(ganbench.ModelSpec("toy-mean", Mean, "mean pixel", version="7"))
'''
BROKEN_IMPORT = "raise ImportError('needs a package that is not installed')\n"
MISSPELLED = '''
import ganbench

@ganbench.hookimpl
def register_model(register):
    pass
'''
CLASH = '''
import ganbench
from ganbench.builtin.models.baselines.model import Pixels

@ganbench.hookimpl
def register_models(register):
    register(ganbench.ModelSpec("pixels", Pixels, "another pixels"))
'''


def install(site, name, source, version="0.3"):
    """Write a module plus a dist-info whose entry point names it, as pip would."""
    module = f"ganbench_test_plugin_{name}"
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    dist = site / f"ganbench_test_plugin_{name}-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: ganbench-test-plugin-{name}\nVersion: {version}\n")
    (dist / "entry_points.txt").write_text(f"[ganbench]\n{name} = {module}\n")


@pytest.fixture
def site(tmp_path, monkeypatch, fresh_plugins):
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    return path


def load(plugins):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry = plugins.get_registry()
    return registry, [str(w.message) for w in caught if issubclass(w.category, PluginLoadWarning)]


def test_entry_point_plugin_is_loaded_with_its_version(site, fresh_plugins):
    install(site, "good", GOOD)
    registry, problems = load(fresh_plugins)
    assert problems == []
    spec = registry.get("model", "toy-mean")
    assert spec.plugin == "good" and spec.version == "7"
    info = {i.name: i for i in fresh_plugins.plugin_infos()}["good"]
    assert info.version == "ganbench-test-plugin-good 0.3"
    assert info.hooks == ["register_models"] and not info.builtin
    # the built-in plugins went through the same path
    assert registry.get("model", "pixels").plugin == "builtin.models.baselines"


def test_broken_and_misspelled_plugins_warn_and_the_rest_load(site, fresh_plugins):
    install(site, "good", GOOD)
    install(site, "broken", BROKEN_IMPORT)
    install(site, "typo", MISSPELLED)
    registry, problems = load(fresh_plugins)
    assert "toy-mean" in registry.names("model")
    broken = [p for p in problems if "'broken'" in p]
    assert broken and "ImportError: needs a package that is not installed" in broken[0]
    typo = [p for p in problems if "'typo'" in p]
    assert typo and "unknown hook 'register_model'. Did you mean 'register_models'?" in typo[0]
    infos = {i.name: i for i in fresh_plugins.plugin_infos()}
    assert infos["broken"].error and infos["typo"].error and infos["good"].error is None


def test_load_plugins_env_restricts_installed_plugins(site, fresh_plugins, monkeypatch):
    install(site, "good", GOOD)
    install(site, "broken", BROKEN_IMPORT)
    monkeypatch.setenv("GANBENCH_LOAD_PLUGINS", "broken")
    registry, problems = load(fresh_plugins)
    assert "toy-mean" not in registry.names("model")
    assert "pixels" in registry.names("model")  # built-ins always load
    assert len(problems) == 1


def test_empty_load_plugins_env_loads_only_builtins(site, fresh_plugins, monkeypatch):
    install(site, "good", GOOD)
    monkeypatch.setenv("GANBENCH_LOAD_PLUGINS", "")
    registry, _ = load(fresh_plugins)
    assert "toy-mean" not in registry.names("model")
    assert "good" not in {i.name for i in fresh_plugins.plugin_infos()}


def test_a_plugin_reusing_a_builtin_name_is_an_error_naming_both(site, fresh_plugins):
    from ganbench.system.errors import RegistryError

    install(site, "clash", CLASH)
    with pytest.raises(RegistryError, match="'builtin.models.baselines' and 'clash'"):
        fresh_plugins.get_registry()


def test_plugin_model_runs_from_the_cli(site, fresh_plugins, tmp_path):
    from click.testing import CliRunner

    install(site, "good", GOOD)
    from ganbench.cli.app import cli

    result = CliRunner().invoke(cli, ["list", "models"])
    assert result.exit_code == 0 and "toy-mean" in result.output and "good" in result.output
    res = CliRunner().invoke(cli, ["run", "--model", "toy-mean", "--probe", "knn", "--probe-opt", "k=1",
                                   "--probe-opt", "metric=l2", "--results", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    from ganbench.store.jsonl import load_results

    frame = load_results(tmp_path / "r")
    assert set(frame["model"]) == {"toy-mean"} and set(frame["feature_view"]) == {"mean"}
    assert (frame["feature_dim"] == 1).all()


HALF = '''
import ganbench
from ganbench.builtin.models.baselines.model import Pixels

@ganbench.hookimpl
def register_models(register):
    register(ganbench.ModelSpec("half-pixels", Pixels, "pixels again"))

@ganbench.hookimpl
def register_probes(register):
    raise RuntimeError("probe table missing")
'''
BAD_OPTION = '''
import ganbench
from ganbench.builtin.models.baselines.model import Pixels

@ganbench.hookimpl
def register_models(register):
    register(ganbench.ModelSpec("bad-option", Pixels, "pixels", options=[
        ganbench.Option("width", "integer", 3, "a width"),
    ]))
'''
IMPORTS_MISSING = '''
import ganbench

import ganbench_no_such_dependency
'''


def cli_run(*args, env=None):
    from click.testing import CliRunner

    from ganbench.cli.app import cli

    return CliRunner().invoke(cli, list(args), env=env)


def source_line(site, name, text):
    """1-based line of ``text`` in the installed plugin module, as the report should name it."""
    lines = (site / f"ganbench_test_plugin_{name}.py").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


def table_row(output, name):
    """The (possibly wrapped) row of plugin ``name`` in a table, joined into one line."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(name + " "))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")), len(lines))
    return " ".join(" ".join(line.split()) for line in lines[start:end])


def warning_lines(output):
    return [line for line in output.splitlines() if line.startswith("warning: ")]


def test_a_raising_register_hook_leaves_the_plugin_partly_loaded(site, fresh_plugins):
    install(site, "half", HALF)
    result = cli_run("plugins")
    assert result.exit_code == 0, result.output
    row = table_row(result.stdout, "half")
    assert "partly loaded" in row and "register_probes (failed)" in row and "register_models," in row
    assert "half: register_probes failed: RuntimeError: probe table missing" in result.stdout
    line = source_line(site, "half", "raise RuntimeError")
    assert warning_lines(result.stderr) == [
        f"warning: plugin 'half' register_probes failed: RuntimeError: probe table missing "
        f"({site / 'ganbench_test_plugin_half.py'}:{line})"
    ]
    assert "Traceback" not in result.output and "not loaded" not in result.output
    assert "half-pixels" in cli_run("list", "models").stdout  # the hook that worked still counts


def test_an_option_that_cannot_be_built_refuses_its_hook_in_one_line(site, fresh_plugins, tmp_path):
    install(site, "badopt", BAD_OPTION)
    result = cli_run("run", "--model", "bad-option", "--probe", "knn", "--results", str(tmp_path))
    assert result.exit_code == 2 and "Unknown model 'bad-option'" in result.stderr
    reports = warning_lines(result.stderr)
    assert len(reports) == 1 and "Traceback" not in result.output
    assert reports[0].startswith("warning: plugin 'badopt' register_models failed: ValueError: option 'width': type must be")
    assert reports[0].endswith(f"ganbench_test_plugin_badopt.py:{source_line(site, 'badopt', 'Option(')})")
    listing = cli_run("plugins").stdout
    assert "register_models (failed)" in table_row(listing, "badopt") and "broken" in table_row(listing, "badopt")


def test_import_error_names_the_plugins_line_and_debug_shows_the_traceback(site, fresh_plugins):
    install(site, "missing", IMPORTS_MISSING)
    line = source_line(site, "missing", "import ganbench_no_such_dependency")
    quiet = cli_run("list", "probes")
    assert quiet.exit_code == 0
    assert warning_lines(quiet.stderr) == [
        f"warning: plugin 'missing' failed to import: ModuleNotFoundError: No module named "
        f"'ganbench_no_such_dependency' ({site / 'ganbench_test_plugin_missing.py'}:{line})"
    ]
    assert "Traceback" not in quiet.stderr
    fresh_plugins.reset_for_tests()
    loud = cli_run("--debug", "list", "probes")
    assert loud.exit_code == 0 and "Traceback (most recent call last)" in loud.stderr
    assert f'ganbench_test_plugin_missing.py", line {line}' in loud.stderr
    fresh_plugins.reset_for_tests()
    from_env = cli_run("list", "probes", env={"GANBENCH_DEBUG": "1"})
    assert "Traceback (most recent call last)" in from_env.stderr
    listing = cli_run("plugins").stdout
    assert "broken" in table_row(listing, "missing") and "missing: failed to import: ModuleNotFoundError" in listing


def test_a_misspelled_hook_points_at_its_definition(site, fresh_plugins):
    install(site, "typo", MISSPELLED)
    result = cli_run("plugins")
    line = source_line(site, "typo", "def register_model(")
    assert warning_lines(result.stderr) == [
        f"warning: plugin 'typo' has an unknown hook: unknown hook 'register_model'. Did you mean "
        f"'register_models'? Known hooks: register_commands, register_datasets, register_executors, "
        f"register_models, register_probes, register_recipes. ({site / 'ganbench_test_plugin_typo.py'}:{line})"
    ]
