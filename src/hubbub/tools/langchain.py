"""A LangChain toolkit from the registry: ``HubbubToolkit(client=...).get_tools()``.

Needs the ``langchain`` extra (``pip install 'hubbub[langchain]'``). Each tool is a
``StructuredTool`` whose ``args_schema`` is the registry's input model and whose coroutine
calls the SDK; it answers with the text rendering as content and the structured result as
the artifact. The hub's refusals and bad arguments raise ``ToolException``, which the tools
hand back to the model as an error ``ToolMessage``. The tools are asynchronous: call them
with ``ainvoke`` (an agent loop on an ``AsyncClient`` does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, ValidationError

from hubbub.core.errors import HubbubError
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
    from langchain_core.tools import BaseTool, BaseToolkit, StructuredTool, ToolException
except ImportError as error:  # pragma: no cover - exercised in a subprocess test
    raise MissingExtra(
        f"the LangChain toolkit needs langchain-core: {INSTALL}", code="missing_extra"
    ) from error

if TYPE_CHECKING:
    from hubbub.client import AsyncClient


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
