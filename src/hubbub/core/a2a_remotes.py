"""Remote A2A agents as members of the hub: the registry, and the durable outbox that forwards
what reaches them.

An admin registers a remote agent by the base URL of its Agent Card; it becomes a hub agent of
kind ``a2a`` whose capabilities are its card's skills, so ``cap:`` routing reaches it. Whatever
lands in its inbox (a DM, a mention, a task offer) is forwarded as an A2A ``SendMessage``.

The dispatcher reads the event log after its persisted cursor and, in the one write that moves
the cursor, puts an outbox item in for each ``inbox.item`` event of a remote agent. The sender
forwards each remote's items in order, one at a time, under a lease (another hub process
leaves a claimed item alone), retrying with backoff until it is answered, until
``max_attempts`` or until ``max_age`` (then the item is ``failed`` with the reason). The answer
comes back as a reply by the remote agent in the same thread (its file artifacts as files), and
a task offer is claimed by the remote agent and finished with the answer. A hub thread keeps
the remote's ``contextId``, so a follow-up continues the same conversation.

The A2A protocol itself is a :class:`Forwarder`, supplied by the adapter that runs the hub; the
core never imports the A2A SDK.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

import orjson

from hubbub.core import names
from hubbub.core.bus import EventBus
from hubbub.core.errors import Conflict, HubbubError, InvalidInput, NotFound, Unavailable
from hubbub.core.events import INBOX_ITEM, StoredEvent
from hubbub.core.files import FileService, Upload
from hubbub.core.limits import Limits
from hubbub.core.messages import MessageService
from hubbub.core.models import A2AOutboxItem, A2ARemote, Agent, Message, Task
from hubbub.core.outbound import OutboundPolicy
from hubbub.core.outbox import LEASE_MARGIN, OutboxWorker, RetryPolicy
from hubbub.core.store import A2AContext, DueForward, ForwardAttempt, NewForward, NewRemote, Store
from hubbub.core.tasks import TaskService
from hubbub.core.webhooks import WebhookPolicy

log = logging.getLogger("hubbub.a2a")

SCAN_PAGE = 1000
MIN_TIMEOUT = 30.0
MAX_TOKEN = 4000
TOKEN_RE = re.compile(r"[!-~]+")  # what an HTTP header carries as is
MAX_CAPABILITIES = 32
MAX_FILES = 10  # of one answer kept as hub files
MISSING_EXTRA = (
    "A2A support is not installed on the hub: install the extra `hubbub[a2a]` "
    "(pip install 'hubbub[a2a]') and restart it"
)

# What a remote's answer ended as: a plain message, or the state of the task it made.
AnswerState = Literal[
    "message", "completed", "failed", "canceled", "rejected", "input_required", "auth_required"
]
FINISHED_WELL = frozenset({"message", "completed"})
WAITING = frozenset({"input_required", "auth_required"})


@dataclass(frozen=True, slots=True)
class RemoteCard:
    """What the hub keeps of a remote's Agent Card: its name and description, the
    capabilities its skills give (ids and tags), and the card itself as JSON."""

    name: str
    description: str
    capabilities: list[str]
    card: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RemoteTarget:
    """Where to send: the registered base URL and the token to send with it."""

    url: str
    token: str | None = field(repr=False)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One A2A message to send: ``message_id`` is stable across retries of the same item;
    ``context_id`` and ``task_id`` continue an earlier conversation or waiting task."""

    message_id: str
    text: str
    context_id: str | None = None
    task_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReturnedFile:
    """A file part of the remote's answer: its bytes when it sent them, else its URL."""

    name: str
    media_type: str
    data: bytes | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """The remote's answer, once final (or waiting for input): its text, its JSON data
    parts, its files, and the conversation and task it belongs to."""

    state: AnswerState
    text: str = ""
    data: list[Any] = field(default_factory=list)
    files: list[ReturnedFile] = field(default_factory=list)
    context_id: str | None = None
    task_id: str | None = None


