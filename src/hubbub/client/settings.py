"""Where a client connects and as whom: arguments, else ``HUBBUB_*``, else the config file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hubbub import config
from hubbub.core.errors import InvalidInput

if TYPE_CHECKING:
    from hubbub.client.profiles import Profile

AGENT_HEADER = "X-Hubbub-Agent"
INTEGRATION_PREFIX = "hb_int_"
# With none of these set, no profile is loaded, read or sent (a command's start stays as fast).
PROFILE_VARIABLES = (
    "HUBBUB_PROFILE",
    "HUBBUB_LABEL",
    "HUBBUB_TAGS",
    "HUBBUB_CAPS",
    "HUBBUB_CHANNELS",
)


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """A resolved client configuration."""

    url: str
    key: str | None
    agent: str | None
    admin_key: str | None
    profile: Profile | None = None
    """What the agent sets about itself when the client starts acting as it (``None``:
    nothing)."""

    @classmethod
    def resolve(
        cls,
        *,
        url: str | None = None,
        key: str | None = None,
        agent: str | None = None,
        admin_key: str | None = None,
        profile: Profile | str | None = None,
    ) -> ClientSettings:
        """Arguments win over ``HUBBUB_URL``/``KEY``/``AGENT``/``MACHINE``/``ADMIN_KEY``,
        which win over ``~/.config/hubbub/config.toml``; the profile is resolved the same way
        (see :mod:`hubbub.client.profiles`)."""
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
            profile=_profile(profile),
        )

    @property
    def acts_as_agent(self) -> bool:
        """True if requests name an agent (a key that is not an integration token)."""
        return bool(self.key and self.agent and not self.key.startswith(INTEGRATION_PREFIX))

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


def _profile(given: Profile | str | None) -> Profile | None:
    """The profile to apply, loaded only if one is given or a profile variable is set."""
    if given is None and not any(os.environ.get(v, "").strip() for v in PROFILE_VARIABLES):
        return None
    from hubbub.client.profiles import resolve_profile

    return resolve_profile(given) or None
