"""Conversions between rows and domain models, and the row shapes queries share."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import TypeAdapter

from hubbub.core.models import Agent, Channel, InboxItem, KeyInfo, Message, SearchHit, User
from hubbub.core.names import channel_category
from hubbub.store.dialect import Dialect
from hubbub.store.sql import Row
from hubbub.store.times import maybe_time, to_time


def message_json(d: Dialect) -> str:
    """A message row (``m``, joined by :data:`MESSAGE_JOINS`) as one JSON object built by the
    database, so a page parses in one pass."""
    return d.json_object(
        "'id', m.id, 'channel', c.name, 'author', a.name, 'content', m.content",
        f"'metadata', {d.json('m.metadata')}, 'mentions', {d.json('m.mentions')}",
        "'reply_to', m.reply_to, 'thread_id', m.thread_id",
        f"'created_at', {d.iso('m.created_at')}, 'edited_at', {d.iso('m.edited_at')}",
        f"'deleted', {d.json_bool('m.deleted_at IS NOT NULL')}, 'kind', m.kind",
    )


MESSAGE_JOINS = "JOIN channels c ON c.id = m.channel_id JOIN agents a ON a.id = m.author_id"
MESSAGE_FROM = f"messages m {MESSAGE_JOINS}"
CHANNEL_COLUMNS = """
    ch.id, ch.name, ch.kind, ch.visibility, ch.topic, ch.project, ch.branch, ch.retention_days,
    ag.name AS created_by, ch.created_at, ch.archived_at,
    coalesce((SELECT max(id) FROM messages WHERE channel_id = ch.id), 0) AS last_message_id
"""
CHANNEL_FROM = "channels ch LEFT JOIN agents ag ON ag.id = ch.created_by"

MESSAGES: TypeAdapter[list[Message]] = TypeAdapter(list[Message])
INBOX_ITEMS: TypeAdapter[list[InboxItem]] = TypeAdapter(list[InboxItem])
SEARCH_HITS: TypeAdapter[list[SearchHit]] = TypeAdapter(list[SearchHit])


def dumps(value: Any) -> str:
    """A value as the JSON text a JSON column stores."""
    return orjson.dumps(value).decode()


def loads(value: Any) -> Any:
    """A JSON column's value: text on SQLite, already decoded on PostgreSQL."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def agent(row: Row) -> Agent:
    """An agents row as a model."""
    return Agent.model_construct(
        id=row["id"],
        name=row["name"],
        machine=row["machine"],
        kind=row["kind"],
        label=row["label"],
        tags=loads(row["tags"]),
        capabilities=loads(row["capabilities"]),
        status=row["status"],
        status_note=row["status_note"],
        visibility=row["visibility"],
        runner=bool(row["runner"]),
        deactivated=row["deactivated_at"] is not None,
        deleted=row["deleted_at"] is not None,
        created_at=to_time(row["created_at"]),
        last_seen_at=maybe_time(row["last_seen_at"]),
    )


def channel(row: Row) -> Channel:
    """A channel row (selected with CHANNEL_COLUMNS) as a model."""
    return Channel.model_construct(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        visibility=row["visibility"],
        topic=row["topic"],
        project=row["project"],
        branch=row["branch"],
        category=channel_category(row["name"]),
        created_by=row["created_by"],
        created_at=to_time(row["created_at"]),
        archived=row["archived_at"] is not None,
        retention_days=row["retention_days"],
        last_message_id=row["last_message_id"],
        members=None,
    )


def key(row: Row) -> KeyInfo:
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


USER_SELECT = (
    "SELECT agents.name, users.created_at, users.disabled_at, users.admin_at "
    "FROM users JOIN agents ON agents.id = users.agent_id"
)
"""The columns :func:`user` reads, for every query that lists users."""


def user(row: Row) -> User:
    """A users row joined with its agent's name as a model."""
    return User(
        name=row["name"],
        created_at=to_time(row["created_at"]),
        disabled=row["disabled_at"] is not None,
        admin=row["admin_at"] is not None,
    )
