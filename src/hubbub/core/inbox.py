"""The inbox and read state: what is addressed to an agent, and what it has seen."""

from __future__ import annotations

from collections.abc import Sequence

from hubbub.core import events, names
from hubbub.core.channels import ChannelService
from hubbub.core.errors import InvalidInput
from hubbub.core.feed import FeedService
from hubbub.core.limits import Limits
from hubbub.core.models import AckResult, Agent, Board, Inbox, ReadCursor
from hubbub.core.store import Store

BOARD_INBOX_ITEMS = 10
BOARD_ROSTER = 8
"""Members the board lists per channel (the rest are counted)."""


class InboxService:
    """Peek and ack the inbox, move read cursors, and assemble the board."""

    def __init__(
        self, store: Store, limits: Limits, channels: ChannelService, feed: FeedService
    ) -> None:
        self._store = store
        self._limits = limits
        self._channels = channels
        self._feed = feed

    async def peek(
        self,
        agent: Agent,
        *,
        after: int = 0,
        limit: int = 50,
        include_acked: bool = False,
        wait: float = 0,
    ) -> Inbox:
        """Items after the cursor, oldest first; with ``wait`` seconds, an empty answer waits
        for the next item. Peeking never consumes, but tells senders their item arrived."""
        if not 1 <= limit <= self._limits.max_page:
            raise InvalidInput(f"limit must be 1-{self._limits.max_page}")
        if after < 0:
            raise InvalidInput("after must be 0 or more")

        async def fetch() -> Inbox:
            items, unacked = await self._store.inbox(
                agent.id, after=after, limit=limit, include_acked=include_acked
            )
            cursor = items[-1].id if items else after
            return Inbox(items=items, unacked=unacked, cursor=cursor)

        inbox = await self._feed.wait(
            wait,
            fetch,
            lambda found: bool(found.items),
            lambda e: e.type == events.INBOX_ITEM and e.agent_id == agent.id,
        )
        fresh = [item.id for item in inbox.items if item.delivered_at is None]
        if not fresh:
            return inbox
        # This answer is the delivery: show the time it records.
        when = await self._store.mark_delivered(agent.id, fresh)
        items = [
            item.model_copy(update={"delivered_at": when}) if item.delivered_at is None else item
            for item in inbox.items
        ]
        return inbox.model_copy(update={"items": items})

    async def ack(
        self, agent: Agent, *, ids: Sequence[int] = (), up_to: int | None = None
    ) -> AckResult:
        """Acknowledge items by id, or every item up to and including ``up_to``.

        Acking is idempotent; ids that are not this agent's are ignored.
        """
        if not ids and up_to is None:
            raise InvalidInput("give ids to ack, or up_to", code="invalid")
        if len(ids) > self._limits.max_page:
            raise InvalidInput(f"at most {self._limits.max_page} ids per ack")
        return await self._store.ack(agent.id, ids, up_to)

    async def mark_read(self, agent: Agent, channel_name: str, seq: int) -> ReadCursor:
        """Move the agent's read cursor in a channel forward to ``seq`` (never back)."""
        if seq < 0:
            raise InvalidInput("seq must be 0 or more")
        channel, member = await self._channels.open(agent, channel_name)
        if not member:
            await self._store.add_member(channel.id, agent.id)
        stored = await self._store.set_read_cursor(
            agent.id, channel.id, seq, self._limits.read_events_max_members
        )
        return ReadCursor(channel=channel.name, seq=stored)

    async def board(self, agent: Agent) -> Board:
        """Unread counts for every channel the agent is in, and the head of its inbox."""
        rosters = await self._store.channel_rosters(agent.id, BOARD_ROSTER)
        summaries = []
        for line in await self._store.channel_summaries(agent.id):
            roster, more = rosters.get(line.channel, ([], 0))
            shown = names.dm_peer(line.channel, agent.name) if line.kind == "dm" else line.channel
            change = {"channel": shown, "roster": roster, "roster_more": more}
            summaries.append(line.model_copy(update=change))
        inbox = await self.peek(agent, limit=BOARD_INBOX_ITEMS)
        return Board(me=agent, channels=summaries, inbox=inbox)
