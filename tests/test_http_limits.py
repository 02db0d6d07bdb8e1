"""The HTTP hardening of ``hubbub serve``, over real sockets to real processes: limits on the
request head (size, field count, time to arrive), duplicate credential headers, trailing
slashes, and a 429 whose body and header agree."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hubbub.core.errors import RateLimited
from hubbub.server.problems import from_error
from tests.clients import problem
from tests.live import LiveHub, running_hub

pytestmark = pytest.mark.e2e

MAX_HEADER_BYTES = 2048
MAX_HEADERS = 20
CLOSE_WITHIN = 30.0  # seconds a 1 s head timeout is given to close a socket: never tight
HEAD = b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    """A hub with small head limits and a 1 s head timeout."""
    env = {
        "HUBBUB_MAX_HEADER_BYTES": str(MAX_HEADER_BYTES),
        "HUBBUB_MAX_HEADERS": str(MAX_HEADERS),
        "HUBBUB_HEADER_TIMEOUT_SECONDS": "1",
    }
    with running_hub(tmp_path_factory.mktemp("tight"), env=env) as hub:
        yield hub


@pytest.fixture(scope="module")
def patient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    """A hub with a head timeout no test waits out, and a low request rate."""
    env = {
        "HUBBUB_HEADER_TIMEOUT_SECONDS": "300",
        "HUBBUB_RATE_LIMIT": "0.01",
        "HUBBUB_RATE_BURST": "2",
    }
    with running_hub(tmp_path_factory.mktemp("patient"), env=env) as hub:
        yield hub


@dataclass
class Answer:
    """One HTTP response read off a raw socket."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, object]:
        document = json.loads(self.body)
        assert isinstance(document, dict)
        return document


def connect(hub: LiveHub) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", hub.port), timeout=CLOSE_WITHIN)
    return sock


def read_answer(sock: socket.socket) -> Answer:
    """Read one response with a Content-Length body (the socket's timeout bounds the wait)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before a whole response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers["content-length"])
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "closed inside a response body"
        body += chunk
    return Answer(int(status_line.split()[1]), headers, body[:length])


def wait_closed(sock: socket.socket, timeout: float = CLOSE_WITHIN) -> bool:
    """Whether the hub closes ``sock`` within ``timeout`` (what it still sends is dropped)."""
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([sock], [], [], remaining)
        if not readable:
            break
        try:
            if not sock.recv(65536):
                return True
        except ConnectionResetError:
            return True
    return False


def still_open(sock: socket.socket) -> bool:
    """Whether ``sock`` has neither been closed nor sent anything, right now."""
    readable, _, _ = select.select([sock], [], [], 0)
    return not readable


def assert_431(answer: Answer) -> None:
    assert answer.status == 431, answer
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.headers["connection"] == "close"
    found = answer.json()
    assert found["code"] == "headers_too_large"
    assert found["status"] == 431
    assert found["type"] == "urn:hubbub:problem:headers_too_large"
    assert isinstance(found["detail"], str)
    assert found["detail"]


def peak_memory_kib(pid: int) -> int:
    """The process's peak resident set (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


# Head size and field count


def test_a_head_over_the_byte_limit_is_431_and_closed(tight: LiveHub) -> None:
    with connect(tight) as sock:
        sock.sendall(HEAD + b"X-Big: " + b"a" * (2 * MAX_HEADER_BYTES) + b"\r\n\r\n")
        answer = read_answer(sock)
        assert_431(answer)
        assert answer.json()["instance"] == "/api/v1/health"
        assert wait_closed(sock)


def test_a_long_url_is_431(tight: LiveHub) -> None:
    with connect(tight) as sock:
        path = b"/api/v1/" + b"x" * (2 * MAX_HEADER_BYTES)
        sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert_431(read_answer(sock))
        assert wait_closed(sock)


