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
from ganbench.models.baselines import Pixels

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
    assert registry.get("model", "pixels").plugin == "ganbench.models.baselines"


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
    from ganbench.errors import RegistryError

    install(site, "clash", CLASH)
    with pytest.raises(RegistryError, match="'ganbench.models.baselines' and 'clash'"):
        fresh_plugins.get_registry()


def test_plugin_model_runs_from_the_cli(site, fresh_plugins, tmp_path):
    from click.testing import CliRunner

    install(site, "good", GOOD)
    from ganbench.cli import cli

    result = CliRunner().invoke(cli, ["list", "models"])
    assert result.exit_code == 0 and "toy-mean" in result.output and "good" in result.output
    res = CliRunner().invoke(cli, ["run", "--model", "toy-mean", "--probe", "knn", "--probe-opt", "k=1",
                                   "--probe-opt", "metric=l2", "--results", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    from ganbench.store import load_results

    frame = load_results(tmp_path / "r")
    assert set(frame["model"]) == {"toy-mean"} and set(frame["feature_view"]) == {"mean"}
    assert (frame["feature_dim"] == 1).all()
