"""A2A tasks: what an A2A client sends a hub agent, as the hub's own messages and tasks.

A message sent to an agent over A2A is a DM from the caller; the thread it starts (or the one
it continues) is its A2A context. It is one A2A task, whose state is read from the hub: it is
``submitted`` once delivered, ``working`` once the agent has read it, ``completed`` with the
agent's first reply in the thread after it. A message that asks for work creates a hub task
offered to the agent (or to a capability of it, a skill of its card) instead; that task's
status is the A2A task's (open → submitted, claimed → working, done → completed, failed →
failed, cancelled → canceled) and its result the A2A task's artifact. The A2A task's id is
the id of the message that started it, so it outlives restarts. Waits and streams follow the
event bus and read the task again only when an event touches its DM or its hub task.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import orjson

from hubbub.core import names
from hubbub.core.bus import EventBus
from hubbub.core.channels import ChannelService
from hubbub.core.errors import Conflict, HubbubError, InvalidInput, NotFound
from hubbub.core.events import StoredEvent
from hubbub.core.messages import MessageService
from hubbub.core.models import Agent, Message, Task
from hubbub.core.offers import MAX_TITLE, TaskDraft
from hubbub.core.outbound import OutboundPolicy
from hubbub.core.store import (
    A2APush,
    A2APushConfig,
    A2ATaskQuery,
    A2ATaskRecord,
    NewDelivery,
    Store,
)
from hubbub.core.tasks import TaskService

A2AState = Literal["submitted", "working", "completed", "failed", "canceled"]
FINAL: frozenset[str] = frozenset({"completed", "failed", "canceled"})
HUB_STATES: dict[str, A2AState] = {
    "open": "submitted",
    "claimed": "working",
    "done": "completed",
    "failed": "failed",
    "cancelled": "canceled",
}
MAX_PAGE = 100
MAX_PUSH_CONFIGS = 10
MAX_PUSH_NAME = 100
MAX_PUSH_TOKEN = 200
MAX_PUSH_URL = 2000
PUSH_EVENT = "a2a.task.status"
PUSH_STATES: dict[str, str] = {name: f"TASK_STATE_{name.upper()}" for name in HUB_STATES.values()}
MAX_MESSAGE_ID = 200
OFFER_SCAN = 50  # newest messages of the DM searched for a task's offer
DEFAULT_TITLE = "Request over A2A"


@dataclass(frozen=True, slots=True)
class WorkRequest:
    """A message's ask for work: the hub task's title (else the message's first line), the
    skill (a capability of the agent: the task goes to ``cap:<skill>``) and its priority."""

    title: str | None = None
    skill: str | None = None
    priority: int = 0


@dataclass(frozen=True, slots=True)
class A2ASend:
    """A message an A2A client sends an agent, as the hub will post it."""

    message_id: str
    content: str
    metadata: dict[str, Any] = field(default_factory=dict)
    context_id: int | None = None
    task_id: int | None = None
    work: WorkRequest | None = None


@dataclass(frozen=True, slots=True)
class A2ATaskView:
    """An A2A task as the hub sees it now."""

    record: A2ATaskRecord
    caller: str
    agent: str
    state: A2AState
    messages: list[Message]
    """The thread from the task's message on (for a message, up to the agent's reply)."""
    reply: Message | None
    task: Task | None
    updated_at: datetime

    @property
    def final(self) -> bool:
        """True once the task can change no more."""
        return self.state in FINAL

    @property
    def request(self) -> Message:
        """The message that started the task."""
        return self.messages[0]

    def _key(self) -> tuple[Any, ...]:
        seen = tuple((m.id, m.edited_at, m.deleted) for m in self.messages)
        return (self.state, seen, None if self.task is None else self.task.updated_at)

    def differs(self, other: A2ATaskView) -> bool:
        """True if anything a client sees changed between the two."""
        return self._key() != other._key()


@dataclass(frozen=True, slots=True)
class A2ATaskPage:
    """A page of a caller's A2A tasks, newest first."""

    tasks: list[A2ATaskView]
    total: int
    next_before: int | None


