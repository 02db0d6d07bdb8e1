"""Files: uploads streamed into the store a chunk at a time, kept once per content (by
SHA-256), counted against the uploader's machine quota and shared in the conversation by a
message; reads, listings and deletes as the file's channel allows; signed links that work
without a key.

An upload holds at most one chunk of its bytes (:data:`CHUNK`) and writes each as one small
write, so other writers take turns with it; the file becomes visible only in the last write,
which records it together with the message that shares it. An upload refused or cut off lets
its blob go; blobs let go are freed a few chunks a write (:meth:`FileService.free`), at once
or by the maintenance round.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import mimetypes
import re
import unicodedata
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hubbub.core.channels import ChannelService
from hubbub.core.errors import Forbidden, InvalidInput, NotFound, TooLarge, Unavailable
from hubbub.core.limits import Limits
from hubbub.core.messages import MessageService
from hubbub.core.models import Agent, File, FileLink, FilePage
from hubbub.core.sessions import SessionService
from hubbub.core.store import FileQuery, NewFile, NewMessage, Store, StoredFile

CHUNK = 256 * 1024
"""Bytes per stored chunk: what an upload holds in memory, and what one write carries."""
CHUNK_WRITES = 1
"""Chunks, of every upload together, queued for or in the writer at once (per process)."""
MAX_NAME = 255
DEFAULT_TTL = 3600
MAX_TTL = 24 * 3600
STALE_SECONDS = 600.0  # an upload whose blob has not grown for this long was cut off
FREE_CHUNKS = 16  # chunks freed per write
RETENTION_BATCH = 100
LINK_PURPOSE = "file"
LINK_PATH = "/api/v1/files/{id}/signed"
SHA256 = re.compile(r"^[0-9a-f]{64}$")
MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
GENERIC = "application/octet-stream"
# What says nothing about the content: the type is guessed from the name instead.
UNTYPED = frozenset({GENERIC, "multipart/form-data", "application/x-www-form-urlencoded"})
_TYPES = mimetypes.MimeTypes()  # Python's own table, the same on every machine
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})  # controls, format, unassigned…


# names, types and captions


def clean_name(raw: str | None) -> str:
    """A file name safe to show and to save: no folders (the part after the last ``/`` or
    ``\\``), no control or format characters (each becomes ``_``: no hidden right-to-left
    override), single spaces, at most :data:`MAX_NAME` characters (the extension kept), and
    ``file`` when nothing is left."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join("_" if unicodedata.category(c) in _HIDDEN else c for c in name)
    name = " ".join(name.split())
    if name in ("", ".", ".."):
        return "file"
    if len(name) > MAX_NAME:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and 0 < len(extension) <= 16:
            name = f"{stem[: MAX_NAME - len(extension) - 1].rstrip()}.{extension}"
        else:
            name = name[:MAX_NAME].rstrip()
    return name


def media_type(declared: str | None, name: str) -> str:
    """The file's media type: the one declared (parameters dropped), else the one its name
    implies, else ``application/octet-stream``."""
    kind = (declared or "").split(";", 1)[0].strip().lower()
    if MEDIA_TYPE.fullmatch(kind) and kind not in UNTYPED:
        return kind
    guessed, _ = _TYPES.guess_type(name, strict=False)
    return guessed or GENERIC


def human_size(size: int) -> str:
    """``size`` bytes as people read it: ``512 B``, ``12.3 KB``, ``10.0 MB`` (powers of 1024)."""
    amount = float(size)
    for unit in ("B", "KB", "MB"):
        if amount < 1024 or unit == "MB":
            return f"{size} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def code_span(text: str) -> str:
    """``text`` as a Markdown code span, whatever backticks it holds (mentions and emphasis
    inside it stay inert)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


def caption(file: File) -> str:
    """What the message sharing a file says when its uploader wrote nothing."""
    return f"shared {code_span(file.name)} ({human_size(file.size)})"


def attachment(file: File) -> dict[str, Any]:
    """The metadata of the message that shares a file: what a reader needs to fetch it."""
    return {
        "file": {
            "id": file.id,
            "name": file.name,
            "size": file.size,
            "content_type": file.content_type,
            "sha256": file.sha256,
        }
    }


def over_quota(machine: str, used: int, size: int, quota: int) -> str:
    """Why an upload is refused for its machine's quota."""
    return (
        f"machine {machine!r} already holds {human_size(used)} of files; this upload "
        f"({human_size(size)}) would pass its quota of {human_size(quota)}: delete files first"
    )


