"""The Python SDK against a real ``hubbub serve``: every operation, errors as the core's
classes, configuration, and the event iterator across restarts, resyncs and revoked keys.
Each test body runs twice, with the sync ``Client`` and with the ``AsyncClient``."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Iterator
from contextlib import ExitStack, aclosing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import anyio.to_thread
import pytest
from anyio.streams.memory import MemoryObjectSendStream

from hubbub.client import AsyncClient, ClientSettings
from hubbub.client import operations as ops
from hubbub.core.errors import (
    Conflict,
    Forbidden,
    HubbubError,
    InvalidInput,
    NotFound,
    Unauthorized,
    Unavailable,
)
from hubbub.core.models import (
    AckResult,
    Agent,
    Channel,
    Event,
    Inbox,
    Message,
    MessagePage,
    ReadCursor,
)
from tests.live import LiveHub, running_hub
from tests.realtime import unique
from tests.twins import KINDS, Clients

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

NO_LIMIT = {"HUBBUB_RATE_LIMIT": "0"}
WITHIN = 15.0
"""The longest a test waits for what it expects."""


@pytest.fixture(autouse=True)
def no_outside_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Clients see only what a test gives them: no ``HUBBUB_*`` and no config file."""
    for name in list(os.environ):
        if name.startswith("HUBBUB_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HUBBUB_CONFIG", str(tmp_path / "absent.toml"))


@pytest.fixture(scope="module")
def sdk_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    """One real hub for this module's tests, machine ``lap``, without rate limits."""
    with running_hub(tmp_path_factory.mktemp("sdk"), env=NO_LIMIT) as hub:
        yield hub


@pytest.fixture(params=KINDS)
async def clients(request: pytest.FixtureRequest) -> AsyncIterator[Clients]:
    """Opens clients of one kind, sync or async; closes them after the test."""
    made = Clients(request.param)
    try:
        yield made
    finally:
        await made.aclose()


def agent(clients: Clients, hub: LiveHub, prefix: str = "lap-agent") -> AsyncClient:
    """A client acting as a new agent ``prefix-<random>`` with the hub's machine key."""
    return clients.open(hub.url, hub.config()["key"], unique(prefix))


def admin(clients: Clients, hub: LiveHub) -> AsyncClient:
    """A client holding only the hub's admin key."""
    return clients.open(hub.url, admin_key=hub.config()["admin_key"])


def word(prefix: str) -> str:
    """A word found nowhere else, for search."""
    return f"{prefix}{secrets.token_hex(4)}"


def contents(events: list[Event]) -> list[str]:
    return [str(event.data["message"]["content"]) for event in events]


async def test_the_acting_agent_and_the_directory(clients: Clients, sdk_hub: LiveHub) -> None:
    me = agent(clients, sdk_hub, "lap-me")
    who = await me.whoami()
    assert isinstance(who, Agent)
    assert (who.name, who.machine) == (me.settings.agent, "lap")
    tag = word("tag")
    changed = await me.update_me(label="builder", tags=[tag], capabilities=["python"])
    assert (changed.label, changed.tags, changed.capabilities) == ("builder", [tag], ["python"])
    beat = await me.heartbeat("busy", "migrating")
    assert (beat.status, beat.status_note) == ("busy", "migrating")
    assert (await me.heartbeat()).status == "busy"
    found = await me.agents(tag=tag, cap="python", status="busy", machine="lap")
    assert [a.name for a in found] == [who.name]
    assert await me.agents(tag=tag, status="idle") == []
    assert (await me.agent(who.name)).status_note == "migrating"


