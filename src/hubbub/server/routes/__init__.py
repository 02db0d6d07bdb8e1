"""REST routes, one module per concept, all under /api/v1."""

from __future__ import annotations

from dataclasses import replace

from hubbub.server.endpoints import Endpoint
from hubbub.server.routes import (
    a2a_remotes,
    agents,
    channels,
    events,
    files,
    health,
    hooks,
    inbox,
    integrations,
    keys,
    messages,
    pairs,
    search,
    tasks,
    users,
)

PREFIX = "/api/v1"
# Hot routes first: Starlette matches in order.
MODULES = (
    messages,
    inbox,
    hooks,
    channels,
    events,
    search,
    agents,
    tasks,
    pairs,
    files,
    integrations,
    a2a_remotes,
    keys,
    users,
    health,
)


def endpoints() -> list[Endpoint]:
    """Every endpoint, with its full path."""
    return [
        replace(endpoint, path=PREFIX + endpoint.path)
        for module in MODULES
        for endpoint in module.routes.endpoints
    ]


__all__ = ["PREFIX", "endpoints"]
