"""A2A inbound: hub agents reached by the a2a-sdk client through their Agent Cards. A message
is a DM from the caller (an integration token with the ``a2a`` scope); the agent answers with
the REST API as itself, and works tasks with the task API."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from a2a.client import AgentCardResolutionError, ClientConfig, create_client
from a2a.types import (
    CancelTaskRequest,
    DeleteTaskPushNotificationConfigRequest,
    GetTaskPushNotificationConfigRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    ListTasksRequest,
    Role,
    StreamResponse,
    SubscribeToTaskRequest,
    TaskPushNotificationConfig,
    TaskState,
)
from a2a.utils.errors import (
    InvalidParamsError,
    TaskNotCancelableError,
    TaskNotFoundError,
    UnsupportedOperationError,
)

from hubbub.bus.local import LocalBus
from hubbub.core.errors import Unavailable
from hubbub.server import create_app
from hubbub.settings import Settings
from tests.a2a_support import (
    a2a_client,
    a2a_token,
    http_for,
    request,
    send,
    task_of,
    text,
)
from tests.clients import API, AgentClient, HubFactory, InProcessHub, Json
from tests.live import running_hub
from tests.realtime import eventually
from tests.receiver import ALLOW_LOOPBACK, Received, Receiver, receiving

pytestmark = pytest.mark.anyio

DM = "dm:lap-beta:partner"
SUBMITTED = TaskState.TASK_STATE_SUBMITTED
WORKING = TaskState.TASK_STATE_WORKING
COMPLETED = TaskState.TASK_STATE_COMPLETED
CANCELED = TaskState.TASK_STATE_CANCELED


@pytest.fixture
async def hub(hub_factory: HubFactory) -> AsyncIterator[InProcessHub]:
    """A hub serving A2A, with blocking sends bounded to a few seconds."""
    async with hub_factory(a2a_enabled=True, a2a_wait_seconds=20) as started:
        yield started


@pytest.fixture
async def token(hub: InProcessHub) -> str:
    return await a2a_token(hub)


async def next_item(agent: AgentClient, after: int = 0) -> Json:
    """The agent's next inbox item, waited for."""
    for _ in range(10):
        inbox = await agent.inbox(after=after, wait=10)
        if inbox["items"]:
            item: Json = inbox["items"][0]
            return item
    raise AssertionError("nothing reached the inbox")


async def reply(agent: AgentClient, to: Json, content: str) -> Json:
    """The agent's reply in the thread of ``to``, over REST as itself."""
    sent = await agent.send(f"@{to['author']}", content, reply_to=to["id"])
    message: Json = sent["messages"][0]
    return message


async def test_a_card_per_visible_agent(hub: InProcessHub, token: str, beta: AgentClient) -> None:
    await beta.ok(
        "PATCH", "/me", {"label": "api helper", "capabilities": ["deploy"], "tags": ["backend"]}
    )
    async with http_for(hub, token) as http:
        response = await http.get("/a2a/lap-beta/.well-known/agent-card.json")
    assert response.status_code == 200, response.text
    card = response.json()
    assert card["name"] == "lap-beta"
    assert card["description"].startswith("api helper. ")
    assert {s["id"] for s in card["skills"]} == {"message", "deploy"}
    assert all(s["tags"] == ["backend"] for s in card["skills"])
    assert {i["protocolBinding"] for i in card["supportedInterfaces"]} == {"JSONRPC", "HTTP+JSON"}
    assert {i["url"] for i in card["supportedInterfaces"]} == {"http://hub/a2a/lap-beta"}
    assert card["securitySchemes"]["hubbub"]["httpAuthSecurityScheme"]["scheme"] == "bearer"
    assert card["capabilities"]["streaming"] is True


