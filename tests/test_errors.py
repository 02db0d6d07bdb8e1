"""One error shape for every endpoint: RFC 9457 problem+json with a stable ``code``.

The route walk is built from the app itself, so a new route is checked without touching this
file (and one whose path parameter has no sample value fails loudly).
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hubbub.core.errors import ERROR_CLASSES, HubbubError, RateLimited, error_class_for_status
from hubbub.server import create_app
from hubbub.server.problems import from_error
from hubbub.settings import Settings
from tests.clients import API, AgentClient, HubFactory, InProcessHub, problem

pytestmark = pytest.mark.anyio

SAMPLE_PARAMS = {
    "name": "general",
    "message_id": "1",
    "key_id": "1",
    "task_id": "1",
    "file_id": "1",
    "pair_id": "1",
    "harness": "claude",
    "event": "prompt",
}
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def _api_routes() -> list[tuple[str, str, bool]]:
    """(method, path template, takes a JSON body) for every /api/v1 route that needs a key (all
    but /health and /ready), from the app's routing table; whether a route takes a JSON body
    (not a file) comes from its OpenAPI description."""
    app = create_app(Settings(db=str(Path(tempfile.gettempdir()) / "unopened.db"), provision=False))

    async def fetch() -> Any:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
            return (await http.get("/openapi.json")).json()

    documented = asyncio.run(fetch())["paths"]
    keyless = {e.path for e in app.state.endpoints if e.auth == "none"}
    found = []
    for route in app.routes:
        path = getattr(route, "path", "")
        if not path.startswith(API + "/") or path in keyless:
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            if method == "HEAD":
                continue
            operation = documented.get(path, {}).get(method.lower(), {})
            json_body = "application/json" in operation.get("requestBody", {}).get("content", {})
            found.append((method, path, json_body))
    return found


ROUTES = _api_routes()
BODY_ROUTES = [(method, path) for method, path, has_body in ROUTES if has_body]


def concrete(path: str) -> str:
    """A route template with sample values for its path parameters."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in SAMPLE_PARAMS, f"add a sample value for path parameter {name!r}"
        return SAMPLE_PARAMS[name]

    return _PARAM.sub(fill, path)


def route_id(route: tuple[Any, ...]) -> str:
    return f"{route[0]} {route[1]}"


@pytest.fixture
async def revoked(hub: InProcessHub) -> dict[str, str]:
    """Headers with a machine key and an admin key that were valid once and are revoked."""
    machine = await hub.hub.keys.create("machine", "lap", None)
    admin = await hub.hub.keys.create("admin", None, None)
    await hub.hub.keys.revoke(machine.info.id)
    await hub.hub.keys.revoke(admin.info.id)
    return {"machine": machine.key, "admin": admin.key}


def test_the_walk_sees_the_whole_api() -> None:
    assert len(ROUTES) >= 20
    assert len(BODY_ROUTES) >= 8
    paths = {path for _, path, _ in ROUTES}
    for expected in ("/me", "/channels/{name}/messages", "/send", "/inbox", "/admin/keys"):
        assert API + expected in paths


async def test_every_route_is_documented(hub: InProcessHub) -> None:
    response = await hub.http.get("/openapi.json")
    assert response.status_code == 200
    documented = response.json()["paths"]
    for method, path, _ in ROUTES:
        assert method.lower() in documented.get(path, {}), f"{method} {path} is undocumented"


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
async def test_no_credential_is_401(hub: InProcessHub, route: tuple[str, str, bool]) -> None:
    method, path, _ = route
    before = hub.snapshot()
    response = await hub.http.request(method, concrete(path), headers={"X-Hubbub-Agent": "lap-a"})
    problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].lower().startswith("bearer")
    assert hub.snapshot() == before


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
async def test_a_revoked_key_is_401_bad_key(
    hub: InProcessHub, revoked: dict[str, str], route: tuple[str, str, bool]
) -> None:
    method, path, _ = route
    before = hub.snapshot()
    for key in revoked.values():
        headers = {"Authorization": f"Bearer {key}", "X-Hubbub-Agent": "lap-a"}
        response = await hub.http.request(method, concrete(path), headers=headers)
        problem(response, 401, "bad_key")
    assert hub.snapshot() == before


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
async def test_an_unknown_or_malformed_key_is_401(
    hub: InProcessHub, route: tuple[str, str, bool]
) -> None:
    method, path, _ = route
    for key, code in (("hb_not-a-real-key", "bad_key"), ("sk-elsewhere", "bad_key")):
        headers = {"Authorization": f"Bearer {key}", "X-Hubbub-Agent": "lap-a"}
        response = await hub.http.request(method, concrete(path), headers=headers)
        problem(response, 401, code)
    basic = {"Authorization": "Basic dXNlcjpwYXNz", "X-Hubbub-Agent": "lap-a"}
    problem(await hub.http.request(method, concrete(path), headers=basic), 401, "unauthorized")


