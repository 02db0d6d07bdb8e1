"""Agents on a real hub process, for the real-time tests: a key per machine (made with the
admin key), unique names so tests sharing a hub never see each other's channels, bursts."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import anyio
import httpx

from tests.clients import API, AgentClient, Json
from tests.live import LiveHub

T = TypeVar("T")

HTTP_TIMEOUT = httpx.Timeout(30.0)
"""Long enough for a bounded wait; every test still has its own timeout."""


def unique(prefix: str) -> str:
    """``prefix`` plus a random suffix: a fresh agent or channel name."""
    return f"{prefix}-{secrets.token_hex(4)}"


@dataclass
class LiveAgents:
    """Act as agents of a real hub through one HTTP client."""

    hub: LiveHub
    http: httpx.AsyncClient
    keys: dict[str, str] = field(default_factory=dict)

    async def key_for(self, machine: str) -> str:
        """The machine key of ``machine``: the provisioned one for ``lap``, else a new one."""
        if machine not in self.keys:
            config = self.hub.config()
            if machine == config["machine"]:
                self.keys[machine] = config["key"]
            else:
                made = await self.http.post(
                    API + "/admin/keys",
                    json={"machine": machine},
                    headers={"Authorization": f"Bearer {config['admin_key']}"},
                )
                assert made.status_code == 201, made.text
                self.keys[machine] = made.json()["key"]
        return self.keys[machine]

    async def agent(self, prefix: str) -> AgentClient:
        """A new registered agent named ``prefix-<random>``; the machine is the part of
        ``prefix`` before the first hyphen."""
        return await self.agent_named(unique(prefix))

    async def agent_named(self, name: str) -> AgentClient:
        """The agent ``name`` (registered on first use)."""
        client = AgentClient(self.http, name, await self.key_for(name.split("-", 1)[0]))
        await client.ok("GET", "/me")
        return client


@asynccontextmanager
async def live_agents(hub: LiveHub) -> AsyncIterator[LiveAgents]:
    """Agents of ``hub`` over one client, closed on exit."""
    async with httpx.AsyncClient(base_url=hub.url, timeout=HTTP_TIMEOUT) as http:
        yield LiveAgents(hub, http)


async def burst(author: AgentClient, channel: str, count: int, *, prefix: str = "m") -> list[Json]:
    """Post ``count`` messages ``{prefix}0000``… one after another; return them as stored."""
    return [await author.say(channel, f"{prefix}{i:04d}") for i in range(count)]


async def eventually(
    check: Callable[[], Awaitable[T | None]], within: float = 10.0, interval: float = 0.02
) -> T:
    """Poll ``check()`` until it returns something other than ``None``; return that."""
    with anyio.fail_after(within):
        while True:
            found = await check()
            if found is not None:
                return found
            await anyio.sleep(interval)  # polling interval, not a wait for time to pass
