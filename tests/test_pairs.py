"""Pair sessions over REST and the SDK, on both engines: the lifecycle from invite to hang-up,
busy agents, targets that name several agents or none, what a third agent cannot do, the
inbox items, expiry, and refusals that write nothing."""

from __future__ import annotations

from typing import Any

import pytest

from hubbub.core.errors import Conflict, Forbidden, NotFound
from hubbub.core.models import Pair
from tests.agent_tools import sdk
from tests.clients import AgentClient, HubFactory, InProcessHub, Json, problem
from tests.realtime import eventually

pytestmark = pytest.mark.anyio

PAIR_TABLES = ("pairs", "channels", "members", "messages", "inbox", "events")


def counts(hub: InProcessHub) -> dict[str, int]:
    """Row counts of the tables a pair touches."""
    return {t: int(hub.query(f"SELECT count(*) FROM {t}")[0][0]) for t in PAIR_TABLES}


async def invite(agent: AgentClient, target: str, **body: Any) -> Json:
    """Invite ``target`` and return the pending pair."""
    pair: Json = await agent.ok("POST", "/pairs", {"target": target, **body})
    return pair


async def items(agent: AgentClient) -> list[tuple[str, str, str]]:
    """(kind, channel, content) of every unacknowledged inbox item."""
    found = (await agent.inbox())["items"]
    return [(i["kind"], i["message"]["channel"], i["message"]["content"]) for i in found]


