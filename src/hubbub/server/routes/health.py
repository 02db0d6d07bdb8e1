"""Liveness and readiness: the routes that need no key (they reveal only the version and
whether this process can serve)."""

from __future__ import annotations

from hubbub import __version__
from hubbub.core.models import Readiness
from hubbub.server.bodies import Health
from hubbub.server.endpoints import Call, Reply, Routes

routes = Routes("health")


@routes.get("/health", summary="Is the hub up", auth="none")
async def health(call: Call) -> Health:
    return Health(version=__version__)


@routes.get(
    "/ready",
    summary="Can the hub serve: database at this build's schema, writer able to commit",
    auth="none",
    responses={503: "not ready: `checks` says what is wrong"},
)
async def ready(call: Call) -> Readiness | Reply:
    found = await call.hub.readiness.check()
    return found if found.ready else Reply(found, 503)
