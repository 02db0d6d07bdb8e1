"""Who is signed in: the session cookie, checked against its database row on every request,
and the CSRF check every change makes.

Pages call :func:`viewer` (reading) or :func:`writer` (changing something) and act through
the core services with :func:`credential`, exactly as the API does with a key."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from hubbub.core.errors import Forbidden, Unauthorized
from hubbub.core.hub import Hub
from hubbub.core.keys import Credential
from hubbub.core.models import Agent, User
from hubbub.core.sessions import SignedIn
from hubbub.core.store import StoredSession

COOKIE = "hubbub_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
_VIEWER = "hubbub_viewer"
_SESSION = "hubbub_session"


class LoginRequired(Unauthorized):
    """No live session: pages answer with the sign-in page, scripts with a 401."""

    default_code = "login_required"


@dataclass(frozen=True)
class Viewer:
    """The signed-in person: a human agent, its account and its session."""

    agent: Agent
    user: User
    is_admin: bool
    session_id: int
    csrf_token: str


def credential(viewer: Viewer) -> Credential:
    """What core services take to act as ``viewer``: an admin credential for an admin human,
    else one that acts only as the human itself."""
    return Credential(
        key_id=viewer.session_id,
        kind="admin" if viewer.is_admin else "human",
        machine=None,
        user=viewer.user.name,
    )


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


async def viewer(request: Request) -> Viewer:
    """The person the session cookie names, or :class:`LoginRequired`."""
    known = getattr(request.state, _VIEWER, None)
    if isinstance(known, Viewer):
        return known
    hub = _hub(request)
    cookie = request.cookies.get(COOKIE)
    session = None if not cookie else await hub.sessions.resume(cookie)
    if session is None:
        raise LoginRequired("sign in to see the dashboard")
    found = await _viewer_of(hub, session)
    setattr(request.state, _VIEWER, found)
    setattr(request.state, _SESSION, session)
    return found


async def _viewer_of(hub: Hub, session: StoredSession) -> Viewer:
    user = session.user
    as_credential = Credential(session.id, "admin" if user.admin else "human", None, user=user.name)
    agent = await hub.agents.act_as(as_credential, user.name)
    agent = await hub.presence.touch(agent)
    token = await hub.sessions.csrf_token(session)
    return Viewer(agent, user, user.admin, session.id, token)


async def writer(request: Request) -> Viewer:
    """:func:`viewer` for a request that changes something: it must come from this hub's
    own pages (``Origin``) and carry the session's CSRF token, in the ``X-CSRF-Token``
    header or the ``csrf`` form field; else a 403 and nothing written."""
    check_origin(request)
    found = await viewer(request)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and _is_form(request):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    await check_csrf(request, sent)
    return found


async def check_csrf(request: Request, sent: str | None) -> None:
    """Refuse a change without the CSRF token of the session :func:`viewer` found (for a
    route that reads the token from its own body, as an upload does)."""
    session: StoredSession = getattr(request.state, _SESSION)
    await _hub(request).sessions.check_csrf(session, sent)


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in ("application/x-www-form-urlencoded", "multipart/form-data")


def check_origin(request: Request) -> None:
    """Refuse a change sent from another site's page (a browser names it in ``Origin``)."""
    origin = request.headers.get("origin")
    if origin is None:  # not sent by browsers of old, nor by scripts: the token decides
        return
    parts = urlsplit(origin)
    host = request.headers.get("host", "")
    if parts.netloc.lower() != host.lower():
        raise Forbidden(
            "this request came from another site's page and is refused", code="bad_origin"
        )


def start_session(request: Request, response: Response, signed_in: SignedIn) -> None:
    """Give the browser its session cookie: HttpOnly, SameSite=Lax, Secure over HTTPS."""
    hours = _hub(request).sessions.policy.session_hours
    response.set_cookie(
        COOKIE,
        signed_in.token,
        max_age=int(hours * 3600),
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def end_session(request: Request, response: Response) -> None:
    """Make the browser forget its session cookie."""
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this hub, never another site."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ord(c) < 0x20 or c in "\\\x7f" for c in value) or len(value) > 2000:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value
