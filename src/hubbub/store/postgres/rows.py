"""Conversions between PostgreSQL rows and domain models, and the JSON PostgreSQL builds."""

from __future__ import annotations

from typing import Any, TypeVar

import psycopg
from psycopg.rows import DictRow, tuple_row
from pydantic import TypeAdapter

from hubbub.core.models import Agent, Channel, InboxItem, KeyInfo, Message, SearchHit, User
from hubbub.store.times import maybe_time as maybe_time
from hubbub.store.times import now_us as now_us
from hubbub.store.times import to_time as to_time
from hubbub.store.times import to_us as to_us

T = TypeVar("T")
Conn = psycopg.AsyncConnection[DictRow]


def iso(column: str) -> str:
    """SQL rendering a stored time as an exact RFC 3339 UTC string (NULL stays NULL)."""
    return (
        f"(to_char(to_timestamp({column} / 1000000) AT TIME ZONE 'UTC', "
        f"'YYYY-MM-DD\"T\"HH24:MI:SS') || '.' || lpad(mod({column}, 1000000)::text, 6, '0') "
        "|| 'Z')"
    )


# A message row as one JSON object built by PostgreSQL, so pages parse in one pass in Rust.
MESSAGE_JSON = f"""json_build_object(
    'id', m.id, 'channel', c.name, 'author', a.name, 'content', m.content,
    'metadata', m.metadata, 'mentions', m.mentions,
    'reply_to', m.reply_to, 'thread_id', m.thread_id,
    'created_at', {iso("m.created_at")}, 'edited_at', {iso("m.edited_at")},
    'deleted', m.deleted_at IS NOT NULL
)"""
MESSAGE_JOINS = "JOIN channels c ON c.id = m.channel_id JOIN agents a ON a.id = m.author_id"
MESSAGE_FROM = f"messages m {MESSAGE_JOINS}"
CHANNEL_COLUMNS = """
    ch.id, ch.name, ch.kind, ch.visibility, ch.topic, ag.name AS created_by, ch.created_at,
    ch.archived_at,
    coalesce((SELECT max(id) FROM messages WHERE channel_id = ch.id), 0) AS last_message_id
"""
CHANNEL_FROM = "channels ch LEFT JOIN agents ag ON ag.id = ch.created_by"

MESSAGES: TypeAdapter[list[Message]] = TypeAdapter(list[Message])
INBOX_ITEMS: TypeAdapter[list[InboxItem]] = TypeAdapter(list[InboxItem])
SEARCH_HITS: TypeAdapter[list[SearchHit]] = TypeAdapter(list[SearchHit])


async def parse_all(
    adapter: TypeAdapter[list[T]], conn: Conn, sql: str, params: Any = None
) -> list[T]:
    """Run ``sql``, whose first column is a JSON object (cast to text), and parse every row
    into models at once."""
    cursor = conn.cursor(row_factory=tuple_row)
    await cursor.execute(sql, params)
    found = await cursor.fetchall()
    return adapter.validate_json("[" + ",".join(row[0] for row in found) + "]")


async def scalar(conn: Conn, sql: str, params: Any = None) -> int:
    """The first column of the first row, as an integer."""
    cursor = conn.cursor(row_factory=tuple_row)
    await cursor.execute(sql, params)
    row = await cursor.fetchone()
    assert row is not None
    return int(row[0])


async def one(conn: Conn, sql: str, params: Any = None) -> DictRow | None:
    """The first row of ``sql``, if any."""
    cursor = await conn.execute(sql, params)
    return await cursor.fetchone()


async def all_rows(conn: Conn, sql: str, params: Any = None) -> list[DictRow]:
    """Every row of ``sql``."""
    cursor = await conn.execute(sql, params)
    return await cursor.fetchall()


def agent(row: DictRow) -> Agent:
    """An agents row as a model (``tags`` and ``capabilities`` arrive decoded)."""
    return Agent.model_construct(
        id=row["id"],
        name=row["name"],
        machine=row["machine"],
        kind=row["kind"],
        label=row["label"],
        tags=row["tags"],
        capabilities=row["capabilities"],
        status=row["status"],
        status_note=row["status_note"],
        visibility=row["visibility"],
        created_at=to_time(row["created_at"]),
        last_seen_at=maybe_time(row["last_seen_at"]),
    )


def channel(row: DictRow) -> Channel:
    """A channel row (selected with CHANNEL_COLUMNS) as a model."""
    return Channel.model_construct(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        visibility=row["visibility"],
        topic=row["topic"],
        created_by=row["created_by"],
        created_at=to_time(row["created_at"]),
        archived=row["archived_at"] is not None,
        last_message_id=row["last_message_id"],
        members=None,
    )


def key(row: DictRow) -> KeyInfo:
    """A keys row as a model."""
    return KeyInfo(
        id=row["id"],
        kind=row["kind"],
        machine=row["machine"],
        label=row["label"],
        prefix=row["prefix"],
        created_at=to_time(row["created_at"]),
        revoked_at=maybe_time(row["revoked_at"]),
    )


def user(row: DictRow) -> User:
    """A users row joined with its agent's name as a model."""
    return User(
        name=row["name"],
        created_at=to_time(row["created_at"]),
        disabled=row["disabled_at"] is not None,
    )