async def test_the_sdk_client_sends_and_the_agent_replies(
    hub: InProcessHub, token: str, beta: AgentClient
) -> None:
    async def agent() -> None:
        item = await next_item(beta)
        assert item["kind"] == "dm"
        assert item["message"]["author"] == "partner"
        await reply(beta, item["message"], "Here is your answer.")

    answering = asyncio.create_task(agent())
    async with a2a_client(hub, token, "lap-beta") as client:
        task = task_of(await send(client, request("What is the answer?")))
    await answering
    assert task.status.state == COMPLETED
    assert text(task.status.message) == "Here is your answer."
    assert task.status.message.role == Role.ROLE_AGENT
    assert [text(a) for a in task.artifacts] == ["Here is your answer."]
    assert [m.role for m in task.history] == [Role.ROLE_USER, Role.ROLE_AGENT]
    assert task.context_id == task.id  # the message starts the thread
    # The message is a DM from the integration, stamped as any sender.
    first = (await beta.messages(DM))[0]
    assert first["author"] == "partner"
    assert first["content"] == "What is the answer?"
    assert first["id"] == int(task.id)


async def test_a_task_goes_submitted_working_completed_and_follow_ups_get_later_replies(
    hub: InProcessHub, token: str, beta: AgentClient
) -> None:
    async with a2a_client(hub, token, "lap-beta", polling=True) as client:
        first = task_of(await send(client, request("First question")))
        assert first.status.state == SUBMITTED  # delivered, not yet read
        await beta.ok("PUT", f"/channels/{DM}/cursor", {"seq": int(first.id)})
        got = await client.get_task(GetTaskRequest(id=first.id))
        assert got.status.state == WORKING  # the agent has read it
        item = await next_item(beta)
        await reply(beta, item["message"], "First answer")
        # A follow-up in the same context is a new task, answered by the next reply.
        follow = task_of(
            await send(client, request("Second question", context_id=first.context_id))
        )
        assert follow.context_id == first.context_id
        assert follow.id != first.id
        assert follow.status.state == SUBMITTED
        await reply(beta, item["message"], "Second answer")
        done = await client.get_task(GetTaskRequest(id=first.id))
        later = await client.get_task(GetTaskRequest(id=follow.id, history_length=1))
    assert done.status.state == COMPLETED
    assert text(done.status.message) == "First answer"
    assert later.status.state == COMPLETED
    assert text(later.status.message) == "Second answer"
    assert [text(m) for m in later.history] == ["Second answer"]
    # Every message is in the one thread of the DM.
    thread = await beta.messages(DM)
    assert [m["thread_id"] for m in thread[1:]] == [int(first.id)] * 3


async def test_a_retried_message_id_posts_nothing_new(
    hub: InProcessHub, token: str, beta: AgentClient
) -> None:
    async with a2a_client(hub, token, "lap-beta", polling=True) as client:
        once = task_of(await send(client, request("Hello", message_id="m-1")))
        again = task_of(await send(client, request("Hello", message_id="m-1")))
        assert again.id == once.id
        with pytest.raises(InvalidParamsError):  # the same id for another message
            await send(client, request("Other text", message_id="m-1"))
    assert len(await beta.messages(DM)) == 1


async def work(agent: AgentClient, hub: InProcessHub, before: int) -> Json:
    """Claim the task offered in the agent's inbox once a stream follows it, report
    progress, then complete it."""
    item = await next_item(agent)
    assert item["kind"] == "task"
    task_id = item["message"]["metadata"]["task"]["id"]
    await followed(hub, before)
    claimed = await agent.ok("POST", f"/tasks/{task_id}/claim", {})
    fence = claimed["fence"]
    await agent.ok(
        "POST", f"/tasks/{task_id}/progress", {"fence": fence, "percent": 50, "note": "halfway"}
    )
    done: Json = await agent.ok(
        "POST",
        f"/tasks/{task_id}/complete",
        {"fence": fence, "text": "deployed", "result": {"ok": True}},
    )
    return done


