"""Every ``ganbench`` command quoted in README.md, docs/*.md and benchmarks/*.md runs, or resolves, and the
figures beside it are what it prints or what the committed store holds.

What is read as a command:

- in a fenced shell block (``console``, ``bash``, ``sh``, ``shell`` or no language, holding a ``$ `` prompt or
  ``ganbench`` where a command starts): every command, expanded by bash itself -- ``\\`` continuations,
  ``&&`` chains, ``for`` loops, and the variables the block defines or the prose since the last block defines
  in a code span (``C=(--dataset cifar10 ...)``). bash runs with no program on its PATH and every command
  replaced by a recorder, so nothing but the expansion happens. With prompts, the lines under a command up
  to the next prompt are its output. The block's ``pip install -e X`` must be installed (the repository and
  its plugin packages are; the guide's package is written out as its own test does), and a Python block
  right before it runs first, in the block's folder (the README's features file);
- in prose and tables: a code span ``ganbench …`` that is a complete command. Spans with ``[``, ``]``, an
  ellipsis (``…``, ``...``) or an upper-case placeholder (``M``, ``NAME``, ``FIELD=VALUE``) are syntax
  summaries or elided commands, not commands; a span of command names alone (``ganbench run``) names a
  command; ``a|b`` outside brackets is one command per alternative.

The figures beside a command: every number of the output lines a block shows under it, else those of its
sentence or table row -- decimal fractions with at least three decimals (the form ganbench prints; the
papers' own figures are quoted in their percent form) and, beside a command that reads, ``p = …``.

What is checked, by what the command does:

- **it reads** (``compare``, ``leaderboard``, ``results``, ``reproduce list``, ``reproduce … --dry-run``,
  ``list``, ``plugins``, ``data list``, ``data check``, ``--help``): it runs as written in a folder that
  reads like the repository root (``results/``, ``../shared``; an ``--output`` goes to a temporary folder)
  and exits 0, and every figure beside it is in what it prints, rounded as quoted. One naming ``../shared``
  data that is absent is skipped, saying so;
- **it trains or probes** (``run``, ``sweep``, ``reproduce NAME``, ``show``, ``features export``, ``samples
  export``): the real command line runs up to the point where work would start -- every name, option,
  view, capability and the store checked as for a real run -- and every figure beside it must be carried
  by a committed row of ``results/reference`` that the command would make: the same model and options
  (defaults included), dataset (and copy, where the data is here to tell), seed, schedule asked,
  snapshot, batch-norm statistics, view and probe with its options -- the probe's and model's versions
  aside, and the options a metric's name spells or that change only the work (``ProbeSpec.named_in_metric``,
  ``work_only``). Carried: a row's value, standard error, spread over label draws or a number at the top
  of its details, or the mean or s.d. over the seeds of one configuration (as the leaderboard shows them).
  A command on ``mnist-5k`` whose model does not train takes seconds: it is run for real instead (unless
  it would write into the repository), and its figures must be in what it prints;
- ``data download`` needs the network: it is parsed, and its dataset must have a downloader.

No command is exempt; the only list is ``BEING_REWRITTEN``, the cases of the CIFAR-10 pages that fail
today while another change rewrites them.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import shlex
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from test_plugin_guide import guide_package  # noqa: F401  (the guide's package, for the block that installs it)

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "results" / "reference"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "benchmarks").glob("*.md"))]
SHELL_LANGUAGES = {"", "console", "bash", "sh", "shell", "shell-session"}


# -- reading the docs ----------------------------------------------------------------------------------------
@dataclass
class Command:
    doc: str
    line: int
    text: str  # as written: the prompt line(s) or the code span
    argv: list[str]  # the arguments after `ganbench`, as the shell hands them over
    output: list[str] = field(default_factory=list)  # the lines a console block shows under it

    def __str__(self) -> str:
        return "ganbench " + shlex.join(self.argv)


@dataclass
class Case:
    """What is checked together: a shell block (its commands in order, in one folder), or one sentence or
    table row of prose with the commands quoted in it."""

    doc: str
    line: int
    commands: list[Command]
    context: str = ""  # the sentence or table row (prose only)
    setup: str | None = None  # a Python block just before a shell block: it runs first, in the block's folder
    installs: list[str] = field(default_factory=list)  # `pip install -e X` of the block
    problems: list[str] = field(default_factory=list)  # what could not even be read as a command

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


@dataclass
class Segment:
    kind: str  # "text" or "code"
    line: int  # 1-based line of the first line (for code: of the opening fence)
    lines: list[str]
    language: str = ""


def segments(text: str) -> list[Segment]:
    """The document cut into prose and fenced code blocks."""
    out: list[Segment] = []
    lines = text.splitlines()
    i = 0
    prose: list[str] = []
    prose_start = 1
    while i < len(lines):
        fence = re.match(r"^\s*(```+|~~~+)\s*([\w+-]*)", lines[i])
        if fence:
            if prose:
                out.append(Segment("text", prose_start, prose))
            indent, marker, language = len(lines[i]) - len(lines[i].lstrip()), fence.group(1), fence.group(2).lower()
            body, j = [], i + 1
            while j < len(lines) and not lines[j].strip().startswith(marker):
                line = lines[j]
                body.append(line[min(indent, len(line) - len(line.lstrip())):])  # a block inside a list item
                j += 1
            out.append(Segment("code", i + 1, body, language))
            i, prose, prose_start = j + 1, [], j + 2
            continue
        prose.append(lines[i])
        i += 1
    if prose:
        out.append(Segment("text", prose_start, prose))
    return out


def paragraphs(segment: Segment) -> list[tuple[list[tuple[int, int]], str, bool]]:
    """``(lines, text, is_table_row)``: each table row, list item and paragraph of a prose segment, its lines
    joined by spaces; ``lines`` maps offsets in ``text`` to line numbers, ``[(offset, line), ...]``."""
    out: list[tuple[list[tuple[int, int]], str, bool]] = []
    current: list[tuple[int, str]] = []

    def flush():
        if current:
            lines, text = [], ""
            for number, stripped in current:
                text += (" " if text else "")
                lines.append((len(text), number))
                text += stripped
            out.append((lines, text, False))
            current.clear()

    for offset, line in enumerate(segment.lines):
        number = segment.line + offset
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            flush()
        elif stripped.startswith("|"):
            flush()
            out.append(([(0, number)], stripped, True))
        else:
            if re.match(r"^(\s*)([-*+]|\d+\.)\s", line):
                flush()
            current.append((number, stripped))
    flush()
    return out


SPAN = re.compile(r"(`+)(.+?)\1")


def sentences(paragraph: str) -> list[tuple[int, str]]:
    """``(offset, sentence)``: a paragraph cut at ``.``, ``!`` or ``?`` followed by a space and a capital, a
    backtick or a parenthesis -- never inside a code span."""
    masked = SPAN.sub(lambda m: "x" * len(m.group(0)), paragraph)
    cuts = [m.end() for m in re.finditer(r"[.!?](?=\s+[A-Z`(*])", masked)]
    bounds = [0, *cuts, len(paragraph)]
    return [(a, paragraph[a:b]) for a, b in zip(bounds, bounds[1:]) if paragraph[a:b].strip()]


def line_at(lines: list[tuple[int, int]], offset: int) -> int:
    return [number for start, number in lines if start <= offset][-1]


PLACEHOLDER = re.compile(r"[A-Z][A-Z0-9_]*")


def span_commands(text: str) -> str | list[list[str]]:
    """A code span's commands (argument lists after ``ganbench``); ``"summary"`` for a syntax summary or an
    elided command, ``"name"`` for command names alone, ``"-"`` for a span that is no ganbench command."""
    text = text.strip().replace("\\|", "|")
    if not text.startswith("ganbench "):
        return "-"
    if any(mark in text for mark in ("[", "]", "…", "...")):
        return "summary"
    tokens = shlex.split(text)[1:]
    if any(PLACEHOLDER.fullmatch(part) for token in tokens for part in re.split(r"[=:,.]", token) if part):
        return "summary"
    if all(re.fullmatch(r"[a-z][a-z-]*", t) for t in tokens) and is_command_path(tokens):
        return "name"
    # `a|b` outside brackets: one command per alternative
    return [list(argv) for argv in itertools.product(*map(alternatives, tokens))]


def alternatives(token: str) -> list[str]:
    """``a|b`` -> ``[a, b]``; ``key=a|b`` -> ``[key=a, key=b]``."""
    first, *rest = token.split("|")
    key = first[:first.index("=") + 1] if "=" in first else ""
    return [first, *(r if "=" in r else key + r for r in rest)]


def is_command_path(tokens: list[str]) -> bool:
    """Whether ``tokens`` are command names only: ``run``, ``features export`` (not ``list probes``)."""
    import click

    from ganbench.cli.app import cli

    command: click.Command = cli
    ctx = click.Context(cli)
    for token in tokens:
        if not isinstance(command, click.Group):
            return False
        command = command.get_command(ctx, token)
        if command is None:
            return False
    return True


RECORDER = r"""
set -o pipefail
command_not_found_handle() { return 0; }
__record() { local IFS=; printf '%s\0' "$@" >> "$__RECORD"; printf '\036' >> "$__RECORD"; }
ganbench() { __record ganbench "$@"; }
pip() { __record pip "$@"; }
__mark() { __record __mark "$1"; }
"""


COMMAND_POSITION = re.compile(r"(?:^|[;&|]\s*|\b(?:do|then)\s+)ganbench\s+[a-z-]")  # ganbench as a command


def shell_units(segment: Segment) -> list[tuple[int, str, list[str]]] | None:
    """``(line, text, output lines)`` of each command of a shell block; ``None`` for a block that is none."""
    lines = segment.lines
    prompted = any(line.startswith("$ ") for line in lines)
    if not prompted and not any(COMMAND_POSITION.search(line) for line in lines):
        return None
    if segment.language not in SHELL_LANGUAGES:
        return None
    units: list[tuple[int, str, list[str]]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        is_command = line.startswith("$ ") if prompted else bool(line.strip()) and not line.lstrip().startswith("#")
        if not is_command:
            if units and prompted:
                units[-1][2].append(line)
            i += 1
            continue
        start, text = i, [line[2:] if prompted else line]
        while text[-1].rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            text.append(lines[i])
        units.append((segment.line + 1 + start, "\n".join(text), []))
        i += 1
    return units


def expand(units: list[tuple[int, str, list[str]]], variables: list[str]) -> tuple[list[list[tuple[str, list[str]]]], str]:
    """Each unit's calls ``(program, args)`` as bash expands them, and bash's complaints. Nothing runs: the
    PATH holds no program, ``ganbench`` and ``pip`` are recorders and any other command does nothing."""
    with tempfile.TemporaryDirectory() as folder:
        record = Path(folder) / "record"
        script = "\n".join([RECORDER, *variables, *(f"__mark {i}\n{text}" for i, (_, text, _) in enumerate(units)),
                            f"__mark {len(units)}"])
        done = subprocess.run(["/bin/bash", "--noprofile", "--norc", "-c", script], cwd=folder, text=True,
                              capture_output=True, timeout=60,
                              env={"PATH": str(Path(folder) / "no-programs"), "__RECORD": str(record), "HOME": folder})
        raw = record.read_bytes().decode() if record.exists() else ""
    calls: list[list[tuple[str, list[str]]]] = [[] for _ in units]
    marks_seen = set()
    current = None
    for entry in filter(None, raw.split("\036")):
        program, *args = entry.split("\0")[:-1]
        if program == "__mark":
            current = int(args[0])
            marks_seen.add(current)
            continue
        if current is not None and current < len(units):
            calls[current].append((program, args))
    problems = done.stderr.strip()
    if len(marks_seen) != len(units) + 1:
        problems = problems or "bash stopped before the end of the block"
    return calls, problems


ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=(\(.*\)|\S*)$")


def read_doc(path: Path) -> tuple[list[Case], list[tuple[str, int, str]], list[tuple[str, int, str]]]:
    """The doc's cases, the command names it mentions ``(doc, line, span)`` and its syntax summaries."""
    doc = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
    cases: list[Case] = []
    names: list[tuple[str, int, str]] = []
    summaries: list[tuple[str, int, str]] = []
    parts = segments(path.read_text())
    variables: list[str] = []  # `C=(...)` spans of the prose since the last block
    for index, segment in enumerate(parts):
        if segment.kind == "code":
            units = shell_units(segment)
            if units is not None:
                cases.append(block_case(doc, segment, units, variables, parts[index - 1] if index else None,
                                        parts[index - 2] if index > 1 else None))
            variables = []
            continue
        if any(line.startswith("#") for line in segment.lines):
            variables = []
        for lines, text, is_row in paragraphs(segment):
            variables += [m.group(2) for m in SPAN.finditer(text) if ASSIGNMENT.match(m.group(2))]
            for start, context in ([(0, text)] if is_row else sentences(text)):
                commands, problems = [], []
                for match in SPAN.finditer(context):
                    line = line_at(lines, start + match.start())
                    try:
                        found = span_commands(match.group(2))
                    except ValueError as exc:  # shlex: an unclosed quote
                        problems.append(f"`{match.group(2)}` does not split into words: {exc}")
                        continue
                    if found == "name":
                        names.append((doc, line, match.group(2)))
                    elif found == "summary":
                        summaries.append((doc, line, match.group(2)))
                    elif found != "-":
                        commands += [Command(doc, line, match.group(2), argv) for argv in found]
                if commands or problems:
                    first = commands[0].line if commands else line_at(lines, start)
                    cases.append(Case(doc, first, commands, context=context.strip(), problems=problems))
    return cases, names, summaries


