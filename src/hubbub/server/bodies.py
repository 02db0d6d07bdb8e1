"""Request bodies and query strings. Responses are the core's own models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hubbub.core.models import (
    AgentStatus,
    AgentVisibility,
    ChannelVisibility,
    DeliveryStatus,
    IntegrationAction,
    KeyKind,
    TaskStatus,
)


class Body(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class PostBody(Body):
    content: str = Field(description="Markdown text; `@name` mentions notify real agents.")
    metadata: dict[str, Any] | None = Field(None, description="Free JSON object (≤ 8 KB).")
    reply_to: int | None = Field(None, ge=1, description="Id of the message this replies to.")


class SendBody(PostBody):
    target: str = Field(
        description="`#channel`, `@agent`, `label:x`, `tag:x`, `cap:x` or `broadcast`."
    )


class EditBody(Body):
    content: str | None = None
    metadata: dict[str, Any] | None = None


class ChannelBody(Body):
    name: str
    visibility: ChannelVisibility = "public"
    topic: str | None = None


class InviteBody(Body):
    agent: str = Field(description="Name of the agent to add.")


class CursorBody(Body):
    seq: int = Field(ge=0, description="Id of the last message read.")


class AckBody(Body):
    ids: list[int] = Field(default_factory=list, description="Inbox item ids to acknowledge.")
    up_to: int | None = Field(None, ge=0, description="Acknowledge every item up to this id.")


class ProfileBody(Body):
    label: str | None = None
    tags: list[str] | None = None
    capabilities: list[str] | None = None
    status: AgentStatus | None = None
    status_note: str | None = None
    visibility: AgentVisibility | None = None


class HeartbeatBody(Body):
    status: AgentStatus | None = Field(None, description="Optionally set a status too.")
    note: str | None = Field(None, description='Optionally set a status note ("" clears).')


class KeyBody(Body):
    kind: KeyKind = "machine"
    machine: str | None = Field(None, description="The machine a machine key belongs to.")
    label: str | None = None


class UserBody(Body):
    name: str = Field(description="The user name: 2-64 lowercase letters, digits and hyphens.")
    password: str = Field(description="8-256 characters; stored only as an argon2 hash.")


class PasswordBody(Body):
    password: str = Field(description="The new password, 8-256 characters.")


class TaskBody(Body):
    title: str = Field(description="One line, up to 200 characters.")
    target: str = Field(description="`@agent`, `cap:x`, `tag:x` or `#channel`.")
    body: str = Field("", description="Markdown details (≤ 32 KB).")
    priority: int = Field(0, description="Higher is claimed first.")
    labels: list[str] = Field(default_factory=list, description="Free labels, like tags.")
    dedupe_key: str | None = Field(
        None, description="While a task of yours with this key is active, repeats bump it."
    )
    max_attempts: int = Field(3, description="Leases that may run out before the task fails.")
    lease_seconds: float = Field(600, description="A claim's lease, 1 s to 24 h.")
    due_at: datetime | None = Field(None, description="When it should be done (informative).")
    callback_url: str | None = Field(
        None, description="Receives this task's events as signed webhooks."
    )
    callback_secret: str | None = Field(None, description="Signs the callbacks; never shown.")
    offer: bool = Field(True, description="Offer it: inbox items for the matching agents.")


class LeaseBody(Body):
    lease_seconds: float | None = Field(
        None, description="This claim's lease, 1 s to 24 h (default: the task's)."
    )


class ClaimNextBody(LeaseBody):
    wait: float = Field(0, ge=0, description="Seconds to wait for a task if none is open.")


class FencedBody(Body):
    fence: int = Field(description="The fencing token the claim returned.")


class RenewBody(FencedBody, LeaseBody):
    pass


class ProgressBody(FencedBody):
    percent: int | None = Field(None, description="0-100.")
    note: str | None = Field(None, description="What is happening (≤ 1000 characters).")


class ResultBody(FencedBody):
    result: Any = Field(None, description="Any JSON (≤ 32 KB).")
    text: str | None = Field(None, description="The outcome in words (a reason, on failure).")


class CancelBody(Body):
    reason: str | None = Field(None, description="Why (≤ 1000 characters).")


class IntegrationBody(Body):
    name: str = Field(
        description="The integration's name, also its agent's: 2-64 lowercase letters, digits "
        "and hyphens, not taken by any agent."
    )
    scopes: list[str] = Field(
        default_factory=list,
        description="`tasks:create`, `tasks:read`, `tasks:update`, `messages:write`, "
        "`messages:read`.",
    )
    targets: list[str] = Field(
        default_factory=list,
        description="Targets it may address (tasks, sends): `#ops`, `cap:deploy`, `tag:*`, "
        "`@lap-*`, `*`.",
    )
    channels: list[str] = Field(
        default_factory=list,
        description="Channels it may post to or read: `ops`, `alerts-*`, `*`.",
    )
    rate_limit: float = Field(20.0, description="Requests a second its token may make.")
    rate_burst: float = Field(40.0, description="Requests it may burst above the rate.")
    webhook_url: str | None = Field(
        None, description="http(s) URL that receives the events of the tasks it creates."
    )


class IntegrationEventBody(Body):
    action: IntegrationAction = Field(
        description="`trigger` creates (or bumps) the task, `update` changes it, `resolve` "
        "cancels it."
    )
    dedupe_key: str = Field(description="Names the task across events (alert, build, ticket).")
    title: str | None = Field(None, description="Task title (needed to trigger).")
    body: str | None = Field(None, description="Task body, Markdown.")
    target: str | None = Field(
        None, description="`@agent`, `cap:x`, `tag:x` or `#channel` (needed to trigger)."
    )
    priority: int | None = Field(None, description="Higher first.")
    labels: list[str] | None = Field(None, description="Task labels.")
    due_at: datetime | None = Field(None, description="When the task is due (trigger only).")


class Query(Body):
    """Base of query-string models: unknown parameters are an error too."""


class DeliveriesQuery(Query):
    status: DeliveryStatus | None = Field(None, description="Only deliveries in this state.")
    before: int | None = Field(None, ge=1, description="Only deliveries with a lower id.")
    limit: int = Field(50, ge=1, le=500, description="How many deliveries.")


class PageQuery(Query):
    after: int | None = Field(None, ge=0, description="Only messages after this id.")
    before: int | None = Field(None, ge=1, description="Only messages before this id.")
    limit: int = Field(50, ge=1, le=500, description="How many messages.")
    wait: float = Field(
        0, ge=0, description="With `after`: seconds to wait for a post if there is none yet."
    )


class InboxQuery(Query):
    after: int = Field(0, ge=0, description="Only items after this id.")
    limit: int = Field(50, ge=1, le=500, description="How many items.")
    include_acked: bool = Field(False, description="Include acknowledged items.")
    wait: float = Field(0, ge=0, description="Seconds to wait for an item if there is none yet.")


class EventsQuery(Query):
    after: int | None = Field(
        None, ge=0, description="Replay events after this sequence (`Last-Event-ID` wins)."
    )
    channels: str | None = Field(None, description="Comma-separated channels to follow only.")
    types: str | None = Field(
        None, description="Comma-separated event types or prefixes (`message`, `inbox.item`)."
    )


class SearchQuery(Query):
    q: str = Field(description='Words to match; "a phrase" and prefix* work.')
    channel: str | None = Field(None, description="Only this channel (or @agent DM).")
    author: str | None = Field(None, description="Only messages by this agent.")
    since: datetime | None = Field(None, description="Only messages at or after this time.")
    until: datetime | None = Field(None, description="Only messages at or before this time.")
    limit: int = Field(20, ge=1, le=100, description="How many hits.")


class AgentsQuery(Query):
    tag: str | None = Field(None, description="Only agents with this tag.")
    cap: str | None = Field(None, description="Only agents with this capability.")
    status: AgentStatus | None = Field(None, description="Only agents with this status.")
    machine: str | None = Field(None, description="Only agents of this machine.")


class ChannelsQuery(Query):
    include_archived: bool = Field(False, description="Include archived channels.")


class TasksQuery(Query):
    status: TaskStatus | None = Field(None, description="Only tasks in this state.")
    target: str | None = Field(None, description="Only tasks for this target.")
    holder: str | None = Field(None, description="Only tasks held by this agent (or `me`).")
    created_by: str | None = Field(None, description="Only tasks created by this agent (or `me`).")
    label: str | None = Field(None, description="Only tasks with this label.")
    available: bool = Field(False, description="Only open tasks I could claim (not my own).")
    after: int = Field(0, ge=0, description="Only tasks after this id.")
    limit: int = Field(50, ge=1, le=500, description="How many tasks.")


class HistoryQuery(Query):
    after: int = Field(0, ge=0, description="Only events after this sequence.")
    limit: int = Field(100, ge=1, le=500, description="How many events.")


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