async def test_channels_join_leave_invite_read_cursor_and_archive(
    clients: Clients, sdk_hub: LiveHub
) -> None:
    owner = agent(clients, sdk_hub, "lap-owner")
    guest = agent(clients, sdk_hub, "lap-guest")
    guest_name = (await guest.whoami()).name
    public, private = unique("pub"), unique("priv")
    made = await owner.create_channel(f"#{public}", topic="plans")
    assert isinstance(made, Channel)
    assert (made.name, made.visibility, made.topic) == (public, "public", "plans")
    await owner.create_channel(private, visibility="private")
    visible = {c.name for c in await guest.channels()}
    assert public in visible
    assert private not in visible
    assert guest_name in ((await guest.join(public)).members or [])
    assert guest_name not in ((await guest.leave(public)).members or [])
    await owner.invite(private, guest_name)
    shown = await guest.channel(f"#{private}")
    assert (shown.visibility, sorted(shown.members or [])) == (
        "private",
        sorted([guest_name, owner.settings.agent or ""]),
    )
    posted = await owner.post(public, "one")
    assert await owner.mark_read(public, posted.id) == ReadCursor(channel=public, seq=posted.id)
    assert (await owner.archive(public)).archived
    assert public not in {c.name for c in await owner.channels()}
    assert public in {c.name for c in await owner.channels(include_archived=True)}


async def test_posts_sends_threads_edits_and_idempotent_retries(
    clients: Clients, sdk_hub: LiveHub
) -> None:
    author = agent(clients, sdk_hub, "lap-author")
    reader = agent(clients, sdk_hub, "lap-reader")
    author_name, reader_name = (await author.whoami()).name, (await reader.whoami()).name
    channel = unique("tech-sdk")
    key = unique("retry")
    root = await author.post(
        channel, f"hello @{reader_name}", metadata={"n": 1}, idempotency_key=key
    )
    assert isinstance(root, Message)
    assert (root.channel, root.author, root.mentions) == (channel, author_name, [reader_name])
    again = await author.post(
        channel, f"hello @{reader_name}", metadata={"n": 1}, idempotency_key=key
    )
    assert again == root
    reply = await author.post(f"#{channel}", "a reply", reply_to=root.id)
    assert reply.thread_id == root.id
    page = await reader.read(channel)
    assert ([m.id for m in page.messages], page.cursor) == ([root.id, reply.id], reply.id)
    assert (await reader.read(channel, after=root.id)).messages == [reply]
    assert [m.id for m in (await reader.read(channel, before=reply.id, limit=1)).messages] == [
        root.id
    ]
    thread = await reader.thread(reply.id)
    assert (thread.root, thread.replies) == (root, [reply])
    assert await reader.message(root.id) == root
    edited = await author.edit(reply.id, content="an edited reply")
    assert (edited.content, edited.edited_at is not None) == ("an edited reply", True)
    assert (await author.edit(reply.id, metadata={"k": "v"})).metadata == {"k": "v"}
    deleted = await author.delete(reply.id)
    assert (deleted.deleted, deleted.content) == (True, "")

    dm_key = unique("dm")
    dm = await author.send(f"@{reader_name}", "psst", idempotency_key=dm_key)
    assert dm.recipients == [reader_name]
    assert dm.messages[0].channel == "dm:" + ":".join(sorted([author_name, reader_name]))
    replay = await author.send(f"@{reader_name}", "psst", idempotency_key=dm_key)
    assert (replay.replayed, replay.messages) == (True, dm.messages)
    assert [m.content for m in (await reader.read(f"@{author_name}")).messages] == ["psst"]
    everyone = await author.send("broadcast", "all hands")
    assert everyone.messages[0].channel == "global"
    assert reader_name in everyone.recipients


