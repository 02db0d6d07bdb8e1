"""Channel and membership queries."""

from __future__ import annotations

from hubbub.core import events
from hubbub.core.errors import Conflict, NotFound
from hubbub.core.models import Channel, ChannelSummary, Project
from hubbub.core.store import ChannelChanges, ChannelFilter, NewChannel
from hubbub.store import events as event_log
from hubbub.store import rows
from hubbub.store.sql import Query, Session
from hubbub.store.times import now_us, to_time

SELECT = f"SELECT {rows.CHANNEL_COLUMNS} FROM {rows.CHANNEL_FROM}"
BY_NAME = Query(f"{SELECT} WHERE ch.name = :name")
BY_ID = Query(f"{SELECT} WHERE ch.id = :id")
CREATE = Query(
    "INSERT INTO channels (name, kind, visibility, topic, project, branch, created_by, "
    "created_at) VALUES (:name, :kind, :visibility, :topic, :project, :branch, :created_by, "
    ":now) ON CONFLICT (name) DO NOTHING RETURNING id"
)
# A change names each field it sets ("" clears it); the others stay as they are. (The casts
# give PostgreSQL a type for a parameter that is only NULL.)
UPDATE = Query(
    "UPDATE channels SET "
    "topic = CASE WHEN CAST(:topic AS TEXT) IS NULL THEN topic ELSE nullif(:topic, '') END, "
    "project = CASE WHEN CAST(:project AS TEXT) IS NULL THEN project "
    "ELSE nullif(:project, '') END, "
    "branch = CASE WHEN CAST(:branch AS TEXT) IS NULL THEN branch ELSE nullif(:branch, '') END "
    "WHERE id = :id"
)
_SEEN = (
    "(:viewer IS NULL OR (ch.kind = 'channel' AND ch.visibility = 'public') OR EXISTS "
    "(SELECT 1 FROM members mb WHERE mb.channel_id = ch.id AND mb.agent_id = :viewer))"
)
FILTERED = Query(
    lambda d: (
        f"""{SELECT}
     WHERE ch.kind = coalesce(:kind, 'channel') AND (:archived OR ch.archived_at IS NULL)
       AND (CAST(:project AS TEXT) IS NULL OR ch.project = :project) AND {_SEEN}
     ORDER BY {d.by_name("ch.name")}"""
    )
)
PROJECTS = Query(
    lambda d: (
        f"""
    SELECT project, count(*) AS channels, sum(messages) AS messages,
           max(last_activity) AS last_activity
      FROM (SELECT ch.project,
                   (SELECT count(*) FROM messages m
                     WHERE m.channel_id = ch.id AND m.deleted_at IS NULL) AS messages,
                   coalesce((SELECT m.created_at FROM messages m WHERE m.channel_id = ch.id
                              ORDER BY m.id DESC LIMIT 1), ch.created_at) AS last_activity
              FROM channels ch
             WHERE ch.project IS NOT NULL AND (:archived OR ch.archived_at IS NULL)
               AND {_SEEN}) seen
     GROUP BY project ORDER BY {d.by_name("project")}"""
    )
)
MEMBERS = "SELECT a.name FROM members m JOIN agents a ON a.id = m.agent_id WHERE m.channel_id = :id"
LISTED_MEMBERS = Query(
    lambda d: f"{MEMBERS} AND a.visibility != 'ghost' ORDER BY {d.by_name('a.name')}"
)
ALL_MEMBERS = Query(lambda d: f"{MEMBERS} ORDER BY {d.by_name('a.name')}")
POSTABLE = Query("SELECT name, archived_at FROM channels WHERE id = :id")
SHAPE = Query("SELECT id, kind, visibility, archived_at FROM channels WHERE name = :name")
# Channels (not DMs): without a viewer, every one; with one, those it may see.
VISIBLE = Query(
    lambda d: (
        f"""{SELECT}
     WHERE ch.kind = 'channel' AND (:archived OR ch.archived_at IS NULL)
       AND (:viewer IS NULL OR ch.visibility = 'public' OR EXISTS
            (SELECT 1 FROM members mb WHERE mb.channel_id = ch.id AND mb.agent_id = :viewer))
     ORDER BY {d.by_name("ch.name")}"""
    )
)
MEMBER_IDS = Query("SELECT channel_id FROM members WHERE agent_id = :agent")
IS_MEMBER = Query("SELECT 1 FROM members WHERE channel_id = :channel AND agent_id = :agent")
NAMES = Query(
    "SELECT c.name AS channel, a.name AS agent, a.visibility FROM channels c, agents a "
    "WHERE c.id = :channel AND a.id = :agent"
)
JOIN = Query(
    "INSERT INTO members (channel_id, agent_id, joined_at) VALUES (:channel, :agent, :now) "
    "ON CONFLICT DO NOTHING"
)
READ_TO = Query(
    "UPDATE members SET read_seq = :seq WHERE channel_id = :channel AND agent_id = :agent"
)
JOIN_AND_READ_TO = Query(
    lambda d: (
        "INSERT INTO members (channel_id, agent_id, joined_at, read_seq) "
        "VALUES (:channel, :agent, :now, :seq) ON CONFLICT (channel_id, agent_id) "
        "DO UPDATE SET read_seq = excluded.read_seq "
        f"RETURNING {d.inserted('joined_at', 'now')} AS joined"
    )
)
LEAVE = Query("DELETE FROM members WHERE channel_id = :channel AND agent_id = :agent")
ARCHIVE = Query("UPDATE channels SET archived_at = :now WHERE id = :id AND archived_at IS NULL")
CREATED_SINCE = Query(
    "SELECT count(*) FROM channels WHERE created_by = :agent AND created_at >= :since "
    "AND kind = 'channel'"
)
NEWEST = "(SELECT coalesce(max(id), 0) FROM messages WHERE channel_id = :channel)"
# The cursor only moves forward, and never past the channel's newest message.
SET_READ_CURSOR = Query(
    lambda d: (
        "UPDATE members SET read_seq = "
        + d.greatest("read_seq", d.least(":seq", NEWEST))
        + " WHERE channel_id = :channel AND agent_id = :agent RETURNING read_seq"
    )
)
SUMMARIES = Query(
    lambda d: (
        f"""
    SELECT c.name, c.kind, m.read_seq,
           coalesce((SELECT max(id) FROM messages x WHERE x.channel_id = c.id), 0)
               AS last_message_id,
           (SELECT count(*) FROM messages x WHERE x.channel_id = c.id AND x.id > m.read_seq)
               AS unread
      FROM members m JOIN channels c ON c.id = m.channel_id
     WHERE m.agent_id = :agent AND c.archived_at IS NULL
     ORDER BY last_message_id DESC, {d.by_name("c.name")}
    """
    )
)


