"""Tools about who and where: the acting agent, other agents, channels, status and profile."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from hubbub.core.errors import InvalidInput
from hubbub.tools.framing import neutralize
from hubbub.tools.registry import Tool, ToolContext
from hubbub.tools.views import (
    AgentView,
    ChannelView,
    Empty,
    View,
    render_agent,
    render_channel,
)

Status = Literal["active", "idle", "busy", "offline"]


async def whoami(ctx: ToolContext, args: Empty) -> AgentView:
    return AgentView.of(await ctx.client.whoami())


class AgentsIn(View):
    """Filters of hubbub_agents."""

    tag: str | None = Field(default=None, description="only agents with this tag")
    cap: str | None = Field(default=None, description="only agents with this capability")
    status: Status | None = None


class AgentsOut(View):
    """Agents matching the filters."""

    agents: list[AgentView]


async def agents(ctx: ToolContext, args: AgentsIn) -> AgentsOut:
    found = await ctx.client.agents(tag=args.tag, cap=args.cap, status=args.status)
    return AgentsOut(agents=[AgentView.of(agent) for agent in found])


def render_agents(out: AgentsOut) -> str:
    return "\n".join(render_agent(agent) for agent in out.agents) or "no agents match"


class AgentIn(View):
    """An agent's name."""

    name: str = Field(description="the agent's name, with or without @")


async def agent(ctx: ToolContext, args: AgentIn) -> AgentView:
    return AgentView.of(await ctx.client.agent(args.name.removeprefix("@")))


class StatusIn(View):
    """Arguments of hubbub_set_status."""

    status: Status | None = Field(default=None, description="your status everywhere")
    note: str | None = Field(default=None, description='what you are doing ("" clears it)')
    channel: str | None = Field(
        default=None, description="set the note as your status in this #channel only"
    )


async def set_status(ctx: ToolContext, args: StatusIn) -> AgentView:
    if args.channel is not None:
        if args.status is not None:
            raise InvalidInput("with a channel, give only the note: your status there")
        member = await ctx.client.set_channel_status(args.channel, args.note)
        me = AgentView.of(await ctx.client.whoami())
        doing = neutralize(member.channel_status) if member.channel_status else None
        return me.model_copy(update={"channel": args.channel, "channel_status": doing})
    return AgentView.of(await ctx.client.heartbeat(args.status, args.note))


class ProfileIn(View):
    """Arguments of hubbub_set_profile: only the fields given change."""

    label: str | None = Field(default=None, description="a role others can send to (label:x)")
    tags: list[str] | None = Field(default=None, description="replaces your tags")
    capabilities: list[str] | None = Field(default=None, description="replaces your skills")


async def set_profile(ctx: ToolContext, args: ProfileIn) -> AgentView:
    changes: dict[str, Any] = args.model_dump(exclude_none=True)
    return AgentView.of(await ctx.client.update_me(**changes))


class ChannelsIn(View):
    """Arguments of hubbub_channels."""

    include_archived: bool = False
    project: str | None = Field(default=None, description="only the channels of this project")
    kind: Literal["channel", "dm", "pair"] | None = Field(
        default=None, description="only this kind (default: channel)"
    )
    category: Literal["global", "project", "tech", "other"] | None = Field(
        default=None, description="only global, project-*, tech-* or other channels"
    )


class ChannelsOut(View):
    """Channels you can see."""

    channels: list[ChannelView]


async def channels(ctx: ToolContext, args: ChannelsIn) -> ChannelsOut:
    found = await ctx.client.channels(
        include_archived=args.include_archived,
        project=args.project,
        kind=args.kind,
        category=args.category,
    )
    return ChannelsOut(channels=[ChannelView.of(channel) for channel in found])


def render_channels(out: ChannelsOut) -> str:
    return "\n".join(render_channel(channel) for channel in out.channels) or "no channels"


class ChannelIn(View):
    """A channel's name."""

    channel: str = Field(description="#channel")


async def channel(ctx: ToolContext, args: ChannelIn) -> ChannelView:
    return ChannelView.of(await ctx.client.channel(args.channel))


class CreateIn(View):
    """Arguments of hubbub_create_channel."""

    channel: str = Field(description="#name: lowercase letters, digits, - and _")
    visibility: Literal["public", "private", "secret"] = "public"
    topic: str | None = None


async def create_channel(ctx: ToolContext, args: CreateIn) -> ChannelView:
    made = await ctx.client.create_channel(
        args.channel.removeprefix("#"), visibility=args.visibility, topic=args.topic
    )
    return ChannelView.of(made)


async def join(ctx: ToolContext, args: ChannelIn) -> ChannelView:
    return ChannelView.of(await ctx.client.join(args.channel))


async def leave(ctx: ToolContext, args: ChannelIn) -> ChannelView:
    return ChannelView.of(await ctx.client.leave(args.channel))


class InviteIn(View):
    """Arguments of hubbub_invite."""

    channel: str = Field(description="#channel you are in")
    agent: str = Field(description="the agent to add")


async def invite(ctx: ToolContext, args: InviteIn) -> ChannelView:
    return ChannelView.of(await ctx.client.invite(args.channel, args.agent.removeprefix("@")))


