"""Guards for endpoints integration tokens may reach: each finds, in the parsed request,
what the token must be allowed to touch and asks the core's :class:`~hubbub.core.scopes.Grant`.
They run only for integration tokens, after the endpoint's scope was checked."""

from __future__ import annotations

from typing import Any

from hubbub.core.scopes import Grant
from hubbub.server.endpoints import Call, Guard


def _grant(call: Call) -> Grant:
    grant = call.grant
    assert grant is not None  # guards run only for integration tokens
    return grant


async def body_target(call: Call, args: dict[str, Any]) -> None:
    """The body's ``target`` (a task's or a send's) must be allowed."""
    _grant(call).require_target(args["body"].target)


def channel_param(name: str = "name") -> Guard:
    """The channel named by path parameter ``name`` must be allowed."""

    async def guard(call: Call, args: dict[str, Any]) -> None:
        _grant(call).require_channel(args[name])

    return guard


def task_param(name: str = "task_id") -> Guard:
    """The target of the task named by path parameter ``name`` must be allowed."""

    async def guard(call: Call, args: dict[str, Any]) -> None:
        task = await call.hub.tasks.get(call.agent, args[name])
        _grant(call).require_target(task.target)

    return guard


async def task_listing(call: Call, args: dict[str, Any]) -> None:
    """A task listing names an allowed ``target``, or asks for the integration's own tasks
    (``created_by=me``)."""
    query = args["query"]
    target = getattr(query, "target", None)
    mine = getattr(query, "created_by", None) in ("me", call.agent.name)
    if target is not None:
        _grant(call).require_target(target)
    elif not mine:
        _grant(call).require_target("*")