def block_case(doc: str, segment: Segment, units, variables: list[str], before: Segment | None,
               before_that: Segment | None) -> Case:
    calls, problems = expand(units, variables)
    case = Case(doc, segment.line, [], problems=[f"bash: {problems}"] if problems else [])
    for (line, text, output), unit_calls in zip(units, calls):
        for program, args in unit_calls:
            if program == "ganbench":
                case.commands.append(Command(doc, line, text, args, [o for o in output if o.strip()]))
            elif program == "pip" and "-e" in args:
                case.installs += [a for a in args[args.index("-e") + 1:] if not a.startswith("-")]
    # a Python block with nothing but blank lines between it and this block sets it up
    if before is not None and before.kind == "text" and not any(s.strip() for s in before.lines):
        before = before_that
    if before is not None and before.kind == "code" and before.language == "python":
        case.setup = "\n".join(before.lines)
    return case


def read_docs():
    cases, names, summaries = [], [], []
    for path in DOCS:
        c, n, s = read_doc(path)
        cases += c
        names += n
        summaries += s
    return cases, names, summaries


# -- figures ---------------------------------------------------------------------------------------------------
_NOT_A_UNIT = r"(?!\s?(?:s|ms|min|h|GiB|MiB|GB|MB)\b)(?!\s?[×%])"
FIGURE = re.compile(r"(?<![\w.])[+\-−]?\d+\.\d{3,}(?![\d])(?!\.\d)(?![eE][-+−]?\d)" + _NOT_A_UNIT)
P_VALUE = re.compile(r"\bp\s*=\s*(\d+(?:\.\d+)?(?:e[-−]?\d+)?)")
NUMBER = re.compile(r"(?<![\w.])[+\-−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[+\-−]?\d+)?(?![\w])(?!\.\d)"
                    + _NOT_A_UNIT)
