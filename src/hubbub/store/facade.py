"""The :class:`~hubbub.core.store.Store` both engines share: each method is one query
module's function, run by the engine's :class:`Database` as a point lookup, a read or a
write."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from hubbub.core.events import StoredEvent
from hubbub.core.models import (
    AckResult,
    Agent,
    AgentKind,
    HubCounts,
    InboxItem,
    Message,
    PostResult,
)
from hubbub.core.store import NewDelivery, NewForward, NewMessage
from hubbub.core.telemetry import WriterTelemetry
from hubbub.store import (
    a2a_remotes,
    a2a_tasks,
    agents,
    channels,
    events,
    files,
    inbox,
    integrations,
    keys,
    members,
    messages,
    migrations,
    notices,
    pairs,
    purge,
    retention,
    search,
    sessions,
    stats,
    tasks,
    users,
    webhooks,
)
from hubbub.store.sql import Session
from hubbub.store.times import to_us

T = TypeVar("T")
P = ParamSpec("P")
Publish = Callable[[list[StoredEvent]], None]


class Database(Protocol):
    """An engine's connections and the discipline for using them."""

    telemetry: WriterTelemetry

    async def open(self, publish: Publish | None = None) -> None: ...
    async def close(self) -> None: ...

    async def lookup(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``fn(session, *args)`` for an indexed point lookup, as cheaply as the engine can."""
        ...

    async def read(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``fn(session, *args)`` on a reader, seeing the last committed state."""
        ...

    async def write(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``fn(session, *args)`` in the writer's next transaction, answered after it
        commits."""
        ...


Method = Callable[Concatenate["SqlStore", P], Coroutine[Any, Any, T]]
Query = Callable[Concatenate[Session, P], Awaitable[T]]


def _lookup(fn: Query[P, T]) -> Method[P, T]:
    async def method(self: SqlStore, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.db.lookup(functools.partial(fn, **kwargs) if kwargs else fn, *args)

    return method


def _read(fn: Query[P, T]) -> Method[P, T]:
    async def method(self: SqlStore, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.db.read(functools.partial(fn, **kwargs) if kwargs else fn, *args)

    return method


def _write(fn: Query[P, T]) -> Method[P, T]:
    async def method(self: SqlStore, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.db.write(functools.partial(fn, **kwargs) if kwargs else fn, *args)

    return method


class SqlStore:
    """:class:`hubbub.core.store.Store` on a SQL :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def open(self, publish: Publish | None = None) -> None:
        await self.db.open(publish)

    async def close(self) -> None:
        await self.db.close()

    async def schema_version(self) -> int:
        return await self.db.read(migrations.check)

    async def probe(self) -> None:
        await self.db.write(migrations.probe)

    @property
    def telemetry(self) -> WriterTelemetry:
        return self.db.telemetry

    async def counts(self, *, everything: bool = True) -> HubCounts:
        return await self.db.read(stats.counts, everything)

    # keys and users
    create_key = _write(keys.create)
    list_keys = _read(keys.list_all)
    revoke_key = _write(keys.revoke)
    key_by_digest = _lookup(keys.by_digest)
    count_keys = _lookup(keys.count)
    machine_names = _read(keys.machine_names)
    create_user = _write(users.create)
    list_users = _read(users.list_all)
    user = _lookup(users.by_name)
    password_hash = _lookup(users.enabled_hash)
    set_password = _write(users.set_password)
    disable_user = _write(users.disable)
    set_user_admin = _write(users.set_admin)

    # the hub secret, web sessions and login links
    hub_secret = _lookup(sessions.secret)
    ensure_hub_secret = _write(sessions.ensure_secret)
    rotate_hub_secret = _write(sessions.rotate_secret)
    create_login_link = _write(sessions.create_link)
    use_login_link = _write(sessions.use_link)
    create_web_session = _write(sessions.create_session)
    web_session = _lookup(sessions.by_digest)
    touch_web_session = _write(sessions.touch)
    end_web_session = _write(sessions.end)

    # agents
    agent = _lookup(agents.by_name)
    update_agent = _write(agents.update)
    list_agents = _read(agents.search)
    touch_agent = _write(agents.touch)

    async def agents_named(self, names: Sequence[str]) -> list[Agent]:
        return await self.db.lookup(agents.named, list(names))

    async def ensure_agent(self, name: str, machine: str, kind: AgentKind, cap: int = 0) -> Agent:
        found = await self.agent(name)
        if found is not None:
            return found
        return await self.db.write(agents.ensure, name, machine, kind, cap)

    set_agent_state = _write(agents.set_state)
    authored_messages = _read(agents.authored)
    free_agent_name = _write(agents.free_name)

    # retention
    retention_boundary = _read(retention.boundary)
    retention_rules = _read(retention.ruled)
    count_old_messages = _read(retention.count_messages)
    count_old_tasks = _read(retention.count_tasks)
    purge_tasks = _write(retention.purge_tasks)
    set_channel_retention = _write(retention.set_channel_retention)

    async def expire_agents(self, cutoff: datetime, spare: Sequence[int] = ()) -> list[Agent]:
        return await self.db.write(agents.expire, to_us(cutoff), list(spare))

    # channels
    channel = _lookup(channels.by_name)
    create_channel = _write(channels.create)
    list_channels = _read(channels.visible)
    is_member = _lookup(channels.is_member)
    member_channel_ids = _read(channels.member_ids)
    add_member = _write(channels.add_member)
    remove_member = _write(channels.remove_member)
    archive_channel = _write(channels.archive)
    update_channel = _write(channels.update)
    filter_channels = _read(channels.filtered)
    projects = _read(channels.projects)
    purge_messages = _write(purge.purge_messages)
    channel_cleared = _write(purge.cleared)
    delete_channel = _write(purge.delete_channel)
    removed_events_after = _lookup(purge.hole_after)
    set_read_cursor = _write(members.set_read_cursor)
    channel_summaries = _read(channels.summaries)
    channel_roster = _read(members.roster)
    channel_rosters = _read(members.rosters)
    set_channel_status = _write(members.set_channel_status)
    read_positions = _read(members.read_positions)

    async def member_names(self, channel_id: int, *, include_ghosts: bool = True) -> list[str]:
        return await self.db.read(channels.member_names, channel_id, include_ghosts)

    async def channels_created_since(self, agent_id: int, since: datetime) -> int:
        return await self.db.read(channels.created_since, agent_id, to_us(since))

    # messages
    post = _write(messages.post)
    newest_readable_message = _read(messages.newest_readable)
    message = _lookup(messages.by_id)
    message_by_key = _lookup(messages.by_key)
    thread = _read(messages.thread)
    edit_message = _write(messages.edit)
    delete_message = _write(messages.delete)

    async def post_many(self, news: Sequence[NewMessage]) -> list[PostResult]:
        return await self.db.write(messages.post_many, list(news))

    async def messages(
        self,
        channel_id: int,
        *,
        after: int | None,
        before: int | None,
        limit: int,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Message]:
        if since is not None or until is not None:
            window = messages.Window(after, before, since, until)
            return await self.db.read(messages.window, channel_id, window, limit, kind)
        return await self.db.read(messages.page, channel_id, after, before, limit, kind)

    # inbox and search
    async def inbox(
        self, agent_id: int, *, after: int, limit: int, include_acked: bool
    ) -> tuple[list[InboxItem], int]:
        return await self.db.read(inbox.peek, agent_id, after, limit, include_acked)

    async def ack(self, agent_id: int, ids: Sequence[int], up_to: int | None) -> AckResult:
        return await self.db.write(inbox.ack, agent_id, list(ids), up_to)

    async def mark_delivered(self, agent_id: int, item_ids: Sequence[int]) -> datetime:
        return await self.db.write(inbox.mark_delivered, agent_id, list(item_ids))

    search = _read(search.search)

    # what each session has been told of the inbox
    session_news = _read(notices.pending)
    mark_told = _write(notices.move)
    session_used = _write(notices.used)

    async def forget_sessions(self, before: datetime) -> int:
        return await self.db.write(notices.forget, to_us(before))

    # events
    events_after = _read(events.after)
    last_event_seq = _lookup(events.last_seq)
    events_before = _read(events.before)
    first_event_seq = _lookup(events.first_seq)

    async def prune_events(self, before: datetime) -> int:
        return await self.db.write(events.prune, to_us(before))

    # tasks (the method named after the module comes last: it hides the module)
    create_task = _write(tasks.create)
    task = _lookup(tasks.stored)
    task_by_key = _lookup(tasks.by_key)
    claim_task = _write(tasks.claim)
    claim_next_task = _write(tasks.claim_next)
    change_task = _write(tasks.change)
    cancel_task = _write(tasks.cancel)
    expire_tasks = _write(tasks.expire)
    next_lease_expiry = _lookup(tasks.next_expiry)
    task_events = _read(tasks.history)
    tasks = _read(tasks.search)

    # files
    begin_blob = _write(files.begin)
    append_chunk = _write(files.append)
    record_file = _write(files.record)
    let_go_blob = _write(files.let_go)
    file = _lookup(files.by_id)
    file_chunk = _read(files.chunk)
    files_of_messages = _read(files.of_messages)
    machine_file_bytes = _read(files.machine_bytes)
    delete_file = _write(files.delete)

    async def free_blobs(self, stale_before: datetime, limit: int) -> int:
        return await self.db.write(files.free, to_us(stale_before), limit)

    async def expired_files(self, before: datetime, limit: int) -> list[int]:
        return await self.db.read(files.expired, to_us(before), limit)

    files = _read(files.search)  # last: it hides the module

    # pairs
    create_pair = _write(pairs.create)
    pair = _lookup(pairs.by_id)
    pair_by_channel = _lookup(pairs.by_channel)
    change_pair = _write(pairs.change)
    expire_pairs = _write(pairs.expire)
    pairs = _read(pairs.listing)  # last: it hides the module

    # integrations and webhooks
    create_integration = _write(integrations.create)
    list_integrations = _read(integrations.list_all)
    integration = _lookup(integrations.by_name)
    integration_by_digest = _lookup(integrations.by_digest)
    revoke_integration = _write(integrations.revoke)
    dedupe_task_id = _read(integrations.dedupe_task_id)
    edit_task = _write(integrations.edit_task)
    webhook_scan = _read(webhooks.scan)
    webhook_heads = _read(webhooks.heads)
    record_delivery = _write(webhooks.record)
    deliveries = _read(webhooks.listing)

    async def enqueue_deliveries(
        self, cursor: int, upto: int, deliveries: Sequence[NewDelivery]
    ) -> bool:
        return await self.db.write(webhooks.enqueue, cursor, upto, list(deliveries))

    async def claim_delivery(self, delivery_id: int, now: datetime, until: datetime) -> bool:
        return await self.db.write(webhooks.claim, delivery_id, to_us(now), to_us(until))

    # A2A tasks
    record_a2a_task = _write(a2a_tasks.record)
    a2a_task = _lookup(a2a_tasks.by_id)
    set_a2a_push = _write(a2a_tasks.set_push)
    a2a_pushes = _read(a2a_tasks.pushes)
    delete_a2a_push = _write(a2a_tasks.delete_push)
    a2a_tasks = _read(a2a_tasks.listing)  # last: it hides the module

    async def prune_deliveries(self, before: datetime) -> int:
        return await self.db.write(webhooks.prune, to_us(before))

    # remote A2A agents
    create_a2a_remote = _write(a2a_remotes.create)
    a2a_remote = _read(a2a_remotes.by_name)
    remove_a2a_remote = _write(a2a_remotes.remove)
    a2a_scan = _read(a2a_remotes.scan)
    a2a_heads = _read(a2a_remotes.heads)
    record_forward = _write(a2a_remotes.record)
    a2a_outbox = _read(a2a_remotes.outbox)
    a2a_context = _read(a2a_remotes.context)
    keep_a2a_context = _write(a2a_remotes.keep_context)

    async def enqueue_forwards(self, cursor: int, upto: int, items: Sequence[NewForward]) -> bool:
        return await self.db.write(a2a_remotes.enqueue, cursor, upto, list(items))

    async def claim_forward(self, item_id: int, now: datetime, until: datetime) -> bool:
        return await self.db.write(a2a_remotes.claim, item_id, to_us(now), to_us(until))

    async def prune_forwards(self, before: datetime) -> int:
        return await self.db.write(a2a_remotes.prune, to_us(before))

    a2a_remotes = _read(a2a_remotes.list_all)  # last: it hides the module
