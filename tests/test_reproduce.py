"""`ganbench reproduce`: recipes listed, checked when loaded, dry runs, runs of what is missing, the table."""

import csv
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ganbench.cli.app import cli

REFERENCE = Path(__file__).resolve().parents[1] / "results" / "reference" / "results.jsonl"
BUILTIN = ["bigan-table1", "dcgan-cifar10", "fashion-mnist", "gan-samples-as-data", "sample-quality",
           "dcgan-mnist", "bigan-fashion-mnist", "bigan-heldout", "bigan-mnist", "bigan-mnist-curves"]


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def reference_copy(tmp_path):
    folder = tmp_path / "reference"
    folder.mkdir()
    shutil.copy(REFERENCE, folder / "results.jsonl")
    return folder


@pytest.fixture
def shared_mnist():
    """The full MNIST beside the clone (CI has it): request keys name the data by content, so telling which
    committed MNIST rows a recipe's requests are takes the data itself."""
    folder = REFERENCE.parents[3] / "shared" / "data" / "mnist"
    if not folder.is_dir():
        pytest.skip(f"needs the full MNIST in {folder} to know the committed rows' data")
    return f"mnist={folder}"


@pytest.fixture
def no_training(monkeypatch):
    """Any job that would train or probe fails the test."""
    import ganbench.jobs.run

    def refuse(*args, **kwargs):
        raise AssertionError("a job ran")

    monkeypatch.setattr(ganbench.jobs.run, "run_job", refuse)
    monkeypatch.setattr(ganbench.jobs.run, "prepare_model", refuse)


def test_list_names_every_builtin_recipe_registered_through_the_hook():
    result = invoke("reproduce", "list")
    assert result.exit_code == 0, result.output
    listed = {line.split()[0]: line.split()[1] for line in result.output.splitlines()[2:] if line and line[0] != " "
              and not line.startswith("`")}
    for name in BUILTIN:
        assert listed.get(name) == "recipes", (name, result.output)


def test_bigan_table1_against_the_committed_store_runs_nothing_and_prints_the_papers_table(reference_copy, no_training,
                                                                                          shared_mnist):
    before = (reference_copy / "results.jsonl").read_bytes()
    result = invoke("reproduce", "bigan-table1", "--results", str(reference_copy), "--format", "md",
                    "--data-root", shared_mnist)
    assert result.exit_code == 0, result.output
    assert (reference_copy / "results.jsonl").read_bytes() == before
    lines = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
             for line in result.output.splitlines() if line.startswith("| ")}
    # benchmarks/fidelity.md: e-hidden 1-NN 0.9715 at epoch 200 of the 400-epoch run; Table 1: 97.39
    assert lines["BiGAN · e-hidden (the paper's NNC\\_e-), 400-epoch schedule at epoch 200"] == ["0.9715 (n=1)", "0.9739", "-0.0024"]
    # the one-step start over 3 seeds, computed here from the rows themselves
    rows = [json.loads(line) for line in REFERENCE.read_text().splitlines()]
    start = sorted(r["value"] for r in rows if r["model"] == "bigan" and r["dataset"] == "mnist"
                   and (r["schedule"] or {}).get("max_steps") == 1 and r["feature_view"] == "d"
                   and r["metric"] == "acc_l2_k1_majority")
    assert len(start) == 3
    mean = sum(start) / 3
    assert lines["BiGAN · d, one step from initial weights"][0].startswith(f"{mean:.4f} ± ")
    assert lines["BiGAN · d, one step from initial weights"][0].endswith("(n=3)")
    assert lines["latent regressor"] == ["", "0.9744", ""]


def test_dry_run_lists_each_job_stored_or_with_an_expected_time_and_trains_nothing(reference_copy, no_training, tmp_path,
                                                                                    shared_mnist):
    stored = invoke("reproduce", "bigan-table1", "--dry-run", "--results", str(reference_copy), "--data-root", shared_mnist)
    assert stored.exit_code == 0, stored.output
    assert "7 request(s): 7 stored, 0 to run" in stored.output
    empty = invoke("reproduce", "fashion-mnist", "--dry-run", "--results", str(tmp_path / "empty"),
                   "--timings", str(tmp_path / "empty"))
    assert empty.exit_code == 0, empty.output
    # pixels never trains (a model declared a baseline), measured or not
    assert "no training (a baseline); knn: no measurement" in empty.output and "training: no measurement" not in empty.output
    assert "expected time unknown: none of its 4 part(s) measured" in empty.output
    assert "2 request(s): 0 stored, 2 to run" in empty.output and "Nothing was run." in empty.output
    assert not (tmp_path / "empty" / "results.jsonl").exists()


