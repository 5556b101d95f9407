"""Output for people: no carriage return in a redirected log; a torch / torchvision mismatch and a full cache
disk are each one line that says what is wrong and how to fix it."""

import errno
import io
import os
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner

import ganbench
from ganbench.cli.app import cli

from .toy_plugins import toys  # noqa: F401  (fixture)

NMS = "operator torchvision::nms does not exist"


@pytest.mark.slow
def test_ganbench_run_with_stderr_in_a_file_writes_no_carriage_return(tmp_path):
    """The acceptance run: a 4-step dcgan on mnist-5k (the training bar appears), stderr redirected to a file."""
    log = tmp_path / "log"
    args = ["run", "--model", "dcgan", "--model-opt", "width=4", "--model-opt", "nz=8", "--max-steps", "4",
            "--batch-size", "16", "--view", "d-last", "--probe", "knn", "--probe-opt", "k=1", "--probe-opt",
            "metric=l2", "--probe-opt", "instdisc=false", "--device", "cpu", "--results", str(tmp_path / "store"),
            "--cache-dir", str(tmp_path / "cache")]
    with open(log, "wb") as err:
        done = subprocess.run([sys.executable, "-c", "from ganbench.cli.app import main; main()", *args], stderr=err,
                              stdout=subprocess.PIPE, env={**os.environ, "COLUMNS": "100"}, timeout=300)
    text = log.read_bytes()
    assert done.returncode == 0, text.decode()
    assert b"\r" not in text, text[:2000]
    progress = [line for line in text.decode().splitlines() if line.startswith("train DCGAN")]
    assert 1 <= len(progress) <= 11 and "100% 4/4 step" in progress[-1], text.decode()


def test_progress_is_a_few_plain_lines_off_a_terminal_and_a_bar_on_one():
    from ganbench.system.progress import Progress

    stream = io.StringIO()
    bar = Progress(1000, 0, "train X", "step", stream=stream)
    for _ in range(1000):
        bar.set_postfix({"loss": "0.5"})
        bar.update(1)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue() and len(lines) == 10
    assert lines[0].startswith("train X:  10% 100/1000 step") and lines[-1].startswith("train X: 100% 1000/1000 step")
    assert "loss=0.5" in lines[-1]

    resumed = io.StringIO()
    bar = Progress(10, 7, "train X", "step", stream=resumed)
    for _ in range(3):
        bar.update(1)
    assert [line.split(" [")[0] for line in resumed.getvalue().splitlines()] == [
        "train X:  80% 8/10 step", "train X:  90% 9/10 step", "train X: 100% 10/10 step"]

    class Terminal(io.StringIO):
        def isatty(self):
            return True
    terminal = Terminal()
    bar = Progress(5, 0, "train X", "step", stream=terminal)
    bar.update(5)
    bar.close()
    assert "\r" in terminal.getvalue()  # tqdm's bar, redrawn in place, where a person watches it


class BrokenPairModel(ganbench.Model):
    trains = False

    def __init__(self, **options):
        raise RuntimeError(NMS)  # what `import torchvision` raises when it was built for another torch


def test_a_torch_torchvision_mismatch_is_one_line_exit_2(toys, tmp_path, monkeypatch):
    toys.add("model", ganbench.ModelSpec("broken-pair", BrokenPairModel, "imports a mismatched torchvision"), "tests")
    result = CliRunner().invoke(cli, ["run", "--model", "broken-pair", "--dataset", "toy-data", "--probe", "toy-probe",
                                      "--device", "cpu", "--results", str(tmp_path / "store")])
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: torch ") and "not a matching pair" in line and "torchvision::nms" in line
    assert "pip install --force-reinstall torch torchvision" in line
    assert not (tmp_path / "store").exists()  # no failed row per job: nothing can run until it is fixed

    from ganbench.cli import leaderboard as leaderboard_cli
    def broken(*args, **kwargs):
        raise RuntimeError(NMS)
    monkeypatch.setattr(leaderboard_cli, "load_results", broken)  # raised by any command, not only run's jobs
    result = CliRunner().invoke(cli, ["leaderboard", str(tmp_path)])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
    assert "not a matching pair" in result.output