# uploads


@dataclass(frozen=True, slots=True)
class Upload:
    """What an upload says besides its bytes: where it goes (``#channel`` or ``@agent``),
    the file's name and type as sent, the text of the message sharing it and the SHA-256
    the sender computed, if any."""

    to: str
    name: str | None = None
    content_type: str | None = None
    message: str | None = None
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """An upload checked before its bytes are stored: who sends it, the file's clean name
    and type, the hash to verify and the message that will share it."""

    uploader: Agent
    name: str
    content_type: str
    sha256: str | None
    message: NewMessage


class Incoming:
    """The bytes of one upload on their way into the store: hashed and counted as they
    come, written a chunk at a time to a loose blob, recorded by :meth:`finish` or let go
    by :meth:`discard`."""

    def __init__(self, service: FileService, uploader: Agent) -> None:
        self._service = service
        self._store = service.store
        self._limits = service.limits
        self._uploader = uploader
        self._hash = hashlib.sha256()
        self._buffer = bytearray()
        self._blob: int | None = None
        self._chunks = 0
        self._used: int | None = None
        self.size = 0

    async def check_size(self, size: int) -> None:
        """Refuse an upload announced as larger than the hub or the quota takes."""
        await self._check(size)

    async def _check(self, size: int) -> None:
        limit = self._limits.max_file_bytes
        if size > limit:
            raise TooLarge(
                f"the file is over {human_size(limit)} ({limit} bytes), the largest the hub takes",
                code="file_too_large",
            )
        quota = self._limits.file_quota_bytes
        if quota:
            machine = self._uploader.machine
            if self._used is None:
                self._used = await self._store.machine_file_bytes(machine)
            if self._used + size > quota:
                raise TooLarge(over_quota(machine, self._used, size, quota), code="quota_exceeded")

    async def write(self, data: bytes) -> None:
        """Take the next bytes; each full chunk is written as it fills."""
        if not data:
            return
        await self._check(self.size + len(data))
        self.size += len(data)
        self._hash.update(data)
        self._buffer += data
        while len(self._buffer) >= CHUNK:
            with memoryview(self._buffer) as view:
                chunk = bytes(view[:CHUNK])  # the one copy a chunk needs
            del self._buffer[:CHUNK]
            await self._flush(chunk)

    async def _flush(self, data: bytes) -> None:
        async with self._service.chunk_writes:
            if self._blob is None:
                self._blob = await self._store.begin_blob()
            await self._store.append_chunk(self._blob, self._chunks, data)
        self._chunks += 1

    async def finish(self, prepared: Prepared) -> File:
        """Write the last chunk, check the whole, and record the file with its message."""
        if self._buffer:
            await self._flush(bytes(self._buffer))
            self._buffer.clear()
        if self._blob is None:
            raise InvalidInput("the file is empty: there is nothing to share", code="empty_file")
        digest = self._hash.hexdigest()
        if prepared.sha256 is not None and prepared.sha256 != digest:
            raise InvalidInput(
                f"the file's SHA-256 is {digest}, not {prepared.sha256} as sent: it changed on "
                "the way, or the hash is of another file",
                code="hash_mismatch",
            )
        file = await self._store.record_file(
            NewFile(
                blob_id=self._blob,
                sha256=digest,
                size=self.size,
                name=prepared.name,
                content_type=prepared.content_type,
                machine=prepared.uploader.machine,
                quota=self._limits.file_quota_bytes,
                message=prepared.message,
            )
        )
        recorded = await self._store.file(file.id)
        if recorded is not None and recorded.blob_id != self._blob:
            await self._service.free()  # the content was there already: this copy goes
        return file

    async def discard(self) -> None:
        """Give up the upload: its blob is let go and freed (when the store cannot, as the
        hub stops, the maintenance round frees it once it has gone stale)."""
        self._buffer.clear()
        if self._blob is not None:
            blob, self._blob = self._blob, None
            with contextlib.suppress(Unavailable):
                await self._store.let_go_blob(blob)
                await self._service.free()


