"""Run a model's tool call against the hub, without MCP: any function-calling loop can use it.

``Executor(client).execute(name, arguments)`` takes the name and the arguments as a model
produced them (a JSON string or an object) and returns a :class:`ToolResult`. A call the model
got wrong (an unknown tool, arguments that are not a JSON object or break the schema) and the
hub's refusals come back as error results the model can read and correct. The ``run_*``
methods take one call in a vendor's shape and return that vendor's reply shape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hubbub.tools.news import new_session
from hubbub.tools.registry import (
    Surface,
    ToolContext,
    ToolResult,
    get,
    invoke,
    tools,
    wait_setting,
)

if TYPE_CHECKING:
    from hubbub.client import AsyncClient


class Executor:
    """Executes tool calls as the agent ``client`` acts as. Results end with a line of inbox
    news for the tool session ``session`` (by default, one of this executor's own)."""

    def __init__(
        self,
        client: AsyncClient,
        *,
        surface: Surface = "full",
        max_wait: float | None = None,
        session: str | None = None,
    ) -> None:
        self.context = ToolContext(
            client=client,
            max_wait=wait_setting() if max_wait is None else max_wait,
            news=session or new_session("executor"),
        )
        self.names = frozenset(tool.name for tool in tools(surface))

    async def execute(self, name: str, arguments: str | Mapping[str, Any] | None) -> ToolResult:
        """Run one call; mistakes in the call are error results, not exceptions."""
        if name not in self.names:
            known = ", ".join(sorted(self.names))
            return ToolResult(None, f"unknown tool {name!r}; the tools are: {known}", True)
        tool = get(name)
        parsed = parse_arguments(arguments)
        if isinstance(parsed, str):
            return ToolResult(None, f"invalid arguments for {name}: {parsed}", True)
        return await invoke(tool, self.context, parsed)

    async def run_openai(self, call: Mapping[str, Any]) -> dict[str, Any]:
        """A Chat Completions ``tool_calls[]`` entry in, the ``role: tool`` message out."""
        function = call["function"]
        result = await self.execute(function["name"], function.get("arguments"))
        return openai_message(call["id"], result)

    async def run_openai_responses(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """A Responses ``function_call`` item in, its ``function_call_output`` item out."""
        result = await self.execute(item["name"], item.get("arguments"))
        return openai_responses_output(item["call_id"], result)

    async def run_anthropic(self, block: Mapping[str, Any]) -> dict[str, Any]:
        """An Anthropic ``tool_use`` block in, its ``tool_result`` block out."""
        result = await self.execute(block["name"], block.get("input"))
        return anthropic_result(block["id"], result)

    async def run_gemini(self, part: Mapping[str, Any]) -> dict[str, Any]:
        """A Gemini ``functionCall`` part in, its ``functionResponse`` part out."""
        call = part["functionCall"]
        result = await self.execute(call["name"], call.get("args"))
        return gemini_response(call["name"], result, call.get("id"))


def parse_arguments(arguments: str | Mapping[str, Any] | None) -> dict[str, Any] | str:
    """The arguments as an object, or what is wrong with them."""
    if arguments is None or arguments == "":
        return {}
    if isinstance(arguments, str):
        try:
            decoded = json.loads(arguments)
        except json.JSONDecodeError as error:
            return f"not valid JSON ({error.msg} at position {error.pos})"
        if not isinstance(decoded, dict):
            return "expected a JSON object of named arguments"
        return decoded
    if not isinstance(arguments, Mapping):
        return "expected an object of named arguments"
    return dict(arguments)


def content(result: ToolResult) -> str:
    """What a model reads back: the text rendering, or the error prefixed as one."""
    return f"Error: {result.text}" if result.is_error else result.text


def openai_message(call_id: str, result: ToolResult) -> dict[str, Any]:
    """The Chat Completions message answering a tool call."""
    return {"role": "tool", "tool_call_id": call_id, "content": content(result)}


def openai_responses_output(call_id: str, result: ToolResult) -> dict[str, Any]:
    """The Responses API input item answering a function call."""
    return {"type": "function_call_output", "call_id": call_id, "output": content(result)}


def anthropic_result(tool_use_id: str, result: ToolResult) -> dict[str, Any]:
    """The Anthropic content block answering a ``tool_use`` (goes in the next user turn)."""
    return {
        "type": "tool_result",
        "tool_use_id": tool_use_id,
        "content": result.text,
        "is_error": result.is_error,
    }


def gemini_response(name: str, result: ToolResult, call_id: str | None = None) -> dict[str, Any]:
    """The Gemini part answering a function call: ``output`` (the structured result, whose
    messages carry their framed text) or ``error``, and ``news`` when there is some."""
    response: dict[str, Any] = (
        {"error": result.text} if result.is_error else {"output": result.structured}
    )
    if result.news is not None and not result.is_error:
        response["news"] = result.news
    reply: dict[str, Any] = {"name": name, "response": response}
    if call_id is not None:
        reply["id"] = call_id
    return {"functionResponse": reply}
