"""Message kinds (``note``, ``question``, ``decision``…): given on post and send, stored,
returned on every message, and filtered by in channel and thread reads, waits, search and the
event stream; a bad kind is refused and writes nothing. Through REST and the SDK on both
engines, and through the CLI and the MCP tools."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from hubbub.core.errors import InvalidInput
from tests.agent_tools import acting, sdk
from tests.clients import API, AgentClient, InProcessHub, problem
from tests.live import Cli, LiveHub, cli_of, ok_json
from tests.realtime import LiveAgents, unique
from tests.sse import EventStream

pytestmark = pytest.mark.anyio

BAD_KINDS = ["Question", "1st", "-x", "a b", "x" * 33, "", "ques_tion", "é"]


async def test_a_post_and_a_send_carry_their_kind_and_reads_filter_by_it(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    channel = unique("tech-kinds")
    note = await alpha.say(channel, "plain words")
    question = await alpha.say(channel, "which parser?", kind="question")
    decision = await alpha.say(channel, "we take the fast one", kind="decision")
    assert (note["kind"], question["kind"], decision["kind"]) == (None, "question", "decision")
    assert (await alpha.ok("GET", f"/messages/{question['id']}"))["kind"] == "question"
    every = await beta.messages(channel)
    assert [m["kind"] for m in every] == [None, "question", "decision"]
    assert [m["id"] for m in await beta.messages(channel, kind="decision")] == [decision["id"]]
    assert [m["id"] for m in await beta.messages(channel, kind="question", after=0)] == [
        question["id"]
    ]
    assert [m["id"] for m in await beta.messages(channel, kind="question", before=9**9)] == [
        question["id"]
    ]
    assert await beta.messages(channel, kind="result") == []

    sent = await alpha.send(f"@{beta.name}", "please review", kind="question")
    assert sent["messages"][0]["kind"] == "question"
    inbox = await beta.inbox()
    assert inbox["items"][-1]["message"]["kind"] == "question"
    posted = await alpha.send(f"#{channel}", "status: halfway", kind="status")
    assert posted["messages"][0]["kind"] == "status"


async def test_threads_keep_their_root_and_filter_replies_by_kind(
    alpha: AgentClient, beta: AgentClient
) -> None:
    channel = unique("tech-thread")
    root = await alpha.say(channel, "plan for the release", kind="question")
    answer = await beta.say(channel, "ship friday", reply_to=root["id"], kind="decision")
    await beta.say(channel, "noted", reply_to=root["id"])
    whole = await alpha.ok("GET", f"/messages/{root['id']}/thread")
    assert len(whole["replies"]) == 2
    only = await alpha.ok("GET", f"/messages/{root['id']}/thread", params={"kind": "decision"})
    assert only["root"]["id"] == root["id"]
    assert [r["id"] for r in only["replies"]] == [answer["id"]]


async def test_search_filters_by_kind(alpha: AgentClient) -> None:
    channel = unique("tech-find")
    word = unique("zebra").replace("-", "")
    await alpha.say(channel, f"{word} first")
    wanted = await alpha.say(channel, f"{word} settled", kind="decision")
    assert len(await alpha.search(word)) == 2
    hits = await alpha.search(word, kind="decision")
    assert [h["message"]["id"] for h in hits] == [wanted["id"]]
    assert hits[0]["message"]["kind"] == "decision"
    assert await alpha.search(word, kind="question") == []


async def test_a_wait_with_a_kind_returns_only_that_kind(
    alpha: AgentClient, beta: AgentClient
) -> None:
    channel = unique("tech-wait")
    start = await alpha.say(channel, "start")
    found: dict[str, Any] = {}

    async def wait() -> None:
        params = {"after": start["id"], "wait": 20, "kind": "decision"}
        found.update(await beta.ok("GET", f"/channels/{channel}/messages", params=params))

    async with anyio.create_task_group() as group:
        group.start_soon(wait)
        await alpha.say(channel, "just a note", kind="note")
        decided = await alpha.say(channel, "decided", kind="decision")
    assert [m["id"] for m in found["messages"]] == [decided["id"]]
    assert found["cursor"] == decided["id"]


async def test_a_bad_kind_is_refused_by_name_and_writes_nothing(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    channel = unique("tech-bad")
    first = await alpha.say(channel, "first")
    before = hub.snapshot()
    for kind in BAD_KINDS:
        for response in (
            await alpha.post(f"/channels/{channel}/messages", {"content": "x", "kind": kind}),
            await alpha.post("/send", {"target": f"@{beta.name}", "content": "x", "kind": kind}),
            await alpha.post("/send", {"target": f"#{channel}", "content": "x", "kind": kind}),
        ):
            body = problem(response, 422)
            assert body["code"] in ("bad_kind", "invalid"), body
            if kind:
                assert "kind" in body["detail"], body
        for path, params in (
            (f"/channels/{channel}/messages", {"kind": kind}),
            (f"/messages/{first['id']}/thread", {"kind": kind}),
            ("/search", {"q": "first", "kind": kind}),
            ("/events", {"kind": kind}),
        ):
            problem(await alpha.get(path, params=params), 422)
    wrong_type = await alpha.post(f"/channels/{channel}/messages", {"content": "x", "kind": 3})
    problem(wrong_type, 422)
    assert hub.snapshot() == before


async def test_a_retry_with_another_kind_is_a_conflict(alpha: AgentClient) -> None:
    channel = unique("tech-retry")
    key = {"Idempotency-Key": unique("key")}
    path = f"/channels/{channel}/messages"
    made = await alpha.post(path, {"content": "x", "kind": "note"}, headers=key)
    assert made.status_code == 201
    again = await alpha.post(path, {"content": "x", "kind": "note"}, headers=key)
    assert (again.status_code, again.json()["id"]) == (200, made.json()["id"])
    problem(await alpha.post(path, {"content": "x", "kind": "decision"}, headers=key), 409)


async def test_the_sdk_posts_sends_reads_searches_and_refuses_by_kind(hub: InProcessHub) -> None:
    channel = unique("tech-sdk")
    word = unique("quokka").replace("-", "")
    async with sdk(hub, "lap-alpha") as alpha, sdk(hub, "lap-beta") as beta:
        asked = await alpha.post(channel, f"{word}?", kind="question")
        assert asked.kind == "question"
        plain = await alpha.post(channel, f"{word} plain")
        assert plain.kind is None
        reply = await beta.send(f"#{channel}", "yes", reply_to=asked.id, kind="decision")
        assert reply.messages[0].kind == "decision"
        dm = await alpha.send("@lap-beta", "psst", kind="note")
        assert dm.messages[0].kind == "note"
        page = await beta.read(channel, kind="question")
        assert [m.id for m in page.messages] == [asked.id]
        thread = await beta.thread(asked.id, kind="decision")
        assert [r.id for r in thread.replies] == [reply.messages[0].id]
        hits = await beta.search(word, kind="question")
        assert [h.message.id for h in hits.hits] == [asked.id]
        with pytest.raises(InvalidInput) as refused:
            await alpha.post(channel, "x", kind="Not A Word")
        assert refused.value.code == "bad_kind"
        with pytest.raises(InvalidInput):
            await beta.read(channel, kind="BAD")
        assert [m.id for m in (await beta.read(channel)).messages][-1] == reply.messages[0].id


async def test_hubbub_send_takes_a_kind(hub: InProcessHub, alpha: AgentClient) -> None:
    channel = unique("tech-tool")
    async with acting(hub, "lap-beta") as beta:
        sent = await beta.ok("hubbub_send", to=f"#{channel}", text="done: all green", kind="result")
        page = await beta.ok("hubbub_read", channel=f"#{channel}")
        assert " kind=result at=" in page["messages"][0]["text"].splitlines()[0]
        refused = await beta("hubbub_send", to=f"#{channel}", text="x", kind="No")
        assert refused.is_error
        assert "kind" in refused.text
    [message] = await alpha.messages(channel)
    assert (message["id"], message["kind"]) == (sent["message_ids"][0], "result")


# the event stream, on a real hub of each engine


@asynccontextmanager
async def stream(agent: AgentClient, **params: str) -> AsyncIterator[EventStream]:
    """``GET /api/v1/events`` as ``agent`` with these query parameters."""
    headers = {**agent.headers, "Accept": "text/event-stream"}
    async with agent.http.stream("GET", API + "/events", params=params, headers=headers) as r:
        assert r.status_code == 200, await r.aread()
        yield EventStream(r)


@pytest.mark.e2e
async def test_the_event_stream_filters_message_events_by_kind(realtime: LiveAgents) -> None:
    author = await realtime.agent("lap-author")
    reader = await realtime.agent("lap-reader")
    channel = unique("tech-stream")
    await author.say(channel, "opening")
    await reader.ok("POST", f"/channels/{channel}/join")
    async with stream(reader, kind="decision", channels=channel) as decisions:
        await author.say(channel, "a note", kind="note")
        await author.say(channel, "no kind")
        decided = await author.say(channel, "decided", kind="decision")
        await author.patch(f"/messages/{decided['id']}", {"content": "decided, edited"})
        seen = await decisions.until(lambda e: e.type == "message.edited")
    messages = [e for e in seen if e.type.startswith("message.")]
    assert [(e.type, e.payload["message"]["id"]) for e in messages] == [
        ("message.posted", decided["id"]),
        ("message.edited", decided["id"]),
    ]
    assert all(e.payload["message"]["kind"] == "decision" for e in messages)


# the command line, on a real hub


@pytest.fixture(scope="module")
def cli(live_hub: LiveHub) -> Cli:
    return cli_of(live_hub)


@pytest.mark.e2e
def test_the_cli_posts_sends_reads_and_searches_by_kind(cli: Cli) -> None:
    channel = unique("tech-cli")
    word = unique("narwhal").replace("-", "")
    asked = ok_json(cli("post", channel, f"{word} which way?", "--kind", "question", "--json"))
    assert asked["kind"] == "question"
    sent = ok_json(cli("send", f"#{channel}", f"{word} this way", "--kind", "decision", "--json"))
    assert sent["messages"][0]["kind"] == "decision"
    ok_json(cli("post", channel, f"{word} plain", "--json"))
    page = ok_json(cli("read", channel, "--kind", "decision", "--json"))
    assert [m["content"] for m in page["messages"]] == [f"{word} this way"]
    found = ok_json(cli("search", word, "--kind", "question", "--json"))
    assert [h["message"]["id"] for h in found["hits"]] == [asked["id"]]
    shown = cli("read", channel)
    assert shown.returncode == 0, shown.stderr
    assert "[question]" in shown.stdout
    assert "[decision]" in shown.stdout
    refused = cli("post", channel, "x", "--kind", "Bad Kind")
    assert refused.returncode != 0
    assert "kind" in refused.stderr
