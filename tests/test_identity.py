"""Identity rules: machine names that prefix each other (``vm`` and ``vm-x``) do not share a
namespace, a hub with agents registered in another machine's namespace says so, and the last
admin credential cannot be revoked."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import subprocess
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from hubbub.core.errors import Conflict
from hubbub.core.keys import digest
from hubbub.store import is_postgres
from tests.clients import API, AgentClient, InProcessHub, problem
from tests.live import HUBBUB, clean_env
from tests.moving import running

pytestmark = pytest.mark.anyio


async def act(hub: InProcessHub, machine: str, agent: str) -> Any:
    """``GET /me`` as ``agent`` with ``machine``'s key (created on first use)."""
    client = AgentClient(hub.http, agent, await hub.key_for(machine))
    return await client.get("/me")


async def acts(hub: InProcessHub, machine: str, agent: str) -> None:
    """``machine``'s key acts as ``agent`` (registering it on first use)."""
    response = await act(hub, machine, agent)
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["machine"]) == (agent, machine)


async def refused(hub: InProcessHub, machine: str, agent: str, owner: str | None) -> None:
    """``machine``'s key may not act as ``agent``, which belongs to machine ``owner`` (which
    the refusal names); nothing is written."""
    before = hub.snapshot()
    body = problem(await act(hub, machine, agent), 403, "wrong_machine")
    if owner is not None:
        assert repr(owner) in body["detail"], body
    assert hub.snapshot() == before


async def create_key(hub: InProcessHub, machine: str) -> Any:
    """``POST /admin/keys`` for ``machine``."""
    return await hub.http.post(
        f"{API}/admin/keys", json={"machine": machine}, headers=hub.admin_headers
    )


def execute(db: str, sql: str, params: Sequence[Any] = ()) -> None:
    """Write straight into a database (either engine; ``?`` marks parameters), past every
    rule of the hub: the state an older hub could leave behind."""
    if is_postgres(db):
        import psycopg

        with psycopg.connect(db) as pg:
            pg.execute(sql.replace("?", "%s").encode(), params)
        return
    conn = sqlite3.connect(db)
    try:
        with conn:
            conn.execute(sql, params)
    finally:
        conn.close()


# machine namespaces


async def test_a_shorter_machine_cannot_take_a_longer_ones_agent_names(hub: InProcessHub) -> None:
    await acts(hub, "vm", "vm-api")
    await acts(hub, "vm", "vm-a-b")  # the machine names are read (and cached) from here on
    made = await create_key(hub, "vm-x")
    assert made.status_code == 201, made.text
    # Refused at once: creating the key refreshed this process's machine names.
    await refused(hub, "vm", "vm-x-anything", "vm-x")
    await acts(hub, "vm-x", "vm-x-anything")
    await refused(hub, "vm", "vm-x-anything", "vm-x")  # registered now, and still not vm's
    # vm keeps the rest of its namespace.
    await acts(hub, "vm", "vm-xy-one")
    await acts(hub, "vm", "vm-api")


async def test_a_machine_whose_namespace_holds_anothers_agents_is_409_and_written_nowhere(
    hub: InProcessHub,
) -> None:
    names = [f"vm-x-a{i}" for i in range(1, 8)]
    for name in names:
        await acts(hub, "vm", name)
    await acts(hub, "vm", "vm-y-other")
    before = hub.snapshot()
    keys_before = hub.query("SELECT id, machine FROM keys ORDER BY id")
    body = problem(await create_key(hub, "vm-x"), 409, "machine_overlap")
    detail = body["detail"]
    for text in ("'vm-x'", "7 agent(s)", *names[:5], "and 2 more", "machine 'vm'"):
        assert text in detail, (text, detail)
    for text in ("vm-x-a6", "vm-x-a7", "vm-y-other"):
        assert text not in detail, (text, detail)
    assert hub.snapshot() == before
    assert hub.query("SELECT id, machine FROM keys ORDER BY id") == keys_before
    # Nothing changed for vm, and another name is free.
    await acts(hub, "vm", "vm-x-a1")
    await acts(hub, "vm", "vm-x-a8")
    assert (await create_key(hub, "vm-z")).status_code == 201


async def test_nested_machines_each_own_their_own_names(hub: InProcessHub) -> None:
    for machine in ("a", "a-b", "a-b-c"):
        await hub.key_for(machine)
    await acts(hub, "a", "a-x")
    await acts(hub, "a", "a-bc-x")  # a-bc is no machine: a's
    await refused(hub, "a", "a-b-x", "a-b")
    await refused(hub, "a", "a-b-c-x", "a-b-c")
    await acts(hub, "a-b", "a-b-x")
    await acts(hub, "a-b", "a-b-cd")
    await refused(hub, "a-b", "a-b-c-x", "a-b-c")
    await acts(hub, "a-b-c", "a-b-c-x")
    await refused(hub, "a-b-c", "a-b-x", None)  # not even named like a-b-c's


