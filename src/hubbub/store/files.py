"""File and blob queries: chunks written one small write at a time, the file recorded with
its message in one last write, blobs shared by content and freed a few chunks at a time.

A blob without a ``sha256`` is loose (see the migration ``0010_files.sql``): an upload under
way while its ``touched_at`` moves, else garbage; ``touched_at = 0`` marks one let go. Every
statement that grows or seals a blob requires it to be loose and not let go, so a blob being
freed can never come back to life."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace

from pydantic import TypeAdapter

from hubbub.core import events
from hubbub.core.errors import Conflict, TooLarge
from hubbub.core.files import attachment, caption, over_quota
from hubbub.core.models import File
from hubbub.core.store import FileQuery, NewFile, StoredFile
from hubbub.store import channels, messages, rows
from hubbub.store import events as event_log
from hubbub.store.dialect import Dialect
from hubbub.store.sql import Query, Session
from hubbub.store.times import now_us, to_time


def _file_json(d: Dialect) -> str:
    return d.json_object(
        "'id', f.id, 'name', f.name, 'channel', c.name, 'content_type', f.content_type",
        "'size', f.size, 'sha256', b.sha256, 'uploader', a.name, 'message_id', f.message_id",
        f"'created_at', {d.iso('f.created_at')}",
    )


FILE_FROM = """files f JOIN blobs b ON b.id = f.blob_id JOIN channels c ON c.id = f.channel_id
    JOIN agents a ON a.id = f.uploader_id"""
FILES: TypeAdapter[list[File]] = TypeAdapter(list[File])

BEGIN = Query("INSERT INTO blobs (created_at, touched_at) VALUES (:now, :now) RETURNING id")
GROW = Query(
    "UPDATE blobs SET size = size + :size, chunks = chunks + 1, touched_at = :now "
    "WHERE id = :id AND sha256 IS NULL AND touched_at > 0 AND chunks = :n"
)
ADD_CHUNK = Query("INSERT INTO blob_chunks (blob_id, n, data) VALUES (:blob, :n, :data)")
USED = Query("SELECT coalesce(sum(size), 0) FROM files WHERE machine = :machine")
SAME = Query("SELECT id FROM blobs WHERE sha256 = :sha")
SEAL = Query(
    "UPDATE blobs SET sha256 = :sha, refs = 1, touched_at = :now "
    "WHERE id = :id AND sha256 IS NULL AND touched_at > 0 AND size = :size"
)
SHARE = Query("UPDATE blobs SET refs = refs + 1 WHERE id = :id")
LET_GO = Query("UPDATE blobs SET touched_at = 0 WHERE id = :id AND sha256 IS NULL")
ADD_FILE = Query(
    "INSERT INTO files (blob_id, channel_id, uploader_id, machine, name, content_type, size, "
    "created_at) VALUES (:blob, :channel, :uploader, :machine, :name, :content_type, :size, "
    ":now) RETURNING id"
)
ATTACH = Query("UPDATE files SET message_id = :message WHERE id = :id")
BY_ID = Query(
    lambda d: (
        f"SELECT {_file_json(d)} AS file, f.channel_id, c.kind, c.visibility, f.blob_id, "
        f"b.chunks FROM {FILE_FROM} WHERE f.id = :id"
    )
)
CHUNK = Query("SELECT data FROM blob_chunks WHERE blob_id = :blob AND n = :n")
OF_MESSAGES = Query(
    lambda d: (
        f"SELECT {_file_json(d)} FROM {FILE_FROM} WHERE {d.any_of('f.message_id', 'ids')} "
        "ORDER BY f.id"
    )
)
OF_MESSAGE = Query("SELECT id FROM files WHERE message_id = :message ORDER BY id")
DROP_FILE = Query("DELETE FROM files WHERE id = :id")
# The last reference lets the blob go: its hash is cleared (an upload of the same content
# from now on keeps its own blob) and it is marked for freeing.
RELEASE = Query(
    "UPDATE blobs SET refs = refs - 1, "
    "sha256 = CASE WHEN refs <= 1 THEN NULL ELSE sha256 END, "
    "touched_at = CASE WHEN refs <= 1 THEN 0 ELSE touched_at END WHERE id = :id"
)
STALE = Query(
    "UPDATE blobs SET touched_at = 0 "
    "WHERE sha256 IS NULL AND touched_at > 0 AND touched_at < :before"
)
LOOSE = Query("SELECT id FROM blobs WHERE sha256 IS NULL AND touched_at = 0 ORDER BY id LIMIT 1")
DROP_CHUNKS = Query(
    "DELETE FROM blob_chunks WHERE blob_id = :id AND n IN "
    "(SELECT n FROM blob_chunks WHERE blob_id = :id ORDER BY n DESC LIMIT :limit)"
)
DROP_BLOB = Query(
    "DELETE FROM blobs WHERE id = :id "
    "AND NOT EXISTS (SELECT 1 FROM blob_chunks WHERE blob_id = :id)"
)
EXPIRED = Query("SELECT id FROM files WHERE created_at < :before ORDER BY id LIMIT :limit")
# Who may see a file in a listing: everyone in a public channel, members elsewhere.
_VISIBLE = (
    "((c.kind = 'channel' AND c.visibility = 'public') OR EXISTS "
    "(SELECT 1 FROM members m WHERE m.channel_id = f.channel_id AND m.agent_id = :viewer))"
)
_FILTERS = {
    "channel_id": "f.channel_id = :channel_id",
    "before": "f.id < :before",
    "name": "lower(f.name) LIKE :name ESCAPE '!'",
}


@functools.cache
def _search(filters: tuple[str, ...]) -> Query:
    """The listing with only the filters given (each shape a plan of its own)."""
    where = " AND ".join([_VISIBLE, *(_FILTERS[f] for f in filters)])
    return Query(
        lambda d: (
            f"SELECT {_file_json(d)} FROM {FILE_FROM} WHERE {where} ORDER BY f.id DESC LIMIT :limit"
        )
    )


# uploading


async def begin(conn: Session) -> int:
    """A new loose blob for an upload to write its chunks into."""
    return int(await conn.value(BEGIN, now=now_us()))


async def append(conn: Session, blob_id: int, n: int, data: bytes) -> None:
    """Chunk ``n`` of a loose blob; refused (``upload_expired``) once the blob was let go."""
    if not await conn.run(GROW, id=blob_id, n=n, size=len(data), now=now_us()):
        raise Conflict(
            "the upload stalled and was given up; send the file again", code="upload_expired"
        )
    await conn.run(ADD_CHUNK, blob=blob_id, n=n, data=data)


async def machine_bytes(conn: Session, machine: str) -> int:
    """The bytes the files of ``machine``'s uploaders hold (its quota's use)."""
    return int(await conn.value(USED, machine=machine))


async def record(conn: Session, new: NewFile) -> File:
    """Record a file once its blob is written: the blob sealed under its hash (or, if a blob
    of that content exists, that one referenced and this one let go), the file, the message
    that shares it and ``file.shared``, all in this one write."""
    now = now_us()
    used = await machine_bytes(conn, new.machine) if new.quota else 0
    if new.quota and used + new.size > new.quota:
        raise TooLarge(over_quota(new.machine, used, new.size, new.quota), code="quota_exceeded")
    same = await conn.value(SAME, sha=new.sha256)
    if same is None:
        if not await conn.run(SEAL, id=new.blob_id, sha=new.sha256, size=new.size, now=now):
            raise Conflict(
                "the upload stalled and was given up; send the file again", code="upload_expired"
            )
        blob_id = new.blob_id
    else:
        blob_id = int(same)
        await conn.run(SHARE, id=blob_id)
        await conn.run(LET_GO, id=new.blob_id)
    channel_id = await channels.resolve(conn, new.message.channel)
    file_id = int(
        await conn.value(
            ADD_FILE,
            blob=blob_id,
            channel=channel_id,
            uploader=new.message.author_id,
            machine=new.machine,
            name=new.name,
            content_type=new.content_type,
            size=new.size,
            now=now,
        )
    )
    file = File(
        id=file_id,
        name=new.name,
        channel=new.message.channel_name,
        content_type=new.content_type,
        size=new.size,
        sha256=new.sha256,
        uploader=new.message.author_name,
        created_at=to_time(now),
    )
    message = replace(
        new.message,
        channel=channel_id,
        content=new.message.content or caption(file),
        metadata=attachment(file),
    )
    posted = await messages.post(conn, message)
    await conn.run(ATTACH, id=file_id, message=posted.message.id)
    file = file.model_copy(update={"message_id": posted.message.id})
    await event_log.append(conn, [events.file_event(events.FILE_SHARED, file, channel_id)])
    return file


async def let_go(conn: Session, blob_id: int) -> None:
    """Give up a loose blob (an upload refused or cut off), to be freed."""
    await conn.run(LET_GO, id=blob_id)


async def free(conn: Session, stale_before: int, limit: int) -> int:
    """Free up to ``limit`` chunks of one blob let go (loose blobs untouched since
    ``stale_before`` count as let go), and the blob once it has none; 0 when there is
    nothing to free."""
    await conn.run(STALE, before=stale_before)
    blob_id = await conn.value(LOOSE)
    if blob_id is None:
        return 0
    dropped = await conn.run(DROP_CHUNKS, id=blob_id, limit=limit)
    if dropped < limit:
        await conn.run(DROP_BLOB, id=blob_id)
    return dropped + 1


# reading


async def by_id(conn: Session, file_id: int) -> StoredFile | None:
    """A file with its channel's shape and where its bytes are."""
    row = await conn.row(BY_ID, id=file_id)
    if row is None:
        return None
    return StoredFile(
        file=File.model_validate(rows.loads(row["file"])),
        channel_id=row["channel_id"],
        channel_kind=row["kind"],
        channel_visibility=row["visibility"],
        blob_id=row["blob_id"],
        chunks=row["chunks"],
    )


