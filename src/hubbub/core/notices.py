"""What each session acting as an agent has been told of its inbox.

A session is a harness's (``claude``, ``codex``…) session id from its hook input, or a tool
surface's session (an MCP session, a stdio process, an executor). Each inbox item is told to
a session once: the hub keeps, per (agent, surface, session), the id up to which every item
was told, and moves it only from where the caller read it, so two calls of one session never
tell the same item twice. Sessions unused for a day are forgotten.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from hubbub.core import events
from hubbub.core.errors import InvalidInput
from hubbub.core.feed import FeedService
from hubbub.core.models import Agent, InboxItem, News
from hubbub.core.store import SessionNews, Store
from hubbub.core.values import nul_at
from hubbub.tools.framing import channel_label

FORGET_AFTER = timedelta(days=1)
# A session's last use is written at most this often when nothing new is told to it.
USE_REFRESH = timedelta(hours=1)
MAX_ITEMS = 50  # items told at once; the rest follow on the next call
MAX_SESSION = 200
TOOLS = "tools"
"""The surface of tool sessions (MCP sessions, stdio processes, executors); the others are
the harnesses whose hooks the hub answers."""


def check_session(session: str | None) -> str:
    """The session id, or ``InvalidInput`` when it is missing, too long or holds NUL."""
    if session is None or not session.strip():
        raise InvalidInput(
            "the hook input has no session id (session_id): nothing to remember what was told",
            code="session_required",
        )
    if len(session) > MAX_SESSION or nul_at(session) is not None:
        raise InvalidInput(
            f"the session id must be at most {MAX_SESSION} characters, without NUL",
            code="invalid",
        )
    return session


class NoticeService:
    """Which inbox items are new to a session, telling them once, and forgetting sessions."""

    def __init__(self, store: Store, feed: FeedService) -> None:
        self._store = store
        self._feed = feed

    async def pending(self, agent: Agent, surface: str, session: str) -> SessionNews:
        """What the session has not been told yet (up to :data:`MAX_ITEMS` items)."""
        return await self._store.session_news(agent.id, surface, session, MAX_ITEMS)

    async def tell(
        self, agent: Agent, surface: str, session: str, news: SessionNews, upto: int | None = None
    ) -> list[InboxItem]:
        """Mark ``news``'s items (and anything up to ``upto``) told; the items this call told,
        none if another call of the session told them first."""
        target = max([news.seen, upto or 0, *(item.id for item in news.items)])
        if target <= news.seen:
            await self._keep(agent, surface, session, news)
            return []
        if not await self._store.mark_told(agent.id, surface, session, news.seen, target):
            return []
        return [item for item in news.items if item.id <= target]

    async def take(self, agent: Agent, surface: str, session: str) -> list[InboxItem]:
        """The items new to the session, marked told."""
        return await self.tell(agent, surface, session, await self.pending(agent, surface, session))

    async def seen(self, agent: Agent, surface: str, session: str, upto: int) -> None:
        """The session was shown the inbox up to ``upto`` (by a tool that shows it)."""
        news = await self.pending(agent, surface, session)
        target = max(news.seen, upto)
        if target > news.seen:
            await self._store.mark_told(agent.id, surface, session, news.seen, target)
        else:
            await self._keep(agent, surface, session, news)

    async def wait(
        self,
        agent: Agent,
        surface: str,
        session: str,
        seconds: float,
        wakes: Callable[[InboxItem], bool],
        listening: Callable[[], Awaitable[bool]] | None = None,
    ) -> list[InboxItem]:
        """Up to ``seconds``, until the session has an untold item that ``wakes`` it; then
        every untold item, marked told (none if the wait ran out). ``listening`` says whether
        the waiter is still there to be told: an item is never marked told to a waiter that
        has gone (a harness ends its waiters), so the session's next waiter gets it."""

        async def fetch() -> SessionNews:
            return await self.pending(agent, surface, session)

        news = await self._feed.wait(
            seconds,
            fetch,
            lambda found: any(wakes(item) for item in found.items),
            lambda e: e.type == events.INBOX_ITEM and e.agent_id == agent.id,
        )
        if not any(wakes(item) for item in news.items):
            await self._keep(agent, surface, session, news)
            return []
        if listening is not None and not await listening():
            return []
        return await self.tell(agent, surface, session, news)

    async def news(self, agent: Agent, session: str, shown_upto: int | None = None) -> News:
        """For a tool session: the items new to it as one line, told; or, with
        ``shown_upto``, note that a tool showed it the inbox up to that id."""
        session = check_session(session)
        if shown_upto is not None:
            await self.seen(agent, TOOLS, session, shown_upto)
            return News(count=0)
        told = await self.take(agent, TOOLS, session)
        return News(line=line(told) if told else None, count=len(told))

    async def forget(self) -> int:
        """Forget the sessions unused for :data:`FORGET_AFTER`; how many."""
        return await self._store.forget_sessions(datetime.now(UTC) - FORGET_AFTER)

    async def _keep(self, agent: Agent, surface: str, session: str, news: SessionNews) -> None:
        """Note a known session's use, at most every :data:`USE_REFRESH`."""
        if news.used_at is not None and datetime.now(UTC) - news.used_at >= USE_REFRESH:
            await self._store.session_used(agent.id, surface, session)


def describe(item: InboxItem) -> str:
    """Why an item came, with its server-stamped sender: ``DM from lap-api``."""
    sender = item.message.author
    channel = item.message.channel
    if item.kind == "dm":
        return f"DM from {sender}"
    if item.kind == "mention":
        return f"mention in {channel_label(channel)} by {sender}"
    if item.kind == "task":
        return f"task offer from {sender}"
    if item.kind == "broadcast":
        return f"broadcast from {sender}"
    return f"message sent to you by {sender}"


def line(items: list[InboxItem], shown: int = 3) -> str:
    """The items as one short line: ``2 new: DM from lap-api, mention in #ops — hubbub_inbox``."""
    parts = [describe(item) for item in items[:shown]]
    if len(items) > shown:
        parts.append(f"{len(items) - shown} more")
    return f"{len(items)} new: {', '.join(parts)} — hubbub_inbox"
