"""Dashboard sign-in: one-time login links, user name and password, and the sessions they
open. Every token is signed with the hub secret and stored only as its SHA-256 digest.

A session token reaches the browser as ``{token}.{signature}``; the signature (an HMAC of the
hub secret) lets a forged or stale token be refused without a lookup, the stored row decides
the rest: expiry, the user still enabled, its admin flag as it is now. A password change,
disabling the user, revoking its admin flag or rotating the secret end sessions in the same
write, so they end at once on every hub process sharing the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hubbub.core import names
from hubbub.core.errors import Forbidden, InvalidInput, RateLimited, Unauthorized
from hubbub.core.models import LoginLink, User
from hubbub.core.ratelimit import RateLimiter
from hubbub.core.store import Store, StoredSession
from hubbub.core.users import MAX_PASSWORD, UserService

LINK_SECONDS = 600  # a login link works for ten minutes, once
LINK_PATH = "/login/link"
TOUCH_SECONDS = 60.0  # how stale a session's last use may be before it is written again
MAX_TOKEN = 200  # longer than any token the hub makes: refused before any work
MAX_NAME = 64  # the longest agent (and so user) name


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How long sessions last and how fast sign-in attempts may come."""

    session_hours: float = 24.0 * 7
    login_attempts_per_minute: float = 10.0


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A session just opened: the token for the browser (shown once) and its row."""

    token: str
    session: StoredSession


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _mac(secret: str, purpose: str, value: str) -> str:
    raw = hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _split(signed: str) -> tuple[str, str] | None:
    if not signed or len(signed) > MAX_TOKEN or not signed.isascii():
        return None
    token, dot, signature = signed.partition(".")
    return (token, signature) if dot and token and signature else None


class SessionService:
    """Sign humans in and out of the dashboard and check their sessions."""

    def __init__(self, store: Store, users: UserService, policy: SessionPolicy | None) -> None:
        self._store = store
        self._users = users
        self.policy = policy or SessionPolicy()
        rate = self.policy.login_attempts_per_minute
        self._attempts = RateLimiter(rate / 60.0, max(rate, 1.0))
        self._secret: str | None = None

    # the hub secret

    async def secret(self, *, fresh: bool = False) -> str:
        """The hub secret (made on first use), as this process last read it, or re-read."""
        if self._secret is None or fresh:
            found = await self._store.hub_secret()
            if found is None:
                found = await self._store.ensure_hub_secret(secrets.token_urlsafe(48))
            self._secret = found
        return self._secret

    async def rotate_secret(self) -> None:
        """Replace the hub secret: every session and unused login link ends."""
        await self._store.rotate_hub_secret(secrets.token_urlsafe(48))
        self._secret = None

    async def signature(self, purpose: str, value: str) -> str:
        """The hub secret's signature of ``value`` for ``purpose`` (a signed file link…)."""
        return _mac(await self.secret(), purpose, value)

    async def is_signed(self, purpose: str, value: str, signature: str) -> bool:
        """Whether ``signature`` is the hub secret's for ``value`` and ``purpose`` (the
        secret re-read once, in case another process rotated it)."""
        if not signature or len(signature) > MAX_TOKEN or not signature.isascii():
            return False
        for fresh in (False, True):
            expected = _mac(await self.secret(fresh=fresh), purpose, value)
            if hmac.compare_digest(expected, signature):
                return True
        return False

    async def _sign(self, purpose: str, token: str) -> str:
        return f"{token}.{_mac(await self.secret(), purpose, token)}"

    async def _verified(self, purpose: str, signed: str) -> str | None:
        """The token inside ``signed`` if the hub secret signed it (re-read once, in case
        another process rotated it), else ``None``."""
        parts = _split(signed)
        if parts is None:
            return None
        token, signature = parts
        for fresh in (False, True):
            expected = _mac(await self.secret(fresh=fresh), purpose, token)
            if hmac.compare_digest(expected, signature):
                return token
        return None

    # signing in

    async def link(self, name: str) -> LoginLink:
        """A new one-time login link for the enabled user ``name``."""
        names.check_agent(name)
        token = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + timedelta(seconds=LINK_SECONDS)
        await self._store.create_login_link(name, _digest(token), expires)
        signed = await self._sign("link", token)
        return LoginLink(user=name, path=f"{LINK_PATH}?token={signed}", expires_at=expires)

    async def redeem(self, signed: str) -> SignedIn:
        """Spend a login link and open a session for its user."""
        token = await self._verified("link", signed)
        user = None if token is None else await self._store.use_login_link(_digest(token))
        if user is None:
            raise Unauthorized(
                "this login link is unknown, used or expired: ask for a new one (hubbub dashboard)",
                code="bad_link",
            )
        return await self._open(user)

    async def login(self, name: str, password: str, address: str) -> SignedIn:
        """Open a session for a user name and password; attempts are limited per name and
        per client address (``too_many_logins``)."""
        name = name.strip()
        if not name or not password:
            raise InvalidInput("enter a user name and a password", code="invalid")
        if len(name) > MAX_NAME or len(password) > MAX_PASSWORD:
            raise InvalidInput("wrong user name or password: too long to be one", code="invalid")
        self._take(("address", address), "from this address")
        self._take(("name", name.lower()), "for this user name")
        user = await self._users.verify(name, password)
        return await self._open(user)

    def _take(self, key: tuple[str, str], what: str) -> None:
        try:
            self._attempts.take(key)
        except RateLimited as error:
            raise RateLimited(
                f"too many sign-in attempts {what}: wait a minute and try again",
                retry_after=error.retry_after,
                code="too_many_logins",
            ) from None

    async def _open(self, user: User) -> SignedIn:
        token = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + timedelta(hours=self.policy.session_hours)
        csrf = secrets.token_urlsafe(32)
        await self._store.create_web_session(user.name, _digest(token), csrf, expires)
        found = await self._store.web_session(_digest(token))
        assert found is not None  # committed above
        return SignedIn(await self._sign("session", token), found)

    # sessions

    async def resume(self, signed: str) -> StoredSession | None:
        """The live session a browser's token names, or ``None`` (unsigned, unknown, ended,
        expired, or its user disabled)."""
        token = await self._verified("session", signed)
        if token is None:
            return None
        found = await self._store.web_session(_digest(token))
        now = datetime.now(UTC)
        if found is None or found.user.disabled or found.expires_at <= now:
            return None
        if (now - found.last_used_at).total_seconds() >= TOUCH_SECONDS:
            await self._store.touch_web_session(found.id)
        return found

    async def logout(self, signed: str) -> None:
        """End the session a token names (an unknown one is already ended)."""
        token = await self._verified("session", signed)
        if token is not None:
            await self._store.end_web_session(_digest(token))

    async def csrf_token(self, session: StoredSession) -> str:
        """The token a session's pages send back with every change."""
        return _mac(await self.secret(), "csrf", session.csrf)

    async def check_csrf(self, session: StoredSession, sent: str | None) -> None:
        """Refuse a change whose CSRF token is missing or not this session's."""
        if not sent:
            raise Forbidden(
                "this change came without its CSRF token: reload the page and try again",
                code="bad_csrf",
            )
        if len(sent) > MAX_TOKEN or not hmac.compare_digest(
            sent.encode(), (await self.csrf_token(session)).encode()
        ):
            raise Forbidden(
                "this change's CSRF token is stale or from another session: reload the page "
                "and try again",
                code="bad_csrf",
            )
