"""A typed route table over Starlette: each endpoint declares its path, auth and models once,
and the same declaration parses requests, serialises answers and generates the OpenAPI.

A handler takes a :class:`Call`, then optionally ``body`` (a pydantic model parsed from the
JSON body), ``query`` (a model parsed from the query string) and path parameters by name
(``str``, or a ``str`` annotated with its pattern, or ``int``: an id, ASCII digits within
:data:`~hubbub.server.bodies.Id`); it returns a model, a list of models, or a :class:`Reply`.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import types
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hubbub.core.errors import BadRequest, Forbidden, InvalidInput, Unauthorized
from hubbub.core.hub import Hub
from hubbub.core.keys import Credential
from hubbub.core.models import Agent
from hubbub.core.ratelimit import RateLimiter
from hubbub.core.scopes import SCOPES, Grant
from hubbub.core.values import nul_at, nul_refused
from hubbub.server.bodies import Id, json_kind
from hubbub.server.problems import problem

Auth = Literal["none", "agent", "admin", "integration"]
AGENT_HEADER = "x-hubbub-agent"
Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Reply:
    """A result with a status or headers other than the endpoint's default."""

    model: BaseModel
    status: int
    headers: dict[str, str] | None = None


@dataclass(slots=True)
class Call:
    """One request as handlers see it: the hub, the caller, the raw request."""

    request: Request
    hub: Hub
    credential: Credential | None = None
    agent_or_none: Agent | None = None

    @property
    def agent(self) -> Agent:
        """The acting agent (endpoints with ``auth="agent"`` always have one)."""
        assert self.agent_or_none is not None
        return self.agent_or_none

    def header(self, name: str) -> str | None:
        """A request header."""
        return self.request.headers.get(name)

    @property
    def grant(self) -> Grant | None:
        """What an integration token allows (``None`` for keys)."""
        return None if self.credential is None else self.credential.grant


