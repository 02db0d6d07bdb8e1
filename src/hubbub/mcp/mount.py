"""The hub's ``/mcp`` endpoint. It checks the ``Origin``, the method and the credentials
itself, then hands the request to the streamable-HTTP MCP server (:mod:`hubbub.mcp.http`),
which is loaded on the first request that gets that far: the MCP SDK takes over a second to
import, and a hub nobody reaches over MCP should not pay for it."""

from __future__ import annotations

import importlib
import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.abc
import anyio.to_thread
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from hubbub.core.errors import Forbidden, HubbubError, InvalidInput, Unavailable
from hubbub.server.endpoints import AGENT_HEADER, authenticate
from hubbub.server.problems import from_error, problem
from hubbub.settings import Settings

PATH = "/mcp"
SURFACES = ("compact", "full")


def is_loopback(origin: str) -> bool:
    """Whether a browser origin is this machine: ``localhost`` or a loopback address."""
    try:
        host = urlsplit(origin).hostname or ""
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def with_agent(scope: Scope) -> Scope:
    """The request with its ``?agent=`` query parameter as the ``X-Hubbub-Agent`` header,
    for clients that can set a URL but no header (a header, if sent, wins)."""
    request = Request(scope)
    agent = request.query_params.get("agent")
    if not agent or AGENT_HEADER in request.headers:
        return scope
    headers = [*scope["headers"], (AGENT_HEADER.encode(), agent.encode())]
    return {**scope, "headers": headers}


class McpEndpoint:
    """The ASGI app at ``/mcp``: Origin check (none, loopback or listed in
    ``mcp_allowed_origins``, else 403), POST only (405: sessions are not kept, so there is no
    stream to GET nor one to DELETE), the same bearer key and acting agent as the REST API
    (401 with ``WWW-Authenticate: Bearer``), then the MCP server."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.origins = settings.allowed_origins()
        self._app: Any = None
        self._tasks: anyio.abc.TaskGroup | None = None
        self._served: ASGIApp | None = None
        self._loading = anyio.Lock()

    @asynccontextmanager
    async def running(self, app: Any) -> AsyncIterator[None]:
        """Run inside the hub's lifespan: the MCP server's tasks live in here, and tool
        calls go back into ``app`` (so auth, limits and every rule apply as over REST)."""
        self._app = app
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            try:
                yield
            finally:
                self._tasks = None
                tasks.cancel_scope.cancel()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope = with_agent(scope)
        request = Request(scope, receive)
        try:
            self.check(request)
            if request.method != "POST":
                refusal = problem(
                    405,
                    "method_not_allowed",
                    "Method Not Allowed",
                    f"{request.method} is not allowed on {PATH}: send MCP messages with POST",
                    request.url.path,
                )
                refusal.headers["Allow"] = "POST"
                await refusal(scope, receive, send)
                return
            await authenticate(request, request.app.state.hub, "agent")
            served = await self.served()
        except HubbubError as error:
            await from_error(error, request.url.path)(scope, receive, send)
            return
        await served(scope, receive, send)

    def check(self, request: Request) -> None:
        """Refuse a browser origin that is neither loopback nor allowed, and a bad surface."""
        origin = request.headers.get("origin")
        if origin and not (origin.rstrip("/") in self.origins or is_loopback(origin)):
            raise Forbidden(
                f"origin {origin!r} may not call {PATH}; list it in HUBBUB_MCP_ALLOWED_ORIGINS",
                code="origin_not_allowed",
            )
        surface = request.query_params.get("tools", "compact")
        if surface not in SURFACES:
            raise InvalidInput(f"tools must be compact or full, not {surface!r}", code="invalid")

    async def served(self) -> ASGIApp:
        """The MCP server's ASGI app, started on first use."""
        if self._served is not None:
            return self._served
        async with self._loading:
            if self._served is None:
                if self._tasks is None:
                    raise Unavailable("the hub is not running", code="unavailable")
                # Imported in a thread: the event loop keeps serving while the SDK loads.
                module = await anyio.to_thread.run_sync(importlib.import_module, "hubbub.mcp.http")
                self._served = await self._tasks.start(module.run, self._app, self.settings)
        return self._served
