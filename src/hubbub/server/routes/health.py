"""Liveness: the one route that needs no key (it reveals only the version)."""

from __future__ import annotations

from hubbub import __version__
from hubbub.server.bodies import Health
from hubbub.server.endpoints import Call, Routes

routes = Routes("health")


@routes.get("/health", summary="Is the hub up", auth="none")
async def health(call: Call) -> Health:
    return Health(version=__version__)
