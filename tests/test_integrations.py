"""Integrations: scoped tokens act as their own agent, only within their scopes, targets,
channels and rate limit; the events endpoint triggers, updates and resolves tasks."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.clients import API, AgentClient, HubFactory, InProcessHub, Json, problem
from tests.live import LiveHub, cli_of, ok_json

pytestmark = pytest.mark.anyio

COUNTED = ("agents", "channels", "messages", "inbox", "events", "tasks", "integrations")


def counts(hub: InProcessHub) -> dict[str, int]:
    """Row counts of the tables an integration could change, straight from the database."""
    return {t: int(hub.query(f"SELECT count(*) FROM {t}")[0][0]) for t in COUNTED}


@dataclass
class Integration:
    """Requests with an integration token (no X-Hubbub-Agent)."""

    http: httpx.AsyncClient
    name: str
    token: str
    made: Json

    async def request(self, method: str, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return await self.http.request(method, API + path, json=json, headers=headers, **kw)

    async def ok(self, method: str, path: str, json: Any = None, **kw: Any) -> Any:
        response = await self.request(method, path, json, **kw)
        assert response.is_success, (method, path, response.status_code, response.text)
        return response.json()

    async def event(self, action: str, key: str, **fields: Any) -> httpx.Response:
        body = {"action": action, "dedupe_key": key, **fields}
        return await self.request("POST", "/integrations/events", body)


async def integrate(hub: InProcessHub, name: str = "alerts", **spec: Any) -> Integration:
    """Create an integration with the admin key."""
    body = {"name": name, "rate_limit": 1000, "rate_burst": 1000, **spec}
    response = await hub.http.post(
        f"{API}/admin/integrations", json=body, headers=hub.admin_headers
    )
    assert response.status_code == 201, response.text
    made: Json = response.json()
    return Integration(hub.http, name, made["token"], made)


ALL_SCOPES = ["tasks:create", "tasks:read", "tasks:update", "messages:write", "messages:read"]


async def test_the_admin_creates_an_integration_shown_once(hub: InProcessHub) -> None:
    made = (
        await integrate(
            hub,
            scopes=["tasks:read", "tasks:create", "tasks:create"],
            targets=["cap:deploy", "tag:*"],
            channels=["#ops", "alerts-*"],
            webhook_url="https://example.com/hook",
        )
    ).made
    assert made["token"].startswith("hb_int_")
    assert made["webhook_secret"].startswith("whsec_")
    info = made["integration"]
    assert info["scopes"] == ["tasks:create", "tasks:read"]  # deduplicated, documented order
    assert info["channels"] == ["ops", "alerts-*"]
    assert made["token"].startswith(info["prefix"])
    listed = await hub.http.get(f"{API}/admin/integrations", headers=hub.admin_headers)
    assert [i["name"] for i in listed.json()] == ["alerts"]
    assert made["token"] not in listed.text
    assert made["webhook_secret"] not in listed.text
    agent = await hub.hub.agents.get("alerts")
    assert (agent.kind, agent.machine) == ("integration", "integration")
    plain = (await integrate(hub, "ci-builds", scopes=["tasks:create"])).made
    assert plain["webhook_secret"] is None


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        ({"scopes": ["tasks:delete"]}, "bad_scope"),
        ({"targets": ["ops"]}, "bad_pattern"),
        ({"targets": ["cap:Deploy"]}, "bad_pattern"),
        ({"targets": ["#ops*x"]}, "bad_pattern"),
        ({"channels": ["Ops!"]}, "bad_pattern"),
        ({"webhook_url": "ftp://example.com/x"}, "bad_webhook_url"),
        ({"webhook_url": "javascript:alert(1)"}, "bad_webhook_url"),
        ({"webhook_url": "https://"}, "bad_webhook_url"),
        ({"rate_limit": 0}, "invalid"),
        ({"name": "Bad Name"}, "bad_name"),
    ],
)
async def test_a_bad_integration_is_refused_and_changes_nothing(
    hub: InProcessHub, spec: Json, code: str
) -> None:
    before = counts(hub)
    body = {"name": "alerts", **spec}
    response = await hub.http.post(
        f"{API}/admin/integrations", json=body, headers=hub.admin_headers
    )
    problem(response, 422, code)
    assert counts(hub) == before


async def test_integration_names_never_collide_with_agents(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    await integrate(hub, "alerts")
    before = counts(hub)
    for name in ("alerts", alpha.name):
        response = await hub.http.post(
            f"{API}/admin/integrations", json={"name": name}, headers=hub.admin_headers
        )
        problem(response, 409, "name_taken")
    assert counts(hub) == before
    # A machine key never acts as an integration, even one named like its agents, and even
    # the key of a machine named like the integrations' own pseudo-machine.
    for name in ("lap-hook", "integration-hook"):
        made = await hub.http.post(
            f"{API}/admin/integrations", json={"name": name}, headers=hub.admin_headers
        )
        assert made.status_code == 201
        key = await hub.key_for(name.split("-")[0])
        response = await hub.http.get(
            f"{API}/me", headers={"Authorization": f"Bearer {key}", "X-Hubbub-Agent": name}
        )
        problem(response, 403, "wrong_machine")
    assert counts(hub)["agents"] == before["agents"] + 2


async def test_machine_keys_cannot_manage_integrations(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    before = counts(hub)
    problem(await alpha.post("/admin/integrations", {"name": "x-hook"}), 403, "admin_only")
    problem(await alpha.get("/admin/integrations"), 403, "admin_only")
    problem(await alpha.post("/integrations/events", {}), 403, "integration_only")
    assert counts(hub) == before


async def test_a_token_acts_as_its_integration_without_an_agent_header(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    ci = await integrate(hub, "ci", scopes=["tasks:create", "tasks:read"], targets=["@lap-*"])
    task = await ci.ok("POST", "/tasks", {"title": "flaky test", "target": "@lap-alpha"})
    assert task["created_by"] == "ci"
    # An agent header naming someone else changes nothing: the token is the identity.
    spoof = await ci.request(
        "POST",
        "/tasks",
        {"title": "again", "target": "@lap-alpha"},
        headers={"X-Hubbub-Agent": "lap-alpha"},
    )
    assert spoof.status_code == 201
    assert spoof.json()["created_by"] == "ci"
    inbox = await alpha.inbox()
    assert {i["message"]["author"] for i in inbox["items"]} == {"ci"}
    assert (await ci.ok("GET", f"/tasks/{task['id']}"))["title"] == "flaky test"


async def test_scopes_are_enforced_on_every_endpoint_and_refusals_change_nothing(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    await alpha.create_channel("ops")
    agent_task = await alpha.ok("POST", "/tasks", {"title": "t", "target": "cap:deploy"})
    only = await integrate(hub, "creator", scopes=["tasks:create"], targets=["*"], channels=["*"])
    before = counts(hub)
    missing = [
        ("GET", "/tasks", None, "tasks:read"),
        ("GET", f"/tasks/{agent_task['id']}", None, "tasks:read"),
        ("GET", f"/tasks/{agent_task['id']}/events", None, "tasks:read"),
        ("GET", f"/tasks/{agent_task['id']}/deliveries", None, "tasks:read"),
        ("POST", f"/tasks/{agent_task['id']}/cancel", {}, "tasks:update"),
        ("POST", "/channels/ops/messages", {"content": "x"}, "messages:write"),
        ("GET", "/channels/ops/messages", None, "messages:read"),
        ("POST", "/send", {"target": "#ops", "content": "x"}, "messages:write"),
    ]
    for method, path, body, scope in missing:
        body_json = problem(await only.request(method, path, body), 403, "missing_scope")
        assert body_json["scope"] == scope, (path, body_json)
    unscoped = [
        ("GET", "/me", None),
        ("GET", "/board", None),
        ("GET", "/inbox", None),
        ("POST", "/channels", {"name": "new-one"}),
        ("POST", f"/tasks/{agent_task['id']}/claim", {}),
        ("POST", "/tasks/claim", {}),
        ("GET", "/events", None),
        ("GET", "/search?q=x", None),
    ]
    for method, path, body in unscoped:
        problem(await only.request(method, path, body), 403, "not_for_integrations")
    for method, path in (("GET", "/admin/keys"), ("GET", "/admin/integrations")):
        problem(await only.request(method, path), 403, "admin_only")
    assert counts(hub) == before


async def test_targets_and_channels_are_enforced(hub: InProcessHub, alpha: AgentClient) -> None:
    await alpha.create_channel("ops-alerts")
    await alpha.create_channel("dev")
    other = await alpha.ok("POST", "/tasks", {"title": "other", "target": "cap:other"})
    bot = await integrate(
        hub,
        "pager",
        scopes=ALL_SCOPES,
        targets=["cap:deploy", "tag:*", "#ops-alerts"],
        channels=["ops-*"],
    )
    before = counts(hub)
    refused = [
        ("POST", "/tasks", {"title": "x", "target": "cap:other"}, "target_not_allowed"),
        ("POST", "/tasks", {"title": "x", "target": "@lap-alpha"}, "target_not_allowed"),
        ("POST", "/tasks", {"title": "x", "target": "#dev"}, "target_not_allowed"),
        ("POST", "/send", {"target": "@lap-alpha", "content": "x"}, "target_not_allowed"),
        ("POST", "/send", {"target": "broadcast", "content": "x"}, "target_not_allowed"),
        ("POST", "/channels/dev/messages", {"content": "x"}, "channel_not_allowed"),
        ("GET", "/channels/dev/messages", None, "channel_not_allowed"),
        ("GET", "/channels/@lap-alpha/messages", None, "channel_not_allowed"),
        ("GET", f"/tasks/{other['id']}", None, "target_not_allowed"),
        ("POST", f"/tasks/{other['id']}/cancel", {}, "target_not_allowed"),
        ("GET", "/tasks", None, "target_not_allowed"),
        ("GET", "/tasks?target=cap:other", None, "target_not_allowed"),
    ]
    for method, path, body, code in refused:
        problem(await bot.request(method, path, body), 403, code)
    assert counts(hub) == before

    for target in ("cap:deploy", "tag:backend", "#ops-alerts"):
        await bot.ok("POST", "/tasks", {"title": f"for {target}", "target": target})
    posted = await bot.ok("POST", "/channels/ops-alerts/messages", {"content": "disk full"})
    assert posted["author"] == "pager"
    await bot.ok("POST", "/send", {"target": "#ops-alerts", "content": "still full"})
    read = await bot.ok("GET", "/channels/ops-alerts/messages")
    assert [m["content"] for m in read["messages"]][-2:] == ["disk full", "still full"]
    mine = await bot.ok("GET", "/tasks?created_by=me")
    assert len(mine["tasks"]) == 3
    deploy = await bot.ok("GET", "/tasks?target=cap:deploy")
    assert [t["title"] for t in deploy["tasks"]] == ["for cap:deploy"]
    cancelled = await bot.ok("POST", f"/tasks/{deploy['tasks'][0]['id']}/cancel", {})
    assert cancelled["status"] == "cancelled"


async def test_the_events_endpoint_triggers_dedupes_updates_and_resolves(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    bot = await integrate(
        hub, "alertmanager", scopes=["tasks:create", "tasks:update"], targets=["@lap-*"]
    )
    fire = {"title": "disk 91% on db1", "target": "@lap-alpha", "priority": 5, "labels": ["db"]}
    first = await bot.event("trigger", "db1-disk", **fire)
    assert first.status_code == 201, first.text
    created = first.json()
    assert (created["action"], created["outcome"]) == ("trigger", "created")
    task = created["task"]
    assert (task["created_by"], task["priority"], task["dedupe_key"]) == (
        "alertmanager",
        5,
        "db1-disk",
    )

    again = await bot.event("trigger", "db1-disk", **fire)
    assert again.status_code == 200
    assert again.json()["outcome"] == "deduped"
    assert again.json()["task"]["id"] == task["id"]
    assert again.json()["task"]["occurrences"] == 2
    assert len((await alpha.inbox())["items"]) == 1  # no second offer

    updated = (await bot.event("update", "db1-disk", title="disk 97% on db1", priority=9)).json()
    assert updated["outcome"] == "updated"
    assert (updated["task"]["title"], updated["task"]["priority"]) == ("disk 97% on db1", 9)
    same = (await bot.event("update", "db1-disk", title="disk 97% on db1")).json()
    assert same["outcome"] == "unchanged"

    resolved = (await bot.event("resolve", "db1-disk")).json()
    assert resolved["outcome"] == "resolved"
    assert resolved["task"]["status"] == "cancelled"
    before = counts(hub)
    assert (await bot.event("resolve", "db1-disk")).json()["outcome"] == "unchanged"
    assert (await bot.event("update", "db1-disk", priority=1)).json()["outcome"] == "ignored"
    unknown = (await bot.event("resolve", "never-fired")).json()
    assert (unknown["outcome"], unknown["task"]) == ("ignored", None)
    assert counts(hub) == before

    refired = await bot.event("trigger", "db1-disk", **fire)
    assert refired.status_code == 201
    assert refired.json()["task"]["id"] != task["id"]

    history = await alpha.ok("GET", f"/tasks/{task['id']}/events")
    assert [e["type"] for e in history] == [
        "task.created",
        "task.deduped",
        "task.updated",
        "task.cancelled",
    ]
    assert history[2]["data"]["changes"] == ["title", "priority"]


async def test_integration_events_within_scope_and_target_only(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    reader = await integrate(hub, "reader", scopes=["tasks:read"], targets=["*"])
    creator = await integrate(hub, "creator", scopes=["tasks:create"], targets=["cap:db"])
    await creator.event("trigger", "k", title="t", target="cap:db")
    before = counts(hub)
    fire = {"title": "t", "target": "cap:db"}
    problem(await reader.event("trigger", "k", **fire), 403, "missing_scope")
    problem(await creator.event("trigger", "k2", title="t", target="cap:web"), 403)
    problem(await creator.event("resolve", "k"), 403, "missing_scope")
    problem(await creator.event("trigger", "k3", target="cap:db"), 422, "invalid")
    problem(await creator.event("trigger", "", **fire), 422, "bad_dedupe_key")
    problem(await creator.event("explode", "k", **fire), 422, "invalid")
    problem(await creator.event("trigger", "k", extra=1, **fire), 422, "invalid")
    problem(await creator.event("trigger", "k4", title="t", target="#nowhere"), 403)
    assert counts(hub) == before


async def test_each_integration_has_its_own_rate_limit(
    hub_factory: HubFactory,
) -> None:
    async with hub_factory(rate_limit=0) as hub:
        slow = await integrate(
            hub, "slow", scopes=["tasks:read"], targets=["*"], rate_limit=0.01, rate_burst=2
        )
        fast = await integrate(hub, "fast", scopes=["tasks:read"], targets=["*"])
        for _ in range(2):
            await slow.ok("GET", "/tasks")
        limited = await slow.request("GET", "/tasks")
        body = problem(limited, 429, "rate_limited")
        assert float(body["retry_after"]) > 1
        assert int(limited.headers["Retry-After"]) >= 1
        for _ in range(5):
            await fast.ok("GET", "/tasks")
        alpha = await hub.agent("lap-alpha")
        for _ in range(5):
            await alpha.ok("GET", "/tasks")


async def test_a_revoked_token_stops_at_once_and_the_name_can_be_reused(
    hub: InProcessHub,
) -> None:
    first = await integrate(hub, "ci", scopes=["tasks:read"], targets=["*"])
    await first.ok("GET", "/tasks")
    revoked = await hub.http.delete(f"{API}/admin/integrations/ci", headers=hub.admin_headers)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    problem(await first.request("GET", "/tasks"), 401, "bad_key")
    again = await hub.http.delete(f"{API}/admin/integrations/ci", headers=hub.admin_headers)
    assert again.status_code == 200
    problem(
        await hub.http.delete(f"{API}/admin/integrations/nope", headers=hub.admin_headers),
        404,
        "integration_not_found",
    )
    agent_id = (await hub.hub.agents.get("ci")).id
    second = await integrate(hub, "ci", scopes=["tasks:read"], targets=["*"])
    await second.ok("GET", "/tasks")
    problem(await first.request("GET", "/tasks"), 401, "bad_key")
    assert (await hub.hub.agents.get("ci")).id == agent_id
    listed = (await hub.http.get(f"{API}/admin/integrations", headers=hub.admin_headers)).json()
    assert [(i["name"], i["revoked_at"] is not None) for i in listed] == [
        ("ci", True),
        ("ci", False),
    ]


@pytest.mark.e2e
def test_the_cli_and_the_sdk_manage_and_use_integrations(live_hub: LiveHub) -> None:
    from hubbub.client import Client

    cli = cli_of(live_hub)
    name = f"cli-{secrets.token_hex(4)}"
    human = cli("integrations", "create", f"{name}-human", "--scope", "tasks:read")
    assert human.returncode == 0, human.stderr
    assert "token:" in human.stdout
    assert "webhook secret" not in human.stdout
    made = ok_json(
        cli(
            "integrations",
            "create",
            name,
            "--scope",
            "tasks:create",
            "--scope",
            "tasks:update",
            "--target",
            "cap:*",
            "--webhook",
            "http://127.0.0.1:9/unreachable",
            "--allow-private",  # loopback: the admin vouches for this destination
            "--rate-limit",
            "50",
            "--json",
        )
    )
    assert made["integration"]["rate_limit"] == 50
    assert made["integration"]["allow_private"] is True
    with Client(url=live_hub.url, key=made["token"]) as client:
        fired = client.integration_event("trigger", "job-1", title="build red", target="cap:ci")
        assert (fired.outcome, fired.task and fired.task.created_by) == ("created", name)
        assert client.integration_event("resolve", "job-1").outcome == "resolved"
    listed = ok_json(cli("integrations", "list", "--json"))
    assert name in [i["name"] for i in listed]
    assert made["token"] not in json.dumps(listed)
    sent = ok_json(cli("integrations", "deliveries", name, "--json"))
    assert {d["event_type"] for d in sent} <= {"task.created", "task.cancelled"}
    assert sent
    table = cli("integrations", "deliveries", name)
    assert table.returncode == 0
    assert "task.created" in table.stdout
    revoked = ok_json(cli("integrations", "revoke", name, "--json"))
    assert revoked["revoked_at"] is not None
    missing = cli("integrations", "revoke", "no-such-thing")
    assert missing.returncode == 3, missing.stderr
    assert "integration_not_found" in missing.stderr or "no integration" in missing.stderr
