"""Machine namespaces: which machine owns an agent name, and the agents a machine registered
inside another machine's namespace.

Machine names may prefix each other (``vm`` and ``vm-x``), so ``vm-x-api`` is shaped like an
agent of both. It belongs to the *longest* registered machine that prefixes it followed by a
hyphen: ``vm-x``, once a key for ``vm-x`` exists. A machine counts as registered once a key
was created for it, revoked or not, so revoking a machine's keys never hands its agent names
to a shorter machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from hubbub.core.cache import TtlCache
from hubbub.core.errors import Conflict
from hubbub.core.store import AgentQuery, Store

SHOWN = 5
"""How many agents a message names before it gives only the count of the rest."""


def owner(name: str, machines: Collection[str]) -> str | None:
    """The longest machine in ``machines`` whose name, followed by ``-``, starts ``name``."""
    found = None
    # Only the parts of the name before one of its hyphens can be a machine's name.
    for at, char in enumerate(name):
        if char == "-" and name[:at] in machines:
            found = name[:at]
    return found


def may_belong_elsewhere(name: str, machine: str) -> bool:
    """False when no machine but ``machine`` can own ``name``: nothing after
    ``{machine}-`` holds a hyphen, so no longer machine name prefixes it."""
    return "-" in name[len(machine) + 1 :]


@dataclass(frozen=True, slots=True)
class Misplaced:
    """An agent registered by ``machine`` whose name belongs to machine ``owner``."""

    agent: str
    machine: str
    owner: str

    def describe(self, *, with_owner: bool = True) -> str:
        """The agent, the machine that registered it and (``with_owner``) its name's owner."""
        where = f", in the namespace of {self.owner!r}" if with_owner else ""
        return f"{self.agent} (registered by machine {self.machine!r}{where})"


def misplaced(agents: Iterable[tuple[str, str]], machines: Collection[str]) -> list[Misplaced]:
    """Of ``agents`` (each its name and the machine that registered it, agents of kind
    ``agent`` only), those whose name another machine of ``machines`` owns, by name."""
    found = []
    for name, machine in agents:
        belongs = owner(name, machines)
        if belongs is not None and belongs != machine:
            found.append(Misplaced(name, machine, belongs))
    return sorted(found, key=lambda m: m.agent)


def listed(found: Sequence[Misplaced], *, with_owner: bool = True, shown: int = SHOWN) -> str:
    """The first ``shown`` of ``found`` in words, and how many more there are."""
    text = ", ".join(m.describe(with_owner=with_owner) for m in found[:shown])
    rest = len(found) - shown
    return f"{text} and {rest} more" if rest > 0 else text


def check_new(machine: str, machines: Collection[str], agents: Iterable[tuple[str, str]]) -> None:
    """Refuse a key for ``machine``, not yet registered among ``machines``, while other
    machines registered agents in its namespace (``agents``: name and machine of agents of
    kind ``agent``): it would own their names and leave them usable by no key."""
    claimed = [m for m in misplaced(agents, {*machines, machine}) if m.owner == machine]
    if claimed:
        raise Conflict(
            f"machine {machine!r} would take over {len(claimed)} agent(s) another machine "
            f"registered in its namespace: {listed(claimed, with_owner=False)}; pick another "
            "machine name",
            code="machine_overlap",
        )


async def scan(store: Store) -> list[Misplaced]:
    """Every agent of the hub registered in another machine's namespace."""
    registered = await store.machine_names()
    if not registered:
        return []
    agents = await store.list_agents(AgentQuery(include_unlisted=True))
    return misplaced(((a.name, a.machine) for a in agents if a.kind == "agent"), registered)


def warning(found: Sequence[Misplaced]) -> str:
    """What the hub and ``hubbub migrate`` say about agents already misplaced."""
    return (
        f"{len(found)} agent(s) were registered by one machine in another machine's "
        f"namespace, and no machine key may act as them: {listed(found)}"
    )


class MachineNames:
    """The names of every registered machine, read at most once per ``seconds``.

    The set is small and changes only when a key for a new machine is created: creation
    through this process calls :meth:`forget`; other processes notice within ``seconds``.
    """

    def __init__(self, store: Store, seconds: float) -> None:
        self._store = store
        self._cache: TtlCache[None, frozenset[str]] = TtlCache(seconds)
        self._lock = asyncio.Lock()
        self._generation = 0

    async def get(self) -> frozenset[str]:
        """Every registered machine name (possibly ``seconds`` stale)."""
        hit = self._cache.entry(None)
        if hit is not None:
            return hit[0]
        # One read refreshes the set for every request waiting on it.
        async with self._lock:
            hit = self._cache.entry(None)
            if hit is not None:
                return hit[0]
            generation = self._generation
            found = frozenset(await self._store.machine_names())
            # A forget() during the read may have made what it found stale: not kept then.
            if generation == self._generation:
                self._cache.put(None, found)
            return found

    def forget(self) -> None:
        """Read the names afresh next time (after a key for a new machine was created)."""
        self._generation += 1
        self._cache.clear()
