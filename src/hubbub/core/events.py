"""Events: the append-only record of every state change, written in the same transaction as
the change. Each store appends what these builders return, so every engine records the same."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hubbub.core.models import File, Message, Pair, Task

MESSAGE_POSTED = "message.posted"
MESSAGE_EDITED = "message.edited"
MESSAGE_DELETED = "message.deleted"
CHANNEL_CREATED = "channel.created"
CHANNEL_ARCHIVED = "channel.archived"
CHANNEL_UPDATED = "channel.updated"
CHANNEL_CLEARED = "channel.cleared"
CHANNEL_DELETED = "channel.deleted"
MEMBER_JOINED = "member.joined"
MEMBER_LEFT = "member.left"
MEMBER_STATUS = "member.status"
MEMBER_CHANNEL_STATUS = "member.status.channel"
MESSAGE_READ = "message.read"
INBOX_ITEM = "inbox.item"
INBOX_ACKED = "inbox.acked"
INBOX_DELIVERED = "inbox.delivered"
INBOX_READ = "inbox.read"
AGENT_UPDATED = "agent.updated"
STREAM_GAP = "stream.gap"
TASK_CREATED = "task.created"
TASK_DEDUPED = "task.deduped"
TASK_CLAIMED = "task.claimed"
TASK_RENEWED = "task.renewed"
TASK_PROGRESS = "task.progress"
TASK_COMPLETED = "task.completed"
TASK_FAILED = "task.failed"
TASK_RELEASED = "task.released"
TASK_CANCELLED = "task.cancelled"
TASK_EXPIRED = "task.expired"
TASK_UPDATED = "task.updated"
FILE_SHARED = "file.shared"
FILE_DELETED = "file.deleted"
PAIR_INVITED = "pair.invited"
PAIR_ACCEPTED = "pair.accepted"
PAIR_REJECTED = "pair.rejected"
PAIR_ENDED = "pair.ended"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as committed: ``seq`` is its place in the log, and the resume cursor."""

    seq: int
    type: str
    payload: dict[str, Any]
    created_at: datetime
    channel_id: int | None = None
    agent_id: int | None = None


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append. ``channel_id`` scopes it to a channel's readers, ``agent_id`` to one
    agent; neither means every agent may see it."""

    type: str
    payload: dict[str, Any]
    channel_id: int | None = None
    agent_id: int | None = None


def message_event(kind: str, message: Message, channel_id: int) -> NewEvent:
    """A message was posted, edited or deleted."""
    return NewEvent(kind, {"message": message.model_dump()}, channel_id=channel_id)


def message_kind(event: StoredEvent) -> str | None:
    """The kind of the message a ``message.*`` event carries (``None``: none, or no message)."""
    message = event.payload.get("message")
    return message.get("kind") if isinstance(message, dict) else None


def read_event(author_id: int, channel_id: int, channel: str, reader: str, up_to: int) -> NewEvent:
    """Tell an author that ``reader`` has read its messages in a channel up to ``up_to`` (the
    newest of its messages the reader's cursor passed)."""
    return NewEvent(
        MESSAGE_READ,
        {"channel": channel, "by": reader, "message_id": up_to},
        channel_id=channel_id,
        agent_id=author_id,
    )


def inbox_event(agent_id: int, item_id: int, kind: str, message_id: int, sender: str) -> NewEvent:
    """Something landed in ``agent_id``'s inbox."""
    return NewEvent(
        INBOX_ITEM,
        {"item_id": item_id, "kind": kind, "message_id": message_id, "from": sender},
        agent_id=agent_id,
    )


def acked_event(agent_id: int, item_ids: list[int]) -> NewEvent:
    """``agent_id`` acknowledged these inbox items (a read receipt)."""
    return NewEvent(INBOX_ACKED, {"item_ids": item_ids}, agent_id=agent_id)


def receipt_event(kind: str, sender_id: int, recipient: str, message_ids: list[int]) -> NewEvent:
    """Tell a sender its items reached (``inbox.delivered``) or were acked by (``inbox.read``)
    their recipient."""
    return NewEvent(kind, {"by": recipient, "message_ids": message_ids}, agent_id=sender_id)


def channel_event(event_type: str, channel_id: int, name: str, **extra: Any) -> NewEvent:
    """A channel was created, changed, archived, cleared or deleted."""
    return NewEvent(event_type, {"channel": name, **extra}, channel_id=channel_id)


def member_event(
    kind: str, channel_id: int, channel: str, agent: str, visibility: str = "visible"
) -> NewEvent:
    """An agent joined or left a channel (others do not hear of a ghost's comings and goings)."""
    return NewEvent(
        kind,
        {"channel": channel, "agent": agent, "visibility": visibility},
        channel_id=channel_id,
    )


def member_status_event(
    channel_id: int, channel: str, agent: str, status: str, note: str | None
) -> NewEvent:
    """A member of a channel changed status (active, idle, busy, offline)."""
    return NewEvent(
        MEMBER_STATUS,
        {"channel": channel, "agent": agent, "status": status, "note": note},
        channel_id=channel_id,
    )


def channel_status_event(
    channel_id: int, channel: str, agent: str, status: str | None, visibility: str
) -> NewEvent:
    """A member set (or, with ``None``, cleared) its status in one channel."""
    return NewEvent(
        MEMBER_CHANNEL_STATUS,
        {"channel": channel, "agent": agent, "status": status, "visibility": visibility},
        channel_id=channel_id,
    )


def agent_event(agent_name: str, fields: dict[str, Any]) -> NewEvent:
    """An agent changed its profile or status."""
    return NewEvent(AGENT_UPDATED, {"agent": agent_name, **fields})


def task_event(
    kind: str, task: Task, channel_id: int | None, by: str | None, **extra: Any
) -> NewEvent:
    """A task changed: scoped like the task itself (its channel, or every agent for ``cap:``
    and ``tag:`` targets)."""
    return NewEvent(kind, {"task": task.model_dump(), "by": by, **extra}, channel_id=channel_id)


def pair_event(kind: str, pair: Pair, channel_id: int, by: str | None) -> NewEvent:
    """A pair session was invited, accepted, rejected or ended: scoped to its channel, so
    only its two agents see it. ``by`` is who did it (``None``: the invite expired)."""
    return NewEvent(
        kind,
        {"pair": pair.model_dump(), "by": by, "reason": pair.end_reason},
        channel_id=channel_id,
    )


def file_event(kind: str, file: File, channel_id: int) -> NewEvent:
    """A file was shared in a channel or DM, or deleted: its channel's readers see it."""
    return NewEvent(kind, {"file": file.model_dump()}, channel_id=channel_id)


def task_subjects(task_events: Sequence[StoredEvent]) -> tuple[list[str], list[int]]:
    """The creators and the ids of the tasks these ``task.*`` events are about, sorted."""
    tasks = [event.payload.get("task") or {} for event in task_events]
    creators = sorted({str(t["created_by"]) for t in tasks if t.get("created_by")})
    task_ids = sorted({int(t["id"]) for t in tasks if t.get("id") is not None})
    return creators, task_ids
