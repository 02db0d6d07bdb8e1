"""Every REST operation as data: what to send and how to read the answer. No I/O here; the
async and sync clients only carry these over HTTP, so each operation is written once."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from typing import IO, Any, Generic, TypeVar, cast
from urllib.parse import quote, urlsplit
from urllib.request import getproxies

from pydantic import TypeAdapter

from hubbub.client.files import Readable
from hubbub.core.errors import HubbubError, InvalidInput, RateLimited, error_class_for_status
from hubbub.core.models import (
    A2AOutboxItem,
    A2ARemote,
    AckResult,
    Agent,
    AgentPurge,
    Board,
    Channel,
    ChannelRemoval,
    Cursors,
    Event,
    File,
    FileLink,
    FilePage,
    HubStats,
    Inbox,
    Integration,
    IntegrationEventResult,
    KeyInfo,
    LoginLink,
    Member,
    Message,
    MessagePage,
    NewIntegration,
    NewKey,
    News,
    Pair,
    Project,
    ReadCursor,
    RetentionReport,
    SearchResult,
    Seen,
    SendResult,
    Task,
    TaskPage,
    Thread,
    User,
    WebhookDelivery,
)

T = TypeVar("T")
API = "/api/v1"


@cache
def verify(url: str) -> bool:
    """Whether a client of the hub at ``url`` needs TLS certificates at all: not for a plain
    ``http://`` hub reached without a proxy from the environment, where no TLS ever happens;
    building the trust store it would never use costs every command tens of milliseconds."""
    return urlsplit(url).scheme != "http" or bool(getproxies())


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
    form: Mapping[str, str] | None = None
    """Form fields, sent as ``multipart/form-data`` with :attr:`upload` after them."""
    upload: tuple[str, IO[bytes], str | None] | None = None
    """A file to stream as the form's ``file`` part: its name, the file object, its type."""

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
    extra = {k: v for k, v in body.items() if k not in PROBLEM_FIELDS}
    return cls(detail, code=code, **extra)


PROBLEM_FIELDS = frozenset({"type", "title", "status", "detail", "code", "instance"})
"""A problem's standard members; any other (``candidates``, ``cursor``…) is the error's
``extra``."""


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


def _aware(name: str, moment: datetime | None) -> datetime | None:
    """``moment``, refused before it is sent if it names no time zone."""
    if moment is not None and moment.utcoffset() is None:
        raise InvalidInput(
            f"'{name}' needs a time zone (datetime.now(UTC), or .astimezone() for local time)",
            code="bad_time",
        )
    return moment


def _channel(name: str) -> str:
    return quote(name if name.startswith("@") else name.removeprefix("#"), safe="@:")


def _keyed(key: str | None) -> dict[str, str]:
    return {"Idempotency-Key": key or uuid.uuid4().hex}


# the acting agent


def whoami() -> Operation[Agent]:
    return Operation("GET", f"{API}/me", Agent, retry_safe=True)


def update_me(**changes: Any) -> Operation[Agent]:
    return Operation("PATCH", f"{API}/me", Agent, body=changes, retry_safe=True)


def is_own_profile(operation: Operation[Any]) -> bool:
    """True for ``GET /me`` and ``PATCH /me``: a profile can ride along with either."""
    return operation.path == f"{API}/me" and operation.method in ("GET", "PATCH")


def with_profile(operation: Operation[T], changes: Mapping[str, Any]) -> Operation[T]:
    """``GET /me`` or ``PATCH /me`` as one ``PATCH /me`` carrying ``changes`` too (the
    operation's own changes win)."""
    body = {**changes, **(operation.body or {})}
    return replace(operation, method="PATCH", body=body)


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


def channels(
    *,
    include_archived: bool = False,
    project: str | None = None,
    kind: str | None = None,
    category: str | None = None,
) -> Operation[list[Channel]]:
    params = _query(
        include_archived=include_archived or None, project=project, kind=kind, category=category
    )
    return Operation("GET", f"{API}/channels", list[Channel], params=params, retry_safe=True)


def projects(*, include_archived: bool = False) -> Operation[list[Project]]:
    params = _query(include_archived=include_archived or None)
    return Operation("GET", f"{API}/projects", list[Project], params=params, retry_safe=True)


def create_channel(
    name: str,
    *,
    visibility: str = "public",
    topic: str | None = None,
    project: str | None = None,
    branch: str | None = None,
) -> Operation[Channel]:
    body = {"name": name.removeprefix("#"), "visibility": visibility, "topic": topic}
    body |= {k: v for k, v in {"project": project, "branch": branch}.items() if v is not None}
    return Operation("POST", f"{API}/channels", Channel, body=body)


