"""Serialising models straight to JSON bytes (skipping a second validation pass)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, TypeAdapter
from starlette.responses import Response

_LISTS: dict[type[BaseModel], TypeAdapter[Sequence[BaseModel]]] = {}


def ok(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response for one model."""
    return Response(
        model.__pydantic_serializer__.to_json(model),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def ok_list(items: Sequence[BaseModel], model: type[BaseModel]) -> Response:
    """A JSON array of models."""
    adapter = _LISTS.get(model)
    if adapter is None:
        adapter = _LISTS[model] = TypeAdapter(list[model])  # type: ignore[valid-type]
    return Response(adapter.dump_json(list(items)), media_type="application/json")
