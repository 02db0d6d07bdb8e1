"""Channels: creation, visibility, membership, invites and archiving."""

from __future__ import annotations

from typing import Any

import pytest

from tests.clients import AgentClient, HubFactory, InProcessHub, problem

pytestmark = pytest.mark.anyio


async def test_a_created_channel_has_its_creator_as_member(alpha: AgentClient) -> None:
    response = await alpha.post(
        "/channels", {"name": "design", "visibility": "private", "topic": "the look"}
    )
    assert response.status_code == 201
    created = response.json()
    assert (created["name"], created["visibility"], created["topic"]) == (
        "design",
        "private",
        "the look",
    )
    assert (created["created_by"], created["kind"], created["archived"]) == (
        "lap-alpha",
        "channel",
        False,
    )
    got = await alpha.ok("GET", "/channels/design")
    assert got["members"] == ["lap-alpha"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "Design"}, "bad_name"),
        ({"name": ""}, "bad_name"),
        ({"name": "x" * 81}, "bad_name"),
        ({"name": "dm:a:b"}, "bad_name"),
        ({"name": "-lead"}, "bad_name"),
        ({"name": "ok", "visibility": "hidden"}, "invalid"),
        ({"name": "ok", "topic": "t" * 501}, "invalid"),
        ({"visibility": "public"}, "invalid"),
    ],
)
async def test_bad_channel_requests_are_422_and_create_nothing(
    hub: InProcessHub, alpha: AgentClient, body: dict[str, Any], code: str
) -> None:
    before = hub.snapshot()
    problem(await alpha.post("/channels", body), 422, code)
    assert hub.snapshot() == before


async def test_a_taken_name_is_409(hub: InProcessHub, alpha: AgentClient) -> None:
    await alpha.create_channel("design")
    before = hub.snapshot()
    problem(await alpha.post("/channels", {"name": "design"}), 409, "channel_exists")
    assert hub.snapshot() == before


async def test_channel_creation_is_rate_limited_per_agent(hub_factory: HubFactory) -> None:
    async with hub_factory(channel_creates_per_hour=2) as hub:
        alpha = await hub.agent("lap-alpha")
        beta = await hub.agent("lap-beta")
        await alpha.create_channel("one")
        await alpha.create_channel("two")
        before = hub.snapshot()
        response = await alpha.post("/channels", {"name": "three"})
        problem(response, 429, "rate_limited")
        assert int(response.headers["retry-after"]) >= 1
        problem(await alpha.post("/channels/project-new/messages", {"content": "x"}), 429)
        assert hub.snapshot() == before
        await beta.create_channel("three")  # the limit is per agent


async def test_join_and_leave_a_public_channel(alpha: AgentClient, beta: AgentClient) -> None:
    await alpha.create_channel("design")
    await beta.ok("POST", "/channels/design/join")
    await beta.ok("POST", "/channels/design/join")  # joining twice is harmless
    assert (await alpha.ok("GET", "/channels/design"))["members"] == ["lap-alpha", "lap-beta"]
    await beta.ok("POST", "/channels/design/leave")
    await beta.ok("POST", "/channels/design/leave")  # so is leaving twice
    assert (await alpha.ok("GET", "/channels/design"))["members"] == ["lap-alpha"]
    problem(await beta.post("/channels/nowhere/join"), 404, "channel_not_found")


async def test_private_and_secret_channels_take_an_invite(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    await alpha.create_channel("ops", "private")
    await alpha.create_channel("vault", "secret")
    before = hub.snapshot()
    problem(await beta.post("/channels/ops/join"), 403, "not_a_member")
    problem(await beta.post("/channels/vault/join"), 404, "channel_not_found")
    problem(await beta.post("/channels/ops/invite", {"agent": "srv-gamma"}), 403, "not_a_member")
    problem(
        await beta.post("/channels/vault/invite", {"agent": "lap-beta"}), 404, "channel_not_found"
    )
    assert hub.snapshot() == before

    for name in ("ops", "vault"):
        invited = await alpha.ok("POST", f"/channels/{name}/invite", {"agent": "lap-beta"})
        assert invited["members"] == ["lap-alpha", "lap-beta"]
        await beta.say(name, f"hello {name}")
        # A member may invite in turn.
        await beta.ok("POST", f"/channels/{name}/invite", {"agent": "srv-gamma"})
        assert [m["content"] for m in await gamma.messages(name)] == [f"hello {name}"]


async def test_inviting_needs_a_real_agent_and_membership(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    await alpha.create_channel("design")
    before = hub.snapshot()
    problem(
        await alpha.post("/channels/design/invite", {"agent": "lap-nobody"}), 404, "agent_not_found"
    )
    problem(await alpha.post("/channels/design/invite", {"agent": "Bad Name"}), 422, "bad_name")
    problem(await beta.post("/channels/design/invite", {"agent": "lap-alpha"}), 403, "not_a_member")
    assert hub.snapshot() == before


async def test_the_creator_or_an_admin_archives(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    await alpha.create_channel("design")
    await alpha.create_channel("other")
    await beta.ok("POST", "/channels/design/join")
    before = hub.snapshot()
    problem(await beta.post("/channels/design/archive"), 403, "not_creator")
    assert hub.snapshot() == before

    archived = await alpha.ok("POST", "/channels/design/archive")
    assert archived["archived"] is True
    assert (await alpha.ok("POST", "/channels/design/archive"))["archived"] is True

    as_admin = AgentClient(hub.http, beta.name, hub.admin_key)
    assert (await as_admin.ok("POST", "/channels/other/archive"))["archived"] is True


async def test_an_archived_channel_is_readable_but_closed(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    await alpha.create_channel("design")
    await alpha.say("design", "history")
    await alpha.ok("POST", "/channels/design/archive")

    assert [m["content"] for m in await beta.messages("design")] == ["history"]
    listed = [c["name"] for c in await beta.ok("GET", "/channels")]
    assert "design" not in listed
    everything = await beta.ok("GET", "/channels", params={"include_archived": True})
    assert "design" in [c["name"] for c in everything]

    before = hub.snapshot()
    problem(await beta.post("/channels/design/join"), 409, "channel_archived")
    problem(
        await alpha.post("/channels/design/invite", {"agent": "lap-beta"}), 409, "channel_archived"
    )
    assert hub.snapshot() == before


async def test_the_channel_list_is_sorted_and_shows_last_message(alpha: AgentClient) -> None:
    await alpha.create_channel("zeta")
    posted = await alpha.say("general", "hi")
    listed = await alpha.ok("GET", "/channels")
    assert [c["name"] for c in listed] == ["general", "zeta"]
    assert listed[0]["last_message_id"] == posted["id"]
    assert listed[1]["last_message_id"] == 0


async def test_auto_channels_are_archived_by_an_admin_only(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    await alpha.say("project-x", "I made this channel by posting")
    before = hub.snapshot()
    problem(await alpha.post("/channels/project-x/archive"), 403, "not_creator")
    problem(await alpha.post("/channels/general/archive"), 404, "channel_not_found")
    assert hub.snapshot() == before
    as_admin = AgentClient(hub.http, alpha.name, hub.admin_key)
    assert (await as_admin.ok("POST", "/channels/project-x/archive"))["archived"] is True


async def test_an_admin_archives_a_secret_channel_it_is_not_in(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    await alpha.create_channel("vault", "secret")
    as_admin = AgentClient(hub.http, beta.name, hub.admin_key)
    assert (await as_admin.ok("POST", "/channels/vault/archive"))["archived"] is True
    problem(await beta.post("/channels/vault/archive"), 404, "channel_not_found")
