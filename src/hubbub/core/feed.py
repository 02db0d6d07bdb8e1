"""The live feed: every event an agent may see, replayed from the log after a cursor and then
followed live, with no gap and no duplicate; and bounded waits built on the same bus."""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from hubbub.core import events, names
from hubbub.core.bus import EventBus
from hubbub.core.channels import ChannelService
from hubbub.core.errors import HubbubError, InvalidInput, Unavailable
from hubbub.core.events import StoredEvent
from hubbub.core.models import Agent, Cursors
from hubbub.core.store import Store

T = TypeVar("T")
REPLAY_PAGE = 500
CURSOR_PAGES = 4  # how far back (in replay pages) a cursor looks for the viewer's newest event
EVENT_TYPE = re.compile(r"[a-z]+(\.[a-z]+)*")


class FellBehind(HubbubError):
    """The subscriber fell further behind than its backlog; it must resume from ``cursor``."""

    status = 409
    default_code = "fell_behind"
    title = "Fell behind"

    def __init__(self, cursor: int) -> None:
        super().__init__(f"fell behind the live feed; resume after {cursor}", cursor=cursor)
        self.cursor = cursor


@dataclass(slots=True)
class Scope:
    """What one viewer may see: its own events, its channels' events and public agent news.
    Membership is kept current from the feed itself."""

    viewer: Agent
    member_of: set[int]
    only_channels: frozenset[int] | None = None
    only_types: tuple[str, ...] | None = None
    only_kind: str | None = None
    """Message events only of messages of this kind (other events are not filtered by it)."""
    _left: set[int] = field(default_factory=set)

    def admits(self, event: StoredEvent) -> bool:
        """True if the viewer may and wants to see ``event`` (updates membership)."""
        seen = self._visible(event)
        if (
            event.type == events.CHANNEL_CREATED
            and event.channel_id is not None
            and self.viewer.name in event.payload.get("members", ())
        ):
            self.member_of.add(event.channel_id)
            seen = True
        own_membership = (
            event.type in (events.MEMBER_JOINED, events.MEMBER_LEFT)
            and event.channel_id is not None
            and event.payload.get("agent") == self.viewer.name
        )
        if own_membership and event.channel_id is not None:
            if event.type == events.MEMBER_JOINED:
                self.member_of.add(event.channel_id)
                seen = True
            else:
                self.member_of.discard(event.channel_id)
        if not seen:
            return False
        if not typed(self.only_types, event.type):
            return False
        if (
            self.only_kind is not None
            and event.type.startswith("message.")
            and event.type != events.MESSAGE_READ
            and events.message_kind(event) != self.only_kind
        ):
            return False
        return self.only_channels is None or event.channel_id in self.only_channels

    def _visible(self, event: StoredEvent) -> bool:
        if event.agent_id is not None:
            return event.agent_id == self.viewer.id
        if event.channel_id is not None:
            if event.payload.get("visibility") == "ghost":
                return event.payload.get("agent") == self.viewer.name
            return event.channel_id in self.member_of
        return (
            event.payload.get("visibility", "visible") == "visible"
            or event.payload.get("agent") == self.viewer.name
        )


def typed(only: tuple[str, ...] | None, event_type: str) -> bool:
    """True if ``event_type`` is one of ``only`` or starts with one and a dot (no filter:
    every type)."""
    return only is None or any(
        event_type == kind or event_type.startswith(kind + ".") for kind in only
    )


def _check_types(types: list[str] | None) -> None:
    for kind in types or ():
        if not EVENT_TYPE.fullmatch(kind):
            raise InvalidInput(
                f"bad event type filter {kind!r}: use a type or its first part, "
                "like 'message' or 'inbox.item'",
                code="bad_filter",
            )


@dataclass
class Firehose:
    """Every event of the hub, whoever may see it: the operators' stream (admin
    credentials), optionally narrowed to some types."""

    only_types: tuple[str, ...] | None = None

    def admits(self, event: StoredEvent) -> bool:
        return typed(self.only_types, event.type)


