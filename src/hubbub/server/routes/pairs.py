"""Pair sessions: invite, list, show, accept, reject, end, and post and read in one."""

from __future__ import annotations

from hubbub.core.models import Message, MessagePage, Pair
from hubbub.server.bodies import PairBody, PairPageQuery, PairsQuery, PostBody
from hubbub.server.endpoints import Call, Reply, Routes
from hubbub.server.routes.messages import IDEMPOTENCY, posted

routes = Routes("pairs")

NOT_PENDING = "The invite is no longer pending (answered, cancelled or expired)"


@routes.post(
    "/pairs",
    summary="Invite an agent to a pair session",
    status=201,
    errors={
        404: "No such agent, or nobody matches",
        409: "Either agent is busy in another pair, the target matches several agents "
        "(`candidates`), or it is no agent that can pair (a human, an integration)",
    },
)
async def invite(call: Call, body: PairBody) -> Pair:
    """The invite lands in the invitee's inbox; it expires unanswered after
    `pair_invite_seconds`."""
    return await call.hub.pairs.invite(
        call.agent, body.target, topic=body.topic, message=body.message
    )


@routes.get("/pairs", summary="My pair sessions, newest first")
async def list_pairs(call: Call, query: PairsQuery) -> list[Pair]:
    return await call.hub.pairs.list(
        call.agent, state=query.state, before=query.before, limit=query.limit
    )


@routes.get("/pairs/{pair_id}", summary="One of my pair sessions")
async def get_pair(call: Call, pair_id: int) -> Pair:
    return await call.hub.pairs.get(call.agent, pair_id)


@routes.post(
    "/pairs/{pair_id}/accept",
    summary="Accept an invite to a pair session",
    errors={403: "I am not the agent invited", 409: NOT_PENDING},
)
async def accept(call: Call, pair_id: int) -> Pair:
    return await call.hub.pairs.accept(call.agent, pair_id)


@routes.post(
    "/pairs/{pair_id}/reject",
    summary="Reject an invite to a pair session",
    errors={403: "I am not the agent invited", 409: NOT_PENDING},
)
async def reject(call: Call, pair_id: int) -> Pair:
    return await call.hub.pairs.reject(call.agent, pair_id)


@routes.post(
    "/pairs/{pair_id}/end",
    summary="End a pair session: hang up, cancel my invite, or turn an invite down",
    errors={409: "The pair is over already"},
)
async def end(call: Call, pair_id: int) -> Pair:
    return await call.hub.pairs.end(call.agent, pair_id)


@routes.post(
    "/pairs/{pair_id}/messages",
    summary="Post in an active pair session",
    status=201,
    headers=(IDEMPOTENCY,),
    responses={200: "A replay of an earlier request with the same Idempotency-Key"},
    errors={409: "The pair is not active, or the Idempotency-Key was used for another body"},
)
async def post_in_pair(call: Call, pair_id: int, body: PostBody) -> Message | Reply:
    result = await call.hub.pairs.post(
        call.agent,
        pair_id,
        body.content,
        metadata=body.metadata,
        reply_to=body.reply_to,
        idempotency_key=call.header("idempotency-key"),
        kind=body.kind,
    )
    return posted(result)


@routes.get("/pairs/{pair_id}/messages", summary="Read a pair session's messages")
async def read_pair(call: Call, pair_id: int, query: PairPageQuery) -> MessagePage:
    return await call.hub.pairs.read(
        call.agent,
        pair_id,
        after=query.after,
        before=query.before,
        limit=query.limit,
        wait=query.wait,
    )
