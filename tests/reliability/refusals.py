"""What every refusal of bad input looks like, checked in one place: exit code 2 and one line."""


def one_line_exit_2(result, *needles):
    """``result`` (click's CliRunner) exited 2 with one line, ``Error: ...``, naming every needle; no traceback."""
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