class FeedService:
    """Replay-then-live event streams and bounded waits for agents."""

    def __init__(
        self, store: Store, bus: EventBus | None, channels: ChannelService, *, max_wait: float
    ) -> None:
        self._store = store
        self._bus = bus
        self._channels = channels
        self.max_wait = max_wait
        self._wire: OrderedDict[int, bytes] = OrderedDict()
        self.streams = 0
        """Streams following the feed now (the API's and the dashboard's), for metrics."""

    def _need_bus(self) -> EventBus:
        if self._bus is None:
            raise Unavailable("this hub has no event bus", code="no_bus")
        return self._bus

    async def scope(
        self,
        viewer: Agent,
        *,
        channels: list[str] | None = None,
        types: list[str] | None = None,
        kind: str | None = None,
    ) -> Scope:
        """The viewer's scope, narrowed to readable ``channels`` and ``types`` if given, and
        its message events to messages of ``kind``."""
        names.check_kind(kind)
        only_channels = None
        if channels:
            found = [(await self._channels.open(viewer, name))[0].id for name in channels]
            only_channels = frozenset(found)
        member_of = set(await self._store.member_channel_ids(viewer.id))
        if only_channels is not None:
            member_of |= only_channels
        _check_types(types)
        return Scope(viewer, member_of, only_channels, tuple(types) if types else None, kind)

    def firehose(self, types: list[str] | None = None) -> Firehose:
        """The scope of every event (for admin credentials only), narrowed to ``types``."""
        _check_types(types)
        return Firehose(tuple(types) if types else None)

    async def follow(
        self,
        scope: Scope | Firehose,
        *,
        after: int | None,
        backlog: int = 10_000,
        idle_seconds: float | None = None,
        on_idle: Callable[[], Awaitable[None]] | None = None,
    ) -> AsyncIterator[list[StoredEvent]]:
        """Batches of events the scope admits: first those after ``after`` from the log, then
        live ones as they commit. Ends when the hub shuts down; raises :class:`FellBehind`
        if the consumer cannot keep up. Inbox items passed on count as delivered; after each
        ``idle_seconds``, ``on_idle`` runs (a stream keeps its agent present; an exception
        from it ends the stream)."""
        bus = self._need_bus()
        subscription = bus.subscribe(backlog)
        self.streams += 1
        try:
            newest = await self._store.last_event_seq()
            cursor = newest if after is None else after
            oldest = await self._store.first_event_seq()
            if oldest > cursor + 1:
                yield [self._gap(cursor, oldest - 1, "older events were removed")]
                cursor = oldest - 1
            elif cursor > newest:
                yield [self._gap(cursor, newest, "the cursor is ahead of this hub's log")]
                cursor = newest
            elif after is not None and await self._store.removed_events_after(cursor):
                # Events past the cursor went with removed messages (a channel cleared or
                # deleted): say so, then replay what is left.
                yield [self._gap(cursor, cursor, "events after the cursor were removed")]
            while True:
                page = await self._store.events_after(cursor, REPLAY_PAGE)
                if page:
                    cursor = page[-1].seq
                    admitted = [e for e in page if scope.admits(e)]
                    if admitted:
                        yield admitted
                        await self._delivered(scope, admitted)
                if len(page) < REPLAY_PAGE:
                    break
            loop = asyncio.get_running_loop()
            last_idle = loop.time()
            while True:
                batch = await subscription.next_batch(idle_seconds)
                if subscription.overflowed:
                    raise FellBehind(cursor)
                if not batch and subscription.closed:
                    return
                due = idle_seconds is not None and (
                    not batch or loop.time() - last_idle >= idle_seconds
                )
                if on_idle is not None and due:
                    last_idle = loop.time()
                    await on_idle()
                if not batch:
                    continue
                admitted = [e for e in batch if e.seq > cursor and scope.admits(e)]
                cursor = max(cursor, batch[-1].seq)
                if admitted:
                    yield admitted
                    await self._delivered(scope, admitted)
        finally:
            self.streams -= 1
            subscription.close()

    async def cursor(self, viewer: Agent) -> Cursors:
        """Where a poller starts: the newest event the viewer's stream would carry and the
        newest message it may read. If none of the newest few thousand events is the
        viewer's, the event cursor is the oldest of them less one: nothing after it is
        skipped, since nothing between is for the viewer."""
        scope = Scope(viewer, set(await self._store.member_channel_ids(viewer.id)))
        below = await self._store.last_event_seq() + 1
        event = 0
        for _ in range(CURSOR_PAGES):
            page = await self._store.events_before(below, REPLAY_PAGE)
            if not page:
                break
            # The first admitted is the answer; what admitting it changes in scope is moot.
            event = next((e.seq for e in page if scope.admits(e)), 0)
            if event:
                break
            below = page[-1].seq
            event = below - 1
        message = await self._store.newest_readable_message(viewer.id)
        return Cursors(event=event, message=message)

    @staticmethod
    def _gap(after: int, resumed: int, reason: str) -> StoredEvent:
        """A notice that the stream cannot continue from ``after`` and resumes at ``resumed``."""
        return StoredEvent(
            resumed,
            events.STREAM_GAP,
            {"after": after, "resumed_at": resumed, "reason": reason},
            datetime.now(UTC),
        )

    async def _delivered(self, scope: Scope | Firehose, admitted: list[StoredEvent]) -> None:
        if isinstance(scope, Firehose):  # an operator watching delivers nothing to anyone
            return
        items = [e.payload["item_id"] for e in admitted if e.type == events.INBOX_ITEM]
        if items:
            await self._store.mark_delivered(scope.viewer.id, items)

    def check_wait(self, seconds: float) -> None:
        """Raise unless ``seconds`` is an allowed wait."""
        if not 0 <= seconds <= self.max_wait:
            raise InvalidInput(f"wait must be 0-{self.max_wait:g} seconds", code="bad_wait")

    def wire(self, event: StoredEvent, render: Callable[[StoredEvent], bytes]) -> bytes:
        """The serialised form of ``event``, rendered once however many streams carry it
        (gap notices are per stream, and never cached)."""
        if event.type == events.STREAM_GAP:
            return render(event)
        cached = self._wire.get(event.seq)
        if cached is None:
            cached = self._wire[event.seq] = render(event)
            if len(self._wire) > 4096:
                self._wire.popitem(last=False)
        return cached

    async def wait(
        self,
        seconds: float,
        fetch: Callable[[], Awaitable[T]],
        ready: Callable[[T], bool],
        relevant: Callable[[StoredEvent], bool],
    ) -> T:
        """``fetch()`` now, and again after each relevant event, until ``ready`` or ``seconds``
        pass; then the last result (possibly empty)."""
        self.check_wait(seconds)
        if seconds == 0 or self._bus is None:
            return await fetch()
        subscription = self._bus.subscribe(1000)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        try:
            while True:
                result = await fetch()
                if ready(result):
                    return result
                while True:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        return result
                    batch = await subscription.next_batch(remaining)
                    if subscription.overflowed or any(relevant(e) for e in batch):
                        subscription.overflowed = False
                        break
                    if not batch and subscription.closed:
                        return result
        finally:
            subscription.close()