async def test_streaming_a_work_request_to_its_end(
    hub: InProcessHub, token: str, beta: AgentClient
) -> None:
    bus = hub.hub.bus
    assert isinstance(bus, LocalBus)
    working = asyncio.create_task(work(beta, hub, bus.subscribers))
    async with a2a_client(hub, token, "lap-beta", streaming=True) as client:
        events = await send(client, request("Deploy the API", task={"title": "Deploy"}))
    hub_task = await working
    # The stream starts with the task as it is (the claim may already have landed).
    assert events[0].task.status.state in (SUBMITTED, WORKING)
    assert events[0].task.metadata["hubTask"] == hub_task["id"]
    states = [e.status_update.status.state for e in events if e.HasField("status_update")]
    assert states[0] == WORKING  # claimed (its progress may come in the same update)
    assert states[-1] == COMPLETED
    notes = [text(e.status_update.status.message) for e in events if e.HasField("status_update")]
    assert "progress: 50% — halfway" in notes
    artifacts = [e.artifact_update.artifact for e in events if e.HasField("artifact_update")]
    assert [text(a) for a in artifacts] == ["deployed"]
    assert artifacts[0].parts[1].data.struct_value["ok"] is True
    assert hub_task["title"] == "Deploy"
    assert hub_task["created_by"] == "partner"
    assert hub_task["target"] == "@lap-beta"
    assert hub_task["body"] == "Deploy the API"


async def followed(hub: InProcessHub, before: int) -> None:
    """Wait until a new subscriber (a stream) follows the hub's bus."""
    bus = hub.hub.bus
    assert isinstance(bus, LocalBus)
    for _ in range(2000):
        if bus.subscribers > before:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no stream started")


async def test_subscribing_follows_a_task_and_a_finished_one_has_nothing_to_follow(
    hub: InProcessHub, token: str, beta: AgentClient
) -> None:
    async with a2a_client(hub, token, "lap-beta", polling=True) as sender:
        task = task_of(await send(sender, request("Build it", task=True)))
    assert task.status.state == SUBMITTED
    item = await next_item(beta)
    hub_task = item["message"]["metadata"]["task"]["id"]
    fence = (await beta.ok("POST", f"/tasks/{hub_task}/claim", {}))["fence"]
    bus = hub.hub.bus
    assert isinstance(bus, LocalBus)
    before = bus.subscribers

    async def fail() -> None:
        await followed(hub, before)
        body = {"fence": fence, "text": "no disk left"}
        await beta.ok("POST", f"/tasks/{hub_task}/fail", body)

    async with a2a_client(hub, token, "lap-beta", streaming=True) as client:
        failing = asyncio.create_task(fail())
        events = [e async for e in client.subscribe(SubscribeToTaskRequest(id=task.id))]
        await failing
        assert events[0].task.id == task.id
        assert events[0].task.status.state == WORKING
        assert events[-1].status_update.status.state == TaskState.TASK_STATE_FAILED
        with pytest.raises(UnsupportedOperationError):
            [e async for e in client.subscribe(SubscribeToTaskRequest(id=task.id))]
        failed = await client.get_task(GetTaskRequest(id=task.id))
    assert failed.status.state == TaskState.TASK_STATE_FAILED
    assert [text(a) for a in failed.artifacts] == ["no disk left"]


async def test_cancel_ends_the_hub_task_and_a_message_has_nothing_to_cancel(
    hub: InProcessHub, token: str, beta: AgentClient
) -> None:
    async with a2a_client(hub, token, "lap-beta", polling=True) as client:
        asked = task_of(await send(client, request("Rebuild the index", task={"priority": 5})))
        canceled = await client.cancel_task(CancelTaskRequest(id=asked.id))
        assert canceled.status.state == CANCELED
        again = await client.cancel_task(CancelTaskRequest(id=asked.id))
        assert again.status.state == CANCELED
        plain = task_of(await send(client, request("Just saying hi")))
        with pytest.raises(TaskNotCancelableError):
            await client.cancel_task(CancelTaskRequest(id=plain.id))
        with pytest.raises(TaskNotFoundError):
            await client.cancel_task(CancelTaskRequest(id="999999"))
    hub_task = (await beta.ok("GET", "/tasks", params={"status": "cancelled"}))["tasks"][0]
    assert hub_task["priority"] == 5
    assert hub_task["status"] == "cancelled"


