"""The runner's presence on the hub: ``busy`` with a note naming what it is doing, ``idle``
between runs. Changes are written in order by one task that always sends the latest state,
so a burst of runs costs a write or two and a slow hub never holds a run back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from hubbub.core.errors import HubbubError

if TYPE_CHECKING:
    from hubbub.client import AsyncClient

NOTE_LIMIT = 200  # characters of a status note the hub keeps
log = logging.getLogger("hubbub.runner")


def note_for(doing: list[str]) -> str:
    """One status note for the runs under way."""
    if not doing:
        return ""
    note = doing[0] if len(doing) == 1 else f"{len(doing)} runs: " + "; ".join(doing)
    return note if len(note) <= NOTE_LIMIT else note[: NOTE_LIMIT - 1] + "…"


class Presence:
    """What the runner is doing, reported to the hub."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client
        self._doing: dict[int, str] = {}
        self._changed = asyncio.Event()
        self._sent: tuple[str, str] | None = None
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin reporting (idle, until a run starts)."""
        self._writer = asyncio.create_task(self._write())
        self._changed.set()

    def begin(self, key: int, what: str) -> None:
        """A run for inbox item ``key`` started."""
        self._doing[key] = what
        self._changed.set()

    def end(self, key: int) -> None:
        """That run ended."""
        if self._doing.pop(key, None) is not None:
            self._changed.set()

    def wanted(self) -> tuple[str, str]:
        """The status and note the hub should show now."""
        doing = list(self._doing.values())
        return ("busy", note_for(doing)) if doing else ("idle", "")

    async def _write(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            wanted = self.wanted()
            if wanted == self._sent:
                continue
            try:
                await self._client.update_me(status=wanted[0], status_note=wanted[1])
                self._sent = wanted
            except HubbubError as error:  # presence is best effort: the work goes on
                log.warning("could not set the status to %s: %s", wanted[0], error)
                await asyncio.sleep(2)
                self._changed.set()

    async def stop(self) -> None:
        """Stop reporting; say ``idle`` once more if the hub can be reached at once."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
        self._doing.clear()
        with contextlib.suppress(HubbubError, TimeoutError):
            await asyncio.wait_for(self._client.update_me(status="idle", status_note=""), 5)
