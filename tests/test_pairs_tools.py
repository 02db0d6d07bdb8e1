"""Pair session tools: served on the full surface only, run through the registry and over
MCP in both protocol eras; a refusal is a tool error with its code and writes nothing."""

from __future__ import annotations

from typing import Any, Protocol

import pytest
from mcp.shared.exceptions import MCPError

from hubbub.tools import tools
from tests.agent_tools import Caller, acting
from tests.clients import InProcessHub
from tests.test_mcp import ERAS, session

pytestmark = pytest.mark.anyio

PAIR_TOOLS = [
    "hubbub_pair_invite",
    "hubbub_pairs",
    "hubbub_pair_accept",
    "hubbub_pair_reject",
    "hubbub_pair_end",
    "hubbub_pair_send",
]


class Seen(Protocol):
    """Calls a tool that must succeed, as ``test_tools.Coverage`` does."""

    async def ok(self, caller: Caller, name: str, /, **arguments: Any) -> dict[str, Any]: ...


async def exercise_pairs(seen: Seen, alpha: Caller, beta: Caller) -> None:
    """Every pair tool: invite, list, reject, invite again, accept, talk, read, hang up."""
    first = await seen.ok(alpha, "hubbub_pair_invite", to="@lap-beta", topic="review")
    assert (first["state"], first["invitee"], first["topic"]) == ("pending", "lap-beta", "review")
    pending = await seen.ok(beta, "hubbub_pairs", state="pending")
    assert [pair["id"] for pair in pending["pairs"]] == [first["id"]]
    rejected = await seen.ok(beta, "hubbub_pair_reject", pair_id=first["id"])
    assert rejected["state"] == "rejected"
    second = await seen.ok(alpha, "hubbub_pair_invite", to="@lap-beta", text="again?")
    accepted = await seen.ok(beta, "hubbub_pair_accept", pair_id=second["id"])
    assert accepted["state"] == "active"
    sent = await seen.ok(beta, "hubbub_pair_send", pair_id=second["id"], text="here")
    assert sent["channel"] == second["channel"] == f"pair:{second['id']}"
    page = await seen.ok(alpha, "hubbub_read", channel=second["channel"])
    assert [m["text"].splitlines()[1] for m in page["messages"]] == ["again?", "here"]
    assert {m["channel"] for m in page["messages"]} == {second["channel"]}
    ended = await seen.ok(alpha, "hubbub_pair_end", pair_id=second["id"])
    assert (ended["state"], ended["end_reason"], ended["ended_by"]) == (
        "ended",
        "hung_up",
        "lap-alpha",
    )


class Recorder:
    """Records the tools called successfully."""

    def __init__(self) -> None:
        self.called: set[str] = set()

    async def ok(self, caller: Caller, name: str, /, **arguments: Any) -> dict[str, Any]:
        self.called.add(name)
        return await caller.ok(name, **arguments)


def test_pair_tools_are_on_the_full_surface_only() -> None:
    full = [tool.name for tool in tools("full")]
    compact = [tool.name for tool in tools("compact")]
    assert [name for name in full if name in PAIR_TOOLS] == PAIR_TOOLS
    assert not set(PAIR_TOOLS) & set(compact)


async def test_pair_tools_run_and_refuse_with_codes(hub: InProcessHub) -> None:
    seen = Recorder()
    async with acting(hub, "lap-alpha") as alpha, acting(hub, "lap-beta") as beta:
        await exercise_pairs(seen, alpha, beta)
        assert seen.called == {*PAIR_TOOLS, "hubbub_read"}
        before = hub.snapshot()
        ended = (await alpha.ok("hubbub_pairs", state="ended"))["pairs"][0]
        late = await alpha("hubbub_pair_send", pair_id=ended["id"], text="one more")
        assert late.is_error
        assert "pair_not_active" in late.text
        again = await beta("hubbub_pair_accept", pair_id=ended["id"])
        assert again.is_error
        assert "pair_not_pending" in again.text
        myself = await alpha("hubbub_pair_invite", to="@lap-alpha")
        assert myself.is_error
        assert "bad_target" in myself.text
        assert hub.snapshot() == before


@ERAS
async def test_pair_tools_over_mcp(hub: InProcessHub, mode: str, version: str) -> None:
    async with (
        session(hub, "lap-alpha", mode, "full") as alpha,
        session(hub, "lap-beta", mode, "full") as beta,
    ):
        listed = [tool.name for tool in await alpha.list()]
        assert [name for name in listed if name in PAIR_TOOLS] == PAIR_TOOLS
        made = await alpha.ok("hubbub_pair_invite", to="@lap-beta", topic="mcp")
        accepted = await beta.ok("hubbub_pair_accept", pair_id=made["id"])
        assert accepted["state"] == "active"
        sent = await beta.ok("hubbub_pair_send", pair_id=made["id"], text="over mcp")
        assert sent["channel"] == made["channel"]
        busy = await alpha.refused("hubbub_pair_invite", to="@lap-beta")
        assert "busy" in busy
        ended = await alpha.ok("hubbub_pair_end", pair_id=made["id"])
        assert ended["state"] == "ended"
    async with session(hub, "lap-alpha", mode) as compact:
        assert not set(PAIR_TOOLS) & {tool.name for tool in await compact.list()}
        with pytest.raises(MCPError):
            await compact.call("hubbub_pairs")
