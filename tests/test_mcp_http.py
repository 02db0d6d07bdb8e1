"""``/mcp`` on a real ``hubbub serve``: the official SDK's streamable-HTTP client in both
protocol eras, the same bearer keys and acting agents as the REST API, and the Origin check."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import httpx2
import pytest
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client

from hubbub.tools import tools
from tests.clients import problem
from tests.live import LiveHub, running_hub
from tests.mcp_support import Session, exercise

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

ALLOWED = "https://dash.example.com"
ERAS = pytest.mark.parametrize(
    ("mode", "version"), [("legacy", "2025-11-25"), ("auto", "2026-07-28")]
)
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "probe", "version": "1"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


@pytest.fixture(scope="module")
def mcp_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    """A real hub whose wait tool returns within a second, with one browser origin allowed."""
    env = {"HUBBUB_TOOL_WAIT_SECONDS": "1", "HUBBUB_MCP_ALLOWED_ORIGINS": ALLOWED + "/"}
    with running_hub(tmp_path_factory.mktemp("mcp-http"), env=env) as started:
        yield started


@asynccontextmanager
async def session(
    hub: LiveHub, agent: str, mode: str, *, path: str = "/mcp", header: bool = True
) -> AsyncIterator[Session]:
    """The SDK's streamable-HTTP client acting as ``agent`` with the hub's machine key."""
    headers = {"Authorization": f"Bearer {hub.config()['key']}"}
    if header:
        headers["X-Hubbub-Agent"] = agent
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(hub.url + path, http_client=http), mode=mode) as client,
    ):
        yield Session(client, agent)


def initialize(hub: LiveHub, headers: dict[str, str], path: str = "/mcp") -> httpx.Response:
    """A handshake-era ``initialize`` POST with these headers."""
    return httpx.post(
        hub.url + path, json=INITIALIZE, headers={**MCP_HEADERS, **headers}, timeout=30
    )


def agent_headers(hub: LiveHub, agent: str = "lap-probe", **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {hub.config()['key']}", "X-Hubbub-Agent": agent, **extra}


@ERAS
async def test_every_compact_tool_runs_over_http(mcp_hub: LiveHub, mode: str, version: str) -> None:
    alpha_name, beta_name = f"lap-alpha-{mode}", f"lap-beta-{mode}"
    async with (
        session(mcp_hub, alpha_name, mode) as alpha,
        session(mcp_hub, beta_name, mode, path="/mcp?tools=full") as beta,
    ):
        assert alpha.client.protocol_version == version
        listed = [tool.name for tool in await alpha.list()]
        assert listed == [tool.name for tool in tools("compact")]
        await exercise(alpha, beta)
        missing = await alpha.refused("hubbub_read", channel="#nowhere")
        assert "channel_not_found" in missing


@ERAS
async def test_the_query_string_picks_the_agent_and_the_surface(
    mcp_hub: LiveHub, mode: str, version: str
) -> None:
    agent = f"lap-query-{mode}"
    path = f"/mcp?agent={agent}&tools=full"
    async with session(mcp_hub, agent, mode, path=path, header=False) as client:
        assert [tool.name for tool in await client.list()] == [t.name for t in tools("full")]
        assert (await client.ok("hubbub_whoami"))["name"] == agent


def test_requests_without_a_valid_key_are_refused_with_a_bearer_challenge(
    mcp_hub: LiveHub,
) -> None:
    for headers, code in [
        ({}, "unauthorized"),
        ({"Authorization": "Basic eDp5"}, "unauthorized"),
        ({"Authorization": "Bearer hb_not-a-key", "X-Hubbub-Agent": "lap-x"}, "bad_key"),
    ]:
        refused = initialize(mcp_hub, headers)
        problem(refused, 401, code)
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_acting_agent_follows_the_rest_rules(mcp_hub: LiveHub) -> None:
    key = {"Authorization": f"Bearer {mcp_hub.config()['key']}"}
    problem(initialize(mcp_hub, key), 422, "agent_required")
    problem(initialize(mcp_hub, {**key, "X-Hubbub-Agent": "srv-other"}), 403, "wrong_machine")
    problem(initialize(mcp_hub, key, "/mcp?agent=srv-other"), 403, "wrong_machine")
    problem(initialize(mcp_hub, agent_headers(mcp_hub), "/mcp?tools=most"), 422, "invalid")


def test_browser_origins_must_be_loopback_or_allowed(mcp_hub: LiveHub) -> None:
    for origin in ["http://evil.example", "null", "http://127.0.0.1.evil.example:7878"]:
        refused = initialize(mcp_hub, agent_headers(mcp_hub, Origin=origin))
        problem(refused, 403, "origin_not_allowed")
    for origin in [ALLOWED, "http://localhost:5173", "http://127.0.0.1:7878", "http://[::1]:80"]:
        answered = initialize(mcp_hub, agent_headers(mcp_hub, Origin=origin))
        assert answered.status_code == 200, (origin, answered.text)
    # No Origin (every non-browser client) passes, and the Host is not checked, so a hub
    # reached by another name (bound beyond loopback) still serves.
    named = initialize(mcp_hub, agent_headers(mcp_hub, Host="hub.example.com"))
    assert named.status_code == 200, named.text
    assert '"serverInfo"' in named.text


def test_only_post_is_served(mcp_hub: LiveHub) -> None:
    for method in ("GET", "DELETE", "PUT"):
        refused = httpx.request(
            method, mcp_hub.url + "/mcp", headers=agent_headers(mcp_hub), timeout=10
        )
        problem(refused, 405, "method_not_allowed")
        assert refused.headers["Allow"] == "POST"


def test_a_refused_request_changes_nothing(mcp_hub: LiveHub) -> None:
    headers: dict[str, Any] = {**agent_headers(mcp_hub, "lap-ghost"), "Origin": "http://evil"}
    problem(initialize(mcp_hub, headers), 403, "origin_not_allowed")
    lookup = mcp_hub.request(
        "GET", "/api/v1/agents/lap-ghost", key=mcp_hub.config()["key"], agent="lap-probe"
    )
    problem(lookup, 404, "agent_not_found")
