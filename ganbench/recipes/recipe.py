"""A recipe: one published table as data -- the jobs that reproduce it and the figures it is read against.

A recipe is a TOML file (format in docs/plugins.md, *Recipes*), read with
:mod:`tomllib` and no torch. :func:`parse` turns it into a :class:`Recipe`
(a malformed file is one line); :func:`check` looks up every model, option,
probe, dataset, view and published figure it names and refuses the first
unknown one in one line (``UsageError``, exit 2) -- before anything trains.
:func:`requests` expands its jobs into :class:`Request` objects (one per
seed) whose keys are the store's ``job_key`` (:mod:`ganbench.store.keys`).
"""

from __future__ import annotations

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ganbench.system.errors import UsageError
from ganbench.api.options import resolve_options
from ganbench.api.registry_names import suggest
from ganbench.system.paths import path_kind

SCHEDULE = ("epochs", "max_steps", "batch_size", "at_epoch")
JOB_FIELDS = {"id", "model", "model_options", "dataset", "dataset_options", "probes", "views", "seeds", "bn_stats",
              "label", *SCHEDULE}
ROW_FIELDS = {"label", "jobs", "view", "published", "baseline"}
FIGURE_FIELDS = {"id", "title", "probe", "metric"}
TOP_FIELDS = {"name", "title", "description", "jobs", "figures", "rows", "with", "known_data_roots"}
MAX_SEED = 2**32 - 1  # torch's and numpy's seeds, as `ganbench run --seed` takes them


@dataclass
class ProbeEntry:
    name: str
    options: dict[str, str] = field(default_factory=dict)


@dataclass
class JobEntry:
    """One line of the recipe's runs: a model on a dataset, its schedule, its probes, views and seeds."""

    id: str
    model: str
    dataset: str
    probes: list[ProbeEntry]
    model_options: dict[str, str] = field(default_factory=dict)
    dataset_options: dict[str, str] = field(default_factory=dict)
    views: list[str] | None = None
    seeds: list[int] = field(default_factory=lambda: [0])
    epochs: int | None = None
    max_steps: int | None = None
    batch_size: int | None = None
    at_epoch: int | None = None
    bn_stats: str = "train-images"
    label: str = ""


@dataclass
class Figure:
    """A column of the paper's table: one metric of one probe."""

    id: str
    title: str
    probe: str
    metric: str


@dataclass
class TableRow:
    """A row of the paper's table: our figures from ``jobs`` on ``view``, beside the published ones
    (figure id -> key of a ``references.csv`` row). No jobs: a published figure alone."""

    label: str
    jobs: list[str] = field(default_factory=list)
    view: str | None = None
    published: dict[str, str] = field(default_factory=dict)
    baseline: bool = False


@dataclass
class Recipe:
    name: str
    title: str
    description: str
    source: str
    plugin: str = ""
    jobs: list[JobEntry] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    rows: list[TableRow] = field(default_factory=list)
    with_job: JobEntry | None = None  # what `--with MODEL` runs: this job with the user's model


