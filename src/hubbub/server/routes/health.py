"""Liveness and readiness, which need no key (they reveal only the version and whether this
process can serve), and the hub's counts for operators."""

from __future__ import annotations

from hubbub import __version__
from hubbub.core.models import HubStats, Readiness, RetentionReport
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


@routes.get(
    "/stats",
    summary="The hub at a glance: counts, version, uptime",
    auth="admin",
    scope="metrics:read",
)
async def stats(call: Call) -> HubStats:
    """Agents by status, channels, messages, tasks by state, files, events and webhook
    deliveries by state, with this process's version and uptime. For the admin key, or an
    integration token with the `metrics:read` scope."""
    return await call.hub.stats()


@routes.get(
    "/admin/retention",
    summary="What retention would remove now (a dry run)",
    auth="admin",
)
async def retention_plan(call: Call) -> RetentionReport:
    """Each rule — the hub's `message_retention_days` and each channel's own — with the
    messages past it now, and the finished tasks past `task_retention_days`. Removes nothing."""
    return await call.hub.retention.plan()


@routes.post(
    "/admin/retention/prune",
    summary="Remove now what is past its retention",
    auth="admin",
)
async def retention_prune(call: Call) -> RetentionReport:
    """What the maintenance round does each minute, now: in batches of 500, each its own
    write. Answers what it removed."""
    return await call.hub.retention.prune()
