"""Posting and reading: limits, paging, idempotency, threads, edits and deletes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.clients import AgentClient, InProcessHub, problem

pytestmark = pytest.mark.anyio

KB = 1024


async def test_a_post_is_stamped_and_read_back_in_order(
    alpha: AgentClient, beta: AgentClient
) -> None:
    first = await alpha.say("general", "one", metadata={"k": [1, 2]})
    second = await beta.say("general", "two")
    assert (first["author"], first["channel"], first["metadata"]) == (
        "lap-alpha",
        "general",
        {"k": [1, 2]},
    )
    assert second["id"] > first["id"]
    assert [m["content"] for m in await beta.messages("general")] == ["one", "two"]


async def test_pages_go_forward_after_and_backward_before(alpha: AgentClient) -> None:
    ids = [(await alpha.say("general", f"m{i}"))["id"] for i in range(5)]

    latest = await alpha.ok("GET", "/channels/general/messages", params={"limit": 2})
    assert [m["id"] for m in latest["messages"]] == ids[3:]
    assert (latest["has_more"], latest["cursor"]) == (True, ids[4])

    forward = await alpha.ok(
        "GET", "/channels/general/messages", params={"after": ids[0], "limit": 3}
    )
    assert [m["id"] for m in forward["messages"]] == ids[1:4]
    assert (forward["has_more"], forward["cursor"]) == (True, ids[3])

    rest = await alpha.ok("GET", "/channels/general/messages", params={"after": ids[3]})
    assert [m["id"] for m in rest["messages"]] == ids[4:]
    assert rest["has_more"] is False

    back = await alpha.ok(
        "GET", "/channels/general/messages", params={"before": ids[3], "limit": 2}
    )
    assert [m["id"] for m in back["messages"]] == ids[1:3]
    assert back["has_more"] is True

    empty = await alpha.ok("GET", "/channels/general/messages", params={"after": ids[4]})
    assert (empty["messages"], empty["cursor"], empty["has_more"]) == ([], ids[4], False)

    both = await alpha.get("/channels/general/messages", params={"after": 1, "before": 3})
    problem(both, 422, "bad_range")


async def test_content_of_exactly_the_limit_is_accepted(alpha: AgentClient) -> None:
    message = await alpha.say("general", "é" * (16 * KB), metadata={"v": "x" * (8 * KB - 8)})
    assert len(message["content"].encode()) == 32 * KB


BAD_POSTS: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("content over 32 KB", "general", {"content": "x" * (32 * KB + 1)}, 413, "content_too_large"),
    ("content over 32 KB in bytes", "general", {"content": "é" * (16 * KB + 1)}, 413,
     "content_too_large"),
    ("metadata over 8 KB", "general", {"content": "hi", "metadata": {"v": "x" * (8 * KB)}}, 413,
     "metadata_too_large"),
    ("empty content", "general", {"content": ""}, 422, "empty_content"),
    ("blank content", "general", {"content": " \n\t "}, 422, "empty_content"),
    ("content not a string", "general", {"content": 5}, 422, "invalid"),
    ("metadata not an object", "general", {"content": "hi", "metadata": [1]}, 422, "invalid"),
    ("bad channel name", "Not_Valid", {"content": "hi"}, 422, "bad_name"),
    ("overlong channel name", "c" * 81, {"content": "hi"}, 422, "bad_name"),
    ("a dm: channel", "dm:lap-alpha:lap-beta", {"content": "hi"}, 422, "bad_target"),
    ("unknown channel", "random", {"content": "hi"}, 404, "channel_not_found"),
    ("reply to a missing message", "general", {"content": "hi", "reply_to": 999}, 422,
     "bad_reply_to"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("channel", "body", "status", "code"),
    [case[1:] for case in BAD_POSTS],
    ids=[case[0] for case in BAD_POSTS],
)
async def test_bad_posts_are_refused_and_write_nothing(
    hub: InProcessHub,
    alpha: AgentClient,
    channel: str,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    await alpha.say("general", "already here")
    before = hub.snapshot()
    problem(await alpha.post(f"/channels/{channel}/messages", body), status, code)
    assert hub.snapshot() == before
    assert [m["content"] for m in await alpha.messages("general")] == ["already here"]


async def test_auto_channels_appear_on_first_post(alpha: AgentClient) -> None:
    for name in ("general", "global", "project-hubbub", "tech-sqlite"):
        assert (await alpha.say(name, "first"))["channel"] == name
    listed = {c["name"] for c in await alpha.ok("GET", "/channels")}
    assert {"general", "global", "project-hubbub", "tech-sqlite"} <= listed
    problem(await alpha.post("/channels/project-/messages", {"content": "x"}), 404)


async def test_posting_in_an_archived_channel_is_409(hub: InProcessHub, alpha: AgentClient) -> None:
    await alpha.create_channel("old")
    await alpha.say("old", "last words")
    await alpha.ok("POST", "/channels/old/archive")
    before = hub.snapshot()
    problem(
        await alpha.post("/channels/old/messages", {"content": "more"}), 409, "channel_archived"
    )
    assert hub.snapshot() == before
    assert [m["content"] for m in await alpha.messages("old")] == ["last words"]


async def test_non_members_cannot_post_in_private_or_secret_channels(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    await alpha.create_channel("ops", "private")
    await alpha.create_channel("vault", "secret")
    before = hub.snapshot()
    problem(
        await beta.post("/channels/ops/messages", {"content": "let me in"}), 403, "not_a_member"
    )
    problem(
        await beta.post("/channels/vault/messages", {"content": "let me in"}),
        404,
        "channel_not_found",
    )
    assert hub.snapshot() == before


async def test_the_same_idempotency_key_and_body_replays_the_first_post(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    headers = {"Idempotency-Key": "retry-1"}
    body = {"content": "exactly once", "metadata": {"n": 1}}
    first = await alpha.post("/channels/general/messages", body, headers=headers)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    before = hub.snapshot()
    again = await alpha.post("/channels/general/messages", body, headers=headers)
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert hub.snapshot() == before


@pytest.mark.parametrize(
    ("channel", "body"),
    [
        ("general", {"content": "a different body"}),
        ("general", {"content": "exactly once", "metadata": {"n": 2}}),
        ("project-elsewhere", {"content": "exactly once", "metadata": {"n": 1}}),
        ("general", {"content": "exactly once", "metadata": {"n": 1}, "reply_to": 1}),
    ],
    ids=["content", "metadata", "channel", "reply_to"],
)
async def test_reusing_an_idempotency_key_for_another_request_is_409(
    hub: InProcessHub, alpha: AgentClient, channel: str, body: dict[str, Any]
) -> None:
    headers = {"Idempotency-Key": "retry-1"}
    first = {"content": "exactly once", "metadata": {"n": 1}}
    assert (await alpha.post("/channels/general/messages", first, headers=headers)).is_success
    before = hub.snapshot()
    reused = await alpha.post(f"/channels/{channel}/messages", body, headers=headers)
    problem(reused, 409, "idempotency_conflict")
    assert hub.snapshot() == before


async def test_a_retry_is_replayed_even_after_the_channel_was_archived(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    await alpha.create_channel("closing")
    headers = {"Idempotency-Key": "before-archive"}
    first = await alpha.post("/channels/closing/messages", {"content": "last"}, headers=headers)
    assert first.status_code == 201
    await alpha.ok("POST", "/channels/closing/archive")
    before = hub.snapshot()
    again = await alpha.post("/channels/closing/messages", {"content": "last"}, headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert hub.snapshot() == before


async def test_idempotency_keys_belong_to_their_author(
    alpha: AgentClient, beta: AgentClient
) -> None:
    headers = {"Idempotency-Key": "shared"}
    one = await alpha.post("/channels/general/messages", {"content": "a"}, headers=headers)
    two = await beta.post("/channels/general/messages", {"content": "b"}, headers=headers)
    assert one.status_code == two.status_code == 201
    assert one.json()["id"] != two.json()["id"]


@pytest.mark.parametrize("key", ["", "k" * 201, "tab\there"])
async def test_a_bad_idempotency_key_is_422(
    hub: InProcessHub, alpha: AgentClient, key: str
) -> None:
    before = hub.snapshot()
    response = await alpha.post(
        "/channels/general/messages", {"content": "x"}, headers={"Idempotency-Key": key}
    )
    problem(response, 422, "bad_idempotency_key")
    assert hub.snapshot() == before


async def test_replies_form_one_thread_under_the_root(
    alpha: AgentClient, beta: AgentClient
) -> None:
    root = await alpha.say("general", "root")
    reply = await beta.say("general", "reply", reply_to=root["id"])
    nested = await alpha.say("general", "nested", reply_to=reply["id"])
    await alpha.say("general", "unrelated")
    assert (reply["reply_to"], reply["thread_id"]) == (root["id"], root["id"])
    assert (nested["reply_to"], nested["thread_id"]) == (reply["id"], root["id"])
    for start in (root, reply, nested):
        thread = await beta.ok("GET", f"/messages/{start['id']}/thread")
        assert thread["root"]["id"] == root["id"]
        assert [m["content"] for m in thread["replies"]] == ["reply", "nested"]
    problem(await alpha.get("/messages/999/thread"), 404, "message_not_found")


async def test_a_reply_must_stay_in_its_channel(hub: InProcessHub, alpha: AgentClient) -> None:
    elsewhere = await alpha.say("project-x", "root elsewhere")
    before = hub.snapshot()
    response = await alpha.post(
        "/channels/general/messages", {"content": "hi", "reply_to": elsewhere["id"]}
    )
    problem(response, 422, "bad_reply_to")
    assert hub.snapshot() == before


async def test_one_message_by_id(alpha: AgentClient, beta: AgentClient) -> None:
    posted = await alpha.say("general", "find me")
    assert await beta.ok("GET", f"/messages/{posted['id']}") == posted
    problem(await beta.get("/messages/424242"), 404, "message_not_found")


async def test_authors_edit_their_messages(alpha: AgentClient, beta: AgentClient) -> None:
    posted = await alpha.say("general", "draft", metadata={"v": 1})
    edited = await alpha.ok("PATCH", f"/messages/{posted['id']}", {"content": "final"})
    assert (edited["content"], edited["metadata"]) == ("final", {"v": 1})
    assert edited["edited_at"] is not None
    meta = await alpha.ok("PATCH", f"/messages/{posted['id']}", {"metadata": {"v": 2}})
    assert (meta["content"], meta["metadata"]) == ("final", {"v": 2})
    assert [m["content"] for m in await beta.messages("general")] == ["final"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 422, "invalid"),
        ({"content": ""}, 422, "empty_content"),
        ({"content": "x" * (32 * KB + 1)}, 413, "content_too_large"),
        ({"metadata": {"v": "x" * (8 * KB)}}, 413, "metadata_too_large"),
    ],
)
async def test_bad_edits_change_nothing(
    hub: InProcessHub, alpha: AgentClient, body: dict[str, Any], status: int, code: str
) -> None:
    posted = await alpha.say("general", "original")
    before = hub.snapshot()
    problem(await alpha.patch(f"/messages/{posted['id']}", body), status, code)
    assert hub.snapshot() == before
    assert await alpha.ok("GET", f"/messages/{posted['id']}") == posted


async def test_only_the_author_may_edit_or_delete(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    posted = await alpha.say("general", "mine")
    before = hub.snapshot()
    problem(await beta.patch(f"/messages/{posted['id']}", {"content": "yours"}), 403, "not_author")
    problem(await beta.delete(f"/messages/{posted['id']}"), 403, "not_author")
    assert hub.snapshot() == before
    assert await alpha.ok("GET", f"/messages/{posted['id']}") == posted


async def test_a_deleted_message_keeps_its_place_but_not_its_text(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    root = await alpha.say("general", "secret plans", metadata={"x": 1})
    reply = await beta.say("general", "ack", reply_to=root["id"])
    deleted = await alpha.ok("DELETE", f"/messages/{root['id']}")
    assert (deleted["deleted"], deleted["content"], deleted["metadata"]) == (True, "", {})
    listed = await beta.messages("general")
    assert [(m["id"], m["deleted"], m["content"]) for m in listed] == [
        (root["id"], True, ""),
        (reply["id"], False, "ack"),
    ]
    thread = await beta.ok("GET", f"/messages/{reply['id']}/thread")
    assert thread["root"]["deleted"] is True
    before = hub.snapshot()
    problem(await alpha.delete(f"/messages/{root['id']}"), 409, "message_deleted")
    problem(
        await alpha.patch(f"/messages/{root['id']}", {"content": "back"}), 409, "message_deleted"
    )
    assert hub.snapshot() == before


async def test_messages_in_an_archived_channel_are_frozen(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    await alpha.create_channel("old")
    posted = await alpha.say("old", "frozen")
    await alpha.ok("POST", "/channels/old/archive")
    before = hub.snapshot()
    problem(
        await alpha.patch(f"/messages/{posted['id']}", {"content": "x"}), 409, "channel_archived"
    )
    problem(await alpha.delete(f"/messages/{posted['id']}"), 409, "channel_archived")
    assert hub.snapshot() == before


@pytest.mark.parametrize(
    "raw",
    [
        b'{"content": "x", "metadata": {"n": 123456789012345678901234567890}}',
        b'{"content": "x", "metadata": {"n": NaN}}',
        b'{"content": "x", "metadata": {"n": -Infinity}}',
    ],
    ids=["integer beyond 64 bits", "NaN", "infinity"],
)
async def test_metadata_that_cannot_be_stored_as_json_is_refused(
    hub: InProcessHub, alpha: AgentClient, raw: bytes
) -> None:
    """Refused with a 4xx, never a 500 and never silently changed (NaN is not JSON)."""
    before = hub.snapshot()
    headers = {**alpha.headers, "Content-Type": "application/json"}
    for path in ("/api/v1/channels/general/messages", "/api/v1/send"):
        body = (
            raw if path.endswith("messages") else raw.replace(b"{", b'{"target": "#general", ', 1)
        )
        response = await hub.http.post(path, content=body, headers=headers)
        found = problem(response, response.status_code)
        assert found["status"] in (400, 413, 422), found
    assert hub.snapshot() == before


async def test_an_edit_with_unstorable_metadata_is_refused(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    posted = await alpha.say("general", "original")
    before = hub.snapshot()
    response = await alpha.patch(f"/messages/{posted['id']}", {"metadata": {"n": 2**70}})
    assert response.status_code in (400, 413, 422), response.text
    assert hub.snapshot() == before


async def test_concurrent_first_posts_share_one_new_channel(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    responses = await asyncio.gather(
        *(
            agent.post("/channels/project-race/messages", {"content": f"{agent.name} {i}"})
            for i in range(10)
            for agent in (alpha, beta)
        )
    )
    assert [r.status_code for r in responses] == [201] * 20
    ids = [r.json()["id"] for r in responses]
    assert len(set(ids)) == 20
    assert sorted(m["id"] for m in await alpha.messages("project-race")) == sorted(ids)
    assert [c["name"] for c in await alpha.ok("GET", "/channels")] == ["project-race"]
    assert (await alpha.ok("GET", "/channels/project-race"))["members"] == [
        "lap-alpha",
        "lap-beta",
    ]


async def test_concurrent_retries_post_once(hub: InProcessHub, alpha: AgentClient) -> None:
    responses = await asyncio.gather(
        *(
            alpha.post(
                "/channels/general/messages", {"content": "once"}, headers={"Idempotency-Key": "r"}
            )
            for _ in range(8)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert hub.snapshot()["messages"] == 1
