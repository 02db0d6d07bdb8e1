"""Sends to any target: ``#channel``, ``@agent`` (a DM), ``label:``, ``tag:``, ``cap:`` and
``broadcast``. A target that reaches no one is an error, never a silent 2xx."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.clients import AgentClient, InProcessHub, problem

pytestmark = pytest.mark.anyio


async def inbox_kinds(agent: AgentClient) -> list[tuple[str, str]]:
    """(kind, content) of every unacknowledged inbox item."""
    items = (await agent.inbox())["items"]
    return [(item["kind"], item["message"]["content"]) for item in items]


async def test_a_send_to_a_channel_is_a_post(alpha: AgentClient, beta: AgentClient) -> None:
    result = await alpha.send("#general", "hello channel")
    assert (result["target"], result["recipients"]) == ("#general", [])
    [message] = result["messages"]
    assert (message["channel"], message["author"]) == ("general", "lap-alpha")
    assert [m["id"] for m in await beta.messages("general")] == [message["id"]]


async def test_a_dm_reaches_its_recipient_and_reads_as_at_peer(
    alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    first = await alpha.send("@lap-beta", "psst")
    assert (first["target"], first["recipients"]) == ("@lap-beta", ["lap-beta"])
    await beta.send("@lap-alpha", "what?")
    assert await inbox_kinds(beta) == [("dm", "psst")]
    assert await inbox_kinds(alpha) == [("dm", "what?")]
    for me, peer in ((alpha, "lap-beta"), (beta, "lap-alpha")):
        assert [m["content"] for m in await me.messages(f"@{peer}")] == ["psst", "what?"]
    # Messages name the DM by its internal name; its parties may read it by that name too.
    internal = first["messages"][0]["channel"]
    assert internal == "dm:lap-alpha:lap-beta"
    for me in (alpha, beta):
        assert [m["content"] for m in await me.messages(internal)] == ["psst", "what?"]
    problem(await gamma.get(f"/channels/{internal}/messages"), 404, "channel_not_found")
    # A DM is no listed channel, and a third agent has no such conversation.
    for agent in (alpha, beta, gamma):
        assert [c["name"] for c in await agent.ok("GET", "/channels")] == []
    problem(await gamma.get("/channels/@lap-alpha/messages"), 404, "channel_not_found")


async def test_a_dm_reply_stays_in_the_dm_thread(alpha: AgentClient, beta: AgentClient) -> None:
    root = (await alpha.send("@lap-beta", "question"))["messages"][0]
    answer = await beta.send("@lap-alpha", "answer", reply_to=root["id"])
    assert answer["messages"][0]["thread_id"] == root["id"]
    thread = await alpha.ok("GET", f"/messages/{root['id']}/thread")
    assert [m["content"] for m in thread["replies"]] == ["answer"]


@pytest.mark.parametrize(
    ("target", "status", "code"),
    [
        ("@lap-nobody", 404, "unknown_target"),
        ("tag:nobody-has-this", 404, "unknown_target"),
        ("cap:nobody-has-this", 404, "unknown_target"),
        ("label:nobody-has-this", 404, "unknown_target"),
        ("@lap-alpha", 422, "bad_target"),
        ("lap-beta", 422, "bad_target"),
        ("", 422, "bad_target"),
        ("everyone", 422, "bad_target"),
        ("@Lap-Beta", 422, "bad_name"),
        ("#Bad Channel", 422, "bad_name"),
        ("tag:UPPER", 422, "bad_name"),
        ("#random", 404, "channel_not_found"),
    ],
)
async def test_sends_that_reach_no_one_are_errors_and_write_nothing(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient, target: str, status: int, code: str
) -> None:
    before = hub.snapshot()
    response = await alpha.post("/send", {"target": target, "content": "anyone?"})
    problem(response, status, code)
    assert hub.snapshot() == before


async def test_a_broadcast_with_no_one_else_is_unknown_target(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    before = hub.snapshot()
    problem(
        await alpha.post("/send", {"target": "broadcast", "content": "hello?"}),
        404,
        "unknown_target",
    )
    assert hub.snapshot() == before


async def test_send_checks_content_like_a_post(hub: InProcessHub, alpha: AgentClient) -> None:
    await hub.agent("lap-beta")
    before = hub.snapshot()
    too_big = {"target": "@lap-beta", "content": "x" * (32 * 1024 + 1)}
    problem(await alpha.post("/send", too_big), 413, "content_too_large")
    problem(
        await alpha.post("/send", {"target": "@lap-beta", "content": " "}), 422, "empty_content"
    )
    big_meta: dict[str, Any] = {
        "target": "@lap-beta",
        "content": "x",
        "metadata": {"v": "x" * 8192},
    }
    problem(await alpha.post("/send", big_meta), 413, "metadata_too_large")
    assert hub.snapshot() == before


async def test_tag_cap_and_label_reach_exactly_the_matching_agents(hub: InProcessHub) -> None:
    alpha = await hub.agent("lap-alpha")
    beta = await hub.agent("lap-beta")
    gamma = await hub.agent("srv-gamma")
    delta = await hub.agent("srv-delta")
    await beta.ok("PATCH", "/me", {"tags": ["backend"], "label": "reviewer"})
    await gamma.ok("PATCH", "/me", {"tags": ["backend", "ops"], "capabilities": ["deploy"]})
    await delta.ok("PATCH", "/me", {"capabilities": ["review"], "label": "reviewer"})
    await alpha.ok("PATCH", "/me", {"tags": ["backend"]})  # the sender never hears itself

    cases = {
        "tag:backend": ["lap-beta", "srv-gamma"],
        "cap:deploy": ["srv-gamma"],
        "label:reviewer": ["lap-beta", "srv-delta"],
    }
    for target, expected in cases.items():
        result = await alpha.send(target, f"to {target}")
        assert (result["target"], sorted(result["recipients"])) == (target, expected)
        assert sorted(m["channel"] for m in result["messages"]) == sorted(
            f"dm:lap-alpha:{name}" if name > "lap-alpha" else f"dm:{name}:lap-alpha"
            for name in expected
        )

    assert await inbox_kinds(beta) == [("send", "to tag:backend"), ("send", "to label:reviewer")]
    assert await inbox_kinds(gamma) == [("send", "to tag:backend"), ("send", "to cap:deploy")]
    assert await inbox_kinds(delta) == [("send", "to label:reviewer")]
    assert await inbox_kinds(alpha) == []
    # Each recipient reads it in its DM with the sender.
    assert [m["content"] for m in await gamma.messages("@lap-alpha")] == [
        "to tag:backend",
        "to cap:deploy",
    ]


async def test_ghost_agents_are_not_routed_to(hub: InProcessHub, alpha: AgentClient) -> None:
    ghost = await hub.agent("lap-ghost")
    await ghost.ok("PATCH", "/me", {"tags": ["backend"], "visibility": "ghost"})
    before = hub.snapshot()
    problem(
        await alpha.post("/send", {"target": "tag:backend", "content": "x"}), 404, "unknown_target"
    )
    assert hub.snapshot() == before


async def test_a_broadcast_reaches_every_other_agent_once(hub: InProcessHub) -> None:
    alpha = await hub.agent("lap-alpha")
    others = [await hub.agent(name) for name in ("lap-beta", "srv-gamma", "srv-delta")]
    result = await alpha.send("broadcast", "all hands")
    assert result["target"] == "broadcast"
    assert sorted(result["recipients"]) == ["lap-beta", "srv-delta", "srv-gamma"]
    [message] = result["messages"]
    assert message["channel"] == "global"
    for other in others:
        assert await inbox_kinds(other) == [("broadcast", "all hands")]
        assert [m["content"] for m in await other.messages("global")] == ["all hands"]
    assert await inbox_kinds(alpha) == []


async def test_a_retried_send_does_not_duplicate(hub: InProcessHub) -> None:
    alpha = await hub.agent("lap-alpha")
    beta = await hub.agent("lap-beta")
    await hub.agent("srv-gamma")
    headers = {"Idempotency-Key": "send-1"}
    for target in ("@lap-beta", "broadcast", "#general"):
        body = {"target": target, "content": f"once to {target}"}
        first = await alpha.post("/send", body, headers=headers | {"Idempotency-Key": target})
        assert first.status_code == 201, first.text
        before = hub.snapshot()
        again = await alpha.post("/send", body, headers=headers | {"Idempotency-Key": target})
        assert again.is_success, again.text
        assert [m["id"] for m in again.json()["messages"]] == [
            m["id"] for m in first.json()["messages"]
        ]
        assert hub.snapshot() == before
    assert len(await beta.messages("@lap-alpha")) == 1


async def test_a_replayed_send_says_so_like_a_replayed_post(alpha: AgentClient) -> None:
    await alpha.send("#general", "warm up")
    headers = {"Idempotency-Key": "send-replay"}
    body = {"target": "#general", "content": "once"}
    first = await alpha.post("/send", body, headers=headers)
    again = await alpha.post("/send", body, headers=headers)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.headers.get("idempotent-replayed") == "true"


async def test_reusing_a_send_key_with_another_body_is_409(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    headers = {"Idempotency-Key": "dm-1"}
    assert (
        await alpha.post("/send", {"target": "@lap-beta", "content": "a"}, headers=headers)
    ).is_success
    before = hub.snapshot()
    reused = await alpha.post("/send", {"target": "@lap-beta", "content": "b"}, headers=headers)
    problem(reused, 409, "idempotency_conflict")
    assert hub.snapshot() == before


async def test_opposite_first_dms_at_once_share_one_conversation(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    sent = await asyncio.gather(
        alpha.post("/send", {"target": "@lap-beta", "content": "from alpha"}),
        beta.post("/send", {"target": "@lap-alpha", "content": "from beta"}),
    )
    assert [r.status_code for r in sent] == [201, 201]
    assert sorted(m["content"] for m in await alpha.messages("@lap-beta")) == [
        "from alpha",
        "from beta",
    ]
    assert hub.snapshot()["channels"] == 1


async def test_a_dm_takes_no_membership_changes(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    await alpha.send("@lap-beta", "hi")
    await hub.agent("srv-gamma")
    before = hub.snapshot()
    for path, body in (
        ("/channels/@lap-beta/join", None),
        ("/channels/@lap-beta/leave", None),
        ("/channels/@lap-beta/archive", None),
        ("/channels/@lap-beta/invite", {"agent": "srv-gamma"}),
    ):
        problem(await alpha.post(path, body), 422, "bad_target")
    assert hub.snapshot() == before
