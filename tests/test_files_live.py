"""Files on a real ``hubbub serve``, on both engines: an upload over the limit refused before
its body is read, an upload cut off that leaves nothing, ``file.shared`` reaching a waiting
agent and its event stream, the ``hubbub files`` commands and the sync SDK, and a signed link
fetched with no key at all, as a browser or curl would."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from hubbub.client import Client
from tests.clients import AgentClient, problem
from tests.files_support import content, sha
from tests.live import LiveHub, cli_of, ok_json, running_hub
from tests.moving import query
from tests.postgres import Cluster
from tests.realtime import LiveAgents, eventually, live_agents
from tests.sse import open_stream

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

LIMIT = 3 * 1024 * 1024


def db_of(hub: LiveHub, db: str | None) -> str:
    return db or str(hub.db_path)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def files_hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveHub, str]]:
    """A real hub taking files of up to 3 MiB, and its database."""
    db = None
    if request.param == "postgres":
        cluster: Cluster = request.getfixturevalue("postgres")
        db = cluster.url(cluster.new_database())
    env = {"HUBBUB_MAX_FILE_BYTES": str(LIMIT), "HUBBUB_RATE_LIMIT": "0"}
    with running_hub(tmp_path_factory.mktemp("files"), db=db, env=env) as hub:
        yield hub, db_of(hub, db)


@pytest.fixture
async def agents(files_hub: tuple[LiveHub, str]) -> AsyncIterator[LiveAgents]:
    async with live_agents(files_hub[0]) as found:
        yield found


def counts(db: str) -> tuple[int, int, int]:
    """Blobs, chunks and files in the database."""
    return tuple(  # type: ignore[return-value]
        int(query(db, f"SELECT count(*) FROM {table}")[0][0])
        for table in ("blobs", "blob_chunks", "files")
    )


def raw_request(hub: LiveHub, agent: AgentClient, head: str, body: bytes = b"") -> socket.socket:
    """A connection that has sent an upload's head (and ``body``, the start of its body)."""
    sock = socket.create_connection(("127.0.0.1", hub.port), timeout=30)
    lines = [
        head,
        "Host: 127.0.0.1",
        f"Authorization: Bearer {agent.key}",
        f"X-Hubbub-Agent: {agent.name}",
        "Content-Type: application/octet-stream",
    ]
    sock.sendall(("\r\n".join(lines) + "\r\n").encode() + body)
    return sock


def status_of(sock: socket.socket) -> int:
    answer = b""
    while b"\r\n" not in answer:
        piece = sock.recv(4096)
        if not piece:
            break
        answer += piece
    return int(answer.split(b" ", 2)[1])


