"""Tasks in process: the lifecycle, offers into inboxes, who may see and claim what, leases and
fencing, dedupe and idempotency, history, and every refusal changing nothing."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

from hubbub.bus import LocalBus
from tests.clients import AgentClient, HubFactory, InProcessHub, Json, problem
from tests.realtime import eventually
from tests.receiver import ALLOW_LOOPBACK

pytestmark = pytest.mark.anyio


async def create(agent: AgentClient, target: str, title: str = "build it", **fields: Any) -> Json:
    """A task created by ``agent``; fails the test unless it is new (201)."""
    response = await agent.post("/tasks", {"title": title, "target": target, **fields})
    assert response.status_code == 201, response.text
    task: Json = response.json()
    return task


async def claim(agent: AgentClient, task_id: int, **body: Any) -> Json:
    claimed: Json = await agent.ok("POST", f"/tasks/{task_id}/claim", body)
    return claimed


async def task_items(agent: AgentClient) -> list[Json]:
    """The task offers in an agent's inbox: (task id, message channel, author) per item."""
    inbox = await agent.inbox()
    return [i for i in inbox["items"] if i["kind"] == "task"]


def offered(items: list[Json]) -> list[int]:
    return [item["message"]["metadata"]["task"]["id"] for item in items]


async def history(agent: AgentClient, task_id: int) -> list[str]:
    found = await agent.ok("GET", f"/tasks/{task_id}/events")
    return [event["type"] for event in found]


async def test_the_whole_lifecycle(alpha: AgentClient, beta: AgentClient) -> None:
    await beta.ok("PATCH", "/me", {"capabilities": ["python"]})
    task = await create(
        alpha,
        "cap:python",
        "port the parser",
        body="See **notes**.",
        priority=2,
        labels=["parser", "q3"],
        due_at="2030-01-01T00:00:00Z",
    )
    assert task["status"] == "open"
    assert (task["created_by"], task["holder"], task["fence"], task["channel"]) == (
        "lap-alpha",
        None,
        0,
        None,
    )
    assert (task["lease_seconds"], task["max_attempts"], task["attempts"]) == (600, 3, 0)
    assert task["labels"] == ["parser", "q3"]
    assert task["due_at"] == "2030-01-01T00:00:00Z"

    claimed = await claim(beta, task["id"])
    assert (claimed["status"], claimed["holder"], claimed["fence"]) == ("claimed", "lap-beta", 1)
    assert claimed["lease_expires_at"] is not None
    fence = claimed["fence"]
    moved = await beta.ok(
        "POST", f"/tasks/{task['id']}/progress", {"fence": fence, "percent": 40, "note": "lexer"}
    )
    assert (moved["progress"], moved["progress_note"]) == (40, "lexer")
    assert moved["lease_expires_at"] > claimed["lease_expires_at"]  # progress renews the lease
    renewed = await beta.ok("POST", f"/tasks/{task['id']}/renew", {"fence": fence})
    assert renewed["lease_expires_at"] >= moved["lease_expires_at"]
    done = await beta.ok(
        "POST",
        f"/tasks/{task['id']}/complete",
        {"fence": fence, "result": {"files": 3}, "text": "merged"},
    )
    assert (done["status"], done["holder"], done["progress"]) == ("done", "lap-beta", 100)
    assert (done["result"], done["result_text"], done["lease_expires_at"]) == (
        {"files": 3},
        "merged",
        None,
    )
    assert await alpha.ok("GET", f"/tasks/{task['id']}") == done
    assert await history(alpha, task["id"]) == [
        "task.created",
        "task.claimed",
        "task.progress",
        "task.renewed",
        "task.completed",
    ]
    events = await alpha.ok("GET", f"/tasks/{task['id']}/events")
    assert [e["data"]["by"] for e in events] == ["lap-alpha"] + ["lap-beta"] * 4
    assert events[-1]["data"]["task"] == done
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    later = await alpha.ok("GET", f"/tasks/{task['id']}/events", params={"after": events[2]["seq"]})
    assert [e["type"] for e in later] == ["task.renewed", "task.completed"]


