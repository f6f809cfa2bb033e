"""Progress of a long bench step, on stderr, so stdout keeps only the table."""

from __future__ import annotations

import sys
import time


class Progress:
    """One line on stderr: rewritten in place on a terminal, every few seconds in a log."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._last = 0.0

    def show(self, line: str, final: bool = False) -> None:
        now = time.monotonic()
        if self._tty:
            sys.stderr.write(f"\r{line}\033[K" + ("\n" if final else ""))
        elif final or now - self._last >= 5:
            sys.stderr.write(line + "\n")
        else:
            return
        sys.stderr.flush()
        self._last = now
