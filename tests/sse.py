"""Reading a hub's event stream (Server-Sent Events) over a real socket with httpx streaming.

``open_stream`` opens ``GET /api/v1/events`` as an agent and yields an :class:`EventStream`;
every read has a timeout, so a missing event fails the test instead of hanging it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import httpx

from tests.clients import API, AgentClient, Json

READ_TIMEOUT = 15.0
"""The longest a test waits for one expected event."""


@dataclass(frozen=True)
class Event:
    """One dispatched SSE event."""

    id: int | None
    type: str
    data: str

    @property
    def body(self) -> Json:
        """The decoded ``data`` field."""
        decoded: Json = json.loads(self.data)
        return decoded

    @property
    def seq(self) -> int:
        assert self.id is not None, self
        return self.id

    @property
    def payload(self) -> Json:
        """The hub's event payload (``data`` inside the envelope)."""
        inner: Json = self.body["data"]
        return inner


class StreamEnded(Exception):
    """The server ended the stream while an event was expected."""


class EventStream:
    """The events (and comment lines, such as heartbeats) of one open stream."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.comments: list[str] = []
        self.ended = False
        self._lines = response.aiter_lines()

    async def _item(self) -> Event | str | None:
        """The next event or comment line, or ``None`` at the end of the stream."""
        event_id: int | None = None
        event_type = "message"
        data: list[str] = []
        while True:
            try:
                line = await self._lines.__anext__()
            except StopAsyncIteration:
                self.ended = True
                return None
            if not line:
                if data:
                    return Event(event_id, event_type, "\n".join(data))
                event_id, event_type = None, "message"
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if not field:
                self.comments.append(value)
                if not data and event_id is None:  # not inside an event
                    return value
                continue
            if field == "id":
                event_id = int(value)
            elif field == "event":
                event_type = value
            elif field == "data":
                data.append(value)

    async def next(self, within: float = READ_TIMEOUT) -> Event | None:
        """The next event (comments are skipped), or ``None`` once the server ends the stream."""
        with anyio.fail_after(within):
            while isinstance(item := await self._item(), str):
                pass
        return item

    async def expect(self, within: float = READ_TIMEOUT) -> Event:
        """The next event, which must come."""
        event = await self.next(within)
        if event is None:
            raise StreamEnded("the stream ended")
        return event

    async def until(
        self, done: Callable[[Event], bool], within: float = READ_TIMEOUT
    ) -> list[Event]:
        """Every event up to and including the first for which ``done`` is true."""
        seen: list[Event] = []
        with anyio.fail_after(within):
            while True:
                event = await self.expect(within)
                seen.append(event)
                if done(event):
                    return seen

    async def take(
        self, count: int, kind: str = "message.posted", within: float = READ_TIMEOUT
    ) -> list[Event]:
        """Every event up to and including the ``count``-th one of type ``kind``."""
        seen: list[Event] = []
        found = 0
        with anyio.fail_after(within):
            while found < count:
                event = await self.expect(within)
                seen.append(event)
                found += event.type == kind
        return seen

    async def rest(self, within: float = READ_TIMEOUT) -> list[Event]:
        """Every event until the server ends the stream."""
        seen: list[Event] = []
        with anyio.fail_after(within):
            while (event := await self.next(within)) is not None:
                seen.append(event)
        return seen

    async def comment(self, within: float = READ_TIMEOUT) -> str:
        """The next comment line (a heartbeat); fails if an event comes first."""
        with anyio.fail_after(within):
            item = await self._item()
        if not isinstance(item, str):
            raise AssertionError(f"expected a comment, got {item}")
        return item

    async def aclose(self) -> None:
        """Finish the line iterator (an async generator) before its response closes."""
        finish = getattr(self._lines, "aclose", None)
        if finish is not None:
            await finish()


def stream_params(
    *, after: int | None, channels: str | None, types: str | None
) -> dict[str, str | int]:
    """The query string of a stream request: only what is given."""
    params: dict[str, str | int] = {}
    if after is not None:
        params["after"] = after
    if channels is not None:
        params["channels"] = channels
    if types is not None:
        params["types"] = types
    return params


@asynccontextmanager
async def open_stream(
    agent: AgentClient,
    *,
    after: int | None = None,
    last_event_id: int | str | None = None,
    channels: str | None = None,
    types: str | None = None,
    http: httpx.AsyncClient | None = None,
) -> AsyncIterator[EventStream]:
    """``GET /api/v1/events`` as ``agent`` (through ``http`` if given), checked to be a 200
    event stream; the response is closed on exit."""
    headers = {**agent.headers, "Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)
    client = http or agent.http
    params = stream_params(after=after, channels=channels, types=types)
    request = client.stream("GET", API + "/events", params=params, headers=headers)
    async with request as response:
        if response.status_code != 200:
            await response.aread()
            raise AssertionError((response.status_code, response.text))
        assert response.headers["content-type"].startswith("text/event-stream"), response.headers
        stream = EventStream(response)
        try:
            yield stream
        finally:
            await stream.aclose()


def of_type(events: list[Event], kind: str) -> list[Event]:
    """The events of type ``kind``, in order."""
    return [event for event in events if event.type == kind]


def posted(events: list[Event]) -> list[Json]:
    """The messages of the ``message.posted`` events among ``events``, in order."""
    return [event.payload["message"] for event in of_type(events, "message.posted")]
