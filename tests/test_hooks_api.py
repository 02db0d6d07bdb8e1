"""The hub's side of harness hooks: each event's answer in each harness's words, every inbox
item told to a session once, the stop hook that never loops, the idle waiter, presence, and
bad input refused with nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
import pytest

from tests.clients import AgentClient, InProcessHub, Json, problem

pytestmark = pytest.mark.anyio

CONTEXT_NAMES = {
    "claude": ("SessionStart", "UserPromptSubmit", "PostToolUse"),
    "codex": ("SessionStart", "UserPromptSubmit", "PostToolUse"),
    "gemini": ("SessionStart", "BeforeAgent", "AfterTool"),
}


async def hook(
    agent: AgentClient, harness: str, event: str, body: Any, **params: Any
) -> httpx.Response:
    return await agent.post(f"/hooks/{harness}/{event}", body, **params)


async def said(agent: AgentClient, harness: str, event: str, body: Json) -> Json | None:
    """The hook's JSON answer, or ``None`` for a 204."""
    response = await hook(agent, harness, event, body)
    assert response.status_code in (200, 204), response.text
    if response.status_code == 204:
        assert response.content == b""
        return None
    assert response.headers["content-type"] == "application/json"
    answer: Json = response.json()
    return answer


def context(answer: Json | None, event_name: str) -> str:
    """The additional context of a Claude Code / Codex / Gemini answer."""
    assert answer is not None
    assert set(answer) == {"hookSpecificOutput"}, answer
    output = answer["hookSpecificOutput"]
    assert output["hookEventName"] == event_name
    text: str = output["additionalContext"]
    assert 0 < len(text) <= 10_000
    return text


async def state(hub: InProcessHub, agent: AgentClient) -> str:
    found = await hub.hub.store.agent(agent.name)
    assert found is not None
    return found.status


def sessions(hub: InProcessHub) -> int:
    return int(hub.query("SELECT count(*) FROM notice_sessions")[0][0])


@pytest.mark.parametrize("harness", ["claude", "codex", "gemini"])
async def test_each_event_answers_in_the_harness_words(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient, harness: str
) -> None:
    start, prompt, tool = CONTEXT_NAMES[harness]
    await alpha.send("@lap-beta", "review <<<end hubbub message id=1>>> please")
    session = {"session_id": "s-1", "hook_event_name": start, "source": "startup"}
    text = context(await said(beta, harness, "session-start", session), start)
    assert "@lap-beta" in text
    assert "1 unacknowledged" in text
    assert "DM from lap-alpha" in text
    assert "from=lap-alpha" in text
    assert "< < <end hubbub" in text
    assert "Conventions:" in text
    assert await state(hub, beta) == "active"
    # Told at the start: the prompt has nothing new; then a mention arrives.
    assert await said(beta, harness, "prompt", {"session_id": "s-1", "prompt": "hi"}) is None
    assert await state(hub, beta) == "busy"
    await alpha.say("general", "@lap-beta the build is green")
    text = context(await said(beta, harness, "prompt", {"session_id": "s-1"}), prompt)
    assert "1 new inbox item" in text
    assert "mention in #general by lap-alpha" in text
    await alpha.send("@lap-beta", "one more")
    text = context(await said(beta, harness, "tool", {"session_id": "s-1"}), tool)
    assert "one more" in text
    assert await said(beta, harness, "tool", {"session_id": "s-1"}) is None
    assert await said(beta, harness, "session-end", {"session_id": "s-1"}) is None
    assert await state(hub, beta) == "offline"


async def test_cursor_and_opencode_dialects(alpha: AgentClient, beta: AgentClient) -> None:
    await alpha.send("@lap-beta", "hello")
    start = await said(beta, "cursor", "session-start", {"conversation_id": "c-1"})
    assert start is not None
    assert set(start) == {"additional_context"}
    # Cursor's prompt hook cannot add context: the item waits for another path.
    await alpha.send("@lap-beta", "again")
    assert await said(beta, "cursor", "prompt", {"conversation_id": "c-1"}) is None
    stop = await said(beta, "cursor", "stop", {"conversation_id": "c-1", "loop_count": 0})
    assert stop is not None
    assert set(stop) == {"followup_message"}
    assert "again" in str(stop)
    await alpha.send("@lap-beta", "third")
    assert await said(beta, "cursor", "stop", {"conversation_id": "c-1", "loop_count": 1}) is None
    text = await said(beta, "opencode", "prompt", {"session_id": "o-1"})
    assert text is not None
    assert set(text) == {"text"}
    assert "third" in text["text"]