def update_channel(
    name: str,
    *,
    topic: str | None = None,
    project: str | None = None,
    branch: str | None = None,
) -> Operation[Channel]:
    changes = {"topic": topic, "project": project, "branch": branch}
    body = {k: v for k, v in changes.items() if v is not None}
    path = f"{API}/channels/{_channel(name)}"
    return Operation("PATCH", path, Channel, body=body, retry_safe=True)


def clear_channel(name: str) -> Operation[ChannelRemoval]:
    return Operation("POST", f"{API}/channels/{_channel(name)}/clear", ChannelRemoval)


def delete_channel(name: str) -> Operation[ChannelRemoval]:
    return Operation("DELETE", f"{API}/channels/{_channel(name)}", ChannelRemoval)


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


def set_channel_status(name: str, status: str | None) -> Operation[Member]:
    path = f"{API}/channels/{_channel(name)}/status"
    return Operation("PUT", path, Member, body={"status": status}, retry_safe=True)


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
    kind: str | None = None,
) -> Operation[Message]:
    body = {"content": content, "metadata": metadata, "reply_to": reply_to}
    if kind is not None:  # only when given, so hubs from before kinds still take the post
        body["kind"] = kind
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
    since: datetime | None = None,
    until: datetime | None = None,
    kind: str | None = None,
) -> Operation[MessagePage]:
    params = _query(
        after=after,
        before=before,
        limit=limit,
        wait=wait,
        since=_aware("since", since),
        until=_aware("until", until),
        kind=kind,
    )
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
    kind: str | None = None,
) -> Operation[SendResult]:
    body = {"target": target, "content": content, "metadata": metadata, "reply_to": reply_to}
    if kind is not None:
        body["kind"] = kind
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


def thread(message_id: int, *, kind: str | None = None) -> Operation[Thread]:
    path = f"{API}/messages/{message_id}/thread"
    return Operation("GET", path, Thread, params=_query(kind=kind), retry_safe=True)


def seen(message_id: int) -> Operation[Seen]:
    return Operation("GET", f"{API}/messages/{message_id}/seen", Seen, retry_safe=True)


def edit(
    message_id: int, *, content: str | None = None, metadata: Mapping[str, Any] | None = None
) -> Operation[Message]:
    body = {k: v for k, v in {"content": content, "metadata": metadata}.items() if v is not None}
    return Operation("PATCH", f"{API}/messages/{message_id}", Message, body=body, retry_safe=True)


def delete(message_id: int) -> Operation[Message]:
    return Operation("DELETE", f"{API}/messages/{message_id}", Message, retry_safe=True)


# files

UPLOAD_TIMEOUT = 600.0  # a file of many megabytes over a slow link
FILE_CONTENT = API + "/files/{id}/content"
"""Where a file's bytes are read from (streamed by the clients themselves)."""


def upload(
    to: str,
    handle: Readable,
    *,
    name: str | None = None,
    content_type: str | None = None,
    message: str | None = None,
    sha256: str | None = None,
) -> Operation[File]:
    # Not retried: the file object has been read.
    form = {k: v for k, v in {"message": message, "sha256": sha256}.items() if v is not None}
    return Operation(
        "POST",
        f"{API}/files",
        File,
        params={"to": to},
        form=form,
        # httpx reads a file part with read() alone when it cannot seek (a Stream).
        upload=(name or "file", cast(IO[bytes], handle), content_type),
        timeout=UPLOAD_TIMEOUT,
    )


