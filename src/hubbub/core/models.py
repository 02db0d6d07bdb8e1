"""The domain's data shapes, defined once: the store returns them, the REST API serves them,
the SDK parses them and the tool schemas are generated from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hubbub.core.names import channel_category

AgentStatus = Literal["active", "idle", "busy", "offline"]
AgentVisibility = Literal["visible", "hidden", "ghost"]
AgentKind = Literal["agent", "human", "integration", "a2a"]
ChannelVisibility = Literal["public", "private", "secret"]
ChannelKind = Literal["channel", "dm", "pair"]
ChannelCategory = Literal["global", "project", "tech", "other"]
InboxKind = Literal["dm", "mention", "send", "broadcast", "task"]
TaskStatus = Literal["open", "claimed", "done", "failed", "cancelled"]
KeyKind = Literal["machine", "admin"]


class Model(BaseModel):
    """Base of every domain model: immutable, strict about unknown fields. Each model's
    validator is built when first used, so a process pays only for the models it handles (a
    command line run handles one or two of them)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Agent(Model):
    """A participant: an AI agent, a script or a human."""

    id: int
    name: str = Field(description="`{machine}-{project}`, unique in the hub")
    machine: str
    kind: AgentKind = "agent"
    label: str | None = None
    tags: list[str] = Field(default_factory=list)
    capabilities: list[str] = Field(default_factory=list)
    status: AgentStatus = "active"
    status_note: str | None = None
    visibility: AgentVisibility = "visible"
    runner: bool = Field(
        default=False,
        description="an always-on runner acts as this agent (`hubbub agent run` sets it): other "
        "runners stop answering a thread that only runners write in",
    )
    deactivated: bool = Field(
        default=False,
        description="an admin deactivated it: requests acting as it are refused and it is "
        "hidden, until an admin reactivates it",
    )
    deleted: bool = Field(
        default=False,
        description="an admin deleted it: gone from listings, its messages kept under its "
        "name, which is not registered again unless an admin purges it",
    )
    created_at: datetime
    last_seen_at: datetime | None = None


class Channel(Model):
    """A named stream of messages; DMs are channels of kind ``dm``."""

    id: int
    name: str
    kind: ChannelKind = "channel"
    visibility: ChannelVisibility = "public"
    topic: str | None = None
    project: str | None = Field(default=None, description="the project this room is about")
    branch: str | None = Field(default=None, description="the branch of the project it is about")
    category: ChannelCategory = Field(
        default="other",
        description="from the name, never stored: `global` (`general`, `global`), `project` "
        "(`project-*`), `tech` (`tech-*`) or `other`",
    )
    created_by: str | None = Field(default=None, description="name of the creating agent")
    created_at: datetime
    archived: bool = False
    retention_days: float | None = Field(
        default=None,
        description="messages here are removed once older than this many days (set by an "
        "admin; null: the hub's `message_retention_days`)",
    )
    last_message_id: int = Field(default=0, description="id of the newest message (0: none)")
    members: list[str] | None = Field(
        default=None, description="member names; present for DMs and single-channel reads"
    )
    roster: list[Member] | None = Field(
        default=None,
        description="the members with their status, label, status in this channel and last "
        "activity; present where `members` is",
    )

    @model_validator(mode="before")
    @classmethod
    def _categorised(cls, data: Any) -> Any:
        """The category follows from the name, whatever the input says."""
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            return {**data, "category": channel_category(data["name"])}
        return data


class Member(Model):
    """A channel member as its teammates see it: who, what it is doing, when last active."""

    name: str
    kind: AgentKind = "agent"
    label: str | None = None
    status: AgentStatus = "active"
    note: str | None = Field(default=None, description="its global status note")
    channel_status: str | None = Field(
        default=None, description="what it says it is doing in this channel"
    )
    last_seen_at: datetime | None = None


class Message(Model):
    """A post in a channel. ``id`` is the hub-wide monotonic sequence used as a cursor."""

    id: int
    channel: str
    author: str = Field(description="stamped by the hub from the credential")
    content: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    reply_to: int | None = None
    thread_id: int | None = Field(default=None, description="id of the thread's root message")
    mentions: list[str] = Field(default_factory=list)
    created_at: datetime
    edited_at: datetime | None = None
    deleted: bool = False
    kind: str | None = Field(
        default=None, description="what the message is: `note`, `question`, `decision`…"
    )


