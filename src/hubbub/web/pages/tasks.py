"""The tasks board: a column per status, each task's history, create and cancel."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hubbub.core.models import Task
from hubbub.core.offers import TaskDraft
from hubbub.web.auth import Viewer
from hubbub.web.pages.common import action, done, form, fragment, hub_of, number, page, text, view

COLUMNS = ("open", "claimed", "done", "failed", "cancelled")
PER_COLUMN = 100


async def board(request: Request, who: Viewer) -> Response:
    """Every task the viewer may see, by status."""
    hub = hub_of(request)
    columns: dict[str, list[Task]] = {}
    for status in COLUMNS:
        found = await hub.tasks.list(who.agent, status=status, limit=PER_COLUMN, admin=who.is_admin)
        columns[status] = found.tasks
    return await page(request, who, "pages/tasks.html", columns=columns)


async def task_page(request: Request, who: Viewer) -> Response:
    """One task and its full history."""
    hub = hub_of(request)
    task_id = int(request.path_params["id"])
    task = await hub.tasks.get(who.agent, task_id, admin=who.is_admin)
    history = await hub.tasks.history(who.agent, task_id, admin=who.is_admin)
    return await page(request, who, "pages/task.html", task=task, history=history)


async def create(request: Request, who: Viewer) -> Response:
    """Create a task and offer it to its target."""
    data = await form(request)
    draft = TaskDraft(
        title=text(data, "title"),
        target=text(data, "target").strip(),
        body=text(data, "body", required=False),
        priority=number(data, "priority") or 0,
    )
    created = await hub_of(request).tasks.create(who.agent, draft)
    html = fragment("partials/task.html", task=created.task, csrf=who.csrf_token)
    return done(request, f"/tasks/{created.task.id}", html)


async def cancel(request: Request, who: Viewer) -> Response:
    """Cancel a task (its creator, or an admin)."""
    reason = text(await form(request), "reason", required=False) or None
    task = await hub_of(request).tasks.cancel(
        who.agent, int(request.path_params["id"]), reason=reason, admin=who.is_admin
    )
    html = fragment("partials/task.html", task=task, csrf=who.csrf_token)
    return done(request, f"/tasks/{task.id}", html)


def routes() -> list[BaseRoute]:
    """The routes of the tasks board."""
    return [
        Route("/tasks", view(board), methods=["GET"]),
        Route("/tasks", action(create), methods=["POST"]),
        Route("/tasks/{id:int}", view(task_page), methods=["GET"]),
        Route("/tasks/{id:int}/cancel", action(cancel), methods=["POST"]),
    ]