async def test_an_upload_over_the_limit_is_refused_before_its_body_is_read(
    files_hub: tuple[LiveHub, str], agents: LiveAgents
) -> None:
    hub, db = files_hub
    alpha = await agents.agent("lap-big")
    before = counts(db)
    # Announced too large: refused on the head alone, with nothing of the body sent.
    for length in (LIMIT + 1, 1024**3):
        sock = raw_request(
            hub,
            alpha,
            "POST /api/v1/files?to=general&name=big.bin HTTP/1.1",
            f"Content-Length: {length}\r\n\r\n".encode(),
        )
        with sock:
            assert status_of(sock) == 413

    # Not announced (chunked): refused as soon as the bytes pass the limit (the server then
    # drops the rest of the body unread).
    async def chunks() -> AsyncIterator[bytes]:
        piece = content(256 * 1024, seed=7)
        for _ in range(4 * LIMIT // len(piece)):
            yield piece

    async with httpx.AsyncClient(base_url=hub.url, timeout=30) as http:
        response = await http.post(
            "/api/v1/files", params={"to": "general"}, content=chunks(), headers=alpha.headers
        )
    problem(response, 413, "file_too_large")
    assert counts(db) == before


async def test_an_upload_cut_off_leaves_nothing(
    files_hub: tuple[LiveHub, str], agents: LiveAgents
) -> None:
    hub, db = files_hub
    alpha = await agents.agent("lap-cut")
    before = counts(db)
    total = 2 * 1024 * 1024
    sock = raw_request(
        hub,
        alpha,
        "POST /api/v1/files?to=tech-cut&name=half.bin HTTP/1.1",
        f"Content-Length: {total}\r\n\r\n".encode() + content(total // 2, seed=8),
    )

    async def writing() -> bool | None:
        # Chunks of the half that arrived are stored as it streams in.
        return True if counts(db)[1] > before[1] else None

    await eventually(writing, within=20)
    sock.close()

    async def cleaned() -> bool | None:
        return True if counts(db) == before else None

    await eventually(cleaned, within=30)
    assert await alpha.ok("GET", "/files", params={"name": "half"}) == {
        "files": [],
        "cursor": 0,
        "has_more": False,
    }
    # Not even the channel its message would have made on first post.
    problem(await alpha.get("/channels/tech-cut"), 404, "channel_not_found")


async def test_file_shared_reaches_a_waiting_agent_and_the_stream(
    files_hub: tuple[LiveHub, str], agents: LiveAgents
) -> None:
    alpha, beta = await agents.agent("lap-sharer"), await agents.agent("lap-waiter")
    inbox = await beta.inbox()
    async with open_stream(beta, types="file") as stream:
        async with anyio.create_task_group() as group:
            waited: list[dict[str, object]] = []

            async def wait() -> None:
                params = {"after": inbox["cursor"], "wait": 30}
                waited.append(await beta.ok("GET", "/inbox", params=params))

            group.start_soon(wait)
            # Give the wait a moment to reach the hub; were it late, it would find the item
            # at once, so the test holds either way.
            await anyio.sleep(0.2)
            shared = await alpha.ok(
                "POST",
                "/files",
                params={"to": f"@{beta.name}", "name": "log.txt"},
                content=b"the log",
            )
        event = await stream.expect()
    assert event.type == "file.shared"
    assert event.payload["file"]["id"] == shared["id"]
    assert event.payload["file"]["channel"] == shared["channel"]
    items = waited[0]["items"]
    assert isinstance(items, list)
    assert [item["message"]["id"] for item in items] == [shared["message_id"]]
    assert items[0]["message"]["metadata"]["file"]["id"] == shared["id"]


async def test_the_cli_and_the_sync_sdk_share_get_list_link_and_delete(
    files_hub: tuple[LiveHub, str], tmp_path: Path
) -> None:
    hub, _ = files_hub
    cli = cli_of(hub)
    source = tmp_path / "build output.log"
    source.write_bytes(content(LIMIT, seed=9))
    put = ok_json(cli("files", "put", str(source), "--to", "#general", "--json"))
    assert (put["name"], put["size"], put["sha256"]) == (
        "build output.log",
        LIMIT,
        sha(source.read_bytes()),
    )
    listed = ok_json(cli("files", "ls", "general", "--name", "build", "--json"))
    assert put["id"] in [f["id"] for f in listed["files"]]
    target = tmp_path / "got.log"
    got = cli("files", "get", str(put["id"]), "-o", str(target))
    assert got.returncode == 0, got.stderr
    assert target.read_bytes() == source.read_bytes()
    again = cli("files", "get", str(put["id"]), "-o", str(target))
    assert (again.returncode, "file_exists" in again.stderr) == (1, True)
    link = ok_json(cli("files", "url", str(put["id"]), "--ttl", "120", "--json"))
    assert link["url"].startswith(hub.url + f"/api/v1/files/{put['id']}/signed?")
    async with httpx.AsyncClient(timeout=30) as anyone:  # a browser or curl: no key
        fetched = await anyone.get(link["url"])
    assert hashlib.sha256(fetched.content).hexdigest() == put["sha256"]
    assert fetched.headers["content-disposition"].startswith("attachment;")
    printed = cli("files", "url", str(put["id"]))
    assert printed.stdout.strip().startswith(hub.url)  # only the URL on stdout
    missing = cli("files", "get", "999999")
    assert (missing.returncode, "file_not_found" in missing.stderr) == (3, True)
    assert ok_json(cli("files", "rm", str(put["id"]), "--json"))["id"] == put["id"]
    async with httpx.AsyncClient(timeout=30) as anyone:
        assert (await anyone.get(link["url"])).status_code == 404

    # The sync client: a path up, a path down, the hash checked.
    config = hub.config()
    with Client(hub.url, config["key"], "lap-sync") as client:
        small = tmp_path / "small.bin"
        small.write_bytes(b"\x00\x01" * 1000)
        file = client.upload("general", small)
        down = tmp_path / "down.bin"
        assert client.download(file.id, down).sha256 == sha(small.read_bytes())
        assert down.read_bytes() == small.read_bytes()
        stdin = cli(
            "files",
            "put",
            "-",
            "--to",
            "general",
            "--name",
            "piped.txt",
            "--json",
            stdin="from a pipe",
        )
        assert ok_json(stdin)["name"] == "piped.txt"
