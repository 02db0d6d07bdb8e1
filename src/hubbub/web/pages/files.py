"""Files on the dashboard: sharing one in a channel or DM, downloading one, viewing an image."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from hubbub.core import names
from hubbub.core.errors import BadRequest
from hubbub.core.files import Upload
from hubbub.server import downloads, uploads
from hubbub.web import auth
from hubbub.web.auth import Viewer
from hubbub.web.pages.channels import channel_href, message_fragment
from hubbub.web.pages.common import done, hub_of, streamed, view

CSRF = frozenset({auth.CSRF_FIELD})


async def upload(request: Request, who: Viewer) -> Response:
    """Share a file in a channel or DM, attached to a message: the form's ``csrf`` field
    (or the ``X-CSRF-Token`` header) is checked before any byte of the file is stored."""
    hub = hub_of(request)
    name = request.path_params["name"]
    channel = await hub.channels.get(who.agent, name)
    target = (
        "@" + names.dm_peer(channel.name, who.agent.name)
        if channel.kind == "dm"
        else "#" + channel.name
    )
    header = request.headers.get(auth.CSRF_HEADER)

    async def before_file(fields: dict[str, str]) -> None:
        await auth.check_csrf(request, fields.get(auth.CSRF_FIELD))

    if header is not None:
        await auth.check_csrf(request, header)
    if not uploads.is_form(request):
        raise BadRequest("send the file as a multipart/form-data form", code="bad_upload")
    file = await uploads.receive_form(
        hub,
        who.agent,
        Upload(to=target),
        request,
        extra=CSRF,
        before_file=None if header is not None else before_file,
    )
    message = await hub.messages.get(who.agent, file.message_id or 0)
    return done(request, channel_href(channel.name), await message_fragment(hub, message, who))


async def download(request: Request, who: Viewer) -> Response:
    """A file, as an attachment."""
    found = await hub_of(request).files.open(who.agent, int(request.path_params["id"]))
    return downloads.send(request, found)


async def preview(request: Request, who: Viewer) -> Response:
    """A file shown in the page: an image inline, anything else as an attachment."""
    found = await hub_of(request).files.open(who.agent, int(request.path_params["id"]))
    return downloads.send(request, found, inline=True)


def routes() -> list[BaseRoute]:
    """The routes of files."""
    return [
        Route("/c/{name}/upload", streamed(upload), methods=["POST"]),
        Route("/files/{id:int}", view(download), methods=["GET"]),
        Route("/files/{id:int}/view", view(preview), methods=["GET"]),
    ]
