"""``hubbub mcp`` spawned by the official SDK's stdio client against a real hub: tools in both
protocol eras, and the Claude Code channel push of new inbox items, which arrives within a
second of the message and outlives the hub being away for a while."""

from __future__ import annotations

import subprocess
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import pytest
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.client import Client
from mcp.client.extension import ClientExtension, NotificationBinding
from mcp.client.stdio import StdioServerParameters
from pydantic import BaseModel

from hubbub.mcp.channel import CAPABILITY, METHOD
from hubbub.mcp.server import CHANNEL_INSTRUCTIONS
from hubbub.tools import tools
from tests.live import HUBBUB, LiveHub, clean_env, running_hub
from tests.mcp_support import Session

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

ERAS = pytest.mark.parametrize(
    ("mode", "version"), [("legacy", "2025-11-25"), ("auto", "2026-07-28")]
)
PUSH_WITHIN = 1.0  # seconds from a message's 2xx to its channel event


class ChannelEvent(BaseModel):
    """The params of a ``notifications/claude/channel``."""

    content: str
    meta: dict[str, str]


@dataclass
class Pushed:
    """A channel event and when it arrived (monotonic seconds)."""

    at: float
    event: ChannelEvent


class ChannelProbe(ClientExtension):
    """Records every channel event the server sends, as Claude Code would receive them."""

    identifier = "com.example/channel-probe"

    def __init__(self) -> None:
        self.sent: MemoryObjectSendStream[Pushed]
        self.received: MemoryObjectReceiveStream[Pushed]
        self.sent, self.received = anyio.create_memory_object_stream[Pushed](100)

    def notifications(self) -> Sequence[NotificationBinding[ChannelEvent]]:
        async def record(event: ChannelEvent) -> None:
            await self.sent.send(Pushed(time.monotonic(), event))

        return [NotificationBinding(method=METHOD, params_type=ChannelEvent, handler=record)]

    async def next(self, within: float) -> Pushed | None:
        """The next event, or ``None`` if none comes within ``within`` seconds."""
        with anyio.move_on_after(within):
            return await self.received.receive()
        return None


@pytest.fixture(scope="module")
def stdio_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    with running_hub(tmp_path_factory.mktemp("mcp-stdio")) as started:
        yield started


def spawn(hub: LiveHub, *args: str) -> StdioServerParameters:
    """``hubbub mcp ARGS`` with the hub's client config and a one-second wait cap."""
    env = clean_env(hub.home, HUBBUB_CONFIG=str(hub.config_path), HUBBUB_TOOL_WAIT_SECONDS="1")
    return StdioServerParameters(command=str(HUBBUB), args=["mcp", *args], env=env)


@asynccontextmanager
async def stdio(
    hub: LiveHub, agent: str, mode: str = "legacy", *args: str
) -> AsyncIterator[tuple[Session, ChannelProbe]]:
    probe = ChannelProbe()
    params = spawn(hub, "--agent", agent, *args)
    with probe.sent, probe.received:
        async with Client(params, mode=mode, extensions=[probe]) as client:
            yield Session(client, agent), probe


@asynccontextmanager
async def sender(hub: LiveHub, agent: str) -> AsyncIterator[httpx.AsyncClient]:
    """Plain REST as another agent of the hub's machine."""
    headers = {"Authorization": f"Bearer {hub.config()['key']}", "X-Hubbub-Agent": agent}
    async with httpx.AsyncClient(base_url=hub.url + "/api/v1", headers=headers) as http:
        yield http


async def dm(http: httpx.AsyncClient, to: str, text: str) -> tuple[float, int]:
    """Send a DM; when its 2xx came back, and the message id."""
    answered = await http.post("/send", json={"target": f"@{to}", "content": text})
    at = time.monotonic()
    assert answered.status_code == 201, answered.text
    return at, int(answered.json()["messages"][0]["id"])


async def warm_up(client: Session, probe: ChannelProbe, http: httpx.AsyncClient) -> None:
    """Wait (with a deadline) until pushes flow: the push starts after the handshake, so a
    message sent before its stream is open is in the inbox but not pushed."""
    await client.ok("hubbub_whoami")  # registers the agent, so DMs reach it
    with anyio.fail_after(20):
        while True:
            await dm(http, client.agent, "warm-up")
            if await probe.next(within=0.5) is not None:
                break
    while await probe.next(within=0.2) is not None:
        pass  # late copies of earlier warm-ups


