"""The storage interface the core depends on. ``hubbub.store`` implements it per engine.

Reads may run concurrently. Each write method is one atomic transaction: either all of it is
committed before the call returns, or nothing is and it raises.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from hubbub.core.events import StoredEvent
from hubbub.core.models import (
    A2AOutboxItem,
    A2ARemote,
    AckResult,
    Agent,
    AgentKind,
    Channel,
    ChannelKind,
    ChannelSummary,
    ChannelVisibility,
    DeliveryStatus,
    File,
    HubCounts,
    InboxItem,
    InboxKind,
    Integration,
    KeyInfo,
    KeyKind,
    Member,
    Message,
    Pair,
    PairState,
    PostResult,
    Project,
    SearchHit,
    Task,
    TaskCreated,
    TaskStatus,
    User,
    WebhookDelivery,
)
from hubbub.core.telemetry import WriterTelemetry


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A key row as the authenticator needs it."""

    info: KeyInfo
    digest: str


@dataclass(frozen=True, slots=True)
class StoredSession:
    """A dashboard session as stored: its user (as it is now) and its CSRF secret."""

    id: int
    user: User
    csrf: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime


@dataclass(frozen=True, slots=True)
class NewChannel:
    """A channel to create, with its first members."""

    name: str
    kind: ChannelKind = "channel"
    visibility: ChannelVisibility = "public"
    topic: str | None = None
    created_by: int | None = None
    members: tuple[int, ...] = ()
    project: str | None = None
    branch: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelChanges:
    """What a channel's creator or an admin may change; ``None`` leaves a field as it is and
    ``""`` clears it."""

    topic: str | None = None
    project: str | None = None
    branch: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelFilter:
    """Which channels a listing holds: the viewer's (``None``: every one), of one ``kind``
    (``None``: channels, not DMs) and ``project``."""

    viewer_id: int | None
    include_archived: bool = False
    kind: str | None = None
    project: str | None = None


@dataclass(frozen=True, slots=True)
class MessageSelection:
    """Messages to remove: those of ``channel_id`` (if given) with an id up to ``up_to`` (if
    given) created before ``before`` (if given). At least one must be given."""

    channel_id: int | None = None
    up_to: int | None = None
    before: datetime | None = None
    unruled: bool = False
    """Only in channels without a retention of their own (``retention_days`` unset)."""
    ids: tuple[int, ...] | None = None
    """Only these messages."""


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
    kind: str | None = None


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
    runner: bool | None = None
    channels: list[str] | None = None
    """Channels to join, by name (checked by the service, which fills ``join``)."""
    join: tuple[int | NewChannel, ...] = ()
    """The channels to join in the same transaction: existing ones, or ones to create."""


AgentStateChange = Literal["deactivate", "reactivate", "delete"]


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
    project: str | None = None
    kind: str | None = None


# tasks


@dataclass(frozen=True, slots=True)
class NewTask:
    """A task to insert, with everything that commits alongside it.

    ``channel`` is where the task lives (``#channel``, or the DM with an ``@agent``: an id, or
    a channel to create), ``None`` for ``cap:``/``tag:``. ``offers`` are the messages that
    offer it, their content and metadata filled in by the store from the inserted task (see
    :func:`hubbub.core.tasks.offer`). An active task of the same creator with the same
    ``dedupe_key`` is bumped instead; a known ``idempotency_key`` returns its task.
    """

    title: str
    body: str
    target: str
    channel: int | NewChannel | None
    priority: int
    labels: list[str]
    created_by: int
    creator_name: str
    lease_seconds: float
    max_attempts: int
    dedupe_key: str | None = None
    due_at: datetime | None = None
    callback_url: str | None = None
    callback_secret: str | None = None
    idempotency_key: str | None = None
    fingerprint: str = ""
    offers: list[NewMessage] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StoredTask:
    """A task with what the rules need beyond its public shape: the agent given its current
    fence (kept after the lease ends) and whether that lease ran out."""

    task: Task
    fence_holder: str | None
    lease_lost: bool


