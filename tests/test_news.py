"""News in tool results: a client with no push learns of inbox items on its next tool call,
one short line, each item announced once per session, over real MCP clients (stdio and
HTTP, both protocol eras), the executor's vendor formats and the LangChain toolkit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import httpx2
import mcp_types as types
import pytest
from langchain_core.messages import ToolMessage
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from hubbub.tools.executor import Executor
from hubbub.tools.langchain import HubbubToolkit
from tests.agent_tools import sdk
from tests.clients import InProcessHub
from tests.live import HUBBUB, LiveHub, clean_env, running_hub
from tests.mcp_support import Session, rendered

pytestmark = pytest.mark.anyio

ERAS = pytest.mark.parametrize("mode", ["legacy", "auto"])
TAIL = "— hubbub_inbox"


@pytest.fixture(scope="module")
def news_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    env = {"HUBBUB_TOOL_WAIT_SECONDS": "1"}
    with running_hub(tmp_path_factory.mktemp("news"), env=env) as started:
        yield started


@asynccontextmanager
async def rest(hub: LiveHub, agent: str) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {hub.config()['key']}", "X-Hubbub-Agent": agent}
    async with httpx.AsyncClient(base_url=hub.url + "/api/v1", headers=headers) as http:
        yield http


@asynccontextmanager
async def over_stdio(hub: LiveHub, agent: str, mode: str) -> AsyncIterator[Session]:
    env = clean_env(hub.home, HUBBUB_CONFIG=str(hub.config_path), HUBBUB_TOOL_WAIT_SECONDS="1")
    params = StdioServerParameters(command=str(HUBBUB), args=["mcp", "--agent", agent], env=env)
    async with Client(params, mode=mode) as client:
        yield Session(client, agent)


@asynccontextmanager
async def over_http(hub: LiveHub, agent: str, mode: str) -> AsyncIterator[Session]:
    headers = {"Authorization": f"Bearer {hub.config()['key']}", "X-Hubbub-Agent": agent}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(hub.url + "/mcp", http_client=http), mode=mode) as client,
    ):
        yield Session(client, agent)


async def text_of(session: Session, name: str, **arguments: object) -> str:
    result: types.CallToolResult = await session.call(name, **arguments)
    assert not result.is_error, result
    return rendered(result)


async def post(http: httpx.AsyncClient, target: str, content: str) -> None:
    answered = await http.post("/send", json={"target": target, "content": content})
    assert answered.status_code == 201, answered.text


async def announces_each_item_once(session: Session, hub: LiveHub, sender: str) -> None:
    """A DM and a mention arrive: the next tool result names both, the one after neither; a
    tool showing the inbox marks what it showed, so nothing about it follows."""
    me = session.agent
    assert TAIL not in await text_of(session, "hubbub_whoami")  # registers the agent
    async with rest(hub, sender) as http:
        await post(http, f"@{me}", "ping")
        await post(http, "#tech-ops", f"@{me} the deploy is done")
        text = await text_of(session, "hubbub_whoami")
        assert text.endswith(f"2 new: DM from {sender}, mention in #tech-ops by {sender} {TAIL}")
        assert TAIL not in await text_of(session, "hubbub_whoami")
        await post(http, f"@{me}", "seen through the inbox")
        shown = await text_of(session, "hubbub_inbox")
        assert "seen through the inbox" in shown
        assert TAIL not in shown
        assert TAIL not in await text_of(session, "hubbub_help")


@pytest.mark.e2e
@ERAS
async def test_news_over_stdio(news_hub: LiveHub, mode: str) -> None:
    async with over_stdio(news_hub, f"lap-stdio-{mode}", mode) as session:
        await announces_each_item_once(session, news_hub, "lap-teller")


@pytest.mark.e2e
@ERAS
async def test_news_over_http(news_hub: LiveHub, mode: str) -> None:
    async with over_http(news_hub, f"lap-http-{mode}", mode) as session:
        await announces_each_item_once(session, news_hub, "lap-teller")


async def test_the_executor_carries_news_in_every_vendor_shape(hub: InProcessHub) -> None:
    teller = await hub.agent("lap-teller")
    async with sdk(hub, "lap-exec") as client:
        first, second = Executor(client, session="one"), Executor(client, session="two")
        await teller.send("@lap-exec", "hello")
        call = {"id": "c1", "function": {"name": "hubbub_whoami", "arguments": "{}"}}
        reply = await first.run_openai(call)
        assert reply["content"].endswith(f"1 new: DM from lap-teller {TAIL}")
        again = await first.run_anthropic({"id": "t1", "name": "hubbub_whoami", "input": {}})
        assert TAIL not in again["content"]
        # Another session of the same agent hears of the item once too.
        part = await second.run_gemini({"functionCall": {"name": "hubbub_whoami", "args": {}}})
        assert part["functionResponse"]["response"]["news"].startswith("1 new: DM")
        item = {"call_id": "r1", "name": "hubbub_whoami", "arguments": "{}"}
        assert TAIL not in (await second.run_openai_responses(item))["output"]


async def test_the_langchain_toolkit_carries_news(hub: InProcessHub) -> None:
    teller = await hub.agent("lap-teller")
    async with sdk(hub, "lap-chain") as client:
        toolkit = HubbubToolkit(client=client, session="chain")
        whoami = next(tool for tool in toolkit.get_tools() if tool.name == "hubbub_whoami")
        await teller.say("general", "@lap-chain look at this")
        call = {"name": "hubbub_whoami", "args": {}, "id": "c1", "type": "tool_call"}
        message = await whoami.ainvoke(call)
        assert isinstance(message, ToolMessage)
        assert str(message.content).endswith(f"mention in #general by lap-teller {TAIL}")
        second = {"name": "hubbub_whoami", "args": {}, "id": "c2", "type": "tool_call"}
        quiet = await whoami.ainvoke(second)
        assert TAIL not in str(quiet.content)
