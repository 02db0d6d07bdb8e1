"""@mentions: parsed by the server outside code, real agents only, one inbox item each, and
never for someone who cannot read the message."""

from __future__ import annotations

import pytest

from hubbub.core.mentions import parse_mentions
from tests.clients import AgentClient, InProcessHub

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("hi @lap-beta", ["lap-beta"]),
        ("@lap-beta, @srv-gamma and @lap-beta again", ["lap-beta", "srv-gamma"]),
        ("(@lap-beta) @srv-gamma: @lap-x.", ["lap-beta", "srv-gamma", "lap-x"]),
        ("see `@lap-beta` here", []),
        ("see ``code with ` and @lap-beta`` here", []),
        ("```\n@lap-beta\n```\nafter", []),
        ("~~~python\nx = '@lap-beta'\n~~~", []),
        ("```\nunclosed fence @lap-beta", []),
        ("`@lap-beta` but @srv-gamma", ["srv-gamma"]),
        ("mail me at me@lap-beta.com", []),
        ("a@lap-beta", []),
        ("@Lap-Beta shouts", ["lap-beta"]),  # names match in any case
        ("no at sign here", []),
        ("@@lap-beta", []),
    ],
)
def test_parse_mentions(content: str, expected: list[str]) -> None:
    assert parse_mentions(content) == expected


async def test_a_mentioned_agent_gets_one_inbox_item(
    alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    message = await alpha.say("general", "@lap-beta look, @lap-beta! also @srv-gamma")
    assert message["mentions"] == ["lap-beta", "srv-gamma"]
    for agent in (beta, gamma):
        [item] = (await agent.inbox())["items"]
        assert (item["kind"], item["message"]["id"]) == ("mention", message["id"])


async def test_unknown_names_are_not_mentions(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    before = hub.snapshot()
    message = await alpha.say("general", "ping @lap-nobody and @srv-ghost")
    assert message["mentions"] == []
    assert hub.snapshot()["inbox"] == before["inbox"]
    assert (await beta.inbox())["items"] == []


async def test_mentions_in_code_do_not_notify(alpha: AgentClient, beta: AgentClient) -> None:
    content = "run `notify @lap-beta`\n\n```sh\necho @lap-beta\n```\n"
    message = await alpha.say("general", content)
    assert message["mentions"] == []
    assert (await beta.inbox())["items"] == []


async def test_mentioning_yourself_does_nothing(alpha: AgentClient) -> None:
    message = await alpha.say("general", "note to @lap-alpha")
    assert message["mentions"] == []
    assert (await alpha.inbox())["items"] == []


async def test_no_inbox_item_for_who_cannot_read_the_channel(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    for name, visibility in (("ops", "private"), ("vault", "secret")):
        await alpha.create_channel(name, visibility)
        await alpha.ok("POST", f"/channels/{name}/invite", {"agent": "lap-beta"})
        await alpha.say(name, f"@lap-beta and @srv-gamma in {name}")
    assert [i["message"]["channel"] for i in (await beta.inbox())["items"]] == ["ops", "vault"]
    gamma_inbox = await gamma.inbox()
    assert (gamma_inbox["items"], gamma_inbox["unacked"]) == ([], 0)
    board = await gamma.board()
    assert (board["inbox"]["items"], board["inbox"]["unacked"]) == ([], 0)


async def test_a_dm_mentions_only_its_recipient(
    alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    await alpha.send("@lap-beta", "@lap-beta, tell @srv-gamma nothing")
    assert [i["kind"] for i in (await beta.inbox())["items"]] == ["dm"]
    assert (await gamma.inbox())["items"] == []


async def test_an_edit_notifies_only_newly_mentioned_agents(
    alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    message = await alpha.say("general", "hey @lap-beta")
    edited = await alpha.ok(
        "PATCH", f"/messages/{message['id']}", {"content": "hey @lap-beta and @srv-gamma"}
    )
    assert edited["mentions"] == ["lap-beta", "srv-gamma"]
    assert len((await beta.inbox())["items"]) == 1
    [item] = (await gamma.inbox())["items"]
    assert item["message"]["content"] == "hey @lap-beta and @srv-gamma"
