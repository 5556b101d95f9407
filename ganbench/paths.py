"""Default folders: the cache (trained models, features) and the result store.

A user's runs append to :data:`DEFAULT_RESULTS` (``./ganbench-results/``),
which the repository's ``.gitignore`` ignores, so running the README's
commands in a clone leaves ``git status`` clean. The committed reference
rows live in :data:`REFERENCE_RESULTS` and are only written on purpose
(``--results results/reference``).
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_RESULTS = "ganbench-results"
REFERENCE_RESULTS = "results/reference"


def default_cache_dir() -> Path:
    """``$GANBENCH_CACHE``, else ``$XDG_CACHE_HOME/ganbench``, else ``~/.cache/ganbench``."""
    if os.environ.get("GANBENCH_CACHE"):
        return Path(os.environ["GANBENCH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ganbench"


def dedup_path(cache_dir: Path, dataset: str, fingerprint: str) -> Path:
    """Where ``ganbench dedup`` writes, and ``ganbench run --dedup`` reads, a dataset's duplicate list."""
    safe = dataset.replace("/", "_").replace(":", "_")
    return Path(cache_dir) / "dedup" / f"{safe}-{fingerprint}.json"
