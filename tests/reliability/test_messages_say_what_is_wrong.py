"""Clear refusals where the last pass found silence or the wrong words (issue 37, item 10): ``samples export --n``
bounded before work, a repeated option with two values refused naming both, a CSV cell that starts with spaces
before a formula prefixed like any other."""

import csv
import io

import pytest
from click.testing import CliRunner

from ganbench.cli.app import cli
from ganbench.reports.escape import csv as csv_cell
from .refusals import one_line_exit_2


def test_samples_export_of_a_billion_images_is_refused_before_any_model_loads(tmp_path, nothing_loads):
    result = CliRunner().invoke(cli, ["samples", "export", "--model", "dcgan", "--n", "1000000000",
                                      "--out", str(tmp_path / "s.npz")])
    one_line_exit_2(result, "--n", "100000")
    assert not (tmp_path / "s.npz").exists()


@pytest.mark.parametrize("command", [
    ["run", "--model", "dcgan", "--probe", "knn"],
    ["features", "export", "--model", "dcgan", "--out", "{tmp}/f.npz"],
    ["show", "samples", "--model", "dcgan"],
])
@pytest.mark.parametrize("first, second, shown", [
    ("width=16", "width=32", "width"),
    ("dcgan.width=16", "width=32", "dcgan.width (or width)"),
])
def test_a_repeated_model_option_with_two_values_is_refused_naming_both(tmp_path, nothing_loads, command, first,
                                                                        second, shown):
    if command[0] != "run" and first.startswith("dcgan."):
        pytest.skip("only run and sweep route MODEL.KEY options")
    args = [a.format(tmp=tmp_path) for a in command]
    result = CliRunner().invoke(cli, [*args, "--model-opt", first, "--model-opt", second,
                                      "--results", str(tmp_path / "R")] if command[0] == "run" else
                                [*args, "--model-opt", first, "--model-opt", second])
    one_line_exit_2(result, f"--model-opt {shown} is given twice", "'16'", "'32'")


def test_a_repeated_option_with_one_value_is_that_option_once():
    from ganbench.api.options import split_assignments

    assert split_assignments(["k=1", "k=1", "metric=l2"], "--probe-opt") == [("k", "1"), ("k", "1"), ("metric", "l2")]


@pytest.mark.parametrize("cell", [" =1+1", "   =HYPERLINK(\"x\")", "\t=1", " +1", "\u00a0=1+1"])
def test_a_csv_cell_starting_with_spaces_then_a_formula_is_prefixed(cell):
    assert csv_cell(cell) == "'" + cell
    buffer = io.StringIO()
    csv.writer(buffer).writerow([csv_cell(cell)])
    assert next(csv.reader(io.StringIO(buffer.getvalue())))[0].startswith("'")