async def test_a_pair_from_invite_to_hang_up(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    made = await invite(alpha, "@lap-beta", topic="the parser", message="pair on the parser?")
    pair_id, channel = made["id"], made["channel"]
    assert channel == f"pair:{pair_id}"
    assert (made["state"], made["inviter"], made["invitee"], made["topic"]) == (
        "pending",
        "lap-alpha",
        "lap-beta",
        "the parser",
    )
    assert made["expires_at"] > made["created_at"]
    # The invite is the pair's first message, in the invitee's inbox as a DM.
    assert await items(beta) == [("dm", channel, "pair on the parser?")]
    [first] = await beta.messages(channel)
    assert first["metadata"]["pair"] == {"id": pair_id, "invite": True, "topic": "the parser"}
    # Nothing more is posted until the invitee accepts.
    problem(
        await alpha.post(f"/channels/{channel}/messages", {"content": "hi"}), 409, "pair_not_active"
    )
    problem(
        await beta.post(f"/pairs/{pair_id}/messages", {"content": "hi"}), 409, "pair_not_active"
    )

    accepted = await beta.ok("POST", f"/pairs/{pair_id}/accept")
    assert (accepted["state"], accepted["accepted_at"] is not None) == ("active", True)
    said = await alpha.say(channel, "first the tokenizer")
    answer = await beta.ok("POST", f"/pairs/{pair_id}/messages", {"content": "agreed"})
    assert (said["channel"], answer["channel"]) == (channel, channel)
    # Each message lands in the other agent's inbox as a DM does.
    assert ("dm", channel, "first the tokenizer") in await items(beta)
    assert await items(alpha) == [("dm", channel, "agreed")]
    expected = ["pair on the parser?", "first the tokenizer", "agreed"]
    for agent in (alpha, beta):
        assert [m["content"] for m in await agent.messages(channel)] == expected
        page = await agent.ok("GET", f"/pairs/{pair_id}/messages")
        assert [m["content"] for m in page["messages"]] == expected
    shown = await alpha.ok("GET", f"/channels/{channel}")
    assert (shown["kind"], shown["visibility"], shown["members"]) == (
        "pair",
        "secret",
        ["lap-alpha", "lap-beta"],
    )
    # A pair is no listed channel.
    assert channel not in [c["name"] for c in await alpha.ok("GET", "/channels")]

    ended = await alpha.ok("POST", f"/pairs/{pair_id}/end")
    assert (ended["state"], ended["end_reason"], ended["ended_by"]) == (
        "ended",
        "hung_up",
        "lap-alpha",
    )
    before = counts(hub)
    for agent in (alpha, beta):
        problem(
            await agent.post(f"/channels/{channel}/messages", {"content": "x"}),
            409,
            "pair_not_active",
        )
        problem(
            await agent.post(f"/pairs/{pair_id}/messages", {"content": "x"}), 409, "pair_not_active"
        )
        problem(await agent.post(f"/pairs/{pair_id}/end"), 409, "pair_ended")
        # The history stays readable by its two agents.
        assert [m["content"] for m in await agent.messages(channel)] == expected
        assert (await agent.ok("GET", f"/pairs/{pair_id}"))["state"] == "ended"
    assert counts(hub) == before
    assert (await alpha.ok("GET", f"/channels/{channel}"))["archived"] is True
    # Both are free again: the same two may pair anew, in a new channel.
    again = await invite(beta, "@lap-alpha")
    assert again["channel"] == f"pair:{again['id']}" != channel
    assert [p["id"] for p in await alpha.ok("GET", "/pairs")] == [again["id"], pair_id]
    listed = await alpha.ok("GET", "/pairs", params={"state": "ended"})
    assert [p["id"] for p in listed] == [pair_id]


async def test_the_invitee_rejects_and_the_inviter_cancels(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    pair_id = (await invite(alpha, "@lap-beta"))["id"]
    problem(await alpha.post(f"/pairs/{pair_id}/accept"), 403, "not_invitee")
    problem(await alpha.post(f"/pairs/{pair_id}/reject"), 403, "not_invitee")
    rejected = await beta.ok("POST", f"/pairs/{pair_id}/reject")
    assert (rejected["state"], rejected["end_reason"], rejected["ended_by"]) == (
        "rejected",
        "rejected",
        "lap-beta",
    )
    before = counts(hub)
    problem(await beta.post(f"/pairs/{pair_id}/accept"), 409, "pair_not_pending")
    problem(await beta.post(f"/pairs/{pair_id}/reject"), 409, "pair_not_pending")
    problem(await alpha.post(f"/pairs/{pair_id}/end"), 409, "pair_ended")
    problem(
        await alpha.post(f"/channels/pair:{pair_id}/messages", {"content": "x"}),
        409,
        "pair_not_active",
    )
    assert counts(hub) == before

    cancelled = await alpha.ok("POST", "/pairs", {"target": "@lap-beta"})
    done = await alpha.ok("POST", f"/pairs/{cancelled['id']}/end")
    assert (done["state"], done["end_reason"], done["ended_by"]) == (
        "ended",
        "cancelled",
        "lap-alpha",
    )
    # The invitee's end of a pending invite turns it down.
    third = await alpha.ok("POST", "/pairs", {"target": "@lap-beta"})
    turned = await beta.ok("POST", f"/pairs/{third['id']}/end")
    assert (turned["state"], turned["end_reason"]) == ("rejected", "rejected")
    accepted_twice = await alpha.ok("POST", "/pairs", {"target": "@lap-beta"})
    await beta.ok("POST", f"/pairs/{accepted_twice['id']}/accept")
    before = counts(hub)
    problem(await beta.post(f"/pairs/{accepted_twice['id']}/accept"), 409, "pair_not_pending")
    assert counts(hub) == before
    states = {p["id"]: p["state"] for p in await beta.ok("GET", "/pairs")}
    assert states == {
        pair_id: "rejected",
        cancelled["id"]: "ended",
        third["id"]: "rejected",
        accepted_twice["id"]: "active",
    }
    active = await beta.ok("GET", "/pairs", params={"state": "active"})
    assert [p["id"] for p in active] == [accepted_twice["id"]]


async def test_an_agent_in_a_pair_is_busy_both_ways(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    pair_id = (await invite(alpha, "@lap-beta"))["id"]
    before = counts(hub)
    for who, target in (
        (alpha, "@srv-gamma"),
        (gamma, "@lap-alpha"),
        (gamma, "@lap-beta"),
        (beta, "@srv-gamma"),
    ):
        problem(await who.post("/pairs", {"target": target}), 409, "busy")
    assert counts(hub) == before
    # Busy only for pairs: it posts and sends elsewhere as usual.
    await alpha.say("general", "still here")
    await alpha.send("@srv-gamma", "a plain DM")
    await beta.ok("POST", f"/pairs/{pair_id}/accept")
    problem(await gamma.post("/pairs", {"target": "@lap-alpha"}), 409, "busy")
    await beta.ok("POST", f"/pairs/{pair_id}/end")
    assert (await invite(gamma, "@lap-alpha"))["invitee"] == "lap-alpha"


async def test_a_target_must_name_exactly_one_agent(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    await beta.ok("PATCH", "/me", {"tags": ["parser"], "capabilities": ["review"]})
    await gamma.ok("PATCH", "/me", {"tags": ["parser"]})
    ghost = await hub.agent("srv-ghost")
    await ghost.ok("PATCH", "/me", {"visibility": "ghost", "tags": ["hidden-one"]})
    made = await hub.http.post(
        "/api/v1/admin/users",
        json={"name": "dana", "password": "correct horse"},
        headers=hub.admin_headers,
    )
    assert made.status_code == 201, made.text
    bot = await hub.http.post(
        "/api/v1/admin/integrations", json={"name": "ci-bot"}, headers=hub.admin_headers
    )
    assert bot.status_code == 201, bot.text
    before = counts(hub)
    body = problem(await alpha.post("/pairs", {"target": "tag:parser"}), 409, "ambiguous_target")
    assert body["candidates"] == ["lap-beta", "srv-gamma"]
    problem(await alpha.post("/pairs", {"target": "tag:nobody"}), 404, "unknown_target")
    problem(await alpha.post("/pairs", {"target": "@lap-nobody"}), 404, "unknown_target")
    problem(await alpha.post("/pairs", {"target": "@lap-alpha"}), 422, "bad_target")
    problem(await alpha.post("/pairs", {"target": "#general"}), 422, "bad_target")
    problem(await alpha.post("/pairs", {"target": "broadcast"}), 422, "bad_target")
    problem(await alpha.post("/pairs", {"target": "@Lap-Beta"}), 422, "bad_name")
    problem(await alpha.post("/pairs", {"target": "@lap-beta", "extra": 1}), 422)
    problem(await alpha.post("/pairs", {"target": "@lap-beta", "message": " "}), 422)
    problem(await alpha.post("/pairs", {"target": "@lap-beta", "topic": "x" * 501}), 422)
    # A ghost is reached by name only, as with sends: a tag does not find it.
    problem(await alpha.post("/pairs", {"target": "tag:hidden-one"}), 404, "unknown_target")
    # Humans and integrations cannot take part.
    problem(await alpha.post("/pairs", {"target": "@dana"}), 409, "not_pairable")
    problem(await alpha.post("/pairs", {"target": "@ci-bot"}), 409, "not_pairable")
    assert counts(hub) == before
    # One match is that agent.
    pair = await invite(alpha, "cap:review")
    assert pair["invitee"] == "lap-beta"


async def test_a_third_agent_can_neither_see_nor_join_a_pair(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    pair_id = (await invite(alpha, "@lap-beta"))["id"]
    await beta.ok("POST", f"/pairs/{pair_id}/accept")
    channel = f"pair:{pair_id}"
    await alpha.say(channel, "secret plans")
    before = counts(hub)
    for method, path in (
        ("GET", f"/pairs/{pair_id}"),
        ("GET", f"/pairs/{pair_id}/messages"),
        ("POST", f"/pairs/{pair_id}/accept"),
        ("POST", f"/pairs/{pair_id}/reject"),
        ("POST", f"/pairs/{pair_id}/end"),
    ):
        problem(await gamma.request(method, path), 404, "pair_not_found")
    problem(
        await gamma.post(f"/pairs/{pair_id}/messages", {"content": "me too"}), 404, "pair_not_found"
    )
    problem(await gamma.get(f"/channels/{channel}/messages"), 404, "channel_not_found")
    problem(await gamma.get(f"/channels/{channel}"), 404, "channel_not_found")
    problem(
        await gamma.post(f"/channels/{channel}/messages", {"content": "me too"}),
        404,
        "channel_not_found",
    )
    problem(await gamma.post(f"/channels/{channel}/join"), 404, "channel_not_found")
    # Its own agents cannot add a third, nor leave or archive it.
    problem(
        await alpha.post(f"/channels/{channel}/invite", {"agent": "srv-gamma"}), 422, "bad_target"
    )
    problem(await alpha.post(f"/channels/{channel}/leave"), 422, "bad_target")
    problem(await alpha.post(f"/channels/{channel}/archive"), 422, "bad_target")
    assert await gamma.search("secret") == []
    assert [h["message"]["content"] for h in await beta.search("secret")] == ["secret plans"]
    assert await gamma.ok("GET", "/pairs") == []
    assert counts(hub) == before
    problem(await alpha.get("/pairs/999999"), 404, "pair_not_found")
    problem(await alpha.get("/channels/pair:999999/messages"), 404, "channel_not_found")


async def test_an_unanswered_invite_expires(hub_factory: HubFactory) -> None:
    async with hub_factory(pair_invite_seconds=1) as hub:
        alpha, beta = await hub.agent("lap-alpha"), await hub.agent("lap-beta")
        gamma = await hub.agent("srv-gamma")
        pair_id = (await invite(alpha, "@lap-beta"))["id"]

        async def lapsed() -> bool | None:
            state = (await alpha.ok("GET", f"/pairs/{pair_id}"))["state"]
            return True if state == "ended" else None

        await eventually(lapsed, within=30)  # the invite lasts one second
        shown = await beta.ok("GET", f"/pairs/{pair_id}")
        assert (shown["state"], shown["end_reason"], shown["ended_by"]) == (
            "ended",
            "expired",
            None,
        )
        problem(await beta.post(f"/pairs/{pair_id}/accept"), 409, "pair_not_pending")
        # Both are free at once, before any sweep records it.
        assert (await invite(gamma, "@lap-alpha"))["state"] == "pending"
        expired = await hub.hub.pairs.sweep()
        assert [p.id for p in expired] == [pair_id]
        assert hub.query("SELECT state, end_reason FROM pairs WHERE id = ?", (pair_id,)) == [
            ("ended", "expired")
        ]
        assert await hub.hub.pairs.sweep() == []


async def test_the_sdk_runs_a_pair(hub: InProcessHub) -> None:
    async with sdk(hub, "lap-alpha") as alpha, sdk(hub, "lap-beta") as beta:
        made = await alpha.invite_pair("@lap-beta", topic="docs")
        assert isinstance(made, Pair)
        assert (made.state, made.invitee) == ("pending", "lap-beta")
        [mine] = await beta.pairs(state="pending")
        assert mine.id == made.id
        assert (await beta.accept_pair(made.id)).state == "active"
        sent = await alpha.post_pair(made.id, "hello", idempotency_key="k1")
        again = await alpha.post_pair(made.id, "hello", idempotency_key="k1")
        assert sent.id == again.id
        page = await beta.read_pair(made.id)
        assert [m.content for m in page.messages][-1] == "hello"
        assert (await beta.pair(made.id)).state == "active"
        ended = await beta.end_pair(made.id)
        assert (ended.state, ended.end_reason, ended.ended_by) == ("ended", "hung_up", "lap-beta")
        with pytest.raises(Conflict) as busy_free:
            await alpha.post_pair(made.id, "too late")
        assert busy_free.value.code == "pair_not_active"
        with pytest.raises(NotFound) as missing:
            await alpha.pair(made.id + 1000)
        assert missing.value.code == "pair_not_found"
        second = await alpha.invite_pair("@lap-beta")
        with pytest.raises(Forbidden):
            await alpha.accept_pair(second.id)
        assert (await beta.reject_pair(second.id)).state == "rejected"
        async with sdk(hub, "lap-gamma") as gamma:
            await gamma.update_me(tags=["docs"])
            await beta.update_me(tags=["docs"])
            with pytest.raises(Conflict) as ambiguous:
                await alpha.invite_pair("tag:docs")
            assert ambiguous.value.code == "ambiguous_target"
            assert ambiguous.value.extra["candidates"] == ["lap-beta", "lap-gamma"]
