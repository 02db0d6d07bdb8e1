"""Webhooks: a real HTTP receiver gets every task transition once, in order, signed as the
docs say; failures are retried with backoff from the durable outbox, across a hub restart."""

from __future__ import annotations

import itertools
import re
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from hubbub.core.hub import Hub
from hubbub.core.integrations import IntegrationEvent
from hubbub.server import create_app
from hubbub.settings import Settings
from hubbub.store import open_store
from tests.clients import API, AgentClient, HubFactory, InProcessHub, Json, problem
from tests.live import LiveHub, running_hub
from tests.realtime import eventually
from tests.receiver import (
    ALLOW_LOOPBACK,
    ALLOW_LOOPBACK_ENV,
    Received,
    Receiver,
    receiving,
)
from tests.test_metrics import scrape, value

pytestmark = pytest.mark.anyio

DOCS = Path(__file__).parent.parent / "docs" / "integrations.md"
# Fast retries, to a receiver on loopback (allowed, as for a receiver on the hub's machine).
FAST = {"webhook_backoff_seconds": 0.05, "webhook_backoff_max_seconds": 0.4, **ALLOW_LOOPBACK}
LIFECYCLE = ["task.created", "task.claimed", "task.progress", "task.completed"]


def documented_verify() -> Callable[..., bool]:
    """The signature check as docs/integrations.md shows it, so the docs cannot drift."""
    text = DOCS.read_text()
    section = text.split("### Verifying the signature", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)
    verify: Callable[..., bool] = namespace["verify"]
    return verify


VERIFY = documented_verify()


def check_signed(received: list[Received], secret: str) -> None:
    """Every request is signed with ``secret`` and says what it carries in its headers."""
    for item in received:
        headers = item.headers
        assert VERIFY(
            secret, headers["x-hubbub-timestamp"], item.body, headers["x-hubbub-signature"]
        )
        assert not VERIFY(
            "whsec_wrong", headers["x-hubbub-timestamp"], item.body, headers["x-hubbub-signature"]
        )
        assert not VERIFY(
            secret, headers["x-hubbub-timestamp"], item.body + b" ", headers["x-hubbub-signature"]
        )
        assert headers["x-hubbub-event"] == item.json["type"]
        assert headers["content-type"] == "application/json"


def exactly_once_in_order(accepted: list[Received], types: list[str]) -> None:
    """Each delivery accepted once, the events in log order, of these types."""
    ids = [r.delivery for r in accepted]
    assert len(ids) == len(set(ids)), ids
    seqs = [r.json["seq"] for r in accepted]
    assert seqs == sorted(seqs), seqs
    assert [r.json["type"] for r in accepted] == types


async def integrate(hub: InProcessHub, url: str, name: str = "alerts") -> Json:
    body = {
        "name": name,
        "scopes": ["tasks:create", "tasks:update"],
        "targets": ["@lap-*", "cap:*"],
        "webhook_url": url,
        "rate_limit": 1000,
        "rate_burst": 1000,
    }
    made = await hub.http.post(f"{API}/admin/integrations", json=body, headers=hub.admin_headers)
    assert made.status_code == 201, made.text
    found: Json = made.json()
    return found


