"""Tasks: create, list, claim (one or the next), renew, progress, complete, fail, release,
cancel, and each task's history."""

from __future__ import annotations

from hubbub.core.models import Event, Task, TaskPage
from hubbub.core.tasks import TaskDraft
from hubbub.server import guards
from hubbub.server.bodies import (
    CancelBody,
    ClaimNextBody,
    FencedBody,
    HistoryQuery,
    LeaseBody,
    Printable,
    ProgressBody,
    RenewBody,
    ResultBody,
    TaskBody,
    TasksQuery,
)
from hubbub.server.endpoints import Call, Header, Reply, Routes

routes = Routes("tasks")

IDEMPOTENCY = Header(
    "Idempotency-Key",
    "Retries with the same key return the first result (200, `Idempotent-Replayed: true`) "
    "instead of creating again; the same key with a different body is 409.",
    Printable,
)


FENCING = {409: "Not the current fence or holder, the lease ran out, or the task is not claimed"}


def _admin(call: Call) -> bool:
    return call.credential is not None and call.credential.is_admin


@routes.post(
    "/tasks",
    summary="Create a task and offer it to its target",
    status=201,
    headers=(IDEMPOTENCY,),
    responses={
        200: "A replay of an earlier create with the same Idempotency-Key "
        "(`Idempotent-Replayed: true`), or an active task with the same dedupe_key, bumped "
        "(`Hubbub-Deduplicated: true`)"
    },
    errors={
        404: "No such target or channel",
        409: "The channel is archived, or the Idempotency-Key was used for another body",
    },
    scope="tasks:create",
    guard=guards.body_target,
)
async def create_task(call: Call, body: TaskBody) -> Task | Reply:
    """The creator is the acting agent. Offers go out as inbox items of kind `task`: a DM to
    the `@agent` or to each agent with the `cap:`/`tag:`, or one post in the `#channel`."""
    draft = TaskDraft(**body.model_dump())
    created = await call.hub.tasks.create(
        call.agent, draft, idempotency_key=call.header("idempotency-key")
    )
    if created.replayed:
        return Reply(created.task, 200, {"Idempotent-Replayed": "true"})
    if created.deduped:
        return Reply(created.task, 200, {"Hubbub-Deduplicated": "true"})
    return created.task


@routes.get(
    "/tasks", summary="List the tasks I may see", scope="tasks:read", guard=guards.task_listing
)
async def list_tasks(call: Call, query: TasksQuery) -> TaskPage:
    """Oldest first; pass the returned `cursor` as `after` to page on. The admin key sees
    every task."""
    return await call.hub.tasks.list(
        call.agent,
        status=query.status,
        target=query.target,
        holder=query.holder,
        created_by=query.created_by,
        label=query.label,
        available=query.available,
        after=query.after,
        limit=query.limit,
        admin=_admin(call),
    )


@routes.post("/tasks/claim", summary="Claim the next task for me (optionally waiting)")
async def claim_next_task(call: Call, body: ClaimNextBody) -> Task | None:
    """The highest-priority, oldest open task I am eligible for and did not create: for
    `@me`, a capability or tag I have, or a channel I belong to. `null` if there is none
    (after `wait` seconds, if given)."""
    return await call.hub.tasks.claim_next(
        call.agent, wait=body.wait, lease_seconds=body.lease_seconds
    )


@routes.get("/tasks/{task_id}", summary="One task", scope="tasks:read", guard=guards.task_param())
async def get_task(call: Call, task_id: int) -> Task:
    return await call.hub.tasks.get(call.agent, task_id, admin=_admin(call))


@routes.get(
    "/tasks/{task_id}/events",
    summary="A task's history: its events, oldest first",
    scope="tasks:read",
    guard=guards.task_param(),
)
async def task_events(call: Call, task_id: int, query: HistoryQuery) -> list[Event]:
    return await call.hub.tasks.history(
        call.agent, task_id, after=query.after, limit=query.limit, admin=_admin(call)
    )


@routes.post(
    "/tasks/{task_id}/claim",
    summary="Claim a task (exactly one claimer wins)",
    errors={409: "The task is not open"},
)
async def claim_task(call: Call, task_id: int, body: LeaseBody) -> Task:
    """Grants a lease and a new, higher `fence`, which every update must carry."""
    return await call.hub.tasks.claim(call.agent, task_id, lease_seconds=body.lease_seconds)


@routes.post("/tasks/{task_id}/renew", summary="Renew my lease on a task", errors=FENCING)
async def renew_task(call: Call, task_id: int, body: RenewBody) -> Task:
    return await call.hub.tasks.renew(
        call.agent, task_id, body.fence, lease_seconds=body.lease_seconds
    )


@routes.post(
    "/tasks/{task_id}/progress",
    summary="Report progress (renews the lease)",
    errors=FENCING,
)
async def task_progress(call: Call, task_id: int, body: ProgressBody) -> Task:
    return await call.hub.tasks.progress(
        call.agent, task_id, body.fence, percent=body.percent, note=body.note
    )


@routes.post(
    "/tasks/{task_id}/complete",
    summary="Complete a task I hold, with a result",
    errors=FENCING,
)
async def complete_task(call: Call, task_id: int, body: ResultBody) -> Task:
    return await call.hub.tasks.complete(
        call.agent, task_id, body.fence, result=body.result, text=body.text
    )


@routes.post("/tasks/{task_id}/fail", summary="Fail a task I hold, saying why", errors=FENCING)
async def fail_task(call: Call, task_id: int, body: ResultBody) -> Task:
    return await call.hub.tasks.fail(
        call.agent, task_id, body.fence, result=body.result, text=body.text
    )


@routes.post(
    "/tasks/{task_id}/release",
    summary="Give a task I hold back (open again)",
    errors=FENCING,
)
async def release_task(call: Call, task_id: int, body: FencedBody) -> Task:
    return await call.hub.tasks.release(call.agent, task_id, body.fence)


@routes.post(
    "/tasks/{task_id}/cancel",
    summary="Cancel a task (its creator, or the admin key)",
    errors={409: "The task is done or failed"},
    scope="tasks:update",
    guard=guards.task_param(),
)
async def cancel_task(call: Call, task_id: int, body: CancelBody) -> Task:
    return await call.hub.tasks.cancel(call.agent, task_id, reason=body.reason, admin=_admin(call))