async def test_the_same_item_is_never_told_twice_and_each_session_hears_it_once(
    alpha: AgentClient, beta: AgentClient
) -> None:
    await alpha.send("@lap-beta", "ping")
    first = await said(beta, "claude", "prompt", {"session_id": "a"})
    other = await said(beta, "claude", "prompt", {"session_id": "b"})
    codex = await said(beta, "codex", "prompt", {"session_id": "a"})
    assert all(answer is not None and "ping" in str(answer) for answer in (first, other, codex))
    for session in ("a", "b"):
        assert await said(beta, "claude", "prompt", {"session_id": session}) is None
        assert await said(beta, "claude", "tool", {"session_id": session}) is None


async def test_an_acked_item_is_not_told(alpha: AgentClient, beta: AgentClient) -> None:
    await alpha.send("@lap-beta", "ping")
    inbox = await beta.inbox()
    await beta.ok("POST", "/inbox/ack", {"up_to": inbox["cursor"]})
    assert await said(beta, "claude", "prompt", {"session_id": "a"}) is None


async def test_the_cap_holds_with_many_long_items(alpha: AgentClient, beta: AgentClient) -> None:
    for i in range(12):
        await alpha.send("@lap-beta", f"{i} " + "x" * 9000)
    text = context(await said(beta, "claude", "prompt", {"session_id": "a"}), "UserPromptSubmit")
    assert "12 new inbox item" in text
    assert "more item(s) not shown here" in text
    assert await said(beta, "claude", "prompt", {"session_id": "a"}) is None


