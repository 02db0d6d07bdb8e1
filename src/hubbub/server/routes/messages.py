"""Messages: post and read in channels, send to any target, threads, edit, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query
from starlette.responses import Response

from hubbub.core.models import Message, MessagePage, SendResult, Thread
from hubbub.server.auth import Actor, HubDep
from hubbub.server.bodies import EditBody, PostBody, SendBody
from hubbub.server.responses import ok

router = APIRouter(tags=["messages"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Retries with the same key return the first result instead of posting again.",
    ),
]
REPLAYED = {"Idempotent-Replayed": "true"}


@router.post(
    "/channels/{name}/messages",
    response_model=Message,
    status_code=201,
    summary="Post in a channel",
    responses={200: {"description": "A replay of an earlier request with the same key"}},
)
async def post_message(
    name: str, body: PostBody, me: Actor, hub: HubDep, idempotency_key: IdempotencyKey = None
) -> Response:
    result = await hub.messages.post(
        me,
        name,
        body.content,
        metadata=body.metadata,
        reply_to=body.reply_to,
        idempotency_key=idempotency_key,
    )
    if result.replayed:
        return ok(result.message, 200, REPLAYED)
    return ok(result.message, 201)


@router.get("/channels/{name}/messages", response_model=MessagePage, summary="Read a channel")
async def read_messages(
    name: str,
    me: Actor,
    hub: HubDep,
    after: Annotated[int | None, Query(ge=0, description="Only messages after this id.")] = None,
    before: Annotated[int | None, Query(ge=1, description="Only messages before this id.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    return ok(await hub.messages.read(me, name, after=after, before=before, limit=limit))


@router.post("/send", response_model=SendResult, status_code=201, summary="Send to a target")
async def send(
    body: SendBody, me: Actor, hub: HubDep, idempotency_key: IdempotencyKey = None
) -> Response:
    result = await hub.messages.send(
        me,
        body.target,
        body.content,
        metadata=body.metadata,
        reply_to=body.reply_to,
        idempotency_key=idempotency_key,
    )
    return ok(result, 201)


@router.get("/messages/{message_id}", response_model=Message, summary="One message")
async def get_message(message_id: int, me: Actor, hub: HubDep) -> Response:
    return ok(await hub.messages.get(me, message_id))


@router.get("/messages/{message_id}/thread", response_model=Thread, summary="A whole thread")
async def get_thread(message_id: int, me: Actor, hub: HubDep) -> Response:
    return ok(await hub.messages.thread(me, message_id))


@router.patch("/messages/{message_id}", response_model=Message, summary="Edit my message")
async def edit_message(message_id: int, body: EditBody, me: Actor, hub: HubDep) -> Response:
    edited = await hub.messages.edit(me, message_id, content=body.content, metadata=body.metadata)
    return ok(edited)


@router.delete("/messages/{message_id}", response_model=Message, summary="Delete my message")
async def delete_message(message_id: int, me: Actor, hub: HubDep) -> Response:
    return ok(await hub.messages.delete(me, message_id))
