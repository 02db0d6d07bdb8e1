"""The hub: every service wired over one store. Adapters hold one of these."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from hubbub import __version__
from hubbub.core import machines
from hubbub.core.a2a_remotes import A2ARemoteService, policy_from
from hubbub.core.a2a_tasks import A2AService
from hubbub.core.agents import AgentService
from hubbub.core.bus import EventBus
from hubbub.core.channels import ChannelService
from hubbub.core.errors import Unavailable
from hubbub.core.events import StoredEvent
from hubbub.core.feed import FeedService
from hubbub.core.files import FileService
from hubbub.core.hooks import HookService
from hubbub.core.inbox import InboxService
from hubbub.core.integrations import IntegrationService
from hubbub.core.keys import KeyService
from hubbub.core.limits import Limits
from hubbub.core.messages import MessageService
from hubbub.core.models import HubStats
from hubbub.core.notices import NoticeService
from hubbub.core.outbound import OutboundPolicy
from hubbub.core.pairs import PairService
from hubbub.core.presence import PresenceService
from hubbub.core.readiness import ReadinessService
from hubbub.core.retention import RetentionService
from hubbub.core.search import SearchService
from hubbub.core.sessions import SessionPolicy, SessionService
from hubbub.core.store import Store
from hubbub.core.tasks import TaskService
from hubbub.core.telemetry import EventCounts
from hubbub.core.users import UserService
from hubbub.core.webhooks import WebhookPolicy, WebhookService

log = logging.getLogger("hubbub")
LEASE_SWEEP_SECONDS = 0.5  # how late, at most, a lease that ran out is swept


class Hub:
    """The domain core as one object."""

    def __init__(
        self,
        store: Store,
        limits: Limits | None = None,
        *,
        bus: EventBus | None = None,
        cache_seconds: float = 5.0,
        webhooks: WebhookPolicy | None = None,
        outbound: OutboundPolicy | None = None,
        sessions: SessionPolicy | None = None,
    ) -> None:
        self.store = store
        self.bus = bus
        self.started_at = datetime.now(UTC)
        self.events_written = EventCounts()
        self.limits = limits or Limits()
        self.keys = KeyService(store, cache_seconds=cache_seconds)
        self.users = UserService(store)
        self.sessions = SessionService(store, self.users, sessions)
        self.channels = ChannelService(store, self.limits, cache_seconds=cache_seconds)
        self.agents = AgentService(
            store,
            self.limits,
            cache_seconds=cache_seconds,
            machine_names=self.keys.machines,
            channels=self.channels,
        )
        self.feed = FeedService(store, bus, self.channels, max_wait=self.limits.max_wait_seconds)
        self.messages = MessageService(store, self.limits, self.channels, self.feed)
        self.pairs = PairService(store, self.limits, self.channels, self.messages)
        self.inbox = InboxService(store, self.limits, self.channels, self.feed)
        self.search = SearchService(store, self.channels)
        # Where webhooks and task callbacks may go (public addresses only, by default).
        self.outbound = outbound or OutboundPolicy()
        self.tasks = TaskService(store, self.limits, self.channels, self.feed, self.outbound)
        self.presence = PresenceService(
            store,
            self.agents,
            ttl=self.limits.presence_ttl_seconds,
            prune_after=self.limits.prune_after_seconds,
        )
        self.integrations = IntegrationService(
            store, self.limits, self.keys, self.tasks, self.outbound
        )
        self.notices = NoticeService(store, self.feed)
        self.hooks = HookService(store, self.notices, self.presence)
        self.webhooks = WebhookService(store, bus, webhooks)
        self.readiness = ReadinessService(store)
        self.retention = RetentionService(store, self.limits)
        self.files = FileService(store, self.limits, self.channels, self.messages, self.sessions)
        # Remote A2A agents, forwarded to with the webhooks' retry rules.
        self.a2a_remotes = A2ARemoteService(
            store,
            bus,
            self.messages,
            self.tasks,
            self.files,
            self.outbound,
            self.limits,
            policy_from(self.webhooks.policy),
        )
        self.a2a = A2AService(store, self.messages, self.tasks, self.channels, bus, self.outbound)

    async def maintain(self, stop: asyncio.Event) -> None:
        """Until ``stop``: mark silent agents offline and record unanswered pair invites as
        expired every quarter presence TTL (at most every 5 s), drop events older than the
        retention period, forget hook and tool sessions unused for a day, drop expired
        files and free the blobs let go, and remove messages and tasks past their retention
        about once a minute, and expire task leases that ran out (checked every half
        second)."""
        interval = min(self.presence.ttl / 4, 5.0)
        loop = asyncio.get_running_loop()
        last_prune = loop.time()  # the minute's work first runs a minute after start
        leases = asyncio.create_task(self._sweep_leases(stop), name="lease sweep")
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
            if stop.is_set():
                break
            try:
                await self.presence.sweep()
                await self.pairs.sweep()
                days = self.limits.event_retention_days
                if loop.time() - last_prune >= 60:
                    last_prune = loop.time()
                    if days > 0:
                        await self.store.prune_events(datetime.now(UTC) - timedelta(days=days))
                    await self.notices.forget()
                    await self.files.sweep()
                    await self.retention.prune()
            except Unavailable as error:  # the database's trouble, said once a round
                log.warning("maintenance skipped: %s", error)
            except Exception:  # the next round may succeed; the hub keeps serving
                log.exception("maintenance failed")
        await leases

    async def _sweep_leases(self, stop: asyncio.Event) -> None:
        """Until ``stop``: return tasks whose lease ran out to open (or fail them)."""
        said = ""  # the database's trouble, said when it starts or changes, not twice a second
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), LEASE_SWEEP_SECONDS)
            if stop.is_set():
                return
            try:
                await self.tasks.sweep()
                said = ""
            except Unavailable as error:
                if str(error) != said:
                    said = str(error)
                    log.warning("lease sweeps skipped: %s", error)
            except Exception:  # the next round may succeed
                log.exception("lease sweep failed")

    def end_streams(self) -> None:
        """End every live stream and wait now (the first step of a graceful shutdown)."""
        if self.bus is not None:
            self.bus.close()

    async def open(self) -> None:
        """Open the store (and migrate it); committed events flow to the bus, if any (offline
        tools such as seeding or import run without one)."""
        await self.store.open(None if self.bus is None else self._publish)
        if self.bus is not None:
            await self.bus.start(self.store)
        # Agents one machine registered in another's namespace, before the hub refused that,
        # are unusable: say so once, for the operator (the hub serves on regardless).
        misplaced = await machines.scan(self.store)
        if misplaced:
            log.warning("%s", machines.warning(misplaced))

    def _publish(self, committed: list[StoredEvent]) -> None:
        """Count the events this process committed, then hand them to the bus."""
        self.events_written.count([event.type for event in committed])
        assert self.bus is not None
        self.bus.publish(committed)

    async def stats(self) -> HubStats:
        """The hub at a glance: what its database holds, and this process's version and age."""
        counts = await self.store.counts()
        now = datetime.now(UTC)
        return HubStats(
            **dict(counts),
            version=__version__,
            started_at=self.started_at,
            uptime_seconds=round((now - self.started_at).total_seconds(), 3),
        )

    async def close(self) -> None:
        """End every subscription, then flush and close the store."""
        if self.bus is not None:
            await self.bus.stop()
        await self.store.close()
