"""The OpenAPI 3.1 document, generated from the endpoint table and the core's models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, TypeAdapter
from starlette.responses import Response

from hubbub.server.endpoints import Endpoint

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
        "retry_after": {"type": "number", "description": "seconds, on 429"},
        "errors": {"type": "array", "items": {"type": "object"}, "description": "on 422"},
    },
}
ERRORS = {
    "agent": {
        400: "Malformed JSON",
        401: "No or bad key",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        413: "Too large",
        422: "Invalid input",
        429: "Rate limited",
    },
    "admin": {
        401: "No or bad key",
        403: "Not the admin key",
        404: "Not found",
        422: "Invalid input",
    },
    "integration": {
        400: "Malformed JSON",
        401: "No or bad token",
        403: "Not an integration token, or a missing scope or target",
        404: "Not found",
        422: "Invalid input",
        429: "Rate limited",
    },
    "none": {},
}


class _Schemas:
    """Collects component schemas as types are referenced."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}

    def ref(self, annotation: Any) -> dict[str, Any]:
        schema = TypeAdapter(annotation).json_schema(ref_template=REF, mode="serialization")
        self.components.update(schema.pop("$defs", {}))
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            self.components[annotation.__name__] = schema
            return {"$ref": REF.format(model=annotation.__name__)}
        return schema

    def input(self, model: type[BaseModel]) -> dict[str, Any]:
        schema = model.model_json_schema(ref_template=REF, mode="validation")
        self.components.update(schema.pop("$defs", {}))
        self.components[model.__name__] = schema
        return {"$ref": REF.format(model=model.__name__)}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(mode="validation")
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "description": prop.pop("description", ""),
            "schema": prop,
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def _operation(endpoint: Endpoint, schemas: _Schemas) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer" if endpoint.path_params.get(name) is int else "string"},
        }
        for name in _PATH_PARAM.findall(endpoint.path)
    ]
    if endpoint.query is not None:
        parameters += _query_parameters(endpoint.query)
    parameters += [
        {
            "name": h.name,
            "in": "header",
            "required": False,
            "description": h.description,
            "schema": {"type": "string"},
        }
        for h in endpoint.headers
    ]
    if isinstance(endpoint.response, type) and issubclass(endpoint.response, Response):
        content = {"text/event-stream": {"schema": {"type": "string"}}}
    else:
        content = {"application/json": {"schema": schemas.ref(endpoint.response)}}
    success = {"description": "OK", "content": content}
    responses: dict[str, Any] = {str(endpoint.status): success}
    for status, text in endpoint.responses.items():
        responses[str(status)] = {**success, "description": text}
    problem = {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}}
    for status, text in ERRORS[endpoint.auth].items():
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
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schemas.input(endpoint.body)}},
        }
    return operation


def document(
    endpoints: list[Endpoint], *, title: str, version: str, description: str
) -> dict[str, Any]:
    """The OpenAPI document for ``endpoints``."""
    schemas = _Schemas()
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
