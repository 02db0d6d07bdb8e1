"""The local side of file transfers, shared by both clients: opening what to upload and
hashing it, and writing a download into place only once its SHA-256 checks out."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from hubbub.core.errors import HubbubError, InvalidInput

Source = str | os.PathLike[str] | IO[bytes]
"""What to upload: a path, or a binary file object."""
READ_SIZE = 256 * 1024
_DIGEST = re.compile(r"sha-256=:([A-Za-z0-9+/=]+):")


class Stream:
    """A stream that cannot go back (a pipe, stdin) as it is sent: read only, so its length,
    unknown in advance, is not guessed from what the system says of it."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle

    def read(self, size: int = -1) -> bytes:
        return self._handle.read(size)


Readable = IO[bytes] | Stream
"""What an upload reads from."""


def seekable(handle: IO[bytes]) -> bool:
    """Whether ``handle`` can be read twice (hashed first, then sent)."""
    try:
        return bool(handle.seekable())
    except (AttributeError, OSError, ValueError):
        return False


@contextlib.contextmanager
def opened(source: Source) -> Iterator[tuple[Readable, str | None]]:
    """A binary file object to send ``source`` from, whole (a file object from its start),
    and its name (a path's base name, or a file object's ``name`` when it has one)."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            handle = path.open("rb")
        except OSError as error:
            raise InvalidInput(f"cannot read {path}: {error.strerror}", code="bad_file") from None
        with handle:
            yield (handle if seekable(handle) else Stream(handle)), path.name
        return
    named = getattr(source, "name", None)
    shown = Path(named).name if isinstance(named, str) else None
    yield (source if seekable(source) else Stream(source)), shown


def sha256_of(handle: Readable) -> str | None:
    """The SHA-256 of the whole of ``handle``, which is left at its start; ``None`` for a
    stream that cannot go back (the hub then computes it alone)."""
    if isinstance(handle, Stream):
        return None
    digest = hashlib.sha256()
    handle.seek(0)
    while piece := handle.read(READ_SIZE):
        digest.update(piece)
    handle.seek(0)
    return digest.hexdigest()


def announced(header: str | None) -> str | None:
    """The SHA-256 a ``Repr-Digest`` header carries, as hex."""
    found = _DIGEST.search(header or "")
    if found is None:
        return None
    try:
        return base64.b64decode(found.group(1), validate=True).hex()
    except ValueError:
        return None


class Receiver:
    """Where a download goes: a binary file object, or a path written under a temporary
    name beside it and moved into place only when complete and checked."""

    def __init__(self, target: Source) -> None:
        self._digest = hashlib.sha256()
        self._path: Path | None = None
        self._partial: Path | None = None
        if isinstance(target, str | os.PathLike):
            self._path = Path(target)
            self._partial = self._path.with_name(f".{self._path.name}.{os.getpid()}.partial")
            try:
                self._handle: IO[bytes] = self._partial.open("wb")
            except OSError as error:
                raise InvalidInput(
                    f"cannot write {self._path}: {error.strerror}", code="bad_file"
                ) from None
        else:
            self._handle = target

    def write(self, data: bytes) -> None:
        """The next bytes of the file."""
        self._digest.update(data)
        self._handle.write(data)

    def finish(self, expected: str) -> None:
        """Check the whole against ``expected`` (the SHA-256 the hub sent), then put the file
        in place; a mismatch keeps nothing."""
        found = self._digest.hexdigest()
        if found != expected:
            self.abandon()
            raise HubbubError(
                f"the download's SHA-256 is {found}, not {expected} as the hub said: it was "
                "damaged on the way; nothing was kept",
                code="corrupt_download",
            )
        if self._path is not None and self._partial is not None:
            self._handle.close()
            os.replace(self._partial, self._path)
            self._partial = None

    def abandon(self) -> None:
        """Drop a partial download (a path's temporary file)."""
        if self._partial is not None:
            self._handle.close()
            self._partial.unlink(missing_ok=True)
            self._partial = None
