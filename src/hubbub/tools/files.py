"""Tools for files: fetch one (a small text inline in its sender-stamped block, a small image
attached, anything larger as a signed link), share one (text or base64), link, list."""

from __future__ import annotations

import base64
import binascii
import io

from pydantic import Field, PrivateAttr

from hubbub.core.errors import InvalidInput
from hubbub.core.models import File
from hubbub.tools.framing import channel_label, frame_file, neutralize, stamp
from hubbub.tools.registry import Image, Tool, ToolContext
from hubbub.tools.views import View

TEXT_INLINE = 64 * 1024  # a text file up to this size comes back in the result
IMAGE_INLINE = 512 * 1024  # and an image up to this size, attached
LINK_SECONDS = 3600
IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def _size(size: int) -> str:
    return f"{size} B" if size < 1024 else f"{size / 1024:.1f} KB"


class FileIn(View):
    """Arguments of hubbub_file."""

    file_id: int = Field(description="the file's id (a message sharing it names it: metadata.file)")


class FileOut(View):
    """A file: its details, and its content, or a link to it."""

    id: int
    name: str
    sender: str = Field(description="the uploader, stamped by the hub")
    channel: str
    size: int = Field(description="bytes")
    content_type: str
    sha256: str
    message_id: int | None = None
    text: str | None = Field(
        default=None, description="a small text file's content, in its delimited block"
    )
    image: bool | None = Field(default=None, description="true: the image is attached")
    url: str | None = Field(
        default=None, description="for a larger file: a link that works without a key"
    )
    expires: str | None = Field(default=None, description="when the link stops working (UTC)")
    _image: Image | None = PrivateAttr(default=None)

    def picture(self) -> Image | None:
        """The image fetched, to attach to the result."""
        return self._image

    @classmethod
    def of(cls, file: File) -> FileOut:
        """The details of a file, without its content yet."""
        return cls(
            id=file.id,
            name=neutralize(file.name),
            sender=file.uploader,
            channel=channel_label(file.channel),
            size=file.size,
            content_type=file.content_type,
            sha256=file.sha256,
            message_id=file.message_id,
        )


async def _content(ctx: ToolContext, file: File) -> bytes:
    buffer = io.BytesIO()
    await ctx.client.download(file.id, buffer)
    return buffer.getvalue()


async def fetch(ctx: ToolContext, args: FileIn) -> FileOut:
    file = await ctx.client.file(args.file_id)
    out = FileOut.of(file)
    if file.content_type in IMAGES and file.size <= IMAGE_INLINE:
        data = await _content(ctx, file)
        out.image = True
        out._image = Image(file.content_type, base64.b64encode(data).decode())
        return out
    if not file.content_type.startswith("image/") and file.size <= TEXT_INLINE:
        data = await _content(ctx, file)
        try:
            text = data.decode()
        except UnicodeDecodeError:
            text = None
        if text is not None and "\x00" not in text:
            out.text = frame_file(file.id, file.uploader, file.name, file.created_at, text)
            return out
    link = await ctx.client.file_link(file.id, ttl=LINK_SECONDS)
    out.url = ctx.client.link_url(link)
    out.expires = stamp(link.expires_at)
    return out


def render_file(out: FileOut) -> str:
    head = (
        f"file {out.id} {out.name!r} ({_size(out.size)}, {out.content_type}) from "
        f"{out.sender} in {out.channel}"
    )
    if out.text is not None:
        return f"{head}:\n{out.text}"
    if out.image:
        return f"{head}: the image is attached"
    return f"{head}: download it (no key needed) until {out.expires} from {out.url}"


class UploadIn(View):
    """Arguments of hubbub_upload."""

    to: str = Field(description="#channel, or @agent for a DM")
    name: str = Field(description="the file name, e.g. test-output.log")
    text: str | None = Field(default=None, description="the content, for a text file")
    base64: str | None = Field(default=None, description="the content in base64, for binary")
    message: str | None = Field(
        default=None, description="the message that shares it (default: one naming the file)"
    )


class Shared(View):
    """A file just shared, and the message that carries it."""

    id: int = Field(description="the file's id")
    name: str
    channel: str
    size: int
    sha256: str
    message_id: int | None = None


