"""Tool declarations for each vendor follow that vendor's rules (names, the JSON Schema
keywords it accepts, OpenAI's strict mode), the executor runs calls in each vendor's shape
against a hub, the compact surface stays within its token budget, and ``hubbub tools``
prints the same declarations."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import jsonschema
import pytest

from hubbub.tools import tools
from hubbub.tools.executor import Executor, parse_arguments
from hubbub.tools.exports import FORMATS, Format, export, strict_schema
from tests.agent_tools import sdk
from tests.clients import InProcessHub
from tests.live import HUBBUB, LiveHub, clean_env, cli_of

# Function names: OpenAI and Anthropic allow letters, digits, _ and - up to 64; Gemini also
# . and : but must start with a letter or underscore; MCP allows . too, up to 128.
OPENAI_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
ANTHROPIC_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
GEMINI_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$")
MCP_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
# The JSON Schema keywords each accepts in tool parameters (the intersection we promise).
SUBSET = {
    "type",
    "properties",
    "required",
    "enum",
    "description",
    "items",
    "additionalProperties",
    "default",
    "minimum",
    "maximum",
}
# OpenAI strict mode: no default; types may be a [type, "null"] pair.
STRICT = SUBSET - {"default"}
TYPES = {"object", "array", "string", "integer", "number", "boolean"}
# The compact surface's definitions must cost a model less than this many tokens.
TOKEN_BUDGET = 2500


def keywords(node: dict[str, Any], allowed: set[str], where: str) -> None:
    """Every keyword in ``node`` (recursively) is allowed; every type is a JSON type."""
    assert set(node) <= allowed, (where, set(node) - allowed)
    kinds = node["type"] if isinstance(node["type"], list) else [node["type"]]
    assert set(kinds) <= TYPES | {"null"}, where
    for name, child in node.get("properties", {}).items():
        keywords(child, allowed, f"{where}.{name}")
    if "items" in node:
        keywords(node["items"], allowed, f"{where}[]")


def strict_rules(node: dict[str, Any], where: str) -> None:
    """OpenAI strict mode: every object closed and requiring all its properties; an
    optional property is nullable; a nullable enum lists null."""
    keywords(node, STRICT, where)
    if node["type"] == "object":
        assert node["additionalProperties"] is False, where
        assert sorted(node["required"]) == sorted(node["properties"]), where
    for name, child in node.get("properties", {}).items():
        if isinstance(child["type"], list):
            assert child["type"][1] == "null", where
            if "enum" in child:
                assert None in child["enum"], where
        strict_rules(child, f"{where}.{name}")


def parameters(format: Format, declaration: dict[str, Any]) -> dict[str, Any]:
    """One declaration's fields, checking its shape: name, description, parameters and,
    for OpenAI, strict."""
    if format == "openai":
        assert set(declaration) == {"type", "function"}
        assert declaration["type"] == "function"
        function = declaration["function"]
        assert set(function) == {"name", "description", "parameters", "strict"}
        return {**function, "schema": function["parameters"]}
    if format == "openai-responses":
        assert set(declaration) == {"type", "name", "description", "parameters", "strict"}
        return {**declaration, "schema": declaration["parameters"]}
    if format == "anthropic":
        assert set(declaration) == {"name", "description", "input_schema"}
        return {**declaration, "schema": declaration["input_schema"]}
    if format == "gemini":
        assert set(declaration) == {"name", "description", "parametersJsonSchema"}
        return {**declaration, "schema": declaration["parametersJsonSchema"]}
    assert set(declaration) == {
        "name",
        "title",
        "description",
        "inputSchema",
        "outputSchema",
        "annotations",
    }
    return {**declaration, "schema": declaration["inputSchema"]}


def declarations(format: Format, surface: str) -> list[dict[str, Any]]:
    exported = export(format, "full" if surface == "full" else "compact")
    if format == "gemini":
        (tool,) = exported
        assert set(tool) == {"functionDeclarations"}
        found: list[dict[str, Any]] = tool["functionDeclarations"]
        return found
    assert isinstance(exported, list)
    return exported


@pytest.mark.parametrize("surface", ["compact", "full"])
@pytest.mark.parametrize("format", FORMATS)
def test_declarations_follow_the_vendor_rules(format: Format, surface: str) -> None:
    pattern = {
        "openai": OPENAI_NAME,
        "openai-responses": OPENAI_NAME,
        "anthropic": ANTHROPIC_NAME,
        "gemini": GEMINI_NAME,
        "mcp": MCP_NAME,
    }[format]
    found = declarations(format, surface)
    names = []
    for declaration in found:
        fields = parameters(format, declaration)
        name, schema = fields["name"], fields["schema"]
        names.append(name)
        assert pattern.match(name), name
        assert isinstance(fields["description"], str)
        assert 20 <= len(fields["description"]) <= 1024, name
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object"
        if format.startswith("openai"):
            assert fields["strict"] is True
            strict_rules(schema, name)
        else:
            keywords(schema, SUBSET, name)
            assert schema["additionalProperties"] is False
        if format == "mcp":
            jsonschema.Draft202012Validator.check_schema(declaration["outputSchema"])
            keywords(declaration["outputSchema"], SUBSET, f"{name} output")
            assert all(isinstance(v, bool) for v in declaration["annotations"].values())
    assert names == [tool.name for tool in tools(surface)]  # type: ignore[arg-type]
    assert len(set(names)) == len(names)


def test_strict_schemas_still_validate_what_the_model_may_send() -> None:
    send = next(tool for tool in tools() if tool.name == "hubbub_send")
    strict = strict_schema(send.input_schema())
    jsonschema.validate({"to": "#general", "text": "hi", "reply_to": None, "kind": None}, strict)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"to": "#general", "text": "hi"}, strict)  # strict: all present
    read = next(tool for tool in tools() if tool.name == "hubbub_read")
    limit = strict_schema(read.input_schema())["properties"]["limit"]
    assert limit["type"] == ["integer", "null"]
    assert "default 20" in limit["description"]
    assert "default" not in limit


def test_exports_without_strict_keep_optional_arguments_optional() -> None:
    (send,) = [d for d in export("openai", strict=False) if d["function"]["name"] == "hubbub_send"]
    assert send["function"]["strict"] is False
    assert send["function"]["parameters"]["required"] == ["to", "text"]


def tokens(text: str) -> int:
    """A conservative estimate of a model's tokens for JSON text: one per three bytes. No
    tokenizer with its vocabulary bundled is a dependency; English prose runs near four
    bytes a token and JSON's punctuation somewhat denser, so three errs high."""
    return -(-len(text.encode()) // 3)


def model_facing(format: Format) -> str:
    """The compact surface's definitions as a model receives them: every API format whole;
    for MCP, what a client forwards to its model (name, title, description, inputSchema;
    no LLM API has a field for an output schema or the annotations)."""
    exported = export(format, "compact")
    if format == "mcp":
        keep = ("name", "title", "description", "inputSchema")
        exported = [{key: entry[key] for key in keep} for entry in exported]
    return json.dumps(exported, separators=(",", ":"))


@pytest.mark.parametrize("format", FORMATS)
def test_the_compact_surface_costs_less_than_the_token_budget(format: Format) -> None:
    text = model_facing(format)
    assert tokens(text) < TOKEN_BUDGET, (format, tokens(text))


@pytest.mark.anyio
async def test_the_executor_runs_each_vendor_call_shape(hub: InProcessHub) -> None:
    async with sdk(hub, "lap-alpha") as client:
        run = Executor(client, max_wait=0.2)
        openai = await run.run_openai(
            {
                "id": "call_1",
                "type": "function",
                "function": {
                    "name": "hubbub_send",
                    "arguments": json.dumps(
                        {"to": "#general", "text": "from openai", "reply_to": None}
                    ),
                },
            }
        )
        assert openai["role"] == "tool"
        assert openai["tool_call_id"] == "call_1"
        assert openai["content"].startswith("sent to #general")

        responses = await run.run_openai_responses(
            {
                "type": "function_call",
                "call_id": "fc_1",
                "name": "hubbub_read",
                "arguments": '{"channel": "#general"}',
            }
        )
        assert set(responses) == {"type", "call_id", "output"}
        assert responses["type"] == "function_call_output"
        assert "from=lap-alpha" in responses["output"]
        assert "from openai" in responses["output"]

        anthropic = await run.run_anthropic(
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "hubbub_send",
                "input": {"to": "@nobody-here", "text": "x"},
            }
        )
        assert anthropic["type"] == "tool_result"
        assert anthropic["tool_use_id"] == "toolu_1"
        assert anthropic["is_error"] is True
        assert "unknown_target" in anthropic["content"]

        gemini = await run.run_gemini(
            {"functionCall": {"name": "hubbub_whoami", "args": {}, "id": "g1"}}
        )
        reply = gemini["functionResponse"]
        assert (reply["name"], reply["id"]) == ("hubbub_whoami", "g1")
        assert reply["response"]["output"]["name"] == "lap-alpha"
        failed = await run.run_gemini({"functionCall": {"name": "hubbub_fly", "args": {}}})
        assert "unknown tool 'hubbub_fly'" in failed["functionResponse"]["response"]["error"]


