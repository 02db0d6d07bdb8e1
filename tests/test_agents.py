"""Agents: my profile, and finding others by tag, capability, status and machine."""

from __future__ import annotations

from typing import Any

import pytest

from tests.clients import AgentClient, InProcessHub, problem

pytestmark = pytest.mark.anyio


async def test_i_change_my_own_profile(alpha: AgentClient) -> None:
    changed = await alpha.ok(
        "PATCH",
        "/me",
        {
            "label": "reviewer",
            "tags": ["rust", "backend", "rust"],
            "capabilities": ["review", "deploy"],
            "status": "busy",
            "status_note": "migrating",
        },
    )
    assert (changed["label"], changed["tags"], changed["capabilities"]) == (
        "reviewer",
        ["backend", "rust"],
        ["deploy", "review"],
    )
    assert (changed["status"], changed["status_note"]) == ("busy", "migrating")
    assert await alpha.ok("GET", "/me") == changed
    # Fields left out stay as they are.
    again = await alpha.ok("PATCH", "/me", {"status": "idle"})
    assert (again["status"], again["tags"], again["label"]) == (
        "idle",
        ["backend", "rust"],
        "reviewer",
    )


async def test_an_empty_label_or_note_clears_it(alpha: AgentClient) -> None:
    await alpha.ok("PATCH", "/me", {"label": "reviewer", "status_note": "busy with x"})
    cleared = await alpha.ok("PATCH", "/me", {"label": "", "status_note": ""})
    assert (cleared["label"], cleared["status_note"]) == (None, None)
    cleared_tags = await alpha.ok("PATCH", "/me", {"tags": []})
    assert cleared_tags["tags"] == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"tags": ["Not Valid"]}, "bad_name"),
        ({"capabilities": ["ok", ""]}, "bad_name"),
        ({"label": "UPPER"}, "bad_name"),
        ({"tags": [f"t{i}" for i in range(33)]}, "invalid"),
        ({"status": "sleeping"}, "invalid"),
        ({"visibility": "invisible"}, "invalid"),
        ({"status_note": "n" * 201}, "invalid"),
        ({"name": "lap-renamed"}, "invalid"),
        ({"machine": "srv"}, "invalid"),
    ],
)
async def test_bad_profile_changes_change_nothing(
    hub: InProcessHub, alpha: AgentClient, body: dict[str, Any], code: str
) -> None:
    me = await alpha.ok("GET", "/me")
    before = hub.snapshot()
    problem(await alpha.patch("/me", body), 422, code)
    assert hub.snapshot() == before
    assert await alpha.ok("GET", "/me") == me


async def test_agents_are_listed_with_filters(hub: InProcessHub) -> None:
    alpha = await hub.agent("lap-alpha")
    beta = await hub.agent("lap-beta")
    gamma = await hub.agent("srv-gamma")
    await beta.ok("PATCH", "/me", {"tags": ["backend"], "capabilities": ["deploy"]})
    await gamma.ok("PATCH", "/me", {"tags": ["backend"], "status": "busy"})

    async def names(**params: str) -> list[str]:
        return [a["name"] for a in await alpha.ok("GET", "/agents", params=params)]

    assert await names() == ["lap-alpha", "lap-beta", "srv-gamma"]
    assert await names(tag="backend") == ["lap-beta", "srv-gamma"]
    assert await names(cap="deploy") == ["lap-beta"]
    assert await names(status="busy") == ["srv-gamma"]
    assert await names(machine="lap") == ["lap-alpha", "lap-beta"]
    assert await names(tag="backend", machine="srv") == ["srv-gamma"]
    assert await names(tag="nothing") == []
    problem(await alpha.get("/agents", params={"status": "sleeping"}), 422, "invalid")
    problem(await alpha.get("/agents", params={"tag": "Bad Tag"}), 422, "bad_name")


async def test_hidden_agents_are_listed_only_to_themselves(hub: InProcessHub) -> None:
    alpha = await hub.agent("lap-alpha")
    shy = await hub.agent("lap-shy")
    await shy.ok("PATCH", "/me", {"visibility": "hidden"})
    assert [a["name"] for a in await alpha.ok("GET", "/agents")] == ["lap-alpha"]
    assert [a["name"] for a in await shy.ok("GET", "/agents")] == ["lap-alpha", "lap-shy"]


async def test_one_agent_by_name(alpha: AgentClient, beta: AgentClient) -> None:
    found = await alpha.ok("GET", "/agents/lap-beta")
    assert (found["name"], found["machine"]) == ("lap-beta", "lap")
    problem(await alpha.get("/agents/lap-nobody"), 404, "agent_not_found")
    problem(await alpha.get("/agents/Not_An_Agent"), 422, "bad_name")
