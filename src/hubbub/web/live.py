"""The dashboard's live stream: ``GET /live``, Server-Sent Events on the session cookie.

It follows the same event feed as the API's ``/api/v1/events``, with the same per-viewer
visibility, and carries each event as an HTML fragment made from the partial templates the
pages use. A fragment depends on the event alone, so it is rendered once however many
dashboards carry it; the page marks what is the viewer's own. Each frame's ``id`` is the
event's sequence: a reconnect with ``Last-Event-ID`` (or ``after``) misses nothing and repeats
nothing."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hubbub.core import events
from hubbub.core.errors import Forbidden, HubbubError, InvalidInput, NotFound, Unauthorized
from hubbub.core.events import StoredEvent
from hubbub.core.feed import FellBehind
from hubbub.core.hub import Hub
from hubbub.core.models import Agent, File, Message, Task
from hubbub.server import problems
from hubbub.settings import Settings
from hubbub.web.auth import COOKIE, LoginRequired, viewer
from hubbub.web.pages.common import fragment
from hubbub.web.pages.sidebar import Entry, entry

CHECK_SECONDS = 5.0  # how often a stream re-checks its session and keeps its viewer present
KEEP = 4096  # rendered frames remembered, newest last
MAX_CURSOR = 2**63 - 1
LINE_BREAK = re.compile(r"\r\n|\r|\n")  # what ends a line of an event stream

Render = Callable[[Hub, StoredEvent], Awaitable[tuple[str, str]]]


def frame(seq: int, name: str, html: str) -> bytes:
    """One SSE frame: ``id``, ``event`` and the fragment as ``data`` lines."""
    lines = "".join(f"data: {line}\r\n" for line in LINE_BREAK.split(html or "-"))
    return f"id: {seq}\r\nevent: {name}\r\n{lines}\r\n".encode()


async def _agent(hub: Hub, name: str) -> Agent | None:
    return await hub.store.agent(name)


async def _message(hub: Hub, event: StoredEvent) -> tuple[str, str]:
    message = Message.model_validate(event.payload["message"])
    author = await _agent(hub, message.author)
    authors = {} if author is None else {author.name: author}
    return event.type, fragment("partials/message.html", message=message, authors=authors)


async def _task(hub: Hub, event: StoredEvent) -> tuple[str, str]:
    task = Task.model_validate(event.payload["task"])
    return "task", fragment("partials/task.html", task=task)


async def _presence(hub: Hub, event: StoredEvent) -> tuple[str, str]:
    agent = await _agent(hub, str(event.payload.get("agent", "")))
    if agent is None:
        return "skip", ""
    return "agent", fragment("partials/agent.html", agent=agent)


async def _inbox(hub: Hub, event: StoredEvent) -> tuple[str, str]:
    data = event.payload
    html = fragment(
        "partials/inbox_item.html",
        item_id=data["item_id"],
        kind=data["kind"],
        message_id=data["message_id"],
        sender=data["from"],
        preview=None,
    )
    return event.type, html


async def _acked(hub: Hub, event: StoredEvent) -> tuple[str, str]:
    count = len(event.payload.get("item_ids", ()))
    html = fragment("partials/notice.html", kind="acked", attrs={"count": count}, text="")
    return event.type, html


async def _channel(hub: Hub, event: StoredEvent) -> tuple[str, str]:
    channel = await hub.store.channel(str(event.payload["channel"]))
    if channel is None:
        return "skip", ""
    line = entry(channel)
    if channel.kind == "dm":  # both parties get this one frame: it names them both
        line = Entry(
            channel.name, " & ".join(channel.name.split(":")[1:]), "dm", "secret", 0, False
        )
    return "channel", fragment("partials/side_channel.html", entry=line)


async def _file(hub: Hub, event: StoredEvent) -> tuple[str, str]:
    file = File.model_validate(event.payload["file"])
    if event.type == events.FILE_DELETED:
        return event.type, f'<i data-gone="{file.id}"></i>'
    return "file", fragment("partials/file.html", file=file)


RENDERERS: dict[str, Render] = {
    events.MESSAGE_POSTED: _message,
    events.MESSAGE_EDITED: _message,
    events.MESSAGE_DELETED: _message,
    events.AGENT_UPDATED: _presence,
    events.MEMBER_STATUS: _presence,
    events.INBOX_ITEM: _inbox,
    events.INBOX_ACKED: _acked,
    events.CHANNEL_CREATED: _channel,
    events.FILE_SHARED: _file,
    events.FILE_DELETED: _file,
}


async def render(hub: Hub, event: StoredEvent) -> bytes:
    """The frame of one event (a ``skip`` frame, which only moves the cursor, for events the
    pages do not show)."""
    if event.type == events.STREAM_GAP:
        return frame(event.seq, "resync", orjson.dumps(event.payload).decode())
    renderer = RENDERERS.get(event.type)
    if renderer is None and event.type.startswith("task."):
        renderer = _task
    name, html = ("skip", "") if renderer is None else await renderer(hub, event)
    return frame(event.seq, name, html)


class Frames:
    """Rendered frames by event sequence: each event is rendered once, by the first stream
    that needs it, however many streams carry it."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._frames: OrderedDict[int, asyncio.Future[bytes]] = OrderedDict()

    async def get(self, event: StoredEvent) -> bytes:
        """The frame of ``event``."""
        if event.type == events.STREAM_GAP:  # per stream: never shared
            return await render(self._hub, event)
        pending = self._frames.get(event.seq)
        if pending is None:
            pending = asyncio.ensure_future(render(self._hub, event))
            self._frames[event.seq] = pending
            if len(self._frames) > KEEP:
                self._frames.popitem(last=False)
        try:
            return await asyncio.shield(pending)
        except Exception:
            self._frames.pop(event.seq, None)
            raise