@dataclass(frozen=True, slots=True)
class Download:
    """A file to send, and its bytes, read a chunk at a time."""

    file: File
    stored: StoredFile
    store: Store

    async def chunks(self) -> AsyncIterator[bytes]:
        """The content, in order; a file deleted while it is read ends with ``NotFound``."""
        for n in range(self.stored.chunks):
            data = await self.store.file_chunk(self.stored.blob_id, n)
            if data is None:
                raise NotFound(
                    f"file {self.file.id} was deleted while it was read", code="file_not_found"
                )
            yield data


class FileService:
    """Upload, read, list, link and delete files, each as its channel allows."""

    def __init__(
        self,
        store: Store,
        limits: Limits,
        channels: ChannelService,
        messages: MessageService,
        sessions: SessionService,
    ) -> None:
        self.store = store
        self.limits = limits
        # However many uploads run at once, their chunks reach the writer one at a time: a
        # batch of writes, and the posts committed with it, carries at most one chunk, so
        # uploads never make anyone else's write wait long.
        self.chunk_writes = asyncio.Semaphore(CHUNK_WRITES)
        self._channels = channels
        self._messages = messages
        self._sessions = sessions

    # uploading

    async def prepare(self, uploader: Agent, upload: Upload) -> Prepared:
        """Check an upload before its bytes: the target (one the uploader may post to), the
        message text, the hash's form; clean the name, settle the type."""
        expected = None
        if upload.sha256 is not None:
            expected = upload.sha256.strip().lower()
            if not SHA256.fullmatch(expected):
                raise InvalidInput(
                    "sha256 must be 64 hexadecimal digits (the content's SHA-256)",
                    code="bad_sha256",
                )
        target = upload.to.strip()
        if target and not target.startswith(("#", "@")):
            target = "#" + target
        text = upload.message if upload.message and upload.message.strip() else None
        message = await self._messages.compose(uploader, target, text)
        name = clean_name(upload.name)
        return Prepared(uploader, name, media_type(upload.content_type, name), expected, message)

    def incoming(self, uploader: Agent) -> Incoming:
        """A new upload's bytes, to :meth:`Incoming.write` and then finish or discard."""
        return Incoming(self, uploader)

    async def upload(
        self, uploader: Agent, upload: Upload, data: AsyncIterable[bytes], size: int | None = None
    ) -> File:
        """Check, store and share a file whose bytes come from ``data`` (``size``: as
        announced, refused at once when too large); nothing stays if it fails."""
        prepared = await self.prepare(uploader, upload)
        incoming = self.incoming(uploader)
        try:
            if size is not None:
                await incoming.check_size(size)
            async for piece in data:
                await incoming.write(piece)
            return await incoming.finish(prepared)
        except BaseException:
            await incoming.discard()
            raise

    # reading

    async def _readable(self, viewer: Agent, file_id: int) -> StoredFile:
        """A file the viewer may read: one in a public channel, or in one it is a member of.
        To anyone else it does not exist."""
        found = await self.store.file(file_id)
        if found is not None:
            public = found.channel_kind == "channel" and found.channel_visibility == "public"
            if public or await self.store.is_member(found.channel_id, viewer.id):
                return found
        raise NotFound(f"no file with id {file_id}", code="file_not_found")

    async def get(self, viewer: Agent, file_id: int) -> File:
        """One file the viewer may read."""
        return (await self._readable(viewer, file_id)).file

    async def open(self, viewer: Agent, file_id: int) -> Download:
        """A file the viewer may read, with its bytes."""
        found = await self._readable(viewer, file_id)
        return Download(found.file, found, self.store)

    async def attached(self, message_ids: list[int]) -> dict[int, list[File]]:
        """The files attached to messages the caller already shows, by message id."""
        found: dict[int, list[File]] = {}
        for file in await self.store.files_of_messages(message_ids):
            if file.message_id is not None:
                found.setdefault(file.message_id, []).append(file)
        return found

    async def list(
        self,
        viewer: Agent,
        *,
        channel: str | None = None,
        name: str | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> FilePage:
        """The files the viewer may see, newest first: in one channel (``@agent`` for a DM),
        with ``name`` in their name, below ``before``."""
        if not 1 <= limit <= self.limits.max_page:
            raise InvalidInput(f"limit must be 1-{self.limits.max_page}")
        channel_id = None
        if channel is not None:
            found, _ = await self._channels.open(viewer, channel.removeprefix("#"))
            channel_id = found.id
        words = (name or "").strip() or None
        if words is not None and len(words) > MAX_NAME:
            raise InvalidInput(f"name must be at most {MAX_NAME} characters")
        query = FileQuery(viewer.id, channel_id, words, before, limit + 1)
        found_files = await self.store.files(query)
        has_more = len(found_files) > limit
        shown = found_files[:limit]
        cursor = shown[-1].id if shown else (before or 0)
        return FilePage(files=shown, cursor=cursor, has_more=has_more)

    # signed links

    async def link(self, viewer: Agent, file_id: int, ttl: int = DEFAULT_TTL) -> FileLink:
        """A link to a file the viewer may read that works without a key for ``ttl``
        seconds (at most a day)."""
        if not 1 <= ttl <= MAX_TTL:
            raise InvalidInput(f"ttl must be 1-{MAX_TTL} seconds (a day)", code="bad_ttl")
        await self._readable(viewer, file_id)
        expires = int(datetime.now(UTC).timestamp()) + ttl
        signature = await self._sessions.signature(LINK_PURPOSE, f"{file_id}:{expires}")
        path = f"{LINK_PATH.format(id=file_id)}?expires={expires}&signature={signature}"
        return FileLink(file_id=file_id, path=path, expires_at=datetime.fromtimestamp(expires, UTC))

    async def open_link(self, file_id: int, expires: int, signature: str) -> Download:
        """The file a signed link names, if the link is intact, not expired, and the file
        still there."""
        if not await self._sessions.is_signed(LINK_PURPOSE, f"{file_id}:{expires}", signature):
            raise Forbidden(
                "this link's signature does not match: it was altered, or the hub's secret was "
                "rotated since; ask for a new link",
                code="bad_signature",
            )
        if expires <= datetime.now(UTC).timestamp():
            when = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            raise Forbidden(f"this link expired at {when}; ask for a new one", code="link_expired")
        found = await self.store.file(file_id)
        if found is None:
            raise NotFound(f"no file with id {file_id}", code="file_not_found")
        return Download(found.file, found, self.store)

    # deleting and freeing

    async def delete(self, actor: Agent, file_id: int, *, as_admin: bool = False) -> File:
        """Delete a file: its uploader may, or an admin. Its bytes are freed with the last
        file that holds them."""
        if as_admin:
            if await self.store.file(file_id) is None:
                raise NotFound(f"no file with id {file_id}", code="file_not_found")
        else:
            found = await self._readable(actor, file_id)
            if found.file.uploader != actor.name:
                raise Forbidden(
                    f"only its uploader ({found.file.uploader}) or an admin may delete file "
                    f"{file_id}",
                    code="not_uploader",
                )
        gone = await self.store.delete_file(file_id)
        if gone is None:
            raise NotFound(f"no file with id {file_id}", code="file_not_found")
        await self.free()
        return gone

    async def free(self) -> int:
        """Free every blob let go and every upload cut off; how many writes it took."""
        stale = datetime.now(UTC) - timedelta(seconds=STALE_SECONDS)
        writes = 0
        while await self.store.free_blobs(stale, FREE_CHUNKS):
            writes += 1
        return writes

    async def sweep(self) -> None:
        """The maintenance round's part: drop files past ``file_retention_days`` (if set),
        then free what is let go."""
        days = self.limits.file_retention_days
        if days > 0:
            before = datetime.now(UTC) - timedelta(days=days)
            while expired := await self.store.expired_files(before, RETENTION_BATCH):
                for file_id in expired:
                    await self.store.delete_file(file_id)
        await self.free()
