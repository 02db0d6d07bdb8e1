"""Full-text search."""

from __future__ import annotations

from hubbub.core.models import SearchResult
from hubbub.server.bodies import SearchQuery
from hubbub.server.endpoints import Call, Routes

routes = Routes("search")


@routes.get(
    "/search",
    summary="Search the messages I can read",
    errors={404: "No such channel"},
)
async def search(call: Call, query: SearchQuery) -> SearchResult:
    return await call.hub.search.search(
        call.agent,
        query.q,
        channel=query.channel,
        author=query.author,
        since=query.since,
        until=query.until,
        limit=query.limit,
        kind=query.kind,
        project=query.project,
    )
