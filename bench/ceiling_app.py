"""The ceiling servers: the least a hub-like endpoint can do on this machine.

Run as ``python -m bench.ceiling_app --mode bare|insert --port N [--db FILE --sync FULL]``.
Both serve Starlette under uvicorn with the settings ``hubbub serve`` uses (default loop, so
uvloop; the hub's httptools protocol with its default head limits; no access log, no server
header):

- ``bare``: ``POST /api/v1/channels/general/messages`` reads the JSON body and answers 201
  with a small JSON object; ``GET /api/v1/ping`` answers a small JSON object.
- ``insert``: the same POST also inserts one row into a SQLite file opened with the hub's
  pragmas (WAL, the given ``synchronous``) and commits it: one transaction per request,
  no batching, right on the event loop.

``GET /api/v1/health`` answers in both modes, for readiness polling.
"""

from __future__ import annotations

import argparse
import sqlite3
import time
from pathlib import Path

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hubbub.server.http import HeadLimits, protocol
from hubbub.store.sqlite.engine import SYNCHRONOUS, connect

JSON = "application/json"


def _open(path: Path, synchronous: str) -> sqlite3.Connection:
    conn = connect(path, synchronous=synchronous)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, content TEXT NOT NULL, "
        "created_at INTEGER NOT NULL)"
    )
    return conn


def build(mode: str, db: Path, synchronous: str) -> Starlette:
    """The ceiling app for ``mode``."""
    conn = _open(db, synchronous) if mode == "insert" else None

    async def health(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type=JSON)

    async def ping(request: Request) -> Response:
        return Response(b'{"pong":true}', media_type=JSON)

    async def post_bare(request: Request) -> Response:
        orjson.loads(await request.body())
        return Response(b'{"id":0}', status_code=201, media_type=JSON)

    async def post_insert(request: Request) -> Response:
        assert conn is not None
        content = orjson.loads(await request.body())["content"]
        row = conn.execute(
            "INSERT INTO messages (content, created_at) VALUES (?, ?) RETURNING id",
            (content, time.time_ns() // 1000),
        ).fetchone()
        return Response(orjson.dumps({"id": row[0]}), status_code=201, media_type=JSON)

    post = post_insert if mode == "insert" else post_bare
    return Starlette(
        routes=[
            Route("/api/v1/health", health),
            Route("/api/v1/ping", ping),
            Route("/api/v1/channels/general/messages", post, methods=["POST"]),
        ]
    )


def main() -> None:
    """Serve one ceiling app until SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["bare", "insert"], required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", type=Path, default=Path("ceiling.db"))
    parser.add_argument("--sync", choices=SYNCHRONOUS, default="FULL")
    args = parser.parse_args()
    config = uvicorn.Config(
        build(args.mode, args.db, args.sync),
        host="127.0.0.1",
        port=args.port,
        http=protocol(HeadLimits()),
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
