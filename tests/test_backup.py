"""``hubbub backup``: a copy of the database taken while a hub writes to it holds every message
acknowledged before the backup began, and restores (SQLite: the file put in place and served;
PostgreSQL: its export imported); a refused backup writes nothing."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from hubbub.store import is_postgres
from tests.live import HUBBUB, clean_env, running_hub
from tests.moving import query, running

pytestmark = pytest.mark.anyio


async def backup_command(home: Path, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        str(HUBBUB),
        "backup",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_env(home),
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def files_in(folder: Path) -> list[Path]:
    """Everything under ``folder``, sorted."""
    return sorted(folder.rglob("*"))


async def test_a_backup_under_write_load_holds_every_acknowledged_message(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    source = new_database()
    postgres = is_postgres(source)
    target = tmp_path / ("hub.jsonl.gz" if postgres else "copy.db")
    async with running(source) as hub:
        admin_key = hub.admin_key  # copied with the database: it works on the restored hub
        alpha = await hub.agent("lap-alpha")
        before = [(await alpha.say("general", f"before {n}"))["id"] for n in range(200)]
        backup = asyncio.ensure_future(
            backup_command(tmp_path, "--db", source, "-o", str(target), "--json")
        )
        during: list[int] = []
        while not backup.done():  # the hub keeps taking posts while the copy is made
            during.append((await alpha.say("general", f"during {len(during)}"))["id"])
        code, out, err = await backup
    assert code == 0, err
    summary = json.loads(out)
    assert summary["file"] == str(target)
    assert summary["checked"] is True
    assert os.stat(target).st_mode & 0o777 == 0o600, "it holds key digests"
    assert not [p for p in files_in(tmp_path) if p.name.endswith(".partial")]
    assert during, "no post was answered while the backup ran"
    restored = target
    if postgres:  # restored through the export's import, into a fresh SQLite file
        restored = tmp_path / "restored.db"
        env = clean_env(tmp_path)
        done = await asyncio.create_subprocess_exec(
            str(HUBBUB), "import", str(target), "--db", str(restored), env=env
        )
        assert await asyncio.wait_for(done.wait(), timeout=120) == 0
    else:
        copy = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        copy.close()
    ids = [row[0] for row in query(str(restored), "SELECT id FROM messages ORDER BY id")]
    assert set(before) <= set(ids)
    assert ids == list(range(ids[0], ids[0] + len(ids))), "the copy is one snapshot: no holes"
    # The copy serves: a hub started on it reads every message acknowledged before.
    home = tmp_path / "serve"
    with running_hub(home, db_path=restored, args=["--no-provision"]) as live:
        answer = live.request("GET", "/api/v1/stats", key=admin_key)
        assert answer.status_code == 200, answer.text
        assert answer.json()["messages"] >= len(before)


async def test_a_refused_backup_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    async with running(str(db)) as hub:
        await (await hub.agent("lap-alpha")).say("general", "hello")
    taken = tmp_path / "taken.db"
    taken.write_bytes(b"mine")
    files = files_in(tmp_path)
    refused = [
        (["--db", str(db), "-o", str(taken)], "bad_backup_path"),
        (["--db", str(db), "-o", str(tmp_path / "no" / "x.db")], "bad_backup_path"),
        (["--db", str(tmp_path / "missing.db"), "-o", str(tmp_path / "y.db")], "bad_db"),
    ]
    for args, code in refused:
        status, _, err = await backup_command(tmp_path, *args)
        assert status == 1, (args, err)
        assert f"error ({code})" in err, (args, err)
    assert taken.read_bytes() == b"mine"
    assert files_in(tmp_path) == files


async def test_a_folder_gets_a_dated_file(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    async with running(str(db)) as hub:
        await (await hub.agent("lap-alpha")).say("general", "hello")
    folder = tmp_path / "backups"
    folder.mkdir()
    status, out, err = await backup_command(tmp_path, "--db", str(db), "-o", str(folder))
    assert status == 0, err
    [made] = files_in(folder)
    assert made.name.startswith("hubbub-")
    assert made.suffix == ".db"
    assert "checked" in out