async def chunk(conn: Session, blob_id: int, n: int) -> bytes | None:
    """Chunk ``n`` of a blob (``None``: freed meanwhile)."""
    data = await conn.value(CHUNK, blob=blob_id, n=n)
    return None if data is None else bytes(data)


async def search(conn: Session, query: FileQuery) -> list[File]:
    """The files the viewer may see that match the filters, newest first."""
    params: dict[str, object] = {
        "channel_id": query.channel_id,
        "before": query.before,
        "name": None if query.name is None else f"%{_like(query.name.lower())}%",
    }
    given = {name: value for name, value in params.items() if value is not None}
    statement = _search(tuple(given))
    return await conn.models(FILES, statement, viewer=query.viewer_id, limit=query.limit, **given)


async def of_messages(conn: Session, message_ids: Sequence[int]) -> list[File]:
    """The files attached to these messages, oldest first."""
    if not message_ids:
        return []
    return await conn.models(FILES, OF_MESSAGES, ids=conn.dialect.array(message_ids))


async def expired(conn: Session, before: int, limit: int) -> list[int]:
    """Up to ``limit`` ids of files shared before ``before``, oldest first."""
    return [int(r["id"]) for r in await conn.rows(EXPIRED, before=before, limit=limit)]


def _like(text: str) -> str:
    """``text`` as a LIKE pattern that matches it literally (``!`` escapes)."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_")


# deleting


async def delete(conn: Session, file_id: int) -> File | None:
    """Delete a file (``file.deleted``); its blob loses a reference, and is let go with its
    last. ``None`` if there is no such file."""
    found = await by_id(conn, file_id)
    if found is None:
        return None
    await conn.run(DROP_FILE, id=file_id)
    await conn.run(RELEASE, id=found.blob_id)
    gone = events.file_event(events.FILE_DELETED, found.file, found.channel_id)
    await event_log.append(conn, [gone])
    return found.file


async def detach(conn: Session, message_id: int) -> None:
    """Delete the files a message shared (it is being deleted)."""
    for row in await conn.rows(OF_MESSAGE, message=message_id):
        await delete(conn, int(row["id"]))
