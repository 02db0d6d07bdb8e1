"""Agents: who am I, change my profile, list and look up others."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from hubbub.core.models import Agent, AgentStatus
from hubbub.core.store import AgentChanges
from hubbub.server.auth import Actor, HubDep
from hubbub.server.bodies import ProfileBody
from hubbub.server.responses import ok, ok_list

router = APIRouter(tags=["agents"])


@router.get("/me", response_model=Agent, summary="The acting agent")
async def whoami(me: Actor) -> Response:
    return ok(me)


@router.patch("/me", response_model=Agent, summary="Change my label, tags, status…")
async def update_me(body: ProfileBody, me: Actor, hub: HubDep) -> Response:
    changes = AgentChanges(**body.model_dump(exclude_unset=True))
    return ok(await hub.agents.update(me, changes))


@router.get("/agents", response_model=list[Agent], summary="List agents")
async def list_agents(
    me: Actor,
    hub: HubDep,
    tag: str | None = None,
    capability: Annotated[str | None, Query(alias="cap")] = None,
    status: AgentStatus | None = None,
    machine: str | None = None,
) -> Response:
    found = await hub.agents.list(
        me, tag=tag, capability=capability, status=status, machine=machine
    )
    return ok_list(found, Agent)


@router.get("/agents/{name}", response_model=Agent, summary="One agent")
async def get_agent(name: str, me: Actor, hub: HubDep) -> Response:
    return ok(await hub.agents.get(name))
