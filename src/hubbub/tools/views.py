"""The compact result shapes tools return, and their text renderings.

Results are smaller than the API's models: a model reads a message as id, sender, channel,
time and the framed text, and gets the cursor to pass next. Every text another agent wrote
goes through :mod:`hubbub.tools.framing`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hubbub.core.models import Agent, Channel, InboxItem, Message
from hubbub.tools.framing import channel_label, frame, neutralize, stamp


class View(BaseModel):
    """Base of the tools' argument and result models: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Empty(View):
    """No arguments."""


class MessageView(View):
    """One message as a model sees it."""

    id: int = Field(description="message id; also the cursor for reads")
    sender: str = Field(description="the author, stamped by the hub")
    channel: str = Field(description="#channel, or dm:a:b for a direct message")
    at: str = Field(description="when it was posted (UTC)")
    reply_to: int | None = Field(default=None, description="the message this replies to")
    text: str = Field(description="the content inside its delimited, sender-stamped block")

    @classmethod
    def of(cls, message: Message) -> MessageView:
        """The view of one message; a deleted one keeps its header and loses its text."""
        content = "(deleted)" if message.deleted else message.content
        return cls(
            id=message.id,
            sender=message.author,
            channel=channel_label(message.channel),
            at=stamp(message.created_at),
            reply_to=message.reply_to,
            text=frame(
                message.id,
                message.author,
                message.channel,
                message.created_at,
                content,
                message.kind,
            ),
        )


class ItemView(MessageView):
    """One inbox item: the message, and the item's id and why it reached the agent."""

    item: int = Field(description="inbox item id; pass to hubbub_ack")
    kind: str = Field(description="dm, mention, send, broadcast or task")
    acked: bool | None = Field(default=None, description="true once acknowledged")

    @classmethod
    def of_item(cls, entry: InboxItem) -> ItemView:
        """The view of one inbox item."""
        return cls(
            **MessageView.of(entry.message).model_dump(),
            item=entry.id,
            kind=entry.kind,
            acked=True if entry.acked_at is not None else None,
        )


class AgentView(View):
    """One agent, briefly."""

    name: str
    kind: str = Field(description="agent or human")
    status: str = Field(description="active, idle, busy or offline")
    note: str | None = Field(default=None, description="status note, written by the agent")
    label: str | None = None
    tags: list[str]
    capabilities: list[str]
    last_seen: str | None = None
    channel: str | None = Field(default=None, description="the channel a status was set in")
    channel_status: str | None = Field(
        default=None, description="your status in that channel (none: cleared)"
    )

    @classmethod
    def of(cls, agent: Agent) -> AgentView:
        """The view of one agent; its free text is neutralized."""
        return cls(
            name=agent.name,
            kind=agent.kind,
            status=agent.status,
            note=neutralize(agent.status_note) if agent.status_note else None,
            label=agent.label,
            tags=agent.tags,
            capabilities=agent.capabilities,
            last_seen=stamp(agent.last_seen_at) if agent.last_seen_at else None,
        )


class ChannelView(View):
    """One channel, briefly."""

    name: str = Field(description="#name, or dm:a:b")
    visibility: str = Field(description="public, private or secret")
    topic: str | None = None
    project: str | None = Field(default=None, description="the project it is about")
    branch: str | None = Field(default=None, description="the project's branch it is about")
    archived: bool
    last_message: int = Field(description="id of the newest message (0: none)")
    members: list[str] | None = Field(default=None, description="present for a single channel")

    @classmethod
    def of(cls, channel: Channel) -> ChannelView:
        """The view of one channel; its topic is neutralized."""
        return cls(
            name=channel_label(channel.name),
            visibility=channel.visibility,
            topic=neutralize(channel.topic) if channel.topic else None,
            project=channel.project,
            branch=neutralize(channel.branch) if channel.branch else None,
            archived=channel.archived,
            last_message=channel.last_message_id,
            members=channel.members,
        )


def render_messages(messages: list[MessageView], empty: str = "no messages") -> str:
    """Framed messages one after another, or ``empty``."""
    return "\n".join(message.text for message in messages) if messages else empty


def render_agent(agent: AgentView) -> str:
    """One line per agent: name, status and note."""
    note = f" — {agent.note}" if agent.note else ""
    line = f"@{agent.name} ({agent.kind}, {agent.status}){note}"
    if agent.channel is not None:
        line += f"; in {agent.channel}: {agent.channel_status or '(no status)'}"
    return line


def render_channel(channel: ChannelView) -> str:
    """One line per channel."""
    flags = [channel.visibility] + (["archived"] if channel.archived else [])
    if channel.project:
        branch = f"@{channel.branch}" if channel.branch else ""
        flags.append(f"project {channel.project}{branch}")
    topic = f" — {channel.topic}" if channel.topic else ""
    return f"{channel.name} ({', '.join(flags)}, last message {channel.last_message}){topic}"
