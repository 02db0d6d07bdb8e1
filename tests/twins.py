"""Both SDK clients behind one awaitable interface, so one test body runs against each: the
``AsyncClient`` as it is, the sync ``Client`` with every call run in a worker thread. Every
request either makes is logged (its path), so a test can count the event stream's reconnects.
"""

from __future__ import annotations

import functools
import socket
from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import anyio.to_thread
import httpx

from hubbub.client import AsyncClient, Client
from hubbub.core.models import Event

Kind = Literal["sync", "async"]
KINDS: list[Kind] = ["sync", "async"]


class _LoggedTransport(httpx.HTTPTransport):
    def __init__(self, log: list[str], **options: Any) -> None:
        super().__init__(**options)
        self._log = log

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._log.append(request.url.path)
        return super().handle_request(request)


class _AsyncLoggedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, log: list[str], **options: Any) -> None:
        super().__init__(**options)
        self._log = log

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._log.append(request.url.path)
        return await super().handle_async_request(request)


async def _from_thread(events: Generator[Event, None, None]) -> AsyncGenerator[Event, None]:
    """A sync client's event generator as an async one, each step in a worker thread."""
    try:
        while (event := await anyio.to_thread.run_sync(next, events, None)) is not None:
            yield event
    finally:
        await anyio.to_thread.run_sync(events.close)


class Threaded:
    """A sync :class:`Client` whose methods are awaitable, as ``AsyncClient``'s are."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.client, name)
        if name == "events":
            return lambda **options: _from_thread(found(**options))
        if not callable(found):
            return found

        async def threaded(*args: Any, **kwargs: Any) -> Any:
            return await anyio.to_thread.run_sync(functools.partial(found, *args, **kwargs))

        return threaded

    async def aclose(self) -> None:
        await anyio.to_thread.run_sync(self.client.close)


@dataclass
class Clients:
    """Opens SDK clients of one kind, typed as ``AsyncClient`` (the sync one has the same
    methods, awaitable here); :meth:`aclose` closes them all."""

    kind: Kind
    requests: list[str] = field(default_factory=list)
    opened: list[AsyncClient] = field(default_factory=list)

    def open(
        self,
        url: str | None = None,
        key: str | None = None,
        agent: str | None = None,
        *,
        admin_key: str | None = None,
        retries: int = 3,
        receive_buffer: int | None = None,
    ) -> AsyncClient:
        """A client of this kind; ``receive_buffer`` caps its sockets' receive window."""
        options: dict[str, Any] = {}
        if receive_buffer is not None:
            options["socket_options"] = [(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)]
        client: AsyncClient
        if self.kind == "async":
            transport = _AsyncLoggedTransport(self.requests, **options)
            client = AsyncClient(
                url, key, agent, admin_key=admin_key, retries=retries, transport=transport
            )
        else:
            logged = _LoggedTransport(self.requests, **options)
            sync = Client(url, key, agent, admin_key=admin_key, retries=retries, transport=logged)
            client = cast(AsyncClient, Threaded(sync))
        self.opened.append(client)
        return client

    def streams_opened(self) -> int:
        """How many times an event stream was requested."""
        return self.requests.count("/api/v1/events")

    async def aclose(self) -> None:
        for client in self.opened:
            await client.aclose()