@dataclass(frozen=True, slots=True)
class TaskQuery:
    """Filters for listing tasks; ``viewer_id=None`` lists every task (the admin key)."""

    viewer_id: int | None
    status: TaskStatus | None = None
    target: str | None = None
    holder_id: int | None = None
    created_by: int | None = None
    label: str | None = None
    available_to: int | None = None
    after: int = 0
    limit: int = 50


@dataclass(frozen=True, slots=True)
class TaskChange:
    """A change by the lease holder. It applies only while ``agent_id`` holds the task under
    ``fence`` with a live lease; ``op`` is ``renew``, ``progress``, ``complete``, ``fail`` or
    ``release``."""

    op: str
    task_id: int
    agent_id: int
    fence: int
    lease_seconds: float | None = None
    progress: int | None = None
    note: str | None = None
    result: Any = None
    result_text: str | None = None


# integrations and webhooks


@dataclass(frozen=True, slots=True)
class IntegrationSpec:
    """An integration to create, with its token's digest and its webhook secret."""

    name: str
    scopes: list[str]
    targets: list[str]
    channels: list[str]
    rate_limit: float
    rate_burst: float
    webhook_url: str | None
    webhook_secret: str | None
    prefix: str
    digest: str
    allow_private: bool = False


@dataclass(frozen=True, slots=True)
class StoredIntegration:
    """An integration row as the authenticator needs it."""

    info: Integration
    digest: str


@dataclass(frozen=True, slots=True)
class TaskEdit:
    """New text, priority or labels for an active task, by its creator; ``None`` leaves a
    field as it is."""

    task_id: int
    creator_id: int
    creator_name: str
    title: str | None = None
    body: str | None = None
    priority: int | None = None
    labels: list[str] | None = None


@dataclass(frozen=True, slots=True)
class WebhookScan:
    """The task events after the dispatcher's cursor and the webhooks they may go to."""

    cursor: int
    upto: int
    events: list[StoredEvent]
    integration_hooks: dict[str, tuple[int, str]] = field(default_factory=dict)
    task_hooks: dict[int, str] = field(default_factory=dict)
    a2a_pushes: list[A2APush] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A delivery to put in the outbox: one event for one destination."""

    destination: str
    integration_id: int | None
    task_id: int | None
    url: str
    event_seq: int
    event_type: str
    body: str


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """The oldest pending delivery of one destination, with what sending it needs."""

    id: int
    destination: str
    url: str
    body: str
    event_type: str
    secret: str | None
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    revoked: bool = False
    allow_private: bool = False  # an admin let this integration's webhook reach any address


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """The outcome of one attempt, to record: still ``pending`` (with its next time),
    ``delivered`` or ``dead``."""

    delivery_id: int
    status: DeliveryStatus
    http_status: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    counts: bool = True


@dataclass(frozen=True, slots=True)
class DeliveryQuery:
    """Filters for listing deliveries, newest first."""

    integration_id: int | None = None
    task_id: int | None = None
    status: DeliveryStatus | None = None
    before: int | None = None
    limit: int = 50


# remote A2A agents


@dataclass(frozen=True, slots=True)
class NewRemote:
    """A remote A2A agent to register, with what its Agent Card said."""

    name: str
    url: str
    token: str | None = field(repr=False)
    card: dict[str, Any]
    label: str | None = None
    tags: Sequence[str] = ()
    capabilities: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class A2AScan:
    """The remote agents' inbox items after the A2A dispatcher's cursor, and how far it read."""

    cursor: int
    upto: int
    events: list[StoredEvent]


@dataclass(frozen=True, slots=True)
class NewForward:
    """An inbox item of a remote agent to put in the A2A outbox."""

    agent_id: int
    event_seq: int
    item_id: int
    message_id: int
    kind: str


@dataclass(frozen=True, slots=True)
class DueForward:
    """The oldest pending item of one remote agent, with where to send it."""

    id: int
    agent_id: int
    agent: str
    url: str
    token: str | None = field(repr=False)
    item_id: int
    message_id: int
    kind: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime


@dataclass(frozen=True, slots=True)
class ForwardAttempt:
    """The outcome of one attempt to forward an item: still ``pending`` (with its next
    time), ``sent``, ``skipped`` (nothing to forward) or ``failed``."""

    item_id: int
    status: Literal["pending", "sent", "skipped", "failed"]
    error: str | None = None
    next_attempt_at: datetime | None = None
    counts: bool = True


@dataclass(frozen=True, slots=True)
class A2AContext:
    """The remote conversation a hub thread continues: its ``contextId``, and the remote
    task that waits for more input, if one does."""

    context_id: str | None = None
    task_id: str | None = None


@dataclass(frozen=True, slots=True)
class SessionNews:
    """What a session has not yet been told: its cursor (every item up to ``seen`` was told),
    when it was last used (``None``: never), and the readable, unacknowledged items after."""

    seen: int
    used_at: datetime | None
    items: list[InboxItem]


# files


@dataclass(frozen=True, slots=True)
class NewFile:
    """A file to record once its blob is written: the blob, its hash and size, the file's
    name and type, the uploader's machine (whose files may hold at most ``quota`` bytes with
    this one; 0: no quota) and the message that shares it. The message's metadata, and its
    content when it has none, are filled in by the store from the recorded file (see
    :func:`hubbub.core.files.attachment`)."""

    blob_id: int
    sha256: str
    size: int
    name: str
    content_type: str
    machine: str
    quota: int
    message: NewMessage


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file with what reading it needs: its channel's id and shape (who may see it), its
    blob and how many chunks that holds."""

    file: File
    channel_id: int
    channel_kind: ChannelKind
    channel_visibility: ChannelVisibility
    blob_id: int
    chunks: int


