"""Who may reach a file, on both engines: files follow their channel's visibility on every
path (details, download, signed-link creation, listing, search by name, deletion), a
non-member gets the answer a missing file gets, and a signed link works with no key until it
expires, and stops when altered, when the file is deleted or when the secret is rotated."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.clients import API, AgentClient, InProcessHub, Json, problem
from tests.files_support import share

pytestmark = pytest.mark.anyio

MISSING = 999_999


async def scene(alpha: AgentClient) -> dict[str, Json]:
    """A file in each kind of place: a public channel, a private one, a secret one, a DM."""
    await alpha.create_channel("ops", "private")
    await alpha.create_channel("vault", "secret")
    return {
        "public": await share(alpha, "general", b"public", "report-public.txt"),
        "private": await share(alpha, "ops", b"private", "report-private.txt"),
        "secret": await share(alpha, "vault", b"secret", "report-secret.txt"),
        "dm": await share(alpha, "@lap-beta", b"dm", "report-dm.txt"),
    }


async def answers(agent: AgentClient, file_id: int) -> list[tuple[int, str, str]]:
    """What every path that names a file by id answers ``agent``: status, code and detail
    (with the id taken out, so two ids' answers compare)."""
    found = []
    calls: list[tuple[str, str, dict[str, int] | None]] = [
        ("GET", f"/files/{file_id}", None),
        ("GET", f"/files/{file_id}/content", None),
        ("POST", f"/files/{file_id}/link", {}),
        ("DELETE", f"/files/{file_id}", None),
    ]
    for method, path, body in calls:
        response = await agent.request(method, path, json=body)
        shown = problem(response, response.status_code)
        detail = shown["detail"].replace(str(file_id), "N")
        found.append((response.status_code, shown["code"], detail))
    return found


async def test_a_file_follows_its_channels_visibility_on_every_path(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    files = await scene(alpha)
    absent = await answers(gamma, MISSING)
    assert {status for status, _, _ in absent} == {404}
    assert {code for _, code, _ in absent} == {"file_not_found"}
    # lap-beta: another agent of the uploader's machine, a party to the DM, in no channel;
    # srv-gamma: another machine's agent, outside the DM.
    hidden = {"lap-beta": ("private", "secret"), "srv-gamma": ("private", "secret", "dm")}
    for viewer in (beta, gamma):
        for place in hidden[viewer.name]:
            assert await answers(viewer, files[place]["id"]) == absent, (viewer.name, place)
        listed = await viewer.ok("GET", "/files")
        seen = {f["id"] for f in listed["files"]}
        visible = {files[p]["id"] for p in files if p not in hidden[viewer.name]}
        assert seen == visible, viewer.name
        named = await viewer.ok("GET", "/files", params={"name": "report"})
        assert {f["id"] for f in named["files"]} == visible
    # Readable ones: a public channel's file for anyone, the DM's for its parties.
    for viewer, place in [(beta, "public"), (gamma, "public"), (beta, "dm")]:
        got = await viewer.get(f"/files/{files[place]['id']}/content")
        assert got.status_code == 200, (viewer.name, place)
    # Listing a channel one may not read is refused as reading it would be.
    problem(await beta.get("/files", params={"channel": "ops"}), 403, "not_a_member")
    problem(await beta.get("/files", params={"channel": "vault"}), 404, "channel_not_found")
    problem(await gamma.get("/files", params={"channel": "@lap-alpha"}), 404, "channel_not_found")
    dm = await beta.ok("GET", "/files", params={"channel": "@lap-alpha"})
    assert [f["id"] for f in dm["files"]] == [files["dm"]["id"]]
    # Another machine's key may not act as the uploader to reach them.
    gamma_key = await hub.key_for("srv")
    posing = AgentClient(hub.http, "lap-alpha", gamma_key)
    problem(await posing.get(f"/files/{files['secret']['id']}"), 403, "wrong_machine")
    # Joining (by invite) opens the private channel's file; nobody else's view changed.
    await alpha.ok("POST", "/channels/ops/invite", {"agent": "srv-gamma"})
    assert (await gamma.get(f"/files/{files['private']['id']}/content")).content == b"private"
    assert await answers(beta, files["private"]["id"]) == absent


async def test_a_signed_link_works_without_a_key_until_it_stops(
    hub: InProcessHub, alpha: AgentClient, gamma: AgentClient
) -> None:
    await alpha.create_channel("vault", "secret")
    file = await share(alpha, "vault", b"\x89PNG data", "shot.png")
    link = await alpha.ok("POST", f"/files/{file['id']}/link", {"ttl_seconds": 600})
    expires = datetime.fromisoformat(link["expires_at"])
    assert 590 < (expires - datetime.now(UTC)).total_seconds() <= 600
    anyone = hub.http  # no key at all
    got = await anyone.get(link["path"])
    assert (got.status_code, got.content) == (200, b"\x89PNG data")
    assert got.headers["content-disposition"].startswith("inline;")  # an image may be shown
    assert got.headers["x-content-type-options"] == "nosniff"
    # The default is an hour; a day at most; a link to what one may not read is refused.
    default = await alpha.ok("POST", f"/files/{file['id']}/link", {})
    hour = datetime.fromisoformat(default["expires_at"]) - datetime.now(UTC)
    assert 3590 < hour.total_seconds() <= 3600
    problem(await alpha.post(f"/files/{file['id']}/link", {"ttl_seconds": 86401}), 422)
    problem(await alpha.post(f"/files/{file['id']}/link", {"ttl_seconds": 0}), 422)
    problem(await gamma.post(f"/files/{file['id']}/link", {}), 404, "file_not_found")

    # Altered: another signature, another expiry, another file.
    path, query = link["path"].split("?")
    params = dict(part.split("=", 1) for part in query.split("&"))
    flipped = params["signature"][:-1] + ("A" if params["signature"][-1] != "A" else "B")
    tampered = [
        {**params, "signature": flipped},
        {**params, "expires": str(int(params["expires"]) + 3600)},
    ]
    for changed in tampered:
        problem(await anyone.get(path, params=changed), 403, "bad_signature")
    other = await share(alpha, "vault", b"other", "other.txt")
    problem(
        await anyone.get(f"{API}/files/{other['id']}/signed", params=params), 403, "bad_signature"
    )
    problem(await anyone.get(path, params={"expires": params["expires"]}), 422, "invalid")

    # Expired: a link the hub signed for a moment already past.
    past = int(datetime.now(UTC).timestamp()) - 1
    signature = await hub.hub.sessions.signature("file", f"{file['id']}:{past}")
    stale = await anyone.get(path, params={"expires": str(past), "signature": signature})
    assert "expired" in problem(stale, 403, "link_expired")["detail"]

    # Deleted: the link dies with the file.
    assert (await alpha.delete(f"/files/{file['id']}")).status_code == 200
    problem(await anyone.get(link["path"]), 404, "file_not_found")


async def test_rotating_the_secret_ends_every_link(hub: InProcessHub, alpha: AgentClient) -> None:
    file = await share(alpha, "general", b"text", "a.txt")
    link = await alpha.ok("POST", f"/files/{file['id']}/link", {})
    assert (await hub.http.get(link["path"])).status_code == 200
    await hub.hub.sessions.rotate_secret()
    problem(await hub.http.get(link["path"]), 403, "bad_signature")
    fresh = await alpha.ok("POST", f"/files/{file['id']}/link", {})
    assert (await hub.http.get(fresh["path"])).content == b"text"