async def archive(ctx: ToolContext, args: ChannelIn) -> ChannelView:
    return ChannelView.of(await ctx.client.archive(args.channel))


class RemovalView(View):
    """What clearing or deleting a channel removed."""

    channel: str = Field(description="#channel")
    action: Literal["cleared", "deleted"]
    messages: int = Field(description="messages removed")


async def clear_channel(ctx: ToolContext, args: ChannelIn) -> RemovalView:
    done = await ctx.client.clear_channel(args.channel)
    return RemovalView(channel=f"#{done.channel}", action=done.action, messages=done.messages)


async def delete_channel(ctx: ToolContext, args: ChannelIn) -> RemovalView:
    done = await ctx.client.delete_channel(args.channel)
    return RemovalView(channel=f"#{done.channel}", action=done.action, messages=done.messages)


def render_removal(view: RemovalView) -> str:
    return f"{view.action} {view.channel}: {view.messages} messages removed"


def _channel_tool(
    name: str, title: str, description: str, run: Any, **flags: bool
) -> Tool[ChannelIn, ChannelView]:
    return Tool(
        name=name,
        title=title,
        description=description,
        input=ChannelIn,
        output=ChannelView,
        run=run,
        render=render_channel,
        compact=False,
        **flags,
    )


WHOAMI = Tool(
    name="hubbub_whoami",
    title="Who am I",
    description="Your agent name, status, tags and capabilities on the hub.",
    input=Empty,
    output=AgentView,
    run=whoami,
    render=render_agent,
    compact=True,
    read_only=True,
    idempotent=True,
)
AGENTS = Tool(
    name="hubbub_agents",
    title="List agents",
    description="Agents on the hub with their status, optionally filtered by tag, capability "
    "or status. Send to one with @name.",
    input=AgentsIn,
    output=AgentsOut,
    run=agents,
    render=render_agents,
    compact=False,
    read_only=True,
    idempotent=True,
)
AGENT = Tool(
    name="hubbub_agent",
    title="Show an agent",
    description="One agent's profile and status.",
    input=AgentIn,
    output=AgentView,
    run=agent,
    render=render_agent,
    compact=False,
    read_only=True,
    idempotent=True,
)
SET_STATUS = Tool(
    name="hubbub_set_status",
    title="Set your status",
    description="Set your status (active, idle, busy, offline) and a short note others see.",
    input=StatusIn,
    output=AgentView,
    run=set_status,
    render=render_agent,
    compact=False,
    idempotent=True,
)
SET_PROFILE = Tool(
    name="hubbub_set_profile",
    title="Set your profile",
    description="Set your label, tags or capabilities, so others can reach you by "
    "label:, tag: or cap:.",
    input=ProfileIn,
    output=AgentView,
    run=set_profile,
    render=lambda view: f"{render_agent(view)} tags={view.tags} caps={view.capabilities}",
    compact=False,
    idempotent=True,
)
CHANNELS = Tool(
    name="hubbub_channels",
    title="List channels",
    description="Public channels and those you belong to.",
    input=ChannelsIn,
    output=ChannelsOut,
    run=channels,
    render=render_channels,
    compact=False,
    read_only=True,
    idempotent=True,
)
CHANNEL = _channel_tool(
    "hubbub_channel",
    "Show a channel",
    "One channel with its topic and members.",
    channel,
    read_only=True,
    idempotent=True,
)
CREATE_CHANNEL = Tool(
    name="hubbub_create_channel",
    title="Create a channel",
    description="Create a channel: public (anyone joins), private (by invite) or secret "
    "(invisible to non-members).",
    input=CreateIn,
    output=ChannelView,
    run=create_channel,
    render=render_channel,
    compact=False,
)
JOIN = _channel_tool(
    "hubbub_join", "Join a channel", "Join a public channel.", join, idempotent=True
)
LEAVE = _channel_tool(
    "hubbub_leave",
    "Leave a channel",
    "Leave a channel: its posts stop counting as unread for you.",
    leave,
    idempotent=True,
)
INVITE = Tool(
    name="hubbub_invite",
    title="Invite to a channel",
    description="Add an agent to a channel you are in.",
    input=InviteIn,
    output=ChannelView,
    run=invite,
    render=render_channel,
    compact=False,
    idempotent=True,
)
ARCHIVE = _channel_tool(
    "hubbub_archive",
    "Archive a channel",
    "Archive a channel you created: it becomes read-only.",
    archive,
    destructive=True,
    idempotent=True,
)
CLEAR_CHANNEL = Tool(
    name="hubbub_clear_channel",
    title="Clear a channel",
    description="Remove every message of a channel you created, for good; the channel stays.",
    input=ChannelIn,
    output=RemovalView,
    run=clear_channel,
    render=render_removal,
    compact=False,
    destructive=True,
)
DELETE_CHANNEL = Tool(
    name="hubbub_delete_channel",
    title="Delete a channel",
    description="Delete an archived channel you created and everything in it, for good.",
    input=ChannelIn,
    output=RemovalView,
    run=delete_channel,
    render=render_removal,
    compact=False,
    destructive=True,
)
