"""Credentials and identity: machine keys act only as their machine's agents, the admin key
manages keys, and the sender of everything is stamped from the credential."""

from __future__ import annotations

import pytest

from tests.clients import API, AgentClient, InProcessHub, problem

pytestmark = pytest.mark.anyio


async def test_a_machine_key_registers_its_agents_on_first_use(hub: InProcessHub) -> None:
    key = await hub.key_for("lap")
    headers = {"Authorization": f"Bearer {key}", "X-Hubbub-Agent": "lap-newproj"}
    response = await hub.http.get(f"{API}/me", headers=headers)
    assert response.status_code == 200, response.text
    me = response.json()
    assert (me["name"], me["machine"], me["kind"]) == ("lap-newproj", "lap", "agent")
    again = await hub.http.get(f"{API}/me", headers=headers)
    assert again.json()["id"] == me["id"]
    assert hub.snapshot()["agents"] == 1


@pytest.mark.parametrize("name", ["srv-x", "laptop-x", "lapx", "other-lap-x"])
async def test_acting_as_another_machines_agent_is_403(hub: InProcessHub, name: str) -> None:
    key = await hub.key_for("lap")
    before = hub.snapshot()
    response = await hub.http.get(
        f"{API}/me", headers={"Authorization": f"Bearer {key}", "X-Hubbub-Agent": name}
    )
    problem(response, 403, "wrong_machine")
    assert hub.snapshot() == before


async def test_wrong_machine_cannot_post_either(hub: InProcessHub, alpha: AgentClient) -> None:
    before = hub.snapshot()
    impostor = AgentClient(hub.http, "srv-gamma", alpha.key)
    response = await impostor.post("/channels/general/messages", {"content": "hi"})
    problem(response, 403, "wrong_machine")
    assert hub.snapshot() == before


@pytest.mark.parametrize(
    "name",
    ["Lap-Alpha", "lap_alpha", "l", "lap-", "-lap", "lap alpha", "lap-" + "x" * 61, "lap-a.b"],
)
async def test_a_bad_agent_name_is_422_bad_name(hub: InProcessHub, name: str) -> None:
    key = await hub.key_for("lap")
    before = hub.snapshot()
    response = await hub.http.get(
        f"{API}/me", headers={"Authorization": f"Bearer {key}", "X-Hubbub-Agent": name}
    )
    problem(response, 422, "bad_name")
    assert hub.snapshot() == before


async def test_no_agent_header_is_422_agent_required(hub: InProcessHub) -> None:
    key = await hub.key_for("lap")
    before = hub.snapshot()
    response = await hub.http.post(
        f"{API}/channels/general/messages",
        json={"content": "hi"},
        headers={"Authorization": f"Bearer {key}"},
    )
    problem(response, 422, "agent_required")
    assert hub.snapshot() == before


