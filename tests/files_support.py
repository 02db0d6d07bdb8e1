"""For the file tests: uploads as an agent (the raw body or a form), and what the database
holds of files, read straight from it."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from tests.clients import AgentClient, InProcessHub, Json

STORED = ("blobs", "blob_chunks", "files", "messages")
CHUNK = 256 * 1024


def content(size: int, seed: int = 0) -> bytes:
    """``size`` bytes that differ from any other ``seed``'s (so each is stored apart)."""
    block = hashlib.sha256(f"seed {seed}".encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def upload(
    agent: AgentClient,
    to: str,
    data: bytes,
    name: str | None = "data.bin",
    *,
    content_type: str = "application/octet-stream",
    **params: Any,
) -> httpx.Response:
    """A raw-body upload (the body is the file)."""
    query = {"to": to, **({"name": name} if name is not None else {}), **params}
    headers = {"Content-Type": content_type}
    return await agent.post("/files", params=query, content=data, headers=headers)


async def upload_form(
    agent: AgentClient,
    to: str,
    data: bytes,
    name: str = "data.bin",
    *,
    content_type: str = "application/octet-stream",
    fields: dict[str, str] | None = None,
    **params: Any,
) -> httpx.Response:
    """A form upload: ``fields`` first, the file last."""
    return await agent.post(
        "/files",
        params={"to": to, **params},
        data=fields or {},
        files={"file": (name, data, content_type)},
    )


async def share(agent: AgentClient, to: str, data: bytes, name: str = "data.bin") -> Json:
    """Upload a file that must be taken; the file as the hub describes it."""
    response = await upload(agent, to, data, name)
    assert response.status_code == 201, response.text
    shared: Json = response.json()
    return shared


def stored(hub: InProcessHub) -> dict[str, int]:
    """Rows of the tables files touch, read straight from the database."""
    return {table: int(hub.query(f"SELECT count(*) FROM {table}")[0][0]) for table in STORED}


def blobs(hub: InProcessHub) -> list[tuple[Any, ...]]:
    """Every blob: hash (``None`` while loose), size, chunks and references."""
    return hub.query("SELECT sha256, size, chunks, refs FROM blobs ORDER BY id")