HEX = re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{12,}\b")


def number(text: str) -> tuple[float, float]:
    """A number as written and the tolerance its rounding leaves: ``0.916`` -> (0.916, 0.0005)."""
    text = text.replace("−", "-").replace(",", "")
    mantissa, _, exponent = text.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    scale = 10.0 ** int(exponent) if exponent else 1.0
    return float(text), 0.5 * 10.0 ** -decimals * scale


def figures_of(text: str, p_values: bool) -> list[str]:
    found = [m.group(0) for m in FIGURE.finditer(text)]
    if p_values:
        found += [m.group(1) for m in P_VALUE.finditer(text) if m.group(1) not in found]
    return found


def output_tokens(lines: list[str]) -> list[str]:
    """Every number and hex digest of the output lines a block shows (a time with its unit aside)."""
    return [t for line in lines for t in (*(m.group(0) for m in NUMBER.finditer(line)), *HEX.findall(line))]


def printed_numbers(text: str) -> list[float]:
    return [number(m.group(0))[0] for m in NUMBER.finditer(text)]


def in_values(figure: str, values: list[float]) -> bool:
    value, tolerance = number(figure)
    return any(abs(v - value) <= tolerance + 1e-12 * max(1.0, abs(value)) for v in values)


def unmatched(figures: list[str], printed: str, values: list[float]) -> list[str]:
    """The figures that are neither a hex digest in ``printed`` nor, rounded as quoted, one of ``values``."""
    return [f for f in figures if not (HEX.fullmatch(f) and f in printed) and not (not HEX.fullmatch(f)
                                                                                and in_values(f, values))]