async def test_listing_the_callers_tasks_page_by_page(
    hub: InProcessHub, token: str, beta: AgentClient, gamma: AgentClient
) -> None:
    async with a2a_client(hub, token, "lap-beta", polling=True) as client:
        sent = [task_of(await send(client, request(f"note {n}"))) for n in range(3)]
        more = task_of(await send(client, request("more", context_id=sent[0].context_id)))
        first = await client.list_tasks(ListTasksRequest(page_size=2))
        assert [t.id for t in first.tasks] == [more.id, sent[2].id]
        assert first.total_size == 4
        assert first.next_page_token
        rest = await client.list_tasks(
            ListTasksRequest(page_size=2, page_token=first.next_page_token)
        )
        assert [t.id for t in rest.tasks] == [sent[1].id, sent[0].id]
        in_context = await client.list_tasks(ListTasksRequest(context_id=sent[0].context_id))
        assert [t.id for t in in_context.tasks] == [more.id, sent[0].id]
        done = await client.list_tasks(ListTasksRequest(status=COMPLETED))
        assert list(done.tasks) == []
        later = ListTasksRequest()
        later.status_timestamp_after.FromDatetime(datetime.now(UTC) + timedelta(hours=1))
        assert list((await client.list_tasks(later)).tasks) == []
        earlier = ListTasksRequest()
        earlier.status_timestamp_after.FromDatetime(datetime.now(UTC) - timedelta(hours=1))
        assert len((await client.list_tasks(earlier)).tasks) == 4
    # Another caller sees none of them, and another agent's endpoint lists its own.
    other = await a2a_token(hub, "other")
    async with a2a_client(hub, other, "lap-beta") as client:
        assert list((await client.list_tasks(ListTasksRequest())).tasks) == []
        with pytest.raises(TaskNotFoundError):
            await client.get_task(GetTaskRequest(id=sent[0].id))


async def test_the_http_json_binding_and_an_agent_key_caller(
    hub: InProcessHub, beta: AgentClient, alpha: AgentClient
) -> None:
    async with a2a_client(
        hub,
        alpha.key,
        "lap-beta",
        binding="HTTP+JSON",
        polling=True,
        headers={"X-Hubbub-Agent": "lap-alpha"},
    ) as client:
        task = task_of(await send(client, request("From one agent to another")))
        item = await next_item(beta)
        assert item["message"]["author"] == "lap-alpha"
        await reply(beta, item["message"], "Got it")
        got = await client.get_task(GetTaskRequest(id=task.id))
        assert got.status.state == COMPLETED
        listed = await client.list_tasks(ListTasksRequest())
        assert [t.id for t in listed.tasks] == [task.id]
        with pytest.raises(TaskNotFoundError):
            await client.get_task(GetTaskRequest(id="12345"))


def written(hub: InProcessHub) -> dict[str, int]:
    return {
        t: int(hub.query(f"SELECT count(*) FROM {t}")[0][0])
        for t in ("messages", "tasks", "a2a_tasks")
    }


async def test_callers_without_the_scope_or_the_target_are_refused(
    hub: InProcessHub, beta: AgentClient
) -> None:
    before = written(hub)
    body = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {}}
    async with http_for(hub, None) as http:
        anonymous = await http.post("/a2a/lap-beta", json=body)
        rest = await http.post("/a2a/lap-beta/message:send", json={})
        card = await http.get("/a2a/lap-beta/.well-known/agent-card.json")
    assert card.status_code == 401  # even the card: the hub answers no one it does not know
    assert anonymous.status_code == 401
    assert "Bearer" in anonymous.headers["www-authenticate"]
    assert anonymous.json()["error"]["data"]["code"] == "unauthorized"
    assert rest.status_code == 401
    assert rest.json()["error"]["status"] == "UNAUTHENTICATED"
    reader = await a2a_token(hub, "reader", scopes=["messages:read"])
    async with http_for(hub, reader) as http:
        lacking = await http.post("/a2a/lap-beta", json=body)
    assert lacking.status_code == 403
    assert lacking.json()["error"]["data"] == {
        "code": "missing_scope",
        "status": 403,
        "scope": "a2a",
    }
    elsewhere = await a2a_token(hub, "elsewhere", targets=["@srv-*"])
    with pytest.raises(AgentCardResolutionError, match="403"):
        async with a2a_client(hub, elsewhere, "lap-beta"):
            pass
    async with http_for(hub, elsewhere) as http:
        other = await http.post("/a2a/lap-beta/message:send", json={})
    assert other.status_code == 403
    assert other.json()["error"]["details"][0]["metadata"]["code"] == "target_not_allowed"
    with pytest.raises(AgentCardResolutionError, match="401"):
        async with a2a_client(hub, None, "lap-beta"):
            pass
    assert written(hub) == before