def idempotency_key(message_id: str) -> str:
    """The hub idempotency key of an A2A message id: a retry of the same message posts
    nothing new."""
    return "a2a:" + hashlib.sha256(message_id.encode()).hexdigest()[:48]


def context_of(raw: str) -> int | None:
    """An A2A contextId or taskId as the hub id it is (``None`` when empty)."""
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise NotFound(f"no A2A task or context {raw[:40]!r} on this hub", code="a2a_not_found")
    return int(raw)


class A2AService:
    """Send to, read, list, cancel and follow A2A tasks of hub agents."""

    def __init__(
        self,
        store: Store,
        messages: MessageService,
        tasks: TaskService,
        channels: ChannelService,
        bus: EventBus | None,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        self._store = store
        self._messages = messages
        self._tasks = tasks
        self._channels = channels
        self._bus = bus
        self._outbound = outbound or OutboundPolicy()

    async def agent(self, name: str) -> Agent:
        """The agent an A2A card or endpoint is for: a visible, active agent (an integration,
        a hidden or ghost agent has none)."""
        try:
            names.check_agent(name)
        except InvalidInput:
            found = None
        else:
            found = await self._store.agent(name)
        if (
            found is None
            or found.deleted
            or found.deactivated
            or found.visibility != "visible"
            or found.kind == "integration"
        ):
            raise NotFound(
                f"no agent named {name[:64]!r} takes A2A requests", code="a2a_agent_not_found"
            )
        return found

    # sending

    async def send(self, caller: Agent, agent: Agent, request: A2ASend) -> A2ATaskView:
        """Post the caller's message to the agent (or create the hub task it asks for) and
        keep it as an A2A task; a retry of the same message id finds the same task."""
        if not 0 < len(request.message_id) <= MAX_MESSAGE_ID:
            raise InvalidInput(
                f"messageId must be 1-{MAX_MESSAGE_ID} characters", code="a2a_bad_message"
            )
        if caller.id == agent.id:
            raise InvalidInput("an agent cannot send A2A messages to itself", code="bad_target")
        key = idempotency_key(request.message_id)
        if request.task_id is not None:
            return await self._continue(caller, agent, request, key)
        if request.work is not None:
            return await self._work(caller, agent, request, key)
        reply_to = None
        if request.context_id is not None:
            reply_to = await self._context(caller, agent, request.context_id)
        sent = await self._messages.send(
            caller,
            f"@{agent.name}",
            request.content,
            metadata=request.metadata,
            reply_to=reply_to,
            idempotency_key=key,
        )
        return await self._keep(caller, agent, sent.messages[0], None)

    async def _continue(
        self, caller: Agent, agent: Agent, request: A2ASend, key: str
    ) -> A2ATaskView:
        """A message for a task under way: posted in its thread; the task stays the same."""
        assert request.task_id is not None
        view = await self.get(caller, agent, request.task_id)
        if request.context_id not in (None, view.record.context_id):
            raise InvalidInput(
                f"task {request.task_id} is in context {view.record.context_id}, not "
                f"{request.context_id}",
                code="a2a_bad_context",
            )
        if view.final:
            raise Conflict(
                f"task {request.task_id} is {view.state}: send a new message in its context",
                code="a2a_task_final",
            )
        if request.work is not None:
            raise InvalidInput(
                "a message that asks for work starts a new task: leave taskId out",
                code="a2a_bad_context",
            )
        await self._messages.send(
            caller,
            f"@{agent.name}",
            request.content,
            metadata=request.metadata,
            reply_to=view.record.context_id,
            idempotency_key=key,
        )
        return await self.view(caller, agent, view.record)

    async def _work(self, caller: Agent, agent: Agent, request: A2ASend, key: str) -> A2ATaskView:
        """Create the hub task the message asks for, offered to the agent (or to the skill's
        capability), and keep its offer as the A2A task."""
        work = request.work
        assert work is not None
        if request.context_id is not None:
            raise InvalidInput(
                "a message that asks for work starts a new context: leave contextId out",
                code="a2a_bad_context",
            )
        target = f"@{agent.name}"
        if work.skill is not None:
            if work.skill not in agent.capabilities:
                raise InvalidInput(
                    f"{agent.name} has no skill {work.skill[:64]!r}: use one of its card's",
                    code="a2a_unknown_skill",
                )
            target = f"cap:{work.skill}"
        first = request.content.strip().splitlines()[0] if request.content.strip() else ""
        title = (work.title or first or DEFAULT_TITLE)[:MAX_TITLE]
        draft = TaskDraft(title=title, target=target, body=request.content, priority=work.priority)
        created = await self._tasks.create(caller, draft, idempotency_key=key)
        offer = await self._offer(caller, agent, created.task.id)
        return await self._keep(caller, agent, offer, created.task.id)

    async def _offer(self, caller: Agent, agent: Agent, task_id: int) -> Message:
        """The message that offered task ``task_id`` to ``agent`` in its DM with the caller."""
        channel = await self._channels.cached(names.dm_channel_name(caller.name, agent.name))
        if channel is not None:
            recent = await self._store.messages(
                channel.id, after=None, before=None, limit=OFFER_SCAN
            )
            for message in reversed(recent):
                offered = message.metadata.get("task")
                if isinstance(offered, dict) and offered.get("id") == task_id:
                    return message
        raise HubbubError(f"the offer of task {task_id} to {agent.name} is missing")

    async def _context(self, caller: Agent, agent: Agent, context_id: int) -> int:
        """The root of a thread of the caller's DM with the agent, to reply to."""
        root = await self._store.message(context_id)
        dm = names.dm_channel_name(caller.name, agent.name)
        if root is None or root.channel != dm or root.thread_id not in (None, root.id):
            raise NotFound(
                f"no context {context_id} between you and {agent.name}",
                code="a2a_context_not_found",
            )
        return root.id

    async def _keep(
        self, caller: Agent, agent: Agent, message: Message, task_id: int | None
    ) -> A2ATaskView:
        channel = await self._store.channel(message.channel)
        if channel is None:  # removed since (an admin deleted the DM): nothing to keep
            raise NotFound(f"the DM of message {message.id} is gone", code="a2a_not_found")
        record = A2ATaskRecord(
            id=message.id,
            caller_id=caller.id,
            agent_id=agent.id,
            channel_id=channel.id,
            context_id=message.thread_id or message.id,
            task_id=task_id,
        )
        kept = await self._store.record_a2a_task(record)
        return await self.view(caller, agent, kept)

    # reading

    async def get(self, caller: Agent, agent: Agent, task_id: int) -> A2ATaskView:
        """One of the caller's A2A tasks with the agent."""
        record = await self._store.a2a_task(task_id)
        if record is None or record.caller_id != caller.id or record.agent_id != agent.id:
            raise NotFound(
                f"no A2A task {task_id} of yours with {agent.name}", code="a2a_not_found"
            )
        return await self.view(caller, agent, record)

    async def view(self, caller: Agent, agent: Agent, record: A2ATaskRecord) -> A2ATaskView:
        """The task as it is now, read from its thread, its DM and its hub task."""
        thread = await self._store.thread(record.context_id)
        later = [m for m in thread if m.id >= record.id]
        if not later or later[0].id != record.id:
            raise NotFound(f"A2A task {record.id} was removed", code="a2a_not_found")
        reply = next(
            (m for m in later[1:] if m.author == agent.name and not m.deleted),
            None,
        )
        stored = None if record.task_id is None else await self._store.task(record.task_id)
        task = None if stored is None else stored.task
        state: A2AState
        if task is not None:
            state = HUB_STATES[task.status]
        elif reply is not None:
            state = "completed"
            later = [m for m in later if m.id <= reply.id]
        else:
            positions = dict(await self._store.read_positions(record.channel_id))
            state = "working" if positions.get(agent.name, 0) >= record.id else "submitted"
        times = [m.edited_at or m.created_at for m in later]
        if task is not None:
            times.append(task.updated_at)
        return A2ATaskView(
            record=record,
            caller=caller.name,
            agent=agent.name,
            state=state,
            messages=later,
            reply=reply,
            task=task,
            updated_at=max(times),
        )

    # cancelling

    async def cancel(self, caller: Agent, agent: Agent, task_id: int) -> A2ATaskView:
        """Cancel the hub task an A2A task asked for (a plain message has no work to
        cancel); cancelling a canceled task changes nothing."""
        view = await self.get(caller, agent, task_id)
        if view.state == "canceled":
            return view
        if view.task is None:
            raise Conflict(
                f"task {task_id} is a message, not work: there is nothing to cancel",
                code="a2a_not_cancelable",
            )
        if view.final:
            raise Conflict(f"task {task_id} is already {view.state}", code="a2a_not_cancelable")
        await self._tasks.cancel(caller, view.task.id, reason="canceled over A2A")
        return await self.view(caller, agent, view.record)

    # push notifications

    async def set_push(
        self,
        caller: Agent,
        agent: Agent,
        task_id: int,
        url: str,
        *,
        name: str | None = None,
        token: str | None = None,
    ) -> A2APushConfig:
        """Push the task's status changes to ``url`` (through the webhook outbox, signed with
        ``token``); a config of the same name is replaced. The URL must be one the hub may
        send to."""
        view = await self.get(caller, agent, task_id)
        name = name or secrets.token_hex(8)
        self.check_push(url, name=name, token=token)
        existing = await self._store.a2a_pushes(view.record.id)
        if len(existing) >= MAX_PUSH_CONFIGS and all(c.name != name for c in existing):
            raise InvalidInput(
                f"a task takes at most {MAX_PUSH_CONFIGS} push configs", code="a2a_bad_push"
            )
        config = A2APushConfig(task_id=view.record.id, name=name, url=url, token=token)
        return await self._store.set_a2a_push(config)

    def check_push(self, url: str, *, name: str | None, token: str | None) -> None:
        """Refuse a push config the hub would not keep (before anything is written)."""
        if name is not None and not (name.isprintable() and 0 < len(name) <= MAX_PUSH_NAME):
            raise InvalidInput(
                f"a push config id is 1-{MAX_PUSH_NAME} printable characters",
                code="a2a_bad_push",
            )
        if token is not None and not 0 < len(token) <= MAX_PUSH_TOKEN:
            raise InvalidInput(
                f"a push token is 1-{MAX_PUSH_TOKEN} characters", code="a2a_bad_push"
            )
        _check_push_url(url)
        self._outbound.check_url(url)

    async def pushes(self, caller: Agent, agent: Agent, task_id: int) -> list[A2APushConfig]:
        """The task's push configs."""
        view = await self.get(caller, agent, task_id)
        return await self._store.a2a_pushes(view.record.id)

    async def push(self, caller: Agent, agent: Agent, task_id: int, name: str) -> A2APushConfig:
        """One push config of the task."""
        for config in await self.pushes(caller, agent, task_id):
            if config.name == name:
                return config
        raise NotFound(
            f"task {task_id} has no push config {name[:MAX_PUSH_NAME]!r}",
            code="a2a_push_not_found",
        )

    async def delete_push(self, caller: Agent, agent: Agent, task_id: int, name: str) -> None:
        """Stop pushing to a config (what it was still due is dropped)."""
        view = await self.get(caller, agent, task_id)
        if not await self._store.delete_a2a_push(view.record.id, name):
            raise NotFound(
                f"task {task_id} has no push config {name[:MAX_PUSH_NAME]!r}",
                code="a2a_push_not_found",
            )

    # following

    async def follow(
        self, caller: Agent, agent: Agent, view: A2ATaskView
    ) -> AsyncGenerator[A2ATaskView]:
        """The task now, then each time it changes, until it is final (or the hub stops)."""
        if self._bus is None:
            yield view
            return
        bus = self._bus
        subscription = bus.subscribe(1000)
        try:
            current = await self.view(caller, agent, view.record)
            yield current
            while not current.final:
                batch = await subscription.next_batch(None)
                if subscription.overflowed:  # read the task again from the database
                    subscription.close()
                    subscription = bus.subscribe(1000)
                elif not batch:
                    if subscription.closed:
                        return
                    continue
                elif not any(_touches(event, view.record) for event in batch):
                    continue
                fresh = await self.view(caller, agent, view.record)
                if fresh.differs(current):
                    current = fresh
                    yield current
        finally:
            subscription.close()

    async def settle(
        self, caller: Agent, agent: Agent, view: A2ATaskView, seconds: float
    ) -> A2ATaskView:
        """The task once final, or as it is after ``seconds``."""
        last = view
        if seconds <= 0 or view.final:
            return view
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                async with contextlib.aclosing(self.follow(caller, agent, view)) as updates:
                    async for update in updates:
                        last = update
        return last

    # listing (last: the name ``list`` shadows the builtin below it)

    async def list(
        self,
        caller: Agent,
        agent: Agent,
        *,
        context_id: int | None = None,
        state: str | None = None,
        updated_after: datetime | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> A2ATaskPage:
        """The caller's A2A tasks with the agent, newest first, ``limit`` a page from below
        ``before``; only those in ``state`` and changed after ``updated_after`` if given
        (filtered within the page)."""
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"pageSize must be 1-{MAX_PAGE}", code="invalid")
        query = A2ATaskQuery(caller.id, agent.id, context_id, before, limit)
        records, total = await self._store.a2a_tasks(query)
        views: list[A2ATaskView] = []
        for record in records:
            with contextlib.suppress(NotFound):  # its message was removed since
                view = await self.view(caller, agent, record)
                if (state is None or view.state == state) and (
                    updated_after is None or view.updated_at > updated_after
                ):
                    views.append(view)
        after = records[-1].id if len(records) == limit else None
        return A2ATaskPage(views, total, after)


def _check_push_url(url: str) -> None:
    """Refuse a push URL that is not an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # an unclosed "[" of an IPv6 address
        host = None
    if len(url) > MAX_PUSH_URL or not host or parts.scheme not in ("http", "https"):
        raise InvalidInput(
            f"bad push URL {url[:100]!r}: use an absolute http:// or https:// URL",
            code="a2a_bad_push",
        )


def push_deliveries(pushes: list[A2APush]) -> list[NewDelivery]:
    """The webhook outbox's deliveries for A2A push configs: each new state as A2A's stream
    response of a status update, to the config's URL (destination ``a:{config id}``)."""
    found: list[NewDelivery] = []
    for push in pushes:
        update = {
            "taskId": str(push.task_id),
            "contextId": str(push.context_id),
            "status": {"state": PUSH_STATES[push.state], "timestamp": push.at},
        }
        body = orjson.dumps({"statusUpdate": update}, option=orjson.OPT_UTC_Z).decode()
        found.append(
            NewDelivery(
                f"a:{push.config_id}", None, None, push.url, push.event_seq, PUSH_EVENT, body
            )
        )
    return found


def _touches(event: StoredEvent, record: A2ATaskRecord) -> bool:
    """True if ``event`` may change the task: something in its DM, or its hub task."""
    if event.channel_id == record.channel_id:
        return True
    if record.task_id is None or not event.type.startswith("task."):
        return False
    task = event.payload.get("task")
    return isinstance(task, dict) and task.get("id") == record.task_id