class ForwardError(Exception):
    """An attempt that failed: ``permanent`` when trying again cannot help (a refused
    destination)."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Forwarder(Protocol):
    """The A2A client side, supplied by the adapter (over the A2A SDK): it connects only to
    addresses the hub's :class:`~hubbub.core.outbound.OutboundPolicy` allows, and to the
    private address of a registered URL only for exactly that URL's host and port."""

    async def card(self, target: RemoteTarget) -> RemoteCard:
        """Fetch and read the Agent Card at ``target``; raise :class:`ForwardError`."""
        ...

    async def send(self, target: RemoteTarget, outgoing: Outgoing) -> Answer:
        """Send one message and wait (bounded) for the final answer, following a task the
        remote made until it ends or waits for input; raise :class:`ForwardError`."""
        ...


@dataclass(frozen=True, slots=True)
class A2APolicy(RetryPolicy):
    """How hard the sender tries (a remote agent may think before it answers), and how long
    a remote task is followed to its end."""

    timeout_seconds: float = 30.0
    follow_seconds: float = 300.0
    max_attempts: int = 8
    concurrency: int = 8


def policy_from(webhooks: WebhookPolicy) -> A2APolicy:
    """The sender's policy from the webhook sender's: the same retries, backoff and history,
    and at least ``MIN_TIMEOUT`` seconds a request (a remote agent may think before it
    answers)."""
    return A2APolicy(
        timeout_seconds=max(webhooks.timeout_seconds, MIN_TIMEOUT),
        max_attempts=webhooks.max_attempts,
        max_age_seconds=webhooks.max_age_seconds,
        backoff_seconds=webhooks.backoff_seconds,
        backoff_max_seconds=webhooks.backoff_max_seconds,
        retention_days=webhooks.retention_days,
    )


def label_of(name: str) -> str | None:
    """A card's name as a hub label: lowercased, each run of what a label cannot hold a
    hyphen, at most 64 characters (``None`` if nothing is left)."""
    cleaned = re.sub(r"[^a-z0-9 ._:/-]+", "-", name.strip().lower())
    cleaned = re.sub(r"^[^a-z0-9]+", "", cleaned[:64]).rstrip(" ")
    try:
        return names.check_label(cleaned)
    except InvalidInput:
        return None


