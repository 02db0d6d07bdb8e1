"""The hub's HTTP/1.1 connections: uvicorn's httptools protocol with limits on the request head.

uvicorn bounds neither the size of a request head nor the time it may take to arrive, and the
httptools parser keeps an unfinished header inside itself until its line ends. So one client
could make the hub hold a 50 MB header, and a thousand clients that each send half a request
line could hold every file descriptor. Each connection here:

- counts the head as it is parsed (the URL and every header field, a counter add per callback)
  and answers ``431 headers_too_large`` once it is over ``max_bytes`` or ``max_fields``;
- counts the bytes received while a head (or a chunked body's trailer section) is unfinished,
  so a header the parser is still piling up is refused after one read over the limit;
- closes the connection when a head is not whole ``timeout`` seconds after the connection
  began to wait for it: when it opened, when the previous response ended, or (a head
  pipelined behind a response under way) at its first byte. uvicorn's keep-alive timer is
  no substitute: any byte stops it, so a client sending a byte at a time kept a connection.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.server import ServerState

from hubbub.core.errors import TooLarge
from hubbub.server.problems import problem

STATUS = 431
TITLE = "Request Header Fields Too Large"
# How long a refused connection keeps reading (and dropping) what the client still sends, so
# that the 431 reaches a client that writes its whole request before it reads.
LINGER_SECONDS = 1.0
# Each header field is counted as its name and value plus ": " and CRLF.
FIELD_OVERHEAD = 4
LONGEST_INSTANCE = 1000


class OneWrite(asyncio.Transport):
    """The connection as one response writes to it (write, close, is_closing: all that the
    response uses of it). uvicorn writes a response's head, then
    its body: two system calls and two packets. A head whose body has a known, non-zero
    length is held here until the body's first bytes follow, and both go out in one write."""

    __slots__ = ("_cycle", "_head", "_held", "_transport")

    def __init__(self, transport: asyncio.Transport, cycle: RequestResponseCycle) -> None:
        super().__init__()
        self._transport = transport
        self._cycle = cycle
        self._head = True  # the response's head has not been written yet
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        data = bytes(data)
        held, self._held = self._held, None
        if held is not None:
            self._transport.write(held + data)
            return
        cycle = self._cycle
        if self._head and cycle.response_started:  # before it: "100 Continue"
            self._head = False
            if (
                cycle.chunked_encoding is False
                and cycle.expected_content_length > 0
                and cycle.scope["method"] != "HEAD"
            ):
                self._held = data
                return
        self._transport.write(data)

    def close(self) -> None:
        held, self._held = self._held, None
        if held is not None:  # a head whose body never came
            self._transport.write(held)
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()


@dataclass(frozen=True, slots=True)
class HeadLimits:
    """The largest request head (URL and header fields, in bytes), the most header fields,
    and the longest a head may take to arrive (seconds)."""

    max_bytes: int = 64 * 1024
    max_fields: int = 100
    timeout: float = 10.0


class LimitedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing oversized heads and timing out slow ones."""

    limits: ClassVar[HeadLimits] = HeadLimits()

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # Copied onto the instance: the callbacks read them on every header field.
        self._max_bytes = self.limits.max_bytes
        self._max_fields = self.limits.max_fields
        self._timeout = self.limits.timeout
        self._head_size = 0  # the current head's URL and fields, as parsed
        self._head_fields = 0
        self._in_head = True  # from a connection or a message's end to the next head's end
        self._framing = True  # the parser is inside a head or a trailer section
        self._framing_bytes = 0  # bytes received since it entered it
        self._lingering = False
        # The head's deadline (0: none running) and the timer that enforces it. The timer is
        # not cancelled when a head completes, only found idle when it fires, so a busy
        # connection schedules about one timer per timeout rather than one per request.
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._linger: asyncio.TimerHandle | None = None

    # Connection events

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._timer, self._linger):
            if timer is not None:
                timer.cancel()
        self._timer = self._linger = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # the refusal is sent: drop the rest until the connection closes
        if self._framing:
            # Counted before parsing: bytes that start a body part-way through this read are
            # left out, so this never overcounts a head.
            self._framing_bytes += len(data)
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as error:
            if isinstance(error.__context__, TooLarge):
                self._refuse(error.__context__.detail)
            else:
                self._invalid()
            return
        except httptools.HttpParserError:
            self._invalid()
            return
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        if self._framing and self._framing_bytes > self._max_bytes:
            # The parser holds an unfinished field it has not handed over yet.
            self._refuse(f"the request head is over {self._max_bytes} bytes")

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._in_head and not self.pipeline and not self.transport.is_closing():
            self._arm()  # the connection now waits for the next request's head

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_size = 0
        self._head_fields = 0
        self._in_head = True
        if not self._deadline:
            self._arm()  # a head that starts while a response is under way (pipelining)

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        if self._head_size > self._max_bytes:
            self._too_large()
        self.url += url  # as uvicorn's on_url, without a second call per piece

    def on_header(self, name: bytes, value: bytes) -> None:
        # Also a chunked body's trailer fields, which count against the same limits.
        self._head_size += len(name) + len(value) + FIELD_OVERHEAD
        self._head_fields += 1
        if self._head_size > self._max_bytes or self._head_fields > self._max_fields:
            self._too_large()
        # As uvicorn's on_header, without a second call per field.
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._framing = False
        self._deadline = 0.0
        before = self.cycle
        super().on_headers_complete()
        if self.cycle is not None and self.cycle is not before:
            self.cycle.transport = OneWrite(self.transport, self.cycle)

    def on_chunk_header(self) -> None:
        # A chunk's size line: data follows (on_body ends the watch), or, after the last one,
        # the trailer section, which the parser also keeps until each field ends.
        self._framing = True
        self._framing_bytes = 0

    def on_body(self, body: bytes) -> None:
        self._framing = False
        super().on_body(body)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._framing = True
        self._framing_bytes = 0
        if self.cycle is not None and self.cycle.response_complete:
            self._arm()  # answered before the body was read: the next head is due now

    # Refusals

    def _too_large(self) -> None:
        """Stop the parser: :meth:`data_received` answers the error it raises."""
        if self._head_fields > self._max_fields:
            detail = f"the request has over {self._max_fields} header fields"
        else:
            detail = f"the request head is over {self._max_bytes} bytes"
        raise TooLarge(detail, code="headers_too_large")

    def _refuse(self, detail: str) -> None:
        """Answer 431 (when no response is under way) and close the connection."""
        if self.transport.is_closing():
            return
        idle = self.cycle is None or self.cycle.response_complete
        if not (self._in_head and idle):
            # A trailer section, or a pipelined head behind a response: a 431 written now
            # would land inside another answer.
            self.transport.close()
            return
        response = problem(STATUS, "headers_too_large", TITLE, detail, self._instance())
        fields = [*self.server_state.default_headers, *response.raw_headers]
        head = [STATUS_LINE[STATUS]]
        for name, value in [*fields, (b"connection", b"close")]:
            head += [name, b": ", value, b"\r\n"]
        self.transport.write(b"".join([*head, b"\r\n", response.body]))
        self._lingering = True
        self._deadline = 0.0
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self._linger = self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()

    def _instance(self) -> str:
        """The refused request's path, once its URL is known to be complete."""
        if not self._head_fields:
            return ""
        try:
            path: bytes = httptools.parse_url(self.url).path or b""
        except httptools.HttpParserInvalidURLError:
            return ""
        return path.decode("ascii", "replace")[:LONGEST_INSTANCE]

    def _invalid(self) -> None:
        message = "Invalid HTTP request received."
        self.logger.warning(message)
        self.send_400_response(message)

    # The head timer

    def _arm(self) -> None:
        """Start the clock on the next head."""
        self._deadline = self.loop.time() + self._timeout
        if self._timer is None:
            self._timer = self.loop.call_later(self._timeout, self._check)

    def _check(self) -> None:
        """Close the connection if its head is late; else wait for the current deadline."""
        self._timer = None
        if not self._deadline or self.transport.is_closing():
            return
        remaining = self._deadline - self.loop.time()
        if remaining > 0:
            self._timer = self.loop.call_later(remaining, self._check)
        else:
            self.transport.close()


def protocol(limits: HeadLimits) -> type[LimitedHttpProtocol]:
    """The protocol class for ``uvicorn.Config(http=…)``, bound to ``limits``."""

    class Limited(LimitedHttpProtocol):
        pass

    Limited.limits = limits
    return Limited


__all__ = ["HeadLimits", "LimitedHttpProtocol", "protocol"]
