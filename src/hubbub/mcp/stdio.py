"""``hubbub mcp``: the MCP server on stdin/stdout for clients that spawn it (Claude Code,
Codex, Cursor, Gemini, OpenCode). It acts as one agent through the SDK (hub, key and agent
from the client config, the environment or ``--agent``; its profile from ``HUBBUB_PROFILE``
and the like, applied at start), declares Claude Code's
``claude/channel`` capability and, once the client is initialized, pushes each new inbox item
as a channel event. stdout carries only the protocol; logs go to stderr."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import anyio
import mcp_types as types
from mcp.server import ServerRequestContext
from mcp.server.session import ServerSession
from mcp.server.stdio import stdio_server

from hubbub.client import AsyncClient, ClientSettings
from hubbub.core.errors import Unavailable
from hubbub.mcp import channel
from hubbub.mcp.server import build
from hubbub.tools import Surface
from hubbub.tools.news import new_session

log = logging.getLogger("hubbub.mcp")


def notifier(session: ServerSession) -> channel.Notify:
    """Channel events sent on the session's connection (not tied to any request)."""

    async def notify(content: str, meta: dict[str, str]) -> None:
        note = channel.ChannelNotification(params={"content": content, "meta": meta})
        # The SDK types the notifications the protocol defines; a vendor one goes out the same.
        await session.send_notification(cast(types.ServerNotification, note))

    return notify


async def serve(surface: Surface, settings: ClientSettings, max_wait: float) -> None:
    """Serve until stdin closes; ``hubbub_wait`` blocks at most ``max_wait`` seconds. The
    agent's profile, if one is set, is applied first (one request)."""
    client = AsyncClient(settings.url, settings.key, settings.agent, profile=settings.profile)

    @asynccontextmanager
    async def shared(ctx: ServerRequestContext[Any, Any]) -> AsyncIterator[AsyncClient]:
        yield client

    async with client, anyio.create_task_group() as background:
        try:
            await client.apply_profile()
        except Unavailable as error:  # the hub may start later; the first tool call brings it
            log.warning("profile not applied yet: %s", error.detail)
        pushing = False

        def start_push(session: ServerSession) -> None:
            nonlocal pushing
            if not pushing:  # a repeated 'initialized' must not start a second push
                pushing = True
                background.start_soon(channel.push, client, notifier(session))

        session = new_session("stdio")  # this process is the tool session news is kept for
        server = build(
            surface,
            shared,
            max_wait=max_wait,
            channel=True,
            on_initialized=start_push,
            news_for=lambda ctx: session,
        )
        options = server.create_initialization_options(
            experimental_capabilities={channel.CAPABILITY: {}}
        )
        async with stdio_server() as (read, write):
            await server.run(read, write, options)
        background.cancel_scope.cancel()


def main(surface: Surface, settings: ClientSettings, max_wait: float) -> None:
    """Run the stdio server with logging on stderr."""
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="hubbub mcp: %(levelname)s %(message)s"
    )
    anyio.run(serve, surface, settings, max_wait)
