"""ganbench installed with pip (not editable) into a fresh environment, used from an empty folder outside any clone.

The package is built into a wheel from a copy of its source and installed into a new virtual environment with
``--no-deps``; that environment reaches the dependencies (torch, pandas, ...) through a ``.pth`` line naming this
environment's site-packages, added after the install so that pip never sees this environment's own ganbench.
Commands then run there with no PYTHONPATH: what a user who ran ``pip install ganbench`` sees. The package of
docs/plugins.md is installed the same way, to check that what its pyproject.toml ships (the recipe) is enough.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from test_plugin_guide import guide_files

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def _pip(*args, cwd=None):
    done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _wheel(source: Path, out: Path) -> Path:
    """A wheel of the project in ``source``, built with this environment's setuptools (no download)."""
    _pip("wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(out), str(source))
    (wheel,) = out.glob("*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``(venv bin folder, empty working folder)``: ganbench and the guide's package installed from wheels."""
    tmp = tmp_path_factory.mktemp("installed")
    source = tmp / "ganbench"
    source.mkdir()
    shutil.copytree(ROOT / "ganbench", source / "ganbench", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    guide = tmp / "ganbench-ae"
    for name, text in guide_files().items():
        (guide / name).parent.mkdir(parents=True, exist_ok=True)
        (guide / name).write_text(text)
    wheels = [_wheel(source, tmp / "wheels-ganbench"), _wheel(guide, tmp / "wheels-ae")]
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    _pip("--python", str(python), "install", "--no-deps", "--no-index", *map(str, wheels))
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "zz_dependencies.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
    empty = tmp / "empty"
    empty.mkdir()
    return venv / "bin", empty


def ganbench(installed, *args, plugins=""):
    bin_dir, cwd = installed
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "GANBENCH_DATA", "VIRTUAL_ENV")}
    env.update(GANBENCH_LOAD_PLUGINS=plugins, GANBENCH_CACHE=str(cwd.parent / "cache"), OMP_NUM_THREADS="1",
               PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
    return subprocess.run([str(bin_dir / "ganbench"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def test_the_installed_package_is_the_one_running_and_ships_its_data(installed):
    bin_dir, empty = installed
    done = subprocess.run([str(bin_dir / "python"), "-c", "import ganbench, ganbench.recipes.timings as t; "
                           "from importlib import resources as r; print(ganbench.__file__); print(len(t.shipped())); "
                           "print(r.files('ganbench.reports').joinpath('references.csv').is_file())"],
                          capture_output=True, text=True, env={"PATH": os.environ["PATH"]}, cwd=empty, timeout=300)
    where, shipped, references = done.stdout.split()
    assert where.startswith(str(bin_dir.parent)) and not where.startswith(str(ROOT)), where
    assert int(shipped) > 100 and references == "True"


def test_leaderboard_from_an_empty_folder_names_the_missing_store_and_the_first_run(installed):
    done = ganbench(installed, "leaderboard")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("no result store at ganbench-results/results.jsonl")
    assert "ganbench run --model pixels --probe knn" in done.stdout
    assert "results/reference" not in done.stdout and "repository" not in done.stdout


def test_reproduce_dry_run_from_an_empty_folder_estimates_from_the_shipped_timings(installed):
    done = ganbench(installed, "reproduce", "dcgan-mnist", "--dry-run")
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.strip().splitlines()[-1]
    assert "≈ 0 s" not in summary and re.search(r"expected ≈ \d+ h \d\d min", summary), summary
    assert "(an estimate from runs measured on cpu)" in summary and "timings shipped with ganbench" in summary
    pixels = ganbench(installed, "reproduce", "fashion-mnist", "--dry-run")
    assert pixels.returncode == 0 and "training: no measurement" not in pixels.stdout, pixels.stdout


def test_compare_from_an_empty_folder_says_the_store_does_not_exist(installed):
    done = ganbench(installed, "compare", "--results", "results/reference", "--a", "dataset=mnist-5k", "--a",
                    "model=pixels", "--a", "probe=knn", "--b", "dataset=mnist-5k", "--b", "model=pixels", "--b",
                    "probe=svm", "--b", "metric=acc")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("Error: No result store at results/reference/results.jsonl (no such file")


def test_the_guides_package_installed_by_pip_registers_its_recipe_dataset_and_model(installed):
    """What the guide's pyproject.toml ships is enough: the recipe (package data) is listed and checked, the
    dataset found by its locate, the model listed with its category."""
    recipes = ganbench(installed, "reproduce", "list", plugins="ae")
    assert recipes.returncode == 0 and re.search(r"^ae-shapes +ae +1 ", recipes.stdout, re.M), recipes.stdout
    assert "warning" not in recipes.stderr, recipes.stderr
    dry = ganbench(installed, "reproduce", "ae-shapes", "--dry-run", plugins="ae")
    assert dry.returncode == 0 and "[ae] ae on shapes, seed 0, max-steps 120; logreg" in dry.stdout, dry.stdout + dry.stderr
    data = ganbench(installed, "data", "list", "shapes", plugins="ae")
    assert data.stdout.splitlines()[1].split()[:2] == ["shapes", "found"], data.stdout
    models = ganbench(installed, "list", "models", plugins="ae")
    assert re.search(r"^ae +1 +ae +generative: features", models.stdout, re.M), models.stdout
