"""Human user accounts: created and administered with the admin key, passwords kept only as
argon2 hashes."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hubbub.core import names
from hubbub.core.errors import InvalidInput, NotFound, Unauthorized
from hubbub.core.models import User
from hubbub.core.store import Store

MIN_PASSWORD = 8
MAX_PASSWORD = 256


def check_password(password: str) -> str:
    """Validate a password: 8-256 characters."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            f"a password has {MIN_PASSWORD}-{MAX_PASSWORD} characters", code="bad_password"
        )
    return password


LOCAL_FALLBACK = "admin"


def local_name(os_user: str) -> str:
    """The local human's user name: the operating system's user name, lowercased, or
    ``admin`` when that is no valid agent name."""
    name = os_user.strip().lower()
    return name if names.AGENT_RE.fullmatch(name) else LOCAL_FALLBACK


class UserService:
    """Create, list, re-password, disable and verify human users."""

    def __init__(self, store: Store, hasher: PasswordHasher | None = None) -> None:
        self._store = store
        self._hasher = hasher or PasswordHasher()
        self._decoy: str | None = None

    async def _hash(self, password: str) -> str:
        # argon2 is deliberately slow; keep it off the event loop.
        return await asyncio.to_thread(self._hasher.hash, check_password(password))

    async def create(self, name: str, password: str, *, admin: bool = False) -> User:
        """A new user (an admin, with ``admin``); its name follows the agent name rules and
        must be free."""
        names.check_agent(name)
        hashed = await self._hash(password)
        return await self._store.create_user(name, hashed, admin)

    async def list(self) -> list[User]:
        """Every user, disabled ones included, by name."""
        return await self._store.list_users()

    async def get(self, name: str) -> User:
        """One user by name."""
        names.check_agent(name)
        found = await self._store.user(name)
        if found is None:
            raise NotFound(f"no user named {name!r}", code="user_not_found")
        return found

    async def set_password(self, name: str, password: str) -> User:
        """Replace a user's password."""
        await self.get(name)
        return await self._store.set_password(name, await self._hash(password))

    async def disable(self, name: str) -> User:
        """Disable a user: it can no longer log in, and its sessions end. Disabling twice
        changes nothing."""
        names.check_agent(name)
        return await self._store.disable_user(name)

    async def set_admin(self, name: str, admin: bool) -> User:
        """Make a user an admin (an admin credential on the dashboard), or take it back,
        which ends its sessions. The last admin credential cannot lose it (``last_admin``)."""
        names.check_agent(name)
        return await self._store.set_user_admin(name, admin)

    async def verify(self, name: str, password: str) -> User:
        """The user whose name and password these are, or :class:`Unauthorized`
        (``bad_login``) for an unknown or disabled user or a wrong password alike."""
        stored = await self._store.password_hash(name) if names.AGENT_RE.fullmatch(name) else None
        if stored is None and self._decoy is None:
            self._decoy = await asyncio.to_thread(self._hasher.hash, "hubbub-decoy-password")
        # An unknown name still costs one verification, so timing tells nothing about it.
        checked = stored if stored is not None else self._decoy
        assert checked is not None
        if not await asyncio.to_thread(self._matches, checked, password):
            raise Unauthorized("wrong user name or password", code="bad_login")
        if stored is None:
            raise Unauthorized("wrong user name or password", code="bad_login")
        user = await self._store.user(name)
        if user is None or user.disabled:
            raise Unauthorized("wrong user name or password", code="bad_login")
        return user

    def _matches(self, hashed: str, password: str) -> bool:
        try:
            return self._hasher.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False
