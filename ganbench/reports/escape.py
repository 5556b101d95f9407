"""Escaping for the text formats tables are written in (Markdown, CSV, HTML, LaTeX).

Cells come from the store, and the store's strings come from users and
plugins (a ``folder:`` dataset path, an error message): each writer escapes
them so that a cell stays one cell and a spreadsheet never runs it.
"""

from __future__ import annotations

import csv as _csv
import html as _html
import json
import re

CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets read as a formula (OWASP)
_LATEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                   "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _text(value) -> str:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str)
    return "" if value is None else str(value)


def md(value) -> str:
    """A Markdown table cell: backslashes and ``|`` escaped, line breaks as ``<br>``."""
    text = _text(value).replace("\\", "\\\\").replace("|", "\\|")
    return re.sub(r"\r\n|\r|\n", "<br>", text)


# Every cell that is not a number is quoted: a quoted cell's CR, LF or other line break never ends its record
# (Python's csv module leaves a bare CR unquoted when the line terminator is LF, and a reader ends the record at it).
CSV_QUOTING = _csv.QUOTE_NONNUMERIC


def csv(value):
    """A CSV cell: dicts and lists as JSON; a string a spreadsheet would run as a formula (after any leading
    spaces) prefixed with ``'``.

    Numbers are returned as they are (a negative figure is not a formula).
    """
    if isinstance(value, (dict, list, tuple)):
        value = json.dumps(value, default=str)
    if isinstance(value, str) and value.lstrip(" \u00a0\u3000").startswith(CSV_FORMULA_STARTS):
        return "'" + value  # spreadsheets skip leading spaces before a formula: ' =1+1' runs too
    return value


def html(value) -> str:
    """An HTML cell: ``& < > " '`` escaped, line breaks as ``<br>``."""
    return re.sub(r"\r\n|\r|\n", "<br>", _html.escape(_text(value), quote=True))


def latex(value) -> str:
    """A LaTeX cell: the ten special characters escaped, line breaks as spaces."""
    text = "".join(_LATEX_SPECIALS.get(c, c) for c in _text(value))
    return re.sub(r"\s*(\r\n|\r|\n)\s*", " ", text)


def terminal(value):
    """Text for a terminal table: every character that is not printable (ESC, BEL, NUL and the other control
    characters, line breaks, bidi overrides) written as its escape, ``\\x1b``; anything else as it is.

    A name from a store or a plugin must not move the cursor, ring the bell or recolour the screen.
    """
    if not isinstance(value, str) or value.isprintable():
        return value
    return "".join(c if c.isprintable() else _escaped_char(c) for c in value)


def _escaped_char(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"

