"""Remote A2A agents (admin): registering them, and the outbox of what is forwarded to them."""

from __future__ import annotations

from hubbub.core.models import A2AOutboxItem, A2ARemote
from hubbub.server.bodies import A2AOutboxQuery, A2ARemoteBody, AgentName
from hubbub.server.endpoints import Call, Routes

routes = Routes("a2a")


@routes.get("/admin/a2a/agents", summary="Every remote A2A agent (never tokens)", auth="admin")
async def list_remotes(call: Call) -> list[A2ARemote]:
    return await call.hub.a2a_remotes.list()


@routes.post(
    "/admin/a2a/agents",
    summary="Register a remote A2A agent from its Agent Card",
    auth="admin",
    status=201,
    errors={409: "The name is taken", 503: "The hub lacks the hubbub[a2a] extra"},
)
async def add_remote(call: Call, body: A2ARemoteBody) -> A2ARemote:
    """The hub fetches the card (a failure registers nothing) and creates an agent of kind
    `a2a`, its capabilities its card's skills; DMs, mentions and task offers to it are
    forwarded to it."""
    return await call.hub.a2a_remotes.add(body.name, body.url, token=body.token, label=body.label)


@routes.get("/admin/a2a/agents/{name}", summary="One remote A2A agent", auth="admin")
async def get_remote(call: Call, name: AgentName) -> A2ARemote:
    return await call.hub.a2a_remotes.get(name)


@routes.delete("/admin/a2a/agents/{name}", summary="Remove a remote A2A agent", auth="admin")
async def remove_remote(call: Call, name: AgentName) -> A2ARemote:
    """Its pending items fail and its agent is deleted (its messages stay)."""
    return await call.hub.a2a_remotes.remove(name)


@routes.get(
    "/admin/a2a/agents/{name}/outbox",
    summary="What was forwarded to a remote A2A agent, newest first",
    auth="admin",
)
async def remote_outbox(call: Call, name: AgentName, query: A2AOutboxQuery) -> list[A2AOutboxItem]:
    return await call.hub.a2a_remotes.outbox(name, status=query.status, limit=query.limit)