async def test_a_task_for_an_agent_is_a_dm_offer_and_lives_in_that_dm(
    alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    task = await create(alpha, "@lap-beta", "review", body="PR 12")
    assert task["channel"] == "dm:lap-alpha:lap-beta"
    [item] = await task_items(beta)
    assert item["message"]["channel"] == "dm:lap-alpha:lap-beta"
    assert item["message"]["author"] == "lap-alpha"
    assert item["message"]["metadata"] == {
        "task": {"id": task["id"], "title": "review", "target": "@lap-beta"}
    }
    assert f"Task {task['id']}" in item["message"]["content"]
    assert "PR 12" in item["message"]["content"]
    assert await task_items(alpha) == []
    assert await task_items(gamma) == []
    # Only the two may see it, and only the target may claim it.
    problem(await gamma.get(f"/tasks/{task['id']}"), 404, "task_not_found")
    problem(await gamma.post(f"/tasks/{task['id']}/claim", {}), 404, "task_not_found")
    problem(await alpha.post(f"/tasks/{task['id']}/claim", {}), 403, "not_eligible")
    assert (await claim(beta, task["id"]))["holder"] == "lap-beta"


async def test_cap_and_tag_tasks_are_offered_to_every_match_but_the_creator(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    for agent in (alpha, beta, gamma):
        await agent.ok("PATCH", "/me", {"capabilities": ["gpu"], "tags": ["night"]})
    await gamma.ok("PATCH", "/me", {"tags": []})
    by_cap = await create(alpha, "cap:gpu", "train")
    by_tag = await create(alpha, "tag:night", "watch")
    assert offered(await task_items(beta)) == [by_cap["id"], by_tag["id"]]
    assert offered(await task_items(gamma)) == [by_cap["id"]]
    assert await task_items(alpha) == []
    # Unscoped: every agent sees them, even one offered nothing.
    delta = await hub.agent("srv-delta")
    assert (await delta.ok("GET", f"/tasks/{by_tag['id']}"))["target"] == "tag:night"
    problem(await delta.post(f"/tasks/{by_tag['id']}/claim", {}), 403, "not_eligible")
    problem(await gamma.post(f"/tasks/{by_tag['id']}/claim", {}), 403, "not_eligible")
    # A capability nobody has yet is fine: the task waits for a worker that has it.
    later = await create(alpha, "cap:quantum", "someday")
    await delta.ok("PATCH", "/me", {"capabilities": ["quantum"]})
    assert (await delta.ok("POST", "/tasks/claim", {}))["id"] == later["id"]


async def test_a_channel_task_is_one_post_with_an_item_for_each_member(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    await alpha.create_channel("ops", "private")
    await alpha.ok("POST", "/channels/ops/invite", {"agent": "lap-beta"})
    task = await create(alpha, "#ops", "rotate keys")
    assert task["channel"] == "ops"
    [post] = await alpha.messages("ops")
    assert post["metadata"]["task"]["id"] == task["id"]
    [item] = await task_items(beta)
    assert item["message"]["id"] == post["id"]
    assert await task_items(alpha) == []
    # Private channel: its members see the task, others do not.
    problem(await gamma.get(f"/tasks/{task['id']}"), 404, "task_not_found")
    assert (await gamma.ok("GET", "/tasks"))["tasks"] == []
    listed = await beta.ok("GET", "/tasks")
    assert [t["id"] for t in listed["tasks"]] == [task["id"]]
    # A channel the creator cannot post in takes no task, and nothing is written.
    before = hub.snapshot()
    problem(await gamma.post("/tasks", {"title": "x", "target": "#ops"}), 403, "not_a_member")
    problem(
        await gamma.post("/tasks", {"title": "x", "target": "#nowhere"}), 404, "channel_not_found"
    )
    assert hub.snapshot() == before


async def test_without_offers_nothing_lands_in_inboxes(
    alpha: AgentClient, beta: AgentClient
) -> None:
    await beta.ok("PATCH", "/me", {"capabilities": ["python"]})
    quiet = await create(alpha, "cap:python", "quiet", offer=False)
    direct = await create(alpha, "@lap-beta", "direct", offer=False)
    assert await task_items(beta) == []
    assert direct["channel"] == "dm:lap-alpha:lap-beta"
    listed = await beta.ok("GET", "/tasks", params={"available": "true"})
    assert [t["id"] for t in listed["tasks"]] == [quiet["id"], direct["id"]]


async def test_claim_next_takes_the_highest_priority_then_the_oldest(
    alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    await alpha.ok("PATCH", "/me", {"capabilities": ["py"]})
    await beta.ok("PATCH", "/me", {"capabilities": ["py"], "tags": ["ops"]})
    await alpha.say("general", "here")  # posting joins
    await beta.say("general", "here")
    low = await create(gamma, "cap:py", "low", priority=-1)
    first = await create(gamma, "tag:ops", "first", priority=5)
    second = await create(gamma, "#general", "second", priority=5)
    top = await create(gamma, "@lap-beta", "top", priority=9)
    other = await create(gamma, "cap:rust", "not mine", priority=100)
    own = await create(beta, "cap:py", "my own", priority=100)
    order = []
    while (got := (await beta.post("/tasks/claim", {})).json()) is not None:
        order.append(got["id"])
    assert order == [top["id"], first["id"], second["id"], low["id"]]
    assert (await alpha.ok("POST", "/tasks/claim", {}))["id"] == own["id"]
    assert (await gamma.ok("GET", f"/tasks/{other['id']}"))["status"] == "open"


async def test_refused_claims_change_nothing(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    await beta.ok("PATCH", "/me", {"capabilities": ["py"]})
    await gamma.ok("PATCH", "/me", {"capabilities": ["py"]})
    task = await create(alpha, "cap:py")
    won = await claim(beta, task["id"])
    before = hub.snapshot()
    problem(await gamma.post(f"/tasks/{task['id']}/claim", {}), 409, "not_open")
    problem(await beta.post(f"/tasks/{task['id']}/claim", {}), 409, "not_open")
    problem(await alpha.post(f"/tasks/{task['id']}/claim", {}), 409, "not_open")
    problem(await gamma.post("/tasks/999/claim", {}), 404, "task_not_found")
    problem(await gamma.post(f"/tasks/{task['id']}/claim", {"lease_seconds": 0.5}), 422)
    problem(await gamma.post("/tasks/claim", {"wait": 10_000}), 422, "bad_wait")
    problem(await gamma.post("/tasks/claim", {"lease_seconds": 90_000}), 422, "bad_lease")
    assert hub.snapshot() == before
    assert await gamma.ok("GET", f"/tasks/{task['id']}") == won


async def test_the_holder_alone_updates_under_its_fence(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    await beta.ok("PATCH", "/me", {"capabilities": ["py"]})
    await gamma.ok("PATCH", "/me", {"capabilities": ["py"]})
    task = await create(alpha, "cap:py")
    path = f"/tasks/{task['id']}"
    first = await claim(beta, task["id"])
    released = await beta.ok("POST", f"{path}/release", {"fence": first["fence"]})
    assert (released["status"], released["holder"], released["attempts"]) == ("open", None, 0)
    second = await claim(gamma, task["id"])
    assert second["fence"] == first["fence"] + 1
    before = hub.snapshot()
    for op, body in (
        ("renew", {}),
        ("progress", {"percent": 5}),
        ("complete", {}),
        ("fail", {"text": "no"}),
        ("release", {}),
    ):
        stale = {"fence": first["fence"], **body}
        problem(await beta.post(f"{path}/{op}", stale), 409, "stale_fence")
        problem(await gamma.post(f"{path}/{op}", stale), 409, "stale_fence")
        current = {"fence": second["fence"], **body}
        problem(await beta.post(f"{path}/{op}", current), 409, "not_holder")
        problem(await alpha.post(f"{path}/{op}", current), 409, "not_holder")
    problem(await gamma.post(f"{path}/progress", {"fence": second["fence"]}), 422, "invalid")
    bad = {"fence": second["fence"], "percent": 101}
    problem(await gamma.post(f"{path}/progress", bad), 422, "bad_progress")
    problem(await gamma.post(f"{path}/renew", {"fence": second["fence"], "lease_seconds": 0}), 422)
    problem(await gamma.post(f"{path}/complete", {}), 422, "invalid")
    problem(await gamma.post("/tasks/999/complete", {"fence": 1}), 404, "task_not_found")
    assert hub.snapshot() == before

    done = await gamma.ok("POST", f"{path}/complete", {"fence": second["fence"], "text": "ok"})
    # A repeated completion (a retry) answers with the task as it is; other updates are late.
    again = await gamma.ok("POST", f"{path}/complete", {"fence": second["fence"], "text": "ok"})
    assert again == done
    before = hub.snapshot()
    for op in ("renew", "progress", "fail", "release"):
        body = {"fence": second["fence"], "percent": 1}
        body = body if op == "progress" else {"fence": second["fence"]}
        problem(await gamma.post(f"{path}/{op}", body), 409, "not_claimed")
    problem(await gamma.post(f"{path}/claim", {}), 409, "not_open")
    assert hub.snapshot() == before


async def test_results_must_be_plain_json_within_the_limit(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    task = await create(alpha, "@lap-beta")
    fence = (await claim(beta, task["id"]))["fence"]
    path = f"/tasks/{task['id']}/complete"
    before = hub.snapshot()
    problem(await beta.post(path, {"fence": fence, "result": {"n": 2**60}}), 422, "bad_result")
    problem(
        await beta.post(path, {"fence": fence, "result": "x" * 40_000}), 413, "result_too_large"
    )
    problem(await beta.post(path, {"fence": fence, "text": "x" * 40_000}), 413, "content_too_large")
    assert hub.snapshot() == before
    failed = await beta.ok(
        "POST", f"/tasks/{task['id']}/fail", {"fence": fence, "text": "disk full", "result": [1]}
    )
    assert (failed["status"], failed["result_text"], failed["result"]) == (
        "failed",
        "disk full",
        [1],
    )


async def test_cancel_is_for_the_creator_or_the_admin_key(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    first = await create(alpha, "@lap-beta", "one")
    second = await create(alpha, "@lap-beta", "two")
    fence = (await claim(beta, first["id"]))["fence"]
    before = hub.snapshot()
    problem(await beta.post(f"/tasks/{first['id']}/cancel", {}), 403, "not_creator")
    problem(await beta.post("/tasks/999/cancel", {}), 404, "task_not_found")
    assert hub.snapshot() == before
    cancelled = await alpha.ok("POST", f"/tasks/{first['id']}/cancel", {"reason": "moot"})
    assert (cancelled["status"], cancelled["result_text"]) == ("cancelled", "moot")
    assert await alpha.ok("POST", f"/tasks/{first['id']}/cancel", {}) == cancelled
    problem(await beta.post(f"/tasks/{first['id']}/renew", {"fence": fence}), 409, "not_claimed")
    # The admin key may cancel any task, acting as any agent.
    admin = {**hub.admin_headers, "X-Hubbub-Agent": "lap-beta"}
    by_admin = await hub.http.post(f"/api/v1/tasks/{second['id']}/cancel", json={}, headers=admin)
    assert by_admin.status_code == 200, by_admin.text
    assert by_admin.json()["status"] == "cancelled"
    events = await alpha.ok("GET", f"/tasks/{second['id']}/events")
    assert (events[-1]["type"], events[-1]["data"]["by"]) == ("task.cancelled", "lap-beta")
    # A finished task cannot be cancelled.
    third = await create(alpha, "@lap-beta", "three")
    fence = (await claim(beta, third["id"]))["fence"]
    await beta.ok("POST", f"/tasks/{third['id']}/complete", {"fence": fence})
    problem(await alpha.post(f"/tasks/{third['id']}/cancel", {}), 409, "task_finished")


async def test_the_admin_key_sees_every_task(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    task = await create(alpha, "@lap-beta", "private")
    assert (await gamma.ok("GET", "/tasks"))["tasks"] == []
    admin = {**hub.admin_headers, "X-Hubbub-Agent": "srv-gamma"}
    listed = await hub.http.get("/api/v1/tasks", headers=admin)
    assert [t["id"] for t in listed.json()["tasks"]] == [task["id"]]
    shown = await hub.http.get(f"/api/v1/tasks/{task['id']}/events", headers=admin)
    assert [e["type"] for e in shown.json()] == ["task.created"]


async def test_lists_filter_and_page(alpha: AgentClient, beta: AgentClient) -> None:
    await beta.ok("PATCH", "/me", {"capabilities": ["py"]})
    made = [
        await create(alpha, "cap:py", f"t{i}", labels=["even" if i % 2 else "odd"])
        for i in range(5)
    ]
    await claim(beta, made[1]["id"])
    await claim(beta, made[2]["id"])

    async def ids(**params: Any) -> list[int]:
        page = await beta.ok("GET", "/tasks", params=params)
        return [t["id"] for t in page["tasks"]]

    every = [t["id"] for t in made]
    assert await ids() == every
    assert await ids(status="claimed") == every[1:3]
    assert await ids(holder="me") == every[1:3]
    assert await ids(holder="lap-beta") == every[1:3]
    assert await ids(holder="lap-nobody") == []
    assert await ids(created_by="lap-alpha", label="odd") == every[0::2]
    assert await ids(target="cap:py", status="open") == [every[0], every[3], every[4]]
    assert await ids(available="true") == [every[0], every[3], every[4]]
    page = await beta.ok("GET", "/tasks", params={"limit": 2})
    assert ([t["id"] for t in page["tasks"]], page["has_more"]) == (every[:2], True)
    rest = await beta.ok("GET", "/tasks", params={"after": page["cursor"]})
    assert ([t["id"] for t in rest["tasks"]], rest["has_more"]) == (every[2:], False)
    problem(await beta.get("/tasks", params={"status": "lost"}), 422, "invalid")
    problem(await beta.get("/tasks", params={"target": "label:x"}), 422, "bad_target")
    problem(await beta.get("/tasks", params={"limit": 0}), 422, "invalid")


async def test_bad_tasks_are_refused_and_change_nothing(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    before = hub.snapshot()
    cases: list[tuple[Json, int, str]] = [
        ({"title": " ", "target": "@lap-beta"}, 422, "empty_title"),
        ({"title": "x" * 201, "target": "@lap-beta"}, 422, "invalid"),
        ({"title": "t", "target": "label:x"}, 422, "bad_target"),
        ({"title": "t", "target": "broadcast"}, 422, "bad_target"),
        ({"title": "t", "target": "someone"}, 422, "bad_target"),
        ({"title": "t", "target": "@lap-alpha"}, 422, "bad_target"),
        ({"title": "t", "target": "@lap-nobody"}, 404, "unknown_target"),
        ({"title": "t", "target": "cap:Bad Cap"}, 422, "bad_name"),
        ({"title": "t", "target": "@lap-beta", "lease_seconds": 0.1}, 422, "bad_lease"),
        ({"title": "t", "target": "@lap-beta", "lease_seconds": 86_401}, 422, "bad_lease"),
        ({"title": "t", "target": "@lap-beta", "max_attempts": 0}, 422, "invalid"),
        ({"title": "t", "target": "@lap-beta", "priority": 10**7}, 422, "invalid"),
        ({"title": "t", "target": "@lap-beta", "labels": ["Not Ok"]}, 422, "bad_name"),
        ({"title": "t", "target": "@lap-beta", "dedupe_key": ""}, 422, "bad_dedupe_key"),
        ({"title": "t", "target": "@lap-beta", "due_at": "2030-01-01T00:00:00"}, 422, "invalid"),
        ({"title": "t", "target": "@lap-beta", "callback_secret": "s"}, 422, "bad_callback"),
        ({"title": "t", "target": "@lap-beta", "callback_url": "ftp://x"}, 422, "bad_callback"),
        ({"title": "t", "target": "@lap-beta", "body": "x" * 40_000}, 413, "content_too_large"),
        ({"title": "t", "target": "@lap-beta", "colour": "red"}, 422, "invalid"),
        ({"target": "@lap-beta"}, 422, "invalid"),
    ]
    for body, status, code in cases:
        problem(await alpha.post("/tasks", body), status, code)
    assert hub.snapshot() == before


async def test_a_callback_is_stored_but_never_shown(hub_factory: HubFactory) -> None:
    # A receiver on this machine (nothing listens on port 9): no request leaves it.
    async with hub_factory(**ALLOW_LOOPBACK) as hub:
        alpha = await hub.agent("lap-alpha")
        task = await create(
            alpha, "cap:x", callback_url="https://127.0.0.1:9/hook", callback_secret="s3cret"
        )
        assert "callback_url" not in task
        assert "callback_secret" not in task
        events = await alpha.ok("GET", f"/tasks/{task['id']}/events")
        assert "s3cret" not in str(events)


async def test_a_dedupe_key_folds_repeats_into_the_active_task(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    first = await create(alpha, "@lap-beta", "disk full", dedupe_key="disk:/var")
    items = hub.snapshot()["inbox"]
    repeat = await alpha.post(
        "/tasks", {"title": "disk full", "target": "@lap-beta", "dedupe_key": "disk:/var"}
    )
    assert repeat.status_code == 200, repeat.text
    assert repeat.headers["hubbub-deduplicated"] == "true"
    bumped = repeat.json()
    assert (bumped["id"], bumped["occurrences"]) == (first["id"], 2)
    assert bumped["last_seen_at"] > first["last_seen_at"]
    assert hub.snapshot()["inbox"] == items  # no new offers
    assert await history(alpha, first["id"]) == ["task.created", "task.deduped"]
    # Another creator's key is another task; so is the same key once the task is finished.
    other = await create(beta, "@lap-alpha", "disk full", dedupe_key="disk:/var")
    assert other["id"] != first["id"]
    fence = (await claim(beta, first["id"]))["fence"]
    assert (
        await alpha.post("/tasks", {"title": "d", "target": "@lap-beta", "dedupe_key": "disk:/var"})
    ).json()["occurrences"] == 3
    await beta.ok("POST", f"/tasks/{first['id']}/complete", {"fence": fence})
    fresh = await create(alpha, "@lap-beta", "disk full", dedupe_key="disk:/var")
    assert fresh["id"] != first["id"]


async def test_an_idempotency_key_returns_the_first_result(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    body = {"title": "once", "target": "cap:x", "dedupe_key": "k"}
    headers = {"Idempotency-Key": "req-1"}
    first = await alpha.post("/tasks", body, headers=headers)
    assert first.status_code == 201
    before = hub.snapshot()
    again = await alpha.post("/tasks", body, headers=headers)
    assert (again.status_code, again.headers["idempotent-replayed"]) == (200, "true")
    assert again.json() == first.json()
    # A retried request folded by its dedupe key is not counted twice.
    folded = await alpha.post("/tasks", body, headers={"Idempotency-Key": "req-2"})
    assert folded.json()["occurrences"] == 2
    retried = await alpha.post("/tasks", body, headers={"Idempotency-Key": "req-2"})
    assert (retried.status_code, retried.json()["occurrences"]) == (200, 2)
    problem(
        await alpha.post("/tasks", {**body, "title": "other"}, headers=headers),
        409,
        "idempotency_conflict",
    )
    problem(
        await alpha.post("/tasks", body, headers={"Idempotency-Key": "x" * 201}),
        422,
        "bad_idempotency_key",
    )
    assert hub.snapshot()["tasks"] == before["tasks"]


async def eventually_status(agent: AgentClient, task_id: int, status: str) -> Json:
    async def check() -> Json | None:
        task: Json = await agent.ok("GET", f"/tasks/{task_id}")
        return task if task["status"] == status else None

    return await eventually(check, within=10, interval=0.05)


async def test_an_expired_lease_reopens_the_task_and_fences_out_its_holder(
    alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    for agent in (beta, gamma):
        await agent.ok("PATCH", "/me", {"capabilities": ["py"]})
    task = await create(alpha, "cap:py", lease_seconds=1, max_attempts=2)
    first = await claim(beta, task["id"])
    reopened = await eventually_status(alpha, task["id"], "open")
    assert (reopened["attempts"], reopened["holder"], reopened["fence"]) == (1, None, 1)
    path = f"/tasks/{task['id']}"
    problem(await beta.post(f"{path}/renew", {"fence": first["fence"]}), 409, "lease_expired")
    problem(await beta.post(f"{path}/complete", {"fence": first["fence"]}), 409, "lease_expired")
    second = await claim(gamma, task["id"])
    assert second["fence"] == 2
    problem(await beta.post(f"{path}/complete", {"fence": first["fence"]}), 409, "stale_fence")
    # The second lease runs out too: that was the last attempt.
    failed = await eventually_status(alpha, task["id"], "failed")
    assert (failed["attempts"], failed["holder"]) == (2, None)
    assert failed["result_text"]
    problem(await gamma.post(f"{path}/renew", {"fence": 2}), 409, "lease_expired")
    events = await alpha.ok("GET", f"{path}/events")
    expired = [e["data"] for e in events if e["type"] == "task.expired"]
    assert [(d["previous_holder"], d["reopened"], d["by"]) for d in expired] == [
        ("lap-beta", True, None),
        ("srv-gamma", False, None),
    ]


async def test_a_claim_lease_can_differ_from_the_tasks(
    alpha: AgentClient, beta: AgentClient
) -> None:
    task = await create(alpha, "@lap-beta", lease_seconds=3600)
    started = time.time()
    claimed = await claim(beta, task["id"], lease_seconds=30)
    assert claimed["lease_seconds"] == 3600
    renewed = await beta.ok("POST", f"/tasks/{task['id']}/renew", {"fence": claimed["fence"]})
    for shown in (claimed, renewed):
        left = _epoch(shown["lease_expires_at"]) - started
        assert 25 < left < 40, shown


def _epoch(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp).timestamp()


async def test_a_waiting_claim_takes_the_task_as_it_appears(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    await beta.ok("PATCH", "/me", {"capabilities": ["py"]})
    bus = hub.hub.bus
    assert isinstance(bus, LocalBus)
    got: list[Json] = []

    async def wait_for_one() -> None:
        response = await beta.post("/tasks/claim", {"wait": 10})
        got.append(response.json())

    async with anyio.create_task_group() as group:
        group.start_soon(wait_for_one)

        async def subscribed() -> bool | None:
            return True if bus.subscribers >= 1 else None

        await eventually(subscribed, within=5, interval=0.005)
        await create(alpha, "cap:other", "not for beta")
        started = time.monotonic()
        made = await create(alpha, "cap:py", "for beta")
    assert time.monotonic() - started < 2
    assert (got[0]["id"], got[0]["holder"]) == (made["id"], "lap-beta")
    # Nothing to claim: null after the wait.
    started = time.monotonic()
    empty = await beta.post("/tasks/claim", {"wait": 0.3})
    assert (empty.status_code, empty.json()) == (200, None)
    assert time.monotonic() - started >= 0.3


async def test_history_needs_sight_of_the_task(
    hub: InProcessHub, alpha: AgentClient, gamma: AgentClient
) -> None:
    task = await create(alpha, "@srv-gamma")
    other = await hub.agent("srv-delta")
    problem(await other.get(f"/tasks/{task['id']}/events"), 404, "task_not_found")
    problem(await other.get("/tasks/999/events"), 404, "task_not_found")
    problem(await gamma.get(f"/tasks/{task['id']}/events", params={"limit": 0}), 422)
    assert await history(gamma, task["id"]) == ["task.created"]


async def test_task_events_reach_the_stream_scoped_like_the_task(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    start = await hub.hub.store.last_event_seq()
    await create(alpha, "@lap-beta", "private")
    await create(alpha, "tag:x", "public")
    stored = [e for e in await hub.hub.store.events_after(start, 100) if e.type == "task.created"]
    dm = await hub.hub.store.channel("dm:lap-alpha:lap-beta")
    assert dm is not None
    assert [(e.channel_id, e.agent_id) for e in stored] == [(dm.id, None), (None, None)]
    assert [e.payload["task"]["title"] for e in stored] == ["private", "public"]
    assert all(e.payload["by"] == "lap-alpha" for e in stored)
