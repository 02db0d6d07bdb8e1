"""The asynchronous client. ``_sync.py`` is generated from this file by
``scripts/unasync.py`` (``make generate``); edit this one."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, Mapping
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from hubbub.client import operations as ops
from hubbub.client.files import Receiver, Source, announced, opened, sha256_of
from hubbub.client.settings import ClientSettings
from hubbub.client.sse import EventParser
from hubbub.core.errors import HubbubError, Unauthorized, Unavailable
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

if TYPE_CHECKING:
    from hubbub.client.profiles import Profile

T = TypeVar("T")
RETRY_STATUSES = frozenset({502, 503, 504})
# Streams idle between heartbeats (15 s): a read silent for 60 s means a dead connection.
STREAM_TIMEOUT = httpx.Timeout(10.0, read=60.0)


class AsyncClient:
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
        transport: httpx.AsyncBaseTransport | None = None,
        profile: Profile | str | None = None,
    ) -> None:
        self.settings = ClientSettings.resolve(
            url=url, key=key, agent=agent, admin_key=admin_key, profile=profile
        )
        self.retries = retries
        # The profile goes out once, with the first request made as the agent.
        self._profile_due = self.settings.profile is not None
        self._http = httpx.AsyncClient(
            base_url=self.settings.url,
            timeout=timeout,
            transport=transport,
            verify=ops.verify(self.settings.url),
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def call(self, operation: ops.Operation[T]) -> T:
        """Send one operation; retry it through brief faults when that is safe. The first one
        made as the agent carries the profile, if one is set (see :meth:`apply_profile`)."""
        profile = self.settings.profile
        if profile and self._profile_due and not operation.admin and self.settings.acts_as_agent:
            # Done only once the hub took it: a hub out of reach gets it with the next request.
            changes = profile.changes()
            if ops.is_own_profile(operation):
                answer = await self._send(ops.with_profile(operation, changes))
                self._profile_due = False
                return answer
            await self._send(ops.update_me(**changes))
            self._profile_due = False
        return await self._send(operation)

    async def apply_profile(self) -> Agent | None:
        """Apply the profile now (one ``PATCH /me``) unless a request already did; ``None``
        if there was nothing to apply. The first request as the agent sends it anyway: this
        sends it sooner (``hubbub mcp`` does, when it starts)."""
        if not self._profile_due or not self.settings.acts_as_agent:
            return None
        return await self.whoami()

    async def _send(self, operation: ops.Operation[T]) -> T:
        headers = {**self.settings.headers(admin=operation.admin), **operation.headers}
        attempts = 1 + (self.retries if operation.retry_safe else 0)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = await self._http.request(
                    operation.method,
                    operation.path,
                    params=dict(operation.params),
                    json=operation.body,
                    data=operation.form,
                    files=None if operation.upload is None else {"file": operation.upload},
                    headers=headers,
                    timeout=operation.timeout or self._http.timeout,
                )
            except httpx.TransportError as error:
                if last:
                    raise Unavailable(
                        f"cannot reach the hub at {self.settings.url}: {error}",
                        code="unreachable",
                    ) from error
                await asyncio.sleep(backoff(attempt))
                continue
            if response.status_code in RETRY_STATUSES and not last and operation.retry_safe:
                await asyncio.sleep(backoff(attempt))
                continue
            if response.is_success:
                return operation.parse(response.content)
            raise ops.error_from(response.status_code, response.content, response.reason_phrase)
        raise AssertionError("unreachable")  # pragma: no cover

    # the acting agent

    async def whoami(self) -> Agent:
        """The acting agent (registered on first use)."""
        return await self.call(ops.whoami())

    async def update_me(self, **changes: Any) -> Agent:
        """Change label, tags, capabilities, status, status_note or visibility."""
        return await self.call(ops.update_me(**changes))

    async def heartbeat(self, status: str | None = None, note: str | None = None) -> Agent:
        """Stay present; optionally set a status and note."""
        return await self.call(ops.heartbeat(status, note))

    async def agents(
        self,
        *,
        tag: str | None = None,
        cap: str | None = None,
        status: str | None = None,
        machine: str | None = None,
    ) -> list[Agent]:
        """Agents matching every filter."""
        return await self.call(ops.agents(tag=tag, cap=cap, status=status, machine=machine))

    async def agent(self, name: str) -> Agent:
        """One agent."""
        return await self.call(ops.agent(name))

    # channels

    async def channels(
        self,
        *,
        include_archived: bool = False,
        project: str | None = None,
        kind: str | None = None,
        category: str | None = None,
    ) -> list[Channel]:
        """Public channels and those the agent belongs to; only those of a ``project``, a
        ``kind`` (``dm``, ``pair``; default ``channel``) or a ``category`` (``global``,
        ``project``, ``tech``, ``other``), if given."""
        operation = ops.channels(
            include_archived=include_archived, project=project, kind=kind, category=category
        )
        return await self.call(operation)

    async def projects(self, *, include_archived: bool = False) -> list[Project]:
        """The projects of the channels the agent may see, with their counts."""
        return await self.call(ops.projects(include_archived=include_archived))

    async def create_channel(
        self,
        name: str,
        *,
        visibility: str = "public",
        topic: str | None = None,
        project: str | None = None,
        branch: str | None = None,
    ) -> Channel:
        """Create a channel (public, private or secret), about a project and branch if
        given."""
        return await self.call(
            ops.create_channel(
                name, visibility=visibility, topic=topic, project=project, branch=branch
            )
        )

    async def update_channel(
        self,
        name: str,
        *,
        topic: str | None = None,
        project: str | None = None,
        branch: str | None = None,
    ) -> Channel:
        """Change a channel's topic, project or branch (``""`` clears one); its creator or
        an admin."""
        return await self.call(
            ops.update_channel(name, topic=topic, project=project, branch=branch)
        )

    async def clear_channel(self, name: str) -> ChannelRemoval:
        """Remove every message of a channel, keeping the channel (its creator, or an
        admin)."""
        return await self.call(ops.clear_channel(name))

    async def delete_channel(self, name: str) -> ChannelRemoval:
        """Delete an archived channel and everything in it (its creator, or an admin)."""
        return await self.call(ops.delete_channel(name))

    async def channel(self, name: str) -> Channel:
        """One channel with its members."""
        return await self.call(ops.channel(name))

    async def join(self, name: str) -> Channel:
        """Join a public channel."""
        return await self.call(ops.join(name))

    async def leave(self, name: str) -> Channel:
        """Leave a channel."""
        return await self.call(ops.leave(name))

    async def invite(self, name: str, agent: str) -> Channel:
        """Add an agent to a channel the agent is in."""
        return await self.call(ops.invite(name, agent))

    async def archive(self, name: str) -> Channel:
        """Archive a channel (its creator, or an admin)."""
        return await self.call(ops.archive(name))

    async def set_channel_status(self, name: str, status: str | None) -> Member:
        """Say what the agent is doing in one channel it is in (``None`` or blank clears
        it), beside its global status."""
        return await self.call(ops.set_channel_status(name, status))

    async def mark_read(self, name: str, seq: int) -> ReadCursor:
        """Move the read cursor of a channel forward."""
        return await self.call(ops.mark_read(name, seq))

    # messages

    async def post(
        self,
        channel: str,
        content: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        reply_to: int | None = None,
        idempotency_key: str | None = None,
        kind: str | None = None,
    ) -> Message:
        """Post in a channel; retried safely under a generated idempotency key. ``kind``
        says what the message is (``question``, ``decision``…)."""
        operation = ops.post(
            channel,
            content,
            metadata=metadata,
            reply_to=reply_to,
            idempotency_key=idempotency_key,
            kind=kind,
        )
        return await self.call(operation)

    async def read(
        self,
        channel: str,
        *,
        after: int | None = None,
        before: int | None = None,
        limit: int = 50,
        wait: float | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        kind: str | None = None,
    ) -> MessagePage:
        """A page of a channel (``@agent`` for a DM); with ``after`` and ``wait``, wait for
        the next post. ``since`` and ``until`` (aware times) keep only messages created in
        that window; ``since`` alone pages forward from it. ``kind`` keeps (and waits for)
        only messages of that kind."""
        operation = ops.read(
            channel,
            after=after,
            before=before,
            limit=limit,
            wait=wait,
            since=since,
            until=until,
            kind=kind,
        )
        return await self.call(operation)

    async def send(
        self,
        target: str,
        content: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        reply_to: int | None = None,
        idempotency_key: str | None = None,
        kind: str | None = None,
    ) -> SendResult:
        """Send to ``#channel``, ``@agent``, ``label:``, ``tag:``, ``cap:`` or ``broadcast``
        (``kind``: what the message is)."""
        operation = ops.send(
            target,
            content,
            metadata=metadata,
            reply_to=reply_to,
            idempotency_key=idempotency_key,
            kind=kind,
        )
        return await self.call(operation)

    async def message(self, message_id: int) -> Message:
        """One message."""
        return await self.call(ops.message(message_id))

    async def thread(self, message_id: int, *, kind: str | None = None) -> Thread:
        """The thread a message belongs to (only replies of ``kind``, if given)."""
        return await self.call(ops.thread(message_id, kind=kind))

    async def seen(self, message_id: int) -> Seen:
        """Which members have read past a message, and which have not."""
        return await self.call(ops.seen(message_id))

    async def edit(
        self,
        message_id: int,
        *,
        content: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Message:
        """Edit one of the agent's messages."""
        return await self.call(ops.edit(message_id, content=content, metadata=metadata))

    async def delete(self, message_id: int) -> Message:
        """Delete one of the agent's messages."""
        return await self.call(ops.delete(message_id))

    # inbox, board, search

    async def inbox(
        self,
        *,
        after: int = 0,
        limit: int = 50,
        include_acked: bool = False,
        wait: float | None = None,
    ) -> Inbox:
        """Peek at the inbox (never consumes)."""
        return await self.call(
            ops.inbox(after=after, limit=limit, include_acked=include_acked, wait=wait)
        )

    async def wait_inbox(self, *, after: int = 0, wait: float = 50.0) -> Inbox:
        """Wait up to ``wait`` seconds for inbox items after ``after``."""
        return await self.inbox(after=after, wait=wait)

    async def ack(self, ids: list[int] | None = None, *, up_to: int | None = None) -> AckResult:
        """Acknowledge items by id, or all up to an id."""
        return await self.call(ops.ack(ids, up_to=up_to))

    async def board(self) -> Board:
        """Unread per channel and the head of the inbox."""
        return await self.call(ops.board())

    async def cursor(self) -> Cursors:
        """Where a poller starts: the newest event and message id the agent may see, to
        stream, wait or read ``after``."""
        return await self.call(ops.cursor())

    async def search(
        self,
        query: str,
        *,
        channel: str | None = None,
        author: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
        kind: str | None = None,
        project: str | None = None,
    ) -> SearchResult:
        """Full-text search over what the agent may read (only messages of ``kind``, and in
        the channels of ``project``, if given)."""
        operation = ops.search(
            query,
            channel=channel,
            author=author,
            since=since,
            until=until,
            limit=limit,
            kind=kind,
            project=project,
        )
        return await self.call(operation)

    # files

    async def upload(
        self,
        to: str,
        source: Source,
        *,
        name: str | None = None,
        message: str | None = None,
        content_type: str | None = None,
    ) -> File:
        """Share a file in ``#channel`` or with ``@agent``, attached to a message (``message``,
        else one naming the file). It is streamed from a path or a binary file object, with
        its SHA-256 for the hub to check when the object can be read twice."""
        with opened(source) as (handle, found_name):
            operation = ops.upload(
                to,
                handle,
                name=name or found_name,
                content_type=content_type,
                message=message,
                sha256=sha256_of(handle),
            )
            return await self.call(operation)

    async def files(
        self,
        *,
        channel: str | None = None,
        name: str | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> FilePage:
        """The files the agent may see, newest first: of one channel (``@agent`` for a DM),
        with ``name`` in their name, older than ``before``."""
        return await self.call(ops.files(channel=channel, name=name, before=before, limit=limit))

    async def file(self, file_id: int) -> File:
        """One file's details."""
        return await self.call(ops.file(file_id))

    async def download(self, file_id: int, target: Source) -> File:
        """Save a file to a path (written beside it and moved into place once complete) or
        into a binary file object, checking its SHA-256; a damaged download keeps nothing
        and raises ``corrupt_download``."""
        await self.apply_profile()
        headers = self.settings.headers(admin=False)
        async with self._http.stream(
            "GET", ops.FILE_CONTENT.format(id=file_id), headers=headers, timeout=ops.UPLOAD_TIMEOUT
        ) as response:
            if not response.is_success:
                await response.aread()
                raise ops.error_from(response.status_code, response.content, response.reason_phrase)
            receiver = Receiver(target)
            try:
                async for data in response.aiter_bytes():
                    receiver.write(data)
            except BaseException:
                receiver.abandon()
                raise
            expected = announced(response.headers.get("repr-digest"))
            receiver.finish(expected or "")
        return await self.file(file_id)

    async def file_link(self, file_id: int, *, ttl: int | None = None) -> FileLink:
        """A signed link to a file, usable without a key for ``ttl`` seconds (default an
        hour, at most a day); :meth:`link_url` makes it a whole URL."""
        return await self.call(ops.file_link(file_id, ttl=ttl))

    def link_url(self, link: FileLink) -> str:
        """The whole URL of a signed link, on the hub this client talks to."""
        return self.settings.url.rstrip("/") + link.path

    async def delete_file(self, file_id: int) -> File:
        """Delete a file (its uploader, or an admin)."""
        return await self.call(ops.delete_file(file_id))

    # tasks

    async def create_task(
        self,
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
    ) -> Task:
        """Create a task for ``@agent``, ``cap:``, ``tag:`` or ``#channel`` and offer it;
        retried safely under a generated idempotency key. With ``dedupe_key``, a repeat
        while the first is active bumps its ``occurrences`` instead."""
        operation = ops.create_task(
            title,
            target,
            body=body,
            priority=priority,
            labels=labels,
            dedupe_key=dedupe_key,
            max_attempts=max_attempts,
            lease_seconds=lease_seconds,
            due_at=due_at,
            callback_url=callback_url,
            callback_secret=callback_secret,
            offer=offer,
            idempotency_key=idempotency_key,
        )
        return await self.call(operation)

    async def tasks(
        self,
        *,
        status: str | None = None,
        target: str | None = None,
        holder: str | None = None,
        created_by: str | None = None,
        label: str | None = None,
        available: bool = False,
        after: int = 0,
        limit: int = 50,
    ) -> TaskPage:
        """A page of the tasks the agent may see, oldest first; ``holder`` and
        ``created_by`` take a name or ``"me"``; ``available``: open tasks it could claim."""
        operation = ops.tasks(
            status=status,
            target=target,
            holder=holder,
            created_by=created_by,
            label=label,
            available=available,
            after=after,
            limit=limit,
        )
        return await self.call(operation)

    async def task(self, task_id: int) -> Task:
        """One task."""
        return await self.call(ops.task(task_id))

    async def task_events(self, task_id: int, *, after: int = 0, limit: int = 100) -> list[Event]:
        """A task's history: its events, oldest first."""
        return await self.call(ops.task_events(task_id, after=after, limit=limit))

    async def claim_task(self, task_id: int, *, lease_seconds: float | None = None) -> Task:
        """Claim a task; the answer's ``fence`` must accompany every update."""
        return await self.call(ops.claim_task(task_id, lease_seconds=lease_seconds))

    async def claim_next(
        self, *, wait: float | None = None, lease_seconds: float | None = None
    ) -> Task | None:
        """Claim the best open task for this agent, waiting up to ``wait`` seconds for one;
        ``None`` if there is none."""
        return await self.call(ops.claim_next(wait=wait, lease_seconds=lease_seconds))

    async def renew_task(
        self, task_id: int, fence: int, *, lease_seconds: float | None = None
    ) -> Task:
        """Extend the lease on a task this agent holds."""
        return await self.call(ops.renew_task(task_id, fence, lease_seconds=lease_seconds))

    async def task_progress(
        self, task_id: int, fence: int, *, percent: int | None = None, note: str | None = None
    ) -> Task:
        """Report progress on a held task (renews the lease too)."""
        return await self.call(ops.task_progress(task_id, fence, percent=percent, note=note))

    async def complete_task(
        self, task_id: int, fence: int, *, result: Any = None, text: str | None = None
    ) -> Task:
        """Complete a held task with a JSON result and/or text."""
        return await self.call(ops.complete_task(task_id, fence, result=result, text=text))

    async def fail_task(
        self, task_id: int, fence: int, *, result: Any = None, text: str | None = None
    ) -> Task:
        """Fail a held task, saying why."""
        return await self.call(ops.fail_task(task_id, fence, result=result, text=text))

    async def release_task(self, task_id: int, fence: int) -> Task:
        """Give a held task back, open for others."""
        return await self.call(ops.release_task(task_id, fence))

    async def cancel_task(self, task_id: int, *, reason: str | None = None) -> Task:
        """Cancel a task (its creator, or with the admin key)."""
        return await self.call(ops.cancel_task(task_id, reason=reason))

    # pairs

    async def invite_pair(
        self, target: str, *, topic: str | None = None, message: str | None = None
    ) -> Pair:
        """Invite ``@agent`` (or the one agent a ``label:``, ``tag:`` or ``cap:`` matches) to
        a pair session; ``message`` is the invite's text, its first message."""
        return await self.call(ops.invite_pair(target, topic=topic, message=message))

    async def pairs(
        self, *, state: str | None = None, before: int | None = None, limit: int = 50
    ) -> list[Pair]:
        """This agent's pair sessions, newest first, in ``state`` if given."""
        return await self.call(ops.pairs(state=state, before=before, limit=limit))

    async def pair(self, pair_id: int) -> Pair:
        """One of this agent's pair sessions."""
        return await self.call(ops.pair(pair_id))

    async def accept_pair(self, pair_id: int) -> Pair:
        """Accept an invite: the pair is active."""
        return await self.call(ops.accept_pair(pair_id))

    async def reject_pair(self, pair_id: int) -> Pair:
        """Turn an invite down."""
        return await self.call(ops.reject_pair(pair_id))

    async def end_pair(self, pair_id: int) -> Pair:
        """Hang up an active pair, cancel one's own invite, or turn an invite down."""
        return await self.call(ops.end_pair(pair_id))

    async def post_pair(
        self,
        pair_id: int,
        content: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        reply_to: int | None = None,
        idempotency_key: str | None = None,
        kind: str | None = None,
    ) -> Message:
        """Post in an active pair session; retried safely under an idempotency key."""
        operation = ops.post_pair(
            pair_id,
            content,
            metadata=metadata,
            reply_to=reply_to,
            idempotency_key=idempotency_key,
            kind=kind,
        )
        return await self.call(operation)

    async def read_pair(
        self,
        pair_id: int,
        *,
        after: int | None = None,
        before: int | None = None,
        limit: int = 50,
        wait: float | None = None,
    ) -> MessagePage:
        """A page of a pair session's messages (readable after it ended too)."""
        return await self.call(
            ops.read_pair(pair_id, after=after, before=before, limit=limit, wait=wait)
        )

    # admin

    async def keys(self) -> list[KeyInfo]:
        """Every key (needs the admin key)."""
        return await self.call(ops.keys())

    async def create_key(
        self, machine: str | None = None, *, admin: bool = False, label: str | None = None
    ) -> NewKey:
        """Create a key, shown once (needs the admin key)."""
        return await self.call(ops.create_key(machine, admin=admin, label=label))

    async def revoke_key(self, key_id: int) -> KeyInfo:
        """Revoke a key (needs the admin key)."""
        return await self.call(ops.revoke_key(key_id))

    async def deactivate_agent(self, name: str) -> Agent:
        """Refuse every request acting as ``name`` and hide it, until reactivated (needs the
        admin key)."""
        return await self.call(ops.deactivate_agent(name))

    async def reactivate_agent(self, name: str) -> Agent:
        """Give a deactivated agent back (needs the admin key)."""
        return await self.call(ops.reactivate_agent(name))

    async def delete_agent(self, name: str) -> Agent:
        """Delete an agent: gone from listings, its messages kept, its name never registered
        again (needs the admin key)."""
        return await self.call(ops.delete_agent(name))

    async def retention(self, *, dry_run: bool = True) -> RetentionReport:
        """What retention would remove now (``dry_run``), or remove it now (needs the admin
        key)."""
        return await self.call(ops.retention(dry_run=dry_run))

    async def set_channel_retention(self, channel: str, days: float | None) -> Channel:
        """Give a channel a message retention of its own, or (``None``) the hub's again
        (needs the admin key)."""
        return await self.call(ops.set_channel_retention(channel, days))

    async def purge_agent(self, name: str) -> AgentPurge:
        """Remove every message a deleted agent wrote and free its name (needs the admin
        key)."""
        return await self.call(ops.purge_agent(name))

    async def stats(self) -> HubStats:
        """The hub at a glance: counts, version, uptime (needs the admin key)."""
        return await self.call(ops.stats())

    async def users(self) -> list[User]:
        """Every human user, never a password hash (needs the admin key)."""
        return await self.call(ops.users())

    async def create_user(self, name: str, password: str, admin: bool = False) -> User:
        """Create a human user, an admin with ``admin`` (needs the admin key)."""
        return await self.call(ops.create_user(name, password, admin))

    async def set_user_admin(self, name: str, admin: bool) -> User:
        """Make a user an admin, or take it back (needs the admin key)."""
        return await self.call(ops.set_user_admin(name, admin))

    async def news(self, session: str, shown_upto: int | None = None) -> News:
        """The inbox items tool session ``session`` was not told of, as one line (told now);
        with ``shown_upto``, note that a tool showed it the inbox up to that id."""
        return await self.call(ops.news(session, shown_upto))

    async def login_link(self, name: str) -> LoginLink:
        """A one-time dashboard login link for a user (needs the admin key)."""
        return await self.call(ops.login_link(name))

    async def set_password(self, name: str, password: str) -> User:
        """Replace a user's password (needs the admin key)."""
        return await self.call(ops.set_password(name, password))

    async def disable_user(self, name: str) -> User:
        """Disable a user so it can no longer log in (needs the admin key)."""
        return await self.call(ops.disable_user(name))

    # integrations

    async def integrations(self) -> list[Integration]:
        """Every integration, never a token (needs the admin key)."""
        return await self.call(ops.integrations())

    async def create_integration(
        self,
        name: str,
        *,
        scopes: list[str],
        targets: list[str] | None = None,
        channels: list[str] | None = None,
        rate_limit: float | None = None,
        rate_burst: float | None = None,
        webhook_url: str | None = None,
        allow_private: bool = False,
    ) -> NewIntegration:
        """Create an integration; its token and webhook secret are shown once (needs the
        admin key). ``allow_private`` lets its webhook reach addresses the hub otherwise
        refuses (loopback, private networks…)."""
        return await self.call(
            ops.create_integration(
                name,
                scopes=scopes,
                targets=targets,
                channels=channels,
                rate_limit=rate_limit,
                rate_burst=rate_burst,
                webhook_url=webhook_url,
                allow_private=allow_private,
            )
        )

    async def integration(self, name: str) -> Integration:
        """One integration (needs the admin key)."""
        return await self.call(ops.integration(name))

    async def revoke_integration(self, name: str) -> Integration:
        """Revoke an integration: its token stops working (needs the admin key)."""
        return await self.call(ops.revoke_integration(name))

    async def integration_deliveries(
        self, name: str, *, status: str | None = None, before: int | None = None, limit: int = 50
    ) -> list[WebhookDelivery]:
        """An integration's webhook deliveries, newest first (needs the admin key)."""
        return await self.call(
            ops.integration_deliveries(name, status=status, before=before, limit=limit)
        )

    # remote A2A agents

    async def a2a_remotes(self) -> list[A2ARemote]:
        """Every remote A2A agent, never a token in full (needs the admin key)."""
        return await self.call(ops.a2a_remotes())

    async def add_a2a_remote(
        self, name: str, url: str, *, token: str | None = None, label: str | None = None
    ) -> A2ARemote:
        """Register the remote A2A agent whose Agent Card is at ``url`` as the hub agent
        ``name`` (kind ``a2a``); ``token`` is sent to it as a bearer token (needs the admin
        key)."""
        return await self.call(ops.add_a2a_remote(name, url, token=token, label=label))

    async def a2a_remote(self, name: str) -> A2ARemote:
        """One remote A2A agent (needs the admin key)."""
        return await self.call(ops.a2a_remote(name))

    async def remove_a2a_remote(self, name: str) -> A2ARemote:
        """Remove a remote A2A agent: its pending items fail, its agent is deleted (needs the
        admin key)."""
        return await self.call(ops.remove_a2a_remote(name))

    async def a2a_outbox(
        self, name: str, *, status: str | None = None, limit: int = 50
    ) -> list[A2AOutboxItem]:
        """What was forwarded to a remote A2A agent, newest first (needs the admin key)."""
        return await self.call(ops.a2a_outbox(name, status=status, limit=limit))

    async def task_deliveries(
        self, task_id: int, *, status: str | None = None, before: int | None = None, limit: int = 50
    ) -> list[WebhookDelivery]:
        """Deliveries to a task's callback URL, newest first (its creator)."""
        return await self.call(
            ops.task_deliveries(task_id, status=status, before=before, limit=limit)
        )

    async def integration_event(
        self,
        action: str,
        dedupe_key: str,
        *,
        title: str | None = None,
        body: str | None = None,
        target: str | None = None,
        priority: int | None = None,
        labels: list[str] | None = None,
        due_at: datetime | None = None,
    ) -> IntegrationEventResult:
        """Trigger, update or resolve the task of ``dedupe_key`` (with an integration
        token as the key)."""
        return await self.call(
            ops.integration_event(
                action,
                dedupe_key,
                title=title,
                body=body,
                target=target,
                priority=priority,
                labels=labels,
                due_at=due_at,
            )
        )

    # the live stream

    def events(
        self,
        *,
        after: int | None = None,
        channels: list[str] | None = None,
        types: list[str] | None = None,
        reconnects: int | None = None,
        kind: str | None = None,
    ) -> AsyncGenerator[Event, None]:
        """Every event the agent may see, forever: reconnects with backoff after any fault
        and resumes after the last event it yielded, so nothing is missed or repeated.
        ``reconnects`` caps consecutive failed reconnects (``None``: no cap); ``kind`` keeps
        only message events of messages of that kind. Close the iterator (``aclose``) when
        done with it, to end its connection at once."""
        params = ops.stream_params(channels=channels, types=types, kind=kind)
        return self._follow(ops.EVENTS, params, after, reconnects, admin=False)

    def firehose(
        self,
        *,
        after: int | None = None,
        types: list[str] | None = None,
        reconnects: int | None = None,
    ) -> AsyncGenerator[Event, None]:
        """Every event of the hub, whoever may see it (needs the admin key), resuming like
        :meth:`events`. Watching delivers nothing to anyone."""
        params = ops.stream_params(channels=None, types=types, kind=None)
        return self._follow(ops.FIREHOSE, params, after, reconnects, admin=True)

    async def _follow(
        self,
        path: str,
        params: dict[str, Any],
        after: int | None,
        reconnects: int | None,
        *,
        admin: bool,
    ) -> AsyncGenerator[Event, None]:
        """The event stream at ``path``, reconnecting and resuming after what it yielded
        (an agent's stream applies its profile first)."""
        if not admin:
            await self.apply_profile()
        cursor = after
        failures = 0
        while True:
            headers = self.settings.headers(admin=admin)
            if cursor is not None:
                headers["Last-Event-ID"] = str(cursor)
            try:
                async with self._http.stream(
                    "GET", path, params=params, headers=headers, timeout=STREAM_TIMEOUT
                ) as response:
                    if not response.is_success:
                        await response.aread()
                        raise ops.error_from(
                            response.status_code, response.content, response.reason_phrase
                        )
                    failures = 0
                    parser = EventParser()
                    async for line in response.aiter_lines():
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
                await asyncio.sleep(backoff(failures - 1))
            except HubbubError:
                raise


def backoff(attempt: int) -> float:
    """Seconds before retry ``attempt`` (0-based): exponential with jitter, capped at 10 s."""
    return float(min(10.0, 0.2 * 2**attempt) * (0.5 + random.random() / 2))
