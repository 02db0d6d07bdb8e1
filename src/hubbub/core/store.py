"""The storage interface the core depends on. ``hubbub.store`` implements it per engine.

Reads may run concurrently. Each write method is one atomic transaction: either all of it is
committed before the call returns, or nothing is and it raises.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from hubbub.core.events import StoredEvent
from hubbub.core.models import (
    AckResult,
    Agent,
    AgentKind,
    Channel,
    ChannelKind,
    ChannelSummary,
    ChannelVisibility,
    InboxItem,
    InboxKind,
    KeyInfo,
    KeyKind,
    Message,
    PostResult,
    SearchHit,
    User,
)


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A key row as the authenticator needs it."""

    info: KeyInfo
    digest: str


@dataclass(frozen=True, slots=True)
class NewChannel:
    """A channel to create, with its first members."""

    name: str
    kind: ChannelKind = "channel"
    visibility: ChannelVisibility = "public"
    topic: str | None = None
    created_by: int | None = None
    members: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to insert, with everything that must commit alongside it.

    ``channel`` is an existing channel id, or a channel to create if no channel of that name
    exists yet (first post to ``project-*``, first DM). ``inbox`` lists (agent id, kind) pairs.
    """

    channel: int | NewChannel
    channel_name: str
    author_id: int
    author_name: str
    content: str
    metadata: dict[str, Any]
    mentions: list[str]
    inbox: list[tuple[int, InboxKind]]
    reply_to: int | None = None
    thread_id: int | None = None
    idempotency_key: str | None = None
    join_author: bool = True


@dataclass(frozen=True, slots=True)
class MessageEdit:
    """A change to a message by its author; ``new_inbox`` are newly mentioned agents."""

    message_id: int
    content: str | None = None
    metadata: dict[str, Any] | None = None
    mentions: list[str] | None = None
    new_inbox: list[tuple[int, InboxKind]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AgentChanges:
    """Profile fields an agent may change; ``None`` leaves a field as it is and ``""``
    clears ``label`` or ``status_note``."""

    label: str | None = None
    tags: list[str] | None = None
    capabilities: list[str] | None = None
    status: str | None = None
    status_note: str | None = None
    visibility: str | None = None


@dataclass(frozen=True, slots=True)
class AgentQuery:
    """Filters for listing agents; ``include_unlisted`` shows hidden and ghost agents too."""

    tag: str | None = None
    capability: str | None = None
    label: str | None = None
    status: str | None = None
    machine: str | None = None
    include_unlisted: bool = False
    routable_only: bool = False
    seen_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A full-text search, already restricted to ``channel_ids`` the viewer may read."""

    terms: str
    viewer_id: int
    channel_id: int | None = None
    author_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 20