def files(
    *,
    channel: str | None = None,
    name: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> Operation[FilePage]:
    params = _query(channel=channel, name=name, before=before, limit=limit)
    return Operation("GET", f"{API}/files", FilePage, params=params, retry_safe=True)


def file(file_id: int) -> Operation[File]:
    return Operation("GET", f"{API}/files/{file_id}", File, retry_safe=True)


def file_link(file_id: int, *, ttl: int | None = None) -> Operation[FileLink]:
    body = _present(ttl_seconds=ttl)
    return Operation("POST", f"{API}/files/{file_id}/link", FileLink, body=body, retry_safe=True)


def delete_file(file_id: int) -> Operation[File]:
    return Operation("DELETE", f"{API}/files/{file_id}", File)


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


def cursor() -> Operation[Cursors]:
    return Operation("GET", f"{API}/cursor", Cursors, retry_safe=True)


def search(
    query: str,
    *,
    channel: str | None = None,
    author: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 20,
    kind: str | None = None,
    project: str | None = None,
) -> Operation[SearchResult]:
    params = _query(
        q=query,
        channel=channel,
        author=author,
        since=since,
        until=until,
        limit=limit,
        kind=kind,
        project=project,
    )
    return Operation("GET", f"{API}/search", SearchResult, params=params, retry_safe=True)


# tasks


def create_task(
    title: str,
    target: str,
    *,
    body: str = "",
    priority: int = 0,
    labels: list[str] | None = None,
    dedupe_key: str | None = None,
    max_attempts: int | None = None,
    lease_seconds: float | None = None,
    due_at: datetime | None = None,
    callback_url: str | None = None,
    callback_secret: str | None = None,
    offer: bool = True,
    idempotency_key: str | None = None,
) -> Operation[Task]:
    fields = {
        "title": title,
        "target": target,
        "body": body,
        "priority": priority,
        "labels": list(labels or []),
        "dedupe_key": dedupe_key,
        "max_attempts": max_attempts,
        "lease_seconds": lease_seconds,
        "due_at": None if due_at is None else due_at.isoformat(),
        "callback_url": callback_url,
        "callback_secret": callback_secret,
        "offer": offer,
    }
    return Operation(
        "POST",
        f"{API}/tasks",
        Task,
        body={k: v for k, v in fields.items() if v is not None},
        headers=_keyed(idempotency_key),
        retry_safe=True,
    )


def tasks(
    *,
    status: str | None = None,
    target: str | None = None,
    holder: str | None = None,
    created_by: str | None = None,
    label: str | None = None,
    available: bool = False,
    after: int = 0,
    limit: int = 50,
) -> Operation[TaskPage]:
    params = _query(
        status=status,
        target=target,
        holder=holder,
        created_by=created_by,
        label=label,
        available=available or None,
        after=after or None,
        limit=limit,
    )
    return Operation("GET", f"{API}/tasks", TaskPage, params=params, retry_safe=True)


def task(task_id: int) -> Operation[Task]:
    return Operation("GET", f"{API}/tasks/{task_id}", Task, retry_safe=True)


def task_events(task_id: int, *, after: int = 0, limit: int = 100) -> Operation[list[Event]]:
    params = _query(after=after or None, limit=limit)
    path = f"{API}/tasks/{task_id}/events"
    return Operation("GET", path, list[Event], params=params, retry_safe=True)


def claim_task(task_id: int, *, lease_seconds: float | None = None) -> Operation[Task]:
    # Not retried: a claim that reached the hub and is sent again would meet its own claim.
    body = _present(lease_seconds=lease_seconds)
    return Operation("POST", f"{API}/tasks/{task_id}/claim", Task, body=body)


def claim_next(
    *, wait: float | None = None, lease_seconds: float | None = None
) -> Operation[Task | None]:
    body = _present(wait=wait, lease_seconds=lease_seconds)
    return Operation(
        "POST",
        f"{API}/tasks/claim",
        Task | None,
        body=body,
        timeout=None if not wait else wait + 10,
    )


def renew_task(task_id: int, fence: int, *, lease_seconds: float | None = None) -> Operation[Task]:
    body = _present(fence=fence, lease_seconds=lease_seconds)
    path = f"{API}/tasks/{task_id}/renew"
    return Operation("POST", path, Task, body=body, retry_safe=True)


def task_progress(
    task_id: int, fence: int, *, percent: int | None = None, note: str | None = None
) -> Operation[Task]:
    body = _present(fence=fence, percent=percent, note=note)
    path = f"{API}/tasks/{task_id}/progress"
    return Operation("POST", path, Task, body=body, retry_safe=True)


def complete_task(
    task_id: int, fence: int, *, result: Any = None, text: str | None = None
) -> Operation[Task]:
    body = _present(fence=fence, result=result, text=text)
    path = f"{API}/tasks/{task_id}/complete"
    return Operation("POST", path, Task, body=body, retry_safe=True)


def fail_task(
    task_id: int, fence: int, *, result: Any = None, text: str | None = None
) -> Operation[Task]:
    body = _present(fence=fence, result=result, text=text)
    return Operation("POST", f"{API}/tasks/{task_id}/fail", Task, body=body, retry_safe=True)


def release_task(task_id: int, fence: int) -> Operation[Task]:
    return Operation("POST", f"{API}/tasks/{task_id}/release", Task, body={"fence": fence})


def cancel_task(task_id: int, *, reason: str | None = None) -> Operation[Task]:
    path = f"{API}/tasks/{task_id}/cancel"
    return Operation("POST", path, Task, body=_present(reason=reason), retry_safe=True)


def _present(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


# pairs


def invite_pair(
    target: str, *, topic: str | None = None, message: str | None = None
) -> Operation[Pair]:
    body = _present(target=target, topic=topic, message=message)
    return Operation("POST", f"{API}/pairs", Pair, body=body)


def pairs(
    *, state: str | None = None, before: int | None = None, limit: int = 50
) -> Operation[list[Pair]]:
    params = _query(state=state, before=before, limit=limit)
    return Operation("GET", f"{API}/pairs", list[Pair], params=params, retry_safe=True)


def pair(pair_id: int) -> Operation[Pair]:
    return Operation("GET", f"{API}/pairs/{pair_id}", Pair, retry_safe=True)


# Answers and ends are not retried: a repeat is refused, as the pair has moved on.


def accept_pair(pair_id: int) -> Operation[Pair]:
    return Operation("POST", f"{API}/pairs/{pair_id}/accept", Pair)


def reject_pair(pair_id: int) -> Operation[Pair]:
    return Operation("POST", f"{API}/pairs/{pair_id}/reject", Pair)


def end_pair(pair_id: int) -> Operation[Pair]:
    return Operation("POST", f"{API}/pairs/{pair_id}/end", Pair)


def post_pair(
    pair_id: int,
    content: str,
    *,
    metadata: Mapping[str, Any] | None = None,
    reply_to: int | None = None,
    idempotency_key: str | None = None,
    kind: str | None = None,
) -> Operation[Message]:
    body = {"content": content, "metadata": metadata, "reply_to": reply_to, **_present(kind=kind)}
    return Operation(
        "POST",
        f"{API}/pairs/{pair_id}/messages",
        Message,
        body=body,
        headers=_keyed(idempotency_key),
        retry_safe=True,
    )


def read_pair(
    pair_id: int,
    *,
    after: int | None = None,
    before: int | None = None,
    limit: int = 50,
    wait: float | None = None,
) -> Operation[MessagePage]:
    params = _query(after=after, before=before, limit=limit, wait=wait)
    return Operation(
        "GET",
        f"{API}/pairs/{pair_id}/messages",
        MessagePage,
        params=params,
        retry_safe=True,
        timeout=None if not wait else wait + 10,
    )


# admin


def deactivate_agent(name: str) -> Operation[Agent]:
    path = f"{API}/admin/agents/{quote(name)}/deactivate"
    return Operation("POST", path, Agent, retry_safe=True, admin=True)


def reactivate_agent(name: str) -> Operation[Agent]:
    path = f"{API}/admin/agents/{quote(name)}/reactivate"
    return Operation("POST", path, Agent, retry_safe=True, admin=True)


def delete_agent(name: str) -> Operation[Agent]:
    path = f"{API}/admin/agents/{quote(name)}"
    return Operation("DELETE", path, Agent, retry_safe=True, admin=True)


def retention(*, dry_run: bool) -> Operation[RetentionReport]:
    if dry_run:
        return Operation(
            "GET", f"{API}/admin/retention", RetentionReport, retry_safe=True, admin=True
        )
    return Operation("POST", f"{API}/admin/retention/prune", RetentionReport, admin=True)


def set_channel_retention(channel: str, days: float | None) -> Operation[Channel]:
    path = f"{API}/admin/channels/{_channel(channel)}/retention"
    body = {"retention_days": days}
    return Operation("PUT", path, Channel, body=body, retry_safe=True, admin=True)


def purge_agent(name: str) -> Operation[AgentPurge]:
    path = f"{API}/admin/agents/{quote(name)}/purge"
    return Operation("POST", path, AgentPurge, retry_safe=True, admin=True)


def stats() -> Operation[HubStats]:
    return Operation("GET", f"{API}/stats", HubStats, retry_safe=True, admin=True)


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


def create_user(name: str, password: str, admin: bool = False) -> Operation[User]:
    body = {"name": name, "password": password, "admin": admin}
    return Operation("POST", f"{API}/admin/users", User, body=body, admin=True)


def set_user_admin(name: str, admin: bool) -> Operation[User]:
    return Operation(
        "PUT",
        f"{API}/admin/users/{quote(name)}/admin",
        User,
        body={"admin": admin},
        retry_safe=True,
        admin=True,
    )


def news(session: str, shown_upto: int | None = None) -> Operation[News]:
    """The inbox items a tool session was not told of, as one line (told now); or, with
    ``shown_upto``, note that a tool showed the session its inbox up to that id."""
    body: dict[str, Any] = {"session": session}
    if shown_upto is not None:
        body["shown_upto"] = shown_upto
    return Operation("POST", f"{API}/news", News, body=body)


def login_link(name: str) -> Operation[LoginLink]:
    return Operation("POST", f"{API}/admin/users/{quote(name)}/login-link", LoginLink, admin=True)


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


# integrations (created with the admin key) and what they send


def integrations() -> Operation[list[Integration]]:
    path = f"{API}/admin/integrations"
    return Operation("GET", path, list[Integration], retry_safe=True, admin=True)


def create_integration(
    name: str,
    *,
    scopes: list[str],
    targets: list[str] | None = None,
    channels: list[str] | None = None,
    rate_limit: float | None = None,
    rate_burst: float | None = None,
    webhook_url: str | None = None,
    allow_private: bool = False,
) -> Operation[NewIntegration]:
    body = _present(
        name=name,
        scopes=list(scopes),
        targets=list(targets or []),
        channels=list(channels or []),
        rate_limit=rate_limit,
        rate_burst=rate_burst,
        webhook_url=webhook_url,
        allow_private=allow_private or None,
    )
    return Operation("POST", f"{API}/admin/integrations", NewIntegration, body=body, admin=True)


def integration(name: str) -> Operation[Integration]:
    path = f"{API}/admin/integrations/{quote(name)}"
    return Operation("GET", path, Integration, retry_safe=True, admin=True)


def revoke_integration(name: str) -> Operation[Integration]:
    path = f"{API}/admin/integrations/{quote(name)}"
    return Operation("DELETE", path, Integration, retry_safe=True, admin=True)


def integration_deliveries(
    name: str, *, status: str | None = None, before: int | None = None, limit: int = 50
) -> Operation[list[WebhookDelivery]]:
    params = _query(status=status, before=before, limit=limit)
    path = f"{API}/admin/integrations/{quote(name)}/deliveries"
    kind = list[WebhookDelivery]
    return Operation("GET", path, kind, params=params, retry_safe=True, admin=True)


# remote A2A agents (registered with the admin key)


def a2a_remotes() -> Operation[list[A2ARemote]]:
    path = f"{API}/admin/a2a/agents"
    return Operation("GET", path, list[A2ARemote], retry_safe=True, admin=True)


def add_a2a_remote(
    name: str, url: str, *, token: str | None = None, label: str | None = None
) -> Operation[A2ARemote]:
    body = _present(name=name, url=url, token=token, label=label)
    return Operation("POST", f"{API}/admin/a2a/agents", A2ARemote, body=body, admin=True)


def a2a_remote(name: str) -> Operation[A2ARemote]:
    path = f"{API}/admin/a2a/agents/{quote(name)}"
    return Operation("GET", path, A2ARemote, retry_safe=True, admin=True)


def remove_a2a_remote(name: str) -> Operation[A2ARemote]:
    path = f"{API}/admin/a2a/agents/{quote(name)}"
    return Operation("DELETE", path, A2ARemote, retry_safe=True, admin=True)


def a2a_outbox(
    name: str, *, status: str | None = None, limit: int = 50
) -> Operation[list[A2AOutboxItem]]:
    params = _query(status=status, limit=limit)
    path = f"{API}/admin/a2a/agents/{quote(name)}/outbox"
    return Operation("GET", path, list[A2AOutboxItem], params=params, retry_safe=True, admin=True)


def task_deliveries(
    task_id: int, *, status: str | None = None, before: int | None = None, limit: int = 50
) -> Operation[list[WebhookDelivery]]:
    params = _query(status=status, before=before, limit=limit)
    path = f"{API}/tasks/{task_id}/deliveries"
    return Operation("GET", path, list[WebhookDelivery], params=params, retry_safe=True)


def integration_event(
    action: str,
    dedupe_key: str,
    *,
    title: str | None = None,
    body: str | None = None,
    target: str | None = None,
    priority: int | None = None,
    labels: list[str] | None = None,
    due_at: datetime | None = None,
) -> Operation[IntegrationEventResult]:
    fields = _present(
        action=action,
        dedupe_key=dedupe_key,
        title=title,
        body=body,
        target=target,
        priority=priority,
        labels=None if labels is None else list(labels),
        due_at=None if due_at is None else due_at.isoformat(),
    )
    # The dedupe_key names the task, so a retry never makes a second one.
    path = f"{API}/integrations/events"
    return Operation("POST", path, IntegrationEventResult, body=fields, retry_safe=True)


# the live stream (carried by the clients' ``events``)

EVENTS = f"{API}/events"
FIREHOSE = f"{API}/admin/events"


def stream_params(
    *,
    channels: list[str] | None = None,
    types: list[str] | None = None,
    kind: str | None = None,
) -> dict[str, Any]:
    """Query parameters for the event stream."""
    return _query(channels=channels, types=types, kind=kind)
