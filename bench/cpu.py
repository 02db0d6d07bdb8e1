"""CPU time a server process spends, split into its main thread (the event loop) and all
its other threads (for the hub: the SQLite writer and readers), read from ``/proc``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class CpuTime:
    """User + system CPU seconds."""

    loop: float
    threads: float

    def __sub__(self, other: CpuTime) -> CpuTime:
        return CpuTime(self.loop - other.loop, self.threads - other.threads)


def cpu_time(pid: int) -> CpuTime:
    """CPU seconds used so far by ``pid``'s main thread and by its other threads."""
    loop = threads = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        used = (int(fields[11]) + int(fields[12])) / _TICK
        if task.name == str(pid):
            loop += used
        else:
            threads += used
    return CpuTime(loop, threads)
