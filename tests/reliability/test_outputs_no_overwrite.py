"""No command's --output writes over result rows or into a store's folder: exit 2, one line, the store intact."""

import hashlib
import json

import pytest
from click.testing import CliRunner

from ganbench.cli.app import cli
from ganbench.store.jsonl import append_rows, read_rows, store_path

from .test_store_reader import good_row


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def store(tmp_path):
    folder = tmp_path / "S"
    append_rows(folder, [good_row(i) for i in range(3)])
    return folder


def one_line_exit_2(result, *needles):
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --output"), result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.parametrize("fmt", ["md", "csv", "html", "table"])
def test_leaderboard_output_onto_the_store_is_refused_and_the_store_is_byte_identical(store, fmt):
    before = digest(store_path(store))
    result = CliRunner().invoke(cli, ["leaderboard", str(store), "--format", fmt, "--output", str(store_path(store))])
    one_line_exit_2(result, "result store", "would replace")
    assert digest(store_path(store)) == before
    assert len(read_rows(store)) == 3


def test_leaderboard_output_into_a_store_folder_through_a_link_or_onto_any_file_of_rows_is_refused(store, tmp_path):
    before = digest(store_path(store))
    other = tmp_path / "archive.jsonl"  # a store file of another name, as results/archive/protocol-v1.jsonl
    other.write_text(json.dumps(good_row(7)) + "\n")
    link = tmp_path / "table.md"
    link.symlink_to(store_path(store))
    for target, needle in [(store / "leaderboard.md", "inside the result store folder"), (link, "result store"),
                           (other, "holds result rows")]:
        result = CliRunner().invoke(cli, ["leaderboard", str(store), "--format", "md", "--output", str(target)])
        one_line_exit_2(result, needle)
    assert digest(store_path(store)) == before and json.loads(other.read_text())["metric"] == "acc7"
    assert not (store / "leaderboard.md").exists()


def test_leaderboard_output_elsewhere_is_written_whole(store, tmp_path):
    target = tmp_path / "out" / "leaderboard.md"
    result = CliRunner().invoke(cli, ["leaderboard", str(store), "--format", "md", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert "| dcgan" in target.read_text() and "0.5020" in target.read_text()


def test_dedup_and_show_output_onto_a_store_are_refused_before_any_work(store, monkeypatch):
    from ganbench.jobs import run as run_module
    def refuse(*args, **kwargs):
        raise AssertionError("the dataset was loaded")
    monkeypatch.setattr(run_module, "load_dataset", refuse)
    before = digest(store_path(store))
    for command in (["dedup", "--dataset", "mnist-5k"], ["show", "samples", "--model", "dcgan"]):
        result = CliRunner().invoke(cli, [*command, "--output", str(store_path(store))])
        one_line_exit_2(result, "result store")
    assert digest(store_path(store)) == before