async def test_missing_invalid_and_revoked_keys_write_nothing(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    body = {"content": "should not land"}
    before = hub.snapshot()
    path = f"{API}/channels/general/messages"
    cases = [
        ({}, "unauthorized"),
        ({"Authorization": "Bearer "}, "unauthorized"),
        ({"Authorization": "Bearer hb_unknown"}, "bad_key"),
        ({"Authorization": "Bearer not-even-prefixed"}, "bad_key"),
        ({"Authorization": "Token " + alpha.key}, "unauthorized"),
    ]
    for headers, code in cases:
        response = await hub.http.post(
            path, json=body, headers={**headers, "X-Hubbub-Agent": alpha.name}
        )
        problem(response, 401, code)
    assert hub.snapshot() == before


async def test_a_revoked_key_stops_working_at_once(hub: InProcessHub) -> None:
    made = await hub.http.post(
        f"{API}/admin/keys", json={"machine": "box"}, headers=hub.admin_headers
    )
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    box = AgentClient(hub.http, "box-one", key)
    await box.say("general", "before revocation")
    other = await hub.agent("lap-alpha")

    revoked = await hub.http.delete(
        f"{API}/admin/keys/{made.json()['info']['id']}", headers=hub.admin_headers
    )
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None

    before = hub.snapshot()
    problem(await box.post("/channels/general/messages", {"content": "after"}), 401, "bad_key")
    problem(await box.get("/me"), 401, "bad_key")
    assert hub.snapshot() == before
    assert len(await other.messages("general")) == 1  # other keys are untouched


async def test_machine_keys_cannot_use_admin_routes(hub: InProcessHub, alpha: AgentClient) -> None:
    before = hub.snapshot()
    problem(await alpha.get("/admin/keys"), 403, "admin_only")
    problem(await alpha.post("/admin/keys", {"machine": "evil"}), 403, "admin_only")
    problem(await alpha.delete("/admin/keys/1"), 403, "admin_only")
    assert hub.snapshot() == before


async def test_the_admin_key_creates_lists_and_revokes_keys(hub: InProcessHub) -> None:
    admin = hub.admin_headers
    made = await hub.http.post(
        f"{API}/admin/keys", json={"machine": "ci", "label": "runner"}, headers=admin
    )
    assert made.status_code == 201
    new = made.json()
    assert new["key"].startswith("hb_")
    assert (new["info"]["kind"], new["info"]["machine"], new["info"]["label"]) == (
        "machine",
        "ci",
        "runner",
    )
    admin_made = await hub.http.post(f"{API}/admin/keys", json={"kind": "admin"}, headers=admin)
    assert admin_made.status_code == 201
    assert admin_made.json()["key"].startswith("hb_admin_")

    listed = (await hub.http.get(f"{API}/admin/keys", headers=admin)).json()
    assert [k["id"] for k in listed] == sorted(k["id"] for k in listed)
    assert len(listed) == 3
    for info in listed:
        assert set(info) == {"id", "kind", "machine", "label", "prefix", "created_at", "revoked_at"}
    mine = next(k for k in listed if k["id"] == new["info"]["id"])
    assert new["key"].startswith(mine["prefix"])
    assert len(mine["prefix"]) < len(new["key"]) // 2
    assert new["key"] not in str(listed)

    first = await hub.http.delete(f"{API}/admin/keys/{mine['id']}", headers=admin)
    second = await hub.http.delete(f"{API}/admin/keys/{mine['id']}", headers=admin)
    assert first.status_code == second.status_code == 200
    assert first.json()["revoked_at"] == second.json()["revoked_at"] is not None


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kind": "machine"}, "bad_name"),
        ({"machine": "Bad Name"}, "bad_name"),
        ({"machine": "x" * 33}, "bad_name"),
        ({"kind": "admin", "machine": "lap"}, "invalid"),
        ({"machine": "lap", "label": "x" * 201}, "invalid"),
        ({"kind": "root", "machine": "lap"}, "invalid"),
    ],
)
async def test_bad_key_requests_are_422_and_create_nothing(
    hub: InProcessHub, body: dict[str, str], code: str
) -> None:
    before = hub.snapshot()
    response = await hub.http.post(f"{API}/admin/keys", json=body, headers=hub.admin_headers)
    problem(response, 422, code)
    assert hub.snapshot() == before


async def test_revoking_an_unknown_key_is_404(hub: InProcessHub) -> None:
    response = await hub.http.delete(f"{API}/admin/keys/999", headers=hub.admin_headers)
    problem(response, 404, "key_not_found")


async def test_the_admin_key_may_act_as_an_existing_agent_only(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    acting = AgentClient(hub.http, alpha.name, hub.admin_key)
    assert (await acting.ok("GET", "/me"))["name"] == alpha.name
    before = hub.snapshot()
    ghost = AgentClient(hub.http, "lap-nobody", hub.admin_key)
    problem(await ghost.get("/me"), 404, "agent_not_found")
    assert hub.snapshot() == before


async def test_the_sender_is_stamped_from_the_credential(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    before = hub.snapshot()
    forged = await alpha.post(
        "/channels/general/messages", {"content": "hi", "author": "srv-gamma"}
    )
    problem(forged, 422, "invalid")
    assert hub.snapshot() == before
    message = await alpha.say("general", "hi", metadata={"author": "srv-gamma"})
    assert message["author"] == "lap-alpha"
    assert message["metadata"] == {"author": "srv-gamma"}