# Checks an integration's request against what its token allows, once the request is parsed
# (the target in the body, the channel in the path…); the rule itself is the core's Grant.
Guard = Callable[[Call, dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Header:
    """A request header an endpoint reads, for the OpenAPI: its value's type gives its schema."""

    name: str
    description: str
    kind: Any = str


@dataclass(slots=True)
class Endpoint:
    """One operation of the API."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    status: int
    auth: Auth
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    path_params: dict[str, Any]
    """Each path parameter's annotation: ``int`` (an :data:`Id`) or a ``str`` type."""
    response: Any
    headers: tuple[Header, ...] = ()
    responses: dict[int, str] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    """Error statuses the handler itself can answer (a conflict, a 404 of a body's target),
    beyond those its auth, path, query and body imply."""
    scope: str | None = None
    guard: Guard | None = None
    consumes: dict[str, Any] | None = None
    """A body that is not JSON (a file), read by the handler itself: its OpenAPI content,
    by media type."""
    produces: dict[str, Any] | None = None
    """An answer that is not JSON (a file): its OpenAPI content, by media type."""

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


class Routes:
    """The endpoints of one module, collected by decorators."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def _add(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        status: int = 200,
        auth: Auth = "agent",
        headers: tuple[Header, ...] = (),
        responses: dict[int, str] | None = None,
        errors: dict[int, str] | None = None,
        scope: str | None = None,
        guard: Guard | None = None,
        consumes: dict[str, Any] | None = None,
        produces: dict[str, Any] | None = None,
    ) -> Callable[[Handler], Handler]:
        # A route open to integration tokens names a known scope and guards what it touches
        # (an operator's route touches no agent's targets or channels: it needs no guard).
        if scope is not None and (scope not in SCOPES or (guard is None and auth != "admin")):
            raise ValueError(f"{method} {path}: scope {scope!r} needs to be known and guarded")

        def register(handler: Handler) -> Handler:
            hints = typing.get_type_hints(handler, include_extras=True)
            params = [p for p in inspect.signature(handler).parameters if p != "call"]
            self.endpoints.append(
                Endpoint(
                    method=method,
                    path=path,
                    handler=handler,
                    summary=summary,
                    tag=self.tag,
                    status=status,
                    auth=auth,
                    body=hints.get("body") if "body" in params else None,
                    query=hints.get("query") if "query" in params else None,
                    path_params={p: hints[p] for p in params if p not in ("body", "query")},
                    response=_without_reply(hints["return"]),
                    headers=headers,
                    responses=responses or {},
                    errors=errors or {},
                    scope=scope,
                    guard=guard,
                    consumes=consumes,
                    produces=produces,
                )
            )
            return handler

        return register

    def get(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self._add("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self._add("POST", path, **options)

    def put(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self._add("PUT", path, **options)

    def patch(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self._add("PATCH", path, **options)

    def delete(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self._add("DELETE", path, **options)


async def authenticate(request: Request, hub: Hub, auth: Auth, scope: str | None = None) -> Call:
    """Verify the bearer key (and rate-limit it) and resolve the acting agent. An integration
    token reaches only endpoints that declare a scope it holds, or ``auth="integration"``."""
    call = Call(request, hub)
    if auth == "none":
        return call
    # Checked before the key: a request naming two keys or two agents is refused outright.
    header = _single(request, "Authorization") or ""
    acting = _single(request, "X-Hubbub-Agent")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized(
            "send 'Authorization: Bearer <key>' (hubbub keys create, or the local config)"
        )
    credential = await hub.keys.verify(secret.strip())
    if credential.grant is not None:
        return await _integration(call, credential, auth, scope)
    if auth == "integration":
        raise Forbidden("this needs an integration token", code="integration_only")
    if not credential.is_admin:
        limiter: RateLimiter = request.app.state.limiter
        limiter.take(credential.key_id)
    call.credential = credential
    if auth == "admin":
        if not credential.is_admin:
            raise Forbidden("this needs the admin key", code="admin_only")
        return call
    name = (acting or "").strip()
    if not name:
        raise InvalidInput(
            "say which agent you are with an X-Hubbub-Agent header ({machine}-{project})",
            code="agent_required",
        )
    agent = await hub.agents.act_as(credential, name)
    call.agent_or_none = await hub.presence.touch(agent)
    return call


def _single(request: Request, name: str) -> str | None:
    """A header that must come at most once: two would leave which one counts to chance."""
    values = request.headers.getlist(name)
    if len(values) > 1:
        raise BadRequest(
            f"send one {name} header, not {len(values)}", code="duplicate_header", header=name
        )
    return values[0] if values else None


async def _integration(call: Call, credential: Credential, auth: Auth, scope: str | None) -> Call:
    """An integration acts as its own agent (no ``X-Hubbub-Agent``), within its own rate
    limit, on the endpoints its scopes open."""
    grant = credential.grant
    assert grant is not None
    limiter: RateLimiter = call.request.app.state.limiter
    limiter.take(
        ("integration", grant.integration_id), rate=grant.rate_limit, burst=grant.rate_burst
    )
    call.credential = credential
    if auth == "admin":
        # An operator's endpoint may also open to a token holding its scope (metrics:read).
        if scope is None:
            raise Forbidden("this needs the admin key", code="admin_only")
        grant.require(scope)
        return call
    if auth == "agent" and scope is None:
        request = call.request
        raise Forbidden(
            f"integration tokens cannot use {request.method} {request.url.path}",
            code="not_for_integrations",
        )
    if scope is not None:
        grant.require(scope)
    agent = await call.hub.agents.act_as(credential, grant.name)
    call.agent_or_none = await call.hub.presence.touch(agent)
    return call


def invalid(error: ValidationError, where: str, path: str, *inside: str) -> Response:
    """A 422 (or 400 for malformed JSON) problem for a pydantic error (of the value at
    ``inside`` of ``where``)."""
    errors = [
        {"loc": [where, *inside, *e["loc"]], "msg": e["msg"], "type": e["type"]}
        for e in error.errors()
    ]
    if any(e["type"] == "json_invalid" for e in errors):
        return problem(
            400, "bad_json", "Malformed JSON", "the request body is not valid JSON", path
        )
    first = errors[0]
    at = ".".join(str(p) for p in first["loc"][1:]) or where
    return problem(422, "invalid", "Invalid input", f"{at}: {first['msg']}", path, errors=errors)


def _serialiser(response: Any) -> Callable[[Any], bytes]:
    if isinstance(response, type) and issubclass(response, Response):
        return lambda _: b""  # the handler answers with the response itself
    if isinstance(response, type) and issubclass(response, BaseModel):
        return lambda model: model.__pydantic_serializer__.to_json(model)
    adapter: TypeAdapter[Any] = TypeAdapter(response)
    return adapter.dump_json


def runner(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    """The request handler that runs one endpoint: authenticate, parse, call, serialise."""
    to_json = _serialiser(endpoint.response)
    body_model = endpoint.body
    query_model = endpoint.query
    kinds = None if query_model is None else query_kinds(query_model)
    converters = {
        name: ("integer" if kind is int else "string", path_adapter(kind))
        for name, kind in endpoint.path_params.items()
    }

    async def run(request: Request) -> Response:
        hub: Hub = request.app.state.hub
        call = await authenticate(request, hub, endpoint.auth, endpoint.scope)
        kwargs: dict[str, Any] = {}
        for name, (kind, adapter) in converters.items():
            raw_value = _scalar(kind, request.path_params[name])
            try:
                kwargs[name] = adapter.validate_json(json.dumps(raw_value))
            except ValidationError as error:
                return invalid(error, "path", request.url.path, name)
        if query_model is not None and kinds is not None:
            raw = query_values(kinds, dict(request.query_params))
            try:
                kwargs["query"] = query_model.model_validate_json(raw)
            except ValidationError as error:
                return invalid(error, "query", request.url.path)
        elif request.scope["query_string"]:  # not request.url, which rebuilds the whole URL
            raise InvalidInput(
                f"{endpoint.method} {endpoint.path} takes no query parameters", code="invalid"
            )
        if body_model is not None:
            raw_body = await request.body()
            try:
                kwargs["body"] = body_model.model_validate_json(raw_body or b"{}")
            except ValidationError as error:
                return invalid(error, "body", request.url.path)
        if endpoint.guard is not None and call.grant is not None:
            await endpoint.guard(call, kwargs)
        result = await endpoint.handler(call, **kwargs)
        if isinstance(result, Response):
            return result
        if isinstance(result, Reply):
            return Response(
                to_json(result.model), result.status, result.headers, "application/json"
            )
        return Response(to_json(result), endpoint.status, media_type="application/json")

    return run


Runners = dict[str, dict[str, Callable[[Request], Awaitable[Response]]]]


def runners(endpoints: list[Endpoint]) -> Runners:
    """Each path, in the order of its first endpoint, with the runner of each method."""
    by_path: Runners = {}
    for endpoint in endpoints:
        by_path.setdefault(endpoint.path, {})[endpoint.method] = runner(endpoint)
    return by_path


def routes(by_path: Runners) -> list[Route]:
    """One Starlette route per path, dispatching on the method, so a 405 names every method
    the path serves."""
    return [_route(path, methods) for path, methods in by_path.items()]


def _route(path: str, methods: dict[str, Callable[[Request], Awaitable[Response]]]) -> Route:
    async def dispatch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await methods[method](request)

    return Route(path, dispatch, methods=list(methods))


def _without_reply(annotation: Any) -> Any:
    """The documented response type: the annotation less :class:`Reply` (and a bare
    ``Response``, which a handler returns for an answer without a body)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kept = [a for a in typing.get_args(annotation) if a not in (Reply, Response)]
        return kept[0] if len(kept) == 1 else typing.Union[tuple(kept)]  # noqa: UP007
    return annotation


# How text from a path or a query string becomes the JSON value it stands for: ASCII digits
# for integers (no path or query integer is negative), a JSON number for numbers, `true` or
# `false` for booleans. Anything else stays a string, which strict validation then refuses for
# a non-string field: "٣", "²", "+1", "-0", "1.0", " 1" and "yes" are never numbers or
# booleans.
_INTEGER = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_BOOLEANS = {"true": True, "false": False}


def _scalar(kind: str, raw: str) -> Any:
    if kind == "integer" and _INTEGER.fullmatch(raw):
        return int(raw)
    if kind == "number" and _NUMBER.fullmatch(raw):
        return float(raw)
    if kind == "boolean" and raw in _BOOLEANS:
        return _BOOLEANS[raw]
    return raw


def query_kinds(model: type[BaseModel]) -> dict[str, str]:
    """Each query parameter of ``model`` with the JSON type it takes."""
    properties = model.model_json_schema(mode="validation").get("properties", {})
    return {name: json_kind(schema) for name, schema in properties.items()}


def query_values(kinds: dict[str, str], raw: dict[str, str]) -> bytes:
    """A query string as the JSON object its model validates strictly (unknown parameters
    kept, for the model to refuse)."""
    found = {name: _scalar(kinds.get(name, "string"), value) for name, value in raw.items()}
    # The standard encoder: orjson refuses integers beyond 64 bits, which must reach the
    # model to be refused with a range error.
    return json.dumps(found).encode()


def _text(value: str) -> str:
    if nul_at(value) is not None:
        raise ValueError(nul_refused("the path"))
    return value


def path_adapter(kind: Any) -> TypeAdapter[Any]:
    """Validates a path parameter: an ``int`` is an :data:`Id`, strictly; text holds no NUL."""
    checked: Any = Id if kind is int else Annotated[kind, AfterValidator(_text)]
    return TypeAdapter(checked, config=ConfigDict(strict=True))


def path_schema(kind: Any) -> dict[str, Any]:
    """A path parameter's JSON Schema."""
    return path_adapter(kind).json_schema()


@functools.cache
def _strict(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind, config=ConfigDict(strict=True))


def whole_number(name: str, raw: str, kind: Any) -> int:
    """``raw`` (a header's text) as the integer type ``kind``, or ``422 invalid``."""
    try:
        number: int = _strict(kind).validate_json(json.dumps(_scalar("integer", raw)))
    except ValidationError as error:
        detail = error.errors()[0]["msg"]
        raise InvalidInput(f"{name}: {detail}", code="invalid") from None
    return number
