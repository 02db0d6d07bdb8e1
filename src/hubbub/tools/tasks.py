"""Tools for work hand-off: list, claim and complete tasks (compact), and create, show, renew,
report progress on, fail, release and cancel them (full)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hubbub.core.models import Task
from hubbub.tools.framing import frame_task, neutralize, stamp
from hubbub.tools.registry import Tool, ToolContext
from hubbub.tools.views import View

Status = Literal["open", "claimed", "done", "failed", "cancelled"]
FENCE = "fencing token from your claim"


class TaskView(View):
    """One task as a model sees it."""

    id: int
    title: str
    target: str
    status: str
    priority: int
    created_by: str
    holder: str | None = None
    fence: int | None = None
    lease_expires: str | None = None
    progress: int | None = None
    note: str | None = None
    labels: list[str]
    result: str | None = None
    body: str | None = None

    @classmethod
    def of(cls, task: Task, *, body: bool = False) -> TaskView:
        """The view of a task; its creator's and holder's words are neutralized, and the
        body (``body=True``) framed like a message."""
        return cls(
            id=task.id,
            title=neutralize(task.title),
            target=task.target,
            status=task.status,
            priority=task.priority,
            created_by=task.created_by,
            holder=task.holder,
            fence=task.fence if task.holder else None,
            lease_expires=stamp(task.lease_expires_at) if task.lease_expires_at else None,
            progress=task.progress,
            note=neutralize(task.progress_note) if task.progress_note else None,
            labels=task.labels,
            result=neutralize(task.result_text) if task.result_text else None,
            body=frame_task(task.id, task.created_by, task.created_at, task.body) if body else None,
        )


def render_task(task: TaskView) -> str:
    """One task: a headline, its lease and progress, and its framed body if shown."""
    line = f"task {task.id} [{task.status}] {task.title!r} for {task.target} by @{task.created_by}"
    if task.holder:
        line += f"; held by @{task.holder}, fence {task.fence}, lease to {task.lease_expires}"
    if task.progress is not None or task.note:
        line += f"; progress {task.progress or 0}% {task.note or ''}".rstrip()
    if task.result:
        line += f"; result: {task.result}"
    return f"{line}\n{task.body}" if task.body else line


class TasksIn(View):
    """Arguments of hubbub_tasks."""

    show: Literal["available", "mine", "created", "all"] = Field(
        default="available",
        description="available: open tasks you may claim; mine: held by you; created: by you",
    )
    status: Status | None = None
    after: int = Field(default=0, ge=0, description="task id cursor")
    limit: int = Field(default=20, ge=1, le=100)


class TasksOut(View):
    """A page of tasks."""

    tasks: list[TaskView]
    cursor: int
    has_more: bool


async def list_tasks(ctx: ToolContext, args: TasksIn) -> TasksOut:
    page = await ctx.client.tasks(
        status=args.status,
        holder="me" if args.show == "mine" else None,
        created_by="me" if args.show == "created" else None,
        available=args.show == "available",
        after=args.after,
        limit=args.limit,
    )
    views = [TaskView.of(task) for task in page.tasks]
    return TasksOut(tasks=views, cursor=page.cursor, has_more=page.has_more)


def render_tasks(out: TasksOut) -> str:
    more = f"; more after={out.cursor}" if out.has_more else ""
    lines = [render_task(task) for task in out.tasks]
    return "\n".join([f"{len(out.tasks)} task(s){more}", *lines])


class ClaimIn(View):
    """Arguments of hubbub_claim."""

    task_id: int | None = Field(default=None, description="omit to claim the best open task")


class ClaimOut(View):
    """The claimed task, if any."""

    claimed: bool
    task: TaskView | None = None


async def claim(ctx: ToolContext, args: ClaimIn) -> ClaimOut:
    if args.task_id is None:
        found = await ctx.client.claim_next()
    else:
        found = await ctx.client.claim_task(args.task_id)
    if found is None:
        return ClaimOut(claimed=False)
    return ClaimOut(claimed=True, task=TaskView.of(found, body=True))


def render_claim(out: ClaimOut) -> str:
    if out.task is None:
        return "no open task for you right now"
    return f"claimed; pass fence={out.task.fence} to update it\n{render_task(out.task)}"


class FinishIn(View):
    """Arguments of hubbub_complete and hubbub_fail_task."""

    task_id: int
    fence: int = Field(description=FENCE)
    text: str | None = Field(default=None, description="the result, or why it failed")


async def complete(ctx: ToolContext, args: FinishIn) -> TaskView:
    return TaskView.of(await ctx.client.complete_task(args.task_id, args.fence, text=args.text))


async def fail(ctx: ToolContext, args: FinishIn) -> TaskView:
    return TaskView.of(await ctx.client.fail_task(args.task_id, args.fence, text=args.text))


class CreateIn(View):
    """Arguments of hubbub_create_task."""

    title: str
    target: str = Field(description="@agent, cap:x, tag:x or #channel")
    body: str = Field(default="", description="Markdown: what to do, how to report")
    priority: int = Field(default=0, description="higher is claimed first")
    labels: list[str] | None = None
    dedupe_key: str | None = Field(
        default=None, description="repeats with this key bump the open task instead"
    )


async def create(ctx: ToolContext, args: CreateIn) -> TaskView:
    made = await ctx.client.create_task(
        args.title,
        args.target,
        body=args.body,
        priority=args.priority,
        labels=args.labels,
        dedupe_key=args.dedupe_key,
    )
    return TaskView.of(made)


class TaskIn(View):
    """A task id."""

    task_id: int


async def show(ctx: ToolContext, args: TaskIn) -> TaskView:
    return TaskView.of(await ctx.client.task(args.task_id), body=True)


class HeldIn(View):
    """A held task and its fence."""

    task_id: int
    fence: int = Field(description=FENCE)


async def renew(ctx: ToolContext, args: HeldIn) -> TaskView:
    return TaskView.of(await ctx.client.renew_task(args.task_id, args.fence))


async def release(ctx: ToolContext, args: HeldIn) -> TaskView:
    return TaskView.of(await ctx.client.release_task(args.task_id, args.fence))


class ProgressIn(View):
    """Arguments of hubbub_task_progress."""

    task_id: int
    fence: int = Field(description=FENCE)
    percent: int | None = Field(default=None, ge=0, le=100)
    note: str | None = Field(default=None, description="what is happening")


async def progress(ctx: ToolContext, args: ProgressIn) -> TaskView:
    done = await ctx.client.task_progress(
        args.task_id, args.fence, percent=args.percent, note=args.note
    )
    return TaskView.of(done)


class CancelIn(View):
    """Arguments of hubbub_cancel_task."""

    task_id: int
    reason: str | None = None


async def cancel(ctx: ToolContext, args: CancelIn) -> TaskView:
    return TaskView.of(await ctx.client.cancel_task(args.task_id, reason=args.reason))


TASKS = Tool(
    name="hubbub_tasks",
    title="List tasks",
    description="Tasks handed to agents: by default the open ones you may claim.",
    input=TasksIn,
    output=TasksOut,
    run=list_tasks,
    render=render_tasks,
    compact=True,
    read_only=True,
    idempotent=True,
)
CLAIM = Tool(
    name="hubbub_claim",
    title="Claim a task",
    description=(
        "Claim a task (or the best open one) under a lease; returns its body and the fence "
        "that hubbub_complete needs. Only one agent wins a claim."
    ),
    input=ClaimIn,
    output=ClaimOut,
    run=claim,
    render=render_claim,
    compact=True,
)
COMPLETE = Tool(
    name="hubbub_complete",
    title="Complete a task",
    description="Mark a task you hold done, with a short result.",
    input=FinishIn,
    output=TaskView,
    run=complete,
    render=render_task,
    compact=True,
)
CREATE_TASK = Tool(
    name="hubbub_create_task",
    title="Create a task",
    description="Hand work to @agent, every agent with cap:x or tag:x, or a #channel; they "
    "are offered it in their inbox.",
    input=CreateIn,
    output=TaskView,
    run=create,
    render=render_task,
    compact=False,
)
SHOW_TASK = Tool(
    name="hubbub_task",
    title="Show a task",
    description="One task with its body, holder, lease and progress.",
    input=TaskIn,
    output=TaskView,
    run=show,
    render=render_task,
    compact=False,
    read_only=True,
    idempotent=True,
)
RENEW_TASK = Tool(
    name="hubbub_renew_task",
    title="Renew a lease",
    description="Extend the lease on a task you hold, before it runs out.",
    input=HeldIn,
    output=TaskView,
    run=renew,
    render=render_task,
    compact=False,
)
TASK_PROGRESS = Tool(
    name="hubbub_task_progress",
    title="Report progress",
    description="Report progress on a task you hold (also renews its lease).",
    input=ProgressIn,
    output=TaskView,
    run=progress,
    render=render_task,
    compact=False,
)
FAIL_TASK = Tool(
    name="hubbub_fail_task",
    title="Fail a task",
    description="Give up on a task you hold for good, saying why.",
    input=FinishIn,
    output=TaskView,
    run=fail,
    render=render_task,
    compact=False,
    destructive=True,
)
RELEASE_TASK = Tool(
    name="hubbub_release_task",
    title="Release a task",
    description="Give a task you hold back, open for another agent to claim.",
    input=HeldIn,
    output=TaskView,
    run=release,
    render=render_task,
    compact=False,
)
CANCEL_TASK = Tool(
    name="hubbub_cancel_task",
    title="Cancel a task",
    description="Cancel a task you created; nobody works on it any more.",
    input=CancelIn,
    output=TaskView,
    run=cancel,
    render=render_task,
    compact=False,
    destructive=True,
)
