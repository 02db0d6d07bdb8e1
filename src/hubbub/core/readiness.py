"""Readiness: whether this hub process can serve. Liveness (``/api/v1/health``) says only
that the process answers; readiness says that its database answers at this build's schema
and that its writer can still commit — the writer is the one part whose failure every write
feels, and which a load balancer should route around."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from hubbub.core.errors import HubbubError
from hubbub.core.models import Check, Readiness
from hubbub.core.store import Store

PROBE_SECONDS = 5.0  # a writer that cannot commit within this is not ready


class ReadinessService:
    """Checks the database and the writer. Concurrent checks share one probe, so however many
    callers poll at once, the writer commits one probe at a time; a check never answers from
    an older probe, so a recovery shows at the next one."""

    def __init__(self, store: Store, *, timeout: float = PROBE_SECONDS) -> None:
        self._store = store
        self._timeout = timeout
        self._running: asyncio.Future[Readiness] | None = None

    async def check(self) -> Readiness:
        """The database read at this build's schema, then a real write committed."""
        if self._running is None:
            self._running = asyncio.ensure_future(self._probe())
            self._running.add_done_callback(self._finished)
        return await asyncio.shield(self._running)

    def _finished(self, _: asyncio.Future[Readiness]) -> None:
        self._running = None

    async def _probe(self) -> Readiness:
        checks = [
            await self._check("database", self._store.schema_version()),
            await self._check("writer", self._store.probe()),
        ]
        return Readiness(ready=all(c.ok for c in checks), checks=checks)

    async def _check(self, name: str, step: Awaitable[object]) -> Check:
        try:
            await asyncio.wait_for(step, self._timeout)
        except TimeoutError:
            return Check(name=name, ok=False, detail=f"no answer within {self._timeout:g} s")
        except HubbubError as error:
            return Check(name=name, ok=False, detail=f"{error.code}: {error.detail}")
        return Check(name=name, ok=True, detail="ok")
