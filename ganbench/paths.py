"""Default folders: the cache (trained models, features) and the result store."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_RESULTS = "results"


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