class Store(Protocol):
    """Persistence for the whole hub."""

    async def open(self, publish: Callable[[list[StoredEvent]], None] | None = None) -> None:
        """Connect and bring the schema up to date. ``publish`` is called on this event loop
        with the events of each commit, in commit order, before the writers are answered."""

    async def close(self) -> None:
        """Finish pending writes and release connections."""

    # keys
    async def create_key(
        self, kind: KeyKind, machine: str | None, label: str | None, prefix: str, digest: str
    ) -> KeyInfo: ...
    async def list_keys(self) -> list[KeyInfo]: ...
    async def revoke_key(self, key_id: int) -> KeyInfo | None: ...
    async def key_by_digest(self, digest: str) -> StoredKey | None: ...
    async def count_keys(self, kind: KeyKind) -> int: ...

    # users
    async def create_user(self, name: str, password_hash: str) -> User:
        """Register a human agent named ``name`` and its account in one write; a name any
        agent already has is a :class:`Conflict` (``user_exists``)."""
        ...

    async def list_users(self) -> list[User]: ...
    async def user(self, name: str) -> User | None: ...
    async def password_hash(self, name: str) -> str | None:
        """The stored hash of an enabled user, for verifying a login."""
        ...

    async def set_password(self, name: str, password_hash: str) -> User:
        """Replace a user's hash; an unknown user is :class:`NotFound` (``user_not_found``)."""
        ...

    async def disable_user(self, name: str) -> User:
        """Disable a user (idempotent); an unknown user is :class:`NotFound`."""
        ...

    # agents
    async def agent(self, name: str) -> Agent | None: ...
    async def agents_named(self, names: Sequence[str]) -> list[Agent]: ...
    async def ensure_agent(self, name: str, machine: str, kind: AgentKind) -> Agent: ...
    async def update_agent(self, agent_id: int, changes: AgentChanges) -> Agent: ...
    async def list_agents(self, query: AgentQuery) -> list[Agent]: ...
    async def touch_agent(self, agent_id: int) -> Agent:
        """Record activity now; an offline agent comes back as active (with events)."""
        ...

    async def expire_agents(self, cutoff: datetime, spare: Sequence[int] = ()) -> list[Agent]:
        """Mark offline (with events) every agent not seen since ``cutoff``, but ``spare``."""
        ...

    # channels
    async def channel(self, name: str) -> Channel | None: ...
    async def create_channel(self, spec: NewChannel) -> Channel: ...
    async def list_channels(self, viewer_id: int | None, include_archived: bool) -> list[Channel]:
        """Channels the viewer may see (``None``: all, for admins); DMs excluded."""
        ...

    async def member_names(self, channel_id: int, *, include_ghosts: bool = True) -> list[str]:
        """Member names; ``include_ghosts=False`` for lists others will see."""
        ...

    async def is_member(self, channel_id: int, agent_id: int) -> bool: ...
    async def member_channel_ids(self, agent_id: int) -> list[int]:
        """Ids of every channel and DM the agent belongs to."""
        ...

    async def add_member(self, channel_id: int, agent_id: int) -> bool: ...
    async def remove_member(self, channel_id: int, agent_id: int) -> bool: ...
    async def archive_channel(self, channel_id: int) -> Channel: ...
    async def channels_created_since(self, agent_id: int, since: datetime) -> int: ...

    # messages
    async def post(self, new: NewMessage) -> PostResult:
        """Insert a message, or return the earlier one with the same idempotency key."""
        ...

    async def post_many(self, news: Sequence[NewMessage]) -> list[PostResult]:
        """Several posts in one transaction: all or none."""
        ...

    async def message(self, message_id: int) -> Message | None: ...
    async def message_by_key(self, author_id: int, idempotency_key: str) -> Message | None:
        """The message ``author_id`` posted with this idempotency key, if any."""
        ...

    async def messages(
        self, channel_id: int, *, after: int | None, before: int | None, limit: int
    ) -> list[Message]:
        """Messages in ascending id order: the first ``limit`` after ``after``, else the last
        ``limit`` before ``before`` (or the latest)."""
        ...

    async def thread(self, root_id: int) -> list[Message]: ...
    async def edit_message(self, edit: MessageEdit) -> Message: ...
    async def delete_message(self, message_id: int) -> Message: ...

    # inbox and read state
    async def inbox(
        self, agent_id: int, *, after: int, limit: int, include_acked: bool
    ) -> tuple[list[InboxItem], int]:
        """A page of items after ``after`` and the count still unacknowledged."""
        ...

    async def ack(self, agent_id: int, ids: Sequence[int], up_to: int | None) -> AckResult:
        """Acknowledge items; their senders get ``inbox.read`` receipts."""
        ...

    async def mark_delivered(self, agent_id: int, item_ids: Sequence[int]) -> datetime:
        """Record first delivery of items, returning its time; their senders get
        ``inbox.delivered`` receipts."""
        ...

    async def set_read_cursor(self, agent_id: int, channel_id: int, seq: int) -> int: ...
    async def channel_summaries(self, agent_id: int) -> list[ChannelSummary]: ...

    # search
    async def search(self, query: SearchQuery) -> list[SearchHit]: ...

    # events
    async def events_after(self, seq: int, limit: int) -> list[StoredEvent]:
        """Committed events after ``seq``, oldest first."""
        ...

    async def last_event_seq(self) -> int:
        """The newest committed event's sequence (0 if none)."""
        ...

    async def first_event_seq(self) -> int:
        """The oldest retained event's sequence (0 if none)."""
        ...

    async def prune_events(self, before: datetime) -> int:
        """Drop events created before ``before``; return how many."""
        ...
