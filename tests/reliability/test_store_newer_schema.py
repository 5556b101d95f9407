"""A store holding rows of a newer ``schema_version`` is never appended to, and is read for display saying so once
(issue 37, item 5): ``run``, ``sweep`` and ``reproduce`` refuse it in one line and append nothing."""

import hashlib
import json

import pytest
from click.testing import CliRunner

from ganbench.cli.app import cli
from ganbench.store.jsonl import check_store_writable, store_path
from ganbench.store.schema import SCHEMA_VERSION
from ganbench.system.errors import UsageError

from .test_store_reader import good_row

NEWER = SCHEMA_VERSION + 1


@pytest.fixture
def newer_store(tmp_path):
    folder = tmp_path / "S"
    folder.mkdir()
    lines = [json.dumps(good_row(1))] + [json.dumps(good_row(i, schema_version=NEWER, new_field={"x": i}))
                                         for i in range(2, 15)]
    store_path(folder).write_text("\n".join(lines) + "\n")
    return folder


def digest(folder) -> str:
    return hashlib.sha256(store_path(folder).read_bytes()).hexdigest()


@pytest.mark.parametrize("command", [
    ["run", "--model", "pixels", "--probe", "knn"],
    ["sweep", "--model", "pixels", "--probe", "knn"],
])
def test_run_and_sweep_refuse_to_append_to_a_newer_ganbench_s_store(newer_store, nothing_loads, command):
    before = digest(newer_store)
    result = CliRunner().invoke(cli, [*command, "--results", str(newer_store)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "newer ganbench" in lines[0] and f"schema_version {NEWER}" in lines[0], result.output
    assert digest(newer_store) == before


def test_reproduce_appends_nothing_to_a_newer_ganbench_s_store(newer_store, tmp_path, nothing_loads):
    recipe = tmp_path / "r.toml"
    recipe.write_text('name = "r"\n[[jobs]]\nid = "a"\nmodel = "pixels"\ndataset = "mnist-5k"\nprobes = ["knn"]\n')
    before = digest(newer_store)
    result = CliRunner().invoke(cli, ["reproduce", str(recipe), "--results", str(newer_store)])
    assert result.exit_code == 2, result.output
    assert "newer ganbench" in result.output and "Traceback" not in result.output
    assert digest(newer_store) == before
    with pytest.raises(UsageError, match="nothing is appended"):
        check_store_writable(newer_store)


def test_reading_a_newer_store_for_display_goes_on_and_says_so_once(newer_store):
    for command in (["results", str(newer_store)], ["leaderboard", str(newer_store)]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 0, result.output
        said = [line for line in result.output.splitlines() if "newer ganbench" in line]
        assert len(said) == 1 and "13 row(s)" in said[0], result.output
        assert "torn or foreign" not in result.output  # a newer row is not a damaged line
        assert "0.501" in result.output  # this version's row is shown
