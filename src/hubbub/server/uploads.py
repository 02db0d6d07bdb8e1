"""Reading an upload as it arrives, for the API and the dashboard alike: a raw body (the file
itself, named by the query string), or ``multipart/form-data`` parsed a piece at a time by
python-multipart. Neither is ever held whole: each piece goes on to the core's
:class:`~hubbub.core.files.Incoming`, which stores it a chunk at a time."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from hubbub.core.errors import BadRequest, InvalidInput
from hubbub.core.files import Prepared, Upload
from hubbub.core.hub import Hub
from hubbub.core.models import Agent, File

FILE_FIELD = "file"
MAX_FIELDS_BYTES = 64 * 1024  # every text field of a form together
MAX_PARTS = 16
UPLOAD_PATHS = re.compile(r"^(?:/api/v1/files|/c/[^/]+/upload)$")
"""The routes that take a file: the body limit lets them through up to the file limit."""

BeforeFile = Callable[[dict[str, str]], Awaitable[None]]
"""Told the fields that came before the file part (the dashboard checks its CSRF token)."""


def is_form(request: Request) -> bool:
    """Whether the body is ``multipart/form-data`` (else it is the file itself)."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return kind == "multipart/form-data"


def declared_size(request: Request) -> int | None:
    """The body's announced length, if any."""
    raw = request.headers.get("content-length", "")
    return int(raw) if raw.isdigit() else None


async def body(request: Request) -> AsyncIterator[bytes]:
    """The request's body as it arrives; a client that hangs up before its end is a
    refusal like any other (the upload under way stores nothing), not a crash."""
    try:
        async for piece in request.stream():
            yield piece
    except ClientDisconnect:
        raise BadRequest(
            "the connection closed before the upload was complete; nothing was stored",
            code="upload_cut_off",
        ) from None


async def receive_raw(hub: Hub, agent: Agent, upload: Upload, request: Request) -> File:
    """A file sent as the whole body: refused at once when it announces a size over the
    limit, else stored as it comes."""
    kind = request.headers.get("content-type")
    upload = Upload(upload.to, upload.name, kind, upload.message, upload.sha256)
    return await hub.files.upload(agent, upload, body(request), declared_size(request))


@dataclass(frozen=True, slots=True)
class FormField:
    """A text field of a form."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class FilePart:
    """The start of a form's file part: its field name, file name and declared type."""

    name: str
    filename: str
    content_type: str


Part = FormField | FilePart | bytes
"""What a form holds, in order: fields, the start of a file part, that part's bytes."""


@dataclass(slots=True)
class _Parts:
    """python-multipart's callbacks, collecting the :data:`Part` each written piece of the
    body completes."""

    found: list[Part] = field(default_factory=list)
    headers: dict[bytes, bytes] = field(default_factory=dict)
    header: bytearray = field(default_factory=bytearray)
    value: bytearray = field(default_factory=bytearray)
    name: str = ""
    is_file: bool = False
    parts: int = 0
    field_bytes: int = 0
    ended: bool = False

    def callbacks(self) -> dict[str, Callable[..., None]]:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
            "on_end": self.end,
        }

    def part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise BadRequest(f"a form of more than {MAX_PARTS} parts", code="bad_upload")
        self.headers.clear()
        self.value.clear()
        self.is_file = False

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self.header += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def header_end(self) -> None:
        self.headers[bytes(self.header).lower()] = bytes(self.value)
        self.header.clear()
        self.value.clear()

    def headers_finished(self) -> None:
        kind, params = parse_options_header(self.headers.get(b"content-disposition", b""))
        if kind != b"form-data" or b"name" not in params:
            raise BadRequest("a form part without a form-data name", code="bad_upload")
        self.name = _text(params[b"name"])
        self.is_file = b"filename" in params
        if self.is_file:
            content_type = _text(self.headers.get(b"content-type", b""))
            self.found.append(FilePart(self.name, _text(params[b"filename"]), content_type))

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self.is_file:
            self.found.append(data[start:end])
            return
        self.field_bytes += end - start
        if self.field_bytes > MAX_FIELDS_BYTES:
            raise BadRequest(
                f"the form's text fields are over {MAX_FIELDS_BYTES} bytes", code="bad_upload"
            )
        self.value += data[start:end]

    def part_end(self) -> None:
        if not self.is_file:
            self.found.append(FormField(self.name, _text(bytes(self.value))))
        self.value.clear()

    def end(self) -> None:
        self.ended = True

    def take(self) -> list[Part]:
        taken, self.found = self.found, []
        return taken


def _text(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise BadRequest("a form part that is not UTF-8 text", code="bad_upload") from None


async def form_parts(request: Request) -> AsyncIterator[Part]:
    """The parts of a ``multipart/form-data`` body as they arrive."""
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadRequest("a multipart/form-data body without its boundary", code="bad_upload")
    parts = _Parts()
    parser = MultipartParser(boundary, parts.callbacks())  # type: ignore[arg-type]
    async for piece in body(request):
        try:
            parser.write(piece)
        except MultipartParseError as error:
            raise BadRequest(f"the form is malformed: {error}", code="bad_upload") from None
        for found in parts.take():
            yield found
    if not parts.ended:
        raise BadRequest("the form ends before its closing boundary", code="bad_upload")


FORM_FIELDS = frozenset({"message", "sha256"})


async def receive_form(
    hub: Hub,
    agent: Agent,
    upload: Upload,
    request: Request,
    *,
    extra: frozenset[str] = frozenset(),
    before_file: BeforeFile | None = None,
) -> File:
    """A file sent as the ``file`` part of a form, with ``message`` and ``sha256`` fields
    (and ``extra`` ones) that override the query's. With its fields before the file, as
    forms send them, the upload is checked before any byte of the file is stored; a field
    after it is taken into account once the file is all there."""
    fields: dict[str, str] = {}
    incoming = hub.files.incoming(agent)
    prepared: Prepared | None = None
    started: FilePart | None = None
    late = False
    try:
        async for part in form_parts(request):
            if isinstance(part, bytes):
                await incoming.write(part)
            elif isinstance(part, FormField):
                if part.name not in FORM_FIELDS | extra or part.name in fields:
                    raise InvalidInput(f"the form's field {part.name!r} is unknown or repeated")
                fields[part.name] = part.value
                late = started is not None
            else:
                if part.name != FILE_FIELD or started is not None:
                    raise BadRequest(
                        f"send one file, as the form's {FILE_FIELD!r} part", code="bad_upload"
                    )
                started = part
                if before_file is not None:
                    await before_file(fields)
                prepared = await hub.files.prepare(agent, _merged(upload, fields, part))
        if started is None or prepared is None:
            raise InvalidInput(f"the form has no {FILE_FIELD!r} part", code="no_file")
        if late:
            prepared = await hub.files.prepare(agent, _merged(upload, fields, started))
        return await incoming.finish(prepared)
    except BaseException:
        await incoming.discard()
        raise


def _merged(upload: Upload, fields: dict[str, str], part: FilePart) -> Upload:
    """The upload as the query and the form's fields so far describe it."""
    return Upload(
        to=upload.to,
        name=upload.name or part.filename,
        content_type=part.content_type or None,
        message=fields.get("message", upload.message),
        sha256=fields.get("sha256", upload.sha256),
    )