@dataclass
class Request:
    """A recipe job with one seed: the fields of a :class:`ganbench.Job` (torch-free)."""

    model: str
    dataset: str
    probes: list[ProbeEntry]
    model_options: dict[str, str]
    dataset_options: dict[str, str]
    seed: int
    views: list[str] | None
    epochs: int | None
    max_steps: int | None
    batch_size: int | None
    at_epoch: int | None
    bn_stats: str
    data_root: str | None = None
    dedup: bool = False
    entry: str = ""  # the recipe job's id

    def job_fields(self) -> dict[str, Any]:
        """Keyword arguments of :class:`ganbench.Job` (probes still to be made ``ProbeRequest``)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "entry"}


# -- reading ----------------------------------------------------------------
def read(source, plugin: str = "") -> Recipe:
    """Parse the recipe file ``source`` (a path or an ``importlib.resources`` file)."""
    where = str(source)
    if isinstance(source, (str, Path)):
        kind = path_kind(source)
        if kind == "missing":
            raise UsageError(f"Recipe file {where} does not exist.")
        if kind != "a regular file":  # a FIFO would be waited on forever; a folder or a loop is no recipe
            raise UsageError(f"Recipe file {where} is {kind}, not a regular file; give a recipe file (NAME.toml).")
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8") if hasattr(source, "read_text")
                             else Path(source).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"Recipe file {where} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"Recipe file {where} cannot be read: {type(exc).__name__}: {exc}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"Recipe file {where} is not valid TOML: {exc}.") from None
    except RecursionError:
        raise UsageError(f"Recipe file {where}: a value is nested too deeply to read (arrays or tables inside one "
                         f"another hundreds of levels deep); a recipe's values are a few levels deep.") from None
    try:
        return parse(data, where, plugin)
    except RecursionError:
        raise UsageError(f"Recipe file {where}: a value is nested too deeply; a recipe's values are a few levels "
                         f"deep.") from None


def _fail(where: str, text: str):
    raise UsageError(f"Recipe {where}: {text}")


def _str(value, where: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        _fail(where, f"{what} must be a non-empty string, got {value!r:.60}.")
    return value


def _int(value, where: str, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(where, f"{what} must be an integer, got {value!r:.60}.")
    return value


def option_text(value) -> str:
    """A TOML value as the ``--*-opt`` string the option parser reads (``[1, 5]`` -> ``"1,5"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(option_text(v) for v in value)
    return str(value)


def _options(value, where: str, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        _fail(where, f"{what} must be a table of option = value, got {value!r:.60}.")
    return {str(k): option_text(v) for k, v in value.items()}


def _probes(value, where: str) -> list[ProbeEntry]:
    if not isinstance(value, list) or not value:
        _fail(where, "probes must be a non-empty list, e.g. probes = [{ name = \"knn\" }].")
    out = []
    for item in value:
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or set(item) - {"name", "options"}:
            _fail(where, f"each probe is a name or {{ name = ..., options = {{...}} }}, got {item!r:.60}.")
        out.append(ProbeEntry(_str(item.get("name"), where, "a probe's name"), _options(item.get("options"), where, "probe options")))
    return out


def _job(data: dict, where: str, needs_model: bool = True) -> JobEntry:
    unknown = set(data) - JOB_FIELDS
    if unknown:
        _fail(where, f"unknown field(s) {', '.join(sorted(unknown))}; a job has {', '.join(sorted(JOB_FIELDS))}.")
    views = data.get("views")
    if views is not None and (not isinstance(views, list) or not all(isinstance(v, str) for v in views)):
        _fail(where, f"views must be a list of view names, got {views!r:.60}.")
    seeds = data.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(
            _int(s, where, "a seed") is not None and 0 <= s <= MAX_SEED for s in seeds):
        _fail(where, f"seeds must be a non-empty list of integers from 0 to 2**32-1 ({MAX_SEED}), got {seeds!r:.60}.")
    return JobEntry(
        id=_str(data.get("id", "with"), where, "id"),
        model=_str(data.get("model"), where, "model") if needs_model else "",
        dataset=_str(data.get("dataset"), where, "dataset"),
        probes=_probes(data.get("probes"), where),
        model_options=_options(data.get("model_options"), where, "model_options"),
        dataset_options=_options(data.get("dataset_options"), where, "dataset_options"),
        views=views, seeds=list(dict.fromkeys(seeds)),
        **{k: _int(data.get(k), where, k) for k in SCHEDULE},
        bn_stats=_str(data.get("bn_stats", "train-images"), where, "bn_stats"),
        label=str(data.get("label", "")),
    )


def parse(data: dict, where: str, plugin: str = "") -> Recipe:
    """A :class:`Recipe` from a parsed TOML document; its structure checked, its names not yet."""
    name = _str(data.get("name"), where, "name")
    here = f"'{name}' ({where})"
    unknown = sorted(set(data) - TOP_FIELDS)
    if unknown:
        _fail(here, f"unknown top-level key(s) {', '.join(map(repr, unknown))}.{suggest(unknown[0], sorted(TOP_FIELDS))} "
                    f"A recipe has {', '.join(sorted(TOP_FIELDS))}.")
    if not data.get("jobs"):
        _fail(here, "has no [[jobs]], so it would run nothing; a recipe needs at least one [[jobs]] table "
                    "(docs/plugins.md, Recipes).")
    jobs = [_job(j, f"{here}, job {j.get('id', i + 1)!r}") for i, j in enumerate(_tables(data, "jobs", here))]
    ids = [j.id for j in jobs]
    if len(set(ids)) != len(ids):
        _fail(here, f"job ids must be unique; repeated: {', '.join(sorted({i for i in ids if ids.count(i) > 1}))}.")
    figures = []
    for f in _tables(data, "figures", here):
        unknown = set(f) - FIGURE_FIELDS
        if unknown:
            _fail(here, f"figure {f.get('id')!r} has unknown field(s) {', '.join(sorted(unknown))}; a figure has "
                        f"{', '.join(sorted(FIGURE_FIELDS))}.")
        figures.append(Figure(_str(f.get("id"), here, "a figure's id"), str(f.get("title") or f.get("id")),
                              _str(f.get("probe"), here, "a figure's probe"),
                              _str(f.get("metric"), here, "a figure's metric")))
    rows = []
    for r in _tables(data, "rows", here):
        unknown = set(r) - ROW_FIELDS
        if unknown:
            _fail(here, f"a row has unknown field(s) {', '.join(sorted(unknown))}; a row has {', '.join(sorted(ROW_FIELDS))}.")
        published = r.get("published", {})
        if not isinstance(published, dict):
            _fail(here, f"row {r.get('label')!r}: published must be a table of figure id = reference key.")
        rows.append(TableRow(_str(r.get("label"), here, "a row's label"), list(r.get("jobs", [])), r.get("view"),
                             {str(k): str(v) for k, v in published.items()}, bool(r.get("baseline", False))))
    with_job = _job(data["with"], f"{here}, [with]", needs_model=False) if "with" in data else None
    # `known_data_roots` (folders earlier rows were made from) is read and ignored: keys are by the data's content
    return Recipe(name, str(data.get("title", name)), str(data.get("description", "")), where, plugin, jobs, figures,
                  rows, with_job)


def _tables(data: dict, key: str, here: str) -> list[dict]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        _fail(here, f"{key} must be an array of tables ([[{key}]]).")
    return value


# -- checking ---------------------------------------------------------------
@dataclass
class Checked:
    """A request's names looked up and options parsed: what its keys are made of."""

    model_spec: Any
    model_options: dict
    dataset_options: dict
    probes: list[tuple[Any, dict]]


def check_job(entry: JobEntry, registry, where: str) -> Checked:
    """Every name and option of ``entry`` looked up (torch-free); one-line UsageError on the first unknown."""
    try:
        mspec = registry.get("model", entry.model)
        mopts = resolve_options(mspec.options, entry.model_options, f"model '{mspec.name}'")
        dspec = registry.get("dataset", entry.dataset)
        dopts = resolve_options(dspec.options, entry.dataset_options, f"dataset '{entry.dataset}'")
        probes = []
        for probe in entry.probes:
            pspec = registry.get("probe", probe.name)
            missing = pspec.requires - mspec.capabilities
            if missing:
                raise UsageError(f"probe '{pspec.name}' needs a model with {', '.join(sorted(missing))}; "
                                 f"model '{mspec.name}' offers {', '.join(sorted(mspec.capabilities))}.")
            probes.append((pspec, resolve_options(pspec.options, probe.options, f"probe '{pspec.name}'")))
        if entry.views and mspec.views is not None and "<" not in "".join(mspec.views):
            for view in entry.views:
                if view not in mspec.views:
                    raise UsageError(f"model '{mspec.name}' has no feature view '{view}'. Views: {', '.join(mspec.views)}.")
        if entry.bn_stats not in ("train-images", "running"):
            raise UsageError(f"bn_stats {entry.bn_stats!r}: expected train-images or running.")
    except UsageError as exc:
        raise UsageError(f"Recipe {where}: {exc}") from None
    return Checked(mspec, mopts, dopts, probes)


def check(recipe: Recipe, registry, references) -> None:
    """Refuse the recipe in one line if anything it names is unknown: models, options, probes,
    datasets, views, figures, jobs of its rows, published figures (reference keys)."""
    here = f"'{recipe.name}' ({recipe.source})"
    for entry in recipe.jobs:
        check_job(entry, registry, f"{here}, job '{entry.id}'")
    by_key = {ref.key: ref for ref in references if ref.key}
    figures = {f.id: f for f in recipe.figures}
    for figure in recipe.figures:
        try:
            pspec = registry.get("probe", figure.probe)
        except UsageError as exc:
            _fail(here, f"figure '{figure.id}': {exc}")
        if not getattr(pspec, "writes", lambda metric: True)(figure.metric):  # a misspelt metric: a blank column
            _fail(here, f"figure '{figure.id}': probe '{pspec.name}' writes no metric {figure.metric!r}."
                        f"{suggest(figure.metric, _examples(pspec.metrics))} Its metrics: {', '.join(pspec.metrics)}.")
    ids = {j.id for j in recipe.jobs}
    jobs = {j.id: j for j in recipe.jobs}
    for row in recipe.rows:
        for job in row.jobs:
            if job not in ids:
                _fail(here, f"row '{row.label}' names job '{job}', which the recipe does not have.{suggest(job, sorted(ids))} "
                            f"Jobs: {', '.join(sorted(ids))}.")
        probed = [_views_of(jobs[job], registry) for job in row.jobs]
        if row.view is not None and probed and None not in probed:  # a misspelt view: a blank row
            views = sorted({v for found in probed for v in found})
            if row.view not in views:
                _fail(here, f"row '{row.label}': view {row.view!r} is probed by none of its jobs "
                            f"({', '.join(row.jobs)}).{suggest(row.view, views)} Their views: {', '.join(views)}.")
        for figure_id, key in row.published.items():
            if figure_id not in figures:
                _fail(here, f"row '{row.label}' compares figure '{figure_id}', which the recipe does not have. "
                            f"Figures: {', '.join(figures) or 'none'}.")
            ref = by_key.get(key)
            if ref is None:
                _fail(here, f"row '{row.label}': published figure '{key}' has no source: no row of references.csv "
                            f"has that key.{suggest(key, list(by_key))} Add the published row (with its key) first.")
            figure = figures[figure_id]
            if (ref.probe, ref.metric) != (figure.probe, figure.metric):
                _fail(here, f"row '{row.label}': published figure '{key}' is a {ref.probe} {ref.metric} figure, "
                            f"not {figure.probe} {figure.metric} as figure '{figure_id}'.")
    if recipe.with_job is not None:  # the user's model comes later: check the rest now
        try:
            with_job = recipe.with_job
            dspec = registry.get("dataset", with_job.dataset)
            resolve_options(dspec.options, with_job.dataset_options, f"dataset '{with_job.dataset}'")
            for probe in with_job.probes:
                pspec = registry.get("probe", probe.name)
                resolve_options(pspec.options, probe.options, f"probe '{pspec.name}'")
        except UsageError as exc:
            _fail(here, f"[with]: {exc}")


def _views_of(entry: JobEntry, registry) -> list[str] | None:
    """The views a job probes: its ``views``, else its model's declared ones; None when they are known only once
    the model is built (templated or undeclared views)."""
    if entry.views:
        return list(entry.views)
    views = registry.get("model", entry.model).views
    if views is None or "<" in "".join(views):
        return None
    return list(views)


def _examples(patterns) -> list[str]:
    """Metric names to suggest from a probe's declared patterns: each with its globs filled as in the commonest
    settings (``acc_l2_k*_majority`` -> ``acc_l2_k1_majority``)."""
    return [p.replace("_*pc", "").replace("k*", "k1").replace("*", "") for p in patterns]


# -- requests and their keys ------------------------------------------------
def requests(entry: JobEntry, seeds: list[int] | None = None, data_roots: dict | None = None) -> list[Request]:
    """The entry's requests, one per seed (``seeds`` replaces the entry's own); ``data_roots`` maps a
    dataset to its folder (key ``None``: every dataset)."""
    roots = data_roots or {}
    root = roots.get(entry.dataset, roots.get(None))
    return [Request(entry.model, entry.dataset, entry.probes, entry.model_options, entry.dataset_options, seed,
                    entry.views, entry.epochs, entry.max_steps, entry.batch_size, entry.at_epoch, entry.bn_stats,
                    data_root=root, entry=entry.id)
            for seed in (seeds if seeds is not None else entry.seeds)]