# -- what a command is ------------------------------------------------------------------------------------------
READS = {"compare", "leaderboard", "results", "results verify", "list", "plugins", "data list", "data check",
         "reproduce list"}
TRAINS = {"run", "sweep", "reproduce", "features export", "samples export", "show"}
NETWORK = {"data download"}  # fetches from the internet: parsed only


def command_path(argv: list[str]) -> tuple[str, ...]:
    """The command names at the start of ``argv`` (``("features", "export")``), after ganbench's own options."""
    import click

    from ganbench.cli.app import cli

    command: click.Command = cli
    ctx = click.Context(cli)
    path: list[str] = []
    for token in argv:
        if token == "--debug" and not path:
            continue
        if not isinstance(command, click.Group) or token.startswith("-"):
            break
        command = command.get_command(ctx, token)
        if command is None:
            break
        path.append(token)
    return tuple(path)


def kind_of(argv: list[str]) -> str:
    path = command_path(argv)
    if not path:
        return "reads"  # ganbench --help, --version
    name = " ".join(path)
    if name == "reproduce":
        return "reads" if argv[argv.index("reproduce") + 1:][:1] == ["list"] or "--dry-run" in argv else "trains"
    if name in READS:
        return "reads"
    if name in TRAINS or path[0] in TRAINS:
        return "trains"
    if name in NETWORK:
        return "network"
    return "unknown"


def missing_data(argv: list[str], cwd: Path) -> str | None:
    """Why a command cannot run here: the ``../shared`` data it names is absent."""
    for token in argv:
        folder = token.partition("=")[2] if "=" in token and not token.startswith("-") else token
        if "shared/data" in folder and not (cwd / folder).exists():
            return f"needs {folder}, absent here"
    return None


# -- running ----------------------------------------------------------------------------------------------------
class Stopped(Exception):
    """Raised where a command's work would start; carries the jobs it built."""

    def __init__(self, jobs):
        super().__init__(f"{len(jobs)} job(s)")
        self.jobs = jobs


def _stop(extract):
    def stop(*args, **kwargs):
        raise Stopped(extract(*args, **kwargs))
    return stop


# where each command that trains or probes hands its checked jobs over to the work
STOPS = [("ganbench.cli.run", "submit", lambda jobs, *a, **k: list(jobs)),
         ("ganbench.cli.reproduce", "run_missing", lambda planned, *a, **k: [item.job for item in planned]),
         ("ganbench.cli.show", "prepare", lambda job: [job]),
         ("ganbench.cli.export", "prepare", lambda job: [job])]


def _keys_without_data(job):
    """``request_keys`` without opening the data: the job resolved (names, options, views checked), a
    placeholder per probe -- so ``sweep`` and ``reproduce`` reach their work without loading anything."""
    from ganbench.jobs.job import resolve

    return [f"not-computed-{i}" for i, _ in enumerate(resolve(job).probes)]