async def _auth_for(hub: InProcessHub, alpha: AgentClient, path: str) -> dict[str, str]:
    if path.startswith(f"{API}/admin/"):
        return hub.admin_headers
    if path == f"{API}/integrations/events":  # takes an integration token, not a key
        made = await hub.hub.integrations.create("errors", scopes=[], targets=[], channels=[])
        return {"Authorization": f"Bearer {made.token}"}
    return alpha.headers


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
async def test_malformed_json_is_400_bad_json(
    hub: InProcessHub, alpha: AgentClient, route: tuple[str, str]
) -> None:
    method, path = route
    headers = {**await _auth_for(hub, alpha, path), "Content-Type": "application/json"}
    before = hub.snapshot()
    response = await hub.http.request(method, concrete(path), content=b'{"a": ', headers=headers)
    problem(response, 400, "bad_json")
    assert hub.snapshot() == before


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
async def test_a_body_of_the_wrong_shape_is_422_invalid(
    hub: InProcessHub, alpha: AgentClient, route: tuple[str, str]
) -> None:
    method, path = route
    headers = await _auth_for(hub, alpha, path)
    before = hub.snapshot()
    for body in ([1, 2], {"no_such_field": True}):
        response = await hub.http.request(method, concrete(path), json=body, headers=headers)
        found = problem(response, 422, "invalid")
        assert isinstance(found["errors"], list), found
        assert found["errors"], found
    assert hub.snapshot() == before


async def test_bad_query_parameters_are_422_invalid(alpha: AgentClient) -> None:
    for params in ({"limit": 0}, {"limit": 501}, {"after": "x"}, {"before": 0}):
        response = await alpha.get("/channels/general/messages", params=params)
        problem(response, 422, "invalid")
    problem(await alpha.get("/search"), 422, "invalid")
    problem(await alpha.get("/inbox", params={"unknown": "1"}), 422, "invalid")
    problem(await alpha.get("/channels", params={"include_archived": "maybe"}), 422, "invalid")


@pytest.mark.parametrize("path", ["/messages/abc", "/messages/-1/thread", "/messages/1.5"])
async def test_a_non_numeric_id_is_422(alpha: AgentClient, path: str) -> None:
    problem(await alpha.get(path), 422, "invalid")


@pytest.mark.parametrize("path", [f"{API}/no-such-thing", "/no-such-thing", f"{API}/me/extra"])
async def test_an_unknown_route_is_a_404_problem(hub: InProcessHub, path: str) -> None:
    response = await hub.http.get(path, headers=hub.admin_headers)
    problem(response, 404, "not_found")


async def test_a_wrong_method_is_a_405_problem_with_allow(alpha: AgentClient) -> None:
    response = await alpha.request("DELETE", "/channels")
    problem(response, 405, "method_not_allowed")
    assert "allow" in response.headers, "a 405 must say which methods are allowed"
    assert {"GET", "POST"} <= set(response.headers["allow"].replace(" ", "").split(","))


async def test_an_oversized_body_is_413_before_any_route(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    before = hub.snapshot()
    limit: int = hub.app.state.settings.max_body_bytes
    body = {"content": "x" * (limit + 1)}
    problem(await alpha.post("/channels/general/messages", body), 413, "too_large")
    # No Content-Length: a chunked body is counted as it arrives.

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"content": "'
        for _ in range(limit // 1000 + 1):
            yield b"y" * 1000
        yield b'"}'

    headers = {**alpha.headers, "Content-Type": "application/json"}
    response = await hub.http.post(
        f"{API}/channels/general/messages", content=chunks(), headers=headers
    )
    problem(response, 413, "too_large")
    assert hub.snapshot() == before


async def test_a_chunked_body_under_the_limit_goes_through(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"content": "'
        yield b"chunked hello"
        yield b'"}'

    headers = {**alpha.headers, "Content-Type": "application/json"}
    response = await hub.http.post(
        f"{API}/channels/general/messages", content=chunks(), headers=headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["content"] == "chunked hello"


async def test_rate_limited_requests_get_429_and_retry_after(hub_factory: HubFactory) -> None:
    async with hub_factory(rate_limit=0.01, rate_burst=3) as hub:
        alpha = await hub.agent("lap-alpha")  # spends one token
        for _ in range(2):
            await alpha.ok("GET", "/me")
        response = await alpha.get("/me")
        found = problem(response, 429, "rate_limited")
        assert int(response.headers["retry-after"]) >= 1
        assert found["retry_after"] > 0
        # The admin key is not limited.
        admin = await hub.http.get(f"{API}/admin/keys", headers=hub.admin_headers)
        assert admin.status_code == 200


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_every_error_class_maps_to_its_status_and_back(cls: type[HubbubError]) -> None:
    error = RateLimited("boom", retry_after=2.0) if cls is RateLimited else cls("boom")
    response = from_error(error, "/somewhere")
    assert response.status_code == cls.status
    assert response.media_type == "application/problem+json"
    assert error.code == cls.default_code
    assert error_class_for_status(cls.status) is cls


def test_an_unknown_status_maps_to_the_root_error() -> None:
    assert error_class_for_status(418) is HubbubError
