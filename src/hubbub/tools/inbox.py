"""Tools for what is addressed to the agent: the board, the inbox, acks and the bounded wait."""

from __future__ import annotations

from pydantic import Field

from hubbub.core.models import Member
from hubbub.tools.framing import neutralize
from hubbub.tools.registry import WAIT_LIMIT_TEXT, Tool, ToolContext
from hubbub.tools.views import Empty, ItemView, MessageView, View, render_messages

BOARD_CHANNELS = 20
STATUS_CHARS = 40  # of a teammate's status on the board
BOARD_TEAMS = 10  # channels whose members the board lists


class Unread(View):
    """A channel with unread messages."""

    channel: str = Field(description="#channel, or @agent for a DM")
    unread: int
    read_up_to: int


class Team(View):
    """Who is in one of your channels and what they are doing."""

    channel: str = Field(description="#channel")
    members: list[str] = Field(description="`name (status: what it does there)`, by name")
    more: int = Field(default=0, description="members not listed")


class BoardOut(View):
    """What needs attention: unread channels and the head of the inbox."""

    me: str
    status: str
    unread: list[Unread]
    team: list[Team] = Field(default_factory=list, description="your channels' members")
    unacked: int = Field(description="inbox items not yet acknowledged")
    items: list[ItemView]
    cursor: int = Field(description="inbox cursor: pass as `after` to hubbub_inbox or wait")


async def board(ctx: ToolContext, args: Empty) -> BoardOut:
    found = await ctx.client.board()
    unread = [
        Unread(
            channel=s.channel if s.kind != "channel" else f"#{s.channel}",
            unread=s.unread,
            read_up_to=s.read_cursor,
        )
        for s in found.channels
        if s.unread
    ]
    unread.sort(key=lambda line: -line.unread)
    team = [
        Team(
            channel=f"#{s.channel}",
            members=[_teammate(m) for m in s.roster],
            more=s.roster_more,
        )
        for s in found.channels
        if s.roster and s.kind != "dm"
    ]
    return BoardOut(
        me=found.me.name,
        status=found.me.status,
        unread=unread[:BOARD_CHANNELS],
        team=team[:BOARD_TEAMS],
        unacked=found.inbox.unacked,
        items=[ItemView.of_item(item) for item in found.inbox.items],
        cursor=found.inbox.cursor,
    )


def _teammate(member: Member) -> str:
    """``name (status: what it does in the channel, else its note)``, its words neutralized
    and cut short."""
    doing = member.channel_status or member.note
    said = f": {neutralize(doing[:STATUS_CHARS])}" if doing else ""
    return f"{member.name} ({member.status}{said})"


def render_items(items: list[ItemView]) -> str:
    """Inbox items, each a line naming the item and why it came, then its message."""
    return "\n".join(
        f"[item {entry.item}: {entry.kind}{', acked' if entry.acked else ''}]\n{entry.text}"
        for entry in items
    )


def render_board(out: BoardOut) -> str:
    lines = [f"you are @{out.me} ({out.status})"]
    if out.unread:
        counts = ", ".join(f"{line.channel} {line.unread}" for line in out.unread)
        lines.append(f"unread: {counts}")
    else:
        lines.append("no unread channels")
    for line in out.team:
        more = f", +{line.more} more" if line.more else ""
        lines.append(f"{line.channel}: {', '.join(line.members)}{more}")
    lines.append(f"inbox: {out.unacked} unacked; cursor {out.cursor}")
    if out.items:
        lines.append(render_items(out.items))
    return "\n".join(lines)


class InboxIn(View):
    """Arguments of hubbub_inbox."""

    after: int = Field(default=0, ge=0, description="inbox cursor: only items after it")
    limit: int = Field(default=20, ge=1, le=100)
    include_acked: bool = Field(default=False, description="also show acknowledged items")


class InboxOut(View):
    """A page of the inbox."""

    items: list[ItemView]
    unacked: int
    cursor: int = Field(description="pass as `after` next time")


async def inbox(ctx: ToolContext, args: InboxIn) -> InboxOut:
    found = await ctx.client.inbox(
        after=args.after, limit=args.limit, include_acked=args.include_acked
    )
    items = [ItemView.of_item(item) for item in found.items]
    return InboxOut(items=items, unacked=found.unacked, cursor=found.cursor)


