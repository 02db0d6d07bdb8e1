"""``hubbub tasks``: create tasks, list and show them, claim one (or the next), renew the
lease, report progress, and finish, fail, release or cancel."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from hubbub.cli.hub import AgentOption, JsonFlag, connected
from hubbub.cli.output import ago, console, emit

if TYPE_CHECKING:
    from hubbub.core.models import Event, Task, TaskPage

app = typer.Typer(
    help="Tasks: work handed to an agent, a capability, a tag or a channel, claimed under a "
    "lease. Updates carry the fence the claim returned.",
    no_args_is_help=True,
)
TaskId = Annotated[int, typer.Argument(help="The task id.")]
Fence = Annotated[int, typer.Option(help="The fence your claim returned.")]
Lease = Annotated[
    float | None,
    typer.Option("--lease", help="Lease length in seconds (1-86400).", show_default=False),
]


def describe(task: Task) -> str:
    """One line: id, status, title, target, holder and fence."""
    held = f" held by {task.holder} (fence {task.fence})" if task.status == "claimed" else ""
    done = f" by {task.holder}" if task.status == "done" and task.holder else ""
    extra = f" (seen {task.occurrences} times)" if task.occurrences > 1 else ""
    ranked = f" p{task.priority}" if task.priority else ""
    return (
        f"[cyan]{task.id}[/cyan] [yellow]{task.status}[/yellow]{ranked} "
        f"[bold]{escape(task.title)}[/bold] → {escape(task.target)}{held}{done}{extra}"
    )


def show_task(task: Task) -> None:
    """A task in full: its line, its times and lease, progress, result and body."""
    from rich.markdown import Markdown

    console.print(describe(task), highlight=False)
    facts = [f"created by {task.created_by} {ago(task.created_at)}"]
    if task.lease_expires_at is not None:
        facts.append(f"lease until {task.lease_expires_at:%H:%M:%S}Z")
    facts.append(f"attempts {task.attempts}/{task.max_attempts}")
    if task.labels:
        facts.append("labels " + ", ".join(task.labels))
    if task.due_at is not None:
        facts.append(f"due {task.due_at:%Y-%m-%d %H:%M}Z")
    console.print("[dim]" + escape("; ".join(facts)) + "[/dim]", highlight=False)
    if task.progress is not None or task.progress_note:
        note = f" {task.progress_note}" if task.progress_note else ""
        shown = f"{task.progress}%" if task.progress is not None else ""
        console.print(escape(f"progress: {shown}{note}".rstrip()), highlight=False)
    if task.result_text:
        console.print(escape(f"result: {task.result_text}"), highlight=False)
    if task.result is not None:
        console.print(escape(json.dumps(task.result, ensure_ascii=False)), highlight=False)
    if task.body:
        console.print(Markdown(task.body))


def _claimed(task: Task | None) -> None:
    if task is None:
        console.print("[dim]No task is available.[/dim]")
        return
    console.print(describe(task), highlight=False)
    console.print(
        f"[dim]Finish with: hubbub tasks done {task.id} --fence {task.fence}[/dim]",
        highlight=False,
    )


def _result(raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise typer.BadParameter(f"--result is not JSON: {error}") from None


@app.command("create")
def create(
    title: Annotated[str, typer.Argument(help="A one-line title.")],
    to: Annotated[str, typer.Option("--to", help="@agent, cap:NAME, tag:NAME or #channel.")],
    body: Annotated[
        str, typer.Option(help="Markdown details, or - to read stdin.", show_default=False)
    ] = "",
    priority: Annotated[int, typer.Option(help="Higher is claimed first.")] = 0,
    label: Annotated[
        list[str] | None, typer.Option(help="A label (repeatable).", show_default=False)
    ] = None,
    dedupe_key: Annotated[
        str | None,
        typer.Option(help="Repeats while it is active bump it instead.", show_default=False),
    ] = None,
    max_attempts: Annotated[
        int | None,
        typer.Option(
            help="Leases that may run out before it fails (default 3).", show_default=False
        ),
    ] = None,
    lease: Lease = None,
    due: Annotated[
        datetime | None, typer.Option(help="When it is due (ISO 8601).", show_default=False)
    ] = None,
    offer: Annotated[
        bool, typer.Option(help="Offer it: inbox items for the matching agents.")
    ] = True,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a task and offer it to its target."""
    text = sys.stdin.read() if body == "-" else body
    with connected(agent) as client:
        made = client.create_task(
            title,
            to,
            body=text,
            priority=priority,
            labels=label,
            dedupe_key=dedupe_key,
            max_attempts=max_attempts,
            lease_seconds=lease,
            due_at=due,
            offer=offer,
        )
    emit(made, as_json, lambda t: console.print("Created " + describe(t), highlight=False))