async def event(hub: InProcessHub, token: str, action: str, key: str, **fields: Any) -> Json:
    response = await hub.http.post(
        f"{API}/integrations/events",
        json={"action": action, "dedupe_key": key, **fields},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.is_success, response.text
    found: Json = response.json()
    return found


async def work_through(worker: AgentClient, task_id: int) -> None:
    """Claim, report progress and complete a task."""
    claimed = await worker.ok("POST", f"/tasks/{task_id}/claim", {})
    fence = claimed["fence"]
    await worker.ok("POST", f"/tasks/{task_id}/progress", {"fence": fence, "percent": 50})
    await worker.ok("POST", f"/tasks/{task_id}/complete", {"fence": fence, "result": {"ok": 1}})


async def accepted(receiver: Receiver, count: int, path: str | None = None) -> list[Received]:
    """Poll (the hub shares this event loop) until ``count`` requests were accepted."""

    async def check() -> list[Received] | None:
        found = receiver.accepted(path)
        return found if len(found) >= count else None

    return await eventually(check, within=20)


async def deliveries(hub: InProcessHub, path: str, **params: Any) -> list[Json]:
    response = await hub.http.get(f"{API}{path}", params=params, headers=hub.admin_headers)
    assert response.status_code == 200, response.text
    found: list[Json] = response.json()
    return found


async def settled(fetch: Callable[[], Awaitable[list[Json]]]) -> list[Json]:
    """Poll a delivery listing until none is pending (a receiver's answer is recorded just
    after it is sent)."""

    async def check() -> list[Json] | None:
        found = await fetch()
        return None if any(d["status"] == "pending" for d in found) else found

    return await eventually(check, within=20)


async def test_every_transition_arrives_once_in_order_and_signed(
    hub_factory: HubFactory,
) -> None:
    with receiving() as receiver:
        async with hub_factory(**FAST) as hub:
            made = await integrate(hub, receiver.url + "/hook")
            worker = await hub.agent("lap-worker")
            fired = await event(
                hub, made["token"], "trigger", "k1", title="fix it", target="@lap-worker"
            )
            task_id = fired["task"]["id"]
            await work_through(worker, task_id)

            got = await accepted(receiver, 4)
            exactly_once_in_order(got, LIFECYCLE)
            check_signed(got, made["webhook_secret"])
            assert {r.path for r in got} == {"/hook"}
            assert all(r.json["data"]["task"]["id"] == task_id for r in got)
            assert got[-1].json["data"]["task"]["result"] == {"ok": 1}
            assert got[-1].json["data"]["by"] == "lap-worker"
            listed = await settled(lambda: deliveries(hub, "/admin/integrations/alerts/deliveries"))
            assert [d["event_type"] for d in listed] == LIFECYCLE[::-1]
            assert {(d["status"], d["attempts"], d["last_status"]) for d in listed} == {
                ("delivered", 1, 200)
            }
            assert [str(d["id"]) for d in listed[::-1]] == [r.delivery for r in got]
            assert len(receiver.all()) == 4  # nothing sent twice


async def test_a_task_callback_gets_its_own_task_signed_with_its_secret(
    hub_factory: HubFactory,
) -> None:
    with receiving() as receiver:
        async with hub_factory(**FAST) as hub:
            creator = await hub.agent("lap-boss")
            worker = await hub.agent("lap-worker")
            other = await hub.agent("lap-other")
            task = await creator.ok(
                "POST",
                "/tasks",
                {
                    "title": "ship",
                    "target": "@lap-worker",
                    "callback_url": receiver.url + "/cb",
                    "callback_secret": "s3cret",
                },
            )
            unrelated = await creator.ok("POST", "/tasks", {"title": "x", "target": "cap:x"})
            await work_through(worker, task["id"])
            await creator.ok("POST", f"/tasks/{unrelated['id']}/cancel", {})

            got = await accepted(receiver, 4)
            exactly_once_in_order(got, LIFECYCLE)
            check_signed(got, "s3cret")
            assert "s3cret" not in (await creator.get(f"/tasks/{task['id']}")).text
            listed = await settled(lambda: creator.ok("GET", f"/tasks/{task['id']}/deliveries"))
            assert [d["status"] for d in listed] == ["delivered"] * 4
            assert listed[0]["integration"] is None
            assert listed[0]["task_id"] == task["id"]
            problem(await worker.get(f"/tasks/{task['id']}/deliveries"), 403, "not_creator")
            problem(await other.get(f"/tasks/{task['id']}/deliveries"), 404, "task_not_found")
            problem(await other.get(f"/tasks/{unrelated['id']}/deliveries"), 403, "not_creator")
            assert await creator.ok("GET", f"/tasks/{unrelated['id']}/deliveries") == []


async def test_a_failing_receiver_gets_retries_with_backoff_in_order(
    hub_factory: HubFactory,
) -> None:
    with receiving() as receiver:
        receiver.answers = [503, 500, 502]
        async with hub_factory(**FAST) as hub:
            made = await integrate(hub, receiver.url + "/hook")
            await event(hub, made["token"], "trigger", "k", title="t", target="cap:x")
            await event(hub, made["token"], "resolve", "k")

            got = await accepted(receiver, 2)
            exactly_once_in_order(got, ["task.created", "task.cancelled"])
            tries = receiver.all()
            first = got[0].delivery
            assert [r.delivery for r in tries] == [first] * 4 + [got[1].delivery]
            assert [r.status for r in tries] == [503, 500, 502, 200, 200]
            assert len({r.body for r in tries[:4]}) == 1  # the same event, re-signed
            gaps = [b.at - a.at for a, b in itertools.pairwise(tries[:4])]
            # Equal jitter: at least half of 0.05 s, 0.1 s, 0.2 s.
            for gap, floor in zip(gaps, (0.025, 0.05, 0.1), strict=True):
                assert gap >= floor * 0.9, gaps
            check_signed(tries, made["webhook_secret"])
            listed = await settled(lambda: deliveries(hub, "/admin/integrations/alerts/deliveries"))
            retried = next(d for d in listed if str(d["id"]) == first)
            assert (retried["status"], retried["attempts"], retried["last_status"]) == (
                "delivered",
                4,
                200,
            )
            assert retried["last_error"] is None  # it describes the last attempt


async def test_deliveries_die_after_their_attempts_and_the_next_goes(
    hub_factory: HubFactory,
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{closed.getsockname()[1]}/hook"
    with receiving() as receiver:
        receiver.status = 500
        async with hub_factory(webhook_max_attempts=2, **FAST) as hub:
            failing = await integrate(hub, receiver.url + "/hook")
            gone = await integrate(hub, nowhere, name="gone")
            for made in (failing, gone):
                await event(hub, made["token"], "trigger", "k", title="t", target="cap:x")
                await event(hub, made["token"], "resolve", "k")

            async def all_dead() -> list[Json] | None:
                found = [
                    *await deliveries(hub, "/admin/integrations/alerts/deliveries"),
                    *await deliveries(hub, "/admin/integrations/gone/deliveries"),
                ]
                return found if {d["status"] for d in found} == {"dead"} else None

            dead = await eventually(all_dead, within=20)
            assert len(dead) == 4
            watched = await scrape(hub)  # the failures show in the metrics
            assert value(watched, "hubbub_webhook_deliveries", state="dead") == 4
            assert value(watched, "hubbub_webhook_deliveries", state="pending") == 0
            assert {d["attempts"] for d in dead} == {2}
            assert all(d["last_error"].startswith("HTTP 500") for d in dead[:2])
            assert all("Connect" in d["last_error"] for d in dead[2:])
            assert all(d["next_attempt_at"] is None for d in dead)
            tries = receiver.all()
            assert [r.json["type"] for r in tries] == ["task.created"] * 2 + ["task.cancelled"] * 2
            filtered = await deliveries(
                hub, "/admin/integrations/alerts/deliveries", status="delivered"
            )
            assert filtered == []
            bad = await hub.http.get(
                f"{API}/admin/integrations/alerts/deliveries?status=lost", headers=hub.admin_headers
            )
            problem(bad, 422, "invalid")


async def test_revoking_an_integration_drops_its_pending_deliveries(
    hub_factory: HubFactory,
) -> None:
    with receiving() as receiver:
        receiver.status = 503
        async with hub_factory(webhook_backoff_seconds=30, **ALLOW_LOOPBACK) as hub:
            made = await integrate(hub, receiver.url + "/hook")
            await event(hub, made["token"], "trigger", "k", title="t", target="cap:x")
            await eventually(lambda: _some(receiver.all()), within=20)
            revoked = await hub.http.delete(
                f"{API}/admin/integrations/alerts", headers=hub.admin_headers
            )
            assert revoked.status_code == 200
            listed = await deliveries(hub, "/admin/integrations/alerts/deliveries")
            assert [(d["status"], d["last_error"]) for d in listed] == [
                ("dead", "the integration was revoked")
            ]


async def _some(items: list[Received]) -> list[Received] | None:
    return items or None


async def test_events_committed_while_no_sender_ran_go_out_when_one_starts(
    new_database: Callable[[], str],
) -> None:
    db = new_database()
    with receiving() as receiver:
        # A hub without its sender, as a tool might open one.
        offline = Hub(open_store(db), outbound=Settings(**ALLOW_LOOPBACK).outbound_policy())
        await offline.open()
        made = await offline.integrations.create(
            "alerts",
            scopes=["tasks:create"],
            targets=["cap:*"],
            channels=[],
            webhook_url=receiver.url + "/hook",
        )
        credential = await offline.keys.verify(made.token)
        assert credential.grant is not None
        agent = await offline.agents.act_as(credential, "alerts")
        for key in ("a", "b", "c"):
            fired = IntegrationEvent("trigger", key, title=key, target="cap:x")
            await offline.integrations.ingest(agent, credential.grant, fired)
        await offline.close()
        assert receiver.all() == []

        app = create_app(Settings(db=db, provision=False, **FAST))
        async with app.router.lifespan_context(app):
            got = await accepted(receiver, 3)
        exactly_once_in_order(got, ["task.created"] * 3)
        assert [r.json["data"]["task"]["title"] for r in got] == ["a", "b", "c"]
        assert len(receiver.all()) == 3


@pytest.mark.e2e
def test_exactly_once_in_order_across_a_hub_restart(tmp_path: Path) -> None:
    env = {
        "HUBBUB_WEBHOOK_BACKOFF_SECONDS": "0.05",
        "HUBBUB_WEBHOOK_BACKOFF_MAX_SECONDS": "0.3",
        **ALLOW_LOOPBACK_ENV,
    }
    with receiving() as receiver:
        with running_hub(tmp_path, env=env) as first:
            config = first.config()
            admin = {"key": config["admin_key"]}
            made = _ok(
                first,
                "POST",
                "/admin/integrations",
                **admin,
                json={
                    "name": "ci",
                    "scopes": ["tasks:create", "tasks:update"],
                    "targets": ["@lap-*"],
                    "webhook_url": receiver.url + "/hook",
                },
            )
            token = made["token"]
            worker = {"key": config["key"], "agent": "lap-worker"}
            _ok(first, "GET", "/me", **worker)
            fired = _ok(
                first,
                "POST",
                "/integrations/events",
                key=token,
                json={
                    "action": "trigger",
                    "dedupe_key": "build-1",
                    "title": "build failed",
                    "target": "@lap-worker",
                },
            )
            task_id = fired["task"]["id"]
            receiver.wait_accepted(1)
            receiver.status = 503  # the receiver goes down: the next events wait in the outbox
            claimed = _ok(first, "POST", f"/tasks/{task_id}/claim", json={}, **worker)
            fence = claimed["fence"]
            _ok(
                first,
                "POST",
                f"/tasks/{task_id}/progress",
                json={"fence": fence, "percent": 30},
                **worker,
            )
            receiver.wait_until(lambda items: len(items) >= 3)  # retries are under way
            port = first.port

        with running_hub(tmp_path, port=port, env=env) as second:
            receiver.status = 200
            _ok(
                second,
                "POST",
                f"/tasks/{task_id}/complete",
                json={"fence": fence, "text": "green again"},
                **worker,
            )
            got = receiver.wait_accepted(4)
            listed = _ok(second, "GET", "/admin/integrations/ci/deliveries", **admin)
            assert {d["status"] for d in listed} == {"delivered"}

    exactly_once_in_order(got, LIFECYCLE)
    check_signed(receiver.all(), made["webhook_secret"])
    assert len(receiver.accepted()) == 4
    assert got[-1].json["data"]["task"]["result_text"] == "green again"


def _ok(hub: LiveHub, method: str, path: str, **kwargs: Any) -> Any:
    response = hub.request(method, API + path, **kwargs)
    assert response.is_success, (method, path, response.status_code, response.text)
    return response.json()
