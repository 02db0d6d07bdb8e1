"""One harness process: started in its own process group with the prompt on stdin (or stdin
empty), its output read as it comes (bounded), ended with its whole group when its time is
up or the runner stops, and killed by the kernel if the runner itself dies (Linux)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from hubbub.runner.harnesses import Invocation

STDOUT_CAP = 8 * 1024 * 1024  # bytes of an answer kept; the rest is counted, not stored
STDERR_CAP = 64 * 1024  # bytes of stderr kept: its end, where the reason usually is
GRACE = 5.0  # seconds between SIGTERM and SIGKILL for a group that must end


@dataclass(frozen=True, slots=True)
class Finished:
    """How a harness process ended and what it printed."""

    pid: int
    exit_code: int | None
    """``None`` when it was killed for running out of time."""
    stdout: bytes
    stderr: bytes
    timed_out: bool
    seconds: float
    stdout_bytes: int
    """Everything it printed on stdout, counting what was not kept."""


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to kill the child when the runner dies, so a runner
    killed with SIGKILL leaves no harness behind; ``None`` elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    set_parent_death_signal = 1  # PR_SET_PDEATHSIG
    kill = int(signal.SIGKILL)

    def arm() -> None:
        prctl(set_parent_death_signal, kill, 0, 0, 0)

    return arm


DIE_WITH_PARENT = _die_with_parent()


async def _drain(
    stream: asyncio.StreamReader | None, cap: int, keep_end: bool
) -> tuple[bytes, int]:
    """Read ``stream`` to its end; keep ``cap`` bytes of it (its start, or its end)."""
    if stream is None:
        return b"", 0
    kept = bytearray()
    total = 0
    while chunk := await stream.read(65536):
        total += len(chunk)
        if keep_end:
            kept += chunk
            if len(kept) > cap:
                del kept[: len(kept) - cap]
        elif len(kept) < cap:
            kept += chunk[: cap - len(kept)]
    return bytes(kept), total


async def _feed(process: asyncio.subprocess.Process, data: bytes | None) -> None:
    if process.stdin is None:
        return
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        if data:
            process.stdin.write(data)
            await process.stdin.drain()
        process.stdin.close()
        await process.stdin.wait_closed()


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


async def end_group(process: asyncio.subprocess.Process) -> None:
    """End the process and everything it started: SIGTERM, then SIGKILL after a grace."""
    _signal_group(process.pid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(process.wait(), GRACE)
    _signal_group(process.pid, signal.SIGKILL)
    await process.wait()


async def run(
    invocation: Invocation,
    *,
    cwd: Path,
    env: Mapping[str, str],
    seconds: float,
    started: Callable[[int], None] | None = None,
) -> Finished:
    """Run ``invocation`` to its end or for ``seconds``, whichever comes first.
    ``started`` is told the pid as soon as the process exists. Cancelling the call ends the
    process group before the cancellation goes on."""
    clock = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *invocation.argv,
        stdin=asyncio.subprocess.PIPE if invocation.stdin else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=cwd,
        env=dict(env),
        start_new_session=True,  # its own process group, ended as a whole
        preexec_fn=DIE_WITH_PARENT,
    )
    if started is not None:
        started(process.pid)
    out = asyncio.ensure_future(_drain(process.stdout, STDOUT_CAP, keep_end=False))
    err = asyncio.ensure_future(_drain(process.stderr, STDERR_CAP, keep_end=True))
    feed = asyncio.ensure_future(_feed(process, invocation.stdin))
    timed_out = False
    try:
        try:
            await asyncio.wait_for(asyncio.shield(process.wait()), seconds)
        except TimeoutError:
            timed_out = True
            await end_group(process)
        # What the group's other processes still hold open ends with them.
        _signal_group(process.pid, signal.SIGKILL)
        (stdout, stdout_bytes), (stderr, _) = await asyncio.gather(out, err)
    except BaseException:
        await asyncio.shield(end_group(process))
        raise
    finally:
        for pending in (out, err, feed):
            pending.cancel()
    return Finished(
        pid=process.pid,
        exit_code=None if timed_out else process.returncode,
        stdout=stdout,
        stderr=stderr,
        timed_out=timed_out,
        seconds=time.monotonic() - clock,
        stdout_bytes=stdout_bytes,
    )
