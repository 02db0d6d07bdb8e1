"""Tasks: work handed to an agent, a capability, a tag or a channel, claimed under a lease.

A task is ``open`` until an eligible agent claims it; the claim is atomic (one winner) and
grants a lease and a fencing token (``fence``) that grows with every claim. The holder renews
the lease, reports progress and completes or fails the task, each time showing its fence; a
stale fence, another agent or a lease run out is refused. A lease that runs out returns the
task to ``open`` (``attempts`` + 1), or fails it once ``max_attempts`` leases have run out.
Creating one, and offering it, is :mod:`hubbub.core.offers`.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, get_args

import orjson

from hubbub.core import access, events, names
from hubbub.core.channels import ChannelService
from hubbub.core.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge
from hubbub.core.events import StoredEvent
from hubbub.core.feed import FeedService
from hubbub.core.limits import Limits
from hubbub.core.models import Agent, Event, Task, TaskCreated, TaskPage, TaskStatus
from hubbub.core.offers import (
    MAX_PRIORITY,
    MAX_TITLE,
    Offers,
    TaskDraft,
    check_lease,
    check_text,
    new_task,
    offer,
    task_target,
)
from hubbub.core.outbound import OutboundPolicy
from hubbub.core.store import Store, StoredTask, TaskChange, TaskQuery

STATUSES: tuple[str, ...] = get_args(TaskStatus)
MAX_NOTE = 1000
HISTORY_PAGE = 500
# Events that may make an open task appear for a waiting claim.
REOPENING = frozenset({events.TASK_CREATED, events.TASK_RELEASED, events.TASK_EXPIRED})


def plain_json(value: Any, what: str) -> bytes:
    """``value`` as JSON, refusing NaN, infinities and integers beyond ±2^53."""
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise InvalidInput(f"{what} holds NaN or an infinity", code="bad_result")
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    try:
        return orjson.dumps(value, option=orjson.OPT_STRICT_INTEGER)
    except TypeError as error:
        raise InvalidInput(f"{what} is not plain JSON: {error}", code="bad_result") from None


class TaskService:
    """Create, list, claim and update tasks; expire leases."""

    def __init__(
        self,
        store: Store,
        limits: Limits,
        channels: ChannelService,
        feed: FeedService,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        self._store = store
        self._limits = limits
        self._channels = channels
        self._feed = feed
        self._offers = Offers(store, limits, channels)
        self._outbound = outbound or OutboundPolicy()

    async def create(
        self, creator: Agent, draft: TaskDraft, *, idempotency_key: str | None = None
    ) -> TaskCreated:
        """Create a task and offer it: a DM to an ``@agent`` or to each agent with the
        ``cap:``/``tag:``, or one post in the ``#channel`` for its members; each offer is an
        inbox item of kind ``task``. An active task of the same creator with the same
        ``dedupe_key`` is bumped instead (no offers); a repeated ``idempotency_key`` returns
        the task the first request found. A ``callback_url`` the hub would never send to
        (an address it refuses, ``localhost``) is refused here."""
        checked = self._offers.check(draft, idempotency_key)
        if draft.callback_url is not None:
            self._outbound.check_url(draft.callback_url)
        if idempotency_key is not None:
            earlier = await self._store.task_by_key(creator.id, idempotency_key)
            if earlier is not None:
                _check_replay(earlier[1], checked.fingerprint, earlier[0].id)
                return TaskCreated(task=earlier[0], replayed=True)
        placed = await self._offers.place(creator, checked.target, draft.offer)
        return await self._store.create_task(
            new_task(creator, draft, checked, placed, idempotency_key)
        )

    # reading

    async def get(self, viewer: Agent, task_id: int, *, admin: bool = False) -> Task:
        """One task the viewer may see (the admin key sees every task)."""
        return (await self._visible(viewer, task_id, admin)).task

    async def _visible(self, viewer: Agent, task_id: int, admin: bool) -> StoredTask:
        stored = await self._store.task(task_id)
        if stored is not None and (admin or await self._may_see(viewer, stored.task)):
            return stored
        raise NotFound(f"no task with id {task_id}", code="task_not_found")

    async def _may_see(self, viewer: Agent, task: Task) -> bool:
        """A task is as visible as its channel; ``cap:``/``tag:`` tasks are visible to all."""
        if task.channel is None:
            return True
        channel = await self._channels.cached(task.channel)
        if channel is None:
            return False
        if not access.needs_membership(channel):
            return True
        return await self._store.is_member(channel.id, viewer.id)

    async def history(
        self,
        viewer: Agent,
        task_id: int,
        *,
        after: int = 0,
        limit: int = 100,
        admin: bool = False,
    ) -> list[Event]:
        """The task's events, oldest first: every transition since it was created (as long as
        the event log keeps them)."""
        if not 1 <= limit <= HISTORY_PAGE:
            raise InvalidInput(f"limit must be 1-{HISTORY_PAGE}")
        await self._visible(viewer, task_id, admin)
        found = await self._store.task_events(task_id, max(after, 0), limit)
        return [_event(e) for e in found]

    # claiming

    async def claim(
        self, agent: Agent, task_id: int, *, lease_seconds: float | None = None
    ) -> Task:
        """Claim one open task the agent is eligible for: it is the ``@agent``, has the
        ``cap:`` or ``tag:``, or may read the ``#channel``. Exactly one claimer wins."""
        check_lease(lease_seconds)
        for _ in range(2):
            claimed = await self._store.claim_task(task_id, agent.id, lease_seconds)
            if claimed is not None:
                return claimed
            stored = await self._visible(agent, task_id, False)
            task = stored.task
            if task.status != "open" and not _lapsed(task):
                held = f" by {task.holder}" if task.status == "claimed" else ""
                raise Conflict(f"task {task_id} is {task.status}{held}", code="not_open")
            if not await self._eligible(agent, task):
                raise Forbidden(
                    f"task {task_id} is for {task.target}, and {agent.name} is not",
                    code="not_eligible",
                )
        raise Conflict(f"task {task_id} changed while claiming; try again", code="conflict")

    async def _eligible(self, agent: Agent, task: Task) -> bool:
        target = names.parse_target(task.target)
        if target.kind == "agent":
            return target.value == agent.name
        if target.kind == "cap":
            return target.value in agent.capabilities
        if target.kind == "tag":
            return target.value in agent.tags
        return await self._may_see(agent, task)

    async def claim_next(
        self, agent: Agent, *, wait: float = 0, lease_seconds: float | None = None
    ) -> Task | None:
        """Claim the highest-priority, oldest open task the agent is eligible for (targeted
        at it, a capability or tag it has, or a channel it belongs to) and did not create;
        with ``wait`` seconds, wait for one to appear. ``None`` if there is none."""
        check_lease(lease_seconds)
        self._feed.check_wait(wait)
        mine = {f"@{agent.name}"} | {f"cap:{c}" for c in agent.capabilities}
        mine |= {f"tag:{t}" for t in agent.tags}
        channels = set(await self._store.member_channel_ids(agent.id)) if wait else set()

        def relevant(event: StoredEvent) -> bool:
            if event.type not in REOPENING:
                return False
            task = event.payload.get("task") or {}
            if task.get("status") != "open" or task.get("created_by") == agent.name:
                return False
            target = str(task.get("target", ""))
            return target in mine or (target.startswith("#") and event.channel_id in channels)

        return await self._feed.wait(
            wait,
            lambda: self._store.claim_next_task(agent.id, lease_seconds),
            lambda task: task is not None,
            relevant,
        )

    # the holder's updates

    async def renew(
        self, agent: Agent, task_id: int, fence: int, *, lease_seconds: float | None = None
    ) -> Task:
        """Extend the holder's lease from now (by the claim's lease, or ``lease_seconds``).
        A lease that has run out cannot be renewed: the task must be claimed again."""
        check_lease(lease_seconds)
        return await self._change(
            agent, TaskChange("renew", task_id, agent.id, fence, lease_seconds=lease_seconds)
        )

    async def progress(
        self,
        agent: Agent,
        task_id: int,
        fence: int,
        *,
        percent: int | None = None,
        note: str | None = None,
    ) -> Task:
        """Report progress (percent and/or a note); it renews the lease too."""
        if percent is None and note is None:
            raise InvalidInput("give percent, note or both", code="invalid")
        if percent is not None and not 0 <= percent <= 100:
            raise InvalidInput("percent must be 0-100", code="bad_progress")
        if note is not None and len(note) > MAX_NOTE:
            raise InvalidInput(f"note is over {MAX_NOTE} characters", code="bad_progress")
        change = TaskChange("progress", task_id, agent.id, fence, progress=percent, note=note)
        return await self._change(agent, change)

    async def complete(
        self,
        agent: Agent,
        task_id: int,
        fence: int,
        *,
        result: Any = None,
        text: str | None = None,
    ) -> Task:
        """Finish the task as ``done`` with a JSON result and/or text."""
        return await self._finish(agent, "complete", task_id, fence, result, text)

    async def fail(
        self,
        agent: Agent,
        task_id: int,
        fence: int,
        *,
        result: Any = None,
        text: str | None = None,
    ) -> Task:
        """Finish the task as ``failed``, saying why (``text``) and with any JSON result."""
        return await self._finish(agent, "fail", task_id, fence, result, text)

    async def _finish(
        self, agent: Agent, op: str, task_id: int, fence: int, result: Any, text: str | None
    ) -> Task:
        if result is not None:
            size = len(plain_json(result, "result"))
            if size > self._limits.max_content_bytes:
                raise TooLarge(
                    f"result is {size} bytes; the limit is {self._limits.max_content_bytes}",
                    code="result_too_large",
                )
        check_text(text, "the result text", self._limits.max_content_bytes)
        change = TaskChange(op, task_id, agent.id, fence, result=result, result_text=text)
        return await self._change(agent, change)

    async def release(self, agent: Agent, task_id: int, fence: int) -> Task:
        """Give the task back: it is open again for anyone eligible (no attempt is counted)."""
        return await self._change(agent, TaskChange("release", task_id, agent.id, fence))

    async def _change(self, agent: Agent, change: TaskChange) -> Task:
        """Apply a holder's change; if the store refuses it, say exactly why."""
        for _ in range(2):
            changed = await self._store.change_task(change)
            if changed is not None:
                return changed
            stored = await self._visible(agent, change.task_id, False)
            replay = _refusal(stored, agent, change)
            if replay is not None:
                return replay
        raise Conflict(f"task {change.task_id} changed meanwhile; try again", code="conflict")

    # the creator's

    async def cancel(
        self, agent: Agent, task_id: int, *, reason: str | None = None, admin: bool = False
    ) -> Task:
        """Cancel an open or claimed task: its creator, or a request with the admin key.
        Cancelling a cancelled task changes nothing."""
        if reason is not None and len(reason) > MAX_NOTE:
            raise InvalidInput(f"reason is over {MAX_NOTE} characters", code="invalid")
        for _ in range(2):
            task = (await self._visible(agent, task_id, admin)).task
            if not admin and task.created_by != agent.name:
                raise Forbidden(
                    "only a task's creator, or a request made with the admin key, may cancel it",
                    code="not_creator",
                )
            if task.status == "cancelled":
                return task
            if task.status in ("done", "failed"):
                raise Conflict(f"task {task_id} is already {task.status}", code="task_finished")
            cancelled = await self._store.cancel_task(task_id, agent.id, reason)
            if cancelled is not None:
                return cancelled
        raise Conflict(f"task {task_id} changed meanwhile; try again", code="conflict")

    # leases

    async def sweep(self) -> list[Task]:
        """Expire every lease that has run out (a cheap lookup when none has)."""
        due = await self._store.next_lease_expiry()
        if due is None or due > datetime.now(UTC):
            return []
        return await self._store.expire_tasks()

    # listing (last: the name ``list`` shadows the builtin below it)

    async def list(
        self,
        viewer: Agent,
        *,
        status: str | None = None,
        target: str | None = None,
        holder: str | None = None,
        created_by: str | None = None,
        label: str | None = None,
        available: bool = False,
        after: int = 0,
        limit: int = 50,
        admin: bool = False,
    ) -> TaskPage:
        """Tasks the viewer may see (the admin key: every task), oldest first, filtered.
        ``holder`` and ``created_by`` take a name or ``me``; ``available`` keeps the open
        tasks the viewer could claim (as claim-next would: not its own)."""
        if not 1 <= limit <= self._limits.max_page:
            raise InvalidInput(f"limit must be 1-{self._limits.max_page}")
        if after < 0:
            raise InvalidInput("after must be 0 or more")
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"bad status {status!r}: one of {', '.join(STATUSES)}")
        # Every filter is checked before an unknown agent's empty page can be answered.
        target_value = None if target is None else str(task_target(target))
        label_value = None if label is None else names.check_tag(label)
        empty = TaskPage(tasks=[], cursor=after, has_more=False)
        holder_id = await self._agent_id(viewer, holder)
        creator_id = await self._agent_id(viewer, created_by)
        if holder_id == 0 or creator_id == 0:
            return empty
        query = TaskQuery(
            viewer_id=None if admin else viewer.id,
            status=status,  # type: ignore[arg-type]  # checked against STATUSES above
            target=target_value,
            holder_id=holder_id,
            created_by=creator_id,
            label=label_value,
            available_to=viewer.id if available else None,
            after=after,
            limit=limit + 1,
        )
        found = await self._store.tasks(query)
        has_more = len(found) > limit
        found = found[:limit]
        return TaskPage(tasks=found, cursor=found[-1].id if found else after, has_more=has_more)

    async def _agent_id(self, viewer: Agent, name: str | None) -> int | None:
        """The id a name filter stands for; 0 for an agent that does not exist (no match)."""
        if name is None:
            return None
        if name == "me":
            return viewer.id
        agent = await self._store.agent(names.check_agent(name.removeprefix("@")))
        return 0 if agent is None else agent.id


