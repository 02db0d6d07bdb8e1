"""What one run measures: durations, client counts and sample sizes, read from the environment."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "latest.json"
POST_SCRIPT = BENCH_DIR / "post.lua"
HUBBUB = Path(sys.executable).parent / "hubbub"


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise SystemExit(f"{name} must be positive, not {raw!r}")
    return value


def _counts(name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        values = tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise SystemExit(f"{name} must be comma-separated whole numbers, not {raw!r}") from None
    if not values or min(values) <= 0:
        raise SystemExit(f"{name} must name positive counts, not {raw!r}")
    return tuple(sorted(set(values)))


@dataclass(frozen=True, slots=True)
class BenchConfig:
    """The knobs of a run. Defaults keep a full run under about five minutes on two cores."""

    seconds: int = 10
    """Length of each wrk run (``BENCH_SECONDS``)."""
    clients: tuple[int, ...] = (1, 8, 32)
    """Concurrent keep-alive connections for the throughput runs (``BENCH_CLIENTS``)."""
    messages: int = 100_000
    """Messages seeded for the read benchmarks (``BENCH_MESSAGES``)."""
    samples: int = 500
    """Timed requests per read kind (``BENCH_SAMPLES``); search gets twice as many."""
    starts: int = 5
    """Process starts timed for the start-up median."""
    warmup: int = 100
    """Untimed requests before each measurement."""
    fanout: tuple[int, ...] = (100, 1000)
    """Subscriber counts for the fan-out benchmark (``BENCH_FANOUT``, comma-separated)."""
    fanout_rounds: int = 5
    """Posts timed per fan-out size (``BENCH_FANOUT_ROUNDS``)."""
    streams: int = 10
    """Event streams open during the loaded post run (``BENCH_STREAMS``)."""
    interval_ms: float = 10.0
    """Gap between the posts timed for delivery latency (``samples`` of them)."""
    tasks: int = 10_000
    """Tasks created for the claim benchmark (``BENCH_TASKS``)."""
    task_workers: int = 32
    """Workers competing to claim them (``BENCH_TASK_WORKERS``)."""
    strict: bool = False
    """Exit non-zero when a target is missed (``BENCH_STRICT=1``), not only on lost writes."""
    wrk: str = field(default_factory=lambda: shutil.which("wrk") or "")

    @property
    def raw_seconds(self) -> float:
        """Length of each raw SQLite insert loop."""
        return max(0.5, min(2.0, self.seconds / 5))

    @classmethod
    def from_env(cls, *, quick: bool = False) -> BenchConfig:
        """The defaults (or, ``quick``, those of a sanity run of about a minute that checks every
        part works, not how fast), overridden by ``BENCH_*`` variables."""
        base = cls.quick() if quick else cls()
        return cls(
            seconds=max(1, round(_number("BENCH_SECONDS", base.seconds))),
            clients=_counts("BENCH_CLIENTS", base.clients),
            messages=max(1000, int(_number("BENCH_MESSAGES", base.messages))),
            samples=max(20, int(_number("BENCH_SAMPLES", base.samples))),
            starts=base.starts,
            warmup=base.warmup,
            fanout=_counts("BENCH_FANOUT", base.fanout),
            fanout_rounds=max(1, int(_number("BENCH_FANOUT_ROUNDS", base.fanout_rounds))),
            streams=max(1, int(_number("BENCH_STREAMS", base.streams))),
            tasks=max(100, int(_number("BENCH_TASKS", base.tasks))),
            task_workers=max(1, int(_number("BENCH_TASK_WORKERS", base.task_workers))),
            strict=os.environ.get("BENCH_STRICT", "") not in ("", "0"),
        )

    @classmethod
    def quick(cls) -> BenchConfig:
        """Every part, as small as still means something."""
        return cls(
            seconds=1,
            clients=(32,),
            messages=2_000,
            samples=20,
            starts=2,
            warmup=10,
            fanout=(100,),
            fanout_rounds=1,
            streams=10,
            tasks=200,
            task_workers=8,
        )


@contextmanager
def scratch(prefix: str = "hubbub-bench-") -> Iterator[Path]:
    """A temporary folder for one run, deleted after. Servers started meanwhile load their
    code as an installed hub would, from cached bytecode, even where the environment forbids
    writing it (``PYTHONDONTWRITEBYTECODE``): the cache lives in the folder."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        yield Path(tmp)
