"""The leaderboard's tables as data: columns, cells, rows and the marks they carry.

:mod:`ganbench.reports.leaderboard` builds them from the store's rows; :mod:`ganbench.reports.formats` prints them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LABEL_MARK = "†"
GRID_EDGE_MARK = "‡"
TIED_MARK = "≈"
SECTIONS = ("model", "baseline", "reference")
SECTION_TITLES = {"model": "trained models", "baseline": "baselines", "reference": "published figures"}


@dataclass
class Column:
    """One comparable figure: a metric of one probe (and version). Probe settings are not columns: a row
    whose settings differ from the column's usual ones (``probe_config``, the most common) says so in its label."""

    probe: str
    metric: str
    probe_version: str
    probe_config: dict
    differs: str = ""  # what sets it apart from its sibling columns, in words (only versions, with all_versions)
    higher_is_better: bool | None = True
    target: float | None = None
    headline: bool = False  # the table's headline figure: first, and marked

    @property
    def key(self) -> tuple:
        return (self.probe, self.metric, str(self.probe_version))

    @property
    def direction(self) -> str:
        if self.higher_is_better is None and self.target is not None:
            return f"→ {self.target:g}"
        return "↑" if self.higher_is_better else "↓"

    @property
    def title(self) -> str:
        """``knn acc_l2_k1_majority (k=1,5,20) ↑``"""
        differs = f" ({self.differs})" if self.differs else ""
        mark = "headline: " if self.headline else ""
        return f"{mark}{self.probe} {self.metric}{differs} {self.direction}"


@dataclass
class Cell:
    """A figure: the mean over ``n`` seeds (``std`` their spread), or a published one (``published``).

    ``draw_std`` is the spread over the label draws of a single seed's
    figure; ``grid_edge`` says an SVM chose C at an edge of its grid;
    ``best`` and ``tied`` are set by the paired tests; ``records`` are the
    rows behind the figure (one per seed).
    """

    mean: float
    std: float | None = None
    n: int = 1
    best: bool = False
    published: bool = False
    tied: bool = False
    draws: int | None = None
    draw_std: float | None = None
    grid_edge: str | None = None
    records: list = field(default_factory=list, repr=False)

    def text(self, digits: int = 4) -> str:
        if self.published:
            spread = f" ± {self.std:.{digits}f}" if self.std is not None else ""
            return f"{self.mean:.{digits}f}{spread}"
        if self.n > 1 and self.std is not None:
            text = f"{self.mean:.{digits}f} ± {self.std:.{digits}f} (n={self.n})"
        elif self.draw_std is not None:
            text = f"{self.mean:.{digits}f} ± {self.draw_std:.{digits}f} (n=1, s.d. of {self.draws} draws)"
        else:
            text = f"{self.mean:.{digits}f} (n={self.n})"
        return text + (f" {GRID_EDGE_MARK}" if self.grid_edge else "")


@dataclass
class Row:
    section: str  # model | baseline | reference
    model: str
    view: str
    differs: str = ""
    trains_on_labels: bool = False
    cells: dict[tuple, Cell] = field(default_factory=dict)
    failed: str = ""
    model_keys: list[str] = field(default_factory=list)  # trained-model cache keys, for pictures
    note: str = ""
    trained: str = ""  # how long the model trained, in words; every trained model's label says it
    probe_settings: str = ""  # probe settings other than the column's usual ones (``svm standardize=True``)
    category: str = "gan"  # the model's category (ModelSpec.category): only "gan" rows compete for best

    @property
    def settings(self) -> str:
        """What sets the row apart beyond model and view: ``25 epochs, width=16; svm standardize=True``."""
        said = ", ".join(part for part in (self.trained, self.differs) if part)
        if self.probe_settings:
            said = f"{said}; {self.probe_settings}" if said else self.probe_settings
        return said

    @property
    def label(self) -> str:
        mark = f" {LABEL_MARK}" if self.trains_on_labels else ""
        said = self.settings
        differs = f" ({said})" if said else ""
        view = f" · {self.view}" if self.view else ""
        return f"{self.model}{mark}{view}{differs}"


@dataclass
class Table:
    dataset: str
    fingerprint: str
    title: str
    columns: list[Column]
    rows: list[Row]
    notes: list[str] = field(default_factory=list)

    @property
    def has_failures(self) -> bool:
        return any(r.failed for r in self.rows)

    def sections(self) -> list[tuple[str, list[Row]]]:
        return [(s, [r for r in self.rows if r.section == s]) for s in SECTIONS if any(r.section == s for r in self.rows)]