def _check_replay(stored: str, fingerprint: str, task_id: int) -> None:
    if stored != fingerprint:
        raise Conflict(
            f"Idempotency-Key was already used for task {task_id} with a different body",
            code="idempotency_conflict",
        )


def _lapsed(task: Task) -> bool:
    """True for a claimed task whose lease has run out (the sweep has not reopened it yet)."""
    expires = task.lease_expires_at
    return task.status == "claimed" and expires is not None and expires <= datetime.now(UTC)


def _refusal(stored: StoredTask, agent: Agent, change: TaskChange) -> Task | None:
    """Why the store refused a holder's change, raised; or the task, if the change is a
    repeat of a completion or failure already made."""
    task = stored.task
    if change.fence != task.fence:
        raise Conflict(
            f"fence {change.fence} is stale: task {task.id} was claimed again (fence {task.fence})",
            code="stale_fence",
        )
    if stored.fence_holder != agent.name:
        raise Conflict(f"{agent.name} does not hold task {task.id}", code="not_holder")
    finished = {"complete": "done", "fail": "failed"}.get(change.op)
    if finished is not None and task.status == finished and task.holder == agent.name:
        return task
    if stored.lease_lost or _lapsed(task):
        raise Conflict(f"the lease on task {task.id} ran out; claim it again", code="lease_expired")
    if task.status != "claimed":
        raise Conflict(f"task {task.id} is {task.status}, not claimed", code="not_claimed")
    return None


def _event(stored: StoredEvent) -> Event:
    return Event(seq=stored.seq, type=stored.type, at=stored.created_at, data=stored.payload)


__all__ = ["MAX_PRIORITY", "MAX_TITLE", "TaskDraft", "TaskService", "offer", "task_target"]
