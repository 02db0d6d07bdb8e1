"""Channels, DMs and threads: read, post, reply, edit, delete, older history, read cursors."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from hubbub.core import names
from hubbub.core.errors import NotFound
from hubbub.core.hub import Hub
from hubbub.core.models import Agent, Channel, Message, Thread
from hubbub.web.auth import Viewer
from hubbub.web.pages.common import (
    action,
    cursor,
    done,
    form,
    fragment,
    hub_of,
    is_fetch,
    number,
    page,
    text,
    view,
)

PAGE = 50


def channel_href(name: str, message_id: int | None = None) -> str:
    """The page of a channel (or DM), at a message if given."""
    href = "/c/" + quote(name, safe="")
    return href if message_id is None else f"{href}?at={message_id}#m{message_id}"


def title_of(channel: Channel, me: str) -> str:
    """What the page calls a channel: ``#name``, or ``@peer`` for a DM."""
    return names.dm_peer(channel.name, me) if channel.kind == "dm" else f"#{channel.name}"


async def authors(hub: Hub, messages: Iterable[Message]) -> dict[str, Agent]:
    """The agents who wrote ``messages``, by name (for their machine)."""
    found: dict[str, Agent] = {}
    for name in {m.author for m in messages}:
        try:
            found[name] = await hub.agents.get(name)
        except NotFound:
            continue
    return found


async def home(request: Request, who: Viewer) -> Response:
    """The start page: ``#general`` (or the first channel), else a welcome."""
    listed = [c for c in await hub_of(request).channels.list(who.agent) if not c.archived]
    if listed:
        first = next((c for c in listed if c.name == "general"), listed[0])
        return RedirectResponse(channel_href(first.name), 303)
    return await page(request, who, "pages/home.html")


