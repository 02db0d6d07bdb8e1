"""The bus for hub processes sharing one PostgreSQL database: every process follows the event
log, woken by ``LISTEN``/``NOTIFY``, and fans out to its own subscribers with a LocalBus.

Each write transaction that appends events sends ``NOTIFY hubbub_events`` with its last
``seq`` (see ``store/postgres/engine.py``); PostgreSQL delivers it only once that transaction
commits. A notice carries nothing but the number: the events themselves are read from the log,
so they have no size limit and always arrive whole. There is one path for every event,
whichever process committed it: the log, read after the last ``seq`` this process published,
in ``seq`` order. Since the store makes commit order equal ``seq`` order, reading "after N"
never skips an event that commits later. The one shortcut: a commit of this process's own
store whose first event follows the last published one directly is published as it comes
(before its writers are answered, as on SQLite), since nothing can lie between; any other
wakes the reader at once, without waiting for its notice to come back.

If the listening connection is lost (the server restarted, the network failed), the bus
reconnects with a growing delay, ``LISTEN``s again and then reads the log from where it was:
the events committed meanwhile are published late, never lost and never twice. A quiet
connection is checked every ``heartbeat`` seconds, which also reads the log once, in case a
notice was missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from hubbub.bus.local import LocalBus
from hubbub.core.events import StoredEvent
from hubbub.core.store import Store

CHANNEL = "hubbub_events"
PAGE = 1000

log = logging.getLogger("hubbub.bus")


class PostgresBus(LocalBus):
    """A LocalBus fed, in ``seq`` order, from the PostgreSQL event log."""

    def __init__(
        self,
        conninfo: str,
        *,
        heartbeat: float = 5.0,
        min_delay: float = 0.05,
        max_delay: float = 2.0,
    ) -> None:
        super().__init__()
        parts = conninfo_to_dict(conninfo)
        parts.setdefault("connect_timeout", "10")
        parts.setdefault("application_name", "hubbub-bus")
        self._conninfo = make_conninfo("", **parts)
        self._heartbeat = heartbeat
        self._min_delay = min_delay
        self._max_delay = max_delay
        self._store: Store | None = None
        self._wanted = 0
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._poll = False
        self.connected = False
        self.reconnects = 0

    async def start(self, store: Store) -> None:
        """Follow ``store``'s log from its newest event: listen, then read as woken."""
        self._store = store
        self._last_seq = self._wanted = await store.last_event_seq()
        listening = asyncio.get_running_loop().create_future()
        self._tasks = [
            asyncio.create_task(self._tail(), name="hubbub-bus-tail"),
            asyncio.create_task(self._listen(listening), name="hubbub-bus-listen"),
        ]
        # Serve once listening, so a notice for a commit from another process is not missed;
        # if the server is away, go on: the listener keeps trying and catches up later.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(listening), 10)

    def publish(self, events: Sequence[StoredEvent]) -> None:
        """The store of this process committed ``events`` (before answering their writers).
        If they follow the last published event directly, no other commit can come between:
        publish them now. Otherwise read the log up to them, in order."""
        if not events:
            return
        if events[0].seq == self._last_seq + 1:
            LocalBus.publish(self, events)
        else:
            self._want(events[-1].seq)

    def _want(self, seq: int | None) -> None:
        """Read the log up to ``seq`` (``None``: whatever is there)."""
        if seq is not None:
            self._wanted = max(self._wanted, seq)
        self._poll = self._poll or seq is None or self._wanted > self._last_seq
        self._wake.set()

    async def _tail(self) -> None:
        """Publish the log after the last published ``seq``, in order, whenever woken."""
        delay = self._min_delay
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._poll:
                continue
            self._poll = False
            try:
                await self._read()
                delay = self._min_delay
            except Exception as error:  # the database is away: try again shortly
                log.warning("reading the event log failed: %s", error)
                self._poll = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_delay)
                self._wake.set()

    async def _read(self) -> None:
        assert self._store is not None
        while True:
            page = await self._store.events_after(self._last_seq, PAGE)
            # This process's own commits may have been published while the page was read.
            fresh = [event for event in page if event.seq > self._last_seq]
            if fresh:
                LocalBus.publish(self, fresh)
            if len(page) < PAGE:
                return

    async def _listen(self, listening: asyncio.Future[None]) -> None:
        """Hold a ``LISTEN`` connection; reconnect with backoff, then catch up from the log."""
        delay = self._min_delay
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.connected = True
                    delay = self._min_delay
                    if not listening.done():
                        listening.set_result(None)
                    self._want(None)  # what committed while nobody listened
                    while True:
                        async for notice in conn.notifies(timeout=self._heartbeat):
                            self._want(int(notice.payload) if notice.payload.isdigit() else None)
                        await conn.execute("SELECT 1")  # a dead connection fails here
                        self._want(None)
            except Exception as error:  # lost, refused, timed out: try again
                if self.connected:
                    log.warning("lost the event notifications connection: %s", error)
                self.connected = False
                self.reconnects += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_delay)

    def close(self) -> None:
        """End every subscription and stop following the log."""
        super().close()
        for task in self._tasks:
            task.cancel()

    async def stop(self) -> None:
        """Close, and wait for the listener and the reader to finish."""
        self.close()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
