"""An admin deactivates (refused everywhere, hidden, reversible) and deletes (gone, messages
kept, name never reused) agents; a machine registers at most ``max_agents_per_machine``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hubbub.client import AsyncClient
from tests.clients import API, AgentClient, InProcessHub, problem
from tests.realtime import LiveAgents
from tests.sse import open_stream

pytestmark = pytest.mark.anyio


async def admin(hub: InProcessHub, method: str, path: str) -> Any:
    return await hub.http.request(method, f"{API}/admin/agents/{path}", headers=hub.admin_headers)


async def names(agent: AgentClient) -> set[str]:
    return {a["name"] for a in await agent.ok("GET", "/agents")}


async def test_a_deactivated_agent_is_refused_everywhere_and_comes_back(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    said = await alpha.say("general", "before the pause")
    await beta.say("general", "hello")
    answer = await admin(hub, "POST", "lap-alpha/deactivate")
    assert answer.status_code == 200, answer.text
    assert answer.json()["deactivated"] is True
    problem(await alpha.get("/me"), 403, "agent_deactivated")
    problem(await alpha.post("/channels/general/messages", {"content": "x"}), 403)
    problem(await beta.post("/send", {"target": "@lap-alpha", "content": "hi"}), 403)
    offer = await beta.post("/tasks", {"title": "t", "target": "@lap-alpha"})
    problem(offer, 403, "agent_deactivated")
    await beta.ok("POST", "/channels", {"name": "ops"})
    problem(await beta.post("/channels/ops/invite", {"agent": "lap-alpha"}), 403)
    mentioned = await beta.say("general", "ping @lap-alpha")
    assert mentioned["mentions"] == []  # no inbox item for an agent that cannot read it
    assert "lap-alpha" not in await names(beta)
    history = await beta.messages("general")
    assert said["id"] in [m["id"] for m in history]  # its words stay
    again = await admin(hub, "POST", "lap-alpha/reactivate")
    assert again.json()["deactivated"] is False
    assert (await alpha.ok("GET", "/me"))["name"] == "lap-alpha"
    assert "lap-alpha" in await names(beta)
    await beta.ok("POST", "/send", {"target": "@lap-alpha", "content": "welcome back"})


async def test_a_deleted_agent_is_gone_and_its_name_taken_for_good(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    said = await alpha.say("general", "last words")
    deleted = await admin(hub, "DELETE", "lap-alpha")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["deleted"] is True
    problem(await alpha.get("/me"), 403, "agent_deleted")  # the same machine key, the same name
    problem(await beta.post("/send", {"target": "@lap-alpha", "content": "x"}), 404)
    problem(await beta.get("/agents/lap-alpha"), 404, "agent_not_found")
    assert "lap-alpha" not in await names(beta)
    kept = next(m for m in await beta.messages("general") if m["id"] == said["id"])
    assert kept["author"] == "lap-alpha"
    for method, path in (("DELETE", "lap-alpha"), ("POST", "lap-alpha/reactivate")):
        problem(await admin(hub, method, path), 404, "agent_not_found")


async def test_purging_a_deleted_agent_removes_its_words_and_frees_its_name(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    mine = [(await alpha.say("general", f"alpha speaks of quokkas {n}"))["id"] for n in range(3)]
    theirs = await beta.say("general", "beta replies about quokkas")
    problem(await admin(hub, "POST", "lap-alpha/purge"), 409, "agent_not_deleted")
    await admin(hub, "DELETE", "lap-alpha")
    purged = await admin(hub, "POST", "lap-alpha/purge")
    assert purged.status_code == 200, purged.text
    assert purged.json() == {"agent": "lap-alpha", "messages": len(mine)}
    left = [m["id"] for m in await beta.messages("general")]
    assert left == [theirs["id"]]
    assert [r["message"]["id"] for r in await beta.search("quokkas")] == [theirs["id"]]
    fresh = await alpha.ok("GET", "/me")  # the name registers again, as a new agent
    assert fresh["deleted"] is False
    assert fresh["id"] != deleted_id(hub)
    problem(await admin(hub, "POST", "lap-alpha/purge"), 409, "agent_not_deleted")


def deleted_id(hub: InProcessHub) -> int:
    [(found,)] = hub.query("SELECT id FROM agents WHERE name LIKE ?", ("~purged-%",))
    return int(found)


async def test_only_an_admin_changes_an_agent_and_bad_names_change_nothing(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    before = hub.snapshot()
    problem(await beta.post("/admin/agents/lap-alpha/deactivate"), 403, "admin_only")
    problem(await admin(hub, "POST", "lap-nobody/deactivate"), 404, "agent_not_found")
    problem(await admin(hub, "POST", "Bad_Name/deactivate"), 422)
    assert hub.snapshot() == before
    assert (await alpha.ok("GET", "/me"))["deactivated"] is False


async def test_a_machine_registers_at_most_its_cap(hub_factory: Any) -> None:
    async with hub_factory(max_agents_per_machine=3) as hub:
        for name in ("lap-one", "lap-two", "lap-three"):
            await (await hub.agent(name)).ok("GET", "/me")
        extra = AgentClient(hub.http, "lap-four", await hub.key_for("lap"))
        before = hub.snapshot()
        refused = problem(await extra.get("/me"), 409, "too_many_agents")
        assert "max_agents_per_machine" in refused["detail"]
        assert hub.snapshot() == before
        other = await hub.agent("srv-one")  # another machine has its own count
        await other.ok("GET", "/me")
        await admin(hub, "DELETE", "lap-three")  # a deleted agent frees its place
        assert (await extra.ok("GET", "/me"))["name"] == "lap-four"


@pytest.mark.e2e
async def test_a_stream_ends_when_its_agent_is_deactivated(realtime: LiveAgents) -> None:
    agent = await realtime.agent("lap-paused")
    config = realtime.hub.config()
    async with AsyncClient(url=realtime.hub.url, admin_key=config["admin_key"]) as admins:
        async with open_stream(agent) as stream:
            changed = await admins.deactivate_agent(agent.name)
            assert changed.deactivated
            seen = await stream.until(lambda event: event.type == "closed", within=30)
            assert json.loads(seen[-1].data)["code"] == "agent_deactivated"
        assert not (await admins.reactivate_agent(agent.name)).deactivated
        await agent.ok("GET", "/me")
        assert (await admins.delete_agent(agent.name)).deleted