@dataclass(frozen=True, slots=True)
class FileQuery:
    """Filters for listing files, newest first, only those ``viewer_id`` may see: a channel,
    ids below ``before``, a name containing ``name`` (case-insensitive)."""

    viewer_id: int
    channel_id: int | None = None
    name: str | None = None
    before: int | None = None
    limit: int = 50


# pairs


@dataclass(frozen=True, slots=True)
class NewPair:
    """An invite to insert, with everything that commits alongside it: the pair's own
    channel (named after its id, so created by the store), the message that carries the
    invite into the invitee's inbox (``channel`` and ``channel_name`` filled in by the store),
    and the refusal if either agent is already in a pending or active pair."""

    inviter_id: int
    invitee_id: int
    topic: str | None
    expires_at: datetime
    invite: NewMessage


@dataclass(frozen=True, slots=True)
class StoredPair:
    """A pair with what the rules need beyond its public shape: its channel's id and its two
    agents' ids."""

    pair: Pair
    channel_id: int
    inviter_id: int
    invitee_id: int


@dataclass(frozen=True, slots=True)
class PairQuery:
    """An agent's pairs, newest first: in one state (an expired invite counts as ``ended``),
    with ids below ``before``."""

    agent_id: int
    state: PairState | None = None
    before: int | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class PairChange:
    """A step of a pair by one of its agents: ``accept`` or ``reject`` (the invitee, while
    the invite is pending and unexpired), ``cancel`` (the inviter, likewise) or ``hang_up``
    (either, while active)."""

    op: str
    pair_id: int
    agent_id: int


@dataclass(frozen=True, slots=True)
class A2ATaskRecord:
    """An A2A task: the message that started it (its id is the task's), who sent it to which
    agent, in which DM and thread (the A2A context), and the hub task it asked for."""

    id: int
    caller_id: int
    agent_id: int
    channel_id: int
    context_id: int
    task_id: int | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class A2APushConfig:
    """Where an A2A task's status changes are pushed: ``name`` is the config's A2A id."""

    task_id: int
    name: str
    url: str
    token: str | None = None
    id: int = 0
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class A2APush:
    """An A2A task's new state, for one of its push configs, found by the webhook
    dispatcher in the event that made it."""

    config_id: int
    url: str
    task_id: int
    context_id: int
    state: str
    event_seq: int
    at: datetime