def invoke(argv: list[str], cwd: Path):
    from click.testing import CliRunner

    from ganbench.cli.app import cli

    previous = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(cli, argv)
    finally:
        os.chdir(previous)


def checked_jobs(command: Command, cwd: Path, monkeypatch) -> tuple[list | None, str]:
    """The jobs a training command builds and checks, run through the real command line up to its work;
    ``(None, why)`` when it stops before (a user error, exit 2)."""
    import importlib

    with monkeypatch.context() as patch:
        for module, name, extract in STOPS:
            patch.setattr(importlib.import_module(module), name, _stop(extract))
        patch.setattr(importlib.import_module("ganbench.jobs.submit"), "request_keys", _keys_without_data)
        result = invoke(command.argv, cwd)
    if isinstance(result.exception, Stopped):
        return result.exception.jobs, result.output
    return None, f"exit {result.exit_code}: {result.output.strip()[-600:] or result.exception!r}"


def is_cheap(jobs) -> bool:
    """Seconds of work: mnist-5k and a model that does not train."""
    from ganbench.jobs.job import resolve

    for job in jobs:
        model = resolve(job).model
        if job.dataset != "mnist-5k" or model is None or getattr(model, "trains", True):
            return False
    return True


# -- the committed rows a command would make -------------------------------------------------------------------
_ROWS: list[dict] | None = None
_FINGERPRINTS: dict[tuple, str | None] = {}


def store_rows() -> list[dict]:
    global _ROWS
    if _ROWS is None:
        from ganbench.store.jsonl import read_rows

        _ROWS = read_rows(STORE, warn=False)
    return _ROWS


def fingerprint(job, cwd: Path) -> str | None:
    """The fingerprint of the job's data where it is here (else ``None``: the dataset's name decides)."""
    from ganbench.jobs.job import load_dataset, resolve

    where = (job.dataset, tuple(sorted(job.dataset_options.items())), job.data_root, str(cwd))
    if where not in _FINGERPRINTS:
        previous = Path.cwd()
        os.chdir(cwd)
        try:
            _FINGERPRINTS[where] = load_dataset(job, resolve(job)).fingerprint
        except Exception:  # not here: the name decides
            _FINGERPRINTS[where] = None
        finally:
            os.chdir(previous)
    return _FINGERPRINTS[where]


def _plain(value):
    return json.loads(json.dumps(value, default=list))


def agree(stored, asked: dict, ignore=()) -> bool:
    """The options both hold agree (a row written before an option existed lacks it)."""
    stored, asked = _plain(stored or {}), _plain(asked)
    return all(stored[k] == asked[k] for k in set(stored) & set(asked) - set(ignore))


def _at_epoch(row: dict):
    return row["at_epoch"] if "at_epoch" in row else (row.get("details") or {}).get("snapshot_epoch")


def _bn_stats(row: dict) -> str:
    from ganbench.store.keys import DEFAULT_BN_STATS

    if "bn_stats" in row:
        return row["bn_stats"] or DEFAULT_BN_STATS
    used = (row.get("feature_config") or {}).get("bn_stats")
    return used if used not in (None, "none") else DEFAULT_BN_STATS


def made_by(row: dict, job, cwd: Path) -> bool:
    """Whether ``row`` is one the job would make (versions aside; see the module docstring)."""
    from ganbench.jobs.job import resolve
    from ganbench.store.keys import dataset_family

    resolved = resolve(job)
    schedule = row.get("schedule") or {}
    if row.get("status") != "ok" or row.get("model") != resolved.model_spec.name or row.get("seed") != job.seed:
        return False
    if dataset_family(row.get("dataset", "")) != dataset_family(job.dataset):
        return False
    if not agree(row.get("model_config"), resolved.model_config):
        return False
    if (fp := fingerprint(job, cwd)) is not None and row.get("dataset_fingerprint") != fp:
        return False
    if schedule and (schedule.get("max_steps") != job.max_steps or any(
            getattr(job, k) is not None and schedule.get(k) != getattr(job, k) for k in ("epochs", "batch_size"))):
        return False
    if _at_epoch(row) != job.at_epoch or _bn_stats(row) != job.bn_stats:
        return False
    if job.views and row.get("feature_view") not in job.views:
        return False
    if not resolved.probes:  # a picture, an export: any probe of that model
        return True
    return any(spec.name == row.get("probe") and agree(row.get("probe_config"), options,
                                                       (*spec.named_in_metric, *spec.work_only))
               for spec, options in resolved.probes)


def settings(row: dict) -> dict:
    """A row's probe options that can change its figure (as the leaderboard groups rows: not those its metric's
    name spells, nor those that change only the work)."""
    from ganbench.plugins import get_registry

    try:
        spec = get_registry().get("probe", row.get("probe"))
        ignore = {*spec.named_in_metric, *spec.work_only}
    except Exception:  # a probe not installed here: every option counts
        ignore = set()
    return {k: v for k, v in (row.get("probe_config") or {}).items() if k not in ignore}


def _numbers_in(value) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float)):
        return [float(value)] if math.isfinite(value) else []
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers_in(v)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers_in(v)]
    return []


