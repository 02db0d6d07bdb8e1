"""``hubbub prune``: what retention removes, shown (``--dry-run``) or done now (needs the admin
key)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from hubbub.cli.hub import JsonFlag, connected
from hubbub.cli.output import console, emit

if TYPE_CHECKING:
    from hubbub.core.models import RetentionReport


def prune(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be removed; remove nothing.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Remove now the messages past their channel's retention (or the hub's
    message_retention_days) and the tasks finished more than task_retention_days ago — what
    the hub does by itself each minute. Removed messages are gone everywhere: search, inbox,
    files, events."""
    with connected() as client:
        report = client.retention(dry_run=dry_run)

    def show(data: RetentionReport) -> None:
        verb = "would remove" if data.dry_run else "removed"
        if not data.rules:
            console.print("No message retention is set (message_retention_days is 0).")
        for rule in data.rules:
            where = f"#{escape(rule.channel)}" if rule.channel else "the hub's default"
            console.print(
                f"{where}: {rule.days:g} days (before {rule.before:%Y-%m-%d %H:%M} UTC): "
                f"{verb} {rule.messages:,} messages",
                highlight=False,
            )
        console.print(f"tasks finished past task_retention_days: {verb} {data.tasks:,}")

    emit(report, as_json, show)
