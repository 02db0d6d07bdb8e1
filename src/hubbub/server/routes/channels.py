"""Channels: create, list, inspect, join, leave, invite, archive, read cursor."""

from __future__ import annotations

from hubbub.core.models import Channel, ReadCursor
from hubbub.server.bodies import (
    ChannelBody,
    ChannelName,
    ChannelRef,
    ChannelsQuery,
    CursorBody,
    InviteBody,
)
from hubbub.server.endpoints import Call, Routes

routes = Routes("channels")


@routes.get("/channels", summary="Public channels and those I belong to")
async def list_channels(call: Call, query: ChannelsQuery) -> list[Channel]:
    return await call.hub.channels.list(call.agent, include_archived=query.include_archived)


@routes.post(
    "/channels",
    summary="Create a channel",
    status=201,
    errors={409: "The channel exists"},
)
async def create_channel(call: Call, body: ChannelBody) -> Channel:
    return await call.hub.channels.create(
        call.agent, body.name, visibility=body.visibility, topic=body.topic
    )


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


@routes.put("/channels/{name}/cursor", summary="Mark the channel read up to a message id")
async def mark_read(call: Call, name: ChannelRef, body: CursorBody) -> ReadCursor:
    return await call.hub.inbox.mark_read(call.agent, name, body.seq)
