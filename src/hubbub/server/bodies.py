"""Request bodies and query strings. Responses are the core's own models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hubbub.core.models import AgentStatus, AgentVisibility, ChannelVisibility, KeyKind


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


class Query(Body):
    """Base of query-string models: unknown parameters are an error too."""


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


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