class PostResult(Model):
    """A posted message, and whether it was a replay of an earlier identical request."""

    message: Message
    replayed: bool = False


class SendResult(Model):
    """What a send to a target produced: one message per destination."""

    target: str
    recipients: list[str]
    messages: list[Message]
    replayed: bool = Field(
        default=False, description="true if this repeated an earlier send with the same key"
    )


class InboxItem(Model):
    """Something addressed to one agent; peeking never consumes it, ack does."""

    id: int
    kind: InboxKind
    message: Message
    created_at: datetime
    delivered_at: datetime | None = Field(
        default=None, description="when it first reached the agent (a stream, a wait or a peek)"
    )
    acked_at: datetime | None = None


class Inbox(Model):
    """A page of the inbox with the total still unacknowledged."""

    items: list[InboxItem]
    unacked: int
    cursor: int = Field(description="the id of the last item returned (or the one passed in)")


class AckResult(Model):
    """How many inbox items an ack newly acknowledged."""

    acked: int
    unacked: int


class ChannelSummary(Model):
    """One line of the board: a channel the agent belongs to and what is unread in it."""

    channel: str
    kind: ChannelKind
    unread: int
    last_message_id: int
    read_cursor: int
    roster: list[Member] = Field(
        default_factory=list,
        description="members with their status, by name, the agent itself left out (at most "
        "8: `roster_more` says how many more)",
    )
    roster_more: int = Field(default=0, description="members beyond those in `roster`")


class Project(Model):
    """A project named by channels, with what the viewer may see of it."""

    project: str
    channels: int = Field(description="channels of the project the viewer may see")
    messages: int = Field(description="messages in those channels")
    last_activity: datetime = Field(
        description="the newest message in those channels (else the newest channel's creation)"
    )


class ChannelRemoval(Model):
    """What clearing or deleting a channel removed."""

    channel: str
    action: Literal["cleared", "deleted"]
    messages: int = Field(description="messages removed, with their files, inbox items and events")


class Board(Model):
    """Everything an agent should look at, in one call."""

    me: Agent
    channels: list[ChannelSummary]
    inbox: Inbox


class MessagePage(Model):
    """A page of channel messages in ascending id order."""

    channel: str
    messages: list[Message]
    cursor: int = Field(description="the highest id returned (or the `after` passed in)")
    has_more: bool


class Thread(Model):
    """A root message and its replies in order."""

    root: Message
    replies: list[Message]


class SearchHit(Model):
    """A message matching a search, with a highlighted snippet."""

    message: Message
    snippet: str
    rank: float


class SearchResult(Model):
    """Ranked search hits."""

    query: str
    hits: list[SearchHit]


class Seen(Model):
    """Who has read past a message, from the members' read cursors."""

    message_id: int
    channel: str
    seen_by: list[str] = Field(description="members (its author left out) who read past it")
    not_yet: list[str] = Field(description="members (its author left out) who have not")


class ReadCursor(Model):
    """Where an agent has read up to in a channel."""

    channel: str
    seq: int


class Cursors(Model):
    """Where a poller starts: the newest event and message the caller may see."""

    event: int = Field(
        description="the newest event the caller's stream may carry (0: none); stream or wait "
        "after it"
    )
    message: int = Field(
        description="the newest message in a channel or DM the caller may read (0: none); "
        "read after it"
    )


class Event(Model):
    """One event as streams carry it: ``seq`` is the resume cursor (``Last-Event-ID``)."""

    seq: int
    type: str
    at: datetime
    data: dict[str, Any]


class KeyInfo(Model):
    """A key as listed: never the secret itself."""

    id: int
    kind: KeyKind
    machine: str | None
    label: str | None = None
    prefix: str = Field(description="first characters of the key, to recognise it")
    created_at: datetime
    revoked_at: datetime | None = None


class NewKey(Model):
    """A freshly created key; the secret is shown this once and never again."""

    key: str
    info: KeyInfo


