"""Channel and membership queries."""

from __future__ import annotations

from hubbub.core import events
from hubbub.core.errors import Conflict, NotFound
from hubbub.core.models import Channel, ChannelSummary
from hubbub.core.store import NewChannel
from hubbub.store.postgres import events as event_log
from hubbub.store.postgres import rows
from hubbub.store.postgres.rows import Conn

SELECT = f"SELECT {rows.CHANNEL_COLUMNS} FROM {rows.CHANNEL_FROM}"


async def by_name(conn: Conn, name: str) -> Channel | None:
    row = await rows.one(conn, f"{SELECT} WHERE ch.name = %s", (name,))
    return None if row is None else rows.channel(row)


async def by_id(conn: Conn, channel_id: int) -> Channel:
    row = await rows.one(conn, f"{SELECT} WHERE ch.id = %s", (channel_id,))
    if row is None:
        raise NotFound(f"no channel with id {channel_id}", code="channel_not_found")
    return rows.channel(row)


async def create(conn: Conn, spec: NewChannel) -> Channel:
    now = rows.now_us()
    row = await rows.one(
        conn,
        "INSERT INTO channels (name, kind, visibility, topic, created_by, created_at) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (name) DO NOTHING RETURNING id",
        (spec.name, spec.kind, spec.visibility, spec.topic, spec.created_by, now),
    )
    if row is None:
        raise Conflict(f"a channel named {spec.name!r} exists", code="channel_exists")
    channel_id = int(row["id"])
    await conn.execute(
        "INSERT INTO members (channel_id, agent_id, joined_at) "
        "SELECT %s, a, %s FROM unnest(%s::bigint[]) AS a ON CONFLICT DO NOTHING",
        (channel_id, now, list(spec.members)),
    )
    # The first members are named in channel.created, so each of their streams admits it
    # and every member.joined that follows.
    listed = await _listed_members(conn, channel_id)
    await event_log.append(
        conn,
        [
            events.channel_event(
                events.CHANNEL_CREATED,
                channel_id,
                spec.name,
                kind=spec.kind,
                visibility=spec.visibility,
                members=listed,
            )
        ],
    )
    for agent_id in spec.members:
        await _member_event(conn, events.MEMBER_JOINED, channel_id, agent_id)
    return await by_id(conn, channel_id)


async def _listed_members(conn: Conn, channel_id: int) -> list[str]:
    """Member names others may see: everyone but ghosts."""
    found = await rows.all_rows(
        conn,
        "SELECT a.name FROM members m JOIN agents a ON a.id = m.agent_id "
        "WHERE m.channel_id = %s AND a.visibility != 'ghost' ORDER BY a.name COLLATE \"C\"",
        (channel_id,),
    )
    return [r["name"] for r in found]


async def resolve(conn: Conn, target: int | NewChannel) -> int:
    """The id of a channel that takes posts: an existing one (re-checked, as the caller's view
    may be stale), or the one created from ``target``."""
    if isinstance(target, int):
        found = await rows.one(
            conn, "SELECT name, archived_at FROM channels WHERE id = %s", (target,)
        )
        if found is None:
            raise NotFound(f"no channel with id {target}", code="channel_not_found")
        if found["archived_at"] is not None:
            raise Conflict(f"#{found['name']} is archived", code="channel_archived")
        return target
    row = await rows.one(
        conn,
        "SELECT id, kind, visibility, archived_at FROM channels WHERE name = %s",
        (target.name,),
    )
    if row is None:
        return (await create(conn, target)).id
    if (row["kind"], row["visibility"]) != (target.kind, target.visibility) or row["archived_at"]:
        raise Conflict(f"#{target.name} changed while posting; try again", code="conflict")
    return int(row["id"])


async def visible(conn: Conn, viewer_id: int | None, include_archived: bool) -> list[Channel]:
    clauses = ["ch.kind = 'channel'"]
    params: list[int] = []
    if viewer_id is not None:
        clauses.append(
            "(ch.visibility = 'public' OR EXISTS "
            "(SELECT 1 FROM members mb WHERE mb.channel_id = ch.id AND mb.agent_id = %s))"
        )
        params.append(viewer_id)
    if not include_archived:
        clauses.append("ch.archived_at IS NULL")
    sql = f'{SELECT} WHERE {" AND ".join(clauses)} ORDER BY ch.name COLLATE "C"'
    return [rows.channel(r) for r in await rows.all_rows(conn, sql, params)]


async def member_names(conn: Conn, channel_id: int, include_ghosts: bool) -> list[str]:
    if not include_ghosts:
        return await _listed_members(conn, channel_id)
    found = await rows.all_rows(
        conn,
        "SELECT a.name FROM members m JOIN agents a ON a.id = m.agent_id "
        'WHERE m.channel_id = %s ORDER BY a.name COLLATE "C"',
        (channel_id,),
    )
    return [r["name"] for r in found]


