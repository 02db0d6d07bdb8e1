"""``python -m bench [--quick] [PART...]``: measure the ceilings and the hub in one run; each part
prints its tables as it finishes, a part that fails is reported without losing the others, and
every number is saved as JSON."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from bench import (
    dashboard,
    files,
    footprint,
    hooks,
    operations,
    postgres,
    reads,
    realtime,
    runner,
    sqlite_inserts,
    tasks,
    throughput,
)
from bench.config import RESULTS, BenchConfig, scratch
from bench.postgres_report import print_postgres
from bench.progress import say
from bench.report import (
    Results,
    print_dashboard_tables,
    print_file_tables,
    print_footprint,
    print_hook_tables,
    print_reads,
    print_realtime,
    print_runner_tables,
    print_targets,
    print_task_tables,
    print_throughput,
    targets,
    write_json,
)


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a run: what it measures into the results, and how it prints them."""

    name: str
    measure: Callable[[Results, Path], None]
    show: Callable[[Results, Console], None]


def _throughput(results: Results, workdir: Path) -> None:
    cfg = results.config
    say(f"raw SQLite inserts, {cfg.raw_seconds:.1f} s per loop")
    results.inserts = sqlite_inserts.measure(workdir / "sqlite", cfg.raw_seconds)
    results.http, results.posts = throughput.measure(cfg, workdir / "throughput")


def _postgres(results: Results, workdir: Path) -> None:
    claims = results.tasks.claims if results.tasks else None
    results.postgres = postgres.measure(results.config, workdir, claims)


def _show_postgres(results: Results, out: Console) -> None:
    if results.postgres is not None:
        print_postgres(results.config, results.postgres, results.http, out)


def _measured(
    field: str, measure: Callable[[BenchConfig, Path], Any]
) -> Callable[[Results, Path], None]:
    """A part whose module measures on its own, into its own field of the results."""

    def into(results: Results, workdir: Path) -> None:
        setattr(results, field, measure(results.config, workdir))

    return into


def _shown(field: str, show: Callable[[Any, Console], None]) -> Callable[[Results, Console], None]:
    """Print a part from its own field of the results."""

    def printed(results: Results, out: Console) -> None:
        show(getattr(results, field), out)

    return printed


# In the order they run: SQLite and HTTP ceilings with the hub's posts, real-time delivery,
# reads, footprint, tasks, PostgreSQL next to SQLite, hooks and command start, the dashboard,
# files, the always-on runner, monitoring.
PARTS = (
    Part("throughput", _throughput, print_throughput),
    Part("realtime", _measured("realtime", realtime.measure), print_realtime),
    Part("reads", _measured("reads", reads.measure), print_reads),
    Part("footprint", _measured("footprint", footprint.measure), print_footprint),
    Part("tasks", _measured("tasks", tasks.measure), _shown("tasks", print_task_tables)),
    Part("postgres", _postgres, _show_postgres),
    Part("hooks", _measured("hooks", hooks.measure), _shown("hooks", print_hook_tables)),
    Part(
        "dashboard",
        _measured("dashboard", dashboard.measure),
        _shown("dashboard", print_dashboard_tables),
    ),
    Part("files", _measured("files", files.measure), _shown("files", print_file_tables)),
    Part("runner", _measured("runner", runner.measure), _shown("runner", print_runner_tables)),
    Part(
        "operations",
        _measured("operations", operations.measure),
        _shown("operations", operations.print_operations),
    ),
)


def run(results: Results, parts: list[Part], workdir: Path, out: Console) -> None:
    """Each part in turn, its tables printed as soon as it is done; a part that raises is
    recorded in ``results.failed`` with its traceback printed, and the run goes on."""
    for part in parts:
        try:
            part.measure(results, workdir / part.name)
        except Exception as error:  # one part's failure must not cost the others' numbers
            results.failed[part.name] = f"{type(error).__name__}: {error}"
            say(f"{part.name}: FAILED")
            traceback.print_exc()
            continue
        part.show(results, out)


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a sanity run of about a minute: every part, at the smallest useful size",
    )
    parser.add_argument(
        "parts",
        nargs="*",
        metavar="PART",
        help=f"run only these parts (of: {', '.join(part.name for part in PARTS)})",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.parts) - {part.name for part in PARTS})
    if unknown:
        parser.error(f"no such part: {', '.join(unknown)}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run, report; exit 1 if an acknowledged post was lost or a part failed (or, strict, a
    target was missed)."""
    args = _arguments(sys.argv[1:] if argv is None else argv)
    cfg = BenchConfig.from_env(quick=args.quick)
    if not cfg.wrk:
        print(
            "wrk is not installed (apt-get install wrk); `make bench` installs it", file=sys.stderr
        )
        return 2
    chosen = [part for part in PARTS if not args.parts or part.name in args.parts]
    results = Results(cfg)
    out = Console(width=132)
    with scratch() as tmp:
        run(results, chosen, tmp, out)
    print_targets(results, out)
    write_json(results, RESULTS)
    print(f"\nwritten: {RESULTS}")
    if results.lost:
        print("FAILED: acknowledged posts are missing from the database", file=sys.stderr)
        return 1
    if results.failed:
        print(f"FAILED: {', '.join(results.failed)}", file=sys.stderr)
        return 1
    if cfg.strict and not all(t.met for t in targets(results)):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