def capabilities_of(skills: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """The hub capabilities of a card's skills (each an id and its tags): every id and tag
    that is a valid capability, once, in order, at most ``MAX_CAPABILITIES``."""
    found: list[str] = []
    for skill_id, tags in skills:
        for raw in (skill_id, *tags):
            value = raw.strip().lower().replace(" ", "-")
            with contextlib.suppress(InvalidInput):
                value = names.check_tag(value)
                if value not in found:
                    found.append(value)
    return found[:MAX_CAPABILITIES]


def forwards_for(events: Sequence[StoredEvent]) -> list[NewForward]:
    """The outbox items for these remote agents' ``inbox.item`` events."""
    found: list[NewForward] = []
    for event in events:
        payload = event.payload
        if event.type != INBOX_ITEM or event.agent_id is None:
            continue
        item_id, message_id = payload.get("item_id"), payload.get("message_id")
        if not isinstance(item_id, int) or not isinstance(message_id, int):
            continue
        kind = str(payload.get("kind") or "dm")
        found.append(NewForward(event.agent_id, event.seq, item_id, message_id, kind))
    return found


class A2ARemoteService(OutboxWorker[DueForward, Forwarder]):
    """The registry of remote A2A agents, and the dispatcher and sender that forward to them
    (run by :meth:`run` inside the hub process)."""

    name = "a2a"
    log = log

    def __init__(
        self,
        store: Store,
        bus: EventBus | None,
        messages: MessageService,
        tasks: TaskService,
        files: FileService,
        outbound: OutboundPolicy,
        limits: Limits,
        policy: A2APolicy | None = None,
    ) -> None:
        chosen = policy or A2APolicy()
        super().__init__(bus, chosen)
        self.policy: A2APolicy = chosen
        self._store = store
        self._limit = limits.max_content_bytes
        self._messages = messages
        self._tasks = tasks
        self._files = files
        self._outbound = outbound
        self.forwarder: Forwarder | None = None

    # the registry

    def _ready(self) -> Forwarder:
        if self.forwarder is None:
            raise Unavailable(MISSING_EXTRA, code="a2a_unavailable")
        return self.forwarder

    async def add(
        self, name: str, url: str, *, token: str | None = None, label: str | None = None
    ) -> A2ARemote:
        """Register the remote agent whose Agent Card is at ``url`` as the hub agent
        ``name``: the card is fetched first (a failure registers nothing)."""
        names.check_agent(name)
        if token is not None and not (0 < len(token) <= MAX_TOKEN and TOKEN_RE.fullmatch(token)):
            raise InvalidInput(
                f"the token must be 1-{MAX_TOKEN} visible ASCII characters (no spaces)",
                code="bad_a2a_token",
            )
        if label is not None:
            names.check_label(label)
        # An admin registers it, so a private address is allowed (never a metadata one).
        self._outbound.check_url(url, allow_private=True)
        if await self._store.agent(name) is not None:
            raise Conflict(f"the name {name!r} is already taken", code="name_taken")
        try:
            card = await self._ready().card(RemoteTarget(url, token))
        except ForwardError as error:
            raise InvalidInput(
                f"cannot read the Agent Card at {url[:200]}: {error}", code="a2a_card_unreadable"
            ) from None
        spec = NewRemote(
            name=name,
            url=url,
            token=token,
            card=card.card,
            label=label or label_of(card.name),
            tags=["a2a"],
            capabilities=card.capabilities,
        )
        return await self._store.create_a2a_remote(spec)

    async def list(self) -> list[A2ARemote]:
        """Every registered remote agent, by name."""
        return await self._store.a2a_remotes()

    async def get(self, name: str) -> A2ARemote:
        """One remote agent."""
        found = await self._store.a2a_remote(name)
        if found is None:
            raise NotFound(f"no remote A2A agent named {name!r}", code="a2a_remote_not_found")
        return found

    async def remove(self, name: str) -> A2ARemote:
        """Forget a remote agent: its pending items fail and its hub agent is deleted."""
        return await self._store.remove_a2a_remote(name)

    async def outbox(
        self, name: str | None = None, status: str | None = None, limit: int = 50
    ) -> builtins.list[A2AOutboxItem]:
        """The outbox, newest first: one remote's (``name``) or all, by ``status``."""
        if name is not None:
            await self.get(name)
        if status is not None and status not in ("pending", "sent", "skipped", "failed"):
            raise InvalidInput("status must be pending, sent, skipped or failed", code="invalid")
        if limit < 1:
            raise InvalidInput("limit must be at least 1", code="invalid")
        return await self._store.a2a_outbox(name, status, limit)

    # the dispatcher and the sender

    async def dispatch(self) -> int:
        """Move every remote agent's inbox item after the cursor into the outbox."""
        queued = 0
        while True:
            scan = await self._store.a2a_scan(SCAN_PAGE)
            if scan.upto == scan.cursor:
                return queued
            new = forwards_for(scan.events)
            if not await self._store.enqueue_forwards(scan.cursor, scan.upto, new):
                return queued  # another dispatcher moved the cursor: it has these events
            queued += len(new)

    async def run(self, stop: asyncio.Event, transport: Forwarder) -> None:
        """Until ``stop``: dispatch new items and forward what is due. An attempt cut short
        by the stop stays pending and is sent again after a restart."""
        self.forwarder = transport
        await super().run(stop, transport)

    async def _heads(self, limit: int) -> Sequence[DueForward]:
        return await self._store.a2a_heads(limit)

    def _destination(self, head: DueForward) -> int:
        return head.agent_id

    async def _prune(self, before: datetime) -> None:
        await self._store.prune_forwards(before)

    def _wakes(self, event: StoredEvent) -> bool:
        return event.type == INBOX_ITEM

    async def _attempt(self, head: DueForward, forwarder: Forwarder) -> None:
        now = datetime.now(UTC)
        # The claim is a lease: should this process die mid-attempt, the item falls due again
        # once it runs out, and no other process sends it (or the next one) meanwhile.
        longest = self.policy.timeout_seconds + self.policy.follow_seconds + LEASE_MARGIN
        if not await self._store.claim_forward(head.id, now, now + timedelta(seconds=longest)):
            return
        try:
            outcome = await self._forward(head, forwarder)
        except asyncio.CancelledError:  # a shutdown cut it short: due again at the next start
            cut = ForwardAttempt(
                head.id,
                "pending",
                error="cut short by a shutdown",
                next_attempt_at=datetime.now(UTC),
                counts=False,
            )
            await self._store.record_forward(cut)
            raise
        except ForwardError as error:
            outcome = self._retry(head, str(error), permanent=error.permanent)
        except Unavailable as error:  # the database's trouble: the next attempt may pass
            outcome = self._retry(head, str(error), permanent=False)
        except HubbubError as error:  # the hub refused what the answer asked (permanent)
            outcome = ForwardAttempt(head.id, "failed", error=str(error)[:500])
        except Exception as error:  # a bug must not stop the outbox
            log.exception("A2A attempt failed")
            outcome = self._retry(head, f"{type(error).__name__}: {error}", permanent=False)
        await self._store.record_forward(outcome)

    def _retry(self, head: DueForward, reason: str, *, permanent: bool) -> ForwardAttempt:
        error = reason[:500] or "no answer"
        next_at = self.policy.next_try(head.attempts + 1, head.created_at)
        if permanent or next_at is None:
            return ForwardAttempt(head.id, "failed", error=error)
        return ForwardAttempt(head.id, "pending", error=error, next_attempt_at=next_at)

    async def _forward(self, head: DueForward, forwarder: Forwarder) -> ForwardAttempt:
        """Send one item and bring its answer back; the item's outcome."""
        agent = await self._store.agent(head.agent)
        if agent is None or agent.deleted:
            return ForwardAttempt(head.id, "failed", error="the remote agent was removed")
        try:
            message = await self._messages.get(agent, head.message_id)
        except NotFound:
            return ForwardAttempt(head.id, "failed", error="the message is gone")
        channel = await self._store.channel(message.channel)
        if channel is None:
            return ForwardAttempt(head.id, "failed", error="the channel is gone")
        author = await self._store.agent(message.author)
        if author is not None and author.kind == "a2a":  # two remote agents never loop
            return ForwardAttempt(head.id, "skipped", error="from another remote A2A agent")
        thread = message.thread_id or message.id
        task = await self._task_of(agent, message) if head.kind == "task" else None
        if head.kind == "task" and task is None:
            return ForwardAttempt(head.id, "skipped", error="the task was no longer open to it")
        earlier = await self._store.a2a_context(agent.id, channel.id, thread)
        outgoing = Outgoing(
            message_id=f"hubbub-{head.id}",
            text=_text(message, task),
            context_id=earlier.context_id,
            task_id=earlier.task_id,
            metadata={"hubbub": {"message_id": message.id, "from": message.author}},
        )
        try:
            answer = await forwarder.send(RemoteTarget(head.url, head.token), outgoing)
        except ForwardError:
            if task is not None:  # others may take it meanwhile; it is claimed again
                with contextlib.suppress(HubbubError):
                    await self._tasks.release(agent, task.id, task.fence)
            raise
        context = A2AContext(
            answer.context_id or earlier.context_id,
            answer.task_id if answer.state in WAITING else None,
        )
        await self._store.keep_a2a_context(agent.id, channel.id, thread, context)
        await self._store.touch_agent(agent.id)  # it answered: it is active, and listed
        await self._reply(agent, head, message, answer)
        if task is not None:
            await self._finish(agent, task, answer)
        return ForwardAttempt(head.id, "sent")

    async def _task_of(self, agent: Agent, message: Message) -> Task | None:
        """The task an offer is about, held by ``agent``: claimed now, or already (a retry);
        ``None`` if it is no longer the agent's to take."""
        meta = message.metadata.get("task")
        task_id = meta.get("id") if isinstance(meta, dict) else None
        if not isinstance(task_id, int):
            return None
        try:
            task = await self._tasks.get(agent, task_id)
            if task.status == "claimed" and task.holder == agent.name:
                return task
            lease = self.policy.timeout_seconds + self.policy.follow_seconds + LEASE_MARGIN
            return await self._tasks.claim(agent, task_id, lease_seconds=min(lease, 24 * 3600.0))
        except (Conflict, NotFound, InvalidInput):
            return None
        except HubbubError as error:
            if error.code == "not_eligible":
                return None
            raise

    async def _reply(
        self, agent: Agent, head: DueForward, message: Message, answer: Answer
    ) -> None:
        """Post the answer as ``agent``'s reply in the message's thread, then its files."""
        text = answer.text.strip()
        if not text and answer.data:
            text = "\n".join(f"```json\n{_json(d)}\n```" for d in answer.data)
        if not text and not answer.files:
            text = f"({answer.state.replace('_', ' ')})"
        dm = message.channel.startswith("dm:")
        target = f"@{message.author}" if dm else f"#{message.channel}"
        meta = {"a2a": {"state": answer.state, "context_id": answer.context_id}}
        if answer.task_id:
            meta["a2a"]["task_id"] = answer.task_id
        if text:
            limit = self._limit
            try:
                await self._messages.send(
                    agent,
                    target,
                    _clip(text, limit),
                    metadata=meta,
                    reply_to=message.id,
                    idempotency_key=f"a2a-{head.id}",
                )
            except Conflict as error:  # a retry whose earlier reply already went out
                if error.code != "idempotency_conflict":
                    raise
        for index, returned in enumerate(answer.files[:MAX_FILES]):
            if returned.data is None:
                continue
            upload = Upload(
                to=target,
                name=returned.name or f"artifact-{index + 1}",
                content_type=returned.media_type or None,
                message=f"(from {agent.name}, in reply to message {message.id})",
            )
            try:
                await self._files.upload(agent, upload, _once(returned.data), len(returned.data))
            except Unavailable:
                raise
            except HubbubError as error:  # too large, over quota…: the answer still counts
                log.warning("a file from %s was not kept: %s", agent.name, error)

    async def _finish(self, agent: Agent, task: Task, answer: Answer) -> None:
        """End the hub task the remote worked on: done with its answer, or failed."""
        result: Any = {"a2a": {"state": answer.state, "context_id": answer.context_id}}
        if answer.data:
            result["data"] = answer.data
        if answer.files:
            result["files"] = [
                {"name": f.name, "media_type": f.media_type, "url": f.url} for f in answer.files
            ]
        text = _clip(answer.text.strip(), self._limit) or None
        try:
            if answer.state in FINISHED_WELL:
                await self._tasks.complete(agent, task.id, task.fence, result=result, text=text)
            else:
                why = text or f"the remote agent's task ended {answer.state.replace('_', ' ')}"
                await self._tasks.fail(agent, task.id, task.fence, result=result, text=why)
        except Conflict:  # a retry of an item whose task was already finished
            current = await self._tasks.get(agent, task.id)
            if current.status not in ("done", "failed"):
                raise


def _text(message: Message, task: Task | None) -> str:
    """What the remote is sent: the message, or the task's title and body."""
    if task is None:
        return message.content
    return task.title + (f"\n\n{task.body}" if task.body else "")


def _clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: max(0, limit - 3)].decode("utf-8", "ignore") + "…"


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()[:4000]


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
