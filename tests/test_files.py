"""Files on an in-process hub, on both engines: a 10 MB round trip with its hash, the message
each upload is attached to, names and types, content stored once and freed with its last
reference, size and quota refusals that store nothing, the headers a download goes out with,
and deleting (a file, or the message that shared it)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
from pathlib import Path

import pytest

from hubbub.client import AsyncClient
from tests.agent_tools import sdk
from tests.clients import AgentClient, HubFactory, InProcessHub, problem
from tests.files_support import CHUNK, blobs, content, sha, share, stored, upload, upload_form
from tests.realtime import eventually

pytestmark = pytest.mark.anyio

TEN_MB = 10 * 1024 * 1024


async def test_a_10_mb_file_goes_there_and_back_with_its_hash(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    data = content(TEN_MB, seed=1)
    response = await upload(alpha, "#general", data, "big.bin", sha256=sha(data))
    assert response.status_code == 201, response.text
    file = response.json()
    assert (file["size"], file["sha256"], file["name"]) == (TEN_MB, sha(data), "big.bin")
    assert blobs(hub) == [(sha(data), TEN_MB, TEN_MB // CHUNK, 1)]

    got = await beta.get(f"/files/{file['id']}/content")
    assert got.status_code == 200
    assert hashlib.sha256(got.content).hexdigest() == sha(data)
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert got.headers["repr-digest"] == f"sha-256=:{digest}:"
    assert got.headers["content-length"] == str(TEN_MB)

    # The SDK streams from a file object and checks what it downloads.
    async with sdk(hub, "lap-beta") as client:
        again = await client.upload("general", io.BytesIO(data), name="copy.bin")
        assert again.sha256 == sha(data)
        received = io.BytesIO()
        assert (await client.download(again.id, received)).id == again.id
        assert received.getvalue() == data
    assert len(blobs(hub)) == 1  # the same content, stored once


async def test_every_upload_is_attached_to_a_message_in_the_conversation(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    plain = await share(alpha, "general", b"hello\n", "notes.txt")
    page = await beta.messages("general")
    shared = page[-1]
    assert shared["id"] == plain["message_id"]
    assert (shared["author"], shared["content"]) == ("lap-alpha", "shared `notes.txt` (6 B)")
    assert shared["metadata"] == {
        "file": {
            "id": plain["id"],
            "name": "notes.txt",
            "size": 6,
            "content_type": "text/plain",
            "sha256": sha(b"hello\n"),
        }
    }
    # The uploader's own words, with their mentions; a form's fields go first.
    worded = await upload_form(
        alpha, "#general", b"x", "trace.log", fields={"message": "the trace, @srv-gamma"}
    )
    assert worded.status_code == 201, worded.text
    message = await alpha.ok("GET", f"/messages/{worded.json()['message_id']}")
    assert (message["content"], message["mentions"]) == ("the trace, @srv-gamma", ["srv-gamma"])
    assert [i["message"]["id"] for i in (await gamma.inbox())["items"]] == [message["id"]]
    # To an @agent: its DM, and an item in its inbox.
    dm = await share(alpha, "@lap-beta", b"for you", "secret.txt")
    assert dm["channel"] == "dm:lap-alpha:lap-beta"
    item = (await beta.inbox())["items"][-1]
    assert (item["kind"], item["message"]["id"]) == ("dm", dm["message_id"])
    # A name that would need code to show safely in Markdown stays inert.
    odd = await share(alpha, "general", b"y", "a`b *c* @lap-beta.txt")
    shown = await alpha.ok("GET", f"/messages/{odd['message_id']}")
    assert shown["content"] == "shared ``a`b *c* @lap-beta.txt`` (1 B)"
    assert shown["mentions"] == []


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ana\\report.pdf", "report.pdf"),
        ("bad\x07name\x1b.txt", "bad_name_.txt"),
        ("gnp\u202eexe.png", "gnp_exe.png"),
        ("  spaced   out  .log ", "spaced out .log"),
        ("..", "file"),
        ("x" * 296 + ".txt", "x" * 251 + ".txt"),
    ],
)
async def test_names_lose_folders_and_control_characters(
    alpha: AgentClient, sent: str, kept: str
) -> None:
    response = await upload(alpha, "general", b"z", sent)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == kept
    assert len(kept) <= 255


async def test_the_type_comes_from_the_upload_or_the_name(alpha: AgentClient) -> None:
    typed = await upload(alpha, "general", b"{}", "x", content_type="application/json")
    assert typed.json()["content_type"] == "application/json"
    guessed = await upload(alpha, "general", b"\x89PNG", "shot.png")
    assert guessed.json()["content_type"] == "image/png"
    unknown = await upload(alpha, "general", b"?", "noext")
    assert unknown.json()["content_type"] == "application/octet-stream"


async def test_a_download_never_runs_in_the_hubs_origin(
    alpha: AgentClient, beta: AgentClient
) -> None:
    page = b"<html><script>alert(document.cookie)</script></html>"
    for name, kind in [("evil.html", "text/html"), ("evil.svg", "image/svg+xml")]:
        file = (await upload(alpha, "general", page, name, content_type=kind)).json()
        assert file["content_type"] == kind  # kept as sent, never served as such
        got = await beta.get(f"/files/{file['id']}/content")
        assert got.headers["content-type"] == "application/octet-stream"
        assert got.headers["content-disposition"].startswith("attachment;")
        assert got.headers["x-content-type-options"] == "nosniff"
        assert got.headers["content-security-policy"] == "default-src 'none'; sandbox"
    image = await share(alpha, "general", b"\x89PNG", "shot.png")
    got = await beta.get(f"/files/{image['id']}/content")
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"].startswith("attachment;")  # the API's own download
    unicode = await share(alpha, "general", b"u", 'résumé "final".txt')
    got = await beta.get(f"/files/{unicode['id']}/content")
    assert got.headers["content-disposition"] == (
        'attachment; filename="r_sum_ _final_.txt"; '
        "filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.txt"
    )
    head = await beta.request("HEAD", f"/files/{unicode['id']}/content")
    assert (head.status_code, head.headers["content-length"], head.content) == (200, "1", b"")


async def test_the_same_content_is_stored_once_and_freed_with_its_last_file(
    hub: InProcessHub, alpha: AgentClient, gamma: AgentClient
) -> None:
    data = content(CHUNK * 2 + 100, seed=2)
    uploads = await asyncio.gather(
        *[upload(alpha if n % 2 else gamma, "general", data, f"copy{n}.bin") for n in range(6)]
    )
    assert [r.status_code for r in uploads] == [201] * 6
    ids = [r.json()["id"] for r in uploads]
    assert len(set(ids)) == 6
    assert blobs(hub) == [(sha(data), len(data), 3, 6)]
    assert stored(hub)["blob_chunks"] == 3
    for file_id, response in zip(ids[:5], uploads[:5], strict=True):
        owner = alpha if response.json()["uploader"] == "lap-alpha" else gamma
        assert (await owner.delete(f"/files/{file_id}")).status_code == 200
    assert blobs(hub) == [(sha(data), len(data), 3, 1)]
    last = gamma if uploads[5].json()["uploader"] == "srv-gamma" else alpha
    assert (await last.delete(f"/files/{ids[5]}")).status_code == 200
    assert blobs(hub) == []
    assert stored(hub)["blob_chunks"] == 0
    # New content after that is stored anew, in a blob of its own.
    again = await share(alpha, "general", data, "again.bin")
    assert blobs(hub) == [(sha(data), len(data), 3, 1)]
    assert (await alpha.get(f"/files/{again['id']}/content")).content == data


async def test_deleting_a_message_deletes_the_files_it_shared(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    file = await share(alpha, "general", content(1000, seed=3), "gone.bin")
    await alpha.delete(f"/messages/{file['message_id']}")
    problem(await beta.get(f"/files/{file['id']}"), 404, "file_not_found")
    assert stored(hub)["files"] == 0
    await hub.hub.files.sweep()  # the maintenance round frees what the delete let go
    assert (stored(hub)["blobs"], stored(hub)["blob_chunks"]) == (0, 0)


async def test_only_the_uploader_or_an_admin_deletes_a_file(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    first = await share(alpha, "general", b"one", "one.txt")
    second = await share(alpha, "general", b"two", "two.txt")
    problem(await beta.delete(f"/files/{first['id']}"), 403, "not_uploader")
    assert (await alpha.delete(f"/files/{first['id']}")).json()["id"] == first["id"]
    problem(await alpha.delete(f"/files/{first['id']}"), 404, "file_not_found")
    as_admin = {"Authorization": f"Bearer {hub.admin_key}", "X-Hubbub-Agent": "lap-beta"}
    gone = await hub.http.delete(f"/api/v1/files/{second['id']}", headers=as_admin)
    assert gone.status_code == 200, gone.text
    assert stored(hub)["files"] == 0


async def test_a_file_over_the_limit_is_refused_and_nothing_is_stored(
    hub_factory: HubFactory,
) -> None:
    async with hub_factory(max_file_bytes=CHUNK * 2) as hub:
        alpha = await hub.agent("lap-alpha")
        before = stored(hub)
        big = content(CHUNK * 2 + 1, seed=4)
        problem(await upload(alpha, "general", big), 413, "file_too_large")
        problem(await upload_form(alpha, "general", big), 413, "file_too_large")
        problem(await upload(alpha, "general", b""), 422, "empty_file")
        problem(await upload_form(alpha, "general", b""), 422, "empty_file")
        wrong = await upload(alpha, "general", big[:100], sha256="0" * 64)
        problem(wrong, 422, "hash_mismatch")
        assert stored(hub) == before
        assert blobs(hub) == []
        exact = await upload(alpha, "general", big[:-1], sha256=sha(big[:-1]).upper())
        assert exact.status_code == 201, exact.text


async def test_every_upload_counts_against_its_machines_quota(hub_factory: HubFactory) -> None:
    data = content(CHUNK, seed=5)
    async with hub_factory(file_quota_bytes=CHUNK * 2 + CHUNK // 2) as hub:
        alpha, beta, gamma = [await hub.agent(n) for n in ("lap-alpha", "lap-beta", "srv-gamma")]
        first = await share(alpha, "general", data, "a.bin")
        await share(beta, "general", data, "b.bin")  # the same content: it counts all the same
        before = stored(hub)
        over = await upload(alpha, "general", data, "c.bin")
        assert "quota" in problem(over, 413, "quota_exceeded")["detail"]
        problem(await upload_form(beta, "general", data, "d.bin"), 413, "quota_exceeded")
        assert stored(hub) == before
        await share(gamma, "general", data, "other-machine.bin")  # each machine its own
        await alpha.delete(f"/files/{first['id']}")  # a deleted file stops counting
        await share(beta, "general", data, "e.bin")


async def test_bad_uploads_are_refused_and_store_nothing(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    await alpha.create_channel("closed")
    await alpha.ok("POST", "/channels/closed/archive")
    before = stored(hub)
    cases = [
        (await upload(alpha, "nowhere", b"x"), 404, "channel_not_found"),
        (await upload(alpha, "@lap-nobody", b"x"), 404, "unknown_target"),
        (await upload(alpha, "@lap-alpha", b"x"), 422, "bad_target"),
        (await upload(alpha, "closed", b"x"), 409, "channel_archived"),
        (await upload(alpha, "Bad Name", b"x"), 422, "bad_name"),
        (await upload(alpha, "general", b"x", sha256="xyz"), 422, "bad_sha256"),
        (await upload(alpha, "general", b"x", message="y" * 40_000), 413, "content_too_large"),
        (await upload_form(alpha, "general", b"x", fields={"other": "1"}), 422, "invalid"),
        (
            await alpha.post(
                "/files",
                params={"to": "general"},
                content=b'--b\r\nContent-Disposition: form-data; name="file"\r\n\r\nx',
                headers={"Content-Type": "multipart/form-data; boundary=b"},
            ),
            400,
            "bad_upload",
        ),
        (
            await alpha.post(
                "/files",
                params={"to": "general"},
                data={"message": "no file"},
                files={"other": ("a.txt", b"a", "text/plain")},
            ),
            400,
            "bad_upload",
        ),
    ]
    for response, status, code in cases:
        problem(response, status, code)
    no_file = await alpha.post(
        "/files",
        params={"to": "general"},
        content=b'--b\r\nContent-Disposition: form-data; name="message"\r\n\r\nhi\r\n--b--\r\n',
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    problem(no_file, 422, "no_file")
    assert stored(hub) == before


async def test_listing_finds_files_by_channel_and_name_newest_first(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    await alpha.create_channel("tech-ops")
    made = [
        await share(alpha, "general", b"1", "build-log.txt"),
        await share(alpha, "tech-ops", b"2", "Deploy_100%.txt"),
        await share(alpha, "general", b"3", "screenshot.png"),
    ]
    everything = await alpha.ok("GET", "/files")
    assert [f["id"] for f in everything["files"]] == [f["id"] for f in reversed(made)]
    general = await alpha.ok("GET", "/files", params={"channel": "#general"})
    assert [f["name"] for f in general["files"]] == ["screenshot.png", "build-log.txt"]
    named = await alpha.ok("GET", "/files", params={"name": "deploy_100%"})
    assert [f["name"] for f in named["files"]] == ["Deploy_100%.txt"]
    assert (await alpha.ok("GET", "/files", params={"name": "d_l"}))[
        "files"
    ] == []  # "_" is no wildcard
    first = await alpha.ok("GET", "/files", params={"limit": 2})
    assert (len(first["files"]), first["has_more"]) == (2, True)
    rest = await alpha.ok("GET", "/files", params={"before": first["cursor"]})
    assert ([f["id"] for f in rest["files"]], rest["has_more"]) == ([made[0]["id"]], False)


async def test_the_sdk_uploads_from_a_path_and_downloads_to_one(
    hub: InProcessHub, tmp_path: Path
) -> None:
    source = tmp_path / "report.csv"
    source.write_bytes(b"a,b\n1,2\n")
    async with sdk(hub, "lap-alpha") as client:
        assert isinstance(client, AsyncClient)
        file = await client.upload("#general", source, message="the numbers")
        assert (file.name, file.content_type, file.size) == ("report.csv", "text/csv", 8)
        target = tmp_path / "copy.csv"
        await client.download(file.id, target)
        assert target.read_bytes() == b"a,b\n1,2\n"
        assert [f.id for f in (await client.files(channel="general")).files] == [file.id]
        assert (await client.file(file.id)).message_id == file.message_id
        link = await client.file_link(file.id, ttl=120)
        assert client.link_url(link).startswith(f"http://hub/api/v1/files/{file.id}/signed?")
        assert (await client.delete_file(file.id)).id == file.id


async def test_retention_deletes_old_files_and_frees_their_bytes(hub_factory: HubFactory) -> None:
    async with hub_factory(file_retention_days=1e-6) as hub:  # about a tenth of a second
        alpha = await hub.agent("lap-alpha")
        file = await share(alpha, "general", content(CHUNK + 1, seed=6), "old.bin")

        async def swept() -> bool | None:
            await hub.hub.files.sweep()  # what the maintenance round runs once a minute
            return True if stored(hub)["files"] == 0 else None

        await eventually(swept, within=20)
        assert (stored(hub)["blobs"], stored(hub)["blob_chunks"]) == (0, 0)
        problem(await alpha.get(f"/files/{file['id']}"), 404, "file_not_found")
        message = await alpha.ok("GET", f"/messages/{file['message_id']}")
        assert not message["deleted"]  # the message stays
