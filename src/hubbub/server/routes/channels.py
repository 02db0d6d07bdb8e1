"""Channels: create, list, inspect, change, join, leave, invite, archive, clear, delete, my
status in one, read cursor; and the projects they name."""

from __future__ import annotations

from hubbub.core.models import Channel, ChannelRemoval, Member, Project, ReadCursor
from hubbub.server.bodies import (
    ChannelBody,
    ChannelChangeBody,
    ChannelName,
    ChannelRef,
    ChannelsQuery,
    ChannelStatusBody,
    CursorBody,
    InviteBody,
    ProjectsQuery,
    RetentionBody,
)
from hubbub.server.endpoints import Call, Routes

routes = Routes("channels")


@routes.get("/channels", summary="Public channels and those I belong to")
async def list_channels(call: Call, query: ChannelsQuery) -> list[Channel]:
    return await call.hub.channels.filtered(
        call.agent,
        include_archived=query.include_archived,
        project=query.project,
        kind=query.kind,
        category=query.category,
    )


@routes.get("/projects", summary="The projects of the channels I can see, with their counts")
async def list_projects(call: Call, query: ProjectsQuery) -> list[Project]:
    return await call.hub.channels.projects(call.agent, include_archived=query.include_archived)


@routes.post(
    "/channels",
    summary="Create a channel",
    status=201,
    errors={409: "The channel exists"},
)
async def create_channel(call: Call, body: ChannelBody) -> Channel:
    return await call.hub.channels.create(
        call.agent,
        body.name,
        visibility=body.visibility,
        topic=body.topic,
        project=body.project,
        branch=body.branch,
    )


@routes.patch(
    "/channels/{name}",
    summary="Change a channel's topic, project or branch (creator or admin)",
    errors={409: "The channel is archived"},
)
async def update_channel(call: Call, name: ChannelName, body: ChannelChangeBody) -> Channel:
    return await call.hub.channels.update(
        call.agent,
        name,
        topic=body.topic,
        project=body.project,
        branch=body.branch,
        as_admin=_admin(call),
    )


@routes.post(
    "/channels/{name}/clear",
    summary="Remove every message of a channel, keeping the channel (creator or admin)",
)
async def clear_channel(call: Call, name: ChannelName) -> ChannelRemoval:
    return await call.hub.channels.clear(call.agent, name, as_admin=_admin(call))


@routes.delete(
    "/channels/{name}",
    summary="Delete an archived channel and everything in it (creator or admin)",
    errors={409: "The channel is not archived"},
)
async def delete_channel(call: Call, name: ChannelName) -> ChannelRemoval:
    return await call.hub.channels.delete(call.agent, name, as_admin=_admin(call))


def _admin(call: Call) -> bool:
    return call.credential is not None and call.credential.is_admin


@routes.get("/channels/{name}", summary="One channel and its members")
async def get_channel(call: Call, name: ChannelRef) -> Channel:
    return await call.hub.channels.get(call.agent, name)


@routes.post(
    "/channels/{name}/join",
    summary="Join a public channel",
    errors={409: "The channel is archived"},
)
async def join_channel(call: Call, name: ChannelName) -> Channel:
    return await call.hub.channels.join(call.agent, name)


@routes.post("/channels/{name}/leave", summary="Leave a channel")
async def leave_channel(call: Call, name: ChannelName) -> Channel:
    return await call.hub.channels.leave(call.agent, name)


@routes.post(
    "/channels/{name}/invite",
    summary="Add an agent to a channel I am in",
    errors={409: "The channel is archived"},
)
async def invite_to_channel(call: Call, name: ChannelName, body: InviteBody) -> Channel:
    return await call.hub.channels.invite(call.agent, name, body.agent)


@routes.post("/channels/{name}/archive", summary="Archive a channel (creator or admin)")
async def archive_channel(call: Call, name: ChannelName) -> Channel:
    admin = call.credential is not None and call.credential.is_admin
    return await call.hub.channels.archive(call.agent, name, as_admin=admin)


@routes.put(
    "/channels/{name}/status",
    summary="Set what I am doing in a channel I am in",
    errors={409: "The channel is archived"},
)
async def set_channel_status(call: Call, name: ChannelRef, body: ChannelStatusBody) -> Member:
    return await call.hub.channels.set_status(call.agent, name, body.status)


@routes.put("/channels/{name}/cursor", summary="Mark the channel read up to a message id")
async def mark_read(call: Call, name: ChannelRef, body: CursorBody) -> ReadCursor:
    return await call.hub.inbox.mark_read(call.agent, name, body.seq)


@routes.put(
    "/admin/channels/{name}/retention",
    summary="Give a channel a message retention of its own (or the hub's again)",
    auth="admin",
    errors={404: "No such channel"},
)
async def set_retention(call: Call, name: ChannelName, body: RetentionBody) -> Channel:
    """Messages of the channel older than `retention_days` are removed for good by the next
    maintenance round (within a minute), whatever the hub's `message_retention_days`;
    `null` gives the channel the hub's rule again. `hubbub prune --dry-run` shows what goes."""
    return await call.hub.retention.set_channel(name, body.retention_days)