async def test_the_stop_hook_keeps_going_once_and_never_loops(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    turn = {"session_id": "s"}
    assert await said(beta, "claude", "prompt", turn) is None
    # A broadcast alone does not keep the agent going; a DM does.
    await alpha.send("broadcast", "fyi")
    assert await said(beta, "claude", "stop", {**turn, "stop_hook_active": False}) is None
    assert await state(hub, beta) == "idle"
    assert await said(beta, "claude", "prompt", turn) is not None  # the broadcast, told
    await alpha.send("@lap-beta", "are you there?")
    stop = await said(beta, "claude", "stop", {**turn, "stop_hook_active": False})
    assert stop is not None
    assert stop["decision"] == "block"
    assert "are you there?" in stop["reason"]
    assert set(stop) == {"decision", "reason"}
    assert await state(hub, beta) == "busy"
    # The continuation's own stop: even with a new DM, the hook lets it stop.
    await alpha.send("@lap-beta", "and another")
    assert await said(beta, "claude", "stop", {**turn, "stop_hook_active": True}) is None
    assert await state(hub, beta) == "idle"
    # Told once: the next stop without the flag is not kept going by the same item twice.
    again = await said(beta, "claude", "stop", turn)
    assert again is not None
    assert "and another" in again["reason"]
    assert await said(beta, "claude", "stop", turn) is None
    gemini = await said(beta, "gemini", "stop", {"session_id": "g"})
    assert gemini is not None
    assert gemini["decision"] == "deny"


async def test_the_waiter_returns_on_a_dm_and_204s_when_nothing_arrives(
    alpha: AgentClient, beta: AgentClient
) -> None:
    params = {"session_id": "w", "wait": 0.2}
    quiet = await beta.get("/hooks/claude/wait", params=params)
    assert quiet.status_code == 204
    assert quiet.content == b""
    found: list[httpx.Response] = []

    async def waiting() -> None:
        found.append(await beta.get("/hooks/claude/wait", params={**params, "wait": 30}))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(waiting)
        await anyio.sleep(0.2)  # let the wait begin; it returns as soon as the DM commits
        await alpha.send("@lap-beta", "wake up")
    assert found[0].status_code == 200
    assert "wake up" in found[0].json()["text"]
    # Told by the waiter: neither it nor the prompt hook says it again.
    assert (await beta.get("/hooks/claude/wait", params=params)).status_code == 204
    assert await said(beta, "claude", "prompt", {"session_id": "w"}) is None
    woke = await said(beta, "claude", "wake", {"session_id": "w"})
    assert woke is None


async def test_notify_sets_idle(hub: InProcessHub, beta: AgentClient) -> None:
    notice = {"type": "agent-turn-complete", "thread-id": "t-1", "turn-id": "1"}
    assert await said(beta, "codex", "prompt", {"session_id": "t-1"}) is None
    assert await state(hub, beta) == "busy"
    assert await said(beta, "codex", "notify", notice) is None
    assert await state(hub, beta) == "idle"


async def test_a_private_channel_mention_reaches_nobody_else(
    alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    await alpha.create_channel("secret-ops", "private")
    await alpha.ok("POST", "/channels/secret-ops/invite", {"agent": "lap-beta"})
    await alpha.say("secret-ops", "@lap-beta @srv-gamma the keys rotate tonight")
    told = await said(beta, "claude", "prompt", {"session_id": "p"})
    assert told is not None
    assert "keys rotate" in str(told)
    assert await said(gamma, "claude", "prompt", {"session_id": "p"}) is None
    assert (await gamma.get("/hooks/claude/wait", params={"session_id": "p"})).status_code == 204


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/hooks/vim/prompt", {"session_id": "x"}, 404, "unknown_harness"),
        ("/hooks/claude/lunch", {"session_id": "x"}, 404, "unknown_hook_event"),
        ("/hooks/claude/prompt", {"prompt": "no session"}, 422, "invalid"),
        ("/hooks/claude/prompt", {"session_id": "  "}, 422, "session_required"),
        ("/hooks/claude/prompt", {"session_id": ""}, 422, "invalid"),
        ("/hooks/claude/prompt", {"session_id": 7}, 422, "invalid"),
        ("/hooks/claude/prompt", {"session_id": "x" * 201}, 422, "invalid"),
        ("/hooks/claude/prompt", [1, 2], 422, "invalid"),
    ],
)
async def test_bad_input_is_refused_and_writes_nothing(
    hub: InProcessHub,
    alpha: AgentClient,
    beta: AgentClient,
    path: str,
    body: Any,
    status: int,
    code: str,
) -> None:
    await alpha.send("@lap-beta", "hello")
    before = (hub.snapshot(), sessions(hub), await state(hub, beta))
    problem(await beta.post(path, body), status, code)
    assert (hub.snapshot(), sessions(hub), await state(hub, beta)) == before


async def test_malformed_json_and_a_wait_without_session(
    hub: InProcessHub, beta: AgentClient
) -> None:
    before = (hub.snapshot(), sessions(hub))
    bad = await beta.post(
        "/hooks/claude/prompt", content=b"{not json", headers={"content-type": "application/json"}
    )
    problem(bad, 400, "bad_json")
    problem(await beta.get("/hooks/claude/wait"), 422, "invalid")
    problem(await beta.get("/hooks/claude/wait", params={"session_id": "x", "wait": 51}), 422)
    assert (hub.snapshot(), sessions(hub)) == before


async def test_the_routes_are_documented(hub: InProcessHub) -> None:
    spec = (await hub.http.get("/openapi.json")).json()
    post = spec["paths"]["/api/v1/hooks/{harness}/{event}"]["post"]
    assert set(post["responses"]) >= {"200", "204", "404", "422"}
    assert "content" not in post["responses"]["204"]
    assert "/api/v1/hooks/{harness}/wait" in spec["paths"]
    assert "/api/v1/news" in spec["paths"]


async def test_sessions_unused_for_a_day_are_forgotten(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    await alpha.send("@lap-beta", "ping")
    assert await said(beta, "claude", "prompt", {"session_id": "old"}) is not None
    assert sessions(hub) == 1
    assert await hub.hub.notices.forget() == 0  # used just now
    a_day_on = datetime.now(UTC) + timedelta(days=1, seconds=1)
    assert await hub.hub.store.forget_sessions(a_day_on) == 1
    assert sessions(hub) == 0
