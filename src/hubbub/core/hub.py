"""The hub: every service wired over one store. Adapters hold one of these."""

from __future__ import annotations

from hubbub.core.agents import AgentService
from hubbub.core.bus import EventBus
from hubbub.core.channels import ChannelService
from hubbub.core.feed import FeedService
from hubbub.core.inbox import InboxService
from hubbub.core.keys import KeyService
from hubbub.core.limits import Limits
from hubbub.core.messages import MessageService
from hubbub.core.presence import PresenceService
from hubbub.core.search import SearchService
from hubbub.core.store import Store


class Hub:
    """The domain core as one object."""

    def __init__(
        self,
        store: Store,
        limits: Limits | None = None,
        *,
        bus: EventBus | None = None,
        cache_seconds: float = 5.0,
    ) -> None:
        self.store = store
        self.bus = bus
        self.limits = limits or Limits()
        self.keys = KeyService(store, cache_seconds=cache_seconds)
        self.agents = AgentService(store, self.limits, cache_seconds=cache_seconds)
        self.channels = ChannelService(store, self.limits, cache_seconds=cache_seconds)
        self.feed = FeedService(store, bus, self.channels, max_wait=self.limits.max_wait_seconds)
        self.messages = MessageService(store, self.limits, self.channels, self.feed)
        self.inbox = InboxService(store, self.limits, self.channels, self.feed)
        self.search = SearchService(store, self.channels)
        self.presence = PresenceService(
            store,
            self.agents,
            ttl=self.limits.presence_ttl_seconds,
            prune_after=self.limits.prune_after_seconds,
        )

    async def open(self) -> None:
        """Open the store (and migrate it); committed events flow to the bus, if any (offline
        tools such as seeding or import run without one)."""
        await self.store.open(None if self.bus is None else self.bus.publish)

    async def close(self) -> None:
        """End every subscription, then flush and close the store."""
        if self.bus is not None:
            self.bus.close()
        await self.store.close()
