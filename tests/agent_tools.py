"""Tool contexts over an in-process hub: the SDK acting as one agent through ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from hubbub.client import AsyncClient
from hubbub.tools import ToolContext, ToolResult, get, invoke
from tests.clients import InProcessHub


@asynccontextmanager
async def sdk(hub: InProcessHub, agent: str) -> AsyncIterator[AsyncClient]:
    """An SDK client acting as ``agent`` on the in-process hub (key of its machine)."""
    key = await hub.key_for(agent.split("-", 1)[0])
    transport = httpx.ASGITransport(app=hub.app, raise_app_exceptions=False)
    async with AsyncClient(
        "http://hub", key, agent, admin_key=hub.admin_key, transport=transport
    ) as client:
        await client.whoami()
        yield client


@asynccontextmanager
async def acting(hub: InProcessHub, agent: str, max_wait: float = 1.0) -> AsyncIterator[Caller]:
    """A tool caller acting as ``agent`` whose waits last at most ``max_wait`` seconds."""
    async with sdk(hub, agent) as client:
        yield Caller(ToolContext(client=client, max_wait=max_wait))


class Caller:
    """Calls tools by name as one agent."""

    def __init__(self, ctx: ToolContext) -> None:
        self.ctx = ctx

    async def __call__(self, name: str, /, **arguments: Any) -> ToolResult:
        return await invoke(get(name), self.ctx, arguments)

    async def ok(self, name: str, /, **arguments: Any) -> dict[str, Any]:
        """The structured result of a call that must succeed."""
        result = await self(name, **arguments)
        assert not result.is_error, result.text
        assert result.structured is not None
        return result.structured
