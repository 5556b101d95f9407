"""Plain-text tables for the terminal, wrapped to fit a width (`ganbench list`, `results`, `reproduce`)."""

from __future__ import annotations

import textwrap

WIDTH = 100  # every listing fits this many columns


def shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 1)].rstrip() + "\u2026"


def text_table(headers: list[str], rows: list[list[str]], widths: list[int]) -> str:
    """A plain table: cells wrapped to ``widths``, columns two spaces apart, a dashed rule under the headers."""
    def lines_of(cells):
        wrapped = [textwrap.wrap(str(c), w, break_on_hyphens=False) or [""] for c, w in zip(cells, widths)]
        return [
            "  ".join(part[i].ljust(w) if i < len(part) else " " * w for part, w in zip(wrapped, widths)).rstrip()
            for i in range(max(len(p) for p in wrapped))
        ]

    out = lines_of(headers) + ["  ".join("-" * w for w in widths)]
    for row in rows:
        out += lines_of(row)
    return "\n".join(out)


def fit_widths(headers: list[str], rows: list[list[str]], last_min: int = 20) -> list[int]:
    """Column widths: each its longest cell (at most 32), the last one whatever is left of :data:`WIDTH`."""
    widths = [min(32, max(len(str(c)) for c in [h, *col])) for h, col in zip(headers[:-1], zip(*rows))] if rows \
        else [len(h) for h in headers[:-1]]
    return widths + [max(last_min, WIDTH - sum(widths) - 2 * len(widths))]
