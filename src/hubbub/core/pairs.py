"""Pair sessions: an exclusive live chat between two agents.

An agent invites another, by ``@name`` or by a ``label:``, ``tag:`` or ``cap:`` that matches
exactly one agent, and the hub makes the session its own channel of kind ``pair``, named
``pair:{id}``, whose two members are the two agents. One channel per session rather than one
per couple of agents: each session's history stays whole and apart, an ended session's
channel is archived (readable, closed) while the same two agents may pair again in a fresh
one, and a channel's kind and name alone tell every path (reads, posts, search, streams)
that it is a pair::

    pending ──accept──▶ active ──hang up (either agent)──▶ ended
       ├──reject (invitee)──▶ rejected
       └──cancel (inviter), or no answer by expires_at──▶ ended

An agent in a pending or active pair is busy: invites from it or to it are refused
``409 busy`` (it still posts and sends everywhere else as usual). A pending invite past its
expiry reads as ended (``expired``) wherever it is read, so the check costs nothing more;
the hub's sweep records it later, with its event.

Messages are posted in the pair's channel through the ordinary message paths (or
:meth:`PairService.post`), only while the pair is active, and each lands in the other agent's
inbox as a DM does. The invite itself is the pair's first message, in the invitee's inbox.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast, get_args

from hubbub.core import names
from hubbub.core.agents import reachable
from hubbub.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from hubbub.core.models import Agent, Channel, MessagePage, Pair, PairState, PostResult
from hubbub.core.store import (
    AgentQuery,
    NewMessage,
    NewPair,
    PairChange,
    PairQuery,
    Store,
    StoredPair,
)

if TYPE_CHECKING:
    from hubbub.core.channels import ChannelService
    from hubbub.core.limits import Limits
    from hubbub.core.messages import MessageService

STATES: tuple[str, ...] = get_args(PairState)
MAX_CANDIDATES = 50  # names an ambiguous target's refusal lists
GROUP_TARGETS = ("label", "tag", "cap")


def state_words(pair: Pair) -> str:
    """How a pair stands, in words: ``active``, ``ended (hung_up)``…"""
    if pair.state == "ended" and pair.end_reason:
        return f"ended ({pair.end_reason})"
    return pair.state


def invite_message(pair: Pair, template: NewMessage, channel_id: int) -> NewMessage:
    """The message that carries an invite, once the pair and its channel exist: the
    inviter's first message, else a line naming the topic; its metadata names the pair."""
    content = template.content
    if not content:
        about = f": {pair.topic}" if pair.topic else ""
        content = f"@{pair.inviter} invites you to pair session {pair.id}{about}"
    meta = {**template.metadata, "pair": {"id": pair.id, "invite": True, "topic": pair.topic}}
    return replace(
        template, channel=channel_id, channel_name=pair.channel, content=content, metadata=meta
    )


async def peer_to_notify(store: Store, channel: Channel, author: Agent) -> Agent:
    """For a post by ``author``, a member of the pair channel ``channel``: the other agent,
    whose inbox the post lands in as a DM. Refused unless the pair is active."""
    stored = await store.pair_by_channel(channel.id)
    if stored is None:
        raise NotFound(f"no channel named {channel.name!r}", code="channel_not_found")
    pair = stored.pair
    if pair.state != "active":
        hint = "; wait for it to be accepted" if pair.state == "pending" else ""
        raise Conflict(
            f"pair {pair.id} is {state_words(pair)}: it takes messages only while active{hint}",
            code="pair_not_active",
        )
    peer = await store.agent(pair.invitee if author.id == stored.inviter_id else pair.inviter)
    if peer is None:  # agents are never deleted
        raise NotFound(f"no channel named {channel.name!r}", code="channel_not_found")
    return peer


