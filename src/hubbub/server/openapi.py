"""The OpenAPI 3.1 document, generated from the endpoint table and the core's models.

It is the exact contract: each input's schema states the rules the hub enforces that JSON
Schema can say (ranges, lengths, patterns, the limits this hub's settings set, and no NUL in
any string), and each operation lists every status it can answer, derived from how the route
is declared (its auth, path parameters, query and body) plus the ones it declares itself.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, TypeAdapter
from starlette.responses import Response

from hubbub.core.limits import Limits
from hubbub.core.values import TEXT_PATTERN
from hubbub.server.bodies import SETTING
from hubbub.server.endpoints import Endpoint, path_schema

REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"{(\w+)}")
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `code` is stable and machine-readable.",
    "required": ["type", "title", "status", "detail", "code", "instance"],
    "properties": {
        "type": {"type": "string", "example": "urn:hubbub:problem:channel_not_found"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "example": "channel_not_found"},
        "instance": {"type": "string"},
        "retry_after": {
            "type": "integer",
            "minimum": 1,
            "description": "whole seconds to wait, on 429 (the same as `Retry-After`)",
        },
        "header": {"type": "string", "description": "the header sent twice, on 400"},
        "errors": {"type": "array", "items": {"type": "object"}, "description": "on 422"},
    },
}
PLAIN_JSON = "PlainJson"
PLAIN_JSON_SCHEMA: dict[str, Any] = {
    "description": "Any JSON value whose strings and keys hold no NUL (U+0000).",
    "anyOf": [
        {"type": "string", "pattern": TEXT_PATTERN},
        {"type": ["number", "boolean", "null"]},
        {"type": "array", "items": {"$ref": REF.format(model=PLAIN_JSON)}},
        {
            "type": "object",
            "propertyNames": {"pattern": TEXT_PATTERN},
            "additionalProperties": {"$ref": REF.format(model=PLAIN_JSON)},
        },
    ],
}

SSE_EVENT: dict[str, Any] = {
    "type": "object",
    "description": "One Server-Sent Event: `event` its type, `id` its sequence (the cursor to "
    "resume after), `data` one line of JSON.",
    "required": ["data"],
    "properties": {
        "event": {"type": "string"},
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "data": {"type": "string", "contentMediaType": "application/json"},
    },
}

# What each part of a route's declaration can answer.
BY_AUTH: dict[str, dict[int, str]] = {
    "agent": {
        400: "A header sent twice",
        401: "No or bad key",
        403: "Not allowed (another machine's agent, a scope or target an integration lacks)",
        404: "The admin key acting as an agent that does not exist",
        422: "No or a bad X-Hubbub-Agent",
        429: "Rate limited",
        503: "The hub cannot serve right now",
    },
    "admin": {
        400: "A header sent twice",
        401: "No or bad key",
        403: "Not the admin key",
        503: "The hub cannot serve right now",
    },
    "integration": {
        400: "A header sent twice",
        401: "No or bad token",
        403: "Not an integration token, or a missing scope or target",
        429: "Rate limited",
        503: "The hub cannot serve right now",
    },
    "none": {},
}
BY_PATH = {404: "Not found", 422: "A malformed path parameter"}
BY_QUERY = {422: "Invalid query parameters"}
BY_BODY = {
    400: "Malformed JSON",
    413: "The body is over the hub's size limit",
    422: "Invalid input",
}


def statuses(endpoint: Endpoint) -> dict[int, str]:
    """Every error status ``endpoint`` can answer, with what it means."""
    found = dict(BY_AUTH[endpoint.auth])
    for applies, more in (
        (bool(endpoint.path_params), BY_PATH),
        (endpoint.query is not None, BY_QUERY),
        (endpoint.body is not None or endpoint.consumes is not None, BY_BODY),
    ):
        if applies:
            for status, text in more.items():
                found[status] = f"{found[status]}; {text}" if status in found else text
    found.update(endpoint.errors)
    return dict(sorted(found.items()))


def _bound(schema: dict[str, Any], limits: Limits) -> None:
    """Fill in the bounds that are settings (see :func:`hubbub.server.bodies.setting`)."""
    for keyword, name in schema.pop(SETTING).items():
        value = getattr(limits, name)
        schema[keyword] = int(value) if float(value).is_integer() else value


# The keywords a property's schema has unless it is ``Any`` (pydantic gives that no type).
_TYPED = {"type", "anyOf", "oneOf", "allOf", "$ref", "enum", "const", "not"}


def input_rules(schema: Any, limits: Limits) -> Any:
    """An input schema with the rules every input follows: no string holds NUL (a free
    string gets the pattern that says so; a patterned one already excludes it), free JSON
    values are :data:`PLAIN_JSON`, and settings' bounds are filled in. Changes ``schema``."""
    if isinstance(schema, list):
        for item in schema:
            input_rules(item, limits)
        return schema
    if not isinstance(schema, dict):
        return schema
    if SETTING in schema:
        _bound(schema, limits)
    kind = schema.get("type")
    if kind == "string" and not {"pattern", "enum", "const", "format"} & schema.keys():
        schema["pattern"] = TEXT_PATTERN
    if kind == "object" and schema.get("additionalProperties") is True:
        schema["additionalProperties"] = {"$ref": REF.format(model=PLAIN_JSON)}
        schema["propertyNames"] = {"pattern": TEXT_PATTERN}
    for key, value in schema.items():
        if key == "properties":
            for prop in value.values():
                if isinstance(prop, dict) and not _TYPED & prop.keys():
                    prop["$ref"] = REF.format(model=PLAIN_JSON)  # an Any field
                input_rules(prop, limits)
        elif key not in ("enum", "const", "default", "examples", "required"):
            input_rules(value, limits)
    return schema


