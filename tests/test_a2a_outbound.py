"""Remote A2A agents: an admin registers one from its Agent Card; DMs, mentions and task offers
to it are forwarded through the A2A outbox, and its answers come back into the thread. The
remote is a real A2A SDK server on 127.0.0.1, started by each test."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from a2a.helpers.proto_helpers import new_text_message
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    Part,
    Task,
    TaskState,
    TaskStatus,
)
from starlette.applications import Starlette

from hubbub.a2a import outbound
from hubbub.core.hub import Hub
from hubbub.server import create_app
from hubbub.settings import Settings
from hubbub.store import open_store
from tests.clients import API, AgentClient, HubFactory, InProcessHub, problem
from tests.live import LiveHub, cli_of, ok_json
from tests.moving import move, query
from tests.postgres import Cluster

pytestmark = pytest.mark.anyio

FAST = {"webhook_backoff_seconds": 0.05, "webhook_backoff_max_seconds": 0.2}
COUNTED = ("agents", "a2a_remotes", "a2a_outbox", "messages", "events")


@dataclass
class Remote:
    """A remote A2A agent: what it received, and whether it answers."""

    url: str = ""
    received: list[str] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)
    tokens: list[str | None] = field(default_factory=list)


class Echo(AgentExecutor):
    """Answers ``echo: <text>`` as a message; a text starting with ``build`` is worked on as
    a task that ends with a text artifact and a file artifact."""

    def __init__(self, remote: Remote) -> None:
        self.remote = remote

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        text = context.get_user_input()
        self.remote.received.append(text)
        self.remote.contexts.append(context.context_id or "")
        headers = context.call_context.state.get("headers", {}) if context.call_context else {}
        self.remote.tokens.append(headers.get("authorization"))
        task_id, context_id = context.task_id or "", context.context_id or ""
        current = context.current_task
        if current is not None and current.status.state == TaskState.TASK_STATE_INPUT_REQUIRED:
            updater = TaskUpdater(event_queue, task_id, context_id)
            await updater.complete(updater.new_agent_message([Part(text=f"hello, {text}")]))
            return
        if text.startswith("ask"):
            await event_queue.enqueue_event(
                Task(
                    id=task_id,
                    context_id=context_id,
                    status=TaskStatus(state=TaskState.TASK_STATE_SUBMITTED),
                )
            )
            updater = TaskUpdater(event_queue, task_id, context_id)
            await updater.requires_input(updater.new_agent_message([Part(text="your name?")]))
            return
        if not text.startswith("build"):
            await event_queue.enqueue_event(
                new_text_message(f"echo: {text}", context_id=context_id, task_id=None)
            )
            return
        await event_queue.enqueue_event(
            Task(
                id=task_id,
                context_id=context_id,
                status=TaskStatus(state=TaskState.TASK_STATE_SUBMITTED),
                history=[context.message] if context.message else [],
            )
        )
        updater = TaskUpdater(event_queue, task_id, context_id)
        await updater.start_work()
        await updater.add_artifact([Part(text=f"built: {text}")], name="summary")
        await updater.add_artifact(
            [Part(raw=b"artifact bytes\n", filename="build.txt", media_type="text/plain")],
            name="file",
        )
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        raise NotImplementedError


def card(url: str) -> AgentCard:
    return AgentCard(
        name="Echo agent",
        description="Says back what it is told",
        version="1.0",
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")
        ],
        capabilities=AgentCapabilities(streaming=False),
        default_input_modes=["text/plain"],
        default_output_modes=["text/plain"],
        skills=[
            AgentSkill(id="echo", name="Echo", description="echoes", tags=["Repeat", "text"]),
            AgentSkill(id="build_things", name="Build", description="builds", tags=["Build"]),
        ],
    )


@asynccontextmanager
async def remote_agent(port: int = 0, served_at: str | None = None) -> AsyncIterator[Remote]:
    """A real A2A server (the SDK's routes on Starlette, uvicorn) on 127.0.0.1; its card
    names ``served_at`` as its endpoint, if given."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    remote = Remote(url=url)
    agent_card = card(served_at or url + "/")
    handler = DefaultRequestHandler(
        agent_executor=Echo(remote), task_store=InMemoryTaskStore(), agent_card=agent_card
    )
    app = Starlette(
        routes=[*create_agent_card_routes(agent_card), *create_jsonrpc_routes(handler, "/")]
    )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await until(lambda: server.started)
        yield remote
    finally:
        server.should_exit = True
        await serving
        sock.close()


async def until(check: Callable[[], bool | Awaitable[bool]], within: float = 30.0) -> None:
    """Wait (polling) until ``check`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        found = check()
        if not isinstance(found, bool):
            found = await found
        if found:
            return
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def register(hub: InProcessHub, name: str, url: str, **extra: Any) -> Any:
    response = await hub.http.post(
        f"{API}/admin/a2a/agents",
        json={"name": name, "url": url, **extra},
        headers=hub.admin_headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def outbox(hub: InProcessHub, name: str) -> list[Any]:
    response = await hub.http.get(
        f"{API}/admin/a2a/agents/{name}/outbox", headers=hub.admin_headers
    )
    assert response.status_code == 200, response.text
    found: list[Any] = response.json()
    return found


def counts(hub: InProcessHub) -> dict[str, int]:
    return {t: int(hub.query(f"SELECT count(*) FROM {t}")[0][0]) for t in COUNTED}


async def replies(alpha: AgentClient, message_id: int) -> list[Any]:
    """The replies in a message's thread."""
    thread = await alpha.ok("GET", f"/messages/{message_id}/thread")
    found: list[Any] = thread["replies"]
    return found


async def test_a_dm_is_forwarded_and_the_answer_lands_in_the_thread(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    async with remote_agent() as remote:
        made = await register(hub, "echo-remote", remote.url, token="s3cret-token")
        assert made["capabilities"] == ["echo", "repeat", "text", "build_things", "build"]
        assert made["label"] == "echo agent"
        assert made["description"] == "Says back what it is told"
        assert made["token_hint"] == "s3cr…"
        assert "s3cret-token" not in str(made)
        agent = await alpha.ok("GET", "/agents/echo-remote")
        assert agent["kind"] == "a2a"
        # No machine key acts as it, even one of the machine its name starts with.
        key = await hub.key_for("echo")
        posing = AgentClient(hub.http, "echo-remote", key)
        problem(await posing.request("GET", "/me"), 403, "wrong_machine")

        sent = await alpha.ok("POST", "/send", json={"target": "@echo-remote", "content": "hello"})
        first = sent["messages"][0]["id"]
        await until(lambda: _has_replies(alpha, first, 1))
        [reply] = await replies(alpha, first)
        assert reply["author"] == "echo-remote"
        assert reply["content"] == "echo: hello"
        assert remote.received == ["hello"]
        assert remote.tokens == ["Bearer s3cret-token"]
        [item] = await outbox(hub, "echo-remote")
        assert (item["status"], item["attempts"]) == ("sent", 1)

        # A follow-up in the same thread continues the remote conversation.
        body = {"target": "@echo-remote", "content": "again", "reply_to": first}
        await alpha.ok("POST", "/send", json=body)
        await until(lambda: _has_replies(alpha, first, 3))
        assert remote.contexts[1] == remote.contexts[0]


async def _has_replies(alpha: AgentClient, message_id: int, count: int) -> bool:
    return len(await replies(alpha, message_id)) >= count


async def test_a_remote_task_waiting_for_input_continues_in_the_thread(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    async with remote_agent() as remote:
        await register(hub, "echo-remote", remote.url)
        sent = await alpha.ok("POST", "/send", json={"target": "@echo-remote", "content": "ask"})
        first = sent["messages"][0]["id"]
        await until(lambda: _has_replies(alpha, first, 1))
        [question] = await replies(alpha, first)
        assert question["content"] == "your name?"
        waiting = question["metadata"]["a2a"]
        assert waiting["state"] == "input_required"
        body = {"target": "@echo-remote", "content": "Ada", "reply_to": question["id"]}
        await alpha.ok("POST", "/send", json=body)
        await until(lambda: _has_replies(alpha, first, 3))
        answer = (await replies(alpha, first))[-1]
        assert answer["content"] == "hello, Ada"
        assert answer["metadata"]["a2a"]["state"] == "completed"
        assert answer["metadata"]["a2a"]["task_id"] == waiting["task_id"]
        assert remote.contexts[1] == remote.contexts[0]


async def test_a_mention_in_a_channel_is_answered_in_its_thread(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    async with remote_agent() as remote:
        await register(hub, "echo-remote", remote.url)
        posted = await alpha.ok(
            "POST", "/channels/general/messages", json={"content": "hi @echo-remote"}
        )
        root = posted["id"]
        await until(lambda: _has_replies(alpha, root, 1))
        [reply] = await replies(alpha, root)
        assert (reply["author"], reply["channel"]) == ("echo-remote", "general")
        assert reply["content"] == "echo: hi @echo-remote"
        assert reply["metadata"]["a2a"]["state"] == "message"


async def test_remote_agents_never_answer_each_other(hub: InProcessHub, alpha: AgentClient) -> None:
    async with remote_agent() as remote:
        await register(hub, "echo-one", remote.url)
        await register(hub, "echo-two", remote.url)
        posted = await alpha.ok(
            "POST", "/channels/general/messages", json={"content": "hi @echo-one @echo-two"}
        )

        async def settled() -> bool:
            found = [await outbox(hub, name) for name in ("echo-one", "echo-two")]
            return all(sorted(i["status"] for i in items) == ["sent", "skipped"] for items in found)

        await until(settled)
        authors = sorted(r["author"] for r in await replies(alpha, posted["id"]))
        assert authors == ["echo-one", "echo-two"]
        assert remote.received == ["hi @echo-one @echo-two"] * 2
        skipped = await hub.http.get(
            f"{API}/admin/a2a/agents/echo-one/outbox",
            params={"status": "skipped"},
            headers=hub.admin_headers,
        )
        [item] = skipped.json()
        assert item["last_error"] == "from another remote A2A agent"


async def test_a_task_offer_is_claimed_and_completed_with_its_artifacts(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    async with remote_agent() as remote:
        await register(hub, "echo-remote", remote.url)
        made = await alpha.ok(
            "POST", "/tasks", json={"title": "build the docs", "target": "cap:build_things"}
        )
        task_id = made["id"]

        async def done() -> bool:
            task = await alpha.ok("GET", f"/tasks/{task_id}")
            return bool(task["status"] == "done")

        await until(done)
        task = await alpha.ok("GET", f"/tasks/{task_id}")
        assert task["holder"] == "echo-remote"
        assert task["result_text"] == "built: build the docs"
        assert task["result"]["a2a"]["state"] == "completed"
        assert remote.received == ["build the docs"]
        page = await alpha.ok("GET", "/files", params={"channel": "@echo-remote"})
        [shared] = page["files"]
        assert (shared["name"], shared["uploader"], shared["size"]) == (
            "build.txt",
            "echo-remote",
            len(b"artifact bytes\n"),
        )
        content = await alpha.request("GET", f"/files/{shared['id']}/content")
        assert content.content == b"artifact bytes\n"
        [item] = await outbox(hub, "echo-remote")
        assert (item["kind"], item["status"]) == ("task", "sent")


async def test_a_remote_that_is_down_is_retried_then_failed_with_the_reason(
    hub_factory: HubFactory,
) -> None:
    async with hub_factory(webhook_max_attempts=3, **FAST) as hub:
        alpha = await hub.agent("lap-alpha")
        async with remote_agent() as remote:
            await register(hub, "echo-remote", remote.url)
        sent = await alpha.ok("POST", "/send", json={"target": "@echo-remote", "content": "hi"})

        async def failed() -> bool:
            return [i["status"] for i in await outbox(hub, "echo-remote")] == ["failed"]

        await until(failed)
        [item] = await outbox(hub, "echo-remote")
        assert item["attempts"] == 3
        assert "Connect" in item["last_error"] or "connect" in item["last_error"]
        # Nothing is lost: the DM stays, and the failure is there for the admin to see.
        assert (await alpha.ok("GET", f"/messages/{sent['messages'][0]['id']}"))["content"] == "hi"
        listed = (await hub.http.get(f"{API}/admin/a2a/agents", headers=hub.admin_headers)).json()
        assert [(r["name"], r["pending"], r["failed"]) for r in listed] == [("echo-remote", 0, 1)]


async def test_only_the_registered_host_and_port_may_be_private(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    async with remote_agent() as elsewhere, remote_agent(served_at=elsewhere.url + "/") as remote:
        await register(hub, "echo-remote", remote.url)
        await alpha.ok("POST", "/send", json={"target": "@echo-remote", "content": "hi"})

        async def failed() -> bool:
            return [i["status"] for i in await outbox(hub, "echo-remote")] == ["failed"]

        await until(failed)
        [item] = await outbox(hub, "echo-remote")
        assert item["attempts"] == 1  # refused: trying again cannot help
        assert item["last_error"].startswith("forbidden destination: ")
        assert "loopback" in item["last_error"]
        assert elsewhere.received == remote.received == []


async def test_a_remote_back_within_its_attempts_gets_what_waited(
    hub_factory: HubFactory,
) -> None:
    async with hub_factory(webhook_max_attempts=1000, **FAST) as hub:
        alpha = await hub.agent("lap-alpha")
        async with remote_agent() as remote:
            await register(hub, "echo-remote", remote.url)
        port = int(remote.url.rsplit(":", 1)[1])
        sent = await alpha.ok("POST", "/send", json={"target": "@echo-remote", "content": "hi"})

        async def retried() -> bool:
            return any(
                i["attempts"] >= 2 and i["status"] == "pending"
                for i in await outbox(hub, "echo-remote")
            )

        await until(retried)
        async with remote_agent(port) as back:
            first = sent["messages"][0]["id"]
            await until(lambda: _has_replies(alpha, first, 1))
            assert back.received == ["hi"]
        [item] = await outbox(hub, "echo-remote")
        assert (item["status"], item["last_error"]) == ("sent", None)


async def test_a_hub_restart_resumes_what_waited(new_database: Callable[[], str]) -> None:
    db = new_database()

    @asynccontextmanager
    async def started() -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str], AgentClient]]:
        app = create_app(Settings(db=db, provision=False, webhook_max_attempts=1000, **FAST))
        async with app.router.lifespan_context(app):
            admin = await app.state.hub.keys.create("admin", None, None)
            machine = await app.state.hub.keys.create("machine", "lap", None)
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
                headers = {"Authorization": f"Bearer {admin.key}"}
                yield http, headers, AgentClient(http, "lap-alpha", machine.key)

    async def waiting(http: httpx.AsyncClient, headers: dict[str, str]) -> bool:
        path = f"{API}/admin/a2a/agents/echo-remote/outbox"
        found = (await http.get(path, headers=headers)).json()
        return any(i["attempts"] >= 1 and i["status"] == "pending" for i in found)

    async with started() as (http, headers, alpha):
        async with remote_agent() as remote:
            body = {"name": "echo-remote", "url": remote.url}
            made = await http.post(f"{API}/admin/a2a/agents", json=body, headers=headers)
            assert made.status_code == 201, made.text
        port = int(remote.url.rsplit(":", 1)[1])
        await alpha.ok("GET", "/me")
        sent = await alpha.ok("POST", "/send", json={"target": "@echo-remote", "content": "hi"})
        await until(lambda: waiting(http, headers))
    async with remote_agent(port) as back, started() as (http, headers, alpha):
        first = sent["messages"][0]["id"]
        await until(lambda: _has_replies(alpha, first, 1))
        assert back.received == ["hi"]


@pytest.mark.postgres
async def test_two_hub_processes_send_each_item_once_in_order(postgres: Cluster) -> None:
    name = postgres.new_database()
    try:
        await _two_hubs(postgres.url(name))
    finally:
        postgres.drop_database(name)


async def _two_hubs(db: str) -> None:
    """Two hubs on one PostgreSQL database, each running its sender."""
    apps = [create_app(Settings(db=db, provision=False, **FAST)) for _ in range(2)]
    async with (
        remote_agent() as remote,
        apps[0].router.lifespan_context(apps[0]),
        apps[1].router.lifespan_context(apps[1]),
    ):
        admin = await apps[0].state.hub.keys.create("admin", None, None)
        machine = await apps[0].state.hub.keys.create("machine", "lap", None)
        transport = httpx.ASGITransport(app=apps[0], raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
            headers = {"Authorization": f"Bearer {admin.key}"}
            body = {"name": "echo-remote", "url": remote.url}
            made = await http.post(f"{API}/admin/a2a/agents", json=body, headers=headers)
            assert made.status_code == 201, made.text
            alpha = AgentClient(http, "lap-alpha", machine.key)
            await alpha.ok("GET", "/me")
            texts = [f"note {n}" for n in range(6)]
            for text in texts:
                await alpha.ok("POST", "/send", json={"target": "@echo-remote", "content": text})
            await until(lambda: len(remote.received) >= len(texts))
            path = f"{API}/admin/a2a/agents/echo-remote/outbox"

            async def all_sent() -> bool:
                found = (await http.get(path, headers=headers)).json()
                return [i["status"] for i in found] == ["sent"] * len(texts)

            await until(all_sent)
        assert remote.received == texts  # each once, in order


async def test_an_export_moves_remote_agents_their_outbox_and_contexts(
    hub_factory: HubFactory, new_database: Callable[[], str]
) -> None:
    async with hub_factory() as hub, remote_agent() as remote:
        alpha = await hub.agent("lap-alpha")
        await register(hub, "echo-remote", remote.url, token="kept-token")
        sent = await alpha.ok("POST", "/send", json={"target": "@echo-remote", "content": "hi"})
        await until(lambda: _has_replies(alpha, sent["messages"][0]["id"], 1))
        source = hub.db_url or str(hub.db_path)
    target = new_database()
    _, moved = await move(source, target)
    for table in ("a2a_remotes", "a2a_outbox", "a2a_contexts"):
        assert moved.counts[table] == 1, table
    assert query(target, "SELECT token FROM a2a_remotes") == [("kept-token",)]


async def test_only_the_admin_registers_and_bad_input_changes_nothing(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    before = counts(hub)
    refused = await alpha.request(
        "POST", "/admin/a2a/agents", json={"name": "echo-remote", "url": "http://example.com"}
    )
    problem(refused, 403)
    problem(await alpha.request("GET", "/admin/a2a/agents"), 403)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    unreachable = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()

    async def add(**body: Any) -> Any:
        return await hub.http.post(f"{API}/admin/a2a/agents", json=body, headers=hub.admin_headers)

    problem(await add(name="echo-remote", url="ftp://example.com"), 422, "forbidden_destination")
    problem(await add(name="Bad Name", url="http://example.com"), 422)
    metadata = await add(name="echo-remote", url="http://169.254.169.254/")
    problem(metadata, 422, "forbidden_destination")
    problem(await add(name="echo-remote", url="http://[::1/"), 422, "forbidden_destination")
    problem(await add(name="echo-remote", url=unreachable, token="a\nb"), 422, "bad_a2a_token")
    bad_token = await add(name="echo-remote", url=unreachable, token="caf\u00e9")
    problem(bad_token, 422, "bad_a2a_token")
    gone = problem(await add(name="echo-remote", url=unreachable), 422, "a2a_card_unreadable")
    assert unreachable in gone["detail"]
    problem(await add(name="lap-alpha", url=unreachable), 409, "name_taken")
    async with remote_agent() as remote:
        problem(await add(name="echo-remote", url=remote.url + "/nothing-here"), 422)
    path = f"{API}/admin/a2a/agents/nobody"
    problem(await hub.http.get(path, headers=hub.admin_headers), 404, "a2a_remote_not_found")
    problem(await hub.http.delete(path, headers=hub.admin_headers), 404, "a2a_remote_not_found")
    assert counts(hub) == before


async def test_removing_a_remote_fails_what_waits_and_deletes_its_agent(
    hub_factory: HubFactory,
) -> None:
    async with hub_factory(webhook_max_attempts=1000, **FAST) as hub:
        alpha = await hub.agent("lap-alpha")
        async with remote_agent() as remote:
            await register(hub, "echo-remote", remote.url)
        await alpha.ok("POST", "/send", json={"target": "@echo-remote", "content": "hi"})
        await until(lambda: _attempted(hub))
        path = f"{API}/admin/a2a/agents/echo-remote"
        removed = await hub.http.delete(path, headers=hub.admin_headers)
        assert removed.status_code == 200, removed.text
        rows = hub.query("SELECT status, last_error FROM a2a_outbox")
        assert rows == [("failed", "the remote agent was removed")]
        gone = await alpha.request("GET", "/agents/echo-remote")
        assert gone.status_code == 404 or gone.json()["deleted"] is True
        problem(
            await alpha.request("POST", "/send", json={"target": "@echo-remote", "content": "x"}),
            404,
        )


async def _attempted(hub: InProcessHub) -> bool:
    return any(i["attempts"] >= 1 for i in await outbox(hub, "echo-remote"))


async def test_without_the_extra_registering_says_what_to_install(
    hub_factory: HubFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbound, "available", lambda: False)
    async with hub_factory() as hub:
        alpha = await hub.agent("lap-alpha")
        before = counts(hub)
        body = {"name": "echo-remote", "url": "http://example.com"}
        answer = await hub.http.post(
            f"{API}/admin/a2a/agents", json=body, headers=hub.admin_headers
        )
        found = problem(answer, 503, "a2a_unavailable")
        assert "hubbub[a2a]" in found["detail"]
        assert counts(hub) == before
        # The hub works as ever.
        await alpha.ok("POST", "/channels/general/messages", json={"content": "still here"})


@contextmanager
def remote_in_thread() -> Iterator[Remote]:
    """A remote agent on its own event loop, for tests that drive a separate hub process."""
    ready, stop = threading.Event(), threading.Event()
    box: list[Remote] = []

    async def serve() -> None:
        async with remote_agent() as remote:
            box.append(remote)
            ready.set()
            await asyncio.to_thread(stop.wait)

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    assert ready.wait(30)
    try:
        yield box[0]
    finally:
        stop.set()
        thread.join(30)


def test_the_cli_and_the_sdk_register_list_show_and_remove(live_hub: LiveHub) -> None:
    from hubbub.client import Client

    cli = cli_of(live_hub)
    name = f"remote-{secrets.token_hex(3)}"
    with remote_in_thread() as remote:
        made = ok_json(cli("a2a", "add", name, remote.url, "--token", "tok-123456", "--json"))
        assert (made["name"], made["token_hint"]) == (name, "tok-…")
        human = cli("a2a", "add", f"{name}-x", remote.url, "--label", "echo one")
        assert human.returncode == 0, human.stderr
        assert "registered" in human.stdout
        listed = ok_json(cli("a2a", "ls", "--json"))
        assert {name, f"{name}-x"} <= {r["name"] for r in listed}
        assert "tok-123456" not in json.dumps(listed)
        config = live_hub.config()
        with Client(url=live_hub.url, key=config["key"], agent="lap-cli-a2a") as client:
            client.send(f"@{name}", "over the SDK")
        deadline = 30.0
        shown: Any = None
        for _ in range(int(deadline / 0.1)):
            shown = ok_json(cli("a2a", "show", name, "--json"))
            if [i["status"] for i in shown["outbox"]] == ["sent"]:
                break
            threading.Event().wait(0.1)
        assert [i["status"] for i in shown["outbox"]] == ["sent"], shown
        assert remote.received == ["over the SDK"]
        table = cli("a2a", "show", name)
        assert table.returncode == 0, table.stderr
        assert "sent" in table.stdout
    with Client(url=live_hub.url, admin_key=config["admin_key"]) as admin:
        assert admin.a2a_remote(name).name == name
        assert [i.status for i in admin.a2a_outbox(name)] == ["sent"]
        assert admin.remove_a2a_remote(f"{name}-x").name == f"{name}-x"
    removed = ok_json(cli("a2a", "rm", name, "--json"))
    assert removed["name"] == name
    missing = cli("a2a", "rm", name)
    assert missing.returncode == 3, missing.stderr
    assert "a2a_remote_not_found" in missing.stderr or "no remote" in missing.stderr
    unreachable = cli("a2a", "add", f"{name}-y", "http://127.0.0.1:9")
    assert unreachable.returncode != 0
    assert "a2a_card_unreadable" in unreachable.stderr or "Agent Card" in unreachable.stderr


async def test_with_no_remote_agent_the_dispatcher_skips_the_log_in_one_step(
    tmp_path: Path,
) -> None:
    hub = Hub(open_store(str(tmp_path / "hub.db")))  # no server: no dispatcher of its own
    await hub.open()
    try:
        key = await hub.keys.create("machine", "lap", None)
        agent = await hub.agents.act_as(await hub.keys.verify(key.key), "lap-notes")
        for i in range(12):
            await hub.messages.post(agent, "general", f"note {i}")
        last = await hub.store.last_event_seq()
        scan = await hub.store.a2a_scan(5)  # fewer than the events waiting: still one step
        assert scan.cursor < last - 5
        assert (scan.upto, scan.events) == (last, [])
    finally:
        await hub.close()