def carried(jobs, cwd: Path) -> tuple[list[float], int]:
    """The figures the committed rows of ``jobs`` carry, and how many rows that is: each row's value,
    standard error, spread over label draws and the numbers at the top of its details; each configuration's
    mean and s.d. over seeds."""
    import statistics

    rows = [r for r in store_rows() if any(made_by(r, job, cwd) for job in jobs)]
    values: list[float] = []
    by_configuration: dict[str, dict] = {}
    for row in rows:
        # the details' own figures (a quality row's classifier accuracy), not what is nested in them (every C's
        # validation accuracy, the training's statistics): many numbers would let a wrong figure match by chance
        details = row.get("details") or {}
        values += _numbers_in([row.get("value"), row.get("stderr"),
                               [v for v in details.values() if not isinstance(v, (dict, list))]])
        draws = (row.get("details") or {}).get("draws")
        if isinstance(draws, int) and draws > 1 and isinstance(row.get("stderr"), (int, float)):
            values.append(row["stderr"] * math.sqrt(draws))
        configuration = json.dumps([row.get(k) for k in (
            "model", "model_version", "model_config", "dataset_fingerprint", "probe", "probe_version", "feature_view",
            "metric")] + [settings(row), _at_epoch(row), _bn_stats(row), (row.get("schedule") or {}).get("epochs"),
                                          (row.get("schedule") or {}).get("max_steps")], sort_keys=True, default=str)
        by_configuration.setdefault(configuration, {})[row.get("seed")] = row["value"]  # a seed's latest row
    for seeds in by_configuration.values():
        if len(seeds) > 1:
            values += [statistics.mean(seeds.values()), statistics.stdev(seeds.values())]
    return values, len(rows)


def parse_only(argv: list[str]) -> None:
    """click's parsing of ``argv`` through the groups to its command (a bad option raises click's error)."""
    import click

    from ganbench.cli.app import cli

    command: click.Command = cli
    ctx = cli.make_context("ganbench", list(argv))
    while isinstance(command, click.Group):
        name, command, rest = command.resolve_command(ctx, [*getattr(ctx, "_protected_args", []), *ctx.args])
        ctx = command.make_context(name, rest, parent=ctx)
    if command.name == "download":  # the dataset must be one that has a downloader
        from ganbench.plugins import get_registry

        spec = get_registry().get("dataset", ctx.params["name"])
        assert spec.download is not None, f"dataset {spec.name!r} has no downloader"


# -- one case ---------------------------------------------------------------------------------------------------
def case_folder(tmp_path: Path) -> Path:
    """A folder that reads like the repository root (its entries linked, ``../shared`` too) and where a real
    run's own files land apart from the repository."""
    work = tmp_path / "work"
    folder = work / ROOT.name
    folder.mkdir(parents=True)
    for entry in ROOT.iterdir():
        if entry.name not in {".git", "ganbench-results", ".ganbench-cache"}:
            (folder / entry.name).symlink_to(entry)
    if (ROOT.parent / "shared").exists():
        (work / "shared").symlink_to(ROOT.parent / "shared")
    return folder


WRITE_OPTIONS = ("--results", "--out", "--output", "--cache-dir")


def writes_into_repository(argv: list[str], folder: Path) -> bool:
    """Whether a command would write through the links into the repository (``--results results/reference``)."""
    for flag, value in zip(argv, argv[1:]):
        if flag in WRITE_OPTIONS and (folder / value).resolve().is_relative_to(ROOT.resolve()):
            return True
    return False


def redirect_output(argv: list[str], tmp_path: Path) -> list[str]:
    """``--output FILE`` of a command that reads goes to a temporary folder (never over the committed file)."""
    out = list(argv)
    for i, token in enumerate(out[:-1]):
        if token == "--output":
            out[i + 1] = str(tmp_path / "outputs" / Path(out[i + 1]).name)
            (tmp_path / "outputs").mkdir(exist_ok=True)
    return out


_PRINTED: dict[tuple, str] = {}  # a command that reads, run in the repository's own state -> what it printed


@dataclass
class Outcome:
    """What checking one command gave: a failure, a skip, what it printed (it ran), or the figures its
    committed rows carry (it was resolved)."""

    failure: str | None = None
    skipped: str | None = None
    printed: str | None = None
    carried: list[float] | None = None
    changed_folder: bool = False  # a real run: its files are in the folder now


