"""The event stream: Server-Sent Events, resumable with ``Last-Event-ID``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
from sse_starlette import EventSourceResponse, ServerSentEvent

from hubbub.core.errors import HubbubError, Unauthorized
from hubbub.core.events import StoredEvent
from hubbub.core.feed import FellBehind
from hubbub.server.bodies import Cursor, EventsQuery
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
    after = query.after
    resume = call.header("last-event-id")
    if resume:
        after = whole_number("Last-Event-ID", resume.strip(), Cursor)
    feed = call.hub.feed
    scope = await feed.scope(call.agent, channels=_split(query.channels), types=_split(query.types))
    settings: Settings = call.request.app.state.settings
    presence = call.hub.presence
    agent = call.agent

    secret = (call.header("authorization") or "").partition(" ")[2].strip()  # verified already

    async def keepalive() -> None:
        await call.hub.keys.verify(secret)  # a revoked key ends the stream
        await presence.touch(agent)

    async def stream() -> AsyncIterator[ServerSentEvent | bytes]:
        try:
            async for batch in feed.follow(
                scope,
                after=after,
                backlog=settings.stream_backlog,
                idle_seconds=min(presence.keepalive_seconds, CHECK_SECONDS),
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
        except Unauthorized as error:
            yield closed(error)

    return EventSourceResponse(
        stream(),
        ping=settings.stream_ping_seconds,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
