"""Agents: who am I, change my profile, list and look up others."""

from __future__ import annotations

from hubbub.core.models import Agent
from hubbub.core.store import AgentChanges
from hubbub.server.bodies import AgentName, AgentsQuery, HeartbeatBody, ProfileBody
from hubbub.server.endpoints import Call, Routes

routes = Routes("agents")


@routes.get("/me", summary="The acting agent")
async def whoami(call: Call) -> Agent:
    return call.agent


@routes.patch("/me", summary="Change my label, tags, capabilities, status or visibility")
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