class _Schemas:
    """Collects component schemas as types are referenced."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.components: dict[str, Any] = {
            "Problem": PROBLEM_SCHEMA,
            PLAIN_JSON: PLAIN_JSON_SCHEMA,
        }

    def ref(self, annotation: Any) -> dict[str, Any]:
        schema = TypeAdapter(annotation).json_schema(ref_template=REF, mode="serialization")
        self.components.update(schema.pop("$defs", {}))
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            self.components[annotation.__name__] = schema
            return {"$ref": REF.format(model=annotation.__name__)}
        return schema

    def input(self, model: type[BaseModel]) -> tuple[dict[str, Any], bool]:
        """A body model's schema reference, and whether a body is required (an empty body
        counts as ``{}``: it is optional where ``{}`` is a valid body)."""
        schema = input_rules(
            model.model_json_schema(ref_template=REF, mode="validation"), self.limits
        )
        self.components.update(schema.pop("$defs", {}))
        self.components[model.__name__] = schema
        required = bool(schema.get("required")) or bool({"anyOf", "if"} & schema.keys())
        return {"$ref": REF.format(model=model.__name__)}, required

    def parameter(self, schema: dict[str, Any]) -> dict[str, Any]:
        """A parameter's schema with the input rules; a parameter is absent, never null."""
        schema.pop("title", None)
        branches = schema.get("anyOf")
        if branches is not None:
            kept = [b for b in branches if b.get("type") != "null"]
            if len(kept) == 1:
                schema.pop("anyOf")
                schema.update(kept[0])
        return dict(input_rules(schema, self.limits))


def _query_parameters(model: type[BaseModel], schemas: _Schemas) -> list[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "description": prop.pop("description", ""),
            "schema": schemas.parameter(prop),
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def _operation(endpoint: Endpoint, schemas: _Schemas) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": schemas.parameter(path_schema(endpoint.path_params[name])),
        }
        for name in _PATH_PARAM.findall(endpoint.path)
    ]
    if endpoint.query is not None:
        parameters += _query_parameters(endpoint.query, schemas)
    parameters += [
        {
            "name": h.name,
            "in": "header",
            "required": False,
            "description": h.description,
            "schema": schemas.parameter(TypeAdapter(h.kind).json_schema()),
        }
        for h in endpoint.headers
    ]
    if endpoint.produces is not None:
        content = endpoint.produces
    elif isinstance(endpoint.response, type) and issubclass(endpoint.response, Response):
        content = {"text/event-stream": {"schema": SSE_EVENT}}
    else:
        content = {"application/json": {"schema": schemas.ref(endpoint.response)}}
    success = {"description": "OK", "content": content}
    responses: dict[str, Any] = {str(endpoint.status): success}
    for status, text in endpoint.responses.items():
        described = {**success, "description": text}
        responses[str(status)] = {"description": text} if status == 204 else described  # no body
    problem = {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}}
    for status, text in statuses(endpoint).items():
        responses.setdefault(str(status), {"description": text, "content": problem})
    operation: dict[str, Any] = {
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "parameters": parameters,
        "responses": responses,
        "security": {
            "agent": [{"bearer": [], "agent": []}],
            "admin": [{"bearer": []}],
            "integration": [{"bearer": []}],
            "none": [],
        }[endpoint.auth],
    }
    if endpoint.scope is not None:
        # Which integration tokens may call it; a key with an agent always may.
        operation["x-hubbub-scope"] = endpoint.scope
    if endpoint.handler.__doc__:
        operation["description"] = endpoint.handler.__doc__.strip()
    if endpoint.body is not None:
        reference, required = schemas.input(endpoint.body)
        operation["requestBody"] = {
            "required": required,
            "content": {"application/json": {"schema": reference}},
        }
    if endpoint.consumes is not None:
        operation["requestBody"] = {"required": True, "content": endpoint.consumes}
    return operation


def document(
    endpoints: list[Endpoint],
    *,
    title: str,
    version: str,
    description: str,
    limits: Limits | None = None,
) -> dict[str, Any]:
    """The OpenAPI document for ``endpoints``, on a hub with ``limits``."""
    schemas = _Schemas(limits or Limits())
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.components.items())),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A machine key, admin key or integration token (hb_…).",
                },
                "agent": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Hubbub-Agent",
                    "description": "The agent to act as, {machine}-{project}.",
                },
            },
        },
    }
