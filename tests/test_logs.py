"""JSON logs: with ``log_format = json`` every line ``hubbub serve`` writes is a JSON object,
the access log's carrying the request's id, which the response answers in ``X-Request-Id``."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.live import running_hub

pytestmark = pytest.mark.e2e


def json_lines(path: Path, want: int, within: float = 30.0) -> list[dict[str, Any]]:
    """The JSON lines of ``path`` once it holds at least ``want`` access lines."""
    deadline = time.monotonic() + within
    while True:
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        if sum(1 for line in lines if line["logger"] == "uvicorn.access") >= want:
            return lines
        if time.monotonic() > deadline:
            raise AssertionError(f"{want} access lines never came: {lines}")
        time.sleep(0.05)


def test_json_logs_carry_the_request_id_the_response_answers(tmp_path: Path) -> None:
    env = {"HUBBUB_LOG_FORMAT": "json", "HUBBUB_ACCESS_LOG": "true", "HUBBUB_LOG_LEVEL": "info"}
    with running_hub(tmp_path, env=env) as hub:
        given = httpx.get(f"{hub.url}/api/v1/health", headers={"X-Request-Id": "lb-7f3a.9"})
        assert given.headers["x-request-id"] == "lb-7f3a.9"
        made = httpx.get(f"{hub.url}/api/v1/nowhere")
        assert made.status_code == 404
        assert re.fullmatch(r"[0-9a-f]{16}", made.headers["x-request-id"])
        odd = httpx.get(f"{hub.url}/api/v1/health", headers={"X-Request-Id": "x" * 65})
        assert odd.headers["x-request-id"] != "x" * 65  # not a plain short token: a new id
        lines = json_lines(hub.home / "serve.stderr", want=3)
    access = {line["request_id"]: line for line in lines if line["logger"] == "uvicorn.access"}
    assert access["lb-7f3a.9"]["path"] == "/api/v1/health"
    assert access["lb-7f3a.9"]["status"] == 200
    assert access[made.headers["x-request-id"]]["status"] == 404
    assert access[made.headers["x-request-id"]]["method"] == "GET"
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)


def test_text_logs_add_no_request_id(tmp_path: Path) -> None:
    with running_hub(tmp_path) as hub:
        answer = httpx.get(f"{hub.url}/api/v1/health", headers={"X-Request-Id": "abc"})
        assert "x-request-id" not in answer.headers