async def test_a_middle_machine_is_refused_only_for_the_agents_it_would_take(
    hub: InProcessHub,
) -> None:
    await acts(hub, "a-b-c", "a-b-c-keep")  # nested deeper: stays a-b-c's
    await acts(hub, "a", "a-b-taken")  # no machine a-b yet: a's
    body = problem(await create_key(hub, "a-b"), 409, "machine_overlap")
    assert "a-b-taken" in body["detail"], body
    assert "a-b-c-keep" not in body["detail"], body
    # A machine whose namespace holds only longer machines' agents is no overlap.
    await acts(hub, "x-y-z", "x-y-z-w")
    assert (await create_key(hub, "x-y")).status_code == 201
    assert (await create_key(hub, "x")).status_code == 201
    await acts(hub, "x-y-z", "x-y-z-w")


async def test_a_revoked_machine_still_owns_its_namespace(hub: InProcessHub) -> None:
    await hub.key_for("vm")
    made = (await create_key(hub, "vm-x")).json()
    revoked = await hub.http.delete(
        f"{API}/admin/keys/{made['info']['id']}", headers=hub.admin_headers
    )
    assert revoked.status_code == 200, revoked.text
    # Revoking vm-x's keys hands its names to no one.
    await refused(hub, "vm", "vm-x-squat", "vm-x")
    # vm-x is no new machine: a new key for it is not checked again, and works.
    again = await create_key(hub, "vm-x")
    assert again.status_code == 201, again.text
    client = AgentClient(hub.http, "vm-x-back", again.json()["key"])
    assert (await client.ok("GET", "/me"))["machine"] == "vm-x"


async def test_the_admin_key_still_acts_as_any_existing_agent(hub: InProcessHub) -> None:
    await hub.key_for("vm-x")
    await acts(hub, "vm-x", "vm-x-api")
    admin = AgentClient(hub.http, "vm-x-api", hub.admin_key)
    assert (await admin.ok("GET", "/me"))["name"] == "vm-x-api"


# a hub that already has overlaps


Overlapping = Callable[[], Awaitable[tuple[str, str, str]]]


@pytest.fixture
def overlapping(new_database: Callable[[], str]) -> Overlapping:
    """A database where machine ``vm`` registered ``vm-x-one`` and ``vm-x-two`` before a key
    for machine ``vm-x`` was created, as a hub without the rule allowed; returns the
    database, ``vm``'s key and ``vm-x``'s."""

    async def make() -> tuple[str, str, str]:
        db = new_database()
        async with running(db) as hub:
            for name in ("vm-x-one", "vm-x-two", "vm-api"):
                await acts(hub, "vm", name)
            vm_key = hub.machine_keys["vm"]
        secret = "hb_legacy-key-of-machine-vm-x"
        execute(
            db,
            "INSERT INTO keys (kind, machine, label, prefix, digest, created_at) "
            "VALUES ('machine', 'vm-x', NULL, ?, ?, 0)",
            (secret[:12], digest(secret)),
        )
        return db, vm_key, secret

    return make


async def test_a_hub_with_overlaps_warns_at_start_and_neither_machine_acts_as_them(
    overlapping: Overlapping, caplog: pytest.LogCaptureFixture
) -> None:
    db, vm_key, vmx_key = await overlapping()
    with caplog.at_level(logging.WARNING, logger="hubbub"):
        async with running(db) as hub:
            warned = [r.getMessage() for r in caplog.records if r.name == "hubbub"]
            assert len(warned) == 1, warned
            assert "2 agent(s)" in warned[0], warned
            for text in ("vm-x-one", "vm-x-two", "'vm'", "'vm-x'"):
                assert text in warned[0], warned
            assert "vm-api" not in warned[0], warned
            before = hub.snapshot()
            for key, said in ((vm_key, "belongs to machine 'vm-x'"), (vmx_key, "by machine 'vm'")):
                client = AgentClient(hub.http, "vm-x-one", key)
                body = problem(await client.get("/me"), 403, "wrong_machine")
                assert said in body["detail"], body
            assert hub.snapshot() == before
            await AgentClient(hub.http, "vm-api", vm_key).ok("GET", "/me")
            await AgentClient(hub.http, "vm-x-three", vmx_key).ok("GET", "/me")


async def test_a_hub_without_overlaps_starts_without_a_warning(
    new_database: Callable[[], str], caplog: pytest.LogCaptureFixture
) -> None:
    db = new_database()
    async with running(db) as hub:
        await acts(hub, "vm", "vm-api")
        await acts(hub, "vm-x", "vm-x-api")
    with caplog.at_level(logging.WARNING, logger="hubbub"):
        async with running(db):
            pass
    assert not [r for r in caplog.records if r.name == "hubbub"]


