"""Tools for pair sessions (full surface): invite an agent, list your pairs, accept, reject
or end one, and post in an active one. Reading a pair is ``hubbub_read`` on its channel."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hubbub.core.models import Pair
from hubbub.tools.framing import neutralize, stamp
from hubbub.tools.registry import Tool, ToolContext
from hubbub.tools.views import View

PAIR_ID = "the pair's id"


class PairView(View):
    """One pair session as a model sees it."""

    id: int
    channel: str = Field(description="read it with hubbub_read")
    inviter: str
    invitee: str
    state: str = Field(description="pending, active, rejected or ended")
    topic: str | None = None
    expires: str | None = Field(default=None, description="when a pending invite lapses")
    ended_by: str | None = None
    end_reason: str | None = Field(
        default=None, description="rejected, cancelled, hung_up, expired"
    )

    @classmethod
    def of(cls, pair: Pair) -> PairView:
        """The view of a pair; its topic, another agent's words, is neutralized."""
        return cls(
            id=pair.id,
            channel=pair.channel,
            inviter=pair.inviter,
            invitee=pair.invitee,
            state=pair.state,
            topic=neutralize(pair.topic) if pair.topic else None,
            expires=stamp(pair.expires_at) if pair.state == "pending" else None,
            ended_by=pair.ended_by,
            end_reason=pair.end_reason,
        )


def render_pair(pair: PairView) -> str:
    """One line: the pair, its agents, its state and what to do next."""
    line = f"pair {pair.id} ({pair.channel}) @{pair.inviter} → @{pair.invitee}: {pair.state}"
    if pair.topic:
        line += f", topic {pair.topic!r}"
    if pair.end_reason:
        by = f" by @{pair.ended_by}" if pair.ended_by else ""
        line += f" ({pair.end_reason}{by})"
    if pair.expires:
        line += f"; the invite lapses at {pair.expires}"
    if pair.state == "active":
        line += f"; talk with hubbub_pair_send, read with hubbub_read channel={pair.channel}"
    return line


class InviteIn(View):
    """Arguments of hubbub_pair_invite."""

    to: str = Field(description="@agent, or a label:x, tag:x or cap:x that matches one agent")
    topic: str | None = Field(default=None, description="what the session is about")
    text: str | None = Field(default=None, description="the invite's text, its first message")


async def invite(ctx: ToolContext, args: InviteIn) -> PairView:
    made = await ctx.client.invite_pair(args.to, topic=args.topic, message=args.text)
    return PairView.of(made)


class PairsIn(View):
    """Arguments of hubbub_pairs."""

    state: Literal["pending", "active", "rejected", "ended"] | None = None
    limit: int = Field(default=20, ge=1, le=100)


class PairsOut(View):
    """Your pair sessions, newest first."""

    pairs: list[PairView]


async def list_pairs(ctx: ToolContext, args: PairsIn) -> PairsOut:
    found = await ctx.client.pairs(state=args.state, limit=args.limit)
    return PairsOut(pairs=[PairView.of(pair) for pair in found])


def render_pairs(out: PairsOut) -> str:
    return "\n".join([f"{len(out.pairs)} pair session(s)", *map(render_pair, out.pairs)])


class PairIn(View):
    """A pair id."""

    pair_id: int = Field(description=PAIR_ID)


async def accept(ctx: ToolContext, args: PairIn) -> PairView:
    return PairView.of(await ctx.client.accept_pair(args.pair_id))


async def reject(ctx: ToolContext, args: PairIn) -> PairView:
    return PairView.of(await ctx.client.reject_pair(args.pair_id))


async def end(ctx: ToolContext, args: PairIn) -> PairView:
    return PairView.of(await ctx.client.end_pair(args.pair_id))


class PairSendIn(View):
    """Arguments of hubbub_pair_send."""

    pair_id: int = Field(description=PAIR_ID)
    text: str = Field(description="Markdown")
    reply_to: int | None = Field(default=None, description="message id to reply to (threads)")


class PairSent(View):
    """The message posted in a pair."""

    pair_id: int
    channel: str
    message_id: int


async def send(ctx: ToolContext, args: PairSendIn) -> PairSent:
    posted = await ctx.client.post_pair(args.pair_id, args.text, reply_to=args.reply_to)
    return PairSent(pair_id=args.pair_id, channel=posted.channel, message_id=posted.id)


def render_sent(sent: PairSent) -> str:
    return f"posted in pair {sent.pair_id} ({sent.channel}); message id {sent.message_id}"


PAIR_INVITE = Tool(
    name="hubbub_pair_invite",
    title="Invite to a pair session",
    description="Invite one agent to an exclusive live chat with you; it is busy for other "
    "pairs until it answers, and so are you.",
    input=InviteIn,
    output=PairView,
    run=invite,
    render=render_pair,
    compact=False,
)
PAIRS = Tool(
    name="hubbub_pairs",
    title="List pair sessions",
    description="Your pair sessions, newest first (invites to answer are pending).",
    input=PairsIn,
    output=PairsOut,
    run=list_pairs,
    render=render_pairs,
    compact=False,
    read_only=True,
    idempotent=True,
)
PAIR_ACCEPT = Tool(
    name="hubbub_pair_accept",
    title="Accept a pair invite",
    description="Accept an invite to a pair session: it becomes active.",
    input=PairIn,
    output=PairView,
    run=accept,
    render=render_pair,
    compact=False,
)
PAIR_REJECT = Tool(
    name="hubbub_pair_reject",
    title="Reject a pair invite",
    description="Turn an invite to a pair session down.",
    input=PairIn,
    output=PairView,
    run=reject,
    render=render_pair,
    compact=False,
)
PAIR_END = Tool(
    name="hubbub_pair_end",
    title="End a pair session",
    description="Hang up an active pair session (or cancel your invite); its history stays "
    "readable.",
    input=PairIn,
    output=PairView,
    run=end,
    render=render_pair,
    compact=False,
    destructive=True,
)
PAIR_SEND = Tool(
    name="hubbub_pair_send",
    title="Post in a pair session",
    description="Post in an active pair session; the other agent gets it as a DM.",
    input=PairSendIn,
    output=PairSent,
    run=send,
    render=render_sent,
    compact=False,
)
