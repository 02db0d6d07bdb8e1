"""Tool declarations in each vendor's shape, generated from the one registry.

- ``openai``: Chat Completions ``{"type": "function", "function": {...}}``.
- ``openai-responses``: the Responses API's flat ``{"type": "function", "name": ...}``.
- ``anthropic``: Messages ``{"name", "description", "input_schema"}``.
- ``gemini``: one tool ``{"functionDeclarations": [...]}`` with ``parametersJsonSchema``.
- ``mcp``: the ``tools/list`` entries with ``inputSchema``, ``outputSchema`` and annotations.

OpenAI exports are ``strict: true``: strict mode constrains the model's arguments to the
schema exactly, which is worth more than the schema's brevity. Strict mode needs every
property required, so optional ones become nullable (``["integer", "null"]``), their
defaults move into the description, and the executor treats ``null`` as "not given".
"""

from __future__ import annotations

import copy
import json
from typing import Any, Literal

from hubbub.tools.registry import Surface, Tool, tools

Format = Literal["openai", "openai-responses", "anthropic", "gemini", "mcp"]
FORMATS: tuple[Format, ...] = ("openai", "openai-responses", "anthropic", "gemini", "mcp")


def export(format: Format, surface: Surface = "compact", *, strict: bool = True) -> Any:
    """The surface's tools in ``format``: a list of declarations (Gemini: a list holding one
    tool with every declaration)."""
    chosen = tools(surface)
    if format == "openai":
        return [openai(tool, strict=strict) for tool in chosen]
    if format == "openai-responses":
        return [openai_responses(tool, strict=strict) for tool in chosen]
    if format == "anthropic":
        return [anthropic(tool) for tool in chosen]
    if format == "gemini":
        return [{"functionDeclarations": [gemini(tool) for tool in chosen]}]
    if format == "mcp":
        return [mcp(tool) for tool in chosen]
    raise ValueError(f"unknown format {format!r}: one of {', '.join(FORMATS)}")


def openai(tool: Tool[Any, Any], *, strict: bool = True) -> dict[str, Any]:
    """A Chat Completions function tool."""
    return {"type": "function", "function": _openai_function(tool, strict)}


def openai_responses(tool: Tool[Any, Any], *, strict: bool = True) -> dict[str, Any]:
    """A Responses API function tool (the same fields, not nested)."""
    return {"type": "function", **_openai_function(tool, strict)}


def _openai_function(tool: Tool[Any, Any], strict: bool) -> dict[str, Any]:
    schema = tool.input_schema()
    return {
        "name": tool.name,
        "description": tool.description,
        "parameters": strict_schema(schema) if strict else schema,
        "strict": strict,
    }


def anthropic(tool: Tool[Any, Any]) -> dict[str, Any]:
    """An Anthropic Messages tool."""
    return {"name": tool.name, "description": tool.description, "input_schema": tool.input_schema()}


def gemini(tool: Tool[Any, Any]) -> dict[str, Any]:
    """A Gemini function declaration (JSON Schema parameters, not the OpenAPI subset)."""
    return {
        "name": tool.name,
        "description": tool.description,
        "parametersJsonSchema": tool.input_schema(),
    }


def mcp(tool: Tool[Any, Any]) -> dict[str, Any]:
    """An MCP ``tools/list`` entry; the annotations are hints, as the protocol says."""
    return {
        "name": tool.name,
        "title": tool.title,
        "description": tool.description,
        "inputSchema": tool.input_schema(),
        "outputSchema": tool.output_schema(),
        "annotations": hints(tool),
    }


def hints(tool: Tool[Any, Any]) -> dict[str, bool]:
    """MCP tool hints, only where they differ from the protocol's defaults (read-write,
    destructive, not idempotent, open world); a read-only tool's other hints mean nothing."""
    hints = {"readOnlyHint": True} if tool.read_only else {"destructiveHint": tool.destructive}
    if tool.idempotent and not tool.read_only:
        hints["idempotentHint"] = True
    # The hub is a closed world: its tools touch nothing else.
    hints["openWorldHint"] = False
    return hints


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` as OpenAI's strict mode wants it: every property required, the optional
    ones nullable, no ``default`` (said in the description instead)."""
    out = copy.deepcopy(schema)
    _strict(out)
    return out


def _strict(node: dict[str, Any]) -> None:
    if "items" in node:
        _strict(node["items"])
    properties: dict[str, dict[str, Any]] = node.get("properties", {})
    if node.get("type") != "object":
        return
    required = set(node.get("required", []))
    for name, child in properties.items():
        _strict(child)
        if name in required:
            continue
        if "default" in child:
            said = f"default {json.dumps(child.pop('default'))}"
            child["description"] = (
                f"{child['description']}; {said}" if "description" in child else said
            )
        child["type"] = [child["type"], "null"]
        if "enum" in child:
            child["enum"] = [*child["enum"], None]
    node["required"] = list(properties)
    node["additionalProperties"] = False
