"""Request bodies. Responses are the core's own models."""

from __future__ import annotations

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


class KeyBody(Body):
    kind: KeyKind = "machine"
    machine: str | None = Field(None, description="The machine a machine key belongs to.")
    label: str | None = None


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    schema_version: int | None = None
