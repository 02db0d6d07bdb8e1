"""A setup run: find the harnesses, plan every file, show the plan, then write it (or, with
``remove``, take out what setup added)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from hubbub.config import load
from hubbub.core.errors import HubbubError, InvalidInput
from hubbub.core.names import check_agent
from hubbub.setup.changes import Change, check, plan_add, plan_remove, write
from hubbub.setup.detect import Installed, check_supported, detect
from hubbub.setup.harness import Context, Harness, Scope
from hubbub.setup.harnesses import HARNESSES
from hubbub.setup.record import Record

Echo = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Options:
    """What the user asked for."""

    names: tuple[str, ...] = ()
    scope: Scope = Scope.user
    agent: str | None = None
    http_hooks: bool = False
    dry_run: bool = False
    remove: bool = False


def project_root(start: Path) -> Path:
    """The repository ``start`` is in (the nearest folder with ``.git``), else ``start``."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def hubbub_command() -> str:
    """How harnesses should start ``hubbub``: its name when ``PATH`` finds this one, else the
    full path of this installation's script."""
    mine = Path(sys.executable).parent / "hubbub"
    on_path = shutil.which("hubbub")
    if on_path and (not mine.exists() or Path(on_path).resolve() == mine.resolve()):
        return "hubbub"
    return str(mine) if mine.exists() else "hubbub"


def context(options: Options, found: Installed, home: Path, project: Path) -> Context:
    """The context of one harness's run."""
    return Context(
        scope=options.scope,
        home=home,
        project=project,
        command=hubbub_command(),
        agent=options.agent,
        hub_url=load().url,
        http_hooks=options.http_hooks and found.harness.name == "claude",
        version=found.version,
    )


def chosen(options: Options, home: Path) -> list[Installed]:
    """The harnesses named, else every one installed."""
    harnesses = [HARNESSES[name] for name in options.names] or list(HARNESSES.values())
    with ThreadPoolExecutor(len(harnesses)) as pool:  # each asks its program's version
        found = list(pool.map(lambda harness: detect(harness, home), harnesses))
    return found if options.names else [item for item in found if item.found]


def plan(
    options: Options, home: Path, project: Path, record: Record
) -> list[tuple[Installed, list[Change]]]:
    """Every harness's changes; refuses the whole run if any file is refused."""
    plans, problems = [], []
    for found in chosen(options, home):
        try:
            if not options.remove:
                check_supported(found)
            where = context(options, found, home, project)
            if options.remove:
                changes = plan_remove(found.harness, where, record)
            else:
                changes = plan_add(found.harness, where, record)
            check(changes)
        except HubbubError as error:
            problems.append(error)
            continue
        plans.append((found, changes))
    if len(problems) == 1:
        raise problems[0]
    if problems:
        first = problems[0]
        raise type(first)("; ".join(p.detail for p in problems), code=first.code)
    return plans


def _verb(change: Change, removing: bool) -> str:
    if not change.changes:
        return "unchanged"
    if change.old is None:
        return "create"
    if change.new is None:
        return "delete"
    return "take out of" if removing else "add to"


def show(plans: list[tuple[Installed, list[Change]]], options: Options, echo: Echo) -> int:
    """Print the plan; the number of files it would write."""
    count = 0
    agent = options.agent or "the agent named after each project's directory ({machine}-{dir})"
    for found, changes in plans:
        harness: Harness = found.harness
        echo(f"{harness.title} [{found.describe()}], {options.scope.value} scope, as {agent}")
        for change in changes:
            count += change.changes
            echo(f"  {_verb(change, options.remove)} {change.path} ({change.what})")
            for entry, why in change.outcome.kept:
                echo(f"    kept {entry.describe()}: {why}")
            if change.changes:
                for line in change.diff().splitlines():
                    echo(f"    {line}")
        if harness.note and not options.remove:
            echo(f"  note: {harness.note}")
    return count


def run(options: Options, echo: Echo, *, home: Path | None = None, cwd: Path | None = None) -> None:
    """Plan, show and (unless a dry run) write."""
    for name in options.names:
        if name not in HARNESSES:
            raise InvalidInput(f"no harness named {name!r}", code="setup_unknown_harness")
    if options.agent is not None:
        check_agent(options.agent)
    base = home or Path.home()
    project = project_root(cwd or Path.cwd())
    record = Record.load()
    plans = plan(options, base, project, record)
    if not plans:
        echo(
            "no harness found (Claude Code, Codex, Gemini CLI, OpenCode, Cursor); name one: "
            "hubbub setup claude"
        )
        return
    count = show(plans, options, echo)
    if options.dry_run:
        echo(f"dry run: {count} file(s) would change; nothing was written")
        return
    write([c for _, changes in plans for c in changes], record, removing=options.remove)
    echo(f"{count} file(s) changed" if count else "nothing to change")
