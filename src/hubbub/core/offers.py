"""Offering a task: the draft a creator sends and its checks, where the task will live, and
the messages that offer it to the agents it is for."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import orjson

from hubbub.core import access, names
from hubbub.core.agents import reachable
from hubbub.core.channels import ChannelService
from hubbub.core.errors import InvalidInput, NotFound, TooLarge
from hubbub.core.limits import Limits
from hubbub.core.messages import MAX_IDEMPOTENCY_KEY
from hubbub.core.models import Agent, Task
from hubbub.core.store import AgentQuery, NewChannel, NewMessage, NewTask, Store

DEFAULT_LEASE = 600.0
MIN_LEASE = 1.0
MAX_LEASE = 24 * 3600.0
DEFAULT_MAX_ATTEMPTS = 3
MAX_ATTEMPTS = 100
MAX_PRIORITY = 1_000_000
MAX_TITLE = 200
MAX_URL = 2000
MAX_SECRET = 200


@dataclass(frozen=True, slots=True)
class TaskDraft:
    """What a creator asks for; the hub stamps the creator and the rest."""

    title: str
    target: str
    body: str = ""
    priority: int = 0
    labels: Sequence[str] = ()
    dedupe_key: str | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    lease_seconds: float = DEFAULT_LEASE
    due_at: datetime | None = None
    callback_url: str | None = None
    callback_secret: str | None = field(default=None, repr=False)
    offer: bool = True


@dataclass(frozen=True, slots=True)
class Checked:
    """A draft that passed its checks: its target parsed, its labels without duplicates, and
    the fingerprint that tells a retry from another use of its idempotency key."""

    target: names.Target
    labels: list[str]
    fingerprint: str


def offer(task: Task) -> tuple[str, dict[str, Any]]:
    """The content and metadata of the message that offers ``task`` (filled in by the store
    once the task has its id)."""
    ranked = f", priority {task.priority}" if task.priority else ""
    content = f"**Task {task.id}** for {task.target}{ranked}: {task.title}"
    if task.body:
        content += "\n\n" + task.body
    return content, {"task": {"id": task.id, "title": task.title, "target": task.target}}


def task_target(raw: str) -> names.Target:
    """Parse a task's target: ``@agent``, ``cap:x``, ``tag:x`` or ``#channel``."""
    target = names.parse_target(raw)
    if target.kind not in ("agent", "cap", "tag", "channel"):
        raise InvalidInput(
            f"bad task target {raw!r}: use @agent, cap:…, tag:… or #channel", code="bad_target"
        )
    return target


def check_lease(seconds: float | None) -> None:
    """Raise unless ``seconds`` (if given) is an allowed lease."""
    if seconds is not None and not MIN_LEASE <= seconds <= MAX_LEASE:
        raise InvalidInput(f"lease_seconds must be {MIN_LEASE:g}-{MAX_LEASE:g}", code="bad_lease")


def check_text(text: str | None, what: str, limit: int) -> None:
    """Raise if ``text`` is over ``limit`` bytes."""
    if text is not None and len(text.encode()) > limit:
        raise TooLarge(f"{what} is over {limit} bytes", code="content_too_large")


