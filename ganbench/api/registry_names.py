"""Name suggestions for unknown names ("did you mean ...")."""

import difflib


def suggest(name: str, known: list[str]) -> str:
    """`` Did you mean 'x'?`` for the closest known name, or an empty string."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""