def check_command(command: Command, folder: Path, tmp_path: Path, monkeypatch, pristine: bool) -> Outcome:
    where = f"{command.doc}:{command.line}: `{command}`"
    kind = kind_of(command.argv)
    if kind == "unknown":
        return Outcome(failure=f"{where}: no rule says how to check `ganbench {' '.join(command_path(command.argv))}`"
                               " (READS, TRAINS or NETWORK in this test)")
    if kind == "network":
        try:
            parse_only(command.argv)
        except Exception as exc:
            return Outcome(failure=f"{where}: does not parse: {exc}")
        return Outcome()
    if kind == "reads":
        if (why := missing_data(command.argv, folder)) is not None:
            return Outcome(skipped=f"{where}: {why}")
        key = tuple(command.argv)
        if pristine and key in _PRINTED:
            return Outcome(printed=_PRINTED[key])
        result = invoke(redirect_output(command.argv, tmp_path), folder)
        if result.exit_code != 0:
            return Outcome(failure=f"{where}: exited {result.exit_code}: {result.output.strip()[-600:]}")
        if pristine:
            _PRINTED[key] = result.output
        return Outcome(printed=result.output)
    jobs, said = checked_jobs(command, folder, monkeypatch)  # trains or probes
    if jobs is None:
        return Outcome(failure=f"{where}: refused before its work: {said}")
    if is_cheap(jobs) and not writes_into_repository(command.argv, folder):
        result = invoke(command.argv, folder)  # seconds: run it for real
        if result.exit_code != 0:
            return Outcome(failure=f"{where}: exited {result.exit_code}: {result.output.strip()[-600:]}")
        return Outcome(printed=result.output, changed_folder=True)
    return Outcome(carried=carried(jobs, folder)[0])


def provide_installs(case: Case, request) -> list[str]:
    """What a block's ``pip install -e X`` installs must be there: the repository and its plugin packages are
    (the test environment installs them), the guide's package is written out by its test's fixture."""
    import tomllib

    from test_plugin_guide import guide_files

    failures = []
    for target in case.installs:
        path = target.split("[")[0]
        if path in {".", ""} or (ROOT / path).exists():
            continue
        if target == tomllib.loads(guide_files()["pyproject.toml"])["project"]["name"]:
            request.getfixturevalue("guide_package")
        else:
            failures.append(f"{case.id}: installs {target!r}, which the test cannot provide")
    return failures


def check_case(case: Case, tmp_path: Path, monkeypatch, request) -> tuple[list[str], list[str]]:
    """Run or resolve every command of ``case`` in order, then hold its figures against what they printed
    or what their committed rows carry; ``(failures, why a check was skipped)``."""
    failures = [f"{case.id}: {problem}" for problem in case.problems] + provide_installs(case, request)
    skipped: list[str] = []
    folder = case_folder(tmp_path)
    if case.setup:
        previous = Path.cwd()
        os.chdir(folder)
        try:
            exec(compile(case.setup, f"{case.id} (the Python block before it)", "exec"), {"__name__": "__docs__"})
        finally:
            os.chdir(previous)
    pristine = not case.setup
    printed_all: list[str] = []
    carried_all: list[float] = []
    for command in case.commands:
        outcome = check_command(command, folder, tmp_path, monkeypatch, pristine)
        pristine = pristine and not outcome.changed_folder
        where = f"{command.doc}:{command.line}: `{command}`"
        if outcome.failure or outcome.skipped:
            failures += [outcome.failure] if outcome.failure else []
            skipped += [outcome.skipped] if outcome.skipped else []
            continue
        if outcome.printed is not None:
            printed_all.append(outcome.printed)
            if command.output:  # every number of what the block shows under it is printed
                missing = unmatched(output_tokens(command.output), outcome.printed, printed_numbers(outcome.printed))
                failures += [f"{where}: prints no {token} (the block shows it under the command)" for token in missing]
        elif outcome.carried is not None:
            carried_all += outcome.carried
            if command.output:  # the figures it shows as its output are rows it would make
                missing = unmatched(figures_of("\n".join(command.output), False), "", outcome.carried)
                failures += [f"{where}: {figure}, shown as its output, is in no committed row it would make"
                             for figure in missing]
    if case.context:
        reads = any(kind_of(c.argv) == "reads" for c in case.commands)
        printed = "\n".join(printed_all)
        missing = unmatched(figures_of(case.context, p_values=reads), printed, printed_numbers(printed) + carried_all)
        if missing and skipped:  # what was skipped might have printed them
            return failures, skipped
        failures += [f"{case.id}: {figure} is neither printed by nor carried by a committed row of "
                     f"{'; '.join('`' + str(c) + '`' for c in case.commands)}" for figure in missing]
    return failures, skipped


CASES, NAMES, SUMMARIES = read_docs()

# benchmarks/fidelity_cifar10.md and the CIFAR-10 rows of benchmarks/README.md are being rewritten for issue 34
# (every GAN on CIFAR-10); these of their cases fail today, each for the reason given. strict: a case fixed by
# the rewrite fails as XPASS until its line is taken out here, and an entry naming no case fails
# test_every_case_said_to_be_rewritten_is_quoted -- so the list only shrinks.
BEING_REWRITTEN: dict[str, str] = {}  # file:line -> why it fails today; empty: every quoted command holds


def _params():
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=BEING_REWRITTEN[case.id])] if case.id in BEING_REWRITTEN else []
        yield pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", list(_params()))
def test_every_quoted_command_runs_or_resolves_and_its_figures_hold(case, tmp_path, monkeypatch, request,
                                                                     fresh_plugins):
    failures, skipped = check_case(case, tmp_path, monkeypatch, request)
    assert not failures, "\n".join(failures)
    if skipped:
        pytest.skip("; ".join(skipped))


