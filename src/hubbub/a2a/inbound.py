"""The A2A routes: each visible agent's card and its JSON-RPC and HTTP+JSON endpoints.

Under ``/a2a/{agent}``: ``GET .well-known/agent-card.json``, ``POST`` on the prefix itself
(JSON-RPC) and the HTTP+JSON paths (``POST message:send``, ``GET tasks/{id}``…). The SDK's
dispatchers parse the requests and shape the answers. Before them, each request (the card's
too: the hub answers no one it does not know) is authenticated exactly as the REST API does
(a bearer integration token with the ``a2a`` scope, allowed to address ``@agent``; or a hub
key naming its agent in ``X-Hubbub-Agent``), and the agent must be one that takes A2A
requests. A refusal there is answered in the binding's own error shape, with the hub's
stable code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from a2a.server.context import ServerCallContext
from a2a.server.request_handlers.response_helpers import agent_card_to_dict
from a2a.server.routes.common import DefaultServerCallContextBuilder
from a2a.server.routes.jsonrpc_dispatcher import JsonRpcDispatcher
from a2a.server.routes.rest_dispatcher import RestDispatcher
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hubbub.a2a import cards
from hubbub.a2a.inbound_handler import STATE, HubRequestHandler, Parties
from hubbub.core.errors import HubbubError
from hubbub.core.hub import Hub
from hubbub.server.endpoints import authenticate
from hubbub.server.problems import retry_seconds
from hubbub.settings import Settings

Endpoint = Callable[[Request], Awaitable[Response]]
SCOPE_KEY = "hubbub.a2a"
AGENT = cards.PREFIX + "/{agent}"
HUB_ERROR = -32050
"""The JSON-RPC error code of a request the hub refused before it reached A2A (no or a bad
credential, a missing scope, an agent that takes no A2A requests); ``data.code`` says why."""
GRPC_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "FAILED_PRECONDITION",
    413: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    503: "UNAVAILABLE",
}


class HubContextBuilder(DefaultServerCallContextBuilder):
    """The SDK's call context, carrying who calls which agent."""

    def build(self, request: Request) -> ServerCallContext:
        context = super().build(request)
        context.state[STATE] = request.scope[SCOPE_KEY]
        return context


def refusal(error: HubbubError, binding: str) -> Response:
    """A refused request in the binding's error shape (JSON-RPC: an error object; HTTP+JSON:
    the ``{"error": {code, status, message, details}}`` the SDK answers with), at its HTTP
    status."""
    data: dict[str, Any] = {"code": error.code, "status": error.status, **error.extra}
    body: dict[str, Any]
    if binding == "jsonrpc":
        body = {
            "jsonrpc": "2.0",
            "id": None,
            "error": {"code": HUB_ERROR, "message": error.detail, "data": data},
        }
    else:
        info = {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": error.code.upper(),
            "domain": "hubbub",
            "metadata": {k: str(v) for k, v in data.items()},
        }
        body = {
            "error": {
                "code": error.status,
                "status": GRPC_STATUS.get(error.status, "INTERNAL"),
                "message": error.detail,
                "details": [info],
            }
        }
    headers = {}
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="hubbub"'
    if "retry_after" in error.extra:
        headers["Retry-After"] = str(retry_seconds(float(error.extra["retry_after"])))
    return Response(orjson.dumps(body), error.status, headers, media_type="application/json")


def guarded(endpoint: Endpoint, binding: str) -> Endpoint:
    """``endpoint`` for authenticated callers of an agent that takes A2A requests."""

    async def run(request: Request) -> Response:
        hub: Hub = request.app.state.hub
        try:
            call = await authenticate(request, hub, "agent", "a2a")
            agent = await hub.a2a.agent(request.path_params["agent"])
            if call.grant is not None:
                call.grant.require_target(f"@{agent.name}")
        except HubbubError as error:
            return refusal(error, binding)
        request.scope[SCOPE_KEY] = Parties(call.agent, agent)
        return await endpoint(request)

    return run


def card_endpoint(settings: Settings) -> Endpoint:
    """``GET /a2a/{agent}/.well-known/agent-card.json``: the agent's card (behind
    :func:`guarded`, like every request to the hub)."""

    async def serve(request: Request) -> Response:
        parties: Parties = request.scope[SCOPE_KEY]
        base = settings.a2a_public_url or str(request.base_url)
        body = agent_card_to_dict(cards.card(parties.agent, base))
        return Response(orjson.dumps(body), media_type="application/json")

    return serve


def routes(settings: Settings, hub: Hub) -> list[BaseRoute]:
    """Every A2A route of the hub."""
    handler = HubRequestHandler(hub, settings.a2a_wait_seconds)
    builder = HubContextBuilder()
    rpc = JsonRpcDispatcher(handler, builder)
    rest = RestDispatcher(handler, builder)
    http_json: list[tuple[str, str, Endpoint]] = [
        ("/message:send", "POST", rest.on_message_send),
        ("/message:stream", "POST", rest.on_message_send_stream),
        ("/tasks/{id}:cancel", "POST", rest.on_cancel_task),
        ("/tasks/{id}:subscribe", "GET", rest.on_subscribe_to_task),
        ("/tasks/{id}:subscribe", "POST", rest.on_subscribe_to_task),
        ("/tasks/{id}", "GET", rest.on_get_task),
        ("/tasks/{id}/pushNotificationConfigs/{push_id}", "GET", rest.get_push_notification),
        (
            "/tasks/{id}/pushNotificationConfigs/{push_id}",
            "DELETE",
            rest.delete_push_notification,
        ),
        ("/tasks/{id}/pushNotificationConfigs", "POST", rest.set_push_notification),
        ("/tasks/{id}/pushNotificationConfigs", "GET", rest.list_push_notifications),
        ("/tasks", "GET", rest.list_tasks),
        ("/extendedAgentCard", "GET", rest.handle_authenticated_agent_card),
    ]
    found: list[BaseRoute] = [
        Route(
            AGENT + "/.well-known/agent-card.json",
            guarded(card_endpoint(settings), "rest"),
            methods=["GET"],
        ),
        Route(AGENT, guarded(rpc.handle_requests, "jsonrpc"), methods=["POST"]),
    ]
    found += [
        Route(AGENT + path, guarded(endpoint, "rest"), methods=[method])
        for path, method, endpoint in http_json
    ]
    return found
