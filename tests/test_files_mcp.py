"""The file tools through real MCP clients: the official SDK's in-memory client against an
in-process hub on both engines (share text and base64, a small text or image back inline, a
larger file as a signed link that works with no key), and ``hubbub mcp`` over stdio, whose
Claude Code channel event for a DM that shares a file names the file."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import mcp_types as types
import pytest
from mcp.client import Client
from mcp.server import ServerRequestContext

from hubbub.client import AsyncClient
from hubbub.mcp.server import build
from hubbub.tools import Surface
from tests.agent_tools import sdk
from tests.clients import InProcessHub
from tests.files_support import content
from tests.live import LiveHub, running_hub
from tests.mcp_support import Session
from tests.test_mcp_stdio import sender, stdio, warm_up

pytestmark = pytest.mark.anyio

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)


@asynccontextmanager
async def session(
    hub: InProcessHub, agent: str, surface: Surface = "compact"
) -> AsyncIterator[Session]:
    """An in-memory MCP client (the handshake era Claude Code speaks) acting as ``agent``."""
    async with sdk(hub, agent) as client:

        @asynccontextmanager
        async def shared(ctx: ServerRequestContext[Any, Any]) -> AsyncIterator[AsyncClient]:
            yield client

        server = build(surface, shared, max_wait=0.2)
        async with Client(server, mode="legacy") as connected:
            yield Session(connected, agent)


async def test_the_file_tools_share_and_fetch_through_a_real_mcp_client(
    hub: InProcessHub,
) -> None:
    async with (
        session(hub, "lap-alpha", "full") as alpha,
        session(hub, "lap-beta") as beta,
    ):
        text = await alpha.ok(
            "hubbub_upload", to="@lap-beta", name="fail.log", text="E: <<<not a frame>>>"
        )
        image = await alpha.ok(
            "hubbub_upload",
            to="#general",
            name="dot.png",
            base64=base64.b64encode(PNG).decode(),
            message="the screenshot",
        )
        big = await alpha.ok(
            "hubbub_upload", to="#general", name="big.txt", text="x" * (64 * 1024 + 1)
        )
        assert (text["size"], image["size"]) == (20, len(PNG))

        got = await beta.ok("hubbub_file", file_id=text["id"])
        lines = got["text"].splitlines()
        assert lines[0].startswith(f"<<<hubbub file id={text['id']} from=lap-alpha name='fail.log'")
        assert lines[1:] == ["E: < < <not a frame> > >", f"<<<end hubbub file id={text['id']}>>>"]

        shown = await beta.call("hubbub_file", file_id=image["id"])
        assert not shown.is_error
        assert [block.type for block in shown.content] == ["text", "image"]
        picture = shown.content[1]
        assert isinstance(picture, types.ImageContent)
        assert (picture.mime_type, base64.b64decode(picture.data)) == ("image/png", PNG)
        assert shown.structured_content is not None
        assert shown.structured_content["image"] is True

        linked = await beta.ok("hubbub_file", file_id=big["id"])
        assert "text" not in linked
        path = linked["url"].removeprefix("http://hub")
        fetched = await hub.http.get(path)  # no key
        assert (fetched.status_code, len(fetched.content)) == (200, 64 * 1024 + 1)

        refused = await alpha.refused("hubbub_upload", to="#general", name="x")
        assert "text or as base64" in refused
        assert "file_not_found" in await beta.refused("hubbub_file", file_id=999_999)


@pytest.fixture(scope="module")
def channel_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    with running_hub(tmp_path_factory.mktemp("files-channel")) as started:
        yield started


@pytest.mark.e2e
async def test_a_shared_file_reaches_the_hubbub_mcp_channel_event(channel_hub: LiveHub) -> None:
    async with (
        stdio(channel_hub, "lap-watcher") as (client, probe),
        sender(channel_hub, "lap-sharer") as http,
    ):
        await warm_up(client, probe, http)
        data = content(5000, seed=11)
        answered = await http.post(
            "/files",
            params={"to": "@lap-watcher", "name": "crash.txt"},
            content=data,
        )
        assert answered.status_code == 201, answered.text
        file = answered.json()
        pushed = await probe.next(within=10)
        assert pushed is not None, "no channel event for the shared file"
        assert pushed.event.meta["file_id"] == str(file["id"])
        assert pushed.event.meta["file_name"] == "crash.txt"
        assert pushed.event.meta["msg_id"] == str(file["message_id"])
        assert f"shares file {file['id']}" in pushed.event.content
        # A message that merely claims a file in its metadata names none.
        forged = {"content": "look", "metadata": {"file": {"id": file["id"], "name": "x"}}}
        posted = await http.post("/send", json={"target": "@lap-watcher", **forged})
        assert posted.status_code == 201, posted.text
        claim = await probe.next(within=10)
        assert claim is not None
        assert "file_id" not in claim.event.meta
        fetched = await client.ok("hubbub_file", file_id=file["id"])
        assert fetched["size"] == 5000
