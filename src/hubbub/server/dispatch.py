"""The REST API's direct path: a request that an endpoint of the route table fully matches
(its path and its method) goes from the server to the body limit and that endpoint, with
no other layer between them. Starlette's router and middleware cost as much per request as a
post's own work on the event loop, and an endpoint needs none of them: it parses, answers
and turns every error into a problem itself.

Every other request — the dashboard, ``/mcp``, ``/openapi.json``, and an API path the table
does not fully match — goes through Starlette as before, so a 404 or 405 has one answer.
Matching follows Starlette's exactly: the same compiled paths, tried in the same order, the
first full match winning.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubbub.core.errors import HubbubError
from hubbub.server import logs, problems
from hubbub.server.metrics import MCP_PATH, Metrics

Runner = Callable[[Request], Awaitable[Response]]
Found = tuple[Runner, dict[str, Any], str]
"""An endpoint's runner, the request's path parameters, and the path's template."""


class _Path:
    """One path of the table: its compiled pattern and the runner of each method."""

    __slots__ = ("convertors", "methods", "pattern", "template")

    def __init__(self, template: str, methods: Mapping[str, Runner]) -> None:
        self.template = template
        self.pattern: re.Pattern[str]
        self.pattern, _, self.convertors = compile_path(template)
        self.methods = dict(methods)

    def match(self, path: str) -> dict[str, Any] | None:
        found = self.pattern.match(path)
        if found is None:
            return None
        return {
            name: self.convertors[name].convert(value) for name, value in found.groupdict().items()
        }


class RouteTable:
    """The endpoints' paths in route order, looked up as Starlette's router would: a path with
    no parameter by a dictionary (its answer per method worked out in advance, earlier
    parameterised paths included), the others by trying each pattern in order. A path
    outside the folder every template is in (``/api/v1``) is not looked at further."""

    def __init__(self, paths: Mapping[str, Mapping[str, Runner]]) -> None:
        self._prefix = os.path.commonpath(list(paths)).partition("{")[0]
        compiled = [_Path(template, methods) for template, methods in paths.items()]
        self._patterns = [path for path in compiled if path.convertors]
        self._exact: dict[str, dict[str, Found]] = {}
        for template in paths:
            if "{" in template:
                continue
            answers: dict[str, Found] = {}
            for path in compiled:  # in route order: the first full match wins
                params = path.match(template)
                if params is None:
                    continue
                for method, runner in path.methods.items():
                    answers.setdefault(method, (runner, params, path.template))
            self._exact[template] = answers

    def find(self, method: str, path: str) -> Found | None:
        """The runner and path parameters for a request, or ``None`` if no endpoint fully
        matches it (Starlette then answers it, 404 and 405 included)."""
        if not path.startswith(self._prefix):
            return None
        if method == "HEAD":
            method = "GET"
        exact = self._exact.get(path)
        if exact is not None:
            return exact.get(method)
        for candidate in self._patterns:
            runner = candidate.methods.get(method)
            if runner is None:
                continue
            params = candidate.match(path)
            if params is not None:
                return runner, params, candidate.template
        return None


class HubApp(Starlette):
    """The hub's ASGI app: Starlette, with the route table's requests taken directly, through
    ``limit`` (the body limit the app's middleware applies to every other request), and
    every HTTP request counted in ``metrics`` by its route's template and its status."""

    def __init__(
        self,
        *,
        api: RouteTable,
        limit: Callable[[ASGIApp], ASGIApp],
        metrics: Metrics,
        request_ids: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.api = api
        self.metrics = metrics
        self.request_ids = request_ids
        self._direct = limit(_answer)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        found = None if scope.get("root_path") else self.api.find(scope["method"], scope["path"])
        # What a request in progress counts under: its template, or for any other request
        # /mcp or "other" (Starlette names the route it matched only once it has answered).
        if found is not None:
            route = watched = found[2]
        else:
            route = "unmatched"
            watched = MCP_PATH if scope["path"] == MCP_PATH else "other"
        status = 0
        named = logs.request_id(scope["headers"]) if self.request_ids else None
        if named is not None:
            logs.REQUEST_ID.set(named)  # this request's own context: its task's copy

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if named is not None:
                    message["headers"] = [
                        *message.get("headers", ()),
                        (logs.HEADER, named.encode()),
                    ]
            await send(message)

        began = self.metrics.started(watched)
        try:
            if found is not None:
                scope["app"] = self
                scope["endpoint"], scope["path_params"], _ = found
                await self._direct(scope, receive, answer)
            else:
                await super().__call__(scope, receive, answer)
                # Starlette's router leaves the route it matched in the scope.
                route = getattr(scope.get("route"), "path", "unmatched")
        finally:
            self.metrics.finished(watched, route, scope["method"], status, began)


async def _answer(scope: Scope, receive: Receive, send: Send) -> None:
    """Run the endpoint found for the request; its errors become problems, as the app's
    exception handlers would make them."""
    request = Request(scope, receive, send)
    try:
        response = await scope["endpoint"](request)
    except HubbubError as error:
        response = problems.from_error(error, scope["path"])
    except Exception:
        response = problems.crashed(scope["method"], scope["path"])
    await response(scope, receive, send)