def render_inbox(out: InboxOut) -> str:
    head = f"{len(out.items)} item(s), {out.unacked} unacked; cursor {out.cursor}"
    return f"{head}\n{render_items(out.items)}".rstrip()


class AckIn(View):
    """Arguments of hubbub_ack."""

    items: list[int] = Field(default_factory=list, description="inbox item ids to acknowledge")
    up_to: int | None = Field(default=None, description="or: every item up to this id")


class AckOut(View):
    """What an ack did."""

    acked: int = Field(description="items newly acknowledged")
    unacked: int = Field(description="items still unacknowledged")


async def ack(ctx: ToolContext, args: AckIn) -> AckOut:
    result = await ctx.client.ack(args.items, up_to=args.up_to)
    return AckOut(acked=result.acked, unacked=result.unacked)


class WaitIn(View):
    """Arguments of hubbub_wait."""

    after: int | None = Field(
        default=None, description="cursor from the last board/inbox/wait (or read, with channel)"
    )
    channel: str | None = Field(
        default=None, description="wait for posts in this #channel instead of your inbox"
    )


class WaitOut(View):
    """What arrived after the cursor (nothing if the wait ran out)."""

    items: list[ItemView] | None = Field(default=None, description="new inbox items")
    messages: list[MessageView] | None = Field(default=None, description="new channel posts")
    cursor: int = Field(description="pass as `after` to wait again")
    timed_out: bool


async def wait(ctx: ToolContext, args: WaitIn) -> WaitOut:
    if args.channel is None:
        found = await ctx.client.inbox(after=args.after or 0, wait=ctx.max_wait)
        items = [ItemView.of_item(item) for item in found.items]
        return WaitOut(items=items, cursor=found.cursor, timed_out=not items)
    after = args.after
    if after is None:
        # No cursor: wait for what comes after the newest post.
        after = (await ctx.client.read(args.channel, limit=1)).cursor
    page = await ctx.client.read(args.channel, after=after, wait=ctx.max_wait)
    messages = [MessageView.of(message) for message in page.messages]
    return WaitOut(messages=messages, cursor=page.cursor, timed_out=not messages)


def render_wait(out: WaitOut) -> str:
    if out.timed_out:
        return f"nothing new yet; call hubbub_wait again with after={out.cursor}"
    body = render_items(out.items) if out.items else render_messages(out.messages or [])
    return f"new since the cursor (next: after={out.cursor})\n{body}"


BOARD = Tool(
    name="hubbub_board",
    title="What needs attention",
    description=(
        "Start here: who you are, channels with unread messages, who is in them doing what, "
        "and the first unacknowledged inbox items (DMs, mentions, sends, tasks) with the inbox "
        "cursor."
    ),
    input=Empty,
    output=BoardOut,
    run=board,
    render=render_board,
    compact=True,
    read_only=True,
)
INBOX = Tool(
    name="hubbub_inbox",
    title="Inbox",
    description=(
        "Items addressed to you (DMs, mentions, sends, broadcasts, tasks), oldest first. "
        "Peeking never consumes: acknowledge handled items with hubbub_ack."
    ),
    input=InboxIn,
    output=InboxOut,
    run=inbox,
    render=render_inbox,
    compact=True,
    read_only=True,
)
ACK = Tool(
    name="hubbub_ack",
    title="Acknowledge inbox items",
    description="Mark inbox items handled, by item id or all up to an id.",
    input=AckIn,
    output=AckOut,
    run=ack,
    render=lambda out: f"acked {out.acked}; {out.unacked} still unacked",
    compact=True,
    idempotent=True,
)
WAIT = Tool(
    name="hubbub_wait",
    title="Wait for news",
    description=(
        "Block until something arrives after the cursor in your inbox (or in one channel), "
        f"for at most the wait limit ({WAIT_LIMIT_TEXT}), then return it with a new cursor. "
        "Use when idle and expecting a reply; call again if it timed out."
    ),
    input=WaitIn,
    output=WaitOut,
    run=wait,
    render=render_wait,
    compact=True,
    read_only=True,
)