async def test_inbox_board_search_and_waits(clients: Clients, sdk_hub: LiveHub) -> None:
    author = agent(clients, sdk_hub, "lap-author")
    reader = agent(clients, sdk_hub, "lap-reader")
    author_name, reader_name = (await author.whoami()).name, (await reader.whoami()).name
    channel = unique("tech-waits")
    assert (await reader.wait_inbox(wait=0.2)).items == []  # nothing came: the wait ran out
    inbox: dict[str, Inbox] = {}

    async def wait_for_the_inbox() -> None:
        inbox["peek"] = await reader.wait_inbox(wait=30)

    found = word("kiwi")
    started = anyio.current_time()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(wait_for_the_inbox)
        sent = await author.send(f"@{reader_name}", f"ping {found}")
    assert anyio.current_time() - started < 10  # answered by the DM, not by the time running out
    (item,) = inbox["peek"].items
    assert (item.kind, item.message.id, item.delivered_at is not None) == (
        "dm",
        sent.messages[0].id,
        True,
    )
    assert (await reader.inbox()).unacked == 1

    board = await reader.board()
    assert board.me.name == reader_name
    assert board.inbox.unacked == 1
    assert f"@{author_name}" in {summary.channel for summary in board.channels}
    assert await reader.ack([item.id]) == AckResult(acked=1, unacked=0)
    assert await reader.ack(up_to=item.id) == AckResult(acked=0, unacked=0)
    assert (await reader.inbox()).items == []
    assert (await reader.inbox(include_acked=True)).items[0].acked_at is not None

    hits = await reader.search(found)
    assert [hit.message.id for hit in hits.hits] == [item.message.id]
    since = datetime.now(UTC) - timedelta(hours=1)
    narrowed = await reader.search(
        found, channel=f"@{author_name}", author=author_name, since=since, limit=5
    )
    assert [hit.message.id for hit in narrowed.hits] == [item.message.id]

    first = await author.post(channel, "first")
    assert (await reader.read(channel, after=first.id, wait=0.2)).messages == []
    pages: dict[str, MessagePage] = {}

    async def wait_for_the_channel() -> None:
        pages["read"] = await reader.read(channel, after=first.id, wait=30)

    started = anyio.current_time()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(wait_for_the_channel)
        second = await author.post(channel, "second")
    assert anyio.current_time() - started < 10
    assert pages["read"].messages == [second]


async def test_admin_keys(clients: Clients, sdk_hub: LiveHub) -> None:
    keys = admin(clients, sdk_hub)
    machine = word("box")
    made = await keys.create_key(machine, label="ci")
    assert made.key.startswith("hb_")
    assert (made.info.kind, made.info.machine, made.info.label) == ("machine", machine, "ci")
    assert made.info.id in {info.id for info in await keys.keys()}
    worker = clients.open(sdk_hub.url, made.key, f"{machine}-worker")
    assert (await worker.whoami()).machine == machine
    assert (await keys.revoke_key(made.info.id)).revoked_at is not None
    with pytest.raises(Unauthorized) as revoked:
        await worker.whoami()
    assert revoked.value.code == "bad_key"
    second = await keys.create_key(admin=True)
    assert (second.info.kind, second.info.machine) == ("admin", None)
    await keys.revoke_key(second.info.id)


async def test_errors_are_the_core_classes_with_their_codes(
    clients: Clients, sdk_hub: LiveHub
) -> None:
    url, key = sdk_hub.url, sdk_hub.config()["key"]
    me = agent(clients, sdk_hub)
    channel = unique("tech-errors")
    await me.post(channel, "first", idempotency_key="once")
    attempts: list[tuple[type[HubbubError], str, Awaitable[object]]] = [
        (NotFound, "channel_not_found", me.channel(unique("nowhere"))),
        (Forbidden, "wrong_machine", clients.open(url, key, "srv-intruder").whoami()),
        (InvalidInput, "bad_name", clients.open(url, key, "Not A Name").whoami()),
        (Conflict, "idempotency_conflict", me.post(channel, "other", idempotency_key="once")),
        (Unauthorized, "bad_key", clients.open(url, "hb_" + "x" * 43, "lap-nobody").whoami()),
        (Forbidden, "admin_only", clients.open(url, admin_key=key).keys()),
    ]
    for cls, code, attempt in attempts:
        with pytest.raises(cls) as caught:
            await attempt
        assert type(caught.value) is cls
        assert caught.value.code == code, caught.value
        assert caught.value.detail