def frames_of(request: Request) -> Frames:
    """This app's frame cache."""
    state = request.app.state
    found = getattr(state, "web_frames", None)
    if not isinstance(found, Frames):
        found = state.web_frames = Frames(state.hub)
    return found


def _cursor(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not value.isdigit() or int(value) > MAX_CURSOR:
        raise InvalidInput("the cursor must be a whole number")
    return int(value)


def _closed(error: HubbubError) -> ServerSentEvent:
    return ServerSentEvent(
        data=orjson.dumps({"code": error.code, "detail": error.detail}).decode(), event="closed"
    )


async def stream(request: Request) -> Response:
    """``GET /live``: the viewer's events as fragments. ``after`` (or ``Last-Event-ID``) is the
    last event already shown; ``channel`` adds a public channel the page has open."""
    try:
        who = await viewer(request)
    except LoginRequired as error:  # a stream is a script's request: no sign-in page
        return problems.from_error(error, request.url.path)
    hub: Hub = request.app.state.hub
    settings: Settings = request.app.state.settings
    after = _cursor(request.headers.get("last-event-id"))
    if after is None:
        after = _cursor(request.query_params.get("after"))
    scope = await hub.feed.scope(who.agent)
    open_channel = request.query_params.get("channel")
    if open_channel:
        with contextlib.suppress(NotFound, Forbidden):  # not readable: nothing is added
            channel, _ = await hub.channels.open(who.agent, open_channel)
            scope.member_of.add(channel.id)
    frames = frames_of(request)
    cookie = request.cookies.get(COOKIE, "")
    presence = hub.presence

    async def still_signed_in() -> None:
        if await hub.sessions.resume(cookie) is None:
            raise LoginRequired("the session ended")
        await presence.touch(who.agent)

    async def events_() -> AsyncIterator[ServerSentEvent | bytes]:
        loop = asyncio.get_running_loop()
        checked = loop.time()
        try:
            async for batch in hub.feed.follow(
                scope,
                after=after,
                backlog=settings.stream_backlog,
                idle_seconds=min(presence.keepalive_seconds, CHECK_SECONDS),
                on_idle=still_signed_in,
            ):
                if loop.time() - checked >= CHECK_SECONDS:
                    checked = loop.time()
                    await still_signed_in()
                # One write per batch: every open dashboard is a subscriber of the feed.
                yield b"".join([await frames.get(event) for event in batch])
        except FellBehind as behind:
            data = orjson.dumps({"cursor": behind.cursor}).decode()
            yield ServerSentEvent(data=data, event="resync")
        except Unauthorized as error:
            yield _closed(error)

    return EventSourceResponse(
        events_(),
        ping=settings.stream_ping_seconds,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def routes() -> list[BaseRoute]:
    """The live route."""
    return [Route("/live", stream, methods=["GET"])]