async def test_ghost_hidden_and_unknown_agents_have_no_card(
    hub: InProcessHub, token: str, beta: AgentClient
) -> None:
    ghost = await hub.agent("lap-ghost")
    await ghost.ok("PATCH", "/me", {"visibility": "ghost"})
    hidden = await hub.agent("lap-hidden")
    await hidden.ok("PATCH", "/me", {"visibility": "hidden"})
    before = written(hub)
    async with http_for(hub, token) as http:
        for name in ("lap-ghost", "lap-hidden", "lap-nobody", "NOT_A_NAME", "partner"):
            card = await http.get(f"/a2a/{name}/.well-known/agent-card.json")
            assert card.status_code == 404, name
            assert card.json()["error"]["details"][0]["reason"] == "A2A_AGENT_NOT_FOUND"
            rpc = await http.post(
                f"/a2a/{name}", json={"jsonrpc": "2.0", "id": 1, "method": "ListTasks"}
            )
            assert rpc.status_code == 404
            assert rpc.json()["error"]["data"]["code"] == "a2a_agent_not_found"
    with pytest.raises(AgentCardResolutionError):
        async with a2a_client(hub, token, "lap-ghost"):
            pass
    assert written(hub) == before


async def test_a2a_is_off_unless_enabled(hub_factory: HubFactory) -> None:
    async with hub_factory() as plain:
        await plain.agent("lap-beta")
        token = await a2a_token(plain)
        async with http_for(plain, token) as http:
            assert (await http.get("/a2a/lap-beta/.well-known/agent-card.json")).status_code == 404
            assert (await http.post("/a2a/lap-beta", json={})).status_code == 404


async def test_bad_requests_are_refused_and_change_nothing(
    hub: InProcessHub, token: str, beta: AgentClient
) -> None:
    before = written(hub)
    headers = {"A2A-Version": "1.0"}
    async with http_for(hub, token, **headers) as http:
        garbage = await http.post("/a2a/lap-beta", content=b"{not json")
        assert garbage.json()["error"]["code"] == -32700
        unknown = await http.post(
            "/a2a/lap-beta", json={"jsonrpc": "2.0", "id": 2, "method": "Nope"}
        )
        assert unknown.json()["error"]["code"] == -32601
        no_id = await http.post(
            "/a2a/lap-beta",
            json={
                "jsonrpc": "2.0",
                "id": 3,
                "method": "SendMessage",
                "params": {"message": {"role": "ROLE_USER", "parts": [{"text": "hi"}]}},
            },
        )
        assert no_id.json()["error"]["code"] == -32602
    async with a2a_client(hub, token, "lap-beta", polling=True) as client:
        for bad in (
            request("hi", context_id="424242"),  # no such context
            request("hi", context_id="not-a-hub-id"),
            request("hi", task_id="77"),  # no such task
            request("do it", task={"skill": "juggling"}),  # not a skill of the agent
            request("do it", task="please"),  # not a work request
            request("x" * 40_000),  # over the content limit
        ):
            with pytest.raises((InvalidParamsError, TaskNotFoundError)):
                await send(client, bad)
        raw = request("file")
        raw.message.parts.add(raw=b"bytes")
        with pytest.raises(Exception, match="raw"):
            await send(client, raw)
    assert written(hub) == before