async def test_an_unreachable_hub_raises_unavailable_naming_its_url(clients: Clients) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"  # nothing listens once it closes
    client = clients.open(url, "hb_key", "lap-lonely", retries=1)
    with pytest.raises(Unavailable) as caught:
        await client.whoami()
    assert url in str(caught.value)
    assert caught.value.code == "unreachable"


async def test_settings_come_from_arguments_then_environment_then_the_config_file(
    clients: Clients, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'url = "http://file.test:1"\nkey = "hb_file"\nmachine = "filebox"\n'
        'admin_key = "hb_admin_file"\n'
    )
    monkeypatch.setenv("HUBBUB_CONFIG", str(config))
    project = tmp_path / "My Project"
    project.mkdir()
    monkeypatch.chdir(project)
    assert clients.open().settings == ClientSettings(
        "http://file.test:1", "hb_file", "filebox-my-project", "hb_admin_file"
    )
    monkeypatch.setenv("HUBBUB_URL", "http://env.test:2/")
    monkeypatch.setenv("HUBBUB_KEY", "hb_env")
    monkeypatch.setenv("HUBBUB_MACHINE", "envbox")
    monkeypatch.setenv("HUBBUB_ADMIN_KEY", "hb_admin_env")
    assert clients.open().settings == ClientSettings(
        "http://env.test:2", "hb_env", "envbox-my-project", "hb_admin_env"
    )
    monkeypatch.setenv("HUBBUB_AGENT", "envbox-named")
    assert clients.open().settings.agent == "envbox-named"
    given = clients.open("http://arg.test:3", "hb_arg", "argbox-api", admin_key="hb_admin_arg")
    assert given.settings == ClientSettings(
        "http://arg.test:3", "hb_arg", "argbox-api", "hb_admin_arg"
    )
    monkeypatch.setenv("HUBBUB_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.delenv("HUBBUB_URL")
    with pytest.raises(InvalidInput) as caught:
        clients.open()
    assert caught.value.code == "no_config"


async def test_events_arrive_live(clients: Clients, sdk_hub: LiveHub) -> None:
    author = agent(clients, sdk_hub, "lap-author")
    reader = agent(clients, sdk_hub, "lap-reader")
    channel = unique("tech-live")
    first = await author.post(channel, "before")
    stream = reader.events(after=0, channels=[f"#{channel}"], types=["message.posted"])
    async with aclosing(stream) as events:
        with anyio.fail_after(WITHIN):
            replayed = await anext(events)  # from the log: the stream is open now
            live = await author.post(channel, "live")
            heard = await anext(events)
    assert (replayed.data["message"]["id"], heard.data["message"]["id"]) == (first.id, live.id)
    assert (heard.type, heard.seq > replayed.seq) == ("message.posted", True)


async def forward(
    events: AsyncIterator[Event], until: str, to: MemoryObjectSendStream[Event]
) -> None:
    """Pass messages from ``events`` on up to the one whose content is ``until``."""
    async with to:
        async for event in events:
            await to.send(event)
            if event.data["message"]["content"] == until:
                return


async def drain(events: AsyncIterator[Event]) -> None:
    """Read ``events`` to their end."""
    async for _ in events:
        pass


async def test_events_resume_by_themselves_across_a_hub_restart(
    clients: Clients, tmp_path: Path
) -> None:
    with ExitStack() as hubs:
        first = hubs.enter_context(running_hub(tmp_path / "hub", env=NO_LIMIT))
        key, channel = first.config()["key"], "tech-restart"
        author = clients.open(first.url, key, "lap-author")
        reader = clients.open(first.url, key, "lap-reader")
        before = [await author.post(channel, f"a{i}") for i in range(3)]
        stream = reader.events(after=0, channels=[channel], types=["message.posted"])
        sender, receiver = anyio.create_memory_object_stream[Event](100)
        async with aclosing(stream) as events, receiver, anyio.create_task_group() as tasks:
            tasks.start_soon(forward, events, "end", sender)
            with anyio.fail_after(WITHIN):
                received = [await receiver.receive() for _ in before]
                await anyio.to_thread.run_sync(hubs.close)  # stop the hub, with the stream open
                again = running_hub(tmp_path / "hub", port=first.port, env=NO_LIMIT)
                await anyio.to_thread.run_sync(hubs.enter_context, again)
                after = [await author.post(channel, f"b{i}") for i in range(3)]
                after.append(await author.post(channel, "end"))
                received += [event async for event in receiver]
    assert contents(received) == [m.content for m in before + after]
    seqs = [event.seq for event in received]
    assert seqs == sorted(set(seqs))
    assert clients.streams_opened() >= 2


def send_buffer_ceiling() -> int:
    """The most a TCP send buffer can grow to here (``tcp_wmem`` max), 4 MiB if unknown."""
    try:
        return int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, IndexError, ValueError):
        return 4 * 1024 * 1024