class User(Model):
    """A human account as listed: never its password hash."""

    name: str = Field(description="the user's name, also its agent's name")
    created_at: datetime
    disabled: bool = False
    admin: bool = Field(
        default=False, description="an admin human: it counts as an admin credential"
    )


class LoginLink(Model):
    """A one-time dashboard login link: the path to open on the hub, usable once, before
    ``expires_at``."""

    user: str = Field(description="the user the link signs in")
    path: str = Field(description="the link's path on the hub: `/login/link?token=…`")
    expires_at: datetime


# tasks


class Task(Model):
    """A unit of work handed to an agent, a capability, a tag or a channel; claimed under a
    lease whose fencing token (``fence``) grows with every claim."""

    id: int
    title: str
    body: str = Field(default="", description="Markdown")
    target: str = Field(description="`@agent`, `cap:x`, `tag:x` or `#channel`")
    channel: str | None = Field(
        default=None,
        description="the channel the task lives in: the `#channel` target, or the DM between "
        "creator and `@agent` (`dm:a:b`); null for `cap:` and `tag:` (visible to every agent)",
    )
    priority: int = Field(default=0, description="higher first")
    labels: list[str] = Field(default_factory=list)
    status: TaskStatus = "open"
    created_by: str = Field(description="stamped by the hub from the credential")
    holder: str | None = Field(default=None, description="the agent holding the lease")
    fence: int = Field(
        default=0, description="fencing token: grows with every claim; updates must carry it"
    )
    lease_seconds: float = Field(description="the lease a claim gets unless it asks for another")
    lease_expires_at: datetime | None = None
    attempts: int = Field(default=0, description="leases that ran out")
    max_attempts: int = Field(description="after this many expired leases the task fails")
    progress: int | None = Field(default=None, description="percent, 0-100")
    progress_note: str | None = None
    result: Any = Field(default=None, description="JSON result of a completed or failed task")
    result_text: str | None = None
    dedupe_key: str | None = None
    occurrences: int = Field(default=1, description="creations folded into this task")
    last_seen_at: datetime = Field(description="the latest creation folded into this task")
    due_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class TaskPage(Model):
    """A page of tasks in ascending id order."""

    tasks: list[Task]
    cursor: int = Field(description="the id of the last task returned (or the `after` passed in)")
    has_more: bool


class TaskCreated(Model):
    """A created task, or the task an identical retry or a duplicate ``dedupe_key`` found."""

    task: Task
    replayed: bool = Field(
        default=False, description="true if this repeated an earlier create with the same key"
    )
    deduped: bool = Field(
        default=False, description="true if an active task with this dedupe_key was bumped"
    )


# integrations and webhooks

DeliveryStatus = Literal["pending", "delivered", "dead"]
IntegrationAction = Literal["trigger", "update", "resolve"]
IntegrationOutcome = Literal["created", "deduped", "updated", "resolved", "unchanged", "ignored"]


class Integration(Model):
    """An integration as listed: never its token or webhook secret."""

    id: int
    name: str = Field(description="the integration's name, also the agent it acts as")
    scopes: list[str] = Field(description="what its token may do, e.g. `tasks:create`")
    targets: list[str] = Field(
        description="targets it may address: `#ops`, `cap:deploy`, `tag:*`, `*`…"
    )
    channels: list[str] = Field(description="channels it may post to or read: `ops`, `alerts-*`")
    rate_limit: float = Field(description="requests a second its token may make")
    rate_burst: float = Field(description="requests its token may burst above the rate")
    webhook_url: str | None = Field(
        default=None, description="receives the lifecycle events of the tasks it creates"
    )
    allow_private: bool = Field(
        default=False,
        description="the admin let its webhook reach addresses the hub otherwise refuses "
        "(loopback, private networks…; never a cloud metadata address)",
    )
    prefix: str = Field(description="first characters of the token, to recognise it")
    created_at: datetime
    revoked_at: datetime | None = None


class NewIntegration(Model):
    """A freshly created integration; its token and webhook secret are shown this once."""

    token: str
    webhook_secret: str | None = Field(
        default=None, description="signs its webhook deliveries (when it has a webhook URL)"
    )
    integration: Integration


