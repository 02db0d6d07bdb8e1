"""Files: upload (a raw body or a form), list, download, signed links, delete."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from hubbub.core.files import Upload
from hubbub.core.models import File, FileLink, FilePage
from hubbub.core.values import TEXT_PATTERN
from hubbub.server import downloads, uploads
from hubbub.server.bodies import FilesQuery, LinkBody, SignedQuery, UploadQuery
from hubbub.server.endpoints import Call, Routes

routes = Routes("files")

BINARY: dict[str, Any] = {"type": "string", "format": "binary"}
UPLOAD: dict[str, Any] = {
    "application/octet-stream": {
        "schema": {**BINARY, "description": "The file itself (any media type: it is the file's)."}
    },
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file"],
            "additionalProperties": False,
            "properties": {
                "message": {
                    "type": "string",
                    "pattern": TEXT_PATTERN,
                    "description": "The text of the message that shares the file.",
                },
                "sha256": {
                    "type": "string",
                    "pattern": "^[0-9a-fA-F]{64}$",
                    "description": "The content's SHA-256: the upload is refused if it differs.",
                },
                "file": {**BINARY, "description": "The file, after the other fields."},
            },
        }
    },
}
CONTENT: dict[str, Any] = {
    "application/octet-stream": {"schema": BINARY},
    "*/*": {"schema": BINARY, "description": "An image or other inert type, as uploaded."},
}


@routes.post(
    "/files",
    summary="Upload a file to a channel or DM",
    status=201,
    consumes=UPLOAD,
    errors={
        404: "No such channel or agent",
        409: "The channel is archived, or the upload stalled and was given up",
    },
)
async def upload_file(call: Call, query: UploadQuery) -> File:
    """The body is the file itself (named by `name`), or a `multipart/form-data` form whose
    `file` part is the file. It is shared in the conversation, attached to a message. Over
    `max_file_bytes` is `413 file_too_large` (before the rest of the body is read), over the
    machine's quota `413 quota_exceeded`, a `sha256` that differs `422 hash_mismatch`; a
    refused upload stores nothing."""
    upload = Upload(to=query.to, name=query.name, message=query.message, sha256=query.sha256)
    if uploads.is_form(call.request):
        return await uploads.receive_form(call.hub, call.agent, upload, call.request)
    return await uploads.receive_raw(call.hub, call.agent, upload, call.request)


@routes.get("/files", summary="Files I may see, newest first")
async def list_files(call: Call, query: FilesQuery) -> FilePage:
    return await call.hub.files.list(
        call.agent, channel=query.channel, name=query.name, before=query.before, limit=query.limit
    )


@routes.get("/files/{file_id}", summary="One file's details")
async def get_file(call: Call, file_id: int) -> File:
    return await call.hub.files.get(call.agent, file_id)


@routes.get("/files/{file_id}/content", summary="Download a file", produces=CONTENT)
async def download_file(call: Call, file_id: int) -> Response:
    """The file's bytes, as an attachment; `Repr-Digest` carries their SHA-256."""
    return downloads.send(call.request, await call.hub.files.open(call.agent, file_id))


@routes.post("/files/{file_id}/link", summary="A signed link to a file, usable without a key")
async def link_file(call: Call, file_id: int, body: LinkBody) -> FileLink:
    """The link works for `ttl_seconds` (default an hour, at most a day), for anyone who has
    it; it stops working sooner if the file is deleted or the hub secret rotated."""
    return await call.hub.files.link(call.agent, file_id, body.ttl_seconds)


@routes.get(
    "/files/{file_id}/signed",
    summary="Download a file through a signed link",
    auth="none",
    produces=CONTENT,
    errors={403: "The link was altered, or it expired"},
)
async def signed_file(call: Call, file_id: int, query: SignedQuery) -> Response:
    """No key: the signature is the credential. An image is shown inline, anything else
    downloaded."""
    download = await call.hub.files.open_link(file_id, query.expires, query.signature)
    return downloads.send(call.request, download, inline=True)


@routes.delete(
    "/files/{file_id}",
    summary="Delete a file (its uploader or an admin)",
    errors={403: "Not the file's uploader"},
)
async def delete_file(call: Call, file_id: int) -> File:
    admin = call.credential is not None and call.credential.is_admin
    return await call.hub.files.delete(call.agent, file_id, as_admin=admin)