@pytest.mark.anyio
async def test_the_executor_turns_bad_calls_into_errors_the_model_can_read(
    hub: InProcessHub,
) -> None:
    async with sdk(hub, "lap-alpha") as client:
        run = Executor(client, surface="compact")
        before = hub.snapshot()
        cases = {
            "unknown tool 'hubbub_delete'": await run.execute("hubbub_delete", {"message_id": 1}),
            "not valid JSON": await run.execute("hubbub_send", '{"to": "#general", '),
            "expected a JSON object": await run.execute("hubbub_send", '["#general", "hi"]'),
            "to: Field required": await run.execute("hubbub_send", '{"text": "hi"}'),
        }
        for expected, result in cases.items():
            assert result.is_error
            assert expected in result.text, result.text
        assert hub.snapshot() == before
        board = await run.execute("hubbub_board", "")
        assert not board.is_error
    assert parse_arguments(None) == {}


def test_tools_export_prints_each_format(tmp_path: Any) -> None:
    for format in FORMATS:
        done = subprocess.run(
            [str(HUBBUB), "tools", "export", "--format", format, "--tools", "full"],
            capture_output=True,
            text=True,
            env=clean_env(tmp_path),
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == export(format, "full")


@pytest.mark.e2e
def test_tools_call_runs_a_tool_against_a_real_hub(live_hub: LiveHub) -> None:
    cli = cli_of(live_hub)
    sent = cli("tools", "call", "hubbub_send", '{"to": "#general", "text": "via tools call"}')
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("sent to #general")
    read = cli("tools", "call", "hubbub_read", '{"channel": "#general", "limit": 5}', "--json")
    assert read.returncode == 0, read.stderr
    texts = [message["text"] for message in json.loads(read.stdout)["messages"]]
    assert any("via tools call" in text for text in texts)
    failed = cli("tools", "call", "hubbub_read", '{"channel": "#missing-here"}')
    assert failed.returncode == 1
    assert "channel_not_found" in failed.stderr
    listed = cli("tools", "list", "--json")
    assert [row["name"] for row in json.loads(listed.stdout)] == [t.name for t in tools()]
