"""Seeding a channel through the real core and store, so the FTS index, the channel's
counters and every other index are exactly what posting over HTTP would leave."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hubbub.core.hub import Hub
from hubbub.store import open_store

CHUNK = 500


@dataclass(frozen=True, slots=True)
class Seeded:
    """How the seeding went (not a measured target: it runs at synchronous=NORMAL)."""

    messages: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


async def _seed(db: Path | str, texts: Sequence[str], channel: str) -> Seeded:
    hub = Hub(open_store(str(db), synchronous="NORMAL"))
    await hub.open()
    try:
        key = await hub.keys.create("machine", "bench", None)
        agent = await hub.agents.act_as(await hub.keys.verify(key.key), "bench-seed")
        started = time.perf_counter()
        await hub.messages.post(agent, channel, texts[0])  # creates the channel once
        for start in range(1, len(texts), CHUNK):
            # Concurrent posts coalesce into one group-commit transaction per chunk.
            await asyncio.gather(
                *(hub.messages.post(agent, channel, t) for t in texts[start : start + CHUNK])
            )
        return Seeded(len(texts), time.perf_counter() - started)
    finally:
        await hub.close()


def seed(db: Path | str, texts: Sequence[str], channel: str = "general") -> Seeded:
    """Post every text in ``channel`` of a new hub database at ``db`` (a SQLite file or a
    PostgreSQL URL)."""
    return asyncio.run(_seed(db, texts, channel))