@dataclass(frozen=True, slots=True)
class A2ATaskQuery:
    """A caller's A2A tasks with one agent, newest first, with ids below ``before``."""

    caller_id: int
    agent_id: int
    context_id: int | None = None
    before: int | None = None
    limit: int = 50


class Store(Protocol):
    """Persistence for the whole hub."""

    async def open(self, publish: Callable[[list[StoredEvent]], None] | None = None) -> None:
        """Connect and bring the schema up to date. ``publish`` is called on this event loop
        with the events of each commit, in commit order, before the writers are answered."""

    async def close(self) -> None:
        """Finish pending writes and release connections."""

    async def schema_version(self) -> int:
        """Read the database: its schema version when it is this build's, else raise the
        :class:`~hubbub.core.errors.Unavailable` that says why (unreachable, too old…)."""
        ...

    async def probe(self) -> None:
        """Commit a real write through the writer, or raise the
        :class:`~hubbub.core.errors.Unavailable` that says why it cannot."""
        ...

    @property
    def telemetry(self) -> WriterTelemetry:
        """This process's figures about its writes (kept as they happen, read for metrics)."""
        ...

    async def counts(self, *, everything: bool = True) -> HubCounts:
        """What the database holds, counted; without ``everything``, only the cheap counts
        (tasks, webhook deliveries) and zeros for the rest."""
        ...

    # keys
    async def create_key(
        self, kind: KeyKind, machine: str | None, label: str | None, prefix: str, digest: str
    ) -> KeyInfo:
        """Create a key. The first key of a machine passes, in the same write, the machine
        names and the agents in its namespace to :func:`hubbub.core.machines.check_new`,
        which may refuse it (:class:`Conflict`, ``machine_overlap``; nothing written)."""
        ...

    async def list_keys(self) -> list[KeyInfo]: ...
    async def revoke_key(self, key_id: int) -> KeyInfo | None:
        """Revoke a key (a revoked one stays as it is); ``None`` if there is none. A live
        admin key passes, in the same write, the count of live admin credentials to
        :func:`hubbub.core.keys.check_revocable`, which may refuse it (:class:`Conflict`,
        ``last_admin``; nothing written)."""
        ...

    async def key_by_digest(self, digest: str) -> StoredKey | None: ...
    async def count_keys(self, kind: KeyKind) -> int: ...
    async def machine_names(self) -> list[str]:
        """Every machine a machine key was created for, revoked keys included."""
        ...

    # users
    async def create_user(self, name: str, password_hash: str, admin: bool = False) -> User:
        """Register a human agent named ``name`` and its account (an admin or not) in one
        write; a name any agent already has is a :class:`Conflict` (``user_exists``)."""
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
        """Disable a user (idempotent) and end its web sessions; an unknown user is
        :class:`NotFound`; the last live admin credential is a :class:`Conflict`
        (``last_admin``). A password change ends the sessions too."""
        ...

    async def set_user_admin(self, name: str, admin: bool) -> User:
        """Make a user an admin, or take it back and end its web sessions (refused for the
        last live admin credential: ``last_admin``); an unknown user is :class:`NotFound`."""
        ...

    # the hub secret, web sessions and login links
    async def hub_secret(self) -> str | None: ...
    async def ensure_hub_secret(self, candidate: str) -> str:
        """The hub secret, stored from ``candidate`` when there is none yet."""
        ...

    async def rotate_hub_secret(self, new: str) -> None:
        """Replace the hub secret, ending every web session and unused login link."""
        ...

    async def create_login_link(self, name: str, digest: str, expires_at: datetime) -> None:
        """Record a login link for an enabled user: :class:`NotFound` (``user_not_found``)
        or :class:`Conflict` (``user_disabled``) otherwise."""
        ...

    async def use_login_link(self, digest: str) -> User | None:
        """Spend a login link: its enabled user, or ``None`` (unknown, used, expired)."""
        ...

    async def create_web_session(
        self, name: str, digest: str, csrf: str, expires_at: datetime
    ) -> int:
        """Open a session for an enabled user (errors as :meth:`create_login_link`)."""
        ...

    async def web_session(self, digest: str) -> StoredSession | None: ...
    async def touch_web_session(self, session_id: int) -> None: ...
    async def end_web_session(self, digest: str) -> bool: ...

    # agents
    async def agent(self, name: str) -> Agent | None: ...
    async def agents_named(self, names: Sequence[str]) -> list[Agent]: ...
    async def ensure_agent(self, name: str, machine: str, kind: AgentKind, cap: int = 0) -> Agent:
        """The agent ``name``, registered now if new; refused (``too_many_agents``) when its
        machine already holds ``cap`` agents that are not deleted (0: no cap)."""
        ...

    async def set_agent_state(self, name: str, change: AgentStateChange) -> Agent:
        """Deactivate, reactivate or delete an agent, with its event."""
        ...

    async def authored_messages(self, agent_id: int) -> list[int]:
        """The ids of every message an agent wrote."""
        ...

    async def free_agent_name(self, name: str) -> Agent:
        """Rename a deleted agent out of the way, so its name may be registered again."""
        ...

    # retention
    async def retention_boundary(self, before: datetime) -> int:
        """The id of the newest message created before ``before`` (0: none)."""
        ...

    async def retention_rules(self) -> list[tuple[int, str, float]]:
        """Channels with a retention of their own: (id, name, days)."""
        ...

    async def count_old_messages(self, up_to: int, channel_id: int | None) -> int:
        """Messages up to ``up_to`` in a channel, or (``None``) in those without a rule."""
        ...

    async def count_old_tasks(self, before: datetime) -> int: ...

    async def purge_tasks(self, before: datetime, limit: int) -> int:
        """Remove up to ``limit`` tasks finished before ``before`` (0: none left)."""
        ...

    async def set_channel_retention(self, name: str, days: float | None) -> Channel: ...

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
    async def update_channel(self, channel_id: int, changes: ChannelChanges, by: str) -> Channel:
        """Change a channel's topic, project or branch (``channel.updated``)."""
        ...

    async def filter_channels(self, query: ChannelFilter) -> list[Channel]:
        """Channels (or DMs, or another kind) the viewer may see, by name."""
        ...

    async def projects(self, viewer_id: int | None, include_archived: bool) -> list[Project]:
        """Each project of the channels the viewer may see, with their counts, by name."""
        ...

    async def purge_messages(self, selection: MessageSelection, limit: int) -> int:
        """Remove up to ``limit`` of the selected messages, oldest first, and everything that
        holds their text (search rows, inbox items, files, events, idempotent replays), in one
        write; how many it removed (0: none are left)."""
        ...

    async def channel_cleared(self, channel_id: int, removed: int, by: str) -> Channel:
        """Record that a channel was cleared (``channel.cleared``)."""
        ...

    async def delete_channel(self, channel_id: int, by: str) -> None:
        """Delete an emptied channel, its tasks, files and members (``channel.deleted``)."""
        ...

    async def removed_events_after(self, seq: int) -> int:
        """The end of the newest hole in the event log after ``seq`` (0: none)."""
        ...

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
        self,
        channel_id: int,
        *,
        after: int | None,
        before: int | None,
        limit: int,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Message]:
        """Messages in ascending id order: the first ``limit`` after ``after``, else the last
        ``limit`` before ``before`` (or the latest); only those of ``kind`` if given. With
        ``since`` or ``until``, only those created in that window, and the first ``limit``
        from ``since`` when neither ``after`` nor ``before`` is given."""
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

    async def set_read_cursor(
        self, agent_id: int, channel_id: int, seq: int, notify_max: int = 0
    ) -> int:
        """Move a read cursor forward (never back, never past the newest message); in a
        channel of at most ``notify_max`` members, tell each author whose messages it passed
        (``message.read``, one per author)."""
        ...

    async def read_positions(self, channel_id: int) -> list[tuple[str, int]]:
        """Each listed member of a channel (no ghosts) and its read cursor, by name."""
        ...

    # what each session has been told of the inbox
    async def session_news(
        self, agent_id: int, surface: str, session: str, limit: int
    ) -> SessionNews:
        """The session's cursor and up to ``limit`` unacknowledged items after it."""
        ...

    async def mark_told(
        self, agent_id: int, surface: str, session: str, seen: int, upto: int
    ) -> bool:
        """Move the session's cursor from ``seen`` to ``upto``; ``False`` (nothing written)
        if another call of the session moved it first."""
        ...

    async def session_used(self, agent_id: int, surface: str, session: str) -> None:
        """Note that the session is in use, so it is kept another day."""
        ...

    async def forget_sessions(self, before: datetime) -> int:
        """Drop the sessions unused since ``before``; how many."""
        ...

    async def channel_summaries(self, agent_id: int) -> list[ChannelSummary]: ...
    async def channel_roster(self, channel_id: int, viewer_id: int | None) -> list[Member]:
        """A channel's members with their status, by name: no ghost but the viewer."""
        ...

    async def channel_rosters(
        self, agent_id: int, per_channel: int
    ) -> dict[str, tuple[list[Member], int]]:
        """Per unarchived channel of the agent: up to ``per_channel`` other listed members
        and how many more there are."""
        ...

    async def set_channel_status(
        self, channel_id: int, agent_id: int, status: str | None
    ) -> Member | None:
        """Set or clear a member's status in a channel (``None``: not a member)."""
        ...

    # search
    async def search(self, query: SearchQuery) -> list[SearchHit]: ...

    # events
    async def events_after(self, seq: int, limit: int) -> list[StoredEvent]:
        """Committed events after ``seq``, oldest first."""
        ...

    async def last_event_seq(self) -> int:
        """The newest committed event's sequence (0 if none)."""
        ...

    async def events_before(self, seq: int, limit: int) -> list[StoredEvent]:
        """Up to ``limit`` committed events before ``seq``, newest first."""
        ...

    async def newest_readable_message(self, agent_id: int) -> int:
        """The id of the newest message in a public channel or one the agent is in (0 if
        none)."""
        ...

    async def first_event_seq(self) -> int:
        """The oldest retained event's sequence (0 if none)."""
        ...

    async def prune_events(self, before: datetime) -> int:
        """Drop events created before ``before``; return how many."""
        ...

    # tasks
    async def create_task(self, new: NewTask) -> TaskCreated:
        """Insert a task with its offers and ``task.created``; or bump the active task with
        the same creator and ``dedupe_key`` (``task.deduped``, no offers); or return the task
        an earlier create with the same idempotency key made."""
        ...

    async def task(self, task_id: int) -> StoredTask | None: ...
    async def task_by_key(self, agent_id: int, idempotency_key: str) -> tuple[Task, str] | None:
        """The task an earlier create by ``agent_id`` with this key made, and that request's
        fingerprint."""
        ...

    async def tasks(self, query: TaskQuery) -> list[Task]:
        """Tasks in ascending id order, only those the viewer may see."""
        ...

    async def claim_task(
        self, task_id: int, agent_id: int, lease_seconds: float | None
    ) -> Task | None:
        """Claim an open task the agent is eligible for, atomically (leases already run out
        are expired first); ``None`` if it is not open or not for this agent."""
        ...

    async def claim_next_task(self, agent_id: int, lease_seconds: float | None) -> Task | None:
        """Claim the highest-priority, oldest open task the agent is eligible for and did not
        create, atomically; ``None`` if there is none."""
        ...

    async def change_task(self, change: TaskChange) -> Task | None:
        """Apply a holder's change with its event; ``None`` (and nothing written) unless the
        agent holds the task under that fence with a live lease."""
        ...

    async def cancel_task(self, task_id: int, agent_id: int, reason: str | None) -> Task | None:
        """Cancel an open or claimed task (``task.cancelled``); ``None`` if it is neither."""
        ...

    async def expire_tasks(self) -> list[Task]:
        """Reopen (attempts + 1) or fail, at ``max_attempts``, every task whose lease ran
        out, each with ``task.expired``."""
        ...

    async def next_lease_expiry(self) -> datetime | None:
        """When the earliest live lease runs out (``None``: no task is claimed)."""
        ...

    async def task_events(self, task_id: int, after: int, limit: int) -> list[StoredEvent]:
        """The task's events after ``after``, oldest first."""
        ...

    # files
    async def begin_blob(self) -> int:
        """A new loose blob for an upload's chunks."""
        ...

    async def append_chunk(self, blob_id: int, n: int, data: bytes) -> None:
        """Write chunk ``n`` of a loose blob (one small write); :class:`Conflict`
        (``upload_expired``) once the blob was let go."""
        ...

    async def record_file(self, new: NewFile) -> File:
        """Record a file and its message, sealing its blob (or sharing one of the same
        content), with ``file.shared``, in one write; over the quota is :class:`TooLarge`
        (``quota_exceeded``) and writes nothing."""
        ...

    async def let_go_blob(self, blob_id: int) -> None:
        """Give up a loose blob, to be freed."""
        ...

    async def free_blobs(self, stale_before: datetime, limit: int) -> int:
        """Free up to ``limit`` chunks of a blob let go (or loose and untouched since
        ``stale_before``); 0 when there is nothing left to free."""
        ...

    async def file(self, file_id: int) -> StoredFile | None: ...
    async def file_chunk(self, blob_id: int, n: int) -> bytes | None:
        """Chunk ``n`` of a blob (``None``: freed meanwhile)."""
        ...

    async def files(self, query: FileQuery) -> list[File]: ...
    async def files_of_messages(self, message_ids: Sequence[int]) -> list[File]:
        """The files attached to these messages, oldest first."""
        ...

    async def machine_file_bytes(self, machine: str) -> int:
        """The bytes the files uploaded from ``machine`` hold."""
        ...

    async def delete_file(self, file_id: int) -> File | None:
        """Delete a file (``file.deleted``); its blob is let go with its last reference.
        Deleting a message deletes its files the same way."""
        ...

    async def expired_files(self, before: datetime, limit: int) -> list[int]:
        """Ids of files shared before ``before``, oldest first."""
        ...

    # pairs
    async def create_pair(self, new: NewPair) -> Pair:
        """Insert a pending pair, its channel (both agents its members), the invite's message
        and inbox item and ``pair.invited``, in one write; :class:`Conflict` (``busy``,
        nothing written) if either agent is in a pending, unexpired or active pair."""
        ...

    async def pair(self, pair_id: int) -> StoredPair | None: ...
    async def pair_by_channel(self, channel_id: int) -> StoredPair | None: ...
    async def pairs(self, query: PairQuery) -> list[Pair]: ...
    async def change_pair(self, change: PairChange) -> Pair | None:
        """Apply a step with its event (an end also archives the pair's channel); ``None``
        (nothing written) unless the pair is in the state the step needs and the agent is
        the one who may take it."""
        ...

    async def expire_pairs(self) -> list[Pair]:
        """End every pending invite past its expiry (``pair.ended``, ``expired``), archiving
        its channel."""
        ...

    # integrations and webhooks
    async def create_integration(self, spec: IntegrationSpec) -> Integration:
        """Create an integration and its agent (kind ``integration``) in one write. A name
        taken by a live integration or by any other kind of agent is a :class:`Conflict`
        (``name_taken``); a revoked integration's name is reused with its agent."""
        ...

    async def list_integrations(self) -> list[Integration]: ...
    async def integration(self, name: str) -> Integration | None:
        """The live integration of that name, else the newest revoked one."""
        ...

    async def integration_by_digest(self, digest: str) -> StoredIntegration | None: ...
    async def revoke_integration(self, name: str) -> Integration | None:
        """Revoke the live integration of that name; its pending deliveries become dead."""
        ...

    async def dedupe_task_id(self, creator_id: int, dedupe_key: str) -> int | None:
        """The creator's task with this dedupe key: the active one, else the newest."""
        ...

    async def edit_task(self, edit: TaskEdit) -> Task | None:
        """Apply an edit to an open or claimed task of that creator (with ``task.updated``
        if anything changed); ``None`` if there is no such active task."""
        ...

    async def webhook_scan(self, limit: int) -> WebhookScan:
        """Up to ``limit`` events after the dispatcher's cursor: the ``task.*`` ones, how far
        it read, and the live webhooks of their creators and tasks."""
        ...

    async def enqueue_deliveries(
        self, cursor: int, upto: int, deliveries: Sequence[NewDelivery]
    ) -> bool:
        """Insert deliveries and move the cursor from ``cursor`` to ``upto``, in one write;
        ``False`` (and nothing written) if the cursor was no longer at ``cursor``."""
        ...

    async def webhook_heads(self, limit: int) -> list[DueDelivery]:
        """The oldest pending delivery of each destination, soonest due first."""
        ...

    async def claim_delivery(self, delivery_id: int, now: datetime, until: datetime) -> bool:
        """Take a pending delivery that is due at ``now`` for one attempt, by moving its next
        attempt to ``until``; ``False`` if it is not pending and due (another process took
        it). Later deliveries of its destination stay behind it meanwhile."""
        ...

    async def record_delivery(self, attempt: DeliveryAttempt) -> None: ...
    async def deliveries(self, query: DeliveryQuery) -> list[WebhookDelivery]: ...
    async def prune_deliveries(self, before: datetime) -> int:
        """Drop delivered and dead deliveries created before ``before``."""
        ...

    # remote A2A agents
    async def create_a2a_remote(self, spec: NewRemote) -> A2ARemote:
        """Register a remote A2A agent and create its agent (kind ``a2a``) in one write; a
        name any agent has is a :class:`Conflict` (``name_taken``)."""
        ...

    async def a2a_remotes(self) -> list[A2ARemote]: ...
    async def a2a_remote(self, name: str) -> A2ARemote | None: ...
    async def remove_a2a_remote(self, name: str) -> A2ARemote:
        """Drop a registration, give up its pending items and delete its agent."""
        ...

    async def a2a_scan(self, limit: int) -> A2AScan:
        """Up to ``limit`` events after the A2A dispatcher's cursor: the remote agents' inbox
        items among them, and how far it read."""
        ...

    async def enqueue_forwards(self, cursor: int, upto: int, items: Sequence[NewForward]) -> bool:
        """Insert outbox items and move the cursor from ``cursor`` to ``upto``, in one write;
        ``False`` (and nothing written) if the cursor was no longer at ``cursor``."""
        ...

    async def a2a_heads(self, limit: int) -> list[DueForward]:
        """The oldest pending item of each remote agent, soonest due first."""
        ...

    async def claim_forward(self, item_id: int, now: datetime, until: datetime) -> bool:
        """Take a pending item due at ``now`` for one attempt, by moving its next attempt to
        ``until``; ``False`` if another process took it."""
        ...

    async def record_forward(self, attempt: ForwardAttempt) -> None: ...
    async def a2a_outbox(
        self, agent: str | None, status: str | None, limit: int
    ) -> list[A2AOutboxItem]: ...
    async def prune_forwards(self, before: datetime) -> int:
        """Drop sent and failed items created before ``before``."""
        ...

    async def a2a_context(self, agent_id: int, channel_id: int, thread_id: int) -> A2AContext:
        """The remote conversation a hub thread continues (empty: none yet)."""
        ...

    async def keep_a2a_context(
        self, agent_id: int, channel_id: int, thread_id: int, context: A2AContext
    ) -> None: ...

    # A2A tasks
    async def record_a2a_task(self, record: A2ATaskRecord) -> A2ATaskRecord:
        """Keep an A2A task's record; a retry finds the one already kept."""
        ...

    async def a2a_task(self, task_id: int) -> A2ATaskRecord | None: ...
    async def set_a2a_push(self, config: A2APushConfig) -> A2APushConfig:
        """Keep a push config of an A2A task (replacing one of the same name)."""
        ...

    async def a2a_pushes(self, task_id: int) -> list[A2APushConfig]: ...
    async def delete_a2a_push(self, task_id: int, name: str) -> bool:
        """Delete a push config; ``False`` if there was none."""
        ...

    async def a2a_tasks(self, query: A2ATaskQuery) -> tuple[list[A2ATaskRecord], int]:
        """A page of a caller's A2A tasks with one agent, newest first, and their total."""
        ...
