"""Channel and membership queries."""

from __future__ import annotations

import sqlite3

from hubbub.core import events
from hubbub.core.errors import Conflict, NotFound
from hubbub.core.models import Channel, ChannelSummary
from hubbub.core.store import NewChannel
from hubbub.store.sqlite import events as event_log
from hubbub.store.sqlite import rows

SELECT = f"SELECT {rows.CHANNEL_COLUMNS} FROM {rows.CHANNEL_FROM}"


def by_name(conn: sqlite3.Connection, name: str) -> Channel | None:
    row = conn.execute(f"{SELECT} WHERE ch.name = ?", (name,)).fetchone()
    return None if row is None else rows.channel(row)


def by_id(conn: sqlite3.Connection, channel_id: int) -> Channel:
    row = conn.execute(f"{SELECT} WHERE ch.id = ?", (channel_id,)).fetchone()
    if row is None:
        raise NotFound(f"no channel with id {channel_id}", code="channel_not_found")
    return rows.channel(row)


def create(conn: sqlite3.Connection, spec: NewChannel) -> Channel:
    try:
        row = conn.execute(
            "INSERT INTO channels (name, kind, visibility, topic, created_by, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            (spec.name, spec.kind, spec.visibility, spec.topic, spec.created_by, rows.now_us()),
        ).fetchone()
    except sqlite3.IntegrityError:
        raise Conflict(f"a channel named {spec.name!r} exists", code="channel_exists") from None
    channel_id = int(row[0])
    now = rows.now_us()
    conn.executemany(
        "INSERT OR IGNORE INTO members (channel_id, agent_id, joined_at) VALUES (?, ?, ?)",
        [(channel_id, agent_id, now) for agent_id in spec.members],
    )
    # The first members are named in channel.created, so each of their streams admits it
    # and every member.joined that follows.
    listed = _listed_members(conn, channel_id)
    event_log.append(
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
        _member_event(conn, events.MEMBER_JOINED, channel_id, agent_id)
    return by_id(conn, channel_id)


def _listed_members(conn: sqlite3.Connection, channel_id: int) -> list[str]:
    """Member names others may see: everyone but ghosts."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT a.name FROM members m JOIN agents a ON a.id = m.agent_id "
            "WHERE m.channel_id = ? AND a.visibility != 'ghost' ORDER BY a.name",
            (channel_id,),
        )
    ]


def resolve(conn: sqlite3.Connection, target: int | NewChannel) -> int:
    """The id of a channel that takes posts: an existing one (re-checked, as the caller's view
    may be stale), or the one created from ``target``."""
    if isinstance(target, int):
        row = conn.execute("SELECT name, archived_at FROM channels WHERE id = ?", (target,))
        found = row.fetchone()
        if found is None:
            raise NotFound(f"no channel with id {target}", code="channel_not_found")
        if found["archived_at"] is not None:
            raise Conflict(f"#{found['name']} is archived", code="channel_archived")
        return target
    row = conn.execute(
        "SELECT id, kind, visibility, archived_at FROM channels WHERE name = ?", (target.name,)
    ).fetchone()
    if row is None:
        return create(conn, target).id
    if (row["kind"], row["visibility"]) != (target.kind, target.visibility) or row["archived_at"]:
        raise Conflict(f"#{target.name} changed while posting; try again", code="conflict")
    return int(row["id"])


def visible(
    conn: sqlite3.Connection, viewer_id: int | None, include_archived: bool
) -> list[Channel]:
    clauses = ["ch.kind = 'channel'"]
    params: list[int] = []
    if viewer_id is not None:
        clauses.append(
            "(ch.visibility = 'public' OR EXISTS "
            "(SELECT 1 FROM members mb WHERE mb.channel_id = ch.id AND mb.agent_id = ?))"
        )
        params.append(viewer_id)
    if not include_archived:
        clauses.append("ch.archived_at IS NULL")
    sql = f"{SELECT} WHERE {' AND '.join(clauses)} ORDER BY ch.name"
    return [rows.channel(r) for r in conn.execute(sql, params)]


def member_names(conn: sqlite3.Connection, channel_id: int, include_ghosts: bool) -> list[str]:
    if not include_ghosts:
        return _listed_members(conn, channel_id)
    return [
        r[0]
        for r in conn.execute(
            "SELECT a.name FROM members m JOIN agents a ON a.id = m.agent_id "
            "WHERE m.channel_id = ? ORDER BY a.name",
            (channel_id,),
        )
    ]


def member_ids(conn: sqlite3.Connection, agent_id: int) -> list[int]:
    return [
        r[0] for r in conn.execute("SELECT channel_id FROM members WHERE agent_id = ?", (agent_id,))
    ]


def is_member(conn: sqlite3.Connection, channel_id: int, agent_id: int) -> bool:
    row = conn.execute(
        "SELECT 1 FROM members WHERE channel_id = ? AND agent_id = ?", (channel_id, agent_id)
    ).fetchone()
    return row is not None


def _member_event(conn: sqlite3.Connection, kind: str, channel_id: int, agent_id: int) -> None:
    row = conn.execute(
        "SELECT c.name, a.name, a.visibility FROM channels c, agents a WHERE c.id = ? AND a.id = ?",
        (channel_id, agent_id),
    ).fetchone()
    event_log.append(conn, [events.member_event(kind, channel_id, row[0], row[1], row[2])])


def add_member(conn: sqlite3.Connection, channel_id: int, agent_id: int) -> bool:
    cursor = conn.execute(
        "INSERT OR IGNORE INTO members (channel_id, agent_id, joined_at) VALUES (?, ?, ?)",
        (channel_id, agent_id, rows.now_us()),
    )
    if cursor.rowcount == 0:
        return False
    _joined(conn, channel_id, agent_id)
    return True


def _joined(conn: sqlite3.Connection, channel_id: int, agent_id: int) -> None:
    _member_event(conn, events.MEMBER_JOINED, channel_id, agent_id)


def mark_posted(
    conn: sqlite3.Connection, channel_id: int, agent_id: int, seq: int, join: bool
) -> None:
    """After a post: its author has read the channel up to it (and, if ``join``, is a member)."""
    if not join:
        conn.execute(
            "UPDATE members SET read_seq = ? WHERE channel_id = ? AND agent_id = ?",
            (seq, channel_id, agent_id),
        )
        return
    now = rows.now_us()
    joined = conn.execute(
        "INSERT INTO members (channel_id, agent_id, joined_at, read_seq) VALUES (?, ?, ?, ?) "
        "ON CONFLICT DO UPDATE SET read_seq = excluded.read_seq RETURNING joined_at",
        (channel_id, agent_id, now, seq),
    ).fetchone()[0]
    if joined == now:
        _joined(conn, channel_id, agent_id)


def remove_member(conn: sqlite3.Connection, channel_id: int, agent_id: int) -> bool:
    cursor = conn.execute(
        "DELETE FROM members WHERE channel_id = ? AND agent_id = ?", (channel_id, agent_id)
    )
    if cursor.rowcount == 0:
        return False
    _member_event(conn, events.MEMBER_LEFT, channel_id, agent_id)
    return True


def archive(conn: sqlite3.Connection, channel_id: int) -> Channel:
    conn.execute(
        "UPDATE channels SET archived_at = ? WHERE id = ? AND archived_at IS NULL",
        (rows.now_us(), channel_id),
    )
    channel = by_id(conn, channel_id)
    event_log.append(
        conn, [events.channel_event(events.CHANNEL_ARCHIVED, channel_id, channel.name)]
    )
    return channel


def created_since(conn: sqlite3.Connection, agent_id: int, since_us: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM channels WHERE created_by = ? AND created_at >= ? "
        "AND kind = 'channel'",
        (agent_id, since_us),
    ).fetchone()
    return int(row[0])


def set_read_cursor(conn: sqlite3.Connection, agent_id: int, channel_id: int, seq: int) -> int:
    conn.execute(
        "UPDATE members SET read_seq = max(read_seq, min(?, "
        "(SELECT coalesce(max(id), 0) FROM messages WHERE channel_id = ?))) "
        "WHERE channel_id = ? AND agent_id = ?",
        (seq, channel_id, channel_id, agent_id),
    )
    row = conn.execute(
        "SELECT read_seq FROM members WHERE channel_id = ? AND agent_id = ?",
        (channel_id, agent_id),
    ).fetchone()
    return int(row[0]) if row else 0


def summaries(conn: sqlite3.Connection, agent_id: int) -> list[ChannelSummary]:
    sql = """
        SELECT c.name, c.kind, m.read_seq,
               coalesce((SELECT max(id) FROM messages x WHERE x.channel_id = c.id), 0)
                   AS last_message_id,
               (SELECT count(*) FROM messages x
                 WHERE x.channel_id = c.id AND x.id > m.read_seq) AS unread
          FROM members m JOIN channels c ON c.id = m.channel_id
         WHERE m.agent_id = ? AND c.archived_at IS NULL
         ORDER BY last_message_id DESC, c.name
    """
    return [
        ChannelSummary(
            channel=r["name"],
            kind=r["kind"],
            unread=r["unread"],
            last_message_id=r["last_message_id"],
            read_cursor=r["read_seq"],
        )
        for r in conn.execute(sql, (agent_id,))
    ]