async def by_name(conn: Session, name: str) -> Channel | None:
    row = await conn.row(BY_NAME, name=name)
    return None if row is None else rows.channel(row)


async def by_id(conn: Session, channel_id: int) -> Channel:
    row = await conn.row(BY_ID, id=channel_id)
    if row is None:
        raise NotFound(f"no channel with id {channel_id}", code="channel_not_found")
    return rows.channel(row)


async def create(conn: Session, spec: NewChannel) -> Channel:
    now = now_us()
    channel_id = await conn.value(
        CREATE,
        name=spec.name,
        kind=spec.kind,
        visibility=spec.visibility,
        topic=spec.topic,
        project=spec.project,
        branch=spec.branch,
        created_by=spec.created_by,
        now=now,
    )
    if channel_id is None:
        raise Conflict(f"a channel named {spec.name!r} exists", code="channel_exists")
    await conn.insert(
        "members",
        [{"channel_id": channel_id, "agent_id": a, "joined_at": now} for a in spec.members],
        ignore_conflicts=True,
    )
    # The first members are named in channel.created, so each of their streams admits it
    # and every member.joined that follows.
    listed = await member_names(conn, channel_id, include_ghosts=False)
    created = events.channel_event(
        events.CHANNEL_CREATED,
        channel_id,
        spec.name,
        kind=spec.kind,
        visibility=spec.visibility,
        members=listed,
    )
    await event_log.append(conn, [created])
    for agent_id in spec.members:
        await _member_event(conn, events.MEMBER_JOINED, channel_id, agent_id)
    return await by_id(conn, channel_id)


async def resolve(conn: Session, target: int | NewChannel) -> int:
    """The id of a channel that takes posts: an existing one (re-checked, as the caller's view
    may be stale), or the one created from ``target``."""
    if isinstance(target, int):
        found = await conn.row(POSTABLE, id=target)
        if found is None:
            raise NotFound(f"no channel with id {target}", code="channel_not_found")
        if found["archived_at"] is not None:
            raise Conflict(f"#{found['name']} is archived", code="channel_archived")
        return target
    row = await conn.row(SHAPE, name=target.name)
    if row is None:
        return (await create(conn, target)).id
    if (row["kind"], row["visibility"]) != (target.kind, target.visibility) or row["archived_at"]:
        raise Conflict(f"#{target.name} changed while posting; try again", code="conflict")
    return int(row["id"])


