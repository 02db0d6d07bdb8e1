"""The synchronous client, generated from ``_async.py`` by ``scripts/unasync.py``.
Do not edit: change ``_async.py`` and run ``make generate``."""

from __future__ import annotations

import random
import time
from collections.abc import Generator, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx

from hubbub.client import operations as ops
from hubbub.client.settings import ClientSettings
from hubbub.client.sse import EventParser
from hubbub.core.errors import HubbubError, Unauthorized, Unavailable
from hubbub.core.models import (
    AckResult,
    Agent,
    Board,
    Channel,
    Event,
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
RETRY_STATUSES = frozenset({502, 503, 504})
# Streams idle between heartbeats (15 s): a read silent for 60 s means a dead connection.
STREAM_TIMEOUT = httpx.Timeout(10.0, read=60.0)


class Client:
    """Every hub operation, as one agent. Settings come from the arguments, else the
    ``HUBBUB_*`` environment, else ``~/.config/hubbub/config.toml``; the agent defaults to
    ``{machine}-{basename of the current directory}``."""

    def __init__(
        self,
        url: str | None = None,
        key: str | None = None,
        agent: str | None = None,
        *,
        admin_key: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = ClientSettings.resolve(url=url, key=key, agent=agent, admin_key=admin_key)
        self.retries = retries
        self._http = httpx.Client(base_url=self.settings.url, timeout=timeout, transport=transport)

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def call(self, operation: ops.Operation[T]) -> T:
        """Send one operation; retry it through brief faults when that is safe."""
        headers = {**self.settings.headers(admin=operation.admin), **operation.headers}
        attempts = 1 + (self.retries if operation.retry_safe else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._http.request(
                    operation.method,
                    operation.path,
                    params=dict(operation.params),
                    json=operation.body,
                    headers=headers,
                    timeout=operation.timeout or self._http.timeout,
                )
            except httpx.TransportError as error:
                if last:
                    raise Unavailable(
                        f"cannot reach the hub at {self.settings.url}: {error}",
                        code="unreachable",
                    ) from error
                time.sleep(backoff(attempt))
                continue
            if response.status_code in RETRY_STATUSES and not last and operation.retry_safe:
                time.sleep(backoff(attempt))
                continue
            if response.is_success:
                return operation.parse(response.content)
            raise ops.error_from(response.status_code, response.content, response.reason_phrase)
        raise AssertionError("unreachable")  # pragma: no cover

    # the acting agent

    def whoami(self) -> Agent:
        """The acting agent (registered on first use)."""
        return self.call(ops.whoami())

    def update_me(self, **changes: Any) -> Agent:
        """Change label, tags, capabilities, status, status_note or visibility."""
        return self.call(ops.update_me(**changes))

    def heartbeat(self, status: str | None = None, note: str | None = None) -> Agent:
        """Stay present; optionally set a status and note."""
        return self.call(ops.heartbeat(status, note))

    def agents(
        self,
        *,
        tag: str | None = None,
        cap: str | None = None,
        status: str | None = None,
        machine: str | None = None,
    ) -> list[Agent]:
        """Agents matching every filter."""
        return self.call(ops.agents(tag=tag, cap=cap, status=status, machine=machine))

    def agent(self, name: str) -> Agent:
        """One agent."""
        return self.call(ops.agent(name))

    # channels

    def channels(self, *, include_archived: bool = False) -> list[Channel]:
        """Public channels and those the agent belongs to."""
        return self.call(ops.channels(include_archived=include_archived))

    def create_channel(
        self, name: str, *, visibility: str = "public", topic: str | None = None
    ) -> Channel:
        """Create a channel (public, private or secret)."""
        return self.call(ops.create_channel(name, visibility=visibility, topic=topic))

    def channel(self, name: str) -> Channel:
        """One channel with its members."""
        return self.call(ops.channel(name))

    def join(self, name: str) -> Channel:
        """Join a public channel."""
        return self.call(ops.join(name))

    def leave(self, name: str) -> Channel:
        """Leave a channel."""
        return self.call(ops.leave(name))

    def invite(self, name: str, agent: str) -> Channel:
        """Add an agent to a channel the agent is in."""
        return self.call(ops.invite(name, agent))

    def archive(self, name: str) -> Channel:
        """Archive a channel (its creator, or an admin)."""
        return self.call(ops.archive(name))

    def mark_read(self, name: str, seq: int) -> ReadCursor:
        """Move the read cursor of a channel forward."""
        return self.call(ops.mark_read(name, seq))

    # messages

    def post(
        self,
        channel: str,
        content: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        reply_to: int | None = None,
        idempotency_key: str | None = None,
    ) -> Message:
        """Post in a channel; retried safely under a generated idempotency key."""
        operation = ops.post(
            channel,
            content,
            metadata=metadata,
            reply_to=reply_to,
            idempotency_key=idempotency_key,
        )
        return self.call(operation)

    def read(
        self,
        channel: str,
        *,
        after: int | None = None,
        before: int | None = None,
        limit: int = 50,
        wait: float | None = None,
    ) -> MessagePage:
        """A page of a channel (``@agent`` for a DM); with ``after`` and ``wait``, wait for
        the next post."""
        return self.call(ops.read(channel, after=after, before=before, limit=limit, wait=wait))

    def send(
        self,
        target: str,
        content: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        reply_to: int | None = None,
        idempotency_key: str | None = None,
    ) -> SendResult:
        """Send to ``#channel``, ``@agent``, ``label:``, ``tag:``, ``cap:`` or ``broadcast``."""
        operation = ops.send(
            target,
            content,
            metadata=metadata,
            reply_to=reply_to,
            idempotency_key=idempotency_key,
        )
        return self.call(operation)

    def message(self, message_id: int) -> Message:
        """One message."""
        return self.call(ops.message(message_id))

    def thread(self, message_id: int) -> Thread:
        """The thread a message belongs to."""
        return self.call(ops.thread(message_id))

    def edit(
        self,
        message_id: int,
        *,
        content: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Message:
        """Edit one of the agent's messages."""
        return self.call(ops.edit(message_id, content=content, metadata=metadata))

    def delete(self, message_id: int) -> Message:
        """Delete one of the agent's messages."""
        return self.call(ops.delete(message_id))

    # inbox, board, search

    def inbox(
        self,
        *,
        after: int = 0,
        limit: int = 50,
        include_acked: bool = False,
        wait: float | None = None,
    ) -> Inbox:
        """Peek at the inbox (never consumes)."""
        return self.call(
            ops.inbox(after=after, limit=limit, include_acked=include_acked, wait=wait)
        )

    def wait_inbox(self, *, after: int = 0, wait: float = 50.0) -> Inbox:
        """Wait up to ``wait`` seconds for inbox items after ``after``."""
        return self.inbox(after=after, wait=wait)

    def ack(self, ids: list[int] | None = None, *, up_to: int | None = None) -> AckResult:
        """Acknowledge items by id, or all up to an id."""
        return self.call(ops.ack(ids, up_to=up_to))

    def board(self) -> Board:
        """Unread per channel and the head of the inbox."""
        return self.call(ops.board())

    def search(
        self,
        query: str,
        *,
        channel: str | None = None,
        author: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
    ) -> SearchResult:
        """Full-text search over what the agent may read."""
        return self.call(
            ops.search(query, channel=channel, author=author, since=since, until=until, limit=limit)
        )

    # admin

    def keys(self) -> list[KeyInfo]:
        """Every key (needs the admin key)."""
        return self.call(ops.keys())

    def create_key(
        self, machine: str | None = None, *, admin: bool = False, label: str | None = None
    ) -> NewKey:
        """Create a key, shown once (needs the admin key)."""
        return self.call(ops.create_key(machine, admin=admin, label=label))

    def revoke_key(self, key_id: int) -> KeyInfo:
        """Revoke a key (needs the admin key)."""
        return self.call(ops.revoke_key(key_id))

    def users(self) -> list[User]:
        """Every human user, never a password hash (needs the admin key)."""
        return self.call(ops.users())

    def create_user(self, name: str, password: str) -> User:
        """Create a human user (needs the admin key)."""
        return self.call(ops.create_user(name, password))

    def set_password(self, name: str, password: str) -> User:
        """Replace a user's password (needs the admin key)."""
        return self.call(ops.set_password(name, password))

    def disable_user(self, name: str) -> User:
        """Disable a user so it can no longer log in (needs the admin key)."""
        return self.call(ops.disable_user(name))

    # the live stream

    def events(
        self,
        *,
        after: int | None = None,
        channels: list[str] | None = None,
        types: list[str] | None = None,
        reconnects: int | None = None,
    ) -> Generator[Event, None, None]:
        """Every event the agent may see, forever: reconnects with backoff after any fault
        and resumes after the last event it yielded, so nothing is missed or repeated.
        ``reconnects`` caps consecutive failed reconnects (``None``: no cap). Close the
        iterator (``close``) when done with it, to end its connection at once."""
        cursor = after
        failures = 0
        params = ops.stream_params(channels=channels, types=types)
        while True:
            headers = self.settings.headers(admin=False)
            if cursor is not None:
                headers["Last-Event-ID"] = str(cursor)
            try:
                with self._http.stream(
                    "GET", ops.EVENTS, params=params, headers=headers, timeout=STREAM_TIMEOUT
                ) as response:
                    if not response.is_success:
                        response.read()
                        raise ops.error_from(
                            response.status_code, response.content, response.reason_phrase
                        )
                    failures = 0
                    parser = EventParser()
                    for line in response.iter_lines():
                        frame = parser.feed(line)
                        if frame is None:
                            continue
                        if frame.event == "resync":
                            cursor = frame.cursor()
                            break
                        if frame.event == "closed":
                            raise Unauthorized(frame.detail(), code="bad_key")
                        event = frame.parse()
                        cursor = event.seq
                        yield event
            except (httpx.TransportError, Unavailable) as error:
                failures += 1
                if reconnects is not None and failures > reconnects:
                    raise Unavailable(
                        f"lost the event stream from {self.settings.url}: {error}",
                        code="unreachable",
                    ) from error
                time.sleep(backoff(failures - 1))
            except HubbubError:
                raise


def backoff(attempt: int) -> float:
    """Seconds before retry ``attempt`` (0-based): exponential with jitter, capped at 10 s."""
    return float(min(10.0, 0.2 * 2**attempt) * (0.5 + random.random() / 2))
