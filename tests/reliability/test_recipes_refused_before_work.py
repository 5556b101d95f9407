"""A recipe that is not what it should be is refused in one line naming the recipe file and the key, before
anything runs (issue 37, item 9)."""

import pytest
from click.testing import CliRunner

from ganbench.cli.app import cli
from .refusals import one_line_exit_2

JOB = '[[jobs]]\nid = "a"\nmodel = "pixels"\ndataset = "mnist-5k"\nprobes = ["knn"]\n'
FIGURE = '[[figures]]\nid = "1nn"\nprobe = "knn"\nmetric = "{metric}"\n'
ROW = '[[rows]]\nlabel = "pixels"\njobs = ["a"]\nview = "{view}"\n'


@pytest.fixture
def nothing_runs(monkeypatch, nothing_loads):
    """No dataset or model loaded (``nothing_loads``), and no job of the recipe run."""
    def refuse(*args, **kwargs):
        raise AssertionError("something ran")
    import ganbench.cli.reproduce as reproduce
    monkeypatch.setattr(reproduce, "run_missing", refuse)


@pytest.mark.parametrize("text, needles", [
    ('name = "r"\nx = ' + "[" * 50_000 + "]" * 50_000 + "\n", ["nested too deeply"]),
    ('name = "r"\nfigurs = []\n' + JOB, ["unknown top-level key(s) 'figurs'", "Did you mean 'figures'?"]),
    ('name = "r"\n' + JOB + FIGURE.format(metric="acc_l2_k1_majorty") + ROW.format(view="pixels"),
     ["figure '1nn'", "writes no metric 'acc_l2_k1_majorty'", "Did you mean 'acc_l2_k1_majority'?"]),
    ('name = "r"\n' + JOB + FIGURE.format(metric="acc_l2_k1_majority") + ROW.format(view="pixel"),
     ["row 'pixels'", "view 'pixel'", "Did you mean 'pixels'?"]),
    ('name = "r"\n', ["has no [[jobs]]"]),
    ('name = "r"\n' + JOB + "seeds = [4294967296]\n", ["job 'a'", "seeds", "2**32-1"]),
    ('name = "r"\n' + JOB.replace('id = "a"\n', 'id = "a"\nepochz = 3\n'), ["unknown field(s) epochz"]),
    ('name = "r"\n' + JOB + '[[figures]]\nid = "f"\nprobe = "knn"\nmetric = "acc_l2_k1_majority"\nmetrc = "x"\n',
     ["figure 'f' has unknown field(s) metrc"]),
])
@pytest.mark.parametrize("dry_run", [True, False])
def test_a_bad_recipe_is_refused_in_one_line_naming_its_file_and_key(tmp_path, nothing_runs, text, needles, dry_run):
    recipe = tmp_path / "bad.toml"
    recipe.write_text(text)
    result = CliRunner().invoke(cli, ["reproduce", str(recipe), "--results", str(tmp_path / "R"),
                                      *(["--dry-run"] if dry_run else [])])
    one_line_exit_2(result, "bad.toml", *needles)
    assert not (tmp_path / "R").exists()


def test_seeds_are_bounded_and_refused_in_one_line_before_anything_is_listed(tmp_path, nothing_runs):
    result = CliRunner().invoke(cli, ["reproduce", "dcgan-mnist", "--dry-run", "--seeds", "5000000000",
                                      "--results", str(tmp_path / "R")])
    one_line_exit_2(result, "--seeds", "10000")


def test_a_recipe_file_that_is_a_fifo_is_never_waited_on(tmp_path, nothing_runs):
    import os
    os.mkfifo(tmp_path / "r.toml")
    result = CliRunner().invoke(cli, ["reproduce", str(tmp_path / "r.toml"), "--dry-run"])
    one_line_exit_2(result, "is a FIFO")


def test_every_packaged_recipe_passes_the_checks():
    from ganbench.recipes.catalog import entries, find

    for entry in entries():
        assert not entry.error, entry.error
        find(entry.name)
