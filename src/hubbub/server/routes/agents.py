"""Agents: who am I, change my profile, list and look up others; an admin deactivates,
reactivates and deletes them."""

from __future__ import annotations

from hubbub.core.models import Agent, AgentPurge
from hubbub.core.store import AgentChanges
from hubbub.server.bodies import AgentName, AgentsQuery, HeartbeatBody, ProfileBody
from hubbub.server.endpoints import Call, Routes

routes = Routes("agents")


@routes.get("/me", summary="The acting agent")
async def whoami(call: Call) -> Agent:
    return call.agent


@routes.patch(
    "/me",
    summary="Change my label, tags, capabilities, status or visibility; join channels",
    errors={
        403: "A channel to join is private",
        404: "A channel to join does not exist",
        409: "A channel to join is archived",
    },
)
async def update_me(call: Call, body: ProfileBody) -> Agent:
    changes = AgentChanges(**body.model_dump(exclude_unset=True))
    return await call.hub.agents.update(call.agent, changes)


@routes.post("/me/heartbeat", summary="I am alive (optionally: my status and note)")
async def heartbeat(call: Call, body: HeartbeatBody) -> Agent:
    """Keeps the agent active; without requests or heartbeats for the presence TTL it goes
    offline, and every channel it is in gets a `member.status` event."""
    return await call.hub.presence.heartbeat(call.agent, status=body.status, note=body.note)


@routes.get("/agents", summary="List agents")
async def list_agents(call: Call, query: AgentsQuery) -> list[Agent]:
    return await call.hub.agents.list(
        call.agent,
        tag=query.tag,
        capability=query.cap,
        status=query.status,
        machine=query.machine,
        seen_since=call.hub.presence.listed_since(),
    )


@routes.get("/agents/{name}", summary="One agent")
async def get_agent(call: Call, name: AgentName) -> Agent:
    return await call.hub.agents.get(name)


@routes.post(
    "/admin/agents/{name}/deactivate",
    summary="Deactivate an agent: refused and hidden, until reactivated",
    auth="admin",
    errors={404: "No such agent"},
)
async def deactivate_agent(call: Call, name: AgentName) -> Agent:
    """Every request acting as the agent is refused `403 agent_deactivated` (its open streams
    end within a few seconds), sends and offers to it are refused, and listings leave it out.
    Its messages, channels and inbox stay; reactivating gives it back as it was."""
    return await call.hub.agents.change_state(name, "deactivate")


@routes.post(
    "/admin/agents/{name}/reactivate",
    summary="Reactivate a deactivated agent",
    auth="admin",
    errors={404: "No such agent"},
)
async def reactivate_agent(call: Call, name: AgentName) -> Agent:
    return await call.hub.agents.change_state(name, "reactivate")


@routes.delete(
    "/admin/agents/{name}",
    summary="Delete an agent: gone, its messages kept under its name",
    auth="admin",
    errors={404: "No such agent"},
)
async def delete_agent(call: Call, name: AgentName) -> Agent:
    """The agent leaves every listing and nothing may act as it again (`403 agent_deleted`);
    sends to it answer `404`. Its messages stay, under its name, which no one may register
    again."""
    return await call.hub.agents.change_state(name, "delete")


@routes.post(
    "/admin/agents/{name}/purge",
    summary="Purge a deleted agent: its messages removed, its name free again",
    auth="admin",
    errors={404: "No such agent", 409: "Not deleted"},
)
async def purge_agent(call: Call, name: AgentName) -> AgentPurge:
    """Every message the deleted agent wrote is removed for good, everywhere its text lives
    (as a cleared channel's), 500 a write; then its name is free, and a machine may register
    it as a new agent. Tasks and files it created keep pointing at it, shown as
    `~purged-{id}`. `409 agent_not_deleted` for an agent not deleted first."""
    return await call.hub.agents.purge(name)
