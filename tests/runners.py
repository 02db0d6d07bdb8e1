"""``hubbub agent run`` as a real process against a real hub, with the stand-in harness: start
it, wait for what it logs, read what the stand-in was given, and kill it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.live import HUBBUB, LiveHub, _Lines, clean_env

STANDIN = Path(__file__).resolve().parent / "standin_harness.py"
STANDIN_EXEC = f"{sys.executable} -I -S {STANDIN}"
START_TIMEOUT = 30.0


@dataclass
class RunningRunner:
    """A running ``hubbub agent run`` and the lines it has logged so far."""

    process: subprocess.Popen[str]
    output: _Lines
    agent: str
    log: Path

    def until(self, text: str, timeout: float = 30.0) -> list[str]:
        """Every line logged up to and including the first (new) one containing ``text``."""
        return self.output.until(text, time.monotonic() + timeout)

    def seen(self) -> list[str]:
        """The lines logged so far (without waiting)."""
        while True:
            try:
                line = self.output.lines.get_nowait()
            except Exception:
                return list(self.output.seen)
            if line is None:
                return list(self.output.seen)
            self.output.seen.append(line)

    def runs(self) -> list[dict[str, Any]]:
        """What the stand-in was given, one entry per run, in order."""
        return [e for e in standin_log(self.log) if e["event"] == "prompt"]

    def kill(self) -> None:
        """SIGKILL the runner and wait for it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> int:
        """SIGTERM the runner; its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


def standin_log(path: Path) -> list[dict[str, Any]]:
    """The stand-in's log entries (a line cut short by a kill is left out)."""
    if not path.exists():
        return []
    entries: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries


def runner_env(hub: LiveHub, home: Path, **extra: str) -> dict[str, str]:
    """The environment of a runner: the hub's config, a data folder of its own."""
    return clean_env(
        home,
        HUBBUB_CONFIG=str(hub.config_path),
        XDG_DATA_HOME=str(home / "data"),
        **extra,
    )


def agent_command(agent: str, exec_: str, args: Sequence[str]) -> list[str]:
    """``hubbub agent run`` for ``agent``."""
    return [str(HUBBUB), "agent", "run", "--agent", agent, "--exec", exec_, *args]


@contextmanager
def running_runner(
    hub: LiveHub,
    home: Path,
    agent: str,
    *args: str,
    exec_: str = STANDIN_EXEC,
    cwd: Path | None = None,
    wait: bool = True,
) -> Iterator[RunningRunner]:
    """Start a runner for ``agent`` (the stand-in harness by default, logging to
    ``home/standin.jsonl``); wait until it listens, unless told not to. Killed afterwards."""
    home.mkdir(parents=True, exist_ok=True)
    workdir = cwd or home / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    log = home / "standin.jsonl"
    process = subprocess.Popen(
        agent_command(agent, exec_, ["--cwd", str(workdir), *args]),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=workdir,
        env=runner_env(hub, home, STANDIN_LOG=str(log)),
    )
    runner = RunningRunner(process, _Lines(process.stdout), agent, log)
    try:
        if wait:
            runner.until(f"listening as @{agent}", START_TIMEOUT)
        yield runner
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        runner.output.join()
        if process.stdout is not None:
            process.stdout.close()


def alive(pid: int) -> bool:
    """True if process ``pid`` exists (and is not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            return stat.read_text().split(")")[-1].split()[0] != "Z"
        except OSError:
            return False
    return True
