"""One runner per agent on a machine: a second one would answer the same inbox items and
fight the first over its tasks. The lock is a file under the data folder, held with
``flock`` for as long as the runner lives; the kernel lets go of it when the process ends,
however it ends."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from hubbub import paths
from hubbub.core.errors import Conflict


@contextlib.contextmanager
def exclusive(agent: str) -> Iterator[None]:
    """Hold the lock of runner ``agent`` on this machine, or raise ``Conflict``."""
    import fcntl

    folder = paths.data_home() / "runners"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{agent}.lock"
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "?"
            raise Conflict(
                f"a runner for {agent} already runs on this machine (pid {holder})",
                code="runner_running",
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(descriptor)
