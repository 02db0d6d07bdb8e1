"""The PostgreSQL store: a reader pool, one group-committing writer per process under a
cluster-wide write lock, full-text search with ``tsvector`` and GIN."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from hubbub.core.events import StoredEvent
from hubbub.core.models import (
    AckResult,
    Agent,
    AgentKind,
    Channel,
    ChannelSummary,
    InboxItem,
    Integration,
    KeyInfo,
    KeyKind,
    Message,
    PostResult,
    SearchHit,
    Task,
    TaskCreated,
    User,
    WebhookDelivery,
)
from hubbub.core.store import (
    AgentChanges,
    AgentQuery,
    DeliveryAttempt,
    DeliveryQuery,
    DueDelivery,
    IntegrationSpec,
    MessageEdit,
    NewChannel,
    NewDelivery,
    NewMessage,
    NewTask,
    SearchQuery,
    StoredIntegration,
    StoredKey,
    StoredTask,
    TaskChange,
    TaskEdit,
    TaskQuery,
    WebhookScan,
)
from hubbub.store.postgres import (
    agents,
    channels,
    engine,
    events,
    inbox,
    integrations,
    keys,
    messages,
    rows,
    search,
    tasks,
    users,
    webhooks,
)
from hubbub.store.postgres.engine import Database


class PostgresStore:
    """:class:`hubbub.core.store.Store` on one PostgreSQL database."""

    def __init__(
        self,
        conninfo: str,
        *,
        pool_min: int = 1,
        pool_max: int = 10,
        statement_timeout: float = 30.0,
        migrate: bool = True,
    ) -> None:
        self.db = Database(
            conninfo,
            pool_min=pool_min,
            pool_max=pool_max,
            statement_timeout=statement_timeout,
            migrate=migrate,
        )

    async def open(self, publish: Callable[[list[StoredEvent]], None] | None = None) -> None:
        await self.db.open(publish)

    async def close(self) -> None:
        await self.db.close()

    async def schema_version(self) -> int:
        return await self.db.read(engine.check)

    async def probe(self) -> None:
        await self.db.write(engine.probe)

    # keys
    async def create_key(
        self, kind: KeyKind, machine: str | None, label: str | None, prefix: str, digest: str
    ) -> KeyInfo:
        return await self.db.write(keys.create, kind, machine, label, prefix, digest)

    async def list_keys(self) -> list[KeyInfo]:
        return await self.db.read(keys.list_all)

    async def revoke_key(self, key_id: int) -> KeyInfo | None:
        return await self.db.write(keys.revoke, key_id)

    async def key_by_digest(self, digest: str) -> StoredKey | None:
        return await self.db.lookup(keys.by_digest, digest)

    async def count_keys(self, kind: KeyKind) -> int:
        return await self.db.lookup(keys.count, kind)

    async def machine_names(self) -> list[str]:
        return await self.db.read(keys.machine_names)

    # users
    async def create_user(self, name: str, password_hash: str) -> User:
        return await self.db.write(users.create, name, password_hash)

    async def list_users(self) -> list[User]:
        return await self.db.read(users.list_all)

    async def user(self, name: str) -> User | None:
        return await self.db.lookup(users.by_name, name)

    async def password_hash(self, name: str) -> str | None:
        return await self.db.lookup(users.enabled_hash, name)

    async def set_password(self, name: str, password_hash: str) -> User:
        return await self.db.write(users.set_password, name, password_hash)

    async def disable_user(self, name: str) -> User:
        return await self.db.write(users.disable, name)

    # agents
    async def agent(self, name: str) -> Agent | None:
        return await self.db.lookup(agents.by_name, name)

    async def agents_named(self, names: Sequence[str]) -> list[Agent]:
        return await self.db.lookup(agents.named, list(names))

    async def ensure_agent(self, name: str, machine: str, kind: AgentKind) -> Agent:
        found = await self.agent(name)
        if found is not None:
            return found
        return await self.db.write(agents.ensure, name, machine, kind)

    async def update_agent(self, agent_id: int, changes: AgentChanges) -> Agent:
        return await self.db.write(agents.update, agent_id, changes)

    async def list_agents(self, query: AgentQuery) -> list[Agent]:
        return await self.db.read(agents.search, query)

    async def touch_agent(self, agent_id: int) -> Agent:
        return await self.db.write(agents.touch, agent_id)

    async def expire_agents(self, cutoff: datetime, spare: Sequence[int] = ()) -> list[Agent]:
        return await self.db.write(agents.expire, rows.to_us(cutoff), list(spare))

    # channels
    async def channel(self, name: str) -> Channel | None:
        return await self.db.lookup(channels.by_name, name)

    async def create_channel(self, spec: NewChannel) -> Channel:
        return await self.db.write(channels.create, spec)

    async def list_channels(self, viewer_id: int | None, include_archived: bool) -> list[Channel]:
        return await self.db.read(channels.visible, viewer_id, include_archived)

    async def member_names(self, channel_id: int, *, include_ghosts: bool = True) -> list[str]:
        return await self.db.read(channels.member_names, channel_id, include_ghosts)

    async def is_member(self, channel_id: int, agent_id: int) -> bool:
        return await self.db.lookup(channels.is_member, channel_id, agent_id)

    async def member_channel_ids(self, agent_id: int) -> list[int]:
        return await self.db.read(channels.member_ids, agent_id)

    async def add_member(self, channel_id: int, agent_id: int) -> bool:
        return await self.db.write(channels.add_member, channel_id, agent_id)

    async def remove_member(self, channel_id: int, agent_id: int) -> bool:
        return await self.db.write(channels.remove_member, channel_id, agent_id)

    async def archive_channel(self, channel_id: int) -> Channel:
        return await self.db.write(channels.archive, channel_id)

    async def channels_created_since(self, agent_id: int, since: datetime) -> int:
        return await self.db.read(channels.created_since, agent_id, rows.to_us(since))

    # messages
    async def post(self, new: NewMessage) -> PostResult:
        return await self.db.write(messages.post, new)

    async def post_many(self, news: Sequence[NewMessage]) -> list[PostResult]:
        return await self.db.write(messages.post_many, list(news))

    async def message(self, message_id: int) -> Message | None:
        return await self.db.lookup(messages.by_id, message_id)

    async def message_by_key(self, author_id: int, idempotency_key: str) -> Message | None:
        return await self.db.lookup(messages.by_key, author_id, idempotency_key)

    async def messages(
        self, channel_id: int, *, after: int | None, before: int | None, limit: int
    ) -> list[Message]:
        return await self.db.read(messages.page, channel_id, after, before, limit)

    async def thread(self, root_id: int) -> list[Message]:
        return await self.db.read(messages.thread, root_id)

    async def edit_message(self, edit: MessageEdit) -> Message:
        return await self.db.write(messages.edit, edit)

    async def delete_message(self, message_id: int) -> Message:
        return await self.db.write(messages.delete, message_id)

    # inbox and read state
    async def inbox(
        self, agent_id: int, *, after: int, limit: int, include_acked: bool
    ) -> tuple[list[InboxItem], int]:
        return await self.db.read(inbox.peek, agent_id, after, limit, include_acked)

    async def ack(self, agent_id: int, ids: Sequence[int], up_to: int | None) -> AckResult:
        return await self.db.write(inbox.ack, agent_id, list(ids), up_to)

    async def mark_delivered(self, agent_id: int, item_ids: Sequence[int]) -> datetime:
        return await self.db.write(inbox.mark_delivered, agent_id, list(item_ids))

    async def set_read_cursor(self, agent_id: int, channel_id: int, seq: int) -> int:
        return await self.db.write(channels.set_read_cursor, agent_id, channel_id, seq)

    async def channel_summaries(self, agent_id: int) -> list[ChannelSummary]:
        return await self.db.read(channels.summaries, agent_id)

    # search
    async def search(self, query: SearchQuery) -> list[SearchHit]:
        return await self.db.read(search.search, query)

    # events
    async def events_after(self, seq: int, limit: int) -> list[StoredEvent]:
        return await self.db.read(events.after, seq, limit)

    async def last_event_seq(self) -> int:
        return await self.db.lookup(events.last_seq)

    async def first_event_seq(self) -> int:
        return await self.db.lookup(events.first_seq)

    async def prune_events(self, before: datetime) -> int:
        return await self.db.write(events.prune, rows.to_us(before))

    # tasks
    async def create_task(self, new: NewTask) -> TaskCreated:
        return await self.db.write(tasks.create, new)

    async def task(self, task_id: int) -> StoredTask | None:
        return await self.db.lookup(tasks.stored, task_id)

    async def task_by_key(self, agent_id: int, idempotency_key: str) -> tuple[Task, str] | None:
        return await self.db.lookup(tasks.by_key, agent_id, idempotency_key)

    async def tasks(self, query: TaskQuery) -> list[Task]:
        return await self.db.read(tasks.search, query)

    async def claim_task(
        self, task_id: int, agent_id: int, lease_seconds: float | None
    ) -> Task | None:
        return await self.db.write(tasks.claim, task_id, agent_id, lease_seconds)

    async def claim_next_task(self, agent_id: int, lease_seconds: float | None) -> Task | None:
        return await self.db.write(tasks.claim_next, agent_id, lease_seconds)

    async def change_task(self, change: TaskChange) -> Task | None:
        return await self.db.write(tasks.change, change)

    async def cancel_task(self, task_id: int, agent_id: int, reason: str | None) -> Task | None:
        return await self.db.write(tasks.cancel, task_id, agent_id, reason)

    async def expire_tasks(self) -> list[Task]:
        return await self.db.write(tasks.expire)

    async def next_lease_expiry(self) -> datetime | None:
        return await self.db.lookup(tasks.next_expiry)

    async def task_events(self, task_id: int, after: int, limit: int) -> list[StoredEvent]:
        return await self.db.read(tasks.history, task_id, after, limit)

    # integrations and webhooks
    async def create_integration(self, spec: IntegrationSpec) -> Integration:
        return await self.db.write(integrations.create, spec)

    async def list_integrations(self) -> list[Integration]:
        return await self.db.read(integrations.list_all)

    async def integration(self, name: str) -> Integration | None:
        return await self.db.lookup(integrations.by_name, name)

    async def integration_by_digest(self, digest: str) -> StoredIntegration | None:
        return await self.db.lookup(integrations.by_digest, digest)

    async def revoke_integration(self, name: str) -> Integration | None:
        return await self.db.write(integrations.revoke, name)

    async def dedupe_task_id(self, creator_id: int, dedupe_key: str) -> int | None:
        return await self.db.read(integrations.dedupe_task_id, creator_id, dedupe_key)

    async def edit_task(self, edit: TaskEdit) -> Task | None:
        return await self.db.write(integrations.edit_task, edit)

    async def webhook_scan(self, limit: int) -> WebhookScan:
        return await self.db.read(webhooks.scan, limit)

    async def enqueue_deliveries(
        self, cursor: int, upto: int, deliveries: Sequence[NewDelivery]
    ) -> bool:
        return await self.db.write(webhooks.enqueue, cursor, upto, list(deliveries))

    async def webhook_heads(self, limit: int) -> list[DueDelivery]:
        return await self.db.read(webhooks.heads, limit)

    async def claim_delivery(self, delivery_id: int, now: datetime, until: datetime) -> bool:
        return await self.db.write(webhooks.claim, delivery_id, rows.to_us(now), rows.to_us(until))

    async def record_delivery(self, attempt: DeliveryAttempt) -> None:
        await self.db.write(webhooks.record, attempt)

    async def deliveries(self, query: DeliveryQuery) -> list[WebhookDelivery]:
        return await self.db.read(webhooks.listing, query)

    async def prune_deliveries(self, before: datetime) -> int:
        return await self.db.write(webhooks.prune, rows.to_us(before))
