"""Where a client connects and as whom: arguments, else ``HUBBUB_*``, else the config file."""

from __future__ import annotations

from dataclasses import dataclass

from hubbub import config
from hubbub.core.errors import InvalidInput

AGENT_HEADER = "X-Hubbub-Agent"
INTEGRATION_PREFIX = "hb_int_"


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """A resolved client configuration."""

    url: str
    key: str | None
    agent: str | None
    admin_key: str | None

    @classmethod
    def resolve(
        cls,
        *,
        url: str | None = None,
        key: str | None = None,
        agent: str | None = None,
        admin_key: str | None = None,
    ) -> ClientSettings:
        """Arguments win over ``HUBBUB_URL``/``KEY``/``AGENT``/``MACHINE``/``ADMIN_KEY``,
        which win over ``~/.config/hubbub/config.toml``."""
        loaded = config.load()
        found_url = url or loaded.url
        if not found_url:
            raise InvalidInput(
                "no hub URL: pass url=, set HUBBUB_URL, or run 'hubbub serve' on this machine",
                code="no_config",
            )
        return cls(
            url=found_url.rstrip("/"),
            key=key or loaded.key,
            agent=agent or loaded.agent_name(),
            admin_key=admin_key or loaded.admin_key,
        )

    def headers(self, *, admin: bool) -> dict[str, str]:
        """Authentication headers for a request (the admin key for admin operations). An
        integration token acts as its integration and names no agent."""
        secret = self.admin_key if admin else self.key
        if not secret:
            which = "an admin key (HUBBUB_ADMIN_KEY)" if admin else "a key (HUBBUB_KEY)"
            raise InvalidInput(f"no key: this needs {which}", code="no_config")
        headers = {"Authorization": f"Bearer {secret}"}
        if not admin and not secret.startswith(INTEGRATION_PREFIX):
            if not self.agent:
                raise InvalidInput(
                    "no agent name: pass agent=, set HUBBUB_AGENT or HUBBUB_MACHINE",
                    code="no_config",
                )
            headers[AGENT_HEADER] = self.agent
        return headers
