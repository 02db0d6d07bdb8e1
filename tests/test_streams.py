"""Event streams across a hub's life, each on its own ``hubbub serve``: resuming across a
restart, a consumer that falls behind, and shutdown ending open streams."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import anyio
import httpx
import pytest

from tests.live import running_hub
from tests.realtime import HTTP_TIMEOUT, burst, live_agents, unique
from tests.sse import Event, EventStream, open_stream, posted

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

NO_LIMIT = {"HUBBUB_RATE_LIMIT": "0"}


def contents(events: list[Event]) -> list[str]:
    """The contents of the messages posted among ``events``."""
    return [message["content"] for message in posted(events)]


async def test_a_reader_resumes_across_a_hub_restart_without_a_gap(tmp_path: Path) -> None:
    home = tmp_path / "hub"
    with running_hub(home, env=NO_LIMIT) as first_hub:
        async with live_agents(first_hub) as hub:
            author = await hub.agent("lap-author")
            reader = await hub.agent("lap-reader")
            channel = unique("tech-restart")
            await author.say(channel, "start")
            async with open_stream(reader, channels=channel) as stream:
                sent = await burst(author, channel, 150, prefix="a")
                before = await stream.take(50)
            last = before[-1].seq
            sent += await burst(author, channel, 50, prefix="b")  # while disconnected
    with running_hub(home, env=NO_LIMIT) as second_hub:
        async with live_agents(second_hub) as hub:
            author = await hub.agent_named(author.name)
            reader = await hub.agent_named(reader.name)
            sent += await burst(author, channel, 50, prefix="c")  # after the restart
            async with open_stream(reader, channels=channel, last_event_id=last) as stream:
                resumed = await stream.take(200)
                await author.say(channel, "end")
                end = await stream.expect()
    assert contents(before + resumed) == [m["content"] for m in sent]
    assert posted(before + resumed) == sent
    seqs = [e.seq for e in before + resumed + [end]]
    assert seqs == sorted(set(seqs))  # sequence numbers go on growing across the restart
    assert contents([end]) == ["end"]


def big_content(size: int) -> str:
    return "x" * size


def send_buffer_ceiling() -> int:
    """The most a TCP send buffer can grow to here (``tcp_wmem`` max), 4 MiB if unknown."""
    try:
        return int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, IndexError, ValueError):
        return 4 * 1024 * 1024


async def test_a_consumer_that_falls_behind_gets_resync_and_can_resume(tmp_path: Path) -> None:
    """Deterministic: the reader's socket takes at most a small window, and more bytes are
    posted than the server's socket buffers can hold, so the server's writer must block;
    every event after that waits in the subscriber's backlog of 100, and 150 more overflow
    it."""
    size = 200_000
    env = {**NO_LIMIT, "HUBBUB_STREAM_BACKLOG": "100", "HUBBUB_MAX_CONTENT_BYTES": str(size)}
    fill = (send_buffer_ceiling() + 2 * 1024 * 1024) // size + 1
    small_window = httpx.AsyncHTTPTransport(
        socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)]
    )
    with running_hub(tmp_path / "hub", env=env) as live:
        async with (
            live_agents(live) as hub,
            httpx.AsyncClient(
                base_url=live.url, transport=small_window, timeout=HTTP_TIMEOUT
            ) as slow_http,
        ):
            author = await hub.agent("lap-flooder")
            reader = await hub.agent("lap-sleeper")
            channel = unique("tech-flood")
            await author.say(channel, "start")
            async with open_stream(reader, channels=channel, http=slow_http) as stream:
                # The reader reads nothing while all of this is posted.
                sent = [await author.say(channel, big_content(size)) for _ in range(fill)]
                sent += await burst(author, channel, 150)
                received = await stream.rest(within=30)
            resync = received[-1]
            assert resync.type == "resync", [e.type for e in received[-3:]]
            cursor = resync.body["cursor"]
            assert resync.body == {"cursor": cursor}
            assert isinstance(cursor, int)
            got = received[:-1]
            assert all(e.type == "message.posted" for e in got)
            assert not got or cursor >= got[-1].seq
            assert len(got) < len(sent)
            assert posted(got) == sent[: len(got)]  # a prefix: nothing skipped before resync
            async with open_stream(reader, channels=channel, last_event_id=cursor) as stream:
                rest = await stream.take(len(sent) - len(got), within=30)
            assert posted(got + rest) == sent


async def read_to_the_end(stream: EventStream) -> tuple[list[Event], str | None]:
    """Every event until the stream ends, and how it ended: ``None`` for a proper end of the
    response, else the error of a connection cut off mid-response."""
    try:
        return await stream.rest(), None
    except httpx.RemoteProtocolError as cut:
        return [], str(cut)


async def test_shutting_the_hub_down_ends_open_streams_promptly_and_cleanly(
    tmp_path: Path,
) -> None:
    with running_hub(tmp_path / "hub", env={"HUBBUB_STREAM_PING_SECONDS": "0.2"}) as live:
        async with live_agents(live) as hub:
            reader = await hub.agent("lap-reader")
            other = await hub.agent("lap-other")
            async with open_stream(reader) as one, open_stream(other, types="message") as two:
                await one.comment()  # both streams are up and served
                await two.comment()
                stopping = time.monotonic()
                live.process.terminate()
                with anyio.fail_after(4):  # well before uvicorn's forced close at 5 s
                    ends = [await read_to_the_end(one), await read_to_the_end(two)]
                ended = time.monotonic() - stopping
            await anyio.to_thread.run_sync(live.process.wait, 10)
    assert ended < 4
    assert ends == [([], None), ([], None)], "streams were cut off instead of ended"
    log = (live.home / "serve.stderr").read_text()
    assert "ERROR" not in log, log
