"""Presence: agents are active while they make requests or heartbeats, and offline once
silent for the presence TTL; agents silent far longer drop out of listings."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from hubbub.core.agents import AgentService
from hubbub.core.models import Agent
from hubbub.core.store import AgentChanges, Store


class PresenceService:
    """Last-seen bookkeeping, heartbeats and the offline sweep."""

    def __init__(
        self, store: Store, agents: AgentService, *, ttl: float, prune_after: float
    ) -> None:
        self._store = store
        self._agents = agents
        self.ttl = ttl
        self.prune_after = prune_after
        self._written: dict[int, float] = {}
        self._active: dict[int, float] = {}

    async def touch(self, agent: Agent, *, force: bool = False) -> Agent:
        """Note that ``agent`` is active; return it as it now stands. Writes at most every
        quarter TTL per agent (unless ``force``), and at once for an agent marked offline."""
        now = time.monotonic()
        self._active[agent.id] = now
        last = self._written.get(agent.id)
        fresh = last is not None and now - last < self.ttl / 4
        if agent.status != "offline" and fresh and not force:
            return agent
        self._written[agent.id] = now
        updated = await self._store.touch_agent(agent.id)
        self._agents.remember(updated)
        return updated

    @property
    def keepalive_seconds(self) -> float:
        """How often an open stream should touch its agent to keep it present."""
        return self.ttl / 4

    async def heartbeat(
        self, agent: Agent, *, status: str | None = None, note: str | None = None
    ) -> Agent:
        """Record activity, and optionally a status and note."""
        self._written[agent.id] = self._active[agent.id] = time.monotonic()
        touched = await self._store.touch_agent(agent.id)
        if status is None and note is None:
            self._agents.remember(touched)
            return touched
        return await self._agents.update(touched, AgentChanges(status=status, status_note=note))

    async def sweep(self) -> list[Agent]:
        """Mark offline every agent silent for longer than the TTL. Stored last-seen times lag
        by up to a quarter TTL (writes are throttled), so agents this process saw recently
        are spared whatever the database says."""
        now = time.monotonic()
        self._active = {a: t for a, t in self._active.items() if now - t < self.ttl}
        cutoff = datetime.now(UTC) - timedelta(seconds=self.ttl)
        expired = await self._store.expire_agents(cutoff, spare=list(self._active))
        for agent in expired:
            self._agents.remember(agent)
        return expired

    def listed_since(self) -> datetime:
        """Agents silent since before this are pruned from listings."""
        return datetime.now(UTC) - timedelta(seconds=self.prune_after)