async def member_ids(conn: Conn, agent_id: int) -> list[int]:
    found = await rows.all_rows(
        conn, "SELECT channel_id FROM members WHERE agent_id = %s", (agent_id,)
    )
    return [r["channel_id"] for r in found]


async def is_member(conn: Conn, channel_id: int, agent_id: int) -> bool:
    row = await rows.one(
        conn,
        "SELECT 1 AS x FROM members WHERE channel_id = %s AND agent_id = %s",
        (channel_id, agent_id),
    )
    return row is not None


async def _member_event(conn: Conn, kind: str, channel_id: int, agent_id: int) -> None:
    row = await rows.one(
        conn,
        "SELECT c.name AS channel, a.name AS agent, a.visibility FROM channels c, agents a "
        "WHERE c.id = %s AND a.id = %s",
        (channel_id, agent_id),
    )
    assert row is not None
    await event_log.append(
        conn,
        [events.member_event(kind, channel_id, row["channel"], row["agent"], row["visibility"])],
    )


async def add_member(conn: Conn, channel_id: int, agent_id: int) -> bool:
    cursor = await conn.execute(
        "INSERT INTO members (channel_id, agent_id, joined_at) VALUES (%s, %s, %s) "
        "ON CONFLICT DO NOTHING",
        (channel_id, agent_id, rows.now_us()),
    )
    if cursor.rowcount == 0:
        return False
    await _member_event(conn, events.MEMBER_JOINED, channel_id, agent_id)
    return True


async def mark_posted(conn: Conn, channel_id: int, agent_id: int, seq: int, join: bool) -> None:
    """After a post: its author has read the channel up to it (and, if ``join``, is a member)."""
    if not join:
        await conn.execute(
            "UPDATE members SET read_seq = %s WHERE channel_id = %s AND agent_id = %s",
            (seq, channel_id, agent_id),
        )
        return
    row = await rows.one(
        conn,
        "INSERT INTO members (channel_id, agent_id, joined_at, read_seq) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (channel_id, agent_id) "
        "DO UPDATE SET read_seq = excluded.read_seq RETURNING (xmax = 0) AS joined",
        (channel_id, agent_id, rows.now_us(), seq),
    )
    if row is not None and row["joined"]:
        await _member_event(conn, events.MEMBER_JOINED, channel_id, agent_id)


async def remove_member(conn: Conn, channel_id: int, agent_id: int) -> bool:
    cursor = await conn.execute(
        "DELETE FROM members WHERE channel_id = %s AND agent_id = %s", (channel_id, agent_id)
    )
    if cursor.rowcount == 0:
        return False
    await _member_event(conn, events.MEMBER_LEFT, channel_id, agent_id)
    return True


async def archive(conn: Conn, channel_id: int) -> Channel:
    await conn.execute(
        "UPDATE channels SET archived_at = %s WHERE id = %s AND archived_at IS NULL",
        (rows.now_us(), channel_id),
    )
    channel = await by_id(conn, channel_id)
    await event_log.append(
        conn, [events.channel_event(events.CHANNEL_ARCHIVED, channel_id, channel.name)]
    )
    return channel


async def created_since(conn: Conn, agent_id: int, since_us: int) -> int:
    return await rows.scalar(
        conn,
        "SELECT count(*) FROM channels WHERE created_by = %s AND created_at >= %s "
        "AND kind = 'channel'",
        (agent_id, since_us),
    )


async def set_read_cursor(conn: Conn, agent_id: int, channel_id: int, seq: int) -> int:
    row = await rows.one(
        conn,
        "UPDATE members SET read_seq = greatest(read_seq, least(%s, "
        "(SELECT coalesce(max(id), 0) FROM messages WHERE channel_id = %s))) "
        "WHERE channel_id = %s AND agent_id = %s RETURNING read_seq",
        (seq, channel_id, channel_id, agent_id),
    )
    return int(row["read_seq"]) if row else 0


async def summaries(conn: Conn, agent_id: int) -> list[ChannelSummary]:
    sql = """
        SELECT c.name, c.kind, m.read_seq,
               coalesce((SELECT max(id) FROM messages x WHERE x.channel_id = c.id), 0)
                   AS last_message_id,
               (SELECT count(*) FROM messages x
                 WHERE x.channel_id = c.id AND x.id > m.read_seq) AS unread
          FROM members m JOIN channels c ON c.id = m.channel_id
         WHERE m.agent_id = %s AND c.archived_at IS NULL
         ORDER BY last_message_id DESC, c.name COLLATE "C"
    """
    return [
        ChannelSummary(
            channel=r["name"],
            kind=r["kind"],
            unread=r["unread"],
            last_message_id=r["last_message_id"],
            read_cursor=r["read_seq"],
        )
        for r in await rows.all_rows(conn, sql, (agent_id,))
    ]
