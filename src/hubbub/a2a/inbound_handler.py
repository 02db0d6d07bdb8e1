"""The A2A request handler over the hub's core: each A2A method is one call of
:class:`~hubbub.core.a2a_tasks.A2AService`, for the caller and the agent the request was
authenticated for (:mod:`hubbub.a2a.inbound` puts them in the call's state)."""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC
from typing import Any, ParamSpec, TypeVar

from a2a.server.context import ServerCallContext
from a2a.server.request_handlers.request_handler import RequestHandler
from a2a.types import (
    AgentCard,
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetExtendedAgentCardRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTaskPushNotificationConfigsResponse,
    ListTasksRequest,
    ListTasksResponse,
    Message,
    Role,
    SendMessageRequest,
    SubscribeToTaskRequest,
    Task,
    TaskPushNotificationConfig,
    TaskState,
)
from a2a.utils.errors import (
    A2AError,
    ContentTypeNotSupportedError,
    ExtendedAgentCardNotConfiguredError,
    InternalError,
    InvalidParamsError,
    InvalidRequestError,
    TaskNotCancelableError,
    TaskNotFoundError,
    UnsupportedOperationError,
)

from hubbub.a2a import convert
from hubbub.core.a2a_tasks import A2ASend, A2AState, A2ATaskView, WorkRequest, context_of
from hubbub.core.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    HubbubError,
    InvalidInput,
    NotFound,
    TooLarge,
)
from hubbub.core.hub import Hub
from hubbub.core.models import Agent
from hubbub.core.store import A2APushConfig

STATE = "hubbub"
DEFAULT_PAGE = 50
P = ParamSpec("P")
T = TypeVar("T")
NOT_CANCELABLE = frozenset({"a2a_not_cancelable", "task_finished"})


@dataclass(frozen=True, slots=True)
class Parties:
    """Who calls (stamped from the credential) and which agent's endpoint was called."""

    caller: Agent
    agent: Agent


def a2a_error(error: HubbubError) -> A2AError:
    """The A2A error for a hub error, keeping its stable code in ``data``."""
    data = {"code": error.code}
    if isinstance(error, NotFound):
        return TaskNotFoundError(error.detail, data)
    if isinstance(error, Conflict) and error.code in NOT_CANCELABLE:
        return TaskNotCancelableError(error.detail, data)
    if isinstance(error, InvalidInput | BadRequest | TooLarge | Conflict):
        return InvalidParamsError(error.detail, data)
    if isinstance(error, Forbidden):
        return InvalidRequestError(error.detail, data)
    return InternalError(error.detail, data)


