"""The client config file (``~/.config/hubbub/config.toml``, mode 0600) and the ``HUBBUB_*``
environment variables that override it. Reading needs the standard library alone (``hubbub
hook`` reads it on every prompt)."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from hubbub.paths import default_config_file


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """How a client reaches the hub and who it is there."""

    url: str | None = None
    key: str | None = None
    machine: str | None = None
    agent: str | None = None
    admin_key: str | None = None

    def agent_name(self, cwd: Path | None = None) -> str | None:
        """The acting agent: configured, else ``{machine}-{basename of cwd}``."""
        if self.agent:
            return self.agent
        if not self.machine:
            return None
        project = re.sub(r"[^a-z0-9]+", "-", (cwd or Path.cwd()).name.lower()).strip("-")
        return f"{self.machine}-{project or 'home'}"[:64].rstrip("-")


def read_file(path: Path | None = None) -> ClientConfig:
    """The config file's values; an absent file gives an empty config."""
    target = path or default_config_file()
    if not target.exists():
        return ClientConfig()
    with target.open("rb") as handle:
        data = tomllib.load(handle)
    fields = {k: v for k, v in data.items() if k in ClientConfig.__slots__ and isinstance(v, str)}
    return ClientConfig(**fields)


def load(path: Path | None = None) -> ClientConfig:
    """The config file overridden by ``HUBBUB_URL``, ``HUBBUB_KEY``, ``HUBBUB_MACHINE``,
    ``HUBBUB_AGENT`` and ``HUBBUB_ADMIN_KEY``."""
    config = read_file(path)
    overrides = {
        field: os.environ[f"HUBBUB_{field.upper()}"]
        for field in ClientConfig.__slots__
        if os.environ.get(f"HUBBUB_{field.upper()}")
    }
    return replace(config, **overrides)


def write_file(config: ClientConfig, path: Path | None = None) -> Path:
    """Write the config atomically with mode 0600 (it holds secrets)."""
    import tomli_w

    target = path or default_config_file()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = {k: v for k, v in asdict(config).items() if v is not None}
    temp = target.with_name(target.name + ".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        tomli_w.dump(data, handle)
    os.chmod(temp, 0o600)
    os.replace(temp, target)
    return target
