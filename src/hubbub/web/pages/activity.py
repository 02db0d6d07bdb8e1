"""The activity feed (everything the viewer may see, newest first, live) and the inbox."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hubbub.core.models import Message
from hubbub.web.auth import Viewer
from hubbub.web.pages.channels import authors
from hubbub.web.pages.common import action, cursor, done, hub_of, page, view

PER_CHANNEL = 20
SHOWN = 100


async def activity(request: Request, who: Viewer) -> Response:
    """The latest messages of every channel and DM the viewer is in, newest first; the live
    stream adds the rest as it happens."""
    hub = hub_of(request)
    after = await cursor(request)
    board = await hub.inbox.board(who.agent)
    found: list[Message] = []
    for summary in board.channels:
        read = await hub.messages.read(who.agent, summary.channel, limit=PER_CHANNEL)
        found.extend(read.messages)
    found.sort(key=lambda m: m.id, reverse=True)
    shown = found[:SHOWN]
    return await page(
        request,
        who,
        "pages/activity.html",
        live_after=after,
        messages=shown,
        authors=await authors(hub, shown),
        files=await hub.files.attached([m.id for m in shown]),
    )


async def inbox(request: Request, who: Viewer) -> Response:
    """What is addressed to the viewer: mentions, DMs, task offers."""
    hub = hub_of(request)
    after = await cursor(request)
    found = await hub.inbox.peek(who.agent, limit=100)
    return await page(request, who, "pages/inbox.html", live_after=after, inbox=found)


async def ack(request: Request, who: Viewer) -> Response:
    """Acknowledge every inbox item shown (up to the newest)."""
    found = await hub_of(request).inbox.peek(who.agent, limit=100)
    if found.items:
        await hub_of(request).inbox.ack(who.agent, up_to=found.items[-1].id)
    return done(request, "/inbox")


def routes() -> list[BaseRoute]:
    """The routes of the activity feed and the inbox."""
    return [
        Route("/activity", view(activity), methods=["GET"]),
        Route("/inbox", view(inbox), methods=["GET"]),
        Route("/inbox/ack", action(ack), methods=["POST"]),
    ]
