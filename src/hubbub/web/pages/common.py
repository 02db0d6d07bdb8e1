"""What every page shares: the viewer, the sidebar, form parsing, fragments, and errors shown
on the page (or as problem+json to the page's own fetches)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from jinja2 import Environment
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hubbub.core.errors import HubbubError, InvalidInput
from hubbub.core.files import human_size
from hubbub.core.hub import Hub
from hubbub.server import downloads
from hubbub.web import markdown, templating
from hubbub.web.auth import Viewer, check_origin, viewer, writer
from hubbub.web.pages.sidebar import Sidebar, sidebar

Handler = Callable[[Request], Awaitable[Response]]


def hub_of(request: Request) -> Hub:
    """The hub this app serves."""
    hub: Hub = request.app.state.hub
    return hub


def is_fetch(request: Request) -> bool:
    """True for the page's own requests (made by app.js), which get fragments and
    problem+json; plain form posts get a redirect or a page."""
    return "x-requested-with" in request.headers or "application/json" in request.headers.get(
        "accept", ""
    )


def _install(env: Environment) -> Environment:
    """Our filters, once per environment."""
    if "markdown" not in env.filters:
        env.filters["markdown"] = markdown.render
        env.filters["snippet"] = markdown.snippet
        env.filters["filesize"] = human_size
        env.tests["previewable"] = lambda content_type: content_type in downloads.IMAGES
    return env


def environment() -> Environment:
    """The Jinja environment pages and live fragments share."""
    return _install(templating.environment())


def fragment(template: str, **context: Any) -> str:
    """A partial template rendered to a string, with no request: the same for every viewer."""
    context.setdefault("authors", {})
    context.setdefault("files", {})
    context.setdefault("me", None)
    context.setdefault("csrf", None)
    return environment().get_template(template).render(**context)


async def cursor(request: Request) -> int:
    """The newest event now: a page rendered after reading it goes live from there, so the
    stream replays whatever changed while the page was being built."""
    return await hub_of(request).store.last_event_seq()


async def page(
    request: Request,
    who: Viewer,
    template: str,
    *,
    status: int = 200,
    current: str | None = None,
    live_after: int | None = None,
    **context: Any,
) -> Response:
    """A full page: the sidebar, the live hook and ``context``."""
    environment()
    side: Sidebar = await sidebar(hub_of(request), who, current=current)
    context.setdefault("authors", {})
    context.setdefault("files", {})
    context.setdefault("live_channel", None)
    context.setdefault("member", False)
    return templating.render(
        request,
        template,
        status=status,
        viewer=who,
        me=who.agent.name,
        csrf=who.csrf_token,
        side=side,
        live_after=await cursor(request) if live_after is None else live_after,
        **context,
    )


async def form(request: Request) -> FormData:
    """The posted form."""
    return await request.form()


def text(data: FormData | Mapping[str, Any], name: str, *, required: bool = True) -> str:
    """A text field of a form: ``required`` ones must be there (they may still be blank)."""
    value = data.get(name)
    if value is None or not isinstance(value, str):
        if required:
            raise InvalidInput(f"the form has no {name!r} field")
        return ""
    return value


def number(data: FormData | Mapping[str, Any], name: str) -> int | None:
    """An optional whole-number field."""
    value = text(data, name, required=False).strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise InvalidInput(f"{name} must be a whole number")
    return int(value)


def when(value: str | None, name: str, *, end_of_day: bool = False) -> datetime | None:
    """An optional date or date-time field (``YYYY-MM-DD`` or ISO 8601; UTC unless it says
    otherwise). A bare date is its first moment, or with ``end_of_day`` the next day's."""
    if not value:
        return None
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a date like 2026-01-31") from None
    if found.tzinfo is None:
        found = found.replace(tzinfo=UTC)
    if end_of_day and len(value) == len("2026-01-31"):
        found += timedelta(days=1)
    return found


def done(request: Request, to: str, body: str = "") -> Response:
    """The answer to a successful post: the fragment for a fetch, else back to a page."""
    if is_fetch(request):
        return Response(body, media_type="text/html")
    return RedirectResponse(to, status_code=303)


async def _refused(request: Request, error: HubbubError) -> Response:
    """A refusal as a page (with the sidebar when the session still works), for plain
    browser requests; the page's own fetches get the problem+json the app answers with."""
    if is_fetch(request) or error.status == 401:
        raise error
    try:
        who = await viewer(request)
    except HubbubError:
        raise error from None
    return await page(request, who, "pages/error.html", status=error.status, error=error)


def action(handler: Callable[[Request, Viewer], Awaitable[Response]]) -> Handler:
    """A state-changing page route: the writer (session and CSRF token) checked first; a
    refused request changes nothing and says why, as problem+json to a fetch or as a page."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request, await writer(request))
        except HubbubError as error:
            return await _refused(request, error)

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


def streamed(handler: Callable[[Request, Viewer], Awaitable[Response]]) -> Handler:
    """A state-changing route that streams its body (an upload): the session and the page's
    origin checked first, the CSRF token by the handler, since it may come inside that body;
    a refusal changes nothing and says why, as :func:`action` does."""

    async def run(request: Request) -> Response:
        try:
            check_origin(request)
            return await handler(request, await viewer(request))
        except HubbubError as error:
            return await _refused(request, error)

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


def view(handler: Callable[[Request, Viewer], Awaitable[Response]]) -> Handler:
    """A page route: the signed-in viewer, and errors (an unknown channel…) shown as a page."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request, await viewer(request))
        except HubbubError as error:
            return await _refused(request, error)

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run