class PairService:
    """Invite, answer, end, list and talk in pair sessions; expire unanswered invites."""

    def __init__(
        self, store: Store, limits: Limits, channels: ChannelService, messages: MessageService
    ) -> None:
        self._store = store
        self._limits = limits
        self._channels = channels
        self._messages = messages

    # inviting

    async def invite(
        self,
        inviter: Agent,
        target: str,
        *,
        topic: str | None = None,
        message: str | None = None,
    ) -> Pair:
        """Invite the one agent ``target`` names into a new pending pair; the invite lands in
        its inbox, carried by ``message`` (or a line naming ``topic``)."""
        if inviter.kind != "agent":
            raise Conflict(
                f"@{inviter.name} is a {inviter.kind}: pair sessions are between agents",
                code="not_pairable",
            )
        topic = topic.strip() if topic is not None and topic.strip() else None
        self._channels.check_topic(topic)
        if message is not None:
            self._messages.check(message, None)
        invitee = await self._invitee(inviter, target)
        expires = datetime.now(UTC) + timedelta(seconds=self._limits.pair_invite_seconds)
        invite = NewMessage(
            channel=0,  # the pair's channel: the store names it after the pair's id
            channel_name="",
            author_id=inviter.id,
            author_name=inviter.name,
            content=message or "",
            metadata={},
            mentions=[],
            inbox=[(invitee.id, "dm")],
            join_author=False,
        )
        return await self._store.create_pair(
            NewPair(
                inviter_id=inviter.id,
                invitee_id=invitee.id,
                topic=topic,
                expires_at=expires,
                invite=invite,
            )
        )

    async def _invitee(self, inviter: Agent, target: str) -> Agent:
        """The one agent ``target`` names, as a send would resolve it."""
        parsed = names.parse_target(target)
        if parsed.kind == "agent":
            found = reachable(
                await self._store.agent(parsed.value), parsed.value, missing="unknown_target"
            )
            if found.id == inviter.id:
                raise InvalidInput("you cannot pair with yourself", code="bad_target")
            candidates = [found]
        elif parsed.kind in GROUP_TARGETS:
            query = AgentQuery(
                label=parsed.value if parsed.kind == "label" else None,
                tag=parsed.value if parsed.kind == "tag" else None,
                capability=parsed.value if parsed.kind == "cap" else None,
                include_unlisted=True,
                routable_only=True,
            )
            listed = await self._store.list_agents(query)
            candidates = [a for a in listed if a.id != inviter.id]
            if not candidates:
                raise NotFound(f"{parsed} matches no agent", code="unknown_target")
        else:
            raise InvalidInput(
                f"{target.strip()!r} names no one agent: invite @agent, label:…, tag:… or cap:…",
                code="bad_target",
            )
        pairable = [a for a in candidates if a.kind == "agent"]
        if not pairable:
            other = candidates[0]
            raise Conflict(
                f"@{other.name} is a {other.kind}: pair sessions are between agents",
                code="not_pairable",
            )
        if len(pairable) > 1:
            shown = sorted(a.name for a in pairable)[:MAX_CANDIDATES]
            raise Conflict(
                f"{parsed} matches {len(pairable)} agents: invite one of them by @name",
                code="ambiguous_target",
                candidates=shown,
            )
        return pairable[0]

    # reading

    async def _mine(self, agent: Agent, pair_id: int) -> StoredPair:
        """A pair ``agent`` is one of the two agents of; any other is not found."""
        stored = await self._store.pair(pair_id)
        if stored is None or agent.id not in (stored.inviter_id, stored.invitee_id):
            raise NotFound(f"no pair with id {pair_id}", code="pair_not_found")
        return stored

    async def get(self, viewer: Agent, pair_id: int) -> Pair:
        """One of the viewer's pairs."""
        return (await self._mine(viewer, pair_id)).pair

    # answering and ending

    async def accept(self, agent: Agent, pair_id: int) -> Pair:
        """The invitee accepts a pending invite: the pair is active."""
        stored = await self._mine(agent, pair_id)
        self._check_answer(stored, agent, "accept")
        return await self._step("accept", stored, agent)

    async def reject(self, agent: Agent, pair_id: int) -> Pair:
        """The invitee turns a pending invite down."""
        stored = await self._mine(agent, pair_id)
        self._check_answer(stored, agent, "reject")
        return await self._step("reject", stored, agent)

    @staticmethod
    def _check_answer(stored: StoredPair, agent: Agent, verb: str) -> None:
        pair = stored.pair
        if agent.id != stored.invitee_id:
            raise Forbidden(
                f"only @{pair.invitee}, the agent invited, may {verb} pair {pair.id}",
                code="not_invitee",
            )
        if pair.state != "pending":
            raise Conflict(
                f"pair {pair.id} is {state_words(pair)}: only a pending invite can be answered",
                code="pair_not_pending",
            )

    async def end(self, agent: Agent, pair_id: int) -> Pair:
        """Leave a pair: hang up an active one (either agent), cancel one's own pending invite,
        or, as the invitee, turn a pending one down."""
        stored = await self._mine(agent, pair_id)
        pair = stored.pair
        if pair.state == "active":
            op = "hang_up"
        elif pair.state == "pending":
            op = "cancel" if agent.id == stored.inviter_id else "reject"
        else:
            raise Conflict(f"pair {pair.id} is over: {state_words(pair)}", code="pair_ended")
        return await self._step(op, stored, agent)

    async def _step(self, op: str, stored: StoredPair, agent: Agent) -> Pair:
        changed = await self._store.change_pair(PairChange(op, stored.pair.id, agent.id))
        if changed is not None:
            return changed
        # It moved meanwhile (answered, ended or expired): say how it stands now.
        now = (await self._mine(agent, stored.pair.id)).pair
        code = "pair_ended" if op == "hang_up" else "pair_not_pending"
        raise Conflict(f"pair {now.id} is {state_words(now)} now", code=code)

    async def sweep(self) -> list[Pair]:
        """Record the invites that expired unanswered as ended, with their events."""
        return await self._store.expire_pairs()

    # talking

    async def post(
        self,
        author: Agent,
        pair_id: int,
        content: str,
        *,
        metadata: dict[str, Any] | None = None,
        reply_to: int | None = None,
        idempotency_key: str | None = None,
        kind: str | None = None,
    ) -> PostResult:
        """Post in an active pair, as a post in its channel would."""
        stored = await self._mine(author, pair_id)
        return await self._messages.post(
            author,
            stored.pair.channel,
            content,
            metadata=metadata,
            reply_to=reply_to,
            idempotency_key=idempotency_key,
            kind=kind,
        )

    async def read(
        self,
        viewer: Agent,
        pair_id: int,
        *,
        after: int | None = None,
        before: int | None = None,
        limit: int = 50,
        wait: float = 0,
    ) -> MessagePage:
        """A page of a pair's messages, as a read of its channel would give (in any state)."""
        stored = await self._mine(viewer, pair_id)
        return await self._messages.read(
            viewer, stored.pair.channel, after=after, before=before, limit=limit, wait=wait
        )

    async def list(
        self,
        viewer: Agent,
        *,
        state: str | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> list[Pair]:
        """The viewer's pairs, newest first, in ``state`` if given."""
        if state is not None and state not in STATES:
            raise InvalidInput(f"bad state {state!r}: one of {', '.join(STATES)}")
        if not 1 <= limit <= self._limits.max_page:
            raise InvalidInput(f"limit must be 1-{self._limits.max_page}")
        query = PairQuery(viewer.id, cast("PairState | None", state), before, limit)
        return await self._store.pairs(query)