def mapped(
    method: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Raise hub errors as A2A errors."""

    @functools.wraps(method)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except HubbubError as error:
            raise a2a_error(error) from None

    return run


def mapped_stream(
    method: Callable[P, AsyncIterator[T]],
) -> Callable[P, AsyncGenerator[T]]:
    """Raise hub errors of a stream as A2A errors."""

    @functools.wraps(method)
    async def run(*args: P.args, **kwargs: P.kwargs) -> AsyncGenerator[T]:
        try:
            async for item in method(*args, **kwargs):
                yield item
        except HubbubError as error:
            raise a2a_error(error) from None

    return run


def parties(context: ServerCallContext) -> Parties:
    """The caller and agent :mod:`hubbub.a2a.inbound` authenticated the request for."""
    found = context.state.get(STATE)
    if not isinstance(found, Parties):  # the routes always set it: a call past them is a bug
        raise InternalError("the request was not authenticated")
    return found


def _send(params: SendMessageRequest) -> A2ASend:
    """What the caller asks, as the hub will post it."""
    message = params.message
    if message.role == Role.ROLE_AGENT:
        raise InvalidParamsError("a message to an agent has the role ROLE_USER")
    try:
        content = convert.text_of(list(message.parts))
    except convert.Unsupported as error:
        raise ContentTypeNotSupportedError(str(error)) from None
    meta = convert.plain(message.metadata)
    asked = meta.pop("task", None)
    work = _work(asked)
    a2a: dict[str, Any] = {"messageId": message.message_id}
    data = convert.data_of(list(message.parts))
    if data:
        a2a["data"] = data
    if meta:
        a2a["metadata"] = meta
    try:
        return A2ASend(
            message_id=message.message_id,
            content=content,
            metadata={"a2a": a2a},
            context_id=context_of(message.context_id),
            task_id=context_of(message.task_id),
            work=work,
        )
    except HubbubError as error:
        raise a2a_error(error) from None


def _work(asked: Any) -> WorkRequest | None:
    """The ``task`` metadata of a message: ``true``, or an object with ``title``, ``skill``
    and ``priority``."""
    if asked is None or asked is False:
        return None
    if asked is True:
        return WorkRequest()
    if not isinstance(asked, dict) or set(asked) - {"title", "skill", "priority"}:
        raise InvalidParamsError(
            "metadata.task is true or an object of title, skill and priority",
            {"code": "a2a_bad_task"},
        )
    title, skill, priority = asked.get("title"), asked.get("skill"), asked.get("priority", 0)
    if not isinstance(title, str | None) or not isinstance(skill, str | None):
        raise InvalidParamsError("task title and skill are text", {"code": "a2a_bad_task"})
    if not isinstance(priority, int | float) or priority != int(priority):
        raise InvalidParamsError("task priority is a whole number", {"code": "a2a_bad_task"})
    return WorkRequest(title=title, skill=skill, priority=int(priority))


def _task_id(raw: str) -> int:
    """A task id from a request (a hub id)."""
    found = context_of(raw)
    if found is None:
        raise InvalidParamsError("give the task's id")
    return found


def _push(config: A2APushConfig) -> TaskPushNotificationConfig:
    """A kept push config as A2A shows it."""
    return TaskPushNotificationConfig(
        id=config.name, task_id=str(config.task_id), url=config.url, token=config.token or ""
    )


def _history(params: GetTaskRequest | ListTasksRequest) -> int | None:
    if not params.HasField("history_length"):
        return None
    if params.history_length < 0:
        raise InvalidParamsError("historyLength must be 0 or more")
    return params.history_length


class HubRequestHandler(RequestHandler):
    """Every A2A method, answered by the hub's core services."""

    def __init__(self, hub: Hub, wait_seconds: float) -> None:
        self.hub = hub
        self.wait_seconds = wait_seconds

    @mapped
    async def on_message_send(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> Task | Message:
        who = parties(context)
        view = await self._send(who, params)
        if not params.configuration.return_immediately:
            view = await self.hub.a2a.settle(who.caller, who.agent, view, self.wait_seconds)
        history = (
            params.configuration.history_length
            if params.configuration.HasField("history_length")
            else None
        )
        return convert.task(view, history)

    @mapped_stream
    async def on_message_send_stream(
        self, params: SendMessageRequest, context: ServerCallContext
    ) -> AsyncIterator[convert.Event]:
        who = parties(context)
        view = await self._send(who, params)
        async for event in self._follow(who, view):
            yield event

    async def _send(self, who: Parties, params: SendMessageRequest) -> A2ATaskView:
        """Send the message, then keep the push config that came with it (checked first, so
        a bad one sends nothing)."""
        asked = _send(params)
        push = None
        if params.configuration.HasField("task_push_notification_config"):
            push = params.configuration.task_push_notification_config
            self.hub.a2a.check_push(push.url, name=push.id or None, token=push.token or None)
        view = await self.hub.a2a.send(who.caller, who.agent, asked)
        if push is not None:
            await self.hub.a2a.set_push(
                who.caller,
                who.agent,
                view.record.id,
                push.url,
                name=push.id or None,
                token=push.token or None,
            )
        return view

    async def _follow(self, who: Parties, view: Any) -> AsyncIterator[convert.Event]:
        before = None
        async for update in self.hub.a2a.follow(who.caller, who.agent, view):
            for event in convert.updates(before, update):
                yield event
            before = update

    @mapped
    async def on_get_task(self, params: GetTaskRequest, context: ServerCallContext) -> Task:
        who = parties(context)
        task_id = context_of(params.id)
        if task_id is None:
            raise InvalidParamsError("give the task's id")
        view = await self.hub.a2a.get(who.caller, who.agent, task_id)
        return convert.task(view, _history(params))

    @mapped
    async def on_list_tasks(
        self, params: ListTasksRequest, context: ServerCallContext
    ) -> ListTasksResponse:
        who = parties(context)
        size = params.page_size if params.HasField("page_size") else DEFAULT_PAGE
        before = None
        if params.page_token:
            before = context_of(params.page_token)
        state: A2AState | None = None
        if params.status != TaskState.TASK_STATE_UNSPECIFIED:
            name = convert.HUB_STATES.get(params.status)
            if name is None:  # a state no hub task is ever in
                return ListTasksResponse(page_size=size, total_size=0)
            state = name  # type: ignore[assignment]
        page = await self.hub.a2a.list(
            who.caller,
            who.agent,
            context_id=context_of(params.context_id),
            state=state,
            updated_after=(
                params.status_timestamp_after.ToDatetime(UTC)
                if params.HasField("status_timestamp_after")
                else None
            ),
            before=before,
            limit=size,
        )
        history = _history(params)
        return ListTasksResponse(
            tasks=[convert.task(view, history) for view in page.tasks],
            next_page_token="" if page.next_before is None else str(page.next_before),
            page_size=size,
            total_size=page.total,
        )

    @mapped
    async def on_cancel_task(self, params: CancelTaskRequest, context: ServerCallContext) -> Task:
        who = parties(context)
        task_id = context_of(params.id)
        if task_id is None:
            raise InvalidParamsError("give the task's id")
        return convert.task(await self.hub.a2a.cancel(who.caller, who.agent, task_id))

    @mapped_stream
    async def on_subscribe_to_task(
        self, params: SubscribeToTaskRequest, context: ServerCallContext
    ) -> AsyncIterator[convert.Event]:
        who = parties(context)
        task_id = context_of(params.id)
        if task_id is None:
            raise InvalidParamsError("give the task's id")
        view = await self.hub.a2a.get(who.caller, who.agent, task_id)
        if view.final:
            raise UnsupportedOperationError(f"task {task_id} is {view.state}: nothing will follow")
        async for event in self._follow(who, view):
            yield event

    @mapped
    async def on_create_task_push_notification_config(
        self, params: TaskPushNotificationConfig, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        who = parties(context)
        config = await self.hub.a2a.set_push(
            who.caller,
            who.agent,
            _task_id(params.task_id),
            params.url,
            name=params.id or None,
            token=params.token or None,
        )
        return _push(config)

    @mapped
    async def on_get_task_push_notification_config(
        self, params: GetTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> TaskPushNotificationConfig:
        who = parties(context)
        task_id = _task_id(params.task_id)
        return _push(await self.hub.a2a.push(who.caller, who.agent, task_id, params.id))

    @mapped
    async def on_list_task_push_notification_configs(
        self, params: ListTaskPushNotificationConfigsRequest, context: ServerCallContext
    ) -> ListTaskPushNotificationConfigsResponse:
        who = parties(context)
        found = await self.hub.a2a.pushes(who.caller, who.agent, _task_id(params.task_id))
        return ListTaskPushNotificationConfigsResponse(configs=[_push(c) for c in found])

    @mapped
    async def on_delete_task_push_notification_config(
        self, params: DeleteTaskPushNotificationConfigRequest, context: ServerCallContext
    ) -> None:
        who = parties(context)
        await self.hub.a2a.delete_push(who.caller, who.agent, _task_id(params.task_id), params.id)

    async def on_get_extended_agent_card(
        self, params: GetExtendedAgentCardRequest, context: ServerCallContext
    ) -> AgentCard:
        raise ExtendedAgentCardNotConfiguredError("the public card is the whole card")
