"""The MCP server against an in-process hub, through the official SDK's in-memory client in
both protocol eras: the handshake era (``mode="legacy"``, as Claude Code speaks it) and the
stateless 2026 protocol (the SDK's default). Tools are listed as the registry declares them,
every compact tool runs, results validate against their output schemas, and failures are
tool errors while unknown names are protocol errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import jsonschema
import mcp_types as types
import pytest
from mcp.client import Client
from mcp.server import ServerRequestContext
from mcp.server.session import ServerSession
from mcp.shared.exceptions import MCPError

from hubbub.client import AsyncClient
from hubbub.mcp.server import INSTRUCTIONS, build
from hubbub.tools import Surface, exports, tools
from hubbub.tools.guide import HELP, URI
from tests.agent_tools import sdk
from tests.clients import InProcessHub
from tests.mcp_support import Session, exercise

pytestmark = pytest.mark.anyio

ERAS = pytest.mark.parametrize(
    ("mode", "version"), [("legacy", "2025-11-25"), ("auto", "2026-07-28")]
)


@asynccontextmanager
async def session(
    hub: InProcessHub, agent: str, mode: str, surface: Surface = "compact", **options: Any
) -> AsyncIterator[Session]:
    """An in-memory MCP client of a server whose tools act as ``agent``."""
    async with sdk(hub, agent) as client:

        @asynccontextmanager
        async def shared(ctx: ServerRequestContext[Any, Any]) -> AsyncIterator[AsyncClient]:
            yield client

        server = build(surface, shared, max_wait=options.pop("max_wait", 0.2), **options)
        async with Client(server, mode=mode) as connected:
            yield Session(connected, agent)


@ERAS
async def test_tools_are_listed_as_the_registry_declares_them(
    hub: InProcessHub, mode: str, version: str
) -> None:
    async with session(hub, "lap-alpha", mode) as alpha:
        assert alpha.client.protocol_version == version
        assert alpha.client.server_info is not None
        assert alpha.client.server_info.name == "hubbub"
        assert alpha.client.server_capabilities.tools is not None
        listed = await alpha.list()
    registry = tools("compact")
    assert [tool.name for tool in listed] == [tool.name for tool in registry]
    for shown, tool in zip(listed, registry, strict=True):
        assert shown.title == tool.title
        assert shown.description == tool.description
        assert shown.input_schema == tool.input_schema()
        assert shown.output_schema == tool.output_schema()
        jsonschema.Draft202012Validator.check_schema(shown.input_schema)
        assert shown.annotations is not None
        assert bool(shown.annotations.read_only_hint) is tool.read_only
        assert shown.annotations.open_world_hint is False
        # What is served is what 'hubbub tools export --format mcp' prints.
        wire = shown.model_dump(by_alias=True, exclude_none=True, mode="json")
        assert wire == exports.mcp(tool)


@ERAS
async def test_the_full_surface_lists_every_tool(
    hub: InProcessHub, mode: str, version: str
) -> None:
    async with session(hub, "lap-alpha", mode, "full") as alpha:
        listed = [tool.name for tool in await alpha.list()]
    assert listed == [tool.name for tool in tools("full")]
    assert len(listed) > len(tools("compact"))


@ERAS
async def test_every_compact_tool_runs_and_matches_its_output_schema(
    hub: InProcessHub, mode: str, version: str
) -> None:
    async with (
        session(hub, "lap-alpha", mode) as alpha,
        session(hub, "lap-beta", mode, "full") as beta,
    ):
        await exercise(alpha, beta)


@ERAS
async def test_full_tools_run_over_mcp(hub: InProcessHub, mode: str, version: str) -> None:
    async with session(hub, "lap-alpha", mode, "full") as alpha:
        created = await alpha.ok("hubbub_create_channel", channel="tech-mcp")
        assert created["name"] == "#tech-mcp"
        root = (await alpha.ok("hubbub_send", to="#tech-mcp", text="root"))["message_ids"][0]
        await alpha.ok("hubbub_send", to="#tech-mcp", text="reply", reply_to=root)
        thread = await alpha.ok("hubbub_thread", message_id=root)
        assert [reply["text"].splitlines()[1] for reply in thread["replies"]] == ["reply"]
        channels = await alpha.ok("hubbub_channels")
        assert "#tech-mcp" in [channel["name"] for channel in channels["channels"]]
        agents = await alpha.ok("hubbub_agents")
        assert "lap-alpha" in [agent["name"] for agent in agents["agents"]]


@ERAS
async def test_expected_failures_are_tool_errors_and_change_nothing(
    hub: InProcessHub, mode: str, version: str
) -> None:
    async with session(hub, "lap-alpha", mode) as alpha:
        await alpha.ok("hubbub_whoami")
        before = hub.snapshot()
        missing = await alpha.refused("hubbub_read", channel="#nowhere")
        assert "channel_not_found" in missing
        incomplete = await alpha.refused("hubbub_send", to="#general")
        assert "text" in incomplete
        assert "invalid arguments" in incomplete
        extra = await alpha.refused("hubbub_whoami", verbose=True)
        assert "unknown argument" in extra
        nobody = await alpha.refused("hubbub_send", to="@lap-nobody", text="hello?")
        assert "unknown_target" in nobody or "agent_not_found" in nobody
        assert hub.snapshot() == before


@ERAS
async def test_an_unknown_tool_is_a_protocol_error(
    hub: InProcessHub, mode: str, version: str
) -> None:
    async with session(hub, "lap-alpha", mode) as alpha:
        with pytest.raises(MCPError) as refused:
            await alpha.call("hubbub_teleport")
    assert refused.value.error.code == types.INVALID_PARAMS
    assert "hubbub_teleport" in refused.value.error.message


@ERAS
async def test_a_full_only_tool_is_unknown_on_the_compact_surface(
    hub: InProcessHub, mode: str, version: str
) -> None:
    async with session(hub, "lap-alpha", mode) as alpha:
        await alpha.ok("hubbub_whoami")
        before = hub.snapshot()
        with pytest.raises(MCPError):
            await alpha.call("hubbub_create_channel", channel="tech-hidden")
    assert hub.snapshot() == before


@ERAS
async def test_the_help_resource_and_instructions_explain_the_conventions(
    hub: InProcessHub, mode: str, version: str
) -> None:
    async with session(hub, "lap-alpha", mode) as alpha:
        assert alpha.client.instructions == INSTRUCTIONS
        listed = await alpha.client.list_resources()
        assert [str(resource.uri) for resource in listed.resources] == [URI]
        read = await alpha.client.read_resource(URI)
        (contents,) = read.contents
        assert isinstance(contents, types.TextResourceContents)
        assert contents.text == HELP
        with pytest.raises(MCPError):
            await alpha.client.read_resource("hubbub://elsewhere")


async def test_the_initialized_hook_runs_once_per_handshake(hub: InProcessHub) -> None:
    sessions: list[ServerSession] = []
    async with session(hub, "lap-alpha", "legacy", on_initialized=sessions.append) as alpha:
        await alpha.ok("hubbub_whoami")
    assert len(sessions) == 1
    async with session(hub, "lap-alpha", "auto", on_initialized=sessions.append) as modern:
        await modern.ok("hubbub_whoami")
    assert len(sessions) == 1  # the 2026 protocol has no handshake to hook
