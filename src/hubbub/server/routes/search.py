"""Full-text search."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from hubbub.core.models import SearchResult
from hubbub.server.auth import Actor, HubDep
from hubbub.server.responses import ok

router = APIRouter(tags=["search"])


@router.get("/search", response_model=SearchResult, summary="Search messages I can read")
async def search(
    me: Actor,
    hub: HubDep,
    q: Annotated[str, Query(description='Words to match; "a phrase" and prefix* work.')],
    channel: str | None = None,
    author: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Response:
    result = await hub.search.search(
        me, q, channel=channel, author=author, since=since, until=until, limit=limit
    )
    return ok(result)
