"""Human users: admin routes, the core service's password rules and login check, and the
``hubbub users`` commands against a real hub."""

from __future__ import annotations

import pytest

from hubbub.core.errors import Unauthorized
from tests.clients import API, InProcessHub, problem
from tests.live import LiveHub, cli_of, ok_json

USERS = f"{API}/admin/users"
SECRET = "correct horse battery"

pytestmark = pytest.mark.anyio


async def test_admin_creates_lists_repasswords_and_disables_users(hub: InProcessHub) -> None:
    admin = hub.admin_headers
    made = await hub.http.post(USERS, json={"name": "ada", "password": SECRET}, headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["name"] == "ada"
    assert made.json()["disabled"] is False
    agent = await hub.hub.store.agent("ada")
    assert agent is not None
    assert (agent.kind, agent.machine) == ("human", "human")

    listed = await hub.http.get(USERS, headers=admin)
    assert [u["name"] for u in listed.json()] == ["ada"]

    changed = await hub.http.put(
        f"{USERS}/ada/password", json={"password": "another password"}, headers=admin
    )
    assert changed.status_code == 200, changed.text
    assert (await hub.hub.users.verify("ada", "another password")).name == "ada"

    disabled = await hub.http.post(f"{USERS}/ada/disable", headers=admin)
    assert disabled.json()["disabled"] is True
    again = await hub.http.post(f"{USERS}/ada/disable", headers=admin)
    assert (again.status_code, again.json()["disabled"]) == (200, True)
    with pytest.raises(Unauthorized) as caught:
        await hub.hub.users.verify("ada", "another password")
    assert caught.value.code == "bad_login"

    for response in (made, listed, changed, disabled):
        assert "password" not in response.text
        assert "argon2" not in response.text


async def test_verify_accepts_the_right_password_only(hub: InProcessHub) -> None:
    await hub.hub.users.create("bob", SECRET)
    assert (await hub.hub.users.verify("bob", SECRET)).name == "bob"
    for name, password in (("bob", "wrong password"), ("nobody", SECRET), ("B!", SECRET)):
        with pytest.raises(Unauthorized) as caught:
            await hub.hub.users.verify(name, password)
        assert caught.value.code == "bad_login"


async def test_bad_input_changes_nothing(hub: InProcessHub) -> None:
    admin = hub.admin_headers
    await hub.hub.users.create("ada", SECRET)
    await hub.agent("lap-alpha")
    before = hub.snapshot()
    cases = [
        ({"name": "ada", "password": SECRET}, 409, "user_exists"),
        ({"name": "lap-alpha", "password": SECRET}, 409, "user_exists"),
        ({"name": "Bad Name", "password": SECRET}, 422, "bad_name"),
        ({"name": "carol", "password": "short"}, 422, "bad_password"),
        ({"name": "carol", "password": "x" * 257}, 422, "bad_password"),
        ({"name": "carol"}, 422, "invalid"),
        ({"name": "carol", "password": SECRET, "role": "owner"}, 422, "invalid"),
        ({"name": "carol", "password": SECRET, "admin": "yes"}, 422, "invalid"),
    ]
    for body, status, code in cases:
        problem(await hub.http.post(USERS, json=body, headers=admin), status, code)
    problem(
        await hub.http.put(f"{USERS}/ada/password", json={"password": "short"}, headers=admin),
        422,
        "bad_password",
    )
    problem(
        await hub.http.put(f"{USERS}/nobody/password", json={"password": SECRET}, headers=admin),
        404,
        "user_not_found",
    )
    problem(await hub.http.post(f"{USERS}/nobody/disable", headers=admin), 404, "user_not_found")
    # an agent that is no user cannot be disabled as one
    problem(await hub.http.post(f"{USERS}/lap-alpha/disable", headers=admin), 404, "user_not_found")
    assert hub.snapshot() == before
    assert [u.name for u in await hub.hub.users.list()] == ["ada"]
    assert (await hub.hub.users.verify("ada", SECRET)).disabled is False


async def test_only_the_admin_key_administers_users(hub: InProcessHub) -> None:
    alpha = await hub.agent("lap-alpha")
    before = hub.snapshot()
    problem(await alpha.get("/admin/users"), 403, "admin_only")
    problem(
        await alpha.post("/admin/users", {"name": "eve", "password": SECRET}), 403, "admin_only"
    )
    problem(await alpha.put("/admin/users/eve/password", {"password": SECRET}), 403, "admin_only")
    problem(await alpha.post("/admin/users/eve/disable"), 403, "admin_only")
    problem(await hub.http.get(USERS), 401, "unauthorized")
    assert hub.snapshot() == before
    assert await hub.hub.users.list() == []


@pytest.mark.e2e
def test_users_commands_against_a_real_hub(live_hub: LiveHub) -> None:
    cli = cli_of(live_hub)
    made = ok_json(
        cli("users", "create", "cli-user", "--password-stdin", "--json", stdin=SECRET + "\n")
    )
    assert made == {
        "name": "cli-user",
        "created_at": made["created_at"],
        "disabled": False,
        "admin": False,
    }

    listed = ok_json(cli("users", "list", "--json"))
    assert "cli-user" in [u["name"] for u in listed]
    assert SECRET not in str(listed)
    assert "argon2" not in str(listed)

    taken = cli("users", "create", "cli-user", "--password-stdin", stdin=SECRET + "\n")
    assert (taken.returncode, "user_exists" in taken.stderr) == (1, True), taken.stderr
    short = cli("users", "create", "cli-other", "--password-stdin", stdin="short\n")
    assert (short.returncode, "bad_password" in short.stderr) == (1, True), short.stderr

    changed = cli("users", "passwd", "cli-user", "--password-stdin", stdin="a new password\n")
    assert changed.returncode == 0, changed.stderr

    done = ok_json(cli("users", "disable", "cli-user", "--json"))
    assert done["disabled"] is True
    missing = cli("users", "disable", "nobody-here")
    assert (missing.returncode, "user_not_found" in missing.stderr) == (3, True), missing.stderr
    listed = ok_json(cli("users", "list", "--json"))
    assert {u["name"]: u["disabled"] for u in listed}["cli-user"] is True


async def test_a_machine_key_cannot_act_as_a_human_named_like_its_agents(
    hub: InProcessHub,
) -> None:
    await hub.hub.users.create("lap-boss", SECRET)
    key = await hub.hub.keys.create("machine", "lap", None)
    headers = {"Authorization": f"Bearer {key.key}", "X-Hubbub-Agent": "lap-boss"}
    refused = await hub.http.get(f"{API}/me", headers=headers)
    problem(refused, 403, "wrong_machine")
