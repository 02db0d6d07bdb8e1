"""The inbox and the board."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from hubbub.core.models import AckResult, Board, Inbox
from hubbub.server.auth import Actor, HubDep
from hubbub.server.bodies import AckBody
from hubbub.server.responses import ok

router = APIRouter(tags=["inbox"])


@router.get("/inbox", response_model=Inbox, summary="Peek at my inbox (never consumes)")
async def peek(
    me: Actor,
    hub: HubDep,
    after: Annotated[int, Query(ge=0, description="Only items after this id.")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    include_acked: bool = False,
) -> Response:
    return ok(await hub.inbox.peek(me, after=after, limit=limit, include_acked=include_acked))


@router.post("/inbox/ack", response_model=AckResult, summary="Acknowledge inbox items")
async def ack(body: AckBody, me: Actor, hub: HubDep) -> Response:
    return ok(await hub.inbox.ack(me, ids=body.ids, up_to=body.up_to))


@router.get("/board", response_model=Board, summary="Unread per channel and my inbox, at once")
async def board(me: Actor, hub: HubDep) -> Response:
    return ok(await hub.inbox.board(me))