@app.command("list")
def list_tasks(
    status: Annotated[
        str | None,
        typer.Option(help="open, claimed, done, failed or cancelled.", show_default=False),
    ] = None,
    target: Annotated[
        str | None, typer.Option(help="Only tasks for this target.", show_default=False)
    ] = None,
    holder: Annotated[
        str | None, typer.Option(help="Only tasks held by this agent, or me.", show_default=False)
    ] = None,
    created_by: Annotated[
        str | None,
        typer.Option(help="Only tasks created by this agent, or me.", show_default=False),
    ] = None,
    label: Annotated[
        str | None, typer.Option(help="Only tasks with this label.", show_default=False)
    ] = None,
    available: Annotated[
        bool, typer.Option("--available", help="Only open tasks I could claim.")
    ] = False,
    after: Annotated[int, typer.Option(help="Only tasks after this id.")] = 0,
    limit: Annotated[int, typer.Option(help="How many tasks (1-500).")] = 50,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """List the tasks the agent may see, oldest first."""
    with connected(agent) as client:
        page = client.tasks(
            status=status,
            target=target,
            holder=holder,
            created_by=created_by,
            label=label,
            available=available,
            after=after,
            limit=limit,
        )

    def show(found: TaskPage) -> None:
        if not found.tasks:
            console.print("[dim]No tasks.[/dim]")
        for task in found.tasks:
            console.print(describe(task), highlight=False)
        if found.has_more:
            console.print(f"[dim]More: --after {found.cursor}[/dim]")

    emit(page, as_json, show)


@app.command("show")
def show(
    task_id: TaskId,
    history: Annotated[bool, typer.Option("--history", help="Show its events instead.")] = False,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Show one task, or its history of events."""
    with connected(agent) as client:
        if history:
            found = client.task_events(task_id)
            emit(found, as_json, _show_history)
            return
        task = client.task(task_id)
    emit(task, as_json, show_task)


def _show_history(found: list[Event]) -> None:
    for event in found:
        by = event.data.get("by")
        who = f" by {by}" if by else ""
        status = event.data.get("task", {}).get("status", "")
        console.print(
            f"[dim]{event.seq}[/dim] {event.at:%H:%M:%S} [yellow]{event.type}[/yellow]"
            f"{escape(who)} → {status}",
            highlight=False,
        )


@app.command("claim")
def claim(
    task_id: Annotated[
        int | None,
        typer.Argument(help="The task; without it, the next one for me.", show_default=False),
    ] = None,
    wait: Annotated[
        float | None,
        typer.Option(help="Without an id: wait this many seconds for one.", show_default=False),
    ] = None,
    lease: Lease = None,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Claim a task, or the next one I am eligible for; prints the fence to update it with."""
    if task_id is not None and wait is not None:
        raise typer.BadParameter("--wait is for claiming the next task, without an id")
    with connected(agent) as client:
        if task_id is None:
            got = client.claim_next(wait=wait, lease_seconds=lease)
        else:
            got = client.claim_task(task_id, lease_seconds=lease)
    emit(got, as_json, _claimed)


@app.command("renew")
def renew(
    task_id: TaskId,
    fence: Fence,
    lease: Lease = None,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Renew my lease on a task."""
    with connected(agent) as client:
        task = client.renew_task(task_id, fence, lease_seconds=lease)
    emit(task, as_json, lambda t: console.print(describe(t), highlight=False))


@app.command("progress")
def progress(
    task_id: TaskId,
    fence: Fence,
    percent: Annotated[
        int | None, typer.Argument(help="Percent done, 0-100.", show_default=False)
    ] = None,
    note: Annotated[str | None, typer.Option(help="What is happening.", show_default=False)] = None,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Report progress on a task I hold (renews the lease too)."""
    with connected(agent) as client:
        task = client.task_progress(task_id, fence, percent=percent, note=note)
    emit(task, as_json, lambda t: console.print(describe(t), highlight=False))


ResultOption = Annotated[
    str | None, typer.Option("--result", help="A JSON result.", show_default=False)
]


@app.command("done")
def done(
    task_id: TaskId,
    fence: Fence,
    text: Annotated[
        str | None, typer.Option(help="The outcome in words.", show_default=False)
    ] = None,
    result: ResultOption = None,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Complete a task I hold."""
    value = _result(result)
    with connected(agent) as client:
        task = client.complete_task(task_id, fence, result=value, text=text)
    emit(task, as_json, lambda t: console.print(describe(t), highlight=False))


@app.command("fail")
def fail(
    task_id: TaskId,
    fence: Fence,
    reason: Annotated[str | None, typer.Option(help="Why it failed.", show_default=False)] = None,
    result: ResultOption = None,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Fail a task I hold."""
    value = _result(result)
    with connected(agent) as client:
        task = client.fail_task(task_id, fence, result=value, text=reason)
    emit(task, as_json, lambda t: console.print(describe(t), highlight=False))


@app.command("release")
def release(
    task_id: TaskId, fence: Fence, agent: AgentOption = None, as_json: JsonFlag = False
) -> None:
    """Give a task I hold back: it is open again for others."""
    with connected(agent) as client:
        task = client.release_task(task_id, fence)
    emit(task, as_json, lambda t: console.print(describe(t), highlight=False))


@app.command("cancel")
def cancel(
    task_id: TaskId,
    reason: Annotated[str | None, typer.Option(help="Why.", show_default=False)] = None,
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Cancel a task I created."""
    with connected(agent) as client:
        task = client.cancel_task(task_id, reason=reason)
    emit(task, as_json, lambda t: console.print(describe(t), highlight=False))