async def test_a_resync_is_followed_without_a_gap(clients: Clients, tmp_path: Path) -> None:
    """The reader's socket takes a small window and reads nothing while more is posted than
    the server's buffers and a backlog of 100 hold: the hub sends ``resync`` and closes."""
    size = 200_000
    env = {**NO_LIMIT, "HUBBUB_STREAM_BACKLOG": "100", "HUBBUB_MAX_CONTENT_BYTES": str(size)}
    fill = (send_buffer_ceiling() + 2 * 1024 * 1024) // size + 1
    with running_hub(tmp_path / "hub", env=env) as hub:
        key, channel = hub.config()["key"], "tech-flood"
        author = clients.open(hub.url, key, "lap-flooder")
        reader = clients.open(hub.url, key, "lap-sleeper", receive_buffer=16 * 1024)
        sent = [await author.post(channel, "start")]
        stream = reader.events(after=0, channels=[channel], types=["message.posted"])
        async with aclosing(stream) as events:
            with anyio.fail_after(30):
                received = [await anext(events)]  # the stream is open; now it falls behind
                sent += [await author.post(channel, "x" * size) for _ in range(fill)]
                sent += [await author.post(channel, f"m{i:04d}") for i in range(150)]
                while len(received) < len(sent):
                    received.append(await anext(events))
    assert [event.data["message"]["id"] for event in received] == [m.id for m in sent]
    assert clients.streams_opened() == 2  # the first stream ended with resync


async def test_a_revoked_key_ends_the_events_with_unauthorized(
    clients: Clients, sdk_hub: LiveHub
) -> None:
    keys = admin(clients, sdk_hub)
    machine = word("gone")
    made = await keys.create_key(machine)
    listener = clients.open(sdk_hub.url, made.key, f"{machine}-listener")
    author = agent(clients, sdk_hub, "lap-author")
    channel = unique("tech-revoked")
    await listener.post(channel, "hello")
    async with aclosing(listener.events(after=0, channels=[channel])) as events:
        with anyio.fail_after(WITHIN):
            assert (await anext(events)).type == "channel.created"
            await keys.revoke_key(made.info.id)
            await author.post(channel, "after the revocation")  # wakes the stream at once
            with pytest.raises(Unauthorized) as caught:
                await drain(events)
    assert caught.value.code == "bad_key"


@pytest.mark.parametrize(
    ("url", "proxy", "needed"),
    [
        ("http://127.0.0.1:7878", None, False),
        ("https://hub.example.org", None, True),
        ("http://hub.internal:7878", "https://proxy.example.org:3128", True),
    ],
)
def test_certificates_are_loaded_only_where_tls_can_happen(
    monkeypatch: pytest.MonkeyPatch, url: str, proxy: str | None, needed: bool
) -> None:
    for name in (
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)
    if proxy is not None:
        monkeypatch.setenv("HTTPS_PROXY", proxy)
    assert ops.verify(url) is needed
