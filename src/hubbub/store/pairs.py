"""Pair session queries and transactions. Every step is one conditional ``UPDATE``: it
applies only to a row still in the state it expects, so of two racing answers exactly one
wins (each engine runs one writer at a time anyway).

A pending invite past its ``expires_at`` reads as ended (``expired``) everywhere, before the
sweep records it so: the queries compute the state they show from the time they are given.
"""

from __future__ import annotations

from pydantic import TypeAdapter

from hubbub.core import events, names
from hubbub.core.errors import Conflict
from hubbub.core.models import Pair
from hubbub.core.pairs import invite_message
from hubbub.core.store import NewChannel, NewPair, PairChange, PairQuery, StoredPair
from hubbub.store import channels, messages
from hubbub.store import events as event_log
from hubbub.store.dialect import Dialect
from hubbub.store.rows import loads
from hubbub.store.sql import Query, Row, Session
from hubbub.store.times import now_us, to_us

EXPIRED = "(p.state = 'pending' AND p.expires_at <= :now)"
OPEN = "(p.state = 'active' OR (p.state = 'pending' AND p.expires_at > :now))"


def _pair_json(d: Dialect) -> str:
    """A pair as one JSON object, in the state it is in at ``:now``."""
    ended_at = f"CASE WHEN {EXPIRED} THEN p.expires_at ELSE p.ended_at END"
    return d.json_object(
        "'id', p.id, 'channel', c.name, 'inviter', ir.name, 'invitee', ie.name",
        f"'state', CASE WHEN {EXPIRED} THEN 'ended' ELSE p.state END, 'topic', p.topic",
        f"'created_at', {d.iso('p.created_at')}, 'expires_at', {d.iso('p.expires_at')}",
        f"'accepted_at', {d.iso('p.accepted_at')}, 'ended_at', {d.iso(ended_at)}",
        f"'ended_by', eb.name, 'end_reason', CASE WHEN {EXPIRED} THEN 'expired' "
        "ELSE p.end_reason END",
    )


PAIR_FROM = """pairs p JOIN channels c ON c.id = p.channel_id
    JOIN agents ir ON ir.id = p.inviter_id JOIN agents ie ON ie.id = p.invitee_id
    LEFT JOIN agents eb ON eb.id = p.ended_by"""
PAIRS: TypeAdapter[list[Pair]] = TypeAdapter(list[Pair])


def _stored(where: str) -> Query:
    return Query(
        lambda d: (
            f"SELECT {_pair_json(d)} AS pair, p.channel_id, p.inviter_id, p.invitee_id "
            f"FROM {PAIR_FROM} WHERE {where}"
        )
    )


BY_ID = _stored("p.id = :id")
BY_CHANNEL = _stored("p.channel_id = :channel")
# Newest first; each state filter as the pairs read at :now (an expired invite is ended).
STATE_FILTERS = {
    None: "TRUE",
    "pending": f"p.state = 'pending' AND NOT {EXPIRED}",
    "active": "p.state = 'active'",
    "rejected": "p.state = 'rejected'",
    "ended": f"(p.state = 'ended' OR {EXPIRED})",
}


def _listing(where: str) -> Query:
    def build(d: Dialect) -> str:
        return (
            f"SELECT {_pair_json(d)} FROM {PAIR_FROM} "
            "WHERE (p.inviter_id = :agent OR p.invitee_id = :agent) "
            f"AND (CAST(:before AS bigint) IS NULL OR p.id < :before) AND {where} "
            "ORDER BY p.id DESC LIMIT :limit"
        )

    return Query(build)


LISTINGS = {state: _listing(where) for state, where in STATE_FILTERS.items()}
OPEN_PAIR_OF = Query(
    f"SELECT p.id FROM pairs p WHERE (p.inviter_id = :agent OR p.invitee_id = :agent) "
    f"AND {OPEN} LIMIT 1"
)
INSERT = Query(
    "INSERT INTO pairs (inviter_id, invitee_id, topic, created_at, expires_at) "
    "VALUES (:inviter, :invitee, :topic, :now, :expires) RETURNING id"
)
SET_CHANNEL = Query("UPDATE pairs SET channel_id = :channel WHERE id = :id")
PENDING = "state = 'pending' AND expires_at > :now"
# Each step: the state it needs, who may take it, what it sets and the event it records.
STEPS = {
    "accept": (
        f"{PENDING} AND invitee_id = :agent",
        "state = 'active', accepted_at = :now",
        events.PAIR_ACCEPTED,
        False,
    ),
    "reject": (
        f"{PENDING} AND invitee_id = :agent",
        "state = 'rejected', end_reason = 'rejected', ended_by = :agent, ended_at = :now",
        events.PAIR_REJECTED,
        True,
    ),
    "cancel": (
        f"{PENDING} AND inviter_id = :agent",
        "state = 'ended', end_reason = 'cancelled', ended_by = :agent, ended_at = :now",
        events.PAIR_ENDED,
        True,
    ),
    "hang_up": (
        "state = 'active' AND (inviter_id = :agent OR invitee_id = :agent)",
        "state = 'ended', end_reason = 'hung_up', ended_by = :agent, ended_at = :now",
        events.PAIR_ENDED,
        True,
    ),
}
STEP_QUERIES = {
    op: Query(f"UPDATE pairs SET {sets} WHERE id = :id AND {needs} RETURNING id")
    for op, (needs, sets, _, _) in STEPS.items()
}
EXPIRE = Query(
    "UPDATE pairs SET state = 'ended', end_reason = 'expired', ended_at = expires_at "
    "WHERE state = 'pending' AND expires_at <= :now RETURNING id"
)
CHANNEL_OF = Query("SELECT channel_id FROM pairs WHERE id = :id")