class WebhookDelivery(Model):
    """One event on its way to one webhook URL, and how its attempts went."""

    id: int = Field(description="stable across retries; sent as `X-Hubbub-Delivery`")
    integration: str | None = Field(
        default=None, description="the integration whose webhook this is (else a task's)"
    )
    task_id: int | None = None
    url: str
    event_seq: int
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = Field(
        default=None, description="when the next attempt is due (pending deliveries)"
    )
    last_attempt_at: datetime | None = None
    last_status: int | None = Field(default=None, description="HTTP status of the last attempt")
    last_error: str | None = Field(
        default=None,
        description="what went wrong in the last attempt; for all but the admin key only its "
        "outcome (`HTTP 500`, `ConnectError`, `forbidden destination`), never what came back",
    )
    created_at: datetime
    delivered_at: datetime | None = None


# remote A2A agents

A2AOutboxStatus = Literal["pending", "sent", "skipped", "failed"]


class A2ARemote(Model):
    """A remote A2A agent an admin registered: a hub agent of kind ``a2a`` whose DMs,
    mentions and task offers the hub forwards. Never its token in full."""

    name: str = Field(description="its name in the hub (an agent of kind `a2a`)")
    url: str = Field(description="the base URL its Agent Card was fetched from")
    label: str | None = None
    description: str | None = Field(default=None, description="from its Agent Card")
    capabilities: list[str] = Field(
        default_factory=list, description="its card's skill ids and tags (`cap:` reaches it)"
    )
    token_hint: str | None = Field(
        default=None, description="the first characters of the token sent to it, if any"
    )
    card: dict[str, Any] = Field(default_factory=dict, description="its Agent Card as fetched")
    pending: int = Field(default=0, description="items waiting to be forwarded")
    failed: int = Field(default=0, description="items given up on")
    created_at: datetime


class A2AOutboxItem(Model):
    """A DM, mention or task offer on its way to a remote A2A agent, and how it went."""

    id: int
    agent: str = Field(description="the remote agent it is for")
    kind: str = Field(description="`dm`, `mention`, `task`… (the inbox item's kind)")
    message_id: int = Field(description="the hub message forwarded")
    status: A2AOutboxStatus = Field(
        description="`pending`, `sent`, `skipped` (nothing to forward: a task no longer open, "
        "a message from another remote agent) or `failed` (given up, with the reason)"
    )
    attempts: int
    next_attempt_at: datetime | None = Field(
        default=None, description="when the next attempt is due (pending items)"
    )
    last_attempt_at: datetime | None = None
    last_error: str | None = Field(default=None, description="why the last attempt failed")
    created_at: datetime
    sent_at: datetime | None = None


class IntegrationEventResult(Model):
    """What an integration event did to the task its ``dedupe_key`` names."""

    action: IntegrationAction
    outcome: IntegrationOutcome = Field(
        description="`created` or `deduped` (trigger), `updated` (update), `resolved` "
        "(resolve: the task is cancelled), `unchanged` (nothing to change), `ignored` (no "
        "active task with that key)"
    )
    task: Task | None = Field(default=None, description="the task, if there is one")


class Check(Model):
    """One thing a hub process needs to serve, and how it stands."""

    name: str = Field(description="`database` (reachable, at this build's schema) or `writer`")
    ok: bool
    detail: str = Field(description="`ok`, or what is wrong")


class Readiness(Model):
    """Whether this hub process can serve: its database answers at this build's schema and
    its writer can commit."""

    ready: bool
    checks: list[Check]


class AgentPurge(Model):
    """A deleted agent purged: its messages removed, its name free again."""

    agent: str
    messages: int = Field(description="messages of it removed, everywhere their text lived")


class RetentionRule(Model):
    """One retention rule and what it removes (or, in a dry run, would remove)."""

    channel: str | None = Field(description="the channel it rules; null: the hub's default")
    days: float
    before: datetime = Field(description="messages created before this are past it")
    messages: int = 0


class RetentionReport(Model):
    """What a prune removed, or (``dry_run``) would remove now."""

    dry_run: bool
    rules: list[RetentionRule]
    tasks: int = Field(description="finished tasks past `task_retention_days`")


