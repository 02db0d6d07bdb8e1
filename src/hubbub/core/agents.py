"""Agents: who a credential may act as, profiles, listing."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import get_args

from hubbub.core import machines, names
from hubbub.core.cache import TtlCache
from hubbub.core.channels import ChannelService
from hubbub.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from hubbub.core.keys import Credential
from hubbub.core.limits import Limits
from hubbub.core.models import Agent, AgentPurge, AgentStatus, AgentVisibility
from hubbub.core.store import (
    AgentChanges,
    AgentQuery,
    AgentStateChange,
    MessageSelection,
    Store,
)

STATUSES: tuple[str, ...] = get_args(AgentStatus)
PURGE_BATCH = 500  # messages a write removes when an agent is purged
VISIBILITIES: tuple[str, ...] = get_args(AgentVisibility)


class AgentService:
    """Resolve the acting agent of a request and manage agent profiles."""

    def __init__(
        self,
        store: Store,
        limits: Limits,
        *,
        cache_seconds: float = 5.0,
        machine_names: machines.MachineNames | None = None,
        channels: ChannelService | None = None,
    ) -> None:
        self._store = store
        self._channels = channels or ChannelService(store, limits, cache_seconds=cache_seconds)
        self._limits = limits
        self._cache: TtlCache[str, Agent] = TtlCache(cache_seconds)
        # Shared with the key service, which refreshes it when a new machine gets a key.
        self._machines = machine_names or machines.MachineNames(store, cache_seconds)

    async def act_as(self, credential: Credential, name: str) -> Agent:
        """The agent ``name`` for this credential, registering it on first use.

        A machine key acts only as ``{machine}-…`` agents whose name no longer machine owns
        (see :mod:`hubbub.core.machines`); the admin key as any existing one; an integration
        token only as its own integration's agent.
        """
        names.check_agent(name)
        hit = self._cache.entry(name)
        if hit is not None:
            self._authorize(credential, name, hit[0].machine, hit[0].kind)
        else:
            self._authorize(credential, name)
        await self._check_owner(credential, name)
        if hit is not None:
            return usable(hit[0])
        if credential.kind != "machine":
            found = await self._store.agent(name)
            if found is None:
                raise NotFound(f"no agent named {name!r}", code="agent_not_found")
            agent = found
        else:
            assert credential.machine is not None
            agent = await self._store.ensure_agent(
                name, credential.machine, "agent", self._limits.max_agents_per_machine
            )
            self._authorize(credential, agent.name, agent.machine, agent.kind)
        self.remember(agent)
        return usable(agent)

    async def change_state(self, name: str, change: AgentStateChange) -> Agent:
        """An admin deactivates, reactivates or deletes the agent ``name``; this process
        forgets it at once (others within their cache time)."""
        agent = await self._store.set_agent_state(names.check_agent(name), change)
        self.forget(agent.name)
        return agent

    async def _check_owner(self, credential: Credential, name: str) -> None:
        """A machine key's agent name must not belong to a longer machine: the key for
        ``vm`` may not act as ``vm-x-api`` once machine ``vm-x`` has a key."""
        machine = credential.machine
        if credential.kind != "machine" or machine is None:
            return
        # Most names have no hyphen past the machine's: no other machine can own them, and
        # the request needs no machine names at all.
        if not machines.may_belong_elsewhere(name, machine):
            return
        belongs = machines.owner(name, await self._machines.get())
        # The name starts with the key's machine (checked before), so an owner with a longer
        # name is another machine; a shorter one only means the cached names predate the key.
        if belongs is not None and len(belongs) > len(machine):
            raise Forbidden(
                f"the agent name {name!r} belongs to machine {belongs!r} (the longest machine "
                f"name it starts with), not to this key's machine {machine!r}",
                code="wrong_machine",
            )

    @staticmethod
    def _authorize(
        credential: Credential, name: str, machine: str | None = None, kind: str = "agent"
    ) -> None:
        """A machine key may act only as its own machine's agents: named ``{machine}-…`` and,
        once they exist, registered to that machine as agents (a human or an integration
        named alike is not one). An integration acts only as itself."""
        if credential.is_admin:
            return
        if credential.grant is not None:
            if name != credential.grant.name:
                raise Forbidden(
                    f"this token belongs to integration {credential.grant.name!r} and acts "
                    f"only as it, not as {name!r}",
                    code="wrong_agent",
                )
            return
        if credential.kind == "human":
            if name != credential.user:
                raise Forbidden(
                    f"a signed-in human acts only as itself, not as {name!r}", code="wrong_agent"
                )
            return
        assert credential.machine is not None
        owned = (machine is None or machine == credential.machine) and kind == "agent"
        named = names.agent_belongs_to(name, credential.machine)
        if named and kind == "agent" and not owned:
            raise Forbidden(
                f"agent {name!r} was registered by machine {machine!r}: this key, of machine "
                f"{credential.machine!r}, may not act as it",
                code="wrong_machine",
            )
        if not (owned and named):
            raise Forbidden(
                f"this key belongs to machine {credential.machine!r} and may act only as "
                f"agents named '{credential.machine}-…', not {name!r}",
                code="wrong_machine",
            )

    def remember(self, agent: Agent) -> None:
        """Refresh the cached copy of ``agent`` after a change made elsewhere."""
        self._cache.put(agent.name, agent)

    async def purge(self, name: str, *, batch: int = PURGE_BATCH) -> AgentPurge:
        """An admin purges a deleted agent: every message it wrote is removed (with all that
        holds their text), ``batch`` a write, and its name is freed for a new agent."""
        agent = await self._store.agent(names.check_agent(name))
        if agent is None:
            raise NotFound(f"no agent named {name!r}", code="agent_not_found")
        if not agent.deleted:
            raise Conflict(
                f"agent {name!r} is not deleted: delete it first, then purge it",
                code="agent_not_deleted",
            )
        ids = await self._store.authored_messages(agent.id)
        removed = 0
        for start in range(0, len(ids), batch):
            chunk = tuple(ids[start : start + batch])
            removed += await self._store.purge_messages(MessageSelection(ids=chunk), batch)
        await self._store.free_agent_name(agent.name)
        self.forget(agent.name)
        return AgentPurge(agent=agent.name, messages=removed)

    async def check_usable(self, name: str) -> None:
        """Raise if agent ``name`` was deactivated or deleted since a stream began acting as
        it (cached like :meth:`act_as`: another process's change counts within its time)."""
        hit = self._cache.entry(name)
        agent = hit[0] if hit is not None else await self._store.agent(name)
        if agent is None:
            raise NotFound(f"no agent named {name!r}", code="agent_not_found")
        self.remember(agent)
        usable(agent)

    def forget(self, name: str) -> None:
        """Drop the cached copy of agent ``name``."""
        self._cache.forget(name)

    async def get(self, name: str) -> Agent:
        """One agent by name (a deleted one is gone)."""
        names.check_agent(name)
        agent = await self._store.agent(name)
        if agent is None or agent.deleted:
            raise NotFound(f"no agent named {name!r}", code="agent_not_found")
        return agent

    async def list(
        self,
        viewer: Agent | None,
        *,
        tag: str | None = None,
        capability: str | None = None,
        status: str | None = None,
        machine: str | None = None,
        seen_since: datetime | None = None,
    ) -> list[Agent]:
        """Visible agents matching every filter, plus the viewer itself however it is listed
        (``viewer=None`` lists hidden and ghost agents too)."""
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"bad status {status!r}: one of {', '.join(STATUSES)}")
        if tag is not None:
            names.check_tag(tag)
        if capability is not None:
            names.check_tag(capability)
        if machine is not None:
            names.check_machine(machine)
        query = AgentQuery(
            tag=tag,
            capability=capability,
            status=status,
            machine=machine,
            include_unlisted=viewer is None,
            seen_since=seen_since,
        )
        agents = await self._store.list_agents(query)
        # The viewer always sees itself, however it is listed and however long it was away.
        unlisted_self = (
            viewer is not None
            and all(a.id != viewer.id for a in agents)
            and self._matches(viewer, query)
        )
        if unlisted_self:
            assert viewer is not None
            agents.append(viewer)
            agents.sort(key=lambda a: a.name)
        return agents

    @staticmethod
    def _matches(agent: Agent, query: AgentQuery) -> bool:
        return (
            (query.tag is None or query.tag in agent.tags)
            and (query.capability is None or query.capability in agent.capabilities)
            and (query.status is None or query.status == agent.status)
            and (query.machine is None or query.machine == agent.machine)
        )

    async def update(self, agent: Agent, changes: AgentChanges) -> Agent:
        """Change the acting agent's own profile, and join ``changes.channels``, in one
        write."""
        if changes.status is not None and changes.status not in STATUSES:
            raise InvalidInput(f"bad status {changes.status!r}: one of {', '.join(STATUSES)}")
        if changes.visibility is not None and changes.visibility not in VISIBILITIES:
            raise InvalidInput(
                f"bad visibility {changes.visibility!r}: one of {', '.join(VISIBILITIES)}"
            )
        if changes.label:
            names.check_label(changes.label)
        for values in (changes.tags, changes.capabilities):
            if values is None:
                continue
            if len(values) > self._limits.max_tags:
                raise InvalidInput(f"at most {self._limits.max_tags} tags or capabilities")
            for value in values:
                names.check_tag(value)
        if changes.status_note is not None and len(changes.status_note) > 200:
            raise InvalidInput("status note is over 200 characters")
        if changes.channels:
            if len(changes.channels) > self._limits.max_tags:
                raise InvalidInput(f"at most {self._limits.max_tags} channels to join")
            join = await self._channels.joinable(agent, changes.channels)
            changes = replace(changes, channels=None, join=join)
        updated = await self._store.update_agent(agent.id, changes)
        self.remember(updated)
        return updated


def usable(agent: Agent) -> Agent:
    """``agent``, unless an admin deactivated or deleted it: nothing may act as it then."""
    if agent.deleted:
        raise Forbidden(
            f"agent {agent.name!r} was deleted by an admin; its name is free again only once "
            "an admin purges it",
            code="agent_deleted",
        )
    if agent.deactivated:
        raise Forbidden(
            f"agent {agent.name!r} is deactivated: an admin may reactivate it",
            code="agent_deactivated",
        )
    return agent


def reachable(agent: Agent | None, name: str, *, missing: str = "agent_not_found") -> Agent:
    """The agent a send, offer or invite addresses by name: a deleted one is unknown (the
    ``missing`` code), a deactivated one refused."""
    if agent is None or agent.deleted:
        raise NotFound(f"no agent named {name!r}", code=missing)
    if agent.deactivated:
        raise Forbidden(
            f"agent {name!r} is deactivated: nothing reaches it until an admin reactivates it",
            code="agent_deactivated",
        )
    return agent
