"""Credentials: machine keys and the admin key. Secrets are shown once and stored as SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from hubbub.core import names
from hubbub.core.cache import TtlCache
from hubbub.core.errors import Conflict, InvalidInput, NotFound, Unauthorized
from hubbub.core.machines import MachineNames
from hubbub.core.models import KeyInfo, KeyKind, NewKey, User
from hubbub.core.scopes import Grant
from hubbub.core.store import Store

KEY_PREFIX = "hb_"
INTEGRATION_PREFIX = f"{KEY_PREFIX}int_"
CredentialKind = Literal["machine", "admin", "integration", "human"]


def digest(secret: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(kind: KeyKind) -> str:
    """A fresh random key; admin keys say so in their prefix."""
    body = secrets.token_urlsafe(32)
    return f"{KEY_PREFIX}admin_{body}" if kind == "admin" else f"{KEY_PREFIX}{body}"


def check_revocable(key: KeyInfo, live_admins: int) -> None:
    """Refuse to revoke the last admin credential: without one, no one could manage keys
    again. ``live_admins`` counts every live admin credential, ``key`` included; the store
    counts them in the write that revokes, so two revocations cannot both pass."""
    if key.kind == "admin" and key.revoked_at is None and live_admins <= 1:
        raise Conflict(
            f"key {key.id} is the last admin credential: create another admin key before "
            "revoking it",
            code="last_admin",
        )


def check_user_change(user: User, live_admins: int) -> None:
    """Refuse to disable an admin user, or take its admin flag, when it is the last live
    admin credential (the same rule as :func:`check_revocable`, counted in the same write)."""
    if user.admin and not user.disabled and live_admins <= 1:
        raise Conflict(
            f"user {user.name!r} is the last admin credential: create an admin key or make "
            "another user an admin first",
            code="last_admin",
        )


@dataclass(frozen=True, slots=True)
class Credential:
    """Who is calling: an admin, a machine whose agents the key may act as, an integration
    with what its ``grant`` allows, or a human signed in to the dashboard (``user``; kind
    ``admin`` for an admin human, else ``human``, acting only as itself)."""

    key_id: int
    kind: CredentialKind
    machine: str | None
    grant: Grant | None = None
    user: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"


class KeyService:
    """Issue, list, revoke and verify keys.

    Verified keys are cached for ``cache_seconds``; a revocation through this process drops
    the cache at once, other processes notice within ``cache_seconds``. So are the registered
    machine names (:attr:`machines`), which a key for a new machine refreshes.
    """

    def __init__(self, store: Store, *, cache_seconds: float = 5.0) -> None:
        self._store = store
        self._cache: TtlCache[str, Credential | None] = TtlCache(cache_seconds)
        self.machines = MachineNames(store, cache_seconds)

    async def create(self, kind: KeyKind, machine: str | None, label: str | None) -> NewKey:
        """Create a key. Machine keys name their machine; admin keys name none. The first key
        of a machine whose namespace holds agents other machines registered is refused
        (``machine_overlap``, see :func:`hubbub.core.machines.check_new`)."""
        if kind == "machine":
            if machine is None:
                raise InvalidInput("a machine key needs a machine name", code="bad_name")
            names.check_machine(machine)
        elif machine is not None:
            raise InvalidInput("an admin key belongs to no machine", code="invalid")
        if label is not None and len(label) > 200:
            raise InvalidInput("key label is over 200 characters", code="invalid")
        secret = new_secret(kind)
        info = await self._store.create_key(kind, machine, label, secret[:12], digest(secret))
        if kind == "machine":
            self.machines.forget()
        return NewKey(key=secret, info=info)

    async def list(self) -> list[KeyInfo]:
        """Every key, revoked ones included, newest last."""
        return await self._store.list_keys()

    async def revoke(self, key_id: int) -> KeyInfo:
        """Revoke a key; it stops working immediately in this process. The last admin
        credential is refused (``last_admin``, see :func:`check_revocable`)."""
        info = await self._store.revoke_key(key_id)
        if info is None:
            raise NotFound(f"no key with id {key_id}", code="key_not_found")
        self._cache.clear()
        return info

    def forget(self) -> None:
        """Drop every verified credential (after a revocation elsewhere in the core)."""
        self._cache.clear()

    async def has_admin(self) -> bool:
        """True once an admin key exists."""
        return await self._store.count_keys("admin") > 0

    async def verify(self, secret: str) -> Credential:
        """The credential a presented key stands for, or :class:`Unauthorized`."""
        if not secret.startswith(KEY_PREFIX):
            raise Unauthorized("malformed key: hub keys start with 'hb_'", code="bad_key")
        hashed = digest(secret)
        hit = self._cache.entry(hashed)
        if hit is not None:
            credential = hit[0]
        else:
            credential = await self._lookup(hashed)
            self._cache.put(hashed, credential)
        if credential is None:
            raise Unauthorized("unknown or revoked key", code="bad_key")
        return credential

    async def _lookup(self, hashed: str) -> Credential | None:
        stored = await self._store.key_by_digest(hashed)
        if stored is None:
            return await self._lookup_integration(hashed)
        if stored.info.revoked_at is not None:
            return None
        if not hmac.compare_digest(stored.digest, hashed):
            return None
        return Credential(stored.info.id, stored.info.kind, stored.info.machine)

    async def _lookup_integration(self, hashed: str) -> Credential | None:
        stored = await self._store.integration_by_digest(hashed)
        if stored is None or stored.info.revoked_at is not None:
            return None
        if not hmac.compare_digest(stored.digest, hashed):
            return None
        info = stored.info
        grant = Grant(
            integration_id=info.id,
            name=info.name,
            scopes=frozenset(info.scopes),
            targets=tuple(info.targets),
            channels=tuple(info.channels),
            rate_limit=info.rate_limit,
            rate_burst=info.rate_burst,
        )
        return Credential(info.id, "integration", None, grant)
