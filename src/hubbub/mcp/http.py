"""The MCP server over streamable HTTP, behind the hub's ``/mcp`` endpoint
(:mod:`hubbub.mcp.mount`, which has already checked the origin and the credentials).

One SDK app serves both protocol eras: the stateless 2026 protocol, and the handshake era
that clients such as Claude Code still speak. Sessions are not kept (``stateless``): no tool
calls back into the client, and any hub process can serve any request. Each tool call runs
through an SDK client whose transport is the hub app itself, acting with the request's own
key and agent, so every rule, limit and event is exactly that of the REST API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
import anyio.abc
import httpx
from mcp.server import ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from hubbub.client import AsyncClient, ClientSettings
from hubbub.core.errors import Unauthorized
from hubbub.mcp.server import ClientFor, build
from hubbub.server.endpoints import AGENT_HEADER
from hubbub.settings import Settings
from hubbub.tools import Surface

# Requests never leave the process; the host only fills the URL.
INTERNAL_URL = "http://hubbub.internal"
# The mount checks Origin itself; the SDK's Host allowlist would refuse a hub reached by any
# name but localhost, so it is off.
OPEN = TransportSecuritySettings(enable_dns_rebinding_protection=False)


def through(app: ASGIApp) -> ClientFor:
    """Tool calls as the request's agent, with the request's key, into ``app``."""

    @asynccontextmanager
    async def client_for(ctx: ServerRequestContext[Any, Any]) -> AsyncIterator[AsyncClient]:
        request = ctx.request
        if not isinstance(request, Request):  # pragma: no cover - HTTP always carries one
            raise Unauthorized("no HTTP request to take credentials from")
        key = request.headers.get("authorization", "").partition(" ")[2].strip()
        agent = request.headers.get(AGENT_HEADER, "").strip()
        client = AsyncClient(INTERNAL_URL, key, agent, transport=httpx.ASGITransport(app=app))
        # Only the caller's credentials: nothing from this process's own config or environment
        # (such as an admin key) may reach a request made for someone else.
        client.settings = ClientSettings(url=INTERNAL_URL, key=key, agent=agent, admin_key=None)
        async with client:
            yield client

    return client_for


SESSION_HEADER = "mcp-session-id"
SHARED_SESSION = "mcp-http"


def news_session(ctx: ServerRequestContext[Any, Any]) -> str:
    """The tool session news is kept for: the client's MCP session if it names one, else
    one shared by the agent's stateless HTTP calls (they carry no session)."""
    request = ctx.request
    named = request.headers.get(SESSION_HEADER, "") if isinstance(request, Request) else ""
    return f"mcp-{named.strip()}"[:200] if named.strip() else SHARED_SESSION


async def run(
    app: ASGIApp,
    settings: Settings,
    *,
    task_status: anyio.abc.TaskStatus[ASGIApp] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled: start a session manager per tool surface and report the ASGI
    app that routes each request to its surface (``?tools=full``; compact by default)."""
    client_for = through(app)
    surfaces: tuple[Surface, ...] = ("compact", "full")
    managers = {
        surface: StreamableHTTPSessionManager(
            build(
                surface,
                client_for,
                max_wait=settings.tool_wait_seconds,
                news_for=news_session,
            ),
            stateless=True,
            security_settings=OPEN,
        )
        for surface in surfaces
    }

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        surface = Request(scope).query_params.get("tools", "compact")
        await managers["full" if surface == "full" else "compact"].handle_request(
            scope, receive, send
        )

    async with AsyncExitStack() as stack:
        for manager in managers.values():
            await stack.enter_async_context(manager.run())
        task_status.started(dispatch)
        await anyio.sleep_forever()