def _bytes(args: UploadIn) -> bytes:
    if (args.text is None) == (args.base64 is None):
        raise InvalidInput("give the content as text or as base64 (one of them)", code="invalid")
    if args.text is not None:
        return args.text.encode()
    try:
        return base64.b64decode(args.base64 or "", validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("base64 is not valid base64", code="invalid") from None


async def upload(ctx: ToolContext, args: UploadIn) -> Shared:
    data = _bytes(args)
    file = await ctx.client.upload(args.to, io.BytesIO(data), name=args.name, message=args.message)
    return Shared(
        id=file.id,
        name=neutralize(file.name),
        channel=channel_label(file.channel),
        size=file.size,
        sha256=file.sha256,
        message_id=file.message_id,
    )


def render_shared(out: Shared) -> str:
    return (
        f"shared {out.name!r} ({_size(out.size)}) in {out.channel}: file {out.id}, "
        f"message {out.message_id}"
    )


class LinkIn(View):
    """Arguments of hubbub_file_link."""

    file_id: int = Field(description="the file's id")
    ttl_seconds: int = Field(
        default=LINK_SECONDS, ge=1, le=86400, description="how long the link works (max a day)"
    )


class LinkOut(View):
    """A signed link to a file."""

    file_id: int
    url: str = Field(description="works without a key, in a browser or with curl")
    expires: str = Field(description="when it stops working (UTC)")


async def link(ctx: ToolContext, args: LinkIn) -> LinkOut:
    made = await ctx.client.file_link(args.file_id, ttl=args.ttl_seconds)
    return LinkOut(
        file_id=args.file_id, url=ctx.client.link_url(made), expires=stamp(made.expires_at)
    )


class FilesIn(View):
    """Arguments of hubbub_files."""

    channel: str | None = Field(default=None, description="only this #channel or @agent DM")
    name: str | None = Field(default=None, description="only names holding this text")
    limit: int = Field(default=20, ge=1, le=100)


class FileItem(View):
    """One file, briefly."""

    id: int
    name: str
    sender: str
    channel: str
    size: int
    content_type: str
    at: str


class FilesOut(View):
    """Files, newest first."""

    files: list[FileItem]


async def listing(ctx: ToolContext, args: FilesIn) -> FilesOut:
    page = await ctx.client.files(channel=args.channel, name=args.name, limit=args.limit)
    return FilesOut(
        files=[
            FileItem(
                id=f.id,
                name=neutralize(f.name),
                sender=f.uploader,
                channel=channel_label(f.channel),
                size=f.size,
                content_type=f.content_type,
                at=stamp(f.created_at),
            )
            for f in page.files
        ]
    )


def render_files(out: FilesOut) -> str:
    if not out.files:
        return "no files"
    return "\n".join(
        f"file {f.id} {f.name!r} ({_size(f.size)}, {f.content_type}) from {f.sender} in "
        f"{f.channel} at {f.at}"
        for f in out.files
    )


FILE = Tool(
    name="hubbub_file",
    title="Get a file",
    description=(
        "Get a shared file by id: a small text file's content or a small image comes back "
        "here, a larger file as a link."
    ),
    input=FileIn,
    output=FileOut,
    run=fetch,
    render=render_file,
    compact=True,
    read_only=True,
)
UPLOAD = Tool(
    name="hubbub_upload",
    title="Share a file",
    description=(
        "Share a file in a #channel or with an @agent, attached to a message: its content as "
        "text, or as base64 for a binary file (10 MB at most by default)."
    ),
    input=UploadIn,
    output=Shared,
    run=upload,
    render=render_shared,
    compact=False,
)
FILE_LINK = Tool(
    name="hubbub_file_link",
    title="Link to a file",
    description="A signed link to a file that works without a key, for an hour by default.",
    input=LinkIn,
    output=LinkOut,
    run=link,
    render=lambda out: f"file {out.file_id}: {out.url} (until {out.expires})",
    compact=False,
    read_only=True,
)
FILES = Tool(
    name="hubbub_files",
    title="List files",
    description="Files shared where you may read, newest first.",
    input=FilesIn,
    output=FilesOut,
    run=listing,
    render=render_files,
    compact=False,
    read_only=True,
    idempotent=True,
)
