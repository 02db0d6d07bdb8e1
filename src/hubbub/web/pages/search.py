"""Search: ranked hits with highlighted snippets, filters, and a way into each message."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hubbub.core.errors import HubbubError
from hubbub.core.models import SearchResult
from hubbub.web.auth import Viewer
from hubbub.web.pages.common import hub_of, page, view, when

FILTERS = ("q", "channel", "author", "since", "until")


async def search_page(request: Request, who: Viewer) -> Response:
    """The search form and, with a query, its hits (a refused filter is said on the page)."""
    args = {key: request.query_params.get(key, "").strip() for key in FILTERS}
    result: SearchResult | None = None
    error: HubbubError | None = None
    if args["q"]:
        try:
            result = await hub_of(request).search.search(
                who.agent,
                args["q"],
                channel=args["channel"] or None,
                author=args["author"] or None,
                since=when(args["since"], "since"),
                until=when(args["until"], "until", end_of_day=True),
                limit=50,
            )
        except HubbubError as refused:
            error = refused
    status = error.status if error is not None else 200
    return await page(
        request, who, "pages/search.html", status=status, args=args, result=result, error=error
    )


def routes() -> list[BaseRoute]:
    """The search route."""
    return [Route("/search", view(search_page), methods=["GET"])]