async def test_a_real_hub_streams_claim_progress_done_as_they_happen(tmp_path: Path) -> None:
    with running_hub(tmp_path / "hub", env={"HUBBUB_A2A_ENABLED": "true"}) as live:
        config = live.config()
        admin = {"Authorization": f"Bearer {config['admin_key']}"}
        agent = {"Authorization": f"Bearer {config['key']}", "X-Hubbub-Agent": "lap-beta"}
        async with httpx.AsyncClient(base_url=live.url + API, timeout=30) as rest:
            (await rest.get("/me", headers=agent)).raise_for_status()
            made = await rest.post(
                "/admin/integrations",
                json={"name": "partner", "scopes": ["a2a"], "targets": ["@lap-beta"]},
                headers=admin,
            )
            token = made.json()["token"]
            caller = httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
            async with caller:
                config_ = ClientConfig(streaming=True, httpx_client=caller)
                client = await create_client(f"{live.url}/a2a/lap-beta", client_config=config_)
                stream = client.send_message(request("Deploy the API", task=True))

                async def next_event() -> StreamResponse:
                    return await asyncio.wait_for(anext(stream), 30)

                first = await next_event()
                assert first.task.status.state == SUBMITTED
                task_id = int(first.task.metadata["hubTask"])
                claimed = await rest.post(f"/tasks/{task_id}/claim", json={}, headers=agent)
                fence = claimed.json()["fence"]
                assert (await next_event()).status_update.status.state == WORKING
                await rest.post(
                    f"/tasks/{task_id}/progress",
                    json={"fence": fence, "percent": 40, "note": "building"},
                    headers=agent,
                )
                noted = (await next_event()).status_update.status
                assert noted.state == WORKING
                assert text(noted.message) == "progress: 40% — building"
                await rest.post(
                    f"/tasks/{task_id}/complete",
                    json={"fence": fence, "text": "shipped"},
                    headers=agent,
                )
                artifact = (await next_event()).artifact_update.artifact
                assert text(artifact) == "shipped"
                assert (await next_event()).status_update.status.state == COMPLETED
                with pytest.raises(StopAsyncIteration):
                    await next_event()
                await client.close()


async def test_push_configs_are_kept_and_status_changes_go_through_the_webhook_outbox(
    hub_factory: HubFactory,
) -> None:
    settings = {"a2a_enabled": True, "webhook_backoff_seconds": 0.05, **ALLOW_LOOPBACK}
    async with hub_factory(**settings) as hub:
        beta = await hub.agent("lap-beta")
        token = await a2a_token(hub)
        with receiving() as receiver:
            async with a2a_client(hub, token, "lap-beta", polling=True) as client:
                asked = request("Deploy", task=True)
                asked.configuration.task_push_notification_config.CopyFrom(
                    TaskPushNotificationConfig(id="ops", url=receiver.url + "/a2a", token="s3cret")
                )
                work_task = task_of(await send(client, asked))
                plain = task_of(await send(client, request("A question")))
                made = await client.create_task_push_notification_config(
                    TaskPushNotificationConfig(task_id=plain.id, url=receiver.url + "/plain")
                )
                assert made.id
                assert made.task_id == plain.id
                spare = TaskPushNotificationConfig(
                    task_id=plain.id, id="spare", url=receiver.url + "/spare"
                )
                await client.create_task_push_notification_config(spare)
                listed = await client.list_task_push_notification_configs(
                    ListTaskPushNotificationConfigsRequest(task_id=plain.id)
                )
                assert sorted(c.id for c in listed.configs) == sorted([made.id, "spare"])
                got = await client.get_task_push_notification_config(
                    GetTaskPushNotificationConfigRequest(task_id=work_task.id, id="ops")
                )
                assert got.url == receiver.url + "/a2a"
                await client.delete_task_push_notification_config(
                    DeleteTaskPushNotificationConfigRequest(task_id=plain.id, id="spare")
                )
                with pytest.raises(TaskNotFoundError):
                    await client.get_task_push_notification_config(
                        GetTaskPushNotificationConfigRequest(task_id=plain.id, id="spare")
                    )
                for bad in ("ftp://example.com/x", "http://10.1.2.3/x"):
                    with pytest.raises(InvalidParamsError):
                        await client.create_task_push_notification_config(
                            TaskPushNotificationConfig(task_id=plain.id, url=bad)
                        )
            # The agent works the task and answers the question.
            offer = await next_item(beta)
            task_id = offer["message"]["metadata"]["task"]["id"]
            fence = (await beta.ok("POST", f"/tasks/{task_id}/claim", {}))["fence"]
            await beta.ok("POST", f"/tasks/{task_id}/complete", {"fence": fence, "text": "done"})
            question = await next_item(beta, after=offer["id"])
            await reply(beta, question["message"], "An answer")
            pushed = await eventually(lambda: _accepted(receiver, 3), within=20)
    by_path = {(r.path, r.json["statusUpdate"]["status"]["state"]) for r in pushed}
    assert by_path == {
        ("/a2a", "TASK_STATE_WORKING"),
        ("/a2a", "TASK_STATE_COMPLETED"),
        ("/plain", "TASK_STATE_COMPLETED"),
    }
    for item in pushed:
        update = item.json["statusUpdate"]
        assert update["taskId"] == (work_task.id if item.path == "/a2a" else plain.id)
        signed = item.headers.get("x-hubbub-signature")
        assert (signed is not None) == (item.path == "/a2a")  # signed with its token
    assert [r.path for r in receiver.accepted() if r.path == "/spare"] == []


