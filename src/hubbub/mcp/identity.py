"""Where ``hubbub mcp`` connects and as whom, checked before the MCP SDK (which takes a while
to import) is loaded, so a missing setting fails at once."""

from __future__ import annotations

from hubbub.client.settings import ClientSettings
from hubbub.core.errors import InvalidInput


def resolve(agent: str | None = None) -> ClientSettings:
    """The client settings (``--agent``, else ``HUBBUB_*``, else the config file), with a
    hub URL, a key and an agent name, or an ``InvalidInput`` saying which is missing."""
    settings = ClientSettings.resolve(agent=agent)
    if not settings.key:
        raise InvalidInput(
            "no key: run 'hubbub login' (or 'hubbub serve' on this machine), or set HUBBUB_KEY",
            code="no_config",
        )
    if not settings.agent:
        raise InvalidInput("no agent name: pass --agent or set HUBBUB_AGENT", code="no_config")
    return settings
