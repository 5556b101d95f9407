"""One output guard for every command that writes a file for people: never into a store's folder or below it,
never over a predictions file, never where it cannot write -- one line, exit 2, before any model loads, and every
store file byte-identical (issue 37, items 1, 2 and 8)."""

import hashlib
import json

import numpy as np
import pytest
from click.testing import CliRunner

from ganbench.cli.app import cli

from .test_store_reader import good_row
from .refusals import one_line_exit_2

PREDICTIONS = "3190097247c7492a8ec1.npz"


@pytest.fixture
def store(tmp_path):
    """A store as ganbench leaves it: rows, their lock, and a predictions file under predictions/."""
    folder = tmp_path / "S"
    (folder / "predictions").mkdir(parents=True)
    (folder / "results.jsonl").write_text("".join(json.dumps(good_row(i)) + "\n" for i in range(3)))
    (folder / "results.jsonl.lock").write_text("")
    np.savez_compressed(folder / "predictions" / PREDICTIONS, predicted=np.zeros((1, 10), np.uint8),
                        labels=np.zeros(10, np.uint8))
    return folder


def snapshot(folder) -> dict:
    """Every file under ``folder``, by its digest: a store byte-identical has the same snapshot."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# every command that writes a file for people, with the flag that names the file
WRITERS = {
    "leaderboard": lambda store, out: ["leaderboard", str(store), "--output", out],
    "features export": lambda store, out: ["features", "export", "--model", "pixels", "--out", out],
    "samples export": lambda store, out: ["samples", "export", "--model", "dcgan", "--n", "4", "--out", out],
    "show samples": lambda store, out: ["show", "samples", "--model", "dcgan", "--output", out],
}
# where each would write inside the store: a predictions file, the store's folder, a subfolder
INSIDE = {
    "leaderboard": ["predictions/" + PREDICTIONS, "results.npz", "sub/x.md", "predictions/board.md"],
    "features export": ["predictions/" + PREDICTIONS, "results.npz", "sub/x.safetensors"],
    "samples export": ["predictions/" + PREDICTIONS, "images.npz", "sub", "predictions/pngs"],
    "show samples": ["predictions/x.png", "grid.png", "sub/deeper/x.png"],
}


@pytest.mark.parametrize("command, where", [(c, w) for c, places in INSIDE.items() for w in places])
def test_no_command_writes_into_a_store_folder_or_below_it(store, nothing_loads, command, where):
    before = snapshot(store)
    result = CliRunner().invoke(cli, WRITERS[command](store, str(store / where)))
    one_line_exit_2(result, "result store folder", str(store.resolve()))
    assert snapshot(store) == before


@pytest.mark.parametrize("command", ["leaderboard", "features export", "samples export"])
def test_a_predictions_file_outside_its_store_is_never_written_over(store, tmp_path, nothing_loads, command):
    copy = tmp_path / "kept.npz"
    copy.write_bytes((store / "predictions" / PREDICTIONS).read_bytes())
    before = copy.read_bytes()
    result = CliRunner().invoke(cli, WRITERS[command](store, str(copy)))
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert copy.read_bytes() == before


@pytest.mark.parametrize("command, target, needle", [
    ("leaderboard", "/proc/x.md", "under /proc"),
    ("leaderboard", "/sys/x.md", "under /sys"),
    ("features export", "/proc/x.npz", "under /proc"),
    ("features export", "/sys/x.npz", "under /sys"),
    ("features export", "{file}/x.npz", "is a file, not a folder"),
    ("samples export", "/proc/x.npz", "under /proc"),
    ("samples export", "{file}/pngs", "is a file, not a folder"),
    ("show samples", "out.npz", "written as *.png"),
    ("show samples", "{file}/x.png", "is a file, not a folder"),
    ("features export", "x.pt", "*.npz, *.safetensors"),
    ("leaderboard", "board.npz", "is text, not a *.npz file"),
])
def test_an_unwritable_output_path_is_refused_in_one_line_before_any_model_loads(store, tmp_path, nothing_loads,
                                                                                  command, target, needle):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    target = target.format(file=blocker)
    result = CliRunner().invoke(cli, WRITERS[command](store, target))
    one_line_exit_2(result, needle)
    assert blocker.read_text() == "not a folder"


def test_outputs_beside_a_store_are_written(store, tmp_path):
    target = tmp_path / "out" / "board.md"  # beside the store, not in it
    result = CliRunner().invoke(cli, ["leaderboard", str(store), "--format", "md", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert "0.5020" in target.read_text()


def test_the_guard_is_the_one_place_every_output_option_goes_through():
    """Each command's output option has the guard as its click callback: a new writer cannot skip it unnoticed."""
    from ganbench.cli.export import features_export_command, samples_export_command
    from ganbench.cli.leaderboard import leaderboard_command
    from ganbench.cli.show import show_group
    from ganbench.builtin.probes.memorization.dedup import dedup_command

    commands = [leaderboard_command, features_export_command, samples_export_command, dedup_command,
                *show_group.commands.values()]
    for command in commands:
        (option,) = [p for p in command.params if p.name in ("output", "out")]
        assert option.callback is not None, command.name
        module = option.callback.__module__
        assert module in ("ganbench.store.guard", "ganbench.cli.export"), (command.name, module)
