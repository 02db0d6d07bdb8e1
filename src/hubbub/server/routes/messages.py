"""Messages: post and read in channels, send to any target, threads, edit, delete."""

from __future__ import annotations

from hubbub.core.models import Message, MessagePage, PostResult, Seen, SendResult, Thread
from hubbub.server import guards
from hubbub.server.bodies import (
    ChannelRef,
    EditBody,
    PageQuery,
    PostBody,
    PostChannel,
    Printable,
    SendBody,
    ThreadQuery,
)
from hubbub.server.endpoints import Call, Header, Reply, Routes

routes = Routes("messages")

IDEMPOTENCY = Header(
    "Idempotency-Key",
    "Retries with the same key return the first result (200, `Idempotent-Replayed: true`) "
    "instead of posting again; the same key with a different body is 409.",
    Printable,
)
REPLAYED = {"Idempotent-Replayed": "true"}


def posted(result: PostResult) -> Message | Reply:
    """A post's answer: the message (201), or, replaying an earlier request, the message it
    posted then (200, ``Idempotent-Replayed``)."""
    return Reply(result.message, 200, REPLAYED) if result.replayed else result.message


@routes.post(
    "/channels/{name}/messages",
    summary="Post in a channel",
    status=201,
    headers=(IDEMPOTENCY,),
    responses={
        200: "A replay of an earlier request with the same Idempotency-Key",
    },
    errors={
        409: "The channel is archived, its pair session is not active, or the Idempotency-Key "
        "was used for another body"
    },
    scope="messages:write",
    guard=guards.channel_param(),
)
async def post_message(call: Call, name: PostChannel, body: PostBody) -> Message | Reply:
    result = await call.hub.messages.post(
        call.agent,
        name,
        body.content,
        metadata=body.metadata,
        reply_to=body.reply_to,
        idempotency_key=call.header("idempotency-key"),
        kind=body.kind,
    )
    return posted(result)


@routes.get(
    "/channels/{name}/messages",
    summary="Read a channel (or @agent for a DM)",
    scope="messages:read",
    guard=guards.channel_param(),
)
async def read_messages(call: Call, name: ChannelRef, query: PageQuery) -> MessagePage:
    return await call.hub.messages.read(
        call.agent,
        name,
        after=query.after,
        before=query.before,
        limit=query.limit,
        wait=query.wait,
        since=query.since,
        until=query.until,
        kind=query.kind,
    )


@routes.post(
    "/send",
    summary="Send to #channel, @agent, label:, tag:, cap: or broadcast",
    status=201,
    headers=(IDEMPOTENCY,),
    responses={
        200: "A replay of an earlier send with the same Idempotency-Key",
    },
    errors={
        404: "No such agent, or nobody matches",
        409: "The channel is archived, or the Idempotency-Key was used for another body",
    },
    scope="messages:write",
    guard=guards.body_target,
)
async def send(call: Call, body: SendBody) -> SendResult | Reply:
    result = await call.hub.messages.send(
        call.agent,
        body.target,
        body.content,
        metadata=body.metadata,
        reply_to=body.reply_to,
        idempotency_key=call.header("idempotency-key"),
        kind=body.kind,
    )
    return Reply(result, 200, REPLAYED) if result.replayed else result


@routes.get("/messages/{message_id}", summary="One message")
async def get_message(call: Call, message_id: int) -> Message:
    return await call.hub.messages.get(call.agent, message_id)


@routes.get("/messages/{message_id}/thread", summary="The whole thread of a message")
async def get_thread(call: Call, message_id: int, query: ThreadQuery) -> Thread:
    return await call.hub.messages.thread(call.agent, message_id, kind=query.kind)


@routes.get("/messages/{message_id}/seen", summary="Which members have read past a message")
async def get_seen(call: Call, message_id: int) -> Seen:
    return await call.hub.messages.seen(call.agent, message_id)


@routes.patch(
    "/messages/{message_id}",
    summary="Edit my message",
    errors={409: "The message is deleted, or its channel archived"},
)
async def edit_message(call: Call, message_id: int, body: EditBody) -> Message:
    return await call.hub.messages.edit(
        call.agent, message_id, content=body.content, metadata=body.metadata
    )


@routes.delete(
    "/messages/{message_id}",
    summary="Delete my message",
    errors={409: "The message is deleted, or its channel archived"},
)
async def delete_message(call: Call, message_id: int) -> Message:
    return await call.hub.messages.delete(call.agent, message_id)
