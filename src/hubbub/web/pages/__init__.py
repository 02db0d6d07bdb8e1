"""The dashboard's pages, one module per family: channels and DMs, agents, tasks, search,
activity and the inbox, admin; and the live stream they all listen to."""

from __future__ import annotations

from starlette.routing import BaseRoute

from hubbub.web import live
from hubbub.web.pages import activity, admin, agents, channels, files, search, tasks


def routes() -> list[BaseRoute]:
    """Every page route."""
    return [
        *channels.routes(),
        *files.routes(),
        *agents.routes(),
        *tasks.routes(),
        *search.routes(),
        *activity.routes(),
        *admin.routes(),
        *live.routes(),
    ]
