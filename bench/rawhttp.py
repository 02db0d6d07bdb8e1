"""Just enough HTTP/1.1 over raw sockets for the real-time benchmarks.

No client library sits between the clock and the socket: a request's bytes are built before
the clock starts, the timed part is one ``sendall`` and the reads of the answer. The event
streams' chunked bodies are decoded by :class:`Dechunker`, whose cost is a few slices per
chunk, so a thousand streams stay cheap to read (see :mod:`bench.subscribers`).
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from bench.processes import POST_PATH

EVENTS_PATH = "/api/v1/events"


def host_port(url: str) -> tuple[str, int]:
    """``("127.0.0.1", 7878)`` from ``http://127.0.0.1:7878``."""
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        raise ValueError(f"need a URL with host and port, not {url!r}")
    return parts.hostname, parts.port


def request(
    method: str, url: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> bytes:
    """The bytes of one keep-alive HTTP/1.1 request (a JSON body if ``body`` is given)."""
    host, port = host_port(url)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def status_of(head: bytes) -> int:
    """The status code of a response head (``HTTP/1.1 201 Created\\r\\n...``)."""
    parts = head.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise RuntimeError(f"not an HTTP response: {head[:80]!r}")
    return int(parts[1])


def header(head: bytes, name: bytes) -> bytes | None:
    """The value of header ``name`` (lower case) in a response head, if present."""
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return None


class Poster:
    """One blocking keep-alive connection that POSTs JSON to the hub's channel and reads each
    answer whole (the hub answers posts with a ``Content-Length``)."""

    def __init__(self, url: str, headers: dict[str, str], path: str = POST_PATH) -> None:
        self._url = url
        self._headers = headers
        self._path = path
        self._sock = socket.create_connection(host_port(url), timeout=30)
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = b""

    def prepare(self, body: bytes) -> bytes:
        """The request for ``body``: build it before starting a clock, send with :meth:`send`."""
        return request("POST", self._url, self._path, self._headers, body)

    def send(self, prepared: bytes) -> tuple[int, bytes]:
        """Send a prepared request; return the answer's status and body."""
        self._sock.sendall(prepared)
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            self._buffer += self._recv()
        head, self._buffer = self._buffer[:end], self._buffer[end + 4 :]
        length = int(header(head, b"content-length") or b"0")
        while len(self._buffer) < length:
            self._buffer += self._recv()
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return status_of(head), body

    def post(self, body: bytes) -> tuple[int, bytes]:
        """Prepare and send in one go (for untimed posts)."""
        return self.send(self.prepare(body))

    def _recv(self) -> bytes:
        data = self._sock.recv(65536)
        if not data:
            raise RuntimeError("the hub closed the connection")
        return data

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Poster:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class Dechunker:
    """Decodes a ``Transfer-Encoding: chunked`` body fed in arbitrary pieces."""

    def __init__(self) -> None:
        self._buffer = b""
        self._left = 0
        """Payload bytes still to come in the current chunk."""
        self._crlf = False
        """The CRLF after a chunk's payload is still to come."""
        self.ended = False
        """The last (zero-length) chunk arrived."""

    def feed(self, data: bytes) -> bytes:
        """The payload bytes that ``data`` completes (nothing once the body has ended)."""
        if self.ended:
            return b""
        buffer = self._buffer + data if self._buffer else data
        out: list[bytes] = []
        at = 0
        while True:
            if self._left:
                take = min(self._left, len(buffer) - at)
                out.append(buffer[at : at + take])
                at += take
                self._left -= take
                if self._left:
                    break
                self._crlf = True
            if self._crlf:
                if len(buffer) - at < 2:
                    break
                at += 2
                self._crlf = False
            end = buffer.find(b"\r\n", at)
            if end < 0:
                break
            size = int(buffer[at:end].split(b";", 1)[0], 16)
            at = end + 2
            if size == 0:
                self.ended = True
                break
            self._left = size
        self._buffer = buffer[at:]
        return b"".join(out)
