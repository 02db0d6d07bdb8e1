"""Export and import carry files: their bytes, names, messages, shared blobs and reference
counts move between SQLite and PostgreSQL, a signed link made before the move still works
after it (the hub secret moves too), and new files follow on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.files_support import CHUNK, content, sha, share
from tests.moving import move, running
from tests.postgres import Cluster

pytestmark = pytest.mark.anyio


async def check_files_move(source: str, target: str) -> None:
    async with running(source) as hub:
        alpha = await hub.agent("lap-alpha")
        await hub.agent("lap-beta")
        big = content(CHUNK * 3 + 17, seed=21)
        files = [
            await share(alpha, "general", big, "big.bin"),
            await share(alpha, "general", big, "same.bin"),  # the same bytes: one blob
            await share(alpha, "@lap-beta", b"just for you", "dm.txt"),
        ]
        link = await alpha.ok("POST", f"/files/{files[0]['id']}/link", {})
        listed = await alpha.ok("GET", "/files")
        blobs = hub.query("SELECT sha256, size, chunks, refs FROM blobs ORDER BY sha256")
        _, moved = await move(source, target)
    assert (moved.counts["files"], moved.counts["blobs"], moved.counts["blob_chunks"]) == (3, 2, 5)
    async with running(target) as hub:
        alpha = await hub.agent("lap-alpha")
        beta = await hub.agent("lap-beta")
        assert await alpha.ok("GET", "/files") == listed
        assert hub.query("SELECT sha256, size, chunks, refs FROM blobs ORDER BY sha256") == blobs
        for file, data in zip(files, [big, big, b"just for you"], strict=True):
            got = await alpha.get(f"/files/{file['id']}/content")
            assert (got.status_code, sha(got.content)) == (200, sha(data))
        message = await beta.ok("GET", f"/messages/{files[2]['message_id']}")
        assert message["metadata"]["file"]["id"] == files[2]["id"]
        assert (await hub.http.get(link["path"])).content == big
        after = await share(alpha, "general", b"new", "after.txt")
        assert after["id"] == files[-1]["id"] + 1
        # Deleting both names of the shared content frees it in the new database too.
        for file in files[:2]:
            assert (await alpha.delete(f"/files/{file['id']}")).status_code == 200
        assert hub.query("SELECT count(*) FROM blobs WHERE sha256 = ?", (sha(big),)) == [(0,)]


async def test_sqlite_to_sqlite_keeps_files(tmp_path: Path) -> None:
    await check_files_move(str(tmp_path / "a.db"), str(tmp_path / "b.db"))


@pytest.mark.postgres
async def test_sqlite_to_postgres_keeps_files(tmp_path: Path, postgres: Cluster) -> None:
    name = postgres.create_database(template=None)
    try:
        await check_files_move(str(tmp_path / "a.db"), postgres.url(name))
    finally:
        postgres.drop_database(name)


@pytest.mark.postgres
async def test_postgres_to_sqlite_keeps_files(tmp_path: Path, postgres: Cluster) -> None:
    name = postgres.new_database()
    try:
        await check_files_move(postgres.url(name), str(tmp_path / "b.db"))
    finally:
        postgres.drop_database(name)
