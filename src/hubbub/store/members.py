"""Members as their teammates see them: each one's status in a channel, rosters for channel
reads and the board, read positions, and the read cursor whose moves tell authors."""

from __future__ import annotations

from hubbub.core import events
from hubbub.core.models import Member
from hubbub.store import channels
from hubbub.store import events as event_log
from hubbub.store.sql import Query, Row, Session
from hubbub.store.times import maybe_time

READ_SEQ = Query("SELECT read_seq FROM members WHERE channel_id = :channel AND agent_id = :agent")
MEMBER_COUNT = Query("SELECT count(*) FROM members WHERE channel_id = :channel")
# Per author (still a member, not the reader), the newest of its messages a cursor passed.
PASSED = Query(
    "SELECT x.author_id, max(x.id) AS up_to FROM messages x "
    "JOIN members mb ON mb.channel_id = x.channel_id AND mb.agent_id = x.author_id "
    "WHERE x.channel_id = :channel AND x.id > :low AND x.id <= :high "
    "AND x.author_id != :agent AND x.deleted_at IS NULL GROUP BY x.author_id ORDER BY x.author_id"
)
MEMBER_COLUMNS = (
    "a.name, a.kind, a.label, a.status, a.status_note, a.last_seen_at, m.channel_status"
)
ROSTER = Query(
    lambda d: (
        f"SELECT {MEMBER_COLUMNS} FROM members m JOIN agents a ON a.id = m.agent_id "
        "WHERE m.channel_id = :id AND (a.visibility != 'ghost' OR a.id = :viewer) "
        f"ORDER BY {d.by_name('a.name')}"
    )
)
ONE_MEMBER = Query(
    f"SELECT {MEMBER_COLUMNS} FROM members m JOIN agents a ON a.id = m.agent_id "
    "WHERE m.channel_id = :channel AND m.agent_id = :agent"
)
ROSTERS = Query(
    lambda d: (
        f"""
    SELECT * FROM (
        SELECT c.name AS channel, {MEMBER_COLUMNS},
               row_number() OVER (PARTITION BY m.channel_id ORDER BY {d.by_name("a.name")})
                   AS place,
               count(*) OVER (PARTITION BY m.channel_id) AS total
          FROM members mine
          JOIN channels c ON c.id = mine.channel_id
          JOIN members m ON m.channel_id = mine.channel_id
          JOIN agents a ON a.id = m.agent_id
         WHERE mine.agent_id = :agent AND c.archived_at IS NULL
           AND m.agent_id != :agent AND a.visibility != 'ghost'
    ) listed
     WHERE place <= :per
     ORDER BY channel, place
    """
    )
)
IS_MEMBER_STATUS = Query(
    "SELECT channel_status FROM members WHERE channel_id = :channel AND agent_id = :agent"
)
SET_CHANNEL_STATUS = Query(
    "UPDATE members SET channel_status = :status WHERE channel_id = :channel AND agent_id = :agent"
)
POSITIONS = Query(
    lambda d: (
        "SELECT a.name, m.read_seq FROM members m JOIN agents a ON a.id = m.agent_id "
        f"WHERE m.channel_id = :id AND a.visibility != 'ghost' ORDER BY {d.by_name('a.name')}"
    )
)


async def set_read_cursor(
    conn: Session, agent_id: int, channel_id: int, seq: int, notify_max: int = 0
) -> int:
    """Move the cursor forward; in a channel of at most ``notify_max`` members, each author
    whose messages it passed hears of the newest of them (one ``message.read`` each)."""
    before = await conn.value(READ_SEQ, channel=channel_id, agent=agent_id)
    found = await conn.value(channels.SET_READ_CURSOR, seq=seq, channel=channel_id, agent=agent_id)
    after = 0 if found is None else int(found)
    if notify_max > 0 and before is not None and after > int(before):
        await _read_events(conn, agent_id, channel_id, int(before), after, notify_max)
    return after


async def _read_events(
    conn: Session, agent_id: int, channel_id: int, before: int, after: int, notify_max: int
) -> None:
    if int(await conn.value(MEMBER_COUNT, channel=channel_id)) > notify_max:
        return
    reader = await conn.row(channels.NAMES, channel=channel_id, agent=agent_id)
    if reader is None or reader["visibility"] == "ghost":  # a ghost reads unseen
        return
    passed = await conn.rows(PASSED, channel=channel_id, agent=agent_id, low=before, high=after)
    channel, by = reader["channel"], reader["agent"]
    told = [events.read_event(r["author_id"], channel_id, channel, by, r["up_to"]) for r in passed]
    await event_log.append(conn, told)


def _member(row: Row) -> Member:
    return Member(
        name=row["name"],
        kind=row["kind"],
        label=row["label"],
        status=row["status"],
        note=row["status_note"],
        channel_status=row["channel_status"],
        last_seen_at=maybe_time(row["last_seen_at"]),
    )


async def roster(conn: Session, channel_id: int, viewer_id: int | None) -> list[Member]:
    """The members with their status, by name: no ghost but the viewer itself."""
    return [_member(r) for r in await conn.rows(ROSTER, id=channel_id, viewer=viewer_id)]


async def rosters(
    conn: Session, agent_id: int, per_channel: int
) -> dict[str, tuple[list[Member], int]]:
    """For each unarchived channel of the agent, by name: up to ``per_channel`` other members
    (no ghosts) with their status, and how many more there are."""
    found: dict[str, tuple[list[Member], int]] = {}
    for r in await conn.rows(ROSTERS, agent=agent_id, per=per_channel):
        members, _ = found.get(r["channel"], ([], 0))
        members.append(_member(r))
        found[r["channel"]] = (members, max(0, int(r["total"]) - per_channel))
    return found


async def set_channel_status(
    conn: Session, channel_id: int, agent_id: int, status: str | None
) -> Member | None:
    """Set (``None``: clear) a member's status in a channel; ``None`` if it is no member.
    Only a change is announced."""
    old = await conn.row(IS_MEMBER_STATUS, channel=channel_id, agent=agent_id)
    if old is None:
        return None
    if old["channel_status"] != status:
        await conn.run(SET_CHANNEL_STATUS, status=status, channel=channel_id, agent=agent_id)
        names = await conn.row(channels.NAMES, channel=channel_id, agent=agent_id)
        assert names is not None
        changed = events.channel_status_event(
            channel_id, names["channel"], names["agent"], status, names["visibility"]
        )
        await event_log.append(conn, [changed])
    found = await conn.row(ONE_MEMBER, channel=channel_id, agent=agent_id)
    assert found is not None
    return _member(found)


async def read_positions(conn: Session, channel_id: int) -> list[tuple[str, int]]:
    """Each listed member (no ghosts) and its read cursor, by name."""
    return [(r["name"], int(r["read_seq"])) for r in await conn.rows(POSITIONS, id=channel_id)]
