"""A real webhook receiver: an HTTP server on 127.0.0.1, port 0, in a thread, that records
every request and answers with the statuses it is told to. A hub sends to it only when its
settings allow loopback, as a deployment with a receiver on the hub's machine would:
``ALLOW_LOOPBACK`` (settings) or ``ALLOW_LOOPBACK_ENV`` (a ``hubbub serve`` process)."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ALLOW_LOOPBACK: dict[str, Any] = {"outbound_allow": "127.0.0.0/8"}
ALLOW_LOOPBACK_ENV = {"HUBBUB_OUTBOUND_ALLOW": "127.0.0.0/8"}


@dataclass(frozen=True)
class Received:
    """One request as it arrived, and the status it was answered with."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float

    @property
    def delivery(self) -> str:
        return self.headers["x-hubbub-delivery"]

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """What the server has received; ``answers`` are the statuses of the next requests (then
    ``status``), each with ``reply`` as the body."""

    url: str = ""
    status: int = 200
    reply: bytes = b"ok"
    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    def answer(self) -> int:
        with self.lock:
            return self.answers.pop(0) if self.answers else self.status

    def record(self, item: Received) -> None:
        with self.arrived:
            self.received.append(item)
            self.arrived.notify_all()

    def accepted(self, path: str | None = None) -> list[Received]:
        """The requests answered with a 2xx (to ``path``, if given), in arrival order."""
        with self.lock:
            return [
                r
                for r in self.received
                if 200 <= r.status < 300 and (path is None or r.path == path)
            ]

    def all(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def wait_until(self, done: Callable[[list[Received]], bool], timeout: float = 20.0) -> None:
        """Block until ``done(received)`` holds (for tests without an event loop)."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while not done(self.received):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"gave up waiting; received: {self.received}")
                self.arrived.wait(remaining)

    def wait_accepted(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Block until ``count`` requests were accepted; those, in arrival order."""
        self.wait_until(lambda items: sum(200 <= r.status < 300 for r in items) >= count, timeout)
        return self.accepted()


@contextmanager
def receiving(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    """A receiver listening until the block ends (over TLS with ``tls``, a server context)."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = receiver.answer()
            headers = {k.lower(): v for k, v in self.headers.items()}
            receiver.record(Received(self.path, headers, body, status, time.monotonic()))
            self.send_response(status)
            self.send_header("Content-Length", str(len(receiver.reply)))
            self.end_headers()
            self.wfile.write(receiver.reply)

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: the test reads what arrived instead

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    scheme = "http" if tls is None else "https"
    receiver.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
