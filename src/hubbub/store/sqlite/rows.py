"""Conversions between SQLite rows and domain models."""

from __future__ import annotations

import sqlite3
from typing import TypeVar

import orjson
from pydantic import TypeAdapter

from hubbub.core.models import Agent, Channel, InboxItem, KeyInfo, Message, SearchHit, User
from hubbub.store.times import maybe_time as maybe_time
from hubbub.store.times import now_us as now_us
from hubbub.store.times import to_time as to_time
from hubbub.store.times import to_us as to_us

T = TypeVar("T")


def iso(column: str) -> str:
    """SQL rendering a stored time as an exact RFC 3339 UTC string (NULL stays NULL)."""
    return (
        f"CASE WHEN {column} IS NULL THEN NULL ELSE "
        f"strftime('%Y-%m-%dT%H:%M:%S', {column} / 1000000, 'unixepoch') "
        f"|| printf('.%06dZ', {column} % 1000000) END"
    )


# A message row as one JSON object built by SQLite, so pages parse in one pass in Rust.
MESSAGE_JSON = f"""json_object(
    'id', m.id, 'channel', c.name, 'author', a.name, 'content', m.content,
    'metadata', json(m.metadata), 'mentions', json(m.mentions),
    'reply_to', m.reply_to, 'thread_id', m.thread_id,
    'created_at', {iso("m.created_at")}, 'edited_at', {iso("m.edited_at")},
    'deleted', json(CASE WHEN m.deleted_at IS NULL THEN 'false' ELSE 'true' END)
)"""
MESSAGE_JOINS = "JOIN channels c ON c.id = m.channel_id JOIN agents a ON a.id = m.author_id"
MESSAGE_FROM = f"messages m {MESSAGE_JOINS}"
CHANNEL_COLUMNS = """
    ch.id, ch.name, ch.kind, ch.visibility, ch.topic, ag.name AS created_by, ch.created_at,
    ch.archived_at,
    coalesce((SELECT max(id) FROM messages WHERE channel_id = ch.id), 0) AS last_message_id
"""
CHANNEL_FROM = "channels ch LEFT JOIN agents ag ON ag.id = ch.created_by"


def parse_all(adapter: TypeAdapter[list[T]], cursor: sqlite3.Cursor) -> list[T]:
    """Parse rows whose first column is a JSON object into models, all at once."""
    return adapter.validate_json("[" + ",".join(row[0] for row in cursor) + "]")


MESSAGES: TypeAdapter[list[Message]] = TypeAdapter(list[Message])
INBOX_ITEMS: TypeAdapter[list[InboxItem]] = TypeAdapter(list[InboxItem])
SEARCH_HITS: TypeAdapter[list[SearchHit]] = TypeAdapter(list[SearchHit])


def agent(row: sqlite3.Row) -> Agent:
    """An agents row as a model."""
    return Agent.model_construct(
        id=row["id"],
        name=row["name"],
        machine=row["machine"],
        kind=row["kind"],
        label=row["label"],
        tags=orjson.loads(row["tags"]),
        capabilities=orjson.loads(row["capabilities"]),
        status=row["status"],
        status_note=row["status_note"],
        visibility=row["visibility"],
        created_at=to_time(row["created_at"]),
        last_seen_at=maybe_time(row["last_seen_at"]),
    )


def channel(row: sqlite3.Row) -> Channel:
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


def key(row: sqlite3.Row) -> KeyInfo:
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


def user(row: sqlite3.Row) -> User:
    """A users row joined with its agent's name as a model."""
    return User(
        name=row["name"],
        created_at=to_time(row["created_at"]),
        disabled=row["disabled_at"] is not None,
    )
