"""Retention: messages older than their channel's ``retention_days`` (or the hub's
``message_retention_days``) and tasks finished more than ``task_retention_days`` ago are
removed for good, everywhere their text lives (see ``store/purge.py``), by the maintenance
loop in small batches — each its own write, so posts take their turn between two batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hubbub.core import names
from hubbub.core.errors import InvalidInput
from hubbub.core.limits import Limits
from hubbub.core.models import Channel, RetentionReport, RetentionRule
from hubbub.core.store import MessageSelection, Store

BATCH = 500
"""Messages (or tasks) one write removes: a batch holds the writer for milliseconds."""
MAX_DAYS = 36_500.0


class RetentionService:
    """What retention removes, now or as a dry run."""

    def __init__(self, store: Store, limits: Limits) -> None:
        self._store = store
        self._limits = limits

    async def _rules(self, now: datetime) -> list[tuple[RetentionRule, int | None, int]]:
        """Each rule with messages to apply: (the rule, its channel id or ``None`` for the
        hub's, the newest message id past it)."""
        found: list[tuple[RetentionRule, int | None, int]] = []
        days = self._limits.message_retention_days
        if days > 0:
            cut = now - timedelta(days=days)
            rule = RetentionRule(channel=None, days=days, before=cut)
            found.append((rule, None, await self._store.retention_boundary(cut)))
        for channel_id, name, channel_days in await self._store.retention_rules():
            cut = now - timedelta(days=channel_days)
            rule = RetentionRule(channel=name, days=channel_days, before=cut)
            found.append((rule, channel_id, await self._store.retention_boundary(cut)))
        return found

    async def plan(self, now: datetime | None = None) -> RetentionReport:
        """What a prune would remove now, removing nothing."""
        now = now or datetime.now(UTC)
        rules: list[RetentionRule] = []
        for rule, channel_id, up_to in await self._rules(now):
            count = await self._store.count_old_messages(up_to, channel_id)
            rules.append(rule.model_copy(update={"messages": count}))
        tasks = 0
        task_days = self._limits.task_retention_days
        if task_days > 0:
            tasks = await self._store.count_old_tasks(now - timedelta(days=task_days))
        return RetentionReport(dry_run=True, rules=rules, tasks=tasks)

    async def prune(self, now: datetime | None = None, *, batch: int = BATCH) -> RetentionReport:
        """Remove what is past its retention, ``batch`` rows a write, until none is left."""
        now = now or datetime.now(UTC)
        rules: list[RetentionRule] = []
        for rule, channel_id, up_to in await self._rules(now):
            removed = 0
            if up_to > 0:
                selection = MessageSelection(
                    channel_id=channel_id, up_to=up_to, unruled=channel_id is None
                )
                while taken := await self._store.purge_messages(selection, batch):
                    removed += taken
            rules.append(rule.model_copy(update={"messages": removed}))
        tasks = 0
        task_days = self._limits.task_retention_days
        if task_days > 0:
            cut = now - timedelta(days=task_days)
            while taken := await self._store.purge_tasks(cut, batch):
                tasks += taken
        return RetentionReport(dry_run=False, rules=rules, tasks=tasks)

    async def set_channel(self, name: str, days: float | None) -> Channel:
        """An admin gives a channel a retention of its own, or (``None``) the hub's again."""
        names.check_channel(name.removeprefix("#"))
        if days is not None and not 0 < days <= MAX_DAYS:
            raise InvalidInput(
                f"retention_days must be more than 0 and at most {MAX_DAYS:g} (null: the hub's)",
                code="bad_retention",
            )
        return await self._store.set_channel_retention(name.removeprefix("#"), days)
