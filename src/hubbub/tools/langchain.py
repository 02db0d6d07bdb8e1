"""LangChain over the hub: the registry's tools as a toolkit, and callback handlers that post a
run's results to a channel.

Needs the ``langchain`` extra (``pip install 'hubbub[langchain]'``).

``HubbubToolkit(client=...).get_tools()``: each tool is a ``StructuredTool`` whose
``args_schema`` is the registry's input model and whose coroutine calls the SDK; it answers
with the text rendering as content and the structured result as the artifact. The hub's
refusals and bad arguments raise ``ToolException``, which the tools hand back to the model as
an error ``ToolMessage``. The tools are asynchronous: call them with ``ainvoke`` (an agent
loop on an ``AsyncClient`` does).

``HubbubCallbackHandler(client, channel=...)`` (a ``Client``) and
``AsyncHubbubCallbackHandler`` (an ``AsyncClient``) post the final output of a run, tool
errors and, if asked, every model completion to a channel, as plain message content bounded
to the hub's size limit. A hub that cannot be reached or refuses a post is logged, never raised
into the run, unless ``raise_errors=True``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, ValidationError

from hubbub.core.errors import HubbubError
from hubbub.core.limits import Limits
from hubbub.tools.news import new_session
from hubbub.tools.registry import (
    Surface,
    Tool,
    ToolContext,
    invalid_arguments,
    invoke,
    tools,
    wait_setting,
)

INSTALL = "pip install 'hubbub[langchain]'"


class MissingExtra(HubbubError, ImportError):
    """An optional dependency is not installed; the message says how to install it."""

    default_code = "missing_extra"


try:
    from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler
    from langchain_core.messages import BaseMessage, ToolMessage
    from langchain_core.tools import BaseTool, BaseToolkit, StructuredTool, ToolException
except ImportError as error:  # pragma: no cover - exercised in a subprocess test
    raise MissingExtra(
        f"hubbub.tools.langchain needs langchain-core: {INSTALL}", code="missing_extra"
    ) from error

if TYPE_CHECKING:
    from langchain_core.agents import AgentFinish
    from langchain_core.outputs import LLMResult

    from hubbub.client import AsyncClient, Client

log = logging.getLogger("hubbub.tools")


class HubbubToolkit(BaseToolkit):
    """The hub's tools for a LangChain agent, acting as the agent ``client`` is."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    client: Any
    surface: Surface = "compact"
    max_wait: float | None = None
    session: str | None = None
    """The tool session whose results end with inbox news (by default, one of its own)."""

    def get_tools(self) -> list[BaseTool]:
        """One ``StructuredTool`` per tool of the surface, in registry order."""
        client: AsyncClient = self.client
        wait = wait_setting() if self.max_wait is None else self.max_wait
        ctx = ToolContext(client=client, max_wait=wait, news=self.session or new_session("toolkit"))
        return [structured_tool(tool, ctx) for tool in tools(self.surface)]


def structured_tool(tool: Tool[Any, Any], ctx: ToolContext) -> BaseTool:
    """One registry tool as a LangChain ``StructuredTool``."""

    async def call(**arguments: Any) -> tuple[str, dict[str, Any] | None]:
        result = await invoke(tool, ctx, arguments)
        if result.is_error:
            raise ToolException(result.text)
        return result.text, result.structured

    return StructuredTool.from_function(
        coroutine=call,
        name=tool.name,
        description=tool.description,
        args_schema=tool.input,
        response_format="content_and_artifact",
        handle_tool_error=True,
        handle_validation_error=lambda error: _invalid(tool, error),
    )


def _invalid(tool: Tool[Any, Any], error: Exception) -> str:
    """LangChain's validation failure in the words the other tool surfaces use."""
    if isinstance(error, ValidationError):
        return invalid_arguments(tool, error)
    return f"invalid arguments for {tool.name}: {error}"


# Callback handlers: a run's results posted to a channel.

MAX_NAME = 200
PING_SECONDS = 5.0
"""How long a post made on another thread's event loop waits for the client's loop to answer."""
T = TypeVar("T")
MAX_CONTENT = Limits().max_content_bytes
"""The hub's default limit on a message's content, in UTF-8 bytes (``max_content_bytes``)."""


@dataclass(frozen=True, slots=True)
class Post:
    """One message a handler posts: its content and its metadata."""

    content: str
    metadata: dict[str, Any]