async def _accepted(receiver: Receiver, count: int) -> list[Received] | None:
    found = receiver.accepted()
    return found if len(found) >= count else None


def test_without_the_extra_a_hub_with_a2a_refuses_to_start_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(sys.modules):
        if name == "a2a" or name.startswith("a2a."):
            monkeypatch.setitem(sys.modules, name, None)
        if name.startswith("hubbub.a2a.inbound"):
            monkeypatch.delitem(sys.modules, name)
    settings = Settings(db=str(tmp_path / "hub.db"), provision=False)
    create_app(settings)  # off: starts as ever
    with pytest.raises(Unavailable, match=r"hubbub\[a2a\]") as refused:
        create_app(settings.model_copy(update={"a2a_enabled": True}))
    assert refused.value.code == "a2a_unavailable"


@asynccontextmanager
async def serving(db: Path) -> AsyncIterator[InProcessHub]:
    """A hub with A2A on the SQLite file ``db``, for as long as the block runs."""
    app = create_app(Settings(db=str(db), provision=False, a2a_enabled=True, a2a_wait_seconds=0))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as http:
            yield InProcessHub(app, http, db, "")


async def test_tasks_outlive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    async with serving(db) as first:
        first.admin_key = (await first.hub.keys.create("admin", None, None)).key
        beta = await first.agent("lap-beta")
        token = await a2a_token(first)
        async with a2a_client(first, token, "lap-beta") as client:
            task = task_of(await send(client, request("Still there tomorrow?")))
        item = await next_item(beta)
    async with serving(db) as second:
        second.machine_keys["lap"] = beta.key
        beta = await second.agent("lap-beta")
        await reply(beta, item["message"], "Yes")
        async with a2a_client(second, token, "lap-beta") as client:
            again = await client.get_task(GetTaskRequest(id=task.id))
            listed = await client.list_tasks(ListTasksRequest())
    assert again.status.state == COMPLETED
    assert text(again.status.message) == "Yes"
    assert [t.id for t in listed.tasks] == [task.id]


async def test_cards_name_the_public_address_when_one_is_set(hub_factory: HubFactory) -> None:
    async with hub_factory(a2a_enabled=True, a2a_public_url="https://hub.example.com/") as hub:
        await hub.agent("lap-beta")
        token = await a2a_token(hub)
        async with http_for(hub, token) as http:
            card = (await http.get("/a2a/lap-beta/.well-known/agent-card.json")).json()
    urls = {i["url"] for i in card["supportedInterfaces"]}
    assert urls == {"https://hub.example.com/a2a/lap-beta"}


async def test_a_message_for_a_task_under_way_joins_its_thread(
    hub: InProcessHub, token: str, beta: AgentClient
) -> None:
    async with a2a_client(hub, token, "lap-beta", polling=True) as client:
        task = task_of(await send(client, request("Look at the logs")))
        more = task_of(await send(client, request("The ones from today", task_id=task.id)))
        assert more.id == task.id
        assert [text(m) for m in more.history] == ["Look at the logs", "The ones from today"]
        item = await next_item(beta)
        await reply(beta, item["message"], "Found it")
        with pytest.raises(InvalidParamsError, match="completed"):
            await send(client, request("And yesterday's?", task_id=task.id))
    thread = await beta.messages(DM)
    assert [m["content"] for m in thread] == ["Look at the logs", "The ones from today", "Found it"]