def test_too_many_header_fields_are_431(tight: LiveHub) -> None:
    fields = b"".join(b"X-Field-%d: %d\r\n" % (i, i) for i in range(MAX_HEADERS + 5))
    with connect(tight) as sock:
        sock.sendall(HEAD + fields + b"\r\n")
        answer = read_answer(sock)
        assert_431(answer)
        assert "header fields" in str(answer.json()["detail"])
        assert wait_closed(sock)


def test_a_head_within_the_limits_is_served(tight: LiveHub) -> None:
    # Just under both limits, sent in pieces: the counts are of the head, not of a read.
    fields = b"".join(b"X-Field-%d: %d\r\n" % (i, i) for i in range(MAX_HEADERS - 2))
    filler = b"X-Fill: " + b"a" * (MAX_HEADER_BYTES - len(fields) - 200) + b"\r\n"
    with connect(tight) as sock:
        for piece in (HEAD[:10], HEAD[10:], fields, filler, b"\r\n"):
            sock.sendall(piece)
        answer = read_answer(sock)
        assert answer.status == 200, answer


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_a_50_mb_header_is_refused_before_it_is_held(tight: LiveHub) -> None:
    before = peak_memory_kib(tight.process.pid)
    with connect(tight) as sock:
        sock.sendall(HEAD + b"X-Big: ")
        chunk = b"a" * (1 << 20)
        try:
            for _ in range(50):
                sock.sendall(chunk)
            sock.sendall(b"\r\n\r\n")
        except OSError:
            pass  # the hub closed the connection while the header was still coming
        assert wait_closed(sock)
    grown = peak_memory_kib(tight.process.pid) - before
    # Holding the header would take 50 MB at least; refused early, the peak barely moves.
    assert grown < 16 * 1024, f"peak resident memory grew by {grown} KiB"
    assert httpx.get(tight.url + "/api/v1/health", timeout=10).status_code == 200


def test_an_endless_trailer_closes_the_connection(tight: LiveHub) -> None:
    # A chunked body's trailer fields are held by the parser like header fields until each
    # ends, so they count against the same limit. The hub counts what arrives in the reads
    # after the last chunk's size line: 1 MB is more than the one read that may carry both.
    with connect(tight) as sock:
        sock.sendall(
            b"POST /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-Trailer: "
        )
        try:
            for _ in range(16):
                sock.sendall(b"a" * 65536)
        except OSError:
            pass  # closed while the trailer was still coming
        assert wait_closed(sock)


# The head timeout


def test_stalled_heads_are_closed_and_others_are_served_meanwhile(tight: LiveHub) -> None:
    stalls = {
        "nothing": b"",
        "half a request line": b"GET /api/v1/hea",
        "a request line": b"GET /api/v1/health HTTP/1.1\r\n",
        "half the headers": HEAD + b"X-Stall: ",
    }
    sockets = {name: connect(tight) for name in stalls}
    try:
        for name, sent in stalls.items():
            if sent:
                sockets[name].sendall(sent)
        # The stalled sockets hold no one up.
        for _ in range(3):
            assert httpx.get(tight.url + "/api/v1/health", timeout=10).status_code == 200
        for name, sock in sockets.items():
            assert wait_closed(sock), f"a connection that sent {name} was never closed"
    finally:
        for sock in sockets.values():
            sock.close()


def test_a_keep_alive_connection_must_finish_its_next_head_in_time(tight: LiveHub) -> None:
    with connect(tight) as sock:
        for _ in range(3):  # a connection that keeps up is served request after request
            sock.sendall(HEAD + b"\r\n")
            assert read_answer(sock).status == 200
        # uvicorn's keep-alive timer stops at the first byte; the head timer does not.
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHo")
        assert wait_closed(sock)


def test_empty_lines_do_not_keep_a_connection_open(tight: LiveHub) -> None:
    # Blank lines before a request line are skipped by the parser and start no request: each
    # would restart uvicorn's keep-alive timer, but the head timer runs from the last answer.
    with connect(tight) as sock:
        sock.sendall(HEAD + b"\r\n")
        assert read_answer(sock).status == 200
        deadline = time.monotonic() + CLOSE_WITHIN
        closed = False
        while not closed and time.monotonic() < deadline:
            try:
                sock.sendall(b"\r\n")
            except OSError:
                closed = True
                break
            closed = wait_closed(sock, timeout=0.2)  # the pace of the blank lines
        assert closed


