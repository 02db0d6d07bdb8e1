"""Channels: create, list, inspect, join, leave, invite, archive, read cursor."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from hubbub.core.models import Channel, ReadCursor
from hubbub.server.auth import Actor, AnyCredential, HubDep
from hubbub.server.bodies import ChannelBody, CursorBody, InviteBody
from hubbub.server.responses import ok, ok_list

router = APIRouter(tags=["channels"])


@router.get("/channels", response_model=list[Channel], summary="Channels I can see")
async def list_channels(me: Actor, hub: HubDep, include_archived: bool = False) -> Response:
    return ok_list(await hub.channels.list(me, include_archived=include_archived), Channel)


@router.post("/channels", response_model=Channel, status_code=201, summary="Create a channel")
async def create_channel(body: ChannelBody, me: Actor, hub: HubDep) -> Response:
    created = await hub.channels.create(me, body.name, visibility=body.visibility, topic=body.topic)
    return ok(created, 201)


@router.get("/channels/{name}", response_model=Channel, summary="One channel and its members")
async def get_channel(name: str, me: Actor, hub: HubDep) -> Response:
    return ok(await hub.channels.get(me, name))


@router.post("/channels/{name}/join", response_model=Channel, summary="Join a public channel")
async def join(name: str, me: Actor, hub: HubDep) -> Response:
    return ok(await hub.channels.join(me, name))


@router.post("/channels/{name}/leave", response_model=Channel, summary="Leave a channel")
async def leave(name: str, me: Actor, hub: HubDep) -> Response:
    return ok(await hub.channels.leave(me, name))


@router.post("/channels/{name}/invite", response_model=Channel, summary="Add an agent")
async def invite(name: str, body: InviteBody, me: Actor, hub: HubDep) -> Response:
    return ok(await hub.channels.invite(me, name, body.agent))


@router.post("/channels/{name}/archive", response_model=Channel, summary="Archive a channel")
async def archive(name: str, me: Actor, cred: AnyCredential, hub: HubDep) -> Response:
    return ok(await hub.channels.archive(me, name, as_admin=cred.is_admin))


@router.put("/channels/{name}/cursor", response_model=ReadCursor, summary="Mark read up to seq")
async def mark_read(name: str, body: CursorBody, me: Actor, hub: HubDep) -> Response:
    return ok(await hub.inbox.mark_read(me, name, body.seq))
