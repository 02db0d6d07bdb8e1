"""Liveness: the one route that needs no key (it reveals nothing)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from hubbub import __version__
from hubbub.server.bodies import Health
from hubbub.server.responses import ok

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="Is the hub up")
async def health() -> Response:
    return ok(Health(version=__version__))