@pytest.mark.timeout(120)
def test_many_stalled_connections_are_held_without_blocking_others(patient: LiveHub) -> None:
    sockets = [connect(patient) for _ in range(50)]
    try:
        for sock in sockets:
            sock.sendall(HEAD + b"X-Stall: ")
        assert httpx.get(patient.url + "/api/v1/health", timeout=10).status_code == 200
        admin = patient.config()["admin_key"]
        keys = patient.request("GET", "/api/v1/admin/keys", key=admin)
        assert keys.status_code == 200
        # Held all along: the timeout (300 s here) has not run out.
        assert all(still_open(sock) for sock in sockets)
    finally:
        for sock in sockets:
            sock.close()


# Duplicate credentials, trailing slashes


def test_a_duplicate_agent_or_key_header_is_400(patient: LiveHub) -> None:
    config = patient.config()
    key, admin = f"Bearer {config['key']}", f"Bearer {config['admin_key']}"
    url = patient.url + "/api/v1"
    auth, agent = "Authorization", "X-Hubbub-Agent"
    sent: list[tuple[str, list[tuple[str, str]], str]] = [
        ("/me", [(auth, key), (agent, "lap-a"), (agent, "lap-b")], agent),
        ("/me", [(auth, key), (auth, admin), (agent, "lap-a")], auth),
        ("/admin/keys", [(auth, admin), (auth, key)], auth),
        ("/admin/keys", [(auth, admin), (auth, admin)], auth),
        ("/admin/keys", [(auth, admin), (agent, "lap-a"), (agent.lower(), "lap-a")], agent),
    ]
    for path, headers, name in sent:
        response = httpx.get(url + path, headers=headers, timeout=10)
        found = problem(response, 400, "duplicate_header")
        assert found["header"] == name
        assert name in found["detail"]
    single = httpx.get(url + "/admin/keys", headers={"Authorization": admin}, timeout=10)
    assert single.status_code == 200


def test_a_trailing_slash_is_404_without_a_redirect(patient: LiveHub) -> None:
    config = patient.config()
    for method, path in (
        ("GET", "/api/v1/channels/"),
        ("GET", "/api/v1/health/"),
        ("POST", "/api/v1/channels/general/messages/"),
        ("GET", "/api/v1/admin/keys/"),
    ):
        response = patient.request(
            method,
            path,
            key=config["key"],
            agent="lap-slash",
            headers={"Host": "evil.example"},
        )
        found = problem(response, 404, "not_found")
        assert "location" not in response.headers
        assert found["instance"] == path
        assert path in found["detail"]


def test_a_429_says_the_same_wait_in_its_body_and_header(patient: LiveHub) -> None:
    admin = patient.config()["admin_key"]
    made = patient.request(
        "POST", "/api/v1/admin/keys", key=admin, json={"machine": "lap", "label": "limited"}
    )
    assert made.status_code == 201, made.text
    key = made.json()["key"]
    for _ in range(5):  # a burst of 2: the third request at the latest is over the rate
        response = patient.request("GET", "/api/v1/me", key=key, agent="lap-limited")
        if response.status_code == 429:
            break
    found = problem(response, 429, "rate_limited")
    assert isinstance(found["retry_after"], int)
    assert found["retry_after"] == int(response.headers["retry-after"]) >= 1


@pytest.mark.parametrize(
    ("wait", "seconds"), [(0.0, 1), (0.0004, 1), (0.999, 1), (1.0, 1), (1.2, 2), (60.0, 60)]
)
def test_retry_after_is_whole_seconds_rounded_up_in_body_and_header(
    wait: float, seconds: int
) -> None:
    response = from_error(RateLimited("slow down", retry_after=wait), "/api/v1/me")
    assert response.headers["retry-after"] == str(seconds)
    assert json.loads(bytes(response.body))["retry_after"] == seconds
