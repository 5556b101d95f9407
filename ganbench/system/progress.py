"""Progress of a long loop: tqdm's bar on a terminal, a few plain lines anywhere else.

tqdm redraws its bar with carriage returns, which fill a redirected log
(``ganbench run ... 2>log``) with one overwritten line per update and glue
the next message to the bar. When the stream is not a terminal, progress is
one plain line (formatted by tqdm) at every tenth of the way, and no
carriage return is written at all.
"""

from __future__ import annotations

import sys
import time

from tqdm import tqdm

PLAIN_FORMAT = "{desc}: {percentage:3.0f}% {n_fmt}/{total_fmt} {unit} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"
PLAIN_LINES = 10  # lines over a whole run when the stream is not a terminal


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Progress:
    """``tqdm(total, initial, desc, unit)`` on a terminal; else a plain line at every tenth of ``total``.

    Offers the part of tqdm's interface the training loop uses: ``update``, ``set_postfix``, ``close``.
    """

    def __init__(self, total: int, initial: int = 0, desc: str = "", unit: str = "it", stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.bar = (tqdm(total=total, initial=initial, desc=desc, unit=unit, dynamic_ncols=True, leave=False,
                         file=self.stream) if _is_terminal(self.stream) else None)
        self.total, self.initial, self.n, self.desc, self.unit = total, initial, initial, desc, unit
        self.postfix = ""
        self.began = time.perf_counter()
        self.step = max(1, -(-total // PLAIN_LINES))  # a line every this many updates
        self.next_line = min(total, (initial // self.step + 1) * self.step)

    def set_postfix(self, values: dict, refresh: bool = False) -> None:
        if self.bar is not None:
            self.bar.set_postfix(values, refresh=refresh)
        else:
            self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def update(self, n: int = 1) -> None:
        self.n += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.n >= self.next_line:
            self._line()
            self.next_line = min(self.total, (self.n // self.step + 1) * self.step)
            if self.n >= self.total:
                self.next_line = self.total + 1  # the last line is written once

    def _line(self) -> None:
        elapsed = time.perf_counter() - self.began
        rate = (self.n - self.initial) / elapsed if elapsed > 0 else None
        text = tqdm.format_meter(self.n, self.total, elapsed, prefix=self.desc, unit=self.unit, rate=rate,
                                 postfix=self.postfix or None, bar_format=PLAIN_FORMAT)
        self.stream.write(text.replace("\r", "") + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