class HubCounts(Model):
    """What a hub's database holds, counted."""

    agents: dict[str, int] = Field(description="agents of every kind, by status")
    channels: int = Field(description="channels, DMs included, archived ones too")
    messages: int = Field(description="messages not deleted")
    tasks: dict[str, int] = Field(description="tasks by state")
    files: int
    events: int = Field(description="events in the log (older ones are pruned)")
    webhook_deliveries: dict[str, int] = Field(
        description="webhook deliveries kept, by state (pending is the backlog)"
    )


class HubStats(HubCounts):
    """A hub at a glance, for operators."""

    version: str
    started_at: datetime = Field(description="when this hub process started")
    uptime_seconds: float


# pairs

PairState = Literal["pending", "active", "rejected", "ended"]
PairEndReason = Literal["rejected", "cancelled", "hung_up", "expired"]


class Pair(Model):
    """A pair session: an exclusive live chat between two agents, in a channel of its own
    (kind ``pair``), from the invite to the hang-up."""

    id: int
    channel: str = Field(
        description="its channel, `pair:{id}`: read, post, search and mark read there as in "
        "any channel (its two agents are its only members)"
    )
    inviter: str
    invitee: str
    state: PairState = Field(
        description="`pending` (invited), `active` (accepted), `rejected`, or `ended` "
        "(cancelled, hung up, or the invite expired)"
    )
    topic: str | None = None
    created_at: datetime
    expires_at: datetime = Field(description="when a pending invite lapses unless answered")
    accepted_at: datetime | None = None
    ended_at: datetime | None = None
    ended_by: str | None = Field(
        default=None, description="who rejected, cancelled or hung up (null when it expired)"
    )
    end_reason: PairEndReason | None = Field(
        default=None, description="`rejected`, `cancelled`, `hung_up` or `expired`"
    )


# files


class File(Model):
    """A file shared in a channel or DM: its bytes are stored once per content, named by
    their SHA-256, and it is attached to the message that shared it."""

    id: int
    name: str = Field(description="the file name, cleaned of folders and control characters")
    channel: str = Field(description="the channel, or the DM (`dm:a:b`), it was shared in")
    content_type: str = Field(description="the media type the uploader gave or its name implies")
    size: int = Field(description="bytes")
    sha256: str = Field(description="SHA-256 of the content, lowercase hex")
    uploader: str = Field(description="stamped by the hub from the credential")
    message_id: int | None = Field(
        default=None, description="the message that shared it (null while it is being recorded)"
    )
    created_at: datetime


class FilePage(Model):
    """A page of files, newest first."""

    files: list[File]
    cursor: int = Field(description="the id of the last file returned: pass as `before` for older")
    has_more: bool


class FileLink(Model):
    """A signed link to a file: it works without a key until ``expires_at``, and stops
    working sooner if the file is deleted or the hub secret rotated."""

    file_id: int
    path: str = Field(description="the link's path on the hub: `/api/v1/files/{id}/signed?…`")
    expires_at: datetime


# hooks and news


class HookContext(Model):
    """Context a hook adds to the model's conversation (Claude Code, Codex, Gemini CLI)."""

    hookEventName: str = Field(description="the harness's name of the event answered")
    additionalContext: str = Field(description="the text added, at most 10,000 characters")


class HookOutput(Model):
    """What a hook answers, in its harness's own words: only the fields that harness reads
    for that event are present (``hookSpecificOutput`` for context; ``decision`` and
    ``reason`` to keep a stopping agent going; Cursor's ``additional_context`` and
    ``followup_message``; ``text`` for OpenCode)."""

    hookSpecificOutput: HookContext | None = None
    decision: Literal["block", "deny"] | None = None
    reason: str | None = None
    additional_context: str | None = None
    followup_message: str | None = None
    text: str | None = None


class HookText(Model):
    """What woke a waiting session: the new inbox items, framed, for the model."""

    text: str


class News(Model):
    """Inbox items a tool session had not been told of, as one short line (none: nothing
    new); they now count as told."""

    line: str | None = Field(default=None, description="e.g. `2 new: DM from lap-api, …`")
    count: int = Field(description="how many items the line announces")
