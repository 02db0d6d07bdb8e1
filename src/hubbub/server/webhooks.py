"""The HTTP side of webhooks: the core's :class:`~hubbub.core.webhooks.Poster` over httpx,
connecting only to addresses the hub's :class:`~hubbub.core.outbound.OutboundPolicy` allows.

Checking a URL's host and then letting the HTTP client resolve it again would leave a gap: a
name can resolve to a public address for the check and to ``127.0.0.1`` for the connection
(DNS rebinding). So the check sits where the connection is made. httpx sends through
httpcore, whose connection pool opens every connection with its *network backend*'s
``connect_tcp(host, port)``; :class:`CheckedBackend` is such a backend: it resolves the host
once, judges every address it got, and connects to one that passed, by its address. The
connection above it still belongs to the URL's name: httpx sends that name in ``Host`` and
httpcore starts TLS on the connected socket with it as SNI and as the name the certificate
must match. A pooled connection is reused only for the same scheme, host and port, and it
was checked when it was opened.

httpx builds its transport's pool without a way to pass a network backend, so
:class:`CheckedTransport` is httpx's own transport with its pool replaced by the same pool
over :class:`CheckedBackend`; httpx's request, response and error handling stay as they are.
With a transport of its own, the client ignores ``HTTP(S)_PROXY``: a proxy would resolve and
connect itself, out of the check's reach.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType

import anyio
import httpcore
import httpx

from hubbub.core.errors import InvalidInput
from hubbub.core.outbound import FORBIDDEN, OutboundPolicy, address_of
from hubbub.core.webhooks import FORBIDDEN_DESTINATION, PostResult

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""Every address a host resolves to (for a port), in the order to try them."""

ANSWER_BYTES = 1024  # of a failing receiver's answer, read for the admin's delivery listing
ANSWER_CHARS = 200
SHOWN_ADDRESSES = 4


async def resolve(host: str, port: int) -> list[str]:
    """The system resolver's addresses for ``host``, each once, in its order."""
    found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


class CheckedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the policy allows: each host
    is resolved here, once per connection, and the socket is opened to an address that
    passed, never to the name. A host none of whose addresses pass raises
    :class:`~hubbub.core.errors.InvalidInput` (``forbidden_destination``). ``allow_private``
    lets every host reach non-public addresses; ``pinned`` lets one host and port (a
    registered remote agent's) alone."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        allow_private: bool = False,
        pinned: tuple[str, int] | None = None,
        resolver: Resolver = resolve,
    ) -> None:
        self._policy = policy
        self._allow_private = allow_private
        self._pinned = pinned
        self._resolve = resolver
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Resolve ``host``, judge every address, connect to the first allowed one that
        answers; resolving and connecting share the one connect ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            with anyio.fail_after(timeout):
                found = await self._resolve(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} took over {timeout:g} s") from None
        except OSError as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from None
        private = (
            self._allow_private or (host.rstrip(".").lower().strip("[]"), port) == self._pinned
        )
        allowed = self._allowed(host, found, private)
        failure: Exception | None = None
        for address in allowed:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=left,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error  # the next allowed address may answer
        assert failure is not None
        raise failure

    def _allowed(self, host: str, found: list[str], private: bool) -> list[str]:
        """The addresses of ``found`` the policy allows (non-public ones too if ``private``),
        in order; raise if there is none."""
        allowed: list[str] = []
        refusals: list[str] = []
        for text in found:
            why = self._policy.refusal(address_of(text), allow_private=private)
            if why is None:
                allowed.append(text)
            else:
                refusals.append(why)
        if allowed:
            return allowed
        if not refusals:
            raise httpcore.ConnectError(f"{host} resolves to no address")
        if [host] == found:
            raise InvalidInput(refusals[0], code=FORBIDDEN)
        shown = ", ".join(found[:SHOWN_ADDRESSES]) + (", …" if len(found) > SHOWN_ADDRESSES else "")
        raise InvalidInput(f"{host} resolves to {shown}; {refusals[0]}", code=FORBIDDEN)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never: webhooks go over TCP to addresses the policy judged."""
        raise InvalidInput(f"the hub does not send to a Unix socket ({path})", code=FORBIDDEN)

    async def sleep(self, seconds: float) -> None:
        """Wait between connection retries, as the wrapped backend does."""
        await self._inner.sleep(seconds)


class CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool whose connections ``backend`` opens."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        context = httpx.create_ssl_context()
        super().__init__(verify=context)
        # httpx offers no parameter for the network backend: replace the pool it built with
        # the same pool (its default limits) over ours.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=backend,
        )


class HttpPoster:
    """POSTs webhook deliveries, only to addresses ``policy`` allows; never follows
    redirects (a signed request goes only where it was configured to go)."""

    def __init__(
        self, timeout: float, policy: OutboundPolicy | None = None, *, resolver: Resolver = resolve
    ) -> None:
        checked = policy or OutboundPolicy()
        # One client (and connection pool) per kind of destination, so a connection opened
        # for a destination an admin registered is never reused for one that is not.
        self._clients = {
            trusted: httpx.AsyncClient(
                transport=CheckedTransport(
                    CheckedBackend(checked, allow_private=trusted, resolver=resolver)
                ),
                timeout=httpx.Timeout(timeout),
                follow_redirects=False,
            )
            for trusted in (False, True)
        }

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], *, allow_private: bool = False
    ) -> PostResult:
        """One attempt: the status the receiver answered (with the start of a failing
        answer), what went wrong on the way, or a refused destination (``permanent``)."""
        client = self._clients[allow_private]
        try:
            async with client.stream("POST", url, content=body, headers=headers) as response:
                if response.is_success:
                    return PostResult(status=response.status_code)
                answer = await _start_of(response)
                return PostResult(status=response.status_code, error=answer or None)
        except InvalidInput as error:
            if error.code != FORBIDDEN:
                raise
            return PostResult(error=f"{FORBIDDEN_DESTINATION}: {error}"[:500], permanent=True)
        except httpx.HTTPError as error:
            return PostResult(error=f"{type(error).__name__}: {error}"[:500] or "request failed")

    async def aclose(self) -> None:
        """Close the connection pools."""
        for client in self._clients.values():
            await client.aclose()

    async def __aenter__(self) -> HttpPoster:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()


async def _start_of(response: httpx.Response) -> str:
    """The first characters of an answer, reading no more than ``ANSWER_BYTES`` of it (a
    receiver may answer with any amount)."""
    read = b""
    async for chunk in response.aiter_bytes():
        read += chunk
        if len(read) >= ANSWER_BYTES:
            break
    return read[:ANSWER_BYTES].decode(response.encoding or "utf-8", "replace")[:ANSWER_CHARS]