async def visible(conn: Session, viewer_id: int | None, include_archived: bool) -> list[Channel]:
    """The channels (not DMs) ``viewer_id`` may see, by name; everyone's without a viewer."""
    found = await conn.rows(VISIBLE, viewer=viewer_id, archived=include_archived)
    return [rows.channel(r) for r in found]


async def member_names(conn: Session, channel_id: int, include_ghosts: bool) -> list[str]:
    """Member names by code point; without ghosts, the names others may see."""
    found = await conn.rows(ALL_MEMBERS if include_ghosts else LISTED_MEMBERS, id=channel_id)
    return [r["name"] for r in found]


async def member_ids(conn: Session, agent_id: int) -> list[int]:
    return [r["channel_id"] for r in await conn.rows(MEMBER_IDS, agent=agent_id)]


async def is_member(conn: Session, channel_id: int, agent_id: int) -> bool:
    return await conn.row(IS_MEMBER, channel=channel_id, agent=agent_id) is not None


async def _member_event(conn: Session, kind: str, channel_id: int, agent_id: int) -> None:
    row = await conn.row(NAMES, channel=channel_id, agent=agent_id)
    assert row is not None
    event = events.member_event(kind, channel_id, row["channel"], row["agent"], row["visibility"])
    await event_log.append(conn, [event])


async def add_member(conn: Session, channel_id: int, agent_id: int) -> bool:
    if not await conn.run(JOIN, channel=channel_id, agent=agent_id, now=now_us()):
        return False
    await _member_event(conn, events.MEMBER_JOINED, channel_id, agent_id)
    return True


async def mark_posted(conn: Session, channel_id: int, agent_id: int, seq: int, join: bool) -> None:
    """After a post: its author has read the channel up to it (and, if ``join``, is a member)."""
    if not join:
        await conn.run(READ_TO, seq=seq, channel=channel_id, agent=agent_id)
        return
    joined = await conn.value(
        JOIN_AND_READ_TO, channel=channel_id, agent=agent_id, now=now_us(), seq=seq
    )
    if joined:
        await _member_event(conn, events.MEMBER_JOINED, channel_id, agent_id)


async def remove_member(conn: Session, channel_id: int, agent_id: int) -> bool:
    if not await conn.run(LEAVE, channel=channel_id, agent=agent_id):
        return False
    await _member_event(conn, events.MEMBER_LEFT, channel_id, agent_id)
    return True


async def archive(conn: Session, channel_id: int) -> Channel:
    await conn.run(ARCHIVE, now=now_us(), id=channel_id)
    channel = await by_id(conn, channel_id)
    archived = events.channel_event(events.CHANNEL_ARCHIVED, channel_id, channel.name)
    await event_log.append(conn, [archived])
    return channel


async def update(conn: Session, channel_id: int, changes: ChannelChanges, by: str) -> Channel:
    """Change a channel's topic, project or branch and tell its readers (``channel.updated``)."""
    await conn.run(
        UPDATE, id=channel_id, topic=changes.topic, project=changes.project, branch=changes.branch
    )
    channel = await by_id(conn, channel_id)
    updated = events.channel_event(
        events.CHANNEL_UPDATED,
        channel_id,
        channel.name,
        topic=channel.topic,
        project=channel.project,
        branch=channel.branch,
        by=by,
    )
    await event_log.append(conn, [updated])
    return channel


async def filtered(conn: Session, query: ChannelFilter) -> list[Channel]:
    """The channels of one kind (and project) the viewer may see, by name."""
    found = await conn.rows(
        FILTERED,
        viewer=query.viewer_id,
        archived=query.include_archived,
        kind=query.kind,
        project=query.project,
    )
    return [rows.channel(r) for r in found]


async def projects(conn: Session, viewer_id: int | None, include_archived: bool) -> list[Project]:
    """Each project of the channels the viewer may see: channels, messages, last activity."""
    return [
        Project(
            project=r["project"],
            channels=int(r["channels"]),
            messages=int(r["messages"] or 0),
            last_activity=to_time(int(r["last_activity"])),
        )
        for r in await conn.rows(PROJECTS, viewer=viewer_id, archived=include_archived)
    ]


async def created_since(conn: Session, agent_id: int, since_us: int) -> int:
    return int(await conn.value(CREATED_SINCE, agent=agent_id, since=since_us))


async def summaries(conn: Session, agent_id: int) -> list[ChannelSummary]:
    return [
        ChannelSummary(
            channel=r["name"],
            kind=r["kind"],
            unread=r["unread"],
            last_message_id=r["last_message_id"],
            read_cursor=r["read_seq"],
        )
        for r in await conn.rows(SUMMARIES, agent=agent_id)
    ]