class Offers:
    """Check drafts and work out where a task lives and whom it is offered to."""

    def __init__(self, store: Store, limits: Limits, channels: ChannelService) -> None:
        self._store = store
        self._limits = limits
        self._channels = channels

    def check(self, draft: TaskDraft, idempotency_key: str | None) -> Checked:
        """Validate a draft (and the key its request came with)."""
        if not draft.title.strip():
            raise InvalidInput("a task needs a title", code="empty_title")
        if len(draft.title) > MAX_TITLE:
            raise InvalidInput(f"the title is over {MAX_TITLE} characters", code="invalid")
        check_text(draft.body, "the body", self._limits.max_content_bytes)
        if not -MAX_PRIORITY <= draft.priority <= MAX_PRIORITY:
            raise InvalidInput(f"priority must be within ±{MAX_PRIORITY}", code="invalid")
        if not 1 <= draft.max_attempts <= MAX_ATTEMPTS:
            raise InvalidInput(f"max_attempts must be 1-{MAX_ATTEMPTS}", code="invalid")
        check_lease(draft.lease_seconds)
        labels = list(dict.fromkeys(names.check_tag(label) for label in draft.labels))
        if len(labels) > self._limits.max_tags:
            raise InvalidInput(f"at most {self._limits.max_tags} labels", code="invalid")
        if draft.dedupe_key is not None and not _printable(draft.dedupe_key):
            raise InvalidInput(
                f"dedupe_key must be 1-{MAX_IDEMPOTENCY_KEY} printable characters",
                code="bad_dedupe_key",
            )
        if draft.due_at is not None and draft.due_at.tzinfo is None:
            raise InvalidInput("due_at needs a time zone (e.g. a trailing Z)", code="invalid")
        _check_callback(draft.callback_url, draft.callback_secret)
        if idempotency_key is not None and not _printable(idempotency_key):
            raise InvalidInput(
                f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} printable characters",
                code="bad_idempotency_key",
            )
        target = task_target(draft.target)
        fields = {**asdict(draft), "target": str(target), "labels": labels}
        data = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)
        return Checked(target, labels, hashlib.sha256(data).hexdigest())

    async def place(
        self, creator: Agent, target: names.Target, offering: bool
    ) -> tuple[int | NewChannel | None, list[NewMessage]]:
        """Where the task lives, and the messages (content filled in later) that offer it:
        a DM to the ``@agent`` or to each agent with the ``cap:``/``tag:``, or one post in the
        ``#channel`` with an inbox item for each member but the creator."""
        if target.kind == "channel":
            return await self._channel_offer(creator, target.value, offering)
        if target.kind == "agent":
            found = await self._store.agent(target.value)
            recipient = reachable(found, target.value, missing="unknown_target")
            if recipient.id == creator.id:
                raise InvalidInput("you cannot hand a task to yourself", code="bad_target")
            if recipient.visibility == "ghost":  # its offer is a DM: only where one exists
                dm_name = names.dm_channel_name(creator.name, recipient.name)
                access.check_dm(recipient, await self._channels.cached(dm_name) is not None)
            dm = await self._dm(creator, recipient)
            return dm.channel, [dm] if offering else []
        if not offering:
            return None, []
        query = AgentQuery(
            tag=target.value if target.kind == "tag" else None,
            capability=target.value if target.kind == "cap" else None,
            include_unlisted=True,
            routable_only=True,
        )
        recipients = [a for a in await self._store.list_agents(query) if a.id != creator.id]
        if len(recipients) > self._limits.max_send_recipients:
            raise InvalidInput(
                f"{len(recipients)} agents match {target}; a task offers itself to at most "
                f"{self._limits.max_send_recipients} (create it with offer: false)",
                code="too_many_recipients",
            )
        return None, [await self._dm(creator, agent) for agent in recipients]

    async def _dm(self, creator: Agent, recipient: Agent) -> NewMessage:
        name = names.dm_channel_name(creator.name, recipient.name)
        existing = await self._channels.cached(name)
        channel: int | NewChannel = (
            existing.id
            if existing is not None
            else NewChannel(
                name=name,
                kind="dm",
                visibility="secret",
                created_by=creator.id,
                members=(creator.id, recipient.id),
            )
        )
        return _offer_message(creator, channel, name, [recipient.id], join=False)

    async def _channel_offer(
        self, creator: Agent, name: str, offering: bool
    ) -> tuple[int | NewChannel, list[NewMessage]]:
        channel = await self._channels.cached(name)
        if channel is None:
            if not names.is_auto_channel(name):
                raise NotFound(f"no channel named {name!r}", code="channel_not_found")
            await self._channels.check_create_rate(creator)
            spec = NewChannel(name=name, created_by=creator.id, members=(creator.id,))
            return spec, [_offer_message(creator, spec, name, [], join=True)] if offering else []
        member = access.needs_membership(channel) and await self._store.is_member(
            channel.id, creator.id
        )
        access.check_writable(channel, name, member)
        if not offering:
            return channel.id, []
        members = await self._store.member_names(channel.id)
        agents = await self._store.agents_named([n for n in members if n != creator.name])
        message = _offer_message(creator, channel.id, name, [a.id for a in agents], join=True)
        return channel.id, [message]


def new_task(
    creator: Agent,
    draft: TaskDraft,
    checked: Checked,
    placed: tuple[int | NewChannel | None, list[NewMessage]],
    idempotency_key: str | None,
) -> NewTask:
    """The store's write for a checked draft and where it was placed."""
    return NewTask(
        title=draft.title,
        body=draft.body,
        target=str(checked.target),
        channel=placed[0],
        priority=draft.priority,
        labels=checked.labels,
        created_by=creator.id,
        creator_name=creator.name,
        lease_seconds=float(draft.lease_seconds),
        max_attempts=draft.max_attempts,
        dedupe_key=draft.dedupe_key,
        due_at=draft.due_at,
        callback_url=draft.callback_url,
        callback_secret=draft.callback_secret,
        idempotency_key=idempotency_key,
        fingerprint=checked.fingerprint,
        offers=placed[1],
    )


def _printable(key: str) -> bool:
    return 0 < len(key) <= MAX_IDEMPOTENCY_KEY and key.isprintable()


def _check_callback(url: str | None, secret: str | None) -> None:
    if url is None:
        if secret is not None:
            raise InvalidInput("callback_secret needs a callback_url", code="bad_callback")
        return
    if not url.startswith(("http://", "https://")) or len(url) > MAX_URL or " " in url:
        raise InvalidInput(
            f"callback_url must be an http(s) URL of at most {MAX_URL} characters",
            code="bad_callback",
        )
    if secret is not None and not 0 < len(secret) <= MAX_SECRET:
        raise InvalidInput(
            f"callback_secret must be 1-{MAX_SECRET} characters", code="bad_callback"
        )


def _offer_message(
    creator: Agent, channel: int | NewChannel, name: str, inbox: list[int], *, join: bool
) -> NewMessage:
    return NewMessage(
        channel=channel,
        channel_name=name,
        author_id=creator.id,
        author_name=creator.name,
        content="",
        metadata={},
        mentions=[],
        inbox=[(agent_id, "task") for agent_id in inbox],
        join_author=join,
    )
