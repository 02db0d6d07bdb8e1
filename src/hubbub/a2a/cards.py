"""Agent Cards: how a hub agent describes itself to A2A clients.

A card is built from the agent as it is now: its name, a description from its label and
status, a skill for each capability (plus one for plain messages), the hub's bearer scheme
and the two bindings the hub serves at the agent's URL prefix.
"""

from __future__ import annotations

from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    HTTPAuthSecurityScheme,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)
from a2a.utils.constants import PROTOCOL_VERSION_CURRENT, TransportProtocol

from hubbub import __version__
from hubbub.core.models import Agent

PREFIX = "/a2a"
SCHEME = "hubbub"
MODES = ["text/plain", "application/json"]
MESSAGE_SKILL = "message"


def agent_url(base: str, name: str) -> str:
    """Where an agent's A2A endpoints are: ``{base}/a2a/{name}``."""
    return f"{base.rstrip('/')}{PREFIX}/{name}"


def describe(agent: Agent) -> str:
    """One line about the agent: its label, its status and what it says it is doing."""
    said = f" ({agent.status_note})" if agent.status_note else ""
    about = f"{agent.label}. " if agent.label else ""
    return f"{about}A Hubbub agent, {agent.status}{said}."


def skills(agent: Agent) -> list[AgentSkill]:
    """Plain messages, then one skill per capability: asking for work with that skill
    offers the task to every agent with the capability (``cap:<skill>``)."""
    tags = list(agent.tags)
    found = []
    if MESSAGE_SKILL not in agent.capabilities:
        found.append(
            AgentSkill(
                id=MESSAGE_SKILL,
                name="Message",
                description=f"A direct message to {agent.name}; its first reply completes "
                "the task. With metadata `task: true` it becomes a hub task instead.",
                tags=tags or [MESSAGE_SKILL],
                input_modes=MODES,
                output_modes=MODES,
            )
        )
    for capability in agent.capabilities:
        found.append(
            AgentSkill(
                id=capability,
                name=capability,
                description=f"Work needing {capability}: send a message with metadata "
                f'`task: {{"skill": "{capability}"}}`; it becomes a hub task for cap:{capability}.',
                tags=tags or [capability],
                input_modes=MODES,
                output_modes=MODES,
            )
        )
    return found


def card(agent: Agent, base: str) -> AgentCard:
    """The agent's card, with its endpoints under ``base`` (the hub's public address)."""
    url = agent_url(base, agent.name)
    bearer = HTTPAuthSecurityScheme(
        scheme="bearer",
        description="An integration token with the `a2a` scope (or a hub key, naming the "
        "acting agent in X-Hubbub-Agent).",
    )
    return AgentCard(
        name=agent.name,
        description=describe(agent),
        version=__version__,
        supported_interfaces=[
            AgentInterface(
                url=url,
                protocol_binding=binding.value,
                protocol_version=PROTOCOL_VERSION_CURRENT,
            )
            for binding in (TransportProtocol.JSONRPC, TransportProtocol.HTTP_JSON)
        ],
        capabilities=AgentCapabilities(
            streaming=True, push_notifications=True, extended_agent_card=False
        ),
        security_schemes={SCHEME: SecurityScheme(http_auth_security_scheme=bearer)},
        security_requirements=[SecurityRequirement(schemes={SCHEME: StringList(list=["a2a"])})],
        default_input_modes=MODES,
        default_output_modes=MODES,
        skills=skills(agent),
    )
