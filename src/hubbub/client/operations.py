"""Every REST operation as data: what to send and how to read the answer. No I/O here; the
async and sync clients only carry these over HTTP, so each operation is written once."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from pydantic import TypeAdapter

from hubbub.core.errors import HubbubError, RateLimited, error_class_for_status
from hubbub.core.models import (
    AckResult,
    Agent,
    Board,
    Channel,
    Inbox,
    KeyInfo,
    Message,
    MessagePage,
    NewKey,
    ReadCursor,
    SearchResult,
    SendResult,
    Thread,
    User,
)

T = TypeVar("T")
API = "/api/v1"


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


@dataclass(frozen=True, slots=True)
class Operation(Generic[T]):
    """One request and the type of its answer. ``retry_safe`` marks requests that may be sent
    again after a network fault (reads, and writes carrying an idempotency key)."""

    method: str
    path: str
    result: Any
    params: Mapping[str, Any] = field(default_factory=dict)
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    retry_safe: bool = False
    admin: bool = False
    timeout: float | None = None

    def parse(self, content: bytes) -> T:
        """The answer's body as the operation's result type."""
        parsed: T = _adapter(self.result).validate_json(content)
        return parsed


def error_from(status: int, content: bytes, reason: str = "") -> HubbubError:
    """The exception a problem+json answer stands for: the core's own classes and codes."""
    cls = error_class_for_status(status)
    try:
        body = _adapter(dict[str, Any]).validate_json(content)
    except ValueError:
        return cls(f"HTTP {status}: {content[:200].decode(errors='replace')}")
    detail = str(body.get("detail") or body.get("title") or reason or status)
    code = body.get("code")
    if cls is RateLimited:
        return RateLimited(detail, retry_after=float(body.get("retry_after", 1.0)), code=code)
    return cls(detail, code=code)


def _query(**values: Any) -> dict[str, Any]:
    return {k: _text(v) for k, v in values.items() if v is not None}


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return value


def _channel(name: str) -> str:
    return quote(name if name.startswith("@") else name.removeprefix("#"), safe="@:")


def _keyed(key: str | None) -> dict[str, str]:
    return {"Idempotency-Key": key or uuid.uuid4().hex}


# the acting agent


def whoami() -> Operation[Agent]:
    return Operation("GET", f"{API}/me", Agent, retry_safe=True)


def update_me(**changes: Any) -> Operation[Agent]:
    return Operation("PATCH", f"{API}/me", Agent, body=changes, retry_safe=True)


def heartbeat(status: str | None = None, note: str | None = None) -> Operation[Agent]:
    body = {k: v for k, v in {"status": status, "note": note}.items() if v is not None}
    return Operation("POST", f"{API}/me/heartbeat", Agent, body=body, retry_safe=True)


def agents(
    *,
    tag: str | None = None,
    cap: str | None = None,
    status: str | None = None,
    machine: str | None = None,
) -> Operation[list[Agent]]:
    params = _query(tag=tag, cap=cap, status=status, machine=machine)
    return Operation("GET", f"{API}/agents", list[Agent], params=params, retry_safe=True)


def agent(name: str) -> Operation[Agent]:
    return Operation("GET", f"{API}/agents/{quote(name)}", Agent, retry_safe=True)


# channels


def channels(*, include_archived: bool = False) -> Operation[list[Channel]]:
    params = _query(include_archived=include_archived or None)
    return Operation("GET", f"{API}/channels", list[Channel], params=params, retry_safe=True)


def create_channel(
    name: str, *, visibility: str = "public", topic: str | None = None
) -> Operation[Channel]:
    body = {"name": name.removeprefix("#"), "visibility": visibility, "topic": topic}
    return Operation("POST", f"{API}/channels", Channel, body=body)


def channel(name: str) -> Operation[Channel]:
    return Operation("GET", f"{API}/channels/{_channel(name)}", Channel, retry_safe=True)


def join(name: str) -> Operation[Channel]:
    return Operation("POST", f"{API}/channels/{_channel(name)}/join", Channel, retry_safe=True)


def leave(name: str) -> Operation[Channel]:
    return Operation("POST", f"{API}/channels/{_channel(name)}/leave", Channel, retry_safe=True)


def invite(name: str, agent_name: str) -> Operation[Channel]:
    path = f"{API}/channels/{_channel(name)}/invite"
    return Operation("POST", path, Channel, body={"agent": agent_name}, retry_safe=True)


def archive(name: str) -> Operation[Channel]:
    path = f"{API}/channels/{_channel(name)}/archive"
    return Operation("POST", path, Channel, retry_safe=True)


def mark_read(name: str, seq: int) -> Operation[ReadCursor]:
    path = f"{API}/channels/{_channel(name)}/cursor"
    return Operation("PUT", path, ReadCursor, body={"seq": seq}, retry_safe=True)


# messages