def test_dry_run_scales_the_measured_training_time_by_the_steps_asked(tmp_path):
    """One stored run of 100 steps that took 50 s: a recipe job of 400 steps is expected to take 200 s."""
    rows = [json.loads(line) for line in REFERENCE.read_text().splitlines()]
    row = next(r for r in rows if r["model"] == "acgan" and r["metric"] and r["train_seconds"] > 0)
    row.update(schedule={"epochs": 1, "max_steps": None, "batch_size": 100, "steps": 100},
               details={"training": {"total_seconds": 50.0}}, dataset="mnist-5k", job_key="x")
    (tmp_path / "results.jsonl").write_text(json.dumps(row) + "\n")
    recipe = tmp_path / "r.toml"
    options = ", ".join(f"{k} = {json.dumps(v)}" for k, v in row["model_config"].items())
    recipe.write_text(f'name = "r"\n[[jobs]]\nid = "a"\nmodel = "acgan"\nmodel_options = {{ {options} }}\n'
                      f'dataset = "mnist-5k"\nepochs = 4\nprobes = ["knn"]\n')
    result = invoke("reproduce", str(recipe), "--dry-run", "--results", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "training ≈ 3 min (400 steps on cpu" in result.output  # 400 x 0.5 s = 200 s


BAD = [
    ('model = "pixls"', "Unknown model 'pixls'. Did you mean 'pixels'?"),
    ('model = "pixels"\nmodel_options = { widht = 3 }', "Unknown option 'widht' for model 'pixels'"),
    ('model = "pixels"\nviews = ["pixel"]', "has no feature view 'pixel'"),
    ('model = "pixels"\ndataset_options = { test = "later" }', "Bad value 'later' for option 'test'"),
]


@pytest.mark.parametrize("job, message", BAD)
def test_a_recipe_naming_something_unknown_is_refused_in_one_line_when_loaded(tmp_path, no_training, job, message):
    recipe = tmp_path / "bad.toml"
    recipe.write_text(f'name = "bad"\n[[jobs]]\nid = "j"\n{job}\ndataset = "mnist"\nprobes = ["knn"]\n')
    result = invoke("reproduce", str(recipe), "--results", str(tmp_path))
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1, result.output


def test_a_published_figure_without_a_source_is_refused(tmp_path):
    recipe = tmp_path / "fake.toml"
    recipe.write_text('name = "fake"\n[[jobs]]\nid = "p"\nmodel = "pixels"\ndataset = "mnist-5k"\nprobes = ["knn"]\n'
                      '[[figures]]\nid = "f"\nprobe = "knn"\nmetric = "acc_l2_k1_majority"\n'
                      '[[rows]]\nlabel = "x"\njobs = ["p"]\nview = "pixels"\npublished = { f = "donahue2016-bigam" }\n')
    result = invoke("reproduce", str(recipe), "--dry-run")
    assert result.exit_code == 2
    assert "published figure 'donahue2016-bigam' has no source" in result.output
    assert "Did you mean 'donahue2016-bigan'?" in result.output


def test_unknown_recipe_name_suggests_the_closest():
    result = invoke("reproduce", "bigan-tabel1")
    assert result.exit_code == 2 and "Did you mean 'bigan-table1'?" in result.output


def test_the_dry_runs_keys_are_the_keys_of_the_rows_a_run_writes(tmp_path):
    """reproduce plans with the same request keys a run writes into its rows (ganbench.jobs.submit.request_keys)."""
    from ganbench.cli.reproduce import plan
    from ganbench.recipes.catalog import find
    from ganbench.recipes.recipe import read

    recipe = tmp_path / "small.toml"
    recipe.write_text('name = "small"\n[[jobs]]\nid = "p"\nmodel = "pixels"\ndataset = "mnist-5k"\nseeds = [0, 1]\n'
                      'probes = [{ name = "knn", options = { k = 1, metric = "l2" } }]\n')
    store = tmp_path / "store"
    result = invoke("reproduce", str(recipe), "--results", str(store), "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 0, result.output
    planned = plan(read(recipe), read(recipe).jobs[0], None, {}, str(tmp_path / "cache"), "auto")
    keys = {row["job_key"] for row in map(json.loads, (store / "results.jsonl").read_text().splitlines())}
    assert keys == {item.keys[0] for item in planned} and len(keys) == 2


@pytest.mark.slow
def test_a_real_run_runs_what_is_missing_once_and_adds_a_with_model(tmp_path):
    recipe = tmp_path / "small.toml"
    recipe.write_text('name = "small"\n[[jobs]]\nid = "p"\nmodel = "pixels"\ndataset = "mnist-5k"\n'
                      'probes = [{ name = "knn", options = { k = 1, metric = "l2" } }]\n'
                      '[with]\ndataset = "mnist-5k"\nprobes = [{ name = "knn", options = { k = 1, metric = "l2" } }]\n'
                      '[[figures]]\nid = "f"\ntitle = "1-NN"\nprobe = "knn"\nmetric = "acc_l2_k1_majority"\n'
                      '[[rows]]\nlabel = "raw pixels"\njobs = ["p"]\nview = "pixels"\n')
    store = tmp_path / "store"
    args = ["reproduce", str(recipe), "--results", str(store), "--cache-dir", str(tmp_path / "cache"), "--format", "csv"]
    first = invoke(*args, "--with", "random-d:width=4")
    assert first.exit_code == 0, first.output
    rows = [json.loads(line) for line in (store / "results.jsonl").read_text().splitlines()]
    one_nn = [r for r in rows if r["metric"] == "acc_l2_k1_majority"]
    pixel = next(r["value"] for r in one_nn if r["model"] == "pixels")
    random_d = {r["feature_view"]: r["value"] for r in one_nn if r["model"] == "random-d"}
    assert set(random_d) == {"d", "d-last"}
    cells = {(line[2], line[7]): line[8] for line in csv.reader(first.stdout.splitlines()) if len(line) > 8}
    assert float(cells[("raw pixels", "1-NN: ours")]) == pixel
    assert float(cells[("random-d:width=4 · d", "1-NN: ours")]) == random_d["d"]
    again = invoke(*args)
    assert again.exit_code == 0 and "1 (job, probe) request(s) already stored, skipped." in again.output
    assert len((store / "results.jsonl").read_text().splitlines()) == len(rows)


def test_list_imports_no_torch(tmp_path, reference_copy):
    spec = importlib.util.spec_from_file_location("fast_start", Path(__file__).with_name("test_fast_start.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    code = module.POISON

    (tmp_path / "sitecustomize.py").write_text(code)
    import os

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
               GANBENCH_LOAD_PLUGINS="")
    run = "import sys; from ganbench.cli.app import main; main(sys.argv[1:])"
    for args, expected in ((["reproduce", "list"], "bigan-table1"),):
        result = subprocess.run([sys.executable, "-c", run, *args], capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 0, result.stderr
        assert expected in result.stdout


RECIPE_PLUGIN = '''
import pathlib
import ganbench

@ganbench.hookimpl
def register_recipes(register):
    register(pathlib.Path(__file__).with_name("third-party.toml"))
'''
RAISING_PLUGIN = '''
import ganbench

@ganbench.hookimpl
def register_recipes(register):
    raise RuntimeError("recipe folder missing")
'''


def test_a_third_party_recipe_is_listed_and_a_raising_hook_is_one_warning(tmp_path, monkeypatch, fresh_plugins):
    from test_plugins import install

    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    (site / "third-party.toml").write_text('name = "third-party"\ntitle = "A table of theirs"\n[[jobs]]\nid = "p"\n'
                                           'model = "pixels"\ndataset = "mnist-5k"\nprobes = ["knn"]\n')
    install(site, "cook", RECIPE_PLUGIN)
    install(site, "burnt", RAISING_PLUGIN)
    result = invoke("reproduce", "list")
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if line.startswith("third-party "))
    assert line.split()[1] == "cook" and "A table of theirs" in line
    assert "bigan-table1" in result.stdout  # the built-ins still there
    assert "warning: plugin 'burnt' register_recipes failed: RuntimeError: recipe folder missing" in result.stderr
    dry = invoke("reproduce", "third-party", "--dry-run", "--results", str(tmp_path / "store"))
    assert dry.exit_code == 0 and "1 request(s): 0 stored, 1 to run" in dry.output


@pytest.mark.parametrize("name", BUILTIN)
def test_every_builtin_recipe_is_valid_where_its_models_and_references_exist(name):
    """Each built-in recipe loads; one naming a model that is not installed (dcgan-cifar10 needs `kmeans`,
    gan-samples-as-data the plugins' `augment` and `wgan-gp`) is refused by that name, nothing else."""
    from ganbench.system.errors import UsageError
    from ganbench.plugins import get_registry
    from ganbench.recipes.catalog import entries, find

    recipe = next(e.recipe for e in entries() if e.name == name)
    models = {j.model for j in recipe.jobs} | {p.name for j in recipe.jobs for p in j.probes}
    absent = sorted(m for m in models if m not in get_registry().names("model") + get_registry().names("probe"))
    if not absent:
        find(name)
        return
    with pytest.raises(UsageError, match=f"Unknown (model|probe) '({'|'.join(absent)})'"):
        find(name)


def test_seeds_replaces_every_jobs_seeds(tmp_path):
    result = invoke("reproduce", "fashion-mnist", "--dry-run", "--seeds", "2", "--results", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert [line.split(",")[1].split(";")[0].strip() for line in result.output.splitlines() if line.startswith("[pixels-mnist]")] == \
        ["seed 0", "seed 1"]
    assert "4 request(s): 0 stored, 4 to run" in result.output


def test_dry_run_times_come_from_the_committed_store_when_the_results_store_is_empty(tmp_path, monkeypatch):
    """In a clone, an empty --results store is timed by results/reference's rows: 100 BiGAN epochs of
    468 steps at the 50-epoch seeds' measured seconds per step."""
    (tmp_path / "results" / "reference").mkdir(parents=True)
    shutil.copy(REFERENCE, tmp_path / "results" / "reference" / "results.jsonl")
    monkeypatch.chdir(tmp_path)
    rows = [json.loads(line) for line in REFERENCE.read_text().splitlines()]
    per_step = {}
    for r in rows:
        training = (r.get("details") or {}).get("training") or {}
        seconds = training.get("total_seconds") or (r["train_seconds"] if "resumed_from_step" not in training else 0)
        if r["model"] == "bigan" and r["dataset"] == "mnist" and seconds and r["schedule"]["steps"] \
                and not (r.get("details") or {}).get("snapshot_epoch"):
            per_step[r["run_id"]] = seconds / r["schedule"]["steps"]
    expected = 100 * 468 * sum(per_step.values()) / len(per_step)
    result = invoke("reproduce", "bigan-table1", "--dry-run", "--results", "mine")
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "46,800 steps" in line)
    hours, minutes = divmod(round(expected / 60), 60)
    assert f"training ≈ {hours} h {minutes:02d} min (46,800 steps on cpu" in line
    assert "Times: the rows of mine and results/reference" in result.output


def test_the_shipped_timings_are_the_committed_store_s():
    """ganbench/recipes/timings.json (package data) is what results/reference gives, run by run."""
    from ganbench.recipes.timings import shipped, timing_rows
    from ganbench.store.jsonl import read_rows

    expected = timing_rows(read_rows(REFERENCE.parent, warn=False))
    assert len(expected) > 100 and shipped() == expected, (
        "regenerate: python -c \"from ganbench.recipes.timings import write; write('results/reference')\"")


def test_a_dry_run_outside_a_clone_is_timed_by_the_shipped_timings(tmp_path, monkeypatch):
    """From a folder with no results/reference (ganbench installed, not cloned): the estimates come from the timings
    shipped with ganbench, the same as in a clone, and say they are estimates measured on the CPU."""
    monkeypatch.chdir(tmp_path)
    outside = invoke("reproduce", "dcgan-mnist", "--dry-run")
    assert outside.exit_code == 0, outside.output
    summary = outside.output.splitlines()[-1]
    assert "expected ≈ 0 s" not in summary and re.search(r"expected ≈ \d+ h \d\d min", summary), summary
    assert "(an estimate from runs measured on cpu)" in summary
    assert "Times: the rows of ganbench-results and the timings shipped with ganbench" in summary
    assert "training ≈ " in outside.output and "no training;" in outside.output  # dcgan trains, random-d does not
    (tmp_path / "results" / "reference").mkdir(parents=True)
    shutil.copy(REFERENCE, tmp_path / "results" / "reference" / "results.jsonl")
    inside = invoke("reproduce", "dcgan-mnist", "--dry-run")
    assert inside.output.splitlines()[:-1] == outside.output.splitlines()[:-1]  # job by job, the same estimates
    assert inside.output.splitlines()[-1].split(". Times:")[0] == summary.split(". Times:")[0]
