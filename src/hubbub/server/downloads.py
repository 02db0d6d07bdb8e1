"""Sending a file, for the API, its signed links and the dashboard alike: the bytes streamed
a chunk at a time, under headers that keep a browser from ever running them. A file is sent
as an attachment (a raster image may be shown inline), with its type only when that type is
known to be inert, ``nosniff``, and a sandbox that forbids script should a browser show it
anyway."""

from __future__ import annotations

import base64
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from hubbub.core.files import GENERIC, Download
from hubbub.core.models import File

IMAGES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp"}
)
"""Types a browser may show inline: raster images, which hold no script."""
INERT = IMAGES | frozenset(
    {
        "text/plain",
        "text/csv",
        "text/markdown",
        "application/json",
        "application/pdf",
        "application/zip",
        "application/gzip",
        "application/x-tar",
    }
)
"""Types sent as they are; any other (HTML, SVG, XML, scripts…) goes as
``application/octet-stream``."""
SANDBOX = "default-src 'none'; sandbox"


def served_type(file: File) -> str:
    """The ``Content-Type`` a file is sent with."""
    return file.content_type if file.content_type in INERT else GENERIC


def disposition(file: File, inline: bool) -> str:
    """``Content-Disposition``: inline only for an image when asked, with the file's name
    (an ASCII stand-in, and the exact name in UTF-8)."""
    kind = "inline" if inline and file.content_type in IMAGES else "attachment"
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in file.name
    )
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(file.name, safe='')}"


def digest(file: File) -> str:
    """``Repr-Digest`` (RFC 9530): the content's SHA-256, for the receiver to check."""
    return f"sha-256=:{base64.b64encode(bytes.fromhex(file.sha256)).decode()}:"


def headers(file: File, *, inline: bool = False) -> dict[str, str]:
    """Every header a file is sent with."""
    return {
        "Content-Length": str(file.size),
        "Content-Disposition": disposition(file, inline),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": SANDBOX,
        "Cache-Control": "private, no-store",
        "ETag": f'"{file.sha256}"',
        "Repr-Digest": digest(file),
    }


def send(request: Request, download: Download, *, inline: bool = False) -> Response:
    """The response carrying a file (only its headers to ``HEAD``)."""
    found = headers(download.file, inline=inline)
    media = served_type(download.file)
    if request.method == "HEAD":
        return Response(status_code=200, headers=found, media_type=media)
    return StreamingResponse(download.chunks(), headers=found, media_type=media)
