"""In-process access to a hub: an ASGI client per agent, problem+json checks, DB snapshots."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from hubbub.core.hub import Hub

API = "/api/v1"
PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "instance"}
SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
TABLES = ("keys", "agents", "channels", "members", "messages", "inbox", "events", "tasks")

Json = dict[str, Any]


def problem(response: httpx.Response, status: int, code: str | None = None) -> Json:
    """Assert ``response`` is an RFC 9457 problem with ``status`` (and ``code``); return it."""
    assert response.status_code == status, (response.status_code, response.text)
    content_type = response.headers.get("content-type", "")
    assert content_type.startswith("application/problem+json"), content_type
    body: Json = response.json()
    assert body.keys() >= PROBLEM_KEYS, body
    assert body["status"] == status, body
    assert isinstance(body["code"], str), body
    assert SNAKE.fullmatch(body["code"]), body["code"]
    for text in ("type", "title", "detail"):
        assert isinstance(body[text], str), body
        assert body[text].strip(), body
    assert body["instance"] == response.request.url.path, body
    if code is not None:
        assert body["code"] == code, body
    return body


@dataclass
class AgentClient:
    """Requests as one agent: its machine key plus the ``X-Hubbub-Agent`` header."""

    http: httpx.AsyncClient
    name: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", "X-Hubbub-Agent": self.name}

    async def request(
        self, method: str, path: str, *, json: Any = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.http.request(method, API + path, json=json, headers=headers, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, json=json, **kwargs)

    async def patch(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.request("PATCH", path, json=json, **kwargs)

    async def put(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.request("PUT", path, json=json, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)

    async def ok(self, method: str, path: str, json: Any = None, **kwargs: Any) -> Any:
        """The decoded JSON of a request that must succeed."""
        response = await self.request(method, path, json=json, **kwargs)
        assert response.is_success, (method, path, response.status_code, response.text)
        return response.json()

    async def say(self, channel: str, content: str, **body: Any) -> Json:
        """Post in a channel and return the message."""
        message: Json = await self.ok(
            "POST", f"/channels/{channel}/messages", {"content": content, **body}
        )
        return message

    async def send(self, target: str, content: str, **body: Any) -> Json:
        """Send to a target and return the send result."""
        result: Json = await self.ok(
            "POST", "/send", {"target": target, "content": content, **body}
        )
        return result

    async def create_channel(self, name: str, visibility: str = "public") -> Json:
        channel: Json = await self.ok("POST", "/channels", {"name": name, "visibility": visibility})
        return channel

    async def messages(self, channel: str, **params: Any) -> list[Json]:
        page = await self.ok("GET", f"/channels/{channel}/messages", params=params)
        found: list[Json] = page["messages"]
        return found

    async def inbox(self, **params: Any) -> Json:
        inbox: Json = await self.ok("GET", "/inbox", params=params)
        return inbox

    async def board(self) -> Json:
        board: Json = await self.ok("GET", "/board")
        return board

    async def search(self, q: str, **params: Any) -> list[Json]:
        result = await self.ok("GET", "/search", params={"q": q, **params})
        hits: list[Json] = result["hits"]
        return hits


@dataclass
class InProcessHub:
    """A hub app with its lifespan running, on a real SQLite file, reached over ASGI."""

    app: Starlette
    http: httpx.AsyncClient
    db_path: Path
    admin_key: str
    machine_keys: dict[str, str] = field(default_factory=dict)
    db_url: str | None = None
    """The PostgreSQL database's URL, when the hub runs on PostgreSQL (else ``db_path``)."""

    @property
    def hub(self) -> Hub:
        hub: Hub = self.app.state.hub
        return hub

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_key}"}

    async def key_for(self, machine: str) -> str:
        """The machine key of ``machine`` (created on first use)."""
        if machine not in self.machine_keys:
            made = await self.hub.keys.create("machine", machine, None)
            self.machine_keys[machine] = made.key
        return self.machine_keys[machine]

    async def agent(self, name: str) -> AgentClient:
        """A client acting as ``name`` (machine: the part before the first hyphen), registered."""
        client = AgentClient(self.http, name, await self.key_for(name.split("-", 1)[0]))
        await client.ok("GET", "/me")
        return client

    def snapshot(self) -> dict[str, int]:
        """Row counts of every table, read straight from the database."""
        return {table: int(self.query(f"SELECT count(*) FROM {table}")[0][0]) for table in TABLES}

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows read straight from the database, past the hub, on either engine (write the
        SQL both understand; ``?`` marks parameters)."""
        if self.db_url is not None:
            import psycopg

            with psycopg.connect(self.db_url) as pg:
                return [tuple(row) for row in pg.execute(sql.replace("?", "%s"), params)]
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
        try:
            return [tuple(row) for row in conn.execute(sql, params)]
        finally:
            conn.close()


HubFactory = Callable[..., AbstractAsyncContextManager[InProcessHub]]
"""Starts an in-process hub with some settings changed (the ``hub_factory`` fixture)."""
