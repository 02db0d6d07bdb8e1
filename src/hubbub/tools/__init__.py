"""Agent tools, written once: the registry behind the MCP servers, the LLM function-calling
exports, the executor and the LangChain toolkit. Clients of the SDK only."""

from hubbub.tools.registry import (
    Surface,
    Tool,
    ToolContext,
    ToolNotFound,
    ToolResult,
    get,
    invoke,
    tools,
)

__all__ = [
    "Surface",
    "Tool",
    "ToolContext",
    "ToolNotFound",
    "ToolResult",
    "get",
    "invoke",
    "tools",
]
