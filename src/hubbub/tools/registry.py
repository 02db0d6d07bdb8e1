"""The one tool registry: every agent tool is written once here and served as MCP tools,
OpenAI / Anthropic / Gemini function declarations, an executor and a LangChain toolkit."""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ValidationError

from hubbub.core.errors import HubbubError, InvalidInput, NotFound, RateLimited
from hubbub.tools.schemas import portable

if TYPE_CHECKING:
    from hubbub.client import AsyncClient

Surface = Literal["compact", "full"]
SURFACES: tuple[Surface, ...] = ("compact", "full")
In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)
NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

WAIT_ENV = "HUBBUB_TOOL_WAIT_SECONDS"
DEFAULT_MAX_WAIT = 30.0
# The hub caps any wait at its max_wait_seconds (50 by default); a tool call that blocks
# longer than that would only be cut short, and many clients time tool calls out near 60 s.
WAIT_RANGE = (1.0, 50.0)
WAIT_LIMIT_TEXT = (
    f"{DEFAULT_MAX_WAIT:g} s by default, a limit set from {WAIT_RANGE[0]:g} to {WAIT_RANGE[1]:g} s"
)
"""How long a wait may last, as the tool texts say it (built from the setting's bounds)."""


class ToolNotFound(NotFound):
    """No tool has that name."""

    default_code = "tool_not_found"


@dataclass(frozen=True, slots=True)
class Tool(Generic[In, Out]):
    """One agent tool: its name and description for a model, its input and output models,
    the handler over the SDK and a short text rendering of its result."""

    name: str
    title: str
    description: str
    input: type[In]
    output: type[Out]
    run: Callable[[ToolContext, In], Awaitable[Out]]
    render: Callable[[Out], str]
    compact: bool
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False

    def __post_init__(self) -> None:
        if not NAME.match(self.name):
            raise ValueError(f"tool name {self.name!r} does not match {NAME.pattern}")

    def input_schema(self) -> dict[str, Any]:
        """The arguments' JSON Schema, in the portable subset."""
        return _schema(self.input, "input")

    def output_schema(self) -> dict[str, Any]:
        """The structured result's JSON Schema, in the portable subset."""
        return _schema(self.output, "output")


@cache
def _schema(model: type[BaseModel], mode: Literal["input", "output"]) -> dict[str, Any]:
    return portable(model, mode)


@dataclass(slots=True)
class ToolContext:
    """What a handler gets: the SDK acting as one agent, how long a wait may block, and the
    tool session whose results carry news of the inbox (``None``: no news)."""

    client: AsyncClient
    max_wait: float = DEFAULT_MAX_WAIT
    news: str | None = None

    @classmethod
    def from_env(cls, client: AsyncClient) -> ToolContext:
        """A context whose wait cap comes from ``HUBBUB_TOOL_WAIT_SECONDS`` (default 30)."""
        return cls(client=client, max_wait=wait_setting())


def wait_setting(environ: Mapping[str, str] | None = None) -> float:
    """The wait tool's cap in seconds: ``HUBBUB_TOOL_WAIT_SECONDS``, from 1 to 50."""
    raw = (os.environ if environ is None else environ).get(WAIT_ENV, "")
    if not raw:
        return DEFAULT_MAX_WAIT
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    low, high = WAIT_RANGE
    if not low <= value <= high:
        raise InvalidInput(
            f"{WAIT_ENV} must be a number of seconds from {low:g} to {high:g}, not {raw!r}",
            code="no_config",
        )
    return value


@dataclass(frozen=True, slots=True)
class Image:
    """An image a result carries: its media type and its bytes in base64."""

    mime_type: str
    data: str


@runtime_checkable
class Pictured(Protocol):
    """A result that carries an image beside its text (MCP sends it as image content)."""

    def picture(self) -> Image | None: ...


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A tool call's outcome: the structured result and its text, or an error message."""

    structured: dict[str, Any] | None
    text: str
    is_error: bool
    news: str | None = None
    """The line of inbox news, also at the end of ``text``."""
    image: Image | None = None
    """An image to show beside the text (where the protocol has a place for one)."""


def tools(surface: Surface = "compact") -> list[Tool[Any, Any]]:
    """The tools of a surface, in a fixed order (compact ⊂ full)."""
    if surface not in SURFACES:
        raise InvalidInput(f"unknown tool surface {surface!r}: compact or full", code="invalid")
    everything = _catalog()
    return [tool for tool in everything if surface == "full" or tool.compact]


def get(name: str) -> Tool[Any, Any]:
    """The tool with this name (from either surface)."""
    for tool in _catalog():
        if tool.name == name:
            return tool
    raise ToolNotFound(f"no tool named {name!r}; the tools are listed by tools/list")


@cache
def _catalog() -> tuple[Tool[Any, Any], ...]:
    # Imported here: the tool modules import this one for Tool and ToolContext.
    from hubbub.tools.catalog import ALL

    names = [tool.name for tool in ALL]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate tool names in {names}")
    return tuple(ALL)


async def invoke(
    tool: Tool[Any, Any], ctx: ToolContext, arguments: Mapping[str, Any]
) -> ToolResult:
    """Validate the arguments, run the tool and shape its result. Invalid arguments and the
    hub's refusals become error results a model can act on; anything else propagates."""
    # A null argument means "not given" (OpenAI's strict mode sends every optional as null).
    given = {key: value for key, value in arguments.items() if value is not None}
    try:
        data = tool.input.model_validate(given)
    except ValidationError as error:
        return ToolResult(None, invalid_arguments(tool, error), True)
    try:
        out = await tool.run(ctx, data)
    except HubbubError as error:
        return await _with_news(tool, ctx, ToolResult(None, error_text(error), True))
    structured = out.model_dump(mode="json", exclude_none=True)
    image = out.picture() if isinstance(out, Pictured) else None
    return await _with_news(tool, ctx, ToolResult(structured, tool.render(out), False, image=image))


async def _with_news(tool: Tool[Any, Any], ctx: ToolContext, result: ToolResult) -> ToolResult:
    """The result with the session's inbox news at its end, if the context asks for news."""
    if ctx.news is None:
        return result
    from hubbub.tools.news import news_line  # the client's operations, only when needed

    line = await news_line(ctx.client, ctx.news, tool.name, result.structured)
    if line is None:
        return result
    return replace(result, text=f"{result.text}\n\n{line}", news=line)


def invalid_arguments(tool: Tool[Any, Any], error: ValidationError) -> str:
    """A validation failure as one line per problem, naming the argument."""
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "arguments"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            allowed = ", ".join(tool.input.model_fields) or "none"
            message = f"unknown argument (allowed: {allowed})"
        problems.append(f"{where}: {message}")
    return f"invalid arguments for {tool.name}: " + "; ".join(problems)


def error_text(error: HubbubError) -> str:
    """The hub's refusal as a model reads it: what went wrong, its code, what to do next."""
    text = f"{error.detail} (code: {error.code})"
    if isinstance(error, RateLimited):
        text += f"; retry after {error.retry_after:g} s"
    return text