async def channel_page(request: Request, who: Viewer) -> Response:
    """A channel or DM: its latest messages (or those around ``at``, or before ``before``),
    the compose box, and a thread beside it with ``thread``."""
    hub = hub_of(request)
    name = request.path_params["name"]
    after = await cursor(request)
    channel = await hub.channels.get(who.agent, name)
    member = who.agent.name in (channel.members or ())
    at = number(request.query_params, "at")
    before = number(request.query_params, "before")
    newer = None
    if at is not None:  # the message in its context: some before it, some after
        before = at + 1
        newer = await hub.messages.read(who.agent, channel.name, after=at, limit=PAGE // 2)
    limit = PAGE if newer is None else PAGE // 2
    page_ = await hub.messages.read(who.agent, channel.name, before=before, limit=limit)
    listed = page_.messages + (newer.messages if newer else [])
    partial = before is not None and (newer is None or newer.has_more)
    if member and not partial and listed:
        await hub.inbox.mark_read(who.agent, channel.name, listed[-1].id)
    thread: Thread | None = None
    root = number(request.query_params, "thread")
    if root is not None:
        thread = await hub.messages.thread(who.agent, root)
    shown = listed + ([thread.root, *thread.replies] if thread else [])
    return await page(
        request,
        who,
        "pages/channel.html",
        current=channel.name,
        live_after=after,
        live_channel=channel.name,
        member=member,
        channel=channel,
        title=title_of(channel, who.agent.name),
        messages=listed,
        has_more=page_.has_more,
        partial=partial,
        thread=thread,
        authors=await authors(hub, shown),
        files=await hub.files.attached([m.id for m in shown]),
    )


async def older(request: Request, who: Viewer) -> Response:
    """Older messages, as a fragment for the top of the channel."""
    hub = hub_of(request)
    channel = await hub.channels.get(who.agent, request.path_params["name"])
    before = number(request.query_params, "before")
    found = await hub.messages.read(who.agent, channel.name, before=before, limit=PAGE)
    html = fragment(
        "partials/history.html",
        channel=channel,
        messages=found.messages,
        has_more=found.has_more,
        me=who.agent.name,
        csrf=who.csrf_token,
        authors=await authors(hub, found.messages),
        files=await hub.files.attached([m.id for m in found.messages]),
    )
    return Response(html, media_type="text/html")


async def thread_part(request: Request, who: Viewer) -> Response:
    """A thread as a fragment, to open beside its channel."""
    hub = hub_of(request)
    channel = await hub.channels.get(who.agent, request.path_params["name"])
    thread = await hub.messages.thread(who.agent, int(request.path_params["root"]))
    if thread.root.channel != channel.name:
        raise NotFound(f"no thread {thread.root.id} in this channel", code="message_not_found")
    html = fragment(
        "partials/thread.html",
        channel=channel,
        thread=thread,
        me=who.agent.name,
        csrf=who.csrf_token,
        authors=await authors(hub, [thread.root, *thread.replies]),
        files=await hub.files.attached([m.id for m in [thread.root, *thread.replies]]),
    )
    return Response(html, media_type="text/html")


async def message_fragment(hub: Hub, message: Message, who: Viewer) -> str:
    """One message as the stream and the page show it."""
    return fragment(
        "partials/message.html",
        message=message,
        me=who.agent.name,
        csrf=who.csrf_token,
        authors=await authors(hub, [message]),
        files=await hub.files.attached([message.id]),
    )


async def post(request: Request, who: Viewer) -> Response:
    """Post in a channel or DM, or reply in a thread (``reply_to``)."""
    hub = hub_of(request)
    name = request.path_params["name"]
    data = await form(request)
    content = text(data, "content")
    reply_to = number(data, "reply_to")
    if name.startswith("dm:"):
        channel = await hub.channels.get(who.agent, name)
        peer = names.dm_peer(channel.name, who.agent.name)
        sent = await hub.messages.send(who.agent, peer, content, reply_to=reply_to)
        message = sent.messages[0]
    else:
        message = (await hub.messages.post(who.agent, name, content, reply_to=reply_to)).message
    to = channel_href(message.channel)
    if reply_to is not None:
        to += f"?thread={message.thread_id or message.id}#m{message.id}"
    return done(request, to, await message_fragment(hub, message, who))


async def mark_read(request: Request, who: Viewer) -> Response:
    """Move the read cursor of a channel the viewer is in (the page saw its bottom)."""
    seq = number(await form(request), "seq") or 0
    await hub_of(request).inbox.mark_read(who.agent, request.path_params["name"], seq)
    return Response(status_code=204)


async def join(request: Request, who: Viewer) -> Response:
    """Join a public channel."""
    channel = await hub_of(request).channels.join(who.agent, request.path_params["name"])
    return done(request, channel_href(channel.name))


async def at_message(request: Request, who: Viewer) -> Response:
    """A message in its context: its channel at that message (its thread, for a reply)."""
    message = await hub_of(request).messages.get(who.agent, int(request.path_params["id"]))
    if message.thread_id is not None:
        href = channel_href(message.channel, message.thread_id)
        return RedirectResponse(href.replace("#", f"&thread={message.thread_id}#", 1), 303)
    return RedirectResponse(channel_href(message.channel, message.id), 303)


async def edit(request: Request, who: Viewer) -> Response:
    """Edit one's own message."""
    hub = hub_of(request)
    content = text(await form(request), "content")
    message = await hub.messages.edit(who.agent, int(request.path_params["id"]), content=content)
    body = await message_fragment(hub, message, who)
    return done(request, channel_href(message.channel, message.id), body)


async def delete(request: Request, who: Viewer) -> Response:
    """Delete one's own message."""
    hub = hub_of(request)
    message = await hub.messages.delete(who.agent, int(request.path_params["id"]))
    body = await message_fragment(hub, message, who)
    return done(request, channel_href(message.channel, message.id), body)


async def dm_to(request: Request, who: Viewer) -> Response:
    """The sidebar's "message an agent" box."""
    peer = request.query_params.get("to", "").strip().removeprefix("@")
    return RedirectResponse("/dm/" + quote(names.check_agent(peer), safe=""), 303)


async def dm_page(request: Request, who: Viewer) -> Response:
    """The DM with an agent, or a page to write it the first message."""
    hub = hub_of(request)
    peer = await hub.agents.get(names.check_agent(request.path_params["peer"]))
    dm = names.dm_channel_name(who.agent.name, peer.name)
    try:
        await hub.channels.get(who.agent, dm)
    except NotFound:
        return await page(request, who, "pages/dm_start.html", peer=peer)
    return RedirectResponse(channel_href(dm), 303)


async def dm_post(request: Request, who: Viewer) -> Response:
    """The first message of a DM (later ones post through the DM's channel page)."""
    hub = hub_of(request)
    peer = names.check_agent(request.path_params["peer"])
    content = text(await form(request), "content")
    sent = await hub.messages.send(who.agent, "@" + peer, content)
    message = sent.messages[0]
    if is_fetch(request):
        return Response(await message_fragment(hub, message, who), media_type="text/html")
    return RedirectResponse(channel_href(message.channel), 303)


def routes() -> list[BaseRoute]:
    """The routes of channels, DMs and messages."""
    return [
        Route("/", view(home), methods=["GET"]),
        Route("/c/{name}", view(channel_page), methods=["GET"]),
        Route("/c/{name}/older", view(older), methods=["GET"]),
        Route("/c/{name}/thread/{root:int}", view(thread_part), methods=["GET"]),
        Route("/c/{name}/post", action(post), methods=["POST"]),
        Route("/c/{name}/read", action(mark_read), methods=["POST"]),
        Route("/c/{name}/join", action(join), methods=["POST"]),
        Route("/m/{id:int}", view(at_message), methods=["GET"]),
        Route("/m/{id:int}/edit", action(edit), methods=["POST"]),
        Route("/m/{id:int}/delete", action(delete), methods=["POST"]),
        Route("/dm", view(dm_to), methods=["GET"]),
        Route("/dm/{peer}", view(dm_page), methods=["GET"]),
        Route("/dm/{peer}/post", action(dm_post), methods=["POST"]),
    ]
