"""The event stream: Server-Sent Events, resumable with ``Last-Event-ID``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import orjson
from sse_starlette import EventSourceResponse, ServerSentEvent

from hubbub.core.errors import Forbidden, HubbubError, NotFound, Unauthorized
from hubbub.core.events import StoredEvent
from hubbub.core.feed import FellBehind, Firehose, Scope
from hubbub.core.models import Cursors
from hubbub.server.bodies import Cursor, EventsQuery, FirehoseQuery
from hubbub.server.endpoints import Call, Header, Routes, whole_number
from hubbub.settings import Settings

routes = Routes("events")
CHECK_SECONDS = 5.0  # how often an idle stream re-checks its key and keeps its agent present

LAST_EVENT_ID = Header(
    "Last-Event-ID",
    "Resume after this event sequence: replays what was missed, then goes live.",
    Cursor,
)


def render(event: StoredEvent) -> bytes:
    """An event as one SSE frame: ``id`` its sequence, ``event`` its type, ``data`` one line of
    JSON with sequence, type, time and data. Rendered once, however many streams carry it."""
    data = orjson.dumps(
        {"seq": event.seq, "type": event.type, "at": event.created_at, "data": event.payload},
        option=orjson.OPT_UTC_Z,
    )
    return b"id: %d\r\nevent: %s\r\ndata: %s\r\n\r\n" % (event.seq, event.type.encode(), data)


def closed(error: HubbubError) -> ServerSentEvent:
    """The last event of a stream whose credential stopped working."""
    return ServerSentEvent(
        data=orjson.dumps({"code": error.code, "detail": error.detail}).decode(), event="closed"
    )


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip().removeprefix("#") for part in value.split(",") if part.strip()]


@routes.get("/cursor", summary="Where a poller starts: the newest event and message I may see")
async def cursor(call: Call) -> Cursors:
    """For a poller's first call: stream or wait with `after` the `event` cursor, read
    channels with `after` the `message` cursor, and nothing the caller may see is missed."""
    return await call.hub.feed.cursor(call.agent)


@routes.get(
    "/events",
    summary="Live events (SSE), resumable",
    headers=(LAST_EVENT_ID,),
    errors={404: "No such channel"},
)
async def stream_events(call: Call, query: EventsQuery) -> EventSourceResponse:
    """Every event the agent may see — its channels, its DMs, its inbox, receipts for what it
    sent — as `text/event-stream`. Each event's `id` is its sequence: reconnect with
    `Last-Event-ID` (or `after`) to get exactly what was missed. A stream that falls too far
    behind gets one `resync` event with the cursor to resume from, and is closed."""
    feed = call.hub.feed
    scope = await feed.scope(
        call.agent, channels=_split(query.channels), types=_split(query.types), kind=query.kind
    )
    presence = call.hub.presence
    agent = call.agent
    secret = _secret(call)

    async def keepalive() -> None:
        await call.hub.keys.verify(secret)  # a revoked key ends the stream
        await call.hub.agents.check_usable(agent.name)  # so does a deactivated agent
        await presence.touch(agent)

    idle = min(presence.keepalive_seconds, CHECK_SECONDS)
    return _stream(call, scope, _after(call, query.after), idle, keepalive)


@routes.get(
    "/admin/events",
    summary="Every event of the hub (SSE), for operators",
    auth="admin",
    headers=(LAST_EVENT_ID,),
)
async def firehose(call: Call, query: FirehoseQuery) -> EventSourceResponse:
    """Every event the hub commits, whoever may see it — for operators and their tools, with
    the admin key and no `X-Hubbub-Agent`. Resumable like `/events`; watching delivers
    nothing (inbox items stay undelivered for their agents)."""
    scope = call.hub.feed.firehose(_split(query.types))
    secret = _secret(call)

    async def keepalive() -> None:
        await call.hub.keys.verify(secret)  # a revoked key ends the stream

    return _stream(call, scope, _after(call, query.after), CHECK_SECONDS, keepalive)


def _after(call: Call, after: int | None) -> int | None:
    """Where a stream resumes: after ``Last-Event-ID`` if sent, else after ``after``."""
    resume = call.header("last-event-id")
    return whole_number("Last-Event-ID", resume.strip(), Cursor) if resume else after


def _secret(call: Call) -> str:
    """The caller's key (already verified), to check again while its stream lasts."""
    return (call.header("authorization") or "").partition(" ")[2].strip()


def _stream(
    call: Call,
    scope: Scope | Firehose,
    after: int | None,
    idle_seconds: float,
    keepalive: Callable[[], Awaitable[None]],
) -> EventSourceResponse:
    """The events ``scope`` admits after ``after`` as SSE; ``keepalive`` runs each
    ``idle_seconds`` (an exception from it ends the stream)."""
    feed = call.hub.feed
    settings: Settings = call.request.app.state.settings
    secret = _secret(call)

    async def stream() -> AsyncIterator[ServerSentEvent | bytes]:
        try:
            async for batch in feed.follow(
                scope,
                after=after,
                backlog=settings.stream_backlog,
                idle_seconds=idle_seconds,
                on_idle=keepalive,
            ):
                try:
                    await call.hub.keys.verify(secret)
                except Unauthorized as error:
                    yield closed(error)
                    return
                # One write per batch, not per event: this is the hot path of every stream.
                yield b"".join(feed.wire(event, render) for event in batch)
        except FellBehind as behind:
            yield ServerSentEvent(
                data=orjson.dumps({"cursor": behind.cursor}).decode(), event="resync"
            )
        except (Unauthorized, Forbidden, NotFound) as error:
            yield closed(error)

    return EventSourceResponse(
        stream(),
        ping=settings.stream_ping_seconds,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
