"""Local zero-config: the first start creates the admin key and this machine's key and writes
the client config, so the CLI, SDK and MCP on this machine just work."""

from __future__ import annotations

import contextlib
import getpass
import re
import secrets
import socket
from dataclasses import dataclass, replace
from pathlib import Path

from hubbub import config
from hubbub.core.errors import Conflict, HubbubError, Unauthorized
from hubbub.core.hub import Hub
from hubbub.core.users import local_name


def local_user_name() -> str:
    """The local human's user name (from the operating system's user name)."""
    try:
        return local_name(getpass.getuser())
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return local_name("")


def local_machine_name() -> str:
    """This computer's name as a valid machine name (from the hostname)."""
    host = socket.gethostname().split(".")[0].lower()
    cleaned = re.sub(r"[^a-z0-9-]+", "-", host).strip("-")[:32].strip("-")
    return cleaned or "local"


@dataclass(frozen=True, slots=True)
class Provisioned:
    """What provisioning did, for the start-up banner."""

    config_path: Path
    machine: str
    wrote_config: bool
    new_admin_key: str | None = None
    note: str | None = None
    dashboard: str | None = None
    """A fresh one-time link that signs the local human in to the dashboard."""


async def _valid(hub: Hub, secret: str | None, *, admin: bool, machine: str | None) -> bool:
    if not secret:
        return False
    try:
        credential = await hub.keys.verify(secret)
    except Unauthorized:
        return False
    if admin:
        return credential.is_admin
    return credential.kind == "machine" and credential.machine == machine


async def provision(hub: Hub, url: str, config_path: Path, machine: str | None) -> Provisioned:
    """Make sure the local config holds working keys for this hub.

    The file is written when it is absent, has no URL, already points at this hub, or holds
    keys this hub accepts; a config for another hub is left alone.
    """
    machine = machine or local_machine_name()
    done = await _provision_keys(hub, url, config_path, machine)
    return replace(done, dashboard=await dashboard_link(hub, url))


async def dashboard_link(hub: Hub, url: str) -> str | None:
    """A one-time dashboard link for the local human, made an admin on the first start (when
    the hub has no user yet); ``None`` when that user is gone or disabled."""
    name = local_user_name()
    if await hub.store.user(name) is None:
        if await hub.users.list():
            return None  # the hub's people were chosen by hand: none is made for them
        # Signing in is by link; a password can be set later (hubbub users passwd).
        with contextlib.suppress(Conflict):  # made by another process meanwhile
            await hub.users.create(name, secrets.token_urlsafe(24), admin=True)
    try:
        link = await hub.sessions.link(name)
    except HubbubError:  # disabled since
        return None
    return url + link.path


async def _provision_keys(hub: Hub, url: str, config_path: Path, machine: str) -> Provisioned:
    current = config.read_file(config_path)
    has_admin = await hub.keys.has_admin()
    admin_ok = await _valid(hub, current.admin_key, admin=True, machine=None)
    key_ok = await _valid(hub, current.key, admin=False, machine=current.machine)
    ours = current.url in (None, url) or admin_ok or key_ok
    if not ours:
        new_admin = None
        if not has_admin:
            new_admin = (await hub.keys.create("admin", None, "first start")).key
        return Provisioned(
            config_path,
            machine,
            False,
            new_admin,
            f"{config_path} points at {current.url}; left unchanged",
        )
    updated = replace(current, url=url)
    if not admin_ok:
        if has_admin:
            updated = replace(updated, admin_key=None)
        else:
            admin = await hub.keys.create("admin", None, "first start")
            updated = replace(updated, admin_key=admin.key)
    if not key_ok:
        made = await hub.keys.create("machine", machine, "local (first start)")
        updated = replace(updated, key=made.key, machine=machine)
    if updated != current:
        config.write_file(updated, config_path)
    return Provisioned(config_path, updated.machine or machine, updated != current)
