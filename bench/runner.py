"""The always-on runner: how long from a DM's 2xx to the harness process starting, and from
the harness's exit to the reply committed, with ``hubbub agent run`` and the tests' stand-in
harness (``python -I -S``, which starts in a few ms) on one SQLite hub. Both clocks are the
machine's wall clock, read by the bench and by the stand-in. ``python -m bench.runner`` runs
these alone."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import processes
from bench.config import HUBBUB, BenchConfig, scratch
from bench.hooks import Bench
from bench.progress import say
from bench.reads import Latency, summarize

STANDIN = Path(__file__).resolve().parents[1] / "tests" / "standin_harness.py"
READY_TIMEOUT = 30.0
REPLY_WAIT = 30  # seconds one waiting read of the DM may take


@dataclass(frozen=True, slots=True)
class RunnerResults:
    """What the runner benchmark measured, and what it could not, with the reason."""

    start: Latency | None = None
    reply: Latency | None = None
    skipped: dict[str, str] = field(default_factory=dict)


def _until(lines: queue.Queue[str | None], text: str, deadline: float) -> None:
    while True:
        line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        if line is None:
            raise RuntimeError(f"the runner ended before {text!r}")
        if text in line:
            return


def _pump(stream: Any, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _entries(log: Path) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def _round(bench: Bench, agent: str, log: Path, n: int) -> tuple[float, float]:
    """One DM: (2xx → harness started, harness done → reply readable), in seconds."""
    text = f"bench {n}"
    status, body = bench.request(
        "POST", "/api/v1/send", agent=bench.peer, body={"target": f"@{agent}", "content": text}
    )
    sent = time.time()
    if status != 201:
        raise RuntimeError(f"send answered {status}: {body[:200]!r}")
    dm = json.loads(body)["messages"][0]["id"]
    deadline = time.monotonic() + REPLY_WAIT
    while True:
        status, body = bench.request(
            "GET",
            f"/api/v1/channels/@{agent}/messages?after={dm}&wait={REPLY_WAIT}",
            agent=bench.peer,
        )
        seen = time.time()
        if status != 200:
            raise RuntimeError(f"the read answered {status}: {body[:200]!r}")
        if any(m["reply_to"] == dm for m in json.loads(body)["messages"]):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"no reply to {text!r} within {REPLY_WAIT} s")
    runs = _entries(log)
    pid = next(e["pid"] for e in runs if e["event"] == "prompt" and e["request"] == text)
    started = next(e["at"] for e in runs if e["event"] == "start" and e["pid"] == pid)
    ended = next(e["at"] for e in runs if e["event"] == "end" and e["pid"] == pid)
    return started - sent, seen - ended


def measure(cfg: BenchConfig, workdir: Path) -> RunnerResults:
    """DMs to a runner one after another, each timed from its 2xx to the harness's start and
    from the harness's end to its reply."""
    rounds = max(20, cfg.samples // 10)
    with processes.hub(workdir, workdir / "runner.db") as hub:
        bench = Bench(hub, workdir)
        bench.agent("peer")
        agent = bench.agent("runner")
        log = workdir / "standin.jsonl"
        command = [str(HUBBUB), "agent", "run", "--agent", agent, "--cwd", str(workdir)]
        command += ["--exec", f"{sys.executable} -I -S {STANDIN}"]
        command += ["--sender-limit", "0", "--thread-limit", "0"]
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=workdir,
            env={**bench.env, "STANDIN_LOG": str(log), "XDG_DATA_HOME": str(workdir / "data")},
        )
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
        try:
            _until(lines, f"listening as @{agent}", time.monotonic() + READY_TIMEOUT)
            say(f"runner: DM → harness start → reply, {rounds} DMs")
            for n in range(3):  # warm: first imports, first connections
                _round(bench, agent, log, -1 - n)
            timed = [_round(bench, agent, log, n) for n in range(rounds)]
        except (RuntimeError, queue.Empty, StopIteration) as error:
            return RunnerResults(skipped={"runner": str(error)[:200] or type(error).__name__})
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return RunnerResults(
        start=summarize(
            "DM 2xx → harness started",
            [started for started, _ in timed],
            "the stand-in's first statement (python -I -S start included)",
        ),
        reply=summarize(
            "harness done → reply committed",
            [replied for _, replied in timed],
            "the stand-in's last statement → a waiting read returns the reply",
        ),
    )


def main() -> None:
    """``python -m bench.runner``: only these measurements, printed as in a full run."""
    from rich.console import Console

    from bench.report import print_runner_tables

    cfg = BenchConfig.from_env()
    with scratch("hubbub-bench-runner-") as tmp:
        found = measure(cfg, tmp)
    print_runner_tables(found, Console(width=132))


if __name__ == "__main__":
    main()
