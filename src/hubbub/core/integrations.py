"""Integrations: alert, CI and ticket systems with a scoped token, acting as their own agent.

The admin creates one with a name (also the name of its agent, of kind ``integration``, that
stamps everything it creates), scopes, the targets and channels it may use, its own rate
limit and optionally a webhook URL (with ``allow_private``, one that may reach addresses the
hub otherwise refuses). The token and the webhook secret are shown once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import get_args

from hubbub.core import names
from hubbub.core.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge
from hubbub.core.keys import INTEGRATION_PREFIX, KeyService, digest
from hubbub.core.limits import Limits
from hubbub.core.models import (
    Agent,
    DeliveryStatus,
    Integration,
    IntegrationAction,
    IntegrationEventResult,
    NewIntegration,
    Task,
    WebhookDelivery,
)
from hubbub.core.outbound import OutboundPolicy
from hubbub.core.scopes import (
    Grant,
    check_channel_patterns,
    check_scopes,
    check_target_patterns,
)
from hubbub.core.store import DeliveryQuery, IntegrationSpec, Store, TaskEdit
from hubbub.core.tasks import MAX_PRIORITY, MAX_TITLE, TaskDraft, TaskService
from hubbub.core.webhooks import check_url, outcome

SECRET_PREFIX = "whsec_"
DELIVERY_STATUSES: tuple[str, ...] = get_args(DeliveryStatus)
MAX_RATE = 10_000.0
MAX_DEDUPE_KEY = 200
RESOLVED = "resolved at the source"
ACTIVE = ("open", "claimed")


@dataclass(frozen=True, slots=True)
class IntegrationEvent:
    """An alert, CI or ticket event: ``trigger`` creates the task its ``dedupe_key`` names
    (or bumps it), ``update`` changes its text, priority or labels, ``resolve`` cancels it."""

    action: IntegrationAction
    dedupe_key: str
    title: str | None = None
    body: str | None = None
    target: str | None = None
    priority: int | None = None
    labels: list[str] | None = None
    due_at: datetime | None = None


def new_token() -> str:
    """A fresh integration token (``hb_int_…``)."""
    return INTEGRATION_PREFIX + secrets.token_urlsafe(32)


class IntegrationService:
    """Create, list and revoke integrations; apply their events to tasks; show webhook
    deliveries."""

    def __init__(
        self,
        store: Store,
        limits: Limits,
        keys: KeyService,
        tasks: TaskService,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        self._store = store
        self._limits = limits
        self._keys = keys
        self._tasks = tasks
        self._outbound = outbound or OutboundPolicy()

    async def create(
        self,
        name: str,
        *,
        scopes: list[str],
        targets: list[str],
        channels: list[str],
        rate_limit: float = 20.0,
        rate_burst: float = 40.0,
        webhook_url: str | None = None,
        allow_private: bool = False,
    ) -> NewIntegration:
        """A new integration; its token (and webhook secret) are in the answer only. Only
        the admin creates integrations, so ``allow_private`` is the admin registering its
        webhook URL as a destination that may reach non-public addresses (never a cloud
        metadata one)."""
        names.check_agent(name)
        if webhook_url is not None:
            check_url(webhook_url)
            self._outbound.check_url(webhook_url, allow_private=allow_private)
        if not 0 < rate_limit <= MAX_RATE:
            raise InvalidInput(f"rate_limit must be above 0 and at most {MAX_RATE:g}")
        if not 1 <= rate_burst <= MAX_RATE:
            raise InvalidInput(f"rate_burst must be between 1 and {MAX_RATE:g}")
        secret = None if webhook_url is None else SECRET_PREFIX + secrets.token_urlsafe(32)
        token = new_token()
        spec = IntegrationSpec(
            name=name,
            scopes=check_scopes(scopes),
            targets=check_target_patterns(targets),
            channels=check_channel_patterns(channels),
            rate_limit=rate_limit,
            rate_burst=rate_burst,
            webhook_url=webhook_url,
            webhook_secret=secret,
            prefix=token[:12],
            digest=digest(token),
            allow_private=allow_private and webhook_url is not None,
        )
        made = await self._store.create_integration(spec)
        return NewIntegration(token=token, webhook_secret=secret, integration=made)

    async def get(self, name: str) -> Integration:
        """The live integration of that name (else the newest revoked one)."""
        names.check_agent(name)
        found = await self._store.integration(name)
        if found is None:
            raise NotFound(f"no integration named {name!r}", code="integration_not_found")
        return found

    async def revoke(self, name: str) -> Integration:
        """Revoke an integration: its token stops working at once in this process and its
        pending deliveries are dropped. Revoking twice changes nothing."""
        names.check_agent(name)
        revoked = await self._store.revoke_integration(name)
        if revoked is None:
            raise NotFound(f"no integration named {name!r}", code="integration_not_found")
        self._keys.forget()
        return revoked

    async def deliveries(
        self,
        name: str,
        *,
        status: str | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> list[WebhookDelivery]:
        """An integration's webhook deliveries, newest first."""
        found = await self.get(name)
        return await self._store.deliveries(
            DeliveryQuery(
                integration_id=found.id, status=check_status(status), before=before, limit=limit
            )
        )

    async def task_deliveries(
        self,
        agent: Agent,
        task_id: int,
        *,
        admin: bool = False,
        status: str | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> list[WebhookDelivery]:
        """The deliveries to a task's callback URL, newest first: for its creator, or a
        request made with the admin key. Only the admin sees what receivers answered: the
        creator gets each attempt's outcome (``HTTP 500``, ``ConnectError``…), never the
        text that came back, so a callback cannot read what answers at an address."""
        task = await self._tasks.get(agent, task_id, admin=admin)
        if not admin and task.created_by != agent.name:
            raise Forbidden(
                "only a task's creator, or a request made with the admin key, sees its "
                "callback deliveries",
                code="not_creator",
            )
        found = await self._store.deliveries(
            DeliveryQuery(task_id=task_id, status=check_status(status), before=before, limit=limit)
        )
        if admin:
            return found
        return [d.model_copy(update={"last_error": outcome(d.last_error)}) for d in found]

    async def ingest(
        self, agent: Agent, grant: Grant, event: IntegrationEvent
    ) -> IntegrationEventResult:
        """Apply an integration's event to the task of its ``dedupe_key``. Every action is
        safe to repeat: a trigger bumps the active task, an update that changes nothing and
        a resolve of a finished task are ``unchanged``, and an update or resolve with no
        active task to act on is ``ignored``."""
        key = event.dedupe_key
        if not (0 < len(key) <= MAX_DEDUPE_KEY and key.isprintable()):
            raise InvalidInput(
                f"dedupe_key must be 1-{MAX_DEDUPE_KEY} printable characters",
                code="bad_dedupe_key",
            )
        if event.action == "trigger":
            return await self._trigger(agent, grant, event)
        grant.require("tasks:update")
        self._check_update(event)
        task_id = await self._store.dedupe_task_id(agent.id, key)
        if task_id is None:
            return IntegrationEventResult(action=event.action, outcome="ignored")
        task = await self._tasks.get(agent, task_id, admin=True)  # its own task
        grant.require_target(task.target)
        if event.action == "update":
            return await self._update(agent, event, task)
        return await self._resolve(agent, task)

    async def _trigger(
        self, agent: Agent, grant: Grant, event: IntegrationEvent
    ) -> IntegrationEventResult:
        grant.require("tasks:create")
        if not event.title or not event.target:
            raise InvalidInput("a trigger needs a title and a target", code="invalid")
        grant.require_target(event.target)
        draft = TaskDraft(
            title=event.title,
            target=event.target,
            body=event.body or "",
            priority=event.priority or 0,
            labels=tuple(event.labels or ()),
            dedupe_key=event.dedupe_key,
            due_at=event.due_at,
        )
        made = await self._tasks.create(agent, draft)
        outcome = "deduped" if made.deduped else "created"
        return IntegrationEventResult(action="trigger", outcome=outcome, task=made.task)

    def _check_update(self, event: IntegrationEvent) -> None:
        """An update or resolve may carry new text, priority or labels, nothing else."""
        if event.target is not None or event.due_at is not None:
            raise InvalidInput(
                f"{event.action} cannot change target or due_at (trigger a new task)",
                code="invalid",
            )
        if event.title is not None and not (0 < len(event.title.strip()) <= MAX_TITLE):
            raise InvalidInput(f"the title must have 1-{MAX_TITLE} characters", code="invalid")
        if event.body is not None and len(event.body.encode()) > self._limits.max_content_bytes:
            raise TooLarge(
                f"the body is over {self._limits.max_content_bytes} bytes",
                code="content_too_large",
            )
        if event.priority is not None and not -MAX_PRIORITY <= event.priority <= MAX_PRIORITY:
            raise InvalidInput(f"priority must be within ±{MAX_PRIORITY}", code="invalid")
        if event.labels is not None:
            if len(event.labels) > self._limits.max_tags:
                raise InvalidInput(f"at most {self._limits.max_tags} labels", code="invalid")
            for label in event.labels:
                names.check_tag(label)

    async def _update(
        self, agent: Agent, event: IntegrationEvent, task: Task
    ) -> IntegrationEventResult:
        if task.status not in ACTIVE:
            return IntegrationEventResult(action="update", outcome="ignored", task=task)
        labels = None if event.labels is None else list(dict.fromkeys(event.labels))
        edited = await self._store.edit_task(
            TaskEdit(
                task_id=task.id,
                creator_id=agent.id,
                creator_name=agent.name,
                title=event.title,
                body=event.body,
                priority=event.priority,
                labels=labels,
            )
        )
        if edited is None:  # it finished meanwhile
            task = await self._tasks.get(agent, task.id, admin=True)
            return IntegrationEventResult(action="update", outcome="ignored", task=task)
        outcome = "updated" if edited.updated_at != task.updated_at else "unchanged"
        return IntegrationEventResult(action="update", outcome=outcome, task=edited)

    async def _resolve(self, agent: Agent, task: Task) -> IntegrationEventResult:
        if task.status in ACTIVE:
            try:
                cancelled = await self._tasks.cancel(agent, task.id, reason=RESOLVED)
            except Conflict as error:
                if error.code != "task_finished":
                    raise
            else:
                return IntegrationEventResult(action="resolve", outcome="resolved", task=cancelled)
            task = await self._tasks.get(agent, task.id, admin=True)
        return IntegrationEventResult(action="resolve", outcome="unchanged", task=task)

    async def list(self) -> list[Integration]:
        """Every integration, revoked ones included, oldest first."""
        return await self._store.list_integrations()


def check_status(status: str | None) -> DeliveryStatus | None:
    """Validate a delivery status filter."""
    if status is None:
        return None
    for known in get_args(DeliveryStatus):
        if status == known:
            found: DeliveryStatus = known
            return found
    raise InvalidInput(f"bad status {status!r}: one of {', '.join(DELIVERY_STATUSES)}")
