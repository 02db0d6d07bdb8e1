"""Full-text search over the messages a viewer may read."""

from __future__ import annotations

from datetime import datetime

from hubbub.core import names
from hubbub.core.channels import ChannelService
from hubbub.core.errors import InvalidInput
from hubbub.core.models import Agent, SearchResult
from hubbub.core.store import SearchQuery, Store

MAX_QUERY = 500
MAX_HITS = 100


class SearchService:
    """Ranked search with snippets, never returning what the viewer may not see."""

    def __init__(self, store: Store, channels: ChannelService) -> None:
        self._store = store
        self._channels = channels

    async def search(
        self,
        viewer: Agent,
        query: str,
        *,
        channel: str | None = None,
        author: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 20,
        kind: str | None = None,
        project: str | None = None,
    ) -> SearchResult:
        """Messages matching every word of ``query`` (``"quoted phrases"`` and ``prefix*``);
        only those of ``kind`` and in the channels of ``project``, if given."""
        names.check_kind(kind)
        if project is not None:
            names.check_project(project)
        text = query.strip()
        if not text:
            raise InvalidInput("search query is empty", code="empty_query")
        if len(text) > MAX_QUERY:
            raise InvalidInput(f"search query is over {MAX_QUERY} characters")
        if not 1 <= limit <= MAX_HITS:
            raise InvalidInput(f"limit must be 1-{MAX_HITS}")
        if since is not None and until is not None and since > until:
            raise InvalidInput("'since' is after 'until'", code="bad_range")
        channel_id = None
        if channel is not None:
            found, _ = await self._channels.open(viewer, channel.removeprefix("#"))
            channel_id = found.id
        author_id = None
        if author is not None:
            found_author = await self._store.agent(names.check_agent(author.removeprefix("@")))
            if found_author is None:
                return SearchResult(query=text, hits=[])
            author_id = found_author.id
        hits = await self._store.search(
            SearchQuery(
                terms=text,
                viewer_id=viewer.id,
                channel_id=channel_id,
                author_id=author_id,
                since=since,
                until=until,
                limit=limit,
                kind=kind,
                project=project,
            )
        )
        return SearchResult(query=text, hits=hits)