def migrate_check(db: str, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HUBBUB), "migrate", "--check", "--db", db, *args],
        capture_output=True,
        text=True,
        env=clean_env(tmp),
        timeout=60,
        check=False,
    )


@pytest.mark.e2e
async def test_migrate_check_reports_overlaps_without_failing(
    overlapping: Overlapping, tmp_path: Path
) -> None:
    db, _, _ = await overlapping()
    shown = await asyncio.to_thread(migrate_check, db, tmp_path)
    assert shown.returncode == 0, shown  # up to date: overlaps are a warning only
    assert "up to date" in shown.stdout
    warning = shown.stdout.split("warning:", 1)[1]
    for text in ("2 agent(s)", "vm-x-one", "vm-x-two"):
        assert text in warning, (text, warning)
    assert "vm-api" not in warning
    report = json.loads((await asyncio.to_thread(migrate_check, db, tmp_path, "--json")).stdout)
    assert report["pending"] == []
    assert report["misplaced"] == [
        {"agent": "vm-x-one", "machine": "vm", "owner": "vm-x"},
        {"agent": "vm-x-two", "machine": "vm", "owner": "vm-x"},
    ]


# the last admin credential


def live_admin_keys(hub: InProcessHub) -> int:
    found = hub.query("SELECT count(*) FROM keys WHERE kind = 'admin' AND revoked_at IS NULL")
    return int(found[0][0])


async def revoke(hub: InProcessHub, key_id: int, headers: dict[str, str] | None = None) -> Any:
    return await hub.http.delete(f"{API}/admin/keys/{key_id}", headers=headers or hub.admin_headers)


async def admin_key_id(hub: InProcessHub) -> int:
    """The id of the fixture's admin key."""
    listed = (await hub.http.get(f"{API}/admin/keys", headers=hub.admin_headers)).json()
    return int(next(k["id"] for k in listed if hub.admin_key.startswith(k["prefix"])))


async def test_the_last_admin_key_cannot_revoke_itself(hub: InProcessHub) -> None:
    own = await admin_key_id(hub)
    before = hub.snapshot()
    body = problem(await revoke(hub, own), 409, "last_admin")
    assert f"key {own}" in body["detail"], body
    assert hub.snapshot() == before
    assert live_admin_keys(hub) == 1
    # It still works.
    assert (await hub.http.get(f"{API}/admin/keys", headers=hub.admin_headers)).status_code == 200


async def test_an_admin_key_that_is_not_the_last_can_be_revoked(hub: InProcessHub) -> None:
    own = await admin_key_id(hub)
    other = await hub.hub.keys.create("admin", None, "spare")
    done = await revoke(hub, own)
    assert done.status_code == 200, done.text
    assert done.json()["revoked_at"] is not None
    problem(await hub.http.get(f"{API}/admin/keys", headers=hub.admin_headers), 401, "bad_key")
    spare = {"Authorization": f"Bearer {other.key}"}
    # Revoking a revoked key changes nothing, even with one admin key left.
    again = await revoke(hub, own, spare)
    assert again.status_code == 200, again.text
    assert again.json()["revoked_at"] == done.json()["revoked_at"]
    problem(await revoke(hub, other.info.id, spare), 409, "last_admin")
    # Machine keys are no admin credential: revoking them is never refused.
    machine = await hub.hub.keys.create("machine", "lap", None)
    assert (await revoke(hub, machine.info.id, spare)).status_code == 200
    assert live_admin_keys(hub) == 1


async def test_two_concurrent_revocations_of_the_last_two_admin_keys_leave_one(
    hub: InProcessHub,
) -> None:
    own = await admin_key_id(hub)
    for _ in range(3):
        first = await hub.hub.keys.create("admin", None, "first")
        second = await hub.hub.keys.create("admin", None, "second")
        await hub.hub.keys.revoke(own)  # leaves first and second, the last two
        assert live_admin_keys(hub) == 2
        outcomes = await asyncio.gather(
            hub.hub.keys.revoke(first.info.id),
            hub.hub.keys.revoke(second.info.id),
            return_exceptions=True,
        )
        refusals = [o for o in outcomes if isinstance(o, Conflict)]
        assert len(refusals) == 1, outcomes
        assert refusals[0].code == "last_admin"
        assert live_admin_keys(hub) == 1
        # The one left is the admin key of the next round.
        survivor = first if outcomes[0] is refusals[0] else second
        assert (await hub.hub.keys.verify(survivor.key)).is_admin
        own = survivor.info.id
