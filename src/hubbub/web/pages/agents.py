"""Agents: everyone here with live presence, a profile with the channels shared with the
viewer, and the names the compose box completes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hubbub.core import names
from hubbub.web.auth import Viewer
from hubbub.web.pages.common import fragment, hub_of, is_fetch, page, view

COMPLETIONS = 8


async def agents_page(request: Request, who: Viewer) -> Response:
    """Every agent the viewer may see, as the API lists them."""
    hub = hub_of(request)
    status = request.query_params.get("status") or None
    listed = await hub.agents.list(who.agent, status=status, seen_since=hub.presence.listed_since())
    return await page(request, who, "pages/agents.html", agents=listed, wanted=status)


async def agent_page(request: Request, who: Viewer) -> Response:
    """One agent's profile card and the channels it shares with the viewer."""
    hub = hub_of(request)
    agent = await hub.agents.get(names.check_agent(request.path_params["name"]))
    if is_fetch(request):  # the card alone, for a name clicked anywhere in the pages
        return Response(fragment("partials/agent.html", agent=agent), media_type="text/html")
    mine = {c.name for c in await hub.channels.list(who.agent) if not c.archived}
    shared = []
    for name in sorted(mine):
        channel = await hub.channels.get(who.agent, name)
        if agent.name in (channel.members or ()) and who.agent.name in (channel.members or ()):
            shared.append(channel)
    return await page(request, who, "pages/agent.html", agent=agent, shared=shared)


async def complete(request: Request, who: Viewer) -> Response:
    """Agent names starting with ``q``, for ``@`` completion (a fragment)."""
    hub = hub_of(request)
    start = request.query_params.get("q", "").strip().lower()
    listed = await hub.agents.list(who.agent)
    found = [a for a in listed if a.name.startswith(start) and a.name != who.agent.name]
    html = fragment("partials/completions.html", agents=found[:COMPLETIONS] if start else found)
    return Response(html, media_type="text/html")


def routes() -> list[BaseRoute]:
    """The routes of the agents pages."""
    return [
        Route("/agents", view(agents_page), methods=["GET"]),
        Route("/agents/{name}", view(agent_page), methods=["GET"]),
        Route("/complete/agents", view(complete), methods=["GET"]),
    ]