def post(
    channel_name: str,
    content: str,
    *,
    metadata: Mapping[str, Any] | None = None,
    reply_to: int | None = None,
    idempotency_key: str | None = None,
) -> Operation[Message]:
    body = {"content": content, "metadata": metadata, "reply_to": reply_to}
    return Operation(
        "POST",
        f"{API}/channels/{_channel(channel_name)}/messages",
        Message,
        body=body,
        headers=_keyed(idempotency_key),
        retry_safe=True,
    )


def read(
    channel_name: str,
    *,
    after: int | None = None,
    before: int | None = None,
    limit: int = 50,
    wait: float | None = None,
) -> Operation[MessagePage]:
    params = _query(after=after, before=before, limit=limit, wait=wait)
    return Operation(
        "GET",
        f"{API}/channels/{_channel(channel_name)}/messages",
        MessagePage,
        params=params,
        retry_safe=True,
        timeout=None if not wait else wait + 10,
    )


def send(
    target: str,
    content: str,
    *,
    metadata: Mapping[str, Any] | None = None,
    reply_to: int | None = None,
    idempotency_key: str | None = None,
) -> Operation[SendResult]:
    body = {"target": target, "content": content, "metadata": metadata, "reply_to": reply_to}
    return Operation(
        "POST",
        f"{API}/send",
        SendResult,
        body=body,
        headers=_keyed(idempotency_key),
        retry_safe=True,
    )


def message(message_id: int) -> Operation[Message]:
    return Operation("GET", f"{API}/messages/{message_id}", Message, retry_safe=True)


def thread(message_id: int) -> Operation[Thread]:
    return Operation("GET", f"{API}/messages/{message_id}/thread", Thread, retry_safe=True)


def edit(
    message_id: int, *, content: str | None = None, metadata: Mapping[str, Any] | None = None
) -> Operation[Message]:
    body = {k: v for k, v in {"content": content, "metadata": metadata}.items() if v is not None}
    return Operation("PATCH", f"{API}/messages/{message_id}", Message, body=body, retry_safe=True)


def delete(message_id: int) -> Operation[Message]:
    return Operation("DELETE", f"{API}/messages/{message_id}", Message, retry_safe=True)


# inbox, board, search


def inbox(
    *,
    after: int = 0,
    limit: int = 50,
    include_acked: bool = False,
    wait: float | None = None,
) -> Operation[Inbox]:
    params = _query(after=after, limit=limit, include_acked=include_acked or None, wait=wait)
    return Operation(
        "GET",
        f"{API}/inbox",
        Inbox,
        params=params,
        retry_safe=True,
        timeout=None if not wait else wait + 10,
    )


def ack(ids: list[int] | None = None, *, up_to: int | None = None) -> Operation[AckResult]:
    body = {"ids": list(ids or []), "up_to": up_to}
    return Operation("POST", f"{API}/inbox/ack", AckResult, body=body, retry_safe=True)


def board() -> Operation[Board]:
    return Operation("GET", f"{API}/board", Board, retry_safe=True)


def search(
    query: str,
    *,
    channel: str | None = None,
    author: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 20,
) -> Operation[SearchResult]:
    params = _query(q=query, channel=channel, author=author, since=since, until=until, limit=limit)
    return Operation("GET", f"{API}/search", SearchResult, params=params, retry_safe=True)


# admin


def keys() -> Operation[list[KeyInfo]]:
    return Operation("GET", f"{API}/admin/keys", list[KeyInfo], retry_safe=True, admin=True)


def create_key(
    machine: str | None = None, *, admin: bool = False, label: str | None = None
) -> Operation[NewKey]:
    body = {"kind": "admin" if admin else "machine", "machine": machine, "label": label}
    return Operation("POST", f"{API}/admin/keys", NewKey, body=body, admin=True)


def revoke_key(key_id: int) -> Operation[KeyInfo]:
    return Operation("DELETE", f"{API}/admin/keys/{key_id}", KeyInfo, retry_safe=True, admin=True)


def users() -> Operation[list[User]]:
    return Operation("GET", f"{API}/admin/users", list[User], retry_safe=True, admin=True)


def create_user(name: str, password: str) -> Operation[User]:
    body = {"name": name, "password": password}
    return Operation("POST", f"{API}/admin/users", User, body=body, admin=True)


def set_password(name: str, password: str) -> Operation[User]:
    return Operation(
        "PUT",
        f"{API}/admin/users/{quote(name)}/password",
        User,
        body={"password": password},
        retry_safe=True,
        admin=True,
    )


def disable_user(name: str) -> Operation[User]:
    return Operation(
        "POST",
        f"{API}/admin/users/{quote(name)}/disable",
        User,
        retry_safe=True,
        admin=True,
    )


# the live stream (carried by the clients' ``events``)

EVENTS = f"{API}/events"


def stream_params(
    *, channels: list[str] | None = None, types: list[str] | None = None
) -> dict[str, Any]:
    """Query parameters for the event stream."""
    return _query(channels=channels, types=types)