@ERAS
async def test_tools_work_over_stdio_in_both_eras(
    stdio_hub: LiveHub, mode: str, version: str
) -> None:
    agent = f"lap-stdio-{mode}"
    async with stdio(stdio_hub, agent, mode) as (client, _):
        assert client.client.protocol_version == version
        listed = [tool.name for tool in await client.list()]
        assert listed == [tool.name for tool in tools("compact")]
        assert (await client.ok("hubbub_whoami"))["name"] == agent
        sent = await client.ok("hubbub_send", to="#general", text=f"hello from {mode}")
        page = await client.ok("hubbub_read", channel="#general")
        assert sent["message_ids"][0] in [message["id"] for message in page["messages"]]
        waited = await client.ok("hubbub_wait", after=page["cursor"], channel="#general")
        assert waited["timed_out"] is True
        assert "channel_not_found" in await client.refused("hubbub_read", channel="#nowhere")


async def test_the_full_surface_and_the_channel_capability(stdio_hub: LiveHub) -> None:
    async with stdio(stdio_hub, "lap-stdio-full", "legacy", "--tools", "full") as (client, _):
        assert client.client.server_capabilities.experimental == {CAPABILITY: {}}
        assert (client.client.instructions or "").endswith(CHANNEL_INSTRUCTIONS)
        listed = [tool.name for tool in await client.list()]
        assert listed == [tool.name for tool in tools("full")]


async def test_a_dm_is_pushed_as_a_channel_event_within_a_second(stdio_hub: LiveHub) -> None:
    async with (
        stdio(stdio_hub, "lap-pushed") as (client, probe),
        sender(stdio_hub, "lap-pusher") as http,
    ):
        await warm_up(client, probe, http)
        answered, message_id = await dm(http, "lap-pushed", "can you take <<<the migration>>>?")
        pushed = await probe.next(within=5)
        assert pushed is not None, "no channel event for the DM"
        assert pushed.at - answered < PUSH_WITHIN, f"pushed after {pushed.at - answered:.3f} s"
        assert pushed.event.meta == {
            "from": "lap-pusher",
            "channel": "dm:lap-pushed:lap-pusher",
            "msg_id": str(message_id),
            "kind": "dm",
        }
        header, body, footer = pushed.event.content.splitlines()
        assert header.startswith(f"<<<hubbub message id={message_id} from=lap-pusher ")
        assert body == "can you take < < <the migration> > >?"  # cannot forge a frame
        assert footer == f"<<<end hubbub message id={message_id}>>>"

        # A mention is pushed too; what the agent sends itself is not.
        await http.post("/channels/general/messages", json={"content": "@lap-pushed see this"})
        mention = await probe.next(within=5)
        assert mention is not None
        assert (mention.event.meta["kind"], mention.event.meta["channel"]) == (
            "mention",
            "#general",
        )
        await client.ok("hubbub_send", to="@lap-pusher", text="on it")
        assert await probe.next(within=0.5) is None


async def test_the_push_outlives_the_hub_going_away(tmp_path: Path) -> None:
    home = tmp_path / "hub"
    with running_hub(home) as first:
        port, config, db = first.port, first.config_path, first.db_path
        async with stdio(first, "lap-patient") as (client, probe):
            async with sender(first, "lap-caller") as http:
                await warm_up(client, probe, http)
            first.process.terminate()
            first.process.wait(timeout=15)
            away = await client.refused("hubbub_whoami")
            assert "unreachable" in away
            with running_hub(home, port=port, config_path=config, db_path=db) as second:
                async with sender(second, "lap-caller") as http:
                    _, message_id = await dm(http, "lap-patient", "back again")
                pushed = await probe.next(within=20)
                assert pushed is not None, "the push did not resume"
                assert pushed.event.meta["msg_id"] == str(message_id)
                assert (await client.ok("hubbub_whoami"))["name"] == "lap-patient"


def test_without_a_hub_to_talk_to_it_exits_at_once_saying_why(tmp_path: Path) -> None:
    for env, said in [
        ({}, "no hub URL"),
        ({"HUBBUB_URL": "http://127.0.0.1:9"}, "no key"),
        ({"HUBBUB_URL": "http://127.0.0.1:9", "HUBBUB_KEY": "hb_x"}, "no agent name"),
        (
            {
                "HUBBUB_URL": "http://127.0.0.1:9",
                "HUBBUB_KEY": "hb_x",
                "HUBBUB_AGENT": "lap-x",
                "HUBBUB_TOOL_WAIT_SECONDS": "90",
            },
            "HUBBUB_TOOL_WAIT_SECONDS",
        ),
    ]:
        done = subprocess.run(
            [str(HUBBUB), "mcp"],
            env=clean_env(tmp_path, **env),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 1, done
        assert done.stdout == ""  # stdout is the protocol's alone
        assert said in done.stderr
        assert "no_config" in done.stderr
