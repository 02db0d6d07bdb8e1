"""``GET /metrics``, ``GET /api/v1/stats`` and the operators' event stream: who may read them,
and each figure moving when what it counts happens — parsed with Prometheus's own parser, on
both engines."""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hubbub.client import AsyncClient
from tests.clients import API, AgentClient, InProcessHub, Json, problem
from tests.realtime import LiveAgents, unique
from tests.sse import EventStream, stream_params
from tests.test_integrations import integrate

pytestmark = pytest.mark.anyio

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(hub: InProcessHub, headers: dict[str, str] | None = None) -> Samples:
    """Every sample of the in-process hub's ``/metrics``, by name and labels."""
    return await scrape_over(hub.http, headers or hub.admin_headers)


async def scrape_over(http: httpx.AsyncClient, headers: dict[str, str]) -> Samples:
    """Every sample of ``/metrics`` through ``http``, by name and labels."""
    response = await http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_are_for_the_admin_and_the_metrics_scope(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    problem(await hub.http.get("/metrics"), 401)
    problem(await hub.http.get("/metrics", headers=alpha.headers), 403, "admin_only")
    reader = await integrate(hub, "prom", scopes=["metrics:read"])
    other = await integrate(hub, "hooks", scopes=["tasks:read"])
    samples = await scrape(hub, {"Authorization": f"Bearer {reader.token}"})
    assert value(samples, "hubbub_info", version=_version()) == 1
    refused = await hub.http.get("/metrics", headers={"Authorization": f"Bearer {other.token}"})
    problem(refused, 403, "missing_scope")
    stats = await hub.http.get(f"{API}/stats", headers={"Authorization": f"Bearer {reader.token}"})
    assert stats.status_code == 200, stats.text
    problem(await alpha.get("/stats"), 403, "admin_only")


async def test_each_figure_moves_with_what_it_counts(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    before = await scrape(hub)
    await alpha.say("general", "hello")
    await alpha.say("general", "again")
    await alpha.send("@lap-beta", "a DM")
    posted = await scrape(hub)
    created = await alpha.post("/tasks", {"title": "build it", "target": "@lap-beta"})
    assert created.status_code == 201, created.text
    assert (await alpha.get("/no-such-thing")).status_code == 404
    assert (await hub.http.post("/mcp", json={})).status_code == 401  # the route Starlette ran
    after = await scrape(hub)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    def posts(samples: Samples) -> float:
        return value(samples, "hubbub_messages_posted_total")

    assert posts(posted) - posts(before) == 3
    assert moved("hubbub_events_written_total", type="message.posted") == posts(after) - posts(
        before
    )
    assert moved("hubbub_events_written_total", type="task.created") == 1
    assert moved("hubbub_writer_writes_total") >= 4
    assert 1 <= moved("hubbub_writer_batches_total") <= moved("hubbub_writer_writes_total")
    assert moved("hubbub_writer_commit_seconds_count") >= 1
    assert moved("hubbub_writer_batch_size_count") == moved("hubbub_writer_commit_seconds_count")
    assert value(after, "hubbub_writer_up") == 1
    assert value(after, "hubbub_writer_queue_depth") == 0
    route = "/api/v1/channels/{name}/messages"
    assert moved("hubbub_http_request_duration_seconds_count", **_req(route, "POST", "201")) == 2
    assert (
        moved("hubbub_http_request_duration_seconds_count", **_req("/api/v1/send", "POST", "201"))
        == 1
    )
    assert (
        moved("hubbub_http_request_duration_seconds_count", **_req("unmatched", "GET", "404")) == 1
    )
    assert moved("hubbub_http_request_duration_seconds_count", **_req("/mcp", "POST", "401")) == 1
    assert value(after, "hubbub_mcp_sessions") == 0  # none in progress now
    assert value(after, "hubbub_tasks", state="open") == 1
    assert value(after, "hubbub_webhook_deliveries", state="pending") == 0
    if hub.db_url is not None:  # PostgreSQL's write lock and reader pool
        assert moved("hubbub_postgres_write_lock_wait_seconds_count") >= 1
        assert value(after, "hubbub_postgres_pool_connections", state="open") >= 1
    else:
        assert ("hubbub_postgres_pool_waiting", ()) not in after


async def test_rate_limit_refusals_are_counted(hub_factory: Any) -> None:
    async with hub_factory(rate_limit=1, rate_burst=1) as hub:
        alpha = await hub.agent("lap-alpha")
        before = await scrape(hub)
        statuses = [(await alpha.get("/channels")).status_code for _ in range(5)]
        assert 429 in statuses
        after = await scrape(hub)
        refused = statuses.count(429)
        assert (
            value(after, "hubbub_rate_limited_total") - value(before, "hubbub_rate_limited_total")
            == refused
        )


async def test_stats_count_what_the_hub_holds(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    await alpha.say("general", "one")
    await beta.say("general", "two")
    await alpha.ok("POST", "/tasks", {"title": "t", "target": "#general"})
    answer = await hub.http.get(f"{API}/stats", headers=hub.admin_headers)
    assert answer.status_code == 200, answer.text
    stats: Json = answer.json()
    assert stats["messages"] >= 2
    assert stats["channels"] >= 1
    assert stats["tasks"] == {"open": 1}
    assert stats["agents"].get("active", 0) >= 1
    assert stats["events"] >= 3
    assert stats["files"] == 0
    assert stats["version"] == _version()
    assert stats["uptime_seconds"] >= 0


@pytest.mark.e2e
async def test_streams_and_the_operators_firehose(realtime: LiveAgents) -> None:
    admin = {"Authorization": f"Bearer {realtime.hub.config()['admin_key']}"}
    alpha = await realtime.agent("lap-alpha")
    beta = await realtime.agent("lap-beta")
    secret = unique("hush")
    await alpha.ok("POST", "/channels", {"name": secret, "visibility": "secret"})
    agent_key = {"Authorization": alpha.headers["Authorization"]}
    refused = await realtime.http.get(f"{API}/admin/events", headers=agent_key)
    problem(refused, 403, "admin_only")
    streams_before = value(await scrape_over(realtime.http, admin), "hubbub_event_streams")
    params = stream_params(after=None, channels=None, types="message")
    async with realtime.http.stream(
        "GET",
        f"{API}/admin/events",
        params=params,
        headers={**admin, "Accept": "text/event-stream"},
    ) as response:
        assert response.status_code == 200
        stream = EventStream(response)
        try:
            said = await alpha.say(secret, "only alpha is in here")
            await beta.say("general", "public words")
            seen = [await stream.expect(), await stream.expect()]
            assert [e.type for e in seen] == ["message.posted", "message.posted"]
            assert seen[0].payload["message"]["id"] == said["id"]  # beta could not see it
            live = await scrape_over(realtime.http, admin)
            assert value(live, "hubbub_event_streams") == streams_before + 1
        finally:
            await stream.aclose()
    bad = await realtime.http.get(f"{API}/admin/events", params={"types": "Bad!"}, headers=admin)
    assert bad.status_code == 422


def _req(route: str, method: str, status: str) -> dict[str, str]:
    return {"route": route, "method": method, "status": status}


def _version() -> str:
    from hubbub import __version__

    return __version__


@pytest.mark.e2e
async def test_the_sdk_reads_stats_and_follows_the_firehose(realtime: LiveAgents) -> None:
    alpha = await realtime.agent("lap-alpha")
    private = unique("hush")
    await alpha.ok("POST", "/channels", {"name": private, "visibility": "secret"})
    cursor = (await alpha.ok("GET", "/cursor"))["event"]
    said = await alpha.say(private, "for alpha's eyes, and the operators'")
    config = realtime.hub.config()
    async with AsyncClient(url=realtime.hub.url, admin_key=config["admin_key"]) as client:
        stats = await client.stats()
        assert stats.messages >= 1
        firehose = client.firehose(after=cursor, types=["message.posted"], reconnects=0)
        async with aclosing(firehose) as events:
            async for event in events:
                if event.data["message"]["id"] == said["id"]:
                    break
