"""The inbox and the board."""

from __future__ import annotations

from hubbub.core.models import AckResult, Board, Inbox
from hubbub.server.bodies import AckBody, InboxQuery
from hubbub.server.endpoints import Call, Routes

routes = Routes("inbox")


@routes.get("/inbox", summary="Peek at my inbox (never consumes)")
async def peek_inbox(call: Call, query: InboxQuery) -> Inbox:
    return await call.hub.inbox.peek(
        call.agent,
        after=query.after,
        limit=query.limit,
        include_acked=query.include_acked,
        wait=query.wait,
    )


@routes.post("/inbox/ack", summary="Acknowledge inbox items by id or up to an id")
async def ack_inbox(call: Call, body: AckBody) -> AckResult:
    return await call.hub.inbox.ack(call.agent, ids=body.ids, up_to=body.up_to)


@routes.get("/board", summary="Unread per channel and the head of my inbox, in one call")
async def board(call: Call) -> Board:
    return await call.hub.inbox.board(call.agent)