def _of(row: Row) -> StoredPair:
    return StoredPair(
        pair=Pair.model_validate(loads(row["pair"])),
        channel_id=int(row["channel_id"]),
        inviter_id=int(row["inviter_id"]),
        invitee_id=int(row["invitee_id"]),
    )


async def by_id(conn: Session, pair_id: int) -> StoredPair | None:
    row = await conn.row(BY_ID, id=pair_id, now=now_us())
    return None if row is None else _of(row)


async def by_channel(conn: Session, channel_id: int) -> StoredPair | None:
    row = await conn.row(BY_CHANNEL, channel=channel_id, now=now_us())
    return None if row is None else _of(row)


async def listing(conn: Session, query: PairQuery) -> list[Pair]:
    return await conn.models(
        PAIRS,
        LISTINGS[query.state],
        agent=query.agent_id,
        before=query.before,
        limit=query.limit,
        now=now_us(),
    )


async def _must(conn: Session, pair_id: int) -> StoredPair:
    found = await by_id(conn, pair_id)
    assert found is not None  # read in the write that made or changed it
    return found


async def create(conn: Session, new: NewPair) -> Pair:
    """The invite: refused while either agent is in an open pair; else the pair, its channel
    with both agents as members, ``pair.invited``, and the invite's message and inbox item."""
    now = now_us()
    for agent_id, whose in ((new.inviter_id, "inviter"), (new.invitee_id, "invitee")):
        busy = await conn.value(OPEN_PAIR_OF, agent=agent_id, now=now)
        if busy is not None:
            raise _busy(whose, int(busy), new.invite.author_name)
    pair_id = int(
        await conn.value(
            INSERT,
            inviter=new.inviter_id,
            invitee=new.invitee_id,
            topic=new.topic,
            now=now,
            expires=to_us(new.expires_at),
        )
    )
    channel = await channels.create(
        conn,
        NewChannel(
            name=names.pair_channel_name(pair_id),
            kind="pair",
            visibility="secret",
            topic=new.topic,
            created_by=new.inviter_id,
            members=(new.inviter_id, new.invitee_id),
        ),
    )
    await conn.run(SET_CHANNEL, channel=channel.id, id=pair_id)
    pair = (await _must(conn, pair_id)).pair
    invited = events.pair_event(events.PAIR_INVITED, pair, channel.id, pair.inviter)
    await event_log.append(conn, [invited])
    await messages.post(conn, invite_message(pair, new.invite, channel.id))
    return pair


def _busy(whose: str, pair_id: int, inviter: str) -> Conflict:
    if whose == "inviter":
        return Conflict(
            f"you are already in pair {pair_id} (pending or active): end it before inviting again",
            code="busy",
            agent=inviter,
        )
    return Conflict("that agent is busy in another pair session; try again later", code="busy")


async def change(conn: Session, step: PairChange) -> Pair | None:
    """Apply a step if the pair is in the state it needs and the agent may take it; an end
    also archives the pair's channel, so nothing more is posted there."""
    _, _, kind, ends = STEPS[step.op]
    done = await conn.value(
        STEP_QUERIES[step.op], id=step.pair_id, agent=step.agent_id, now=now_us()
    )
    if done is None:
        return None
    stored = await _must(conn, step.pair_id)
    if ends:
        await channels.archive(conn, stored.channel_id)
    by = stored.pair.ended_by if ends else stored.pair.invitee
    await event_log.append(conn, [events.pair_event(kind, stored.pair, stored.channel_id, by)])
    return stored.pair


async def expire(conn: Session) -> list[Pair]:
    """Record every pending invite past its expiry as ended, archiving its channel."""
    ended: list[Pair] = []
    for row in await conn.rows(EXPIRE, now=now_us()):
        stored = await _must(conn, int(row["id"]))
        await channels.archive(conn, stored.channel_id)
        event = events.pair_event(events.PAIR_ENDED, stored.pair, stored.channel_id, None)
        await event_log.append(conn, [event])
        ended.append(stored.pair)
    return ended