class RunReport:
    """What each LangChain event posts, if anything; the part both handlers share (no I/O).

    It remembers the names of tools and top-level runs that are still running, and the agent
    runs whose finish it has already posted (so their chain end is not posted twice)."""

    def __init__(
        self,
        *,
        completions: bool,
        tool_errors: bool,
        max_bytes: int,
        metadata: Mapping[str, Any] | None,
    ) -> None:
        if max_bytes < 64:
            raise ValueError("max_bytes must be at least 64")
        self.completions = completions
        self.tool_errors = tool_errors
        self.max_bytes = max_bytes
        self.extra = dict(metadata or {})
        try:
            json.dumps(self.extra, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ValueError(f"metadata must be plain JSON: {error}") from None
        self._names: dict[UUID, str] = {}
        self._finished: set[UUID] = set()

    def started(self, run_id: UUID, name: Any) -> None:
        """A top-level run or a tool started: remember its name for its end."""
        if isinstance(name, str) and name:
            self._names[run_id] = name[:MAX_NAME]

    def chain_end(self, outputs: Any, run_id: UUID, parent_run_id: UUID | None) -> Post | None:
        """A chain ended: the top-level run's output, unless its agent finish was posted."""
        name = self._names.pop(run_id, None)
        if run_id in self._finished:
            self._finished.discard(run_id)
            return None
        if parent_run_id is not None:
            return None
        return self.post("output", output_text(outputs), run_id, parent_run_id, name=name)

    def chain_error(
        self, error: BaseException, run_id: UUID, parent_run_id: UUID | None
    ) -> Post | None:
        """A chain failed: the top-level run's error."""
        name = self._names.pop(run_id, None)
        self._finished.discard(run_id)
        if parent_run_id is not None:
            return None
        text = f"run {name or 'chain'!r} failed: {describe(error)}"
        return self.post("run_error", text, run_id, parent_run_id, name=name)

    def agent_finish(
        self, finish: AgentFinish, run_id: UUID, parent_run_id: UUID | None
    ) -> Post | None:
        """An agent finished: its output."""
        self._finished.add(run_id)
        values = finish.return_values
        output = values.get("output", values) if isinstance(values, Mapping) else values
        name = self._names.get(run_id)
        return self.post("output", output_text(output), run_id, parent_run_id, name=name)

    def llm_end(self, response: LLMResult, run_id: UUID, parent_run_id: UUID | None) -> Post | None:
        """A model answered: its completion, when completions are posted or it is the run."""
        if not self.completions and parent_run_id is not None:
            return None
        text = completion_text(response)
        if not text.strip():
            return None
        return self.post("completion", text, run_id, parent_run_id)

    def tool_end(
        self, output: Any, run_id: UUID, parent_run_id: UUID | None, name: Any
    ) -> Post | None:
        """A tool answered: an error it handled itself (an error ``ToolMessage``)."""
        known = self._names.pop(run_id, None)
        if not (isinstance(output, ToolMessage) and output.status == "error"):
            return None
        tool = name if isinstance(name, str) and name else known
        return self.tool_error_post(output.text, run_id, parent_run_id, tool, output.tool_call_id)

    def tool_error(
        self,
        error: BaseException,
        run_id: UUID,
        parent_run_id: UUID | None,
        tool_call_id: Any,
    ) -> Post | None:
        """A tool raised."""
        tool = self._names.pop(run_id, None)
        call_id = tool_call_id if isinstance(tool_call_id, str) else None
        return self.tool_error_post(describe(error), run_id, parent_run_id, tool, call_id)

    def tool_error_post(
        self,
        text: str,
        run_id: UUID,
        parent_run_id: UUID | None,
        tool: str | None,
        tool_call_id: str | None,
    ) -> Post | None:
        """The message for a tool's error, unless tool errors are not posted."""
        if not self.tool_errors:
            return None
        content = f"tool {tool or 'unknown'!r} failed: {text}"
        return self.post(
            "tool_error", content, run_id, parent_run_id, name=tool, tool_call_id=tool_call_id
        )

    def post(
        self, event: str, text: str, run_id: UUID, parent_run_id: UUID | None, **more: Any
    ) -> Post:
        """The message for one event: bounded content, and the run ids in its metadata."""
        # The hub refuses NUL in text; a model's output should not lose the post for one.
        text = text.replace("\x00", "\ufffd") if text.strip() else "(no output)"
        content, cut = bounded(text, self.max_bytes)
        about: dict[str, Any] = {"event": event, "run_id": str(run_id)}
        if parent_run_id is not None:
            about["parent_run_id"] = str(parent_run_id)
        about.update({key: value for key, value in more.items() if value is not None})
        if cut:
            about["truncated_bytes"] = cut
        return Post(content, {**self.extra, "langchain": about})


def output_text(output: Any) -> str:
    """A run's output as text: a string as it is, a message's text, the ``output`` (or the
    only value, or the last of the ``messages``) of a mapping, anything else as JSON."""
    if isinstance(output, str):
        return output
    if isinstance(output, BaseMessage):
        return str(output.text) or _json(output.content)
    if isinstance(output, Mapping):
        if "output" in output:
            return output_text(output["output"])
        messages = output.get("messages")
        if isinstance(messages, list) and messages:
            return output_text(messages[-1])
        if len(output) == 1:
            return output_text(next(iter(output.values())))
    return _json(output)


def completion_text(response: LLMResult) -> str:
    """A model's completion: its text, or the tools it calls."""
    parts: list[str] = []
    for generations in response.generations:
        for generation in generations:
            message = getattr(generation, "message", None)
            if generation.text.strip():
                parts.append(generation.text)
            elif calls := getattr(message, "tool_calls", None):
                parts.append("calls " + ", ".join(str(call["name"]) for call in calls))
    return "\n\n".join(parts)


def _json(value: Any) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:  # a circular structure
        return repr(value)


def describe(error: BaseException) -> str:
    """An exception as ``Type: message``."""
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def bounded(text: str, max_bytes: int) -> tuple[str, int]:
    """``text`` within ``max_bytes`` of UTF-8, ending with a marker saying how many bytes were
    cut; and that number (0 if none)."""
    data = text.encode()
    if len(data) <= max_bytes:
        return text, 0
    # The marker's count never has more digits than the whole length, so this room suffices.
    room = max_bytes - len(_marker(len(data)).encode())
    kept = data[:room].decode(errors="ignore")
    cut = len(data) - len(kept.encode())
    return kept + _marker(cut), cut


def _marker(cut: int) -> str:
    return f"\n[... {cut} more bytes not shown]"


class HubbubCallbackHandler(BaseCallbackHandler):
    """Posts a LangChain run's results to ``channel`` through the SDK ``Client`` (for
    ``invoke`` and ``stream``; under ``ainvoke`` LangChain runs it in a thread).

    Posts the top-level run's output (or an agent's finish), the run's failure, and tool
    errors with the tool's name; with ``completions=True`` also every model completion. The
    text goes out as plain message content, cut to ``max_bytes`` with a marker, the run ids in
    the metadata under ``langchain`` (next to ``metadata``). A post the hub refuses or cannot
    take is logged as a warning and the run goes on; ``raise_errors=True`` raises it instead.
    """

    def __init__(
        self,
        client: Client,
        channel: str,
        *,
        completions: bool = False,
        tool_errors: bool = True,
        max_bytes: int = MAX_CONTENT,
        metadata: Mapping[str, Any] | None = None,
        raise_errors: bool = False,
    ) -> None:
        from hubbub.client import AsyncClient

        if isinstance(client, AsyncClient):
            raise TypeError("an AsyncClient needs AsyncHubbubCallbackHandler")
        self.client = client
        self.channel = channel
        self.raise_error = raise_errors
        self.report = RunReport(
            completions=completions,
            tool_errors=tool_errors,
            max_bytes=max_bytes,
            metadata=metadata,
        )

    def deliver(self, post: Post | None) -> None:
        """Post one message; a failure is logged (raised with ``raise_errors``)."""
        if post is None:
            return
        try:
            self.client.post(self.channel, post.content, metadata=post.metadata)
        except HubbubError as error:
            _failed(self.channel, error, raise_error=self.raise_error)

    def on_chain_start(
        self,
        serialized: dict[str, Any],
        inputs: dict[str, Any],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        if parent_run_id is None:
            self.report.started(run_id, _name(serialized, kwargs))

    def on_chain_end(
        self,
        outputs: dict[str, Any],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self.deliver(self.report.chain_end(outputs, run_id, parent_run_id))

    def on_chain_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self.deliver(self.report.chain_error(error, run_id, parent_run_id))

    def on_agent_finish(
        self,
        finish: AgentFinish,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self.deliver(self.report.agent_finish(finish, run_id, parent_run_id))

    def on_llm_end(
        self,
        response: LLMResult,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self.deliver(self.report.llm_end(response, run_id, parent_run_id))

    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self.report.started(run_id, _name(serialized, kwargs))

    def on_tool_end(
        self,
        output: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self.deliver(self.report.tool_end(output, run_id, parent_run_id, kwargs.get("name")))

    def on_tool_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        post = self.report.tool_error(error, run_id, parent_run_id, kwargs.get("tool_call_id"))
        self.deliver(post)


class AsyncHubbubCallbackHandler(AsyncCallbackHandler):
    """:class:`HubbubCallbackHandler` over an ``AsyncClient``, for ``ainvoke`` and
    ``astream``: the same posts, the same options.

    The client belongs to the event loop the handler was made on (else the first one it
    posts from). LangChain runs a sync tool, and the callbacks inside it, in a worker thread
    with an event loop of its own; a post made there is handed to the client's loop, unless
    that loop does not answer within ``PING_SECONDS`` (it is blocked in a sync run)."""

    def __init__(
        self,
        client: AsyncClient,
        channel: str,
        *,
        completions: bool = False,
        tool_errors: bool = True,
        max_bytes: int = MAX_CONTENT,
        metadata: Mapping[str, Any] | None = None,
        raise_errors: bool = False,
    ) -> None:
        from hubbub.client import AsyncClient

        if not isinstance(client, AsyncClient):
            raise TypeError("a Client needs HubbubCallbackHandler")
        self.client = client
        self.channel = channel
        self.raise_error = raise_errors
        self.report = RunReport(
            completions=completions,
            tool_errors=tool_errors,
            max_bytes=max_bytes,
            metadata=metadata,
        )
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None

    async def deliver(self, post: Post | None) -> None:
        """Post one message; a failure is logged (raised with ``raise_errors``)."""
        if post is None:
            return
        try:
            await self._on_client_loop(
                self.client.post(self.channel, post.content, metadata=post.metadata)
            )
        except (HubbubError, TimeoutError) as error:
            _failed(self.channel, error, raise_error=self.raise_error)

    async def _on_client_loop(self, work: Coroutine[Any, Any, T]) -> T:
        """Await ``work`` on the client's event loop, from whichever loop this runs on."""
        here = asyncio.get_running_loop()
        if self._loop is None or self._loop.is_closed():
            self._loop = here
        home = self._loop
        if home is here or not home.is_running():
            return await work
        # A loop blocked in a sync call (a sync run inside async code) would never post.
        ping = asyncio.run_coroutine_threadsafe(asyncio.sleep(0), home)
        try:
            await asyncio.wait_for(asyncio.wrap_future(ping), PING_SECONDS)
        except TimeoutError:
            work.close()
            raise TimeoutError(
                "the client's event loop is blocked; a sync run needs HubbubCallbackHandler"
            ) from None
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, home))

    async def on_chain_start(
        self,
        serialized: dict[str, Any],
        inputs: dict[str, Any],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        if parent_run_id is None:
            self.report.started(run_id, _name(serialized, kwargs))

    async def on_chain_end(
        self,
        outputs: dict[str, Any],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        await self.deliver(self.report.chain_end(outputs, run_id, parent_run_id))

    async def on_chain_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        await self.deliver(self.report.chain_error(error, run_id, parent_run_id))

    async def on_agent_finish(
        self,
        finish: AgentFinish,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        await self.deliver(self.report.agent_finish(finish, run_id, parent_run_id))

    async def on_llm_end(
        self,
        response: LLMResult,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        await self.deliver(self.report.llm_end(response, run_id, parent_run_id))

    async def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self.report.started(run_id, _name(serialized, kwargs))

    async def on_tool_end(
        self,
        output: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        post = self.report.tool_end(output, run_id, parent_run_id, kwargs.get("name"))
        await self.deliver(post)

    async def on_tool_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        post = self.report.tool_error(error, run_id, parent_run_id, kwargs.get("tool_call_id"))
        await self.deliver(post)


def _name(serialized: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> Any:
    """A run's name: the one LangChain passes, else the serialized runnable's."""
    return kwargs.get("name") or (serialized or {}).get("name")


def _failed(channel: str, error: Exception, *, raise_error: bool) -> None:
    log.warning("could not post a LangChain result to %s: %s", channel, error)
    if raise_error:
        raise error
