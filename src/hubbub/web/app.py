"""The dashboard's routes beside the API: signing in and out, the static files, the pages;
the security headers every web response carries; and errors as pages for browsers.

The API (``/api/v1``), ``/mcp`` and ``/openapi.json`` keep bearer keys and problem+json; only
the paths here take the session cookie."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hubbub.core.errors import HubbubError, InvalidInput
from hubbub.core.hub import Hub
from hubbub.server import problems
from hubbub.settings import Settings
from hubbub.web import auth, pages
from hubbub.web.templating import render

STATIC = Path(__file__).parent / "static"
NOT_WEB = ("/api/", "/mcp", "/openapi.json")

HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
        "object-src 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}
"""What every dashboard response says to the browser: run only this hub's own scripts and
styles, never inside another site's frame, never guess a content type, never send a page's
address (which may hold a login token) to another site."""


def is_web(path: str) -> bool:
    """Whether ``path`` belongs to the dashboard rather than the API."""
    return not path.startswith(NOT_WEB)


class SecurityHeaders:
    """ASGI middleware adding :data:`HEADERS` to every dashboard response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_web(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)  # a file keeps its stricter sandbox
            await send(message)

        await self.app(scope, receive, with_headers)


def wants_json(request: Request) -> bool:
    """A page's own script asking (``Accept: application/json`` or ``X-Requested-With``),
    answered with problem+json rather than a page."""
    accept = request.headers.get("accept", "")
    return "application/json" in accept or "x-requested-with" in request.headers


async def _on_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HubbubError)
    if not is_web(request.url.path) or wants_json(request):
        return problems.from_error(exc, request.url.path)
    if isinstance(exc, auth.LoginRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response: Response = RedirectResponse(f"/login?next={quote(auth.safe_next(target))}", 303)
        auth.end_session(request, response)  # a stale cookie is dropped
        return response
    return render(request, "error.html", exc.status, title=exc.title, detail=exc.detail)


def handlers() -> dict[Any, Any]:
    """Exception handlers: dashboard errors as pages (or problem+json for scripts); every
    other path's as :mod:`hubbub.server.problems` answers them."""
    return {HubbubError: _on_error}


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


async def login_page(request: Request) -> Response:
    """The sign-in form (or straight on, when already signed in)."""
    target = auth.safe_next(request.query_params.get("next"))
    try:
        await auth.viewer(request)
    except auth.LoginRequired:
        return render(request, "login.html", next=target, name="", message=None)
    return RedirectResponse(target, 303)


async def login(request: Request) -> Response:
    """Sign in with a user name and password."""
    auth.check_origin(request)
    form = await request.form()
    name, password, target = (_field(form.get(key)) for key in ("name", "password", "next"))
    target = auth.safe_next(target)
    try:
        signed_in = await _hub(request).sessions.login(name, password, _address(request))
    except HubbubError as error:
        if wants_json(request):
            raise
        shown = name if len(name) <= 64 else ""
        return render(
            request, "login.html", error.status, next=target, name=shown, message=error.detail
        )
    response = RedirectResponse(target, 303)
    auth.start_session(request, response, signed_in)
    return response


def _field(value: Any) -> str:
    if value is not None and not isinstance(value, str):
        raise InvalidInput("the sign-in form takes text fields only", code="invalid")
    return value or ""


async def login_link(request: Request) -> Response:
    """Sign in with a one-time link, then on to the dashboard."""
    token = request.query_params.get("token", "")
    try:
        signed_in = await _hub(request).sessions.redeem(token)
    except HubbubError as error:
        if wants_json(request):
            raise
        return render(request, "login.html", error.status, next="/", name="", message=error.detail)
    response = RedirectResponse("/", 303)
    auth.start_session(request, response, signed_in)
    return response


async def logout(request: Request) -> Response:
    """Sign out: the session ends on every hub process, the cookie is dropped."""
    await auth.writer(request)
    cookie = request.cookies.get(auth.COOKIE)
    if cookie:
        await _hub(request).sessions.logout(cookie)
    response = RedirectResponse("/login", 303)
    auth.end_session(request, response)
    return response


def routes(settings: Settings) -> list[BaseRoute]:
    """Every dashboard route: signing in and out, the static files and the pages."""
    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/login/link", login_link, methods=["GET"]),
        Route("/logout", logout, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
        *pages.routes(),
    ]
