"""Progress lines on stderr while a run goes on, stamped with the time since it began."""

from __future__ import annotations

import sys
import time

_STARTED = time.perf_counter()


def say(message: str) -> None:
    """Print one progress line."""
    print(f"[{time.perf_counter() - _STARTED:6.1f} s] {message}", file=sys.stderr, flush=True)