def test_every_case_said_to_be_rewritten_is_quoted():
    assert set(BEING_REWRITTEN) <= {case.id for case in CASES}, "take the entries that name no case out"


def test_the_docs_quote_commands_of_every_kind():
    """The reading finds what the docs hold: so a change of the docs' form cannot make the test check nothing."""
    quoted = [c for case in CASES for c in case.commands]
    kinds = {kind_of(c.argv) for c in quoted}
    assert {"reads", "trains", "network"} <= kinds
    assert sum(bool(c.output) for c in quoted) >= 5  # console blocks with output
    assert any(case.setup for case in CASES)  # the README's features file, written by its Python block
    assert {case.doc for case in CASES} >= {"README.md", "docs/plugins.md", "benchmarks/README.md",
                                            "benchmarks/fidelity_cifar10.md"}
    assert NAMES and SUMMARIES  # `ganbench run` named; `ganbench run --model M …` summarised


# -- the checks themselves fail where they should -----------------------------------------------------------------
def _case_from(markdown: str, tmp_path: Path) -> Case:
    doc = tmp_path / "doc.md"
    doc.write_text(markdown)
    return read_doc(doc)[0][0]


COMPARE = ("$ ganbench compare --results results/reference --a dataset=mnist-5k --a model=pixels --a probe=knn \\\n"
           "      --b dataset=mnist-5k --b model=pixels --b probe=svm --b metric=acc\n")


@pytest.mark.parametrize("shown, fails", [
    ("B − A  -0.0450   95% CI [-0.0628, -0.0270]   p = 1.03e-06", False),
    ("B − A  -0.0451   95% CI [-0.0628, -0.0270]   p = 1.03e-06", True),  # a figure changed
    ("B − A  -0.0450   95% CI [-0.0628, -0.0270]   p = 2.03e-06", True),
])
def test_a_changed_figure_under_a_command_that_reads_fails(shown, fails, tmp_path, monkeypatch, request,
                                                          fresh_plugins):
    case = _case_from(f"```console\n{COMPARE}{shown}\n```\n", tmp_path)
    failures, _ = check_case(case, tmp_path, monkeypatch, request)
    assert bool(failures) == fails, failures


@pytest.mark.parametrize("sentence, fails", [
    ("Raw pixels score 0.9173 (`ganbench run --model pixels --dataset mnist --probe svm`).", False),
    ("Raw pixels score 0.9174 (`ganbench run --model pixels --dataset mnist --probe svm`).", True),
    # 0.9163 is the standardised row's: not a row of the raw command
    ("Raw pixels score 0.9163 (`ganbench run --model pixels --dataset mnist --probe svm`).", True),
    ("Raw pixels score 0.9163 (`ganbench run --model pixels --dataset mnist --probe svm "
     "--probe-opt standardize=true`).", False),
    ("It stops (`ganbench run --model pixels --dataset mnist --probe svm --probe-opt standardise=true`).", True),
    ("It stops (`ganbench run --model pixls --dataset mnist --probe svm`).", True),
    ("It stops (`ganbench run --model random-d --view e --dataset mnist --probe svm`).", True),
])
def test_a_training_command_must_resolve_and_its_figures_be_its_rows(sentence, fails, tmp_path, monkeypatch, request,
                                                                    fresh_plugins):
    case = _case_from(sentence + "\n", tmp_path)
    failures, _ = check_case(case, tmp_path, monkeypatch, request)
    assert bool(failures) == fails, failures


def test_a_block_that_stops_parsing_fails(tmp_path, monkeypatch, request, fresh_plugins):
    case = _case_from("```console\n$ ganbench compare --results results/reference --a model=pixels \"\n```\n",
                      tmp_path)
    assert check_case(case, tmp_path, monkeypatch, request)[0]


@pytest.mark.parametrize("span, expected", [
    ("ganbench run --model M --probe P [--probe P2 …]", "summary"),
    ("ganbench reproduce FILE.toml", "summary"),
    ("ganbench compare … --a at_epoch=20 … --b …", "summary"),
    ("ganbench run", "name"),
    ("ganbench features export", "name"),
    ("ganbench list probes", [["list", "probes"]]),
    ("ganbench run --model pixels --probe svm --probe-opt standardize=true\\|false",
     [["run", "--model", "pixels", "--probe", "svm", "--probe-opt", "standardize=true"],
      ["run", "--model", "pixels", "--probe", "svm", "--probe-opt", "standardize=false"]]),
])
def test_code_spans_are_read_as_commands_names_or_summaries(span, expected):
    assert span_commands(span) == expected


if __name__ == "__main__":  # a listing of what the docs quote, for a person
    for listed in CASES:
        print(f"== {listed.id} setup={bool(listed.setup)} installs={listed.installs} problems={listed.problems}")
        if listed.context:
            print("   context:", listed.context[:300])
        for quoted in listed.commands:
            print("   $", quoted, "| output:", quoted.output[:3])
    print("names:", len(NAMES), "summaries:", len(SUMMARIES))