@pytest.mark.parametrize("failure", ["oserror", "torch-zip-writer"])
def test_a_full_cache_disk_during_training_is_one_line_naming_the_path(toys, tmp_path, monkeypatch, failure):
    real_save = torch.save

    def save(obj, target, *args, **kwargs):
        if str(target).endswith("checkpoint.pt.tmp"):
            if failure == "oserror":
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            # torch's zip writer wraps the OSError: this is what a real full disk gave
            raise RuntimeError("[enforce fail at inline_container.cc:595] . unexpected pos 8960 vs 8854")
        return real_save(obj, target, *args, **kwargs)
    monkeypatch.setattr(torch, "save", save)
    if failure == "torch-zip-writer":  # and the disk has next to nothing left
        from ganbench.system import disk
        monkeypatch.setattr(disk, "free_bytes", lambda path: 4096)
    cache = tmp_path / "cache"
    result = CliRunner().invoke(cli, ["run", "--model", "dcgan", "--model-opt", "width=4", "--model-opt", "nz=8",
                                      "--dataset", "toy-data", "--max-steps", "3", "--batch-size", "4",
                                      "--checkpoint-every", "1", "--probe", "toy-probe", "--device", "cpu",
                                      "--results", str(tmp_path / "store"), "--cache-dir", str(cache)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and result.output.strip().splitlines()[-1] == errors[0], result.output
    assert "is full" in errors[0] and "ENOSPC" in errors[0] and str(cache / "models") in errors[0]
    assert "checkpoint.pt" in errors[0] and "--cache-dir" in errors[0]
    assert not list(cache.rglob("*.tmp"))  # no partial temporary left


def test_a_torch_write_failure_with_space_left_is_not_called_a_full_disk(tmp_path, monkeypatch):
    from ganbench.system import disk
    monkeypatch.setattr(disk, "free_bytes", lambda path: 10 << 30)
    assert disk.disk_full(RuntimeError("unexpected pos 1 vs 2"), tmp_path / "x", "fix") is None
    assert disk.disk_full(ValueError("no"), tmp_path / "x", "fix") is None
    full = disk.disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"), tmp_path / "x", "Free space.")
    assert "Disk quota exceeded" in str(full) and str(tmp_path) in str(full)


def test_the_test_suite_with_a_mismatched_torchvision_stops_in_one_line_naming_the_fix(tmp_path):
    """`pytest -q` where torchvision was built for another torch (a stub that raises what such a torchvision
    raises, first on the path): one line naming both versions and the reinstall, exit 2, no traceback, no test
    module collected (each would fail on its own `import torchvision`)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    stub = tmp_path / "stub" / "torchvision"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text(f"raise RuntimeError({NMS!r})\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(stub.parent), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "tests/test_knn.py"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 2, output
    (line,) = output.splitlines()
    assert "torch " in line and "not a matching pair" in line and NMS in line, line
    assert "pip install --force-reinstall torch torchvision" in line
    assert "Traceback" not in output and "collected" not in output


def test_a_file_written_for_people_gets_the_mode_open_would_give_it(tmp_path):
    """Written through a private temporary file, the leaderboard must not end up readable by its owner only."""
    import os
    import stat

    from ganbench.store.guard import write_text_atomically

    previous = os.umask(0o022)
    try:
        write_text_atomically(tmp_path / "LEADERBOARD.md", "| a |\n")
        os.umask(0o077)
        write_text_atomically(tmp_path / "private.md", "| b |\n")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "LEADERBOARD.md").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "private.md").stat().st_mode) == 0o600


def test_a_link_is_written_through_and_stays_a_link(tmp_path):
    from ganbench.store.guard import write_text_atomically

    target = tmp_path / "shared" / "LEADERBOARD.md"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "LEADERBOARD.md"
    link.symlink_to(target)
    write_text_atomically(link, "| new |\n")
    assert link.is_symlink() and target.read_text() == "| new |\n"


@pytest.mark.parametrize("through", ["/proc/self/fd/1", "link to it"])
def test_output_to_stdout_appends_to_what_the_shell_redirected_and_replaces_nothing(tmp_path, through):
    """``--output /dev/stdout >> log``: the table is added to the log; /dev/stdout (or a link to it) stays a link."""
    out = through
    if through == "link to it":
        out = str(tmp_path / "out")
        (tmp_path / "out").symlink_to("/proc/self/fd/1")
    log = tmp_path / "log.txt"
    log.write_text("old\n")
    with open(log, "a") as appended:
        subprocess.run([sys.executable, "-c", "import sys; from ganbench.store.guard import write_text_atomically; "
                        "write_text_atomically(sys.argv[1], '| new |\\n')", out], stdout=appended, check=True)
    assert log.read_text() == "old\n| new |\n"
    if through == "link to it":
        assert (tmp_path / "out").is_symlink()
