"""Private channels, secret channels and DMs exist only for their members: every read path
gives an outsider nothing of them — not content, not ids, not counts."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.clients import AgentClient, InProcessHub, problem

pytestmark = pytest.mark.anyio

WORD = "zebracorn"


@dataclass
class Hidden:
    """What the members posted where outsiders must not see it."""

    ids: dict[str, list[int]]  # place -> message ids (root first, then a reply)
    public_id: int


@pytest.fixture
async def hidden(hub: InProcessHub) -> Hidden:
    """alpha and beta share #ops (private), #vault (secret) and a DM; #town is public.
    Each hidden message mentions srv-gamma, the outsider."""
    alpha = await hub.agent("lap-alpha")
    beta = await hub.agent("lap-beta")
    await hub.agent("srv-gamma")
    ids: dict[str, list[int]] = {}
    for name, visibility in (("ops", "private"), ("vault", "secret")):
        await alpha.create_channel(name, visibility)
        await alpha.ok("POST", f"/channels/{name}/invite", {"agent": "lap-beta"})
        root = await alpha.say(name, f"{WORD} in {name} for @srv-gamma")
        reply = await beta.say(name, f"{WORD} reply in {name}", reply_to=root["id"])
        ids[name] = [root["id"], reply["id"]]
    dm = (await alpha.send("@lap-beta", f"{WORD} dm @srv-gamma"))["messages"][0]
    dm_reply = await beta.send("@lap-alpha", f"{WORD} dm reply", reply_to=dm["id"])
    ids["dm"] = [dm["id"], dm_reply["messages"][0]["id"]]
    await alpha.create_channel("town")
    public = await alpha.say("town", f"{WORD} in public")
    return Hidden(ids, public["id"])


@pytest.fixture
async def outsider(hub: InProcessHub, hidden: Hidden) -> AgentClient:
    return await hub.agent("srv-gamma")


async def test_members_do_see_everything(hub: InProcessHub, hidden: Hidden) -> None:
    """The control: the same paths do show hidden things to members."""
    beta = await hub.agent("lap-beta")
    names = {c["name"] for c in await beta.ok("GET", "/channels")}
    assert {"ops", "vault", "town"} <= names
    hits = {h["message"]["id"] for h in await beta.search(WORD)}
    assert hits == {hidden.public_id, *(i for ids in hidden.ids.values() for i in ids)}
    board = {c["channel"] for c in (await beta.board())["channels"]}
    assert {"ops", "vault", "@lap-alpha"} <= board
    for ids in hidden.ids.values():
        assert (await beta.ok("GET", f"/messages/{ids[1]}/thread"))["root"]["id"] == ids[0]


async def test_the_channel_list_omits_them(outsider: AgentClient) -> None:
    for params in ({}, {"include_archived": True}):
        listed = await outsider.ok("GET", "/channels", params=params)
        assert [c["name"] for c in listed] == ["town"]


async def test_reading_the_channels_is_refused(outsider: AgentClient) -> None:
    # A private channel admits it exists (so one can ask for an invite); a secret one and a
    # DM answer exactly as if they did not.
    problem(await outsider.get("/channels/ops"), 403, "not_a_member")
    problem(await outsider.get("/channels/ops/messages"), 403, "not_a_member")
    absent = problem(await outsider.get("/channels/nonexistent/messages"), 404)
    for path in (
        "/channels/vault",
        "/channels/vault/messages",
        "/channels/@lap-alpha/messages",
        "/channels/@lap-beta/messages",
    ):
        found = problem(await outsider.get(path), 404)
        assert found["code"] == absent["code"] == "channel_not_found"
    for path in ("/channels/dm:lap-alpha:lap-beta", "/channels/dm:lap-alpha:lap-beta/messages"):
        assert (await outsider.get(path)).status_code in (404, 422)


async def test_messages_by_id_and_threads_are_not_found(
    outsider: AgentClient, hidden: Hidden
) -> None:
    absent = problem(await outsider.get("/messages/99999"), 404)
    for ids in hidden.ids.values():
        for message_id in ids:
            for path in (f"/messages/{message_id}", f"/messages/{message_id}/thread"):
                found = problem(await outsider.get(path), 404)
                assert found["code"] == absent["code"] == "message_not_found"
                assert str(message_id) in found["detail"]


async def test_they_cannot_be_changed_either(
    hub: InProcessHub, outsider: AgentClient, hidden: Hidden
) -> None:
    before = hub.snapshot()
    for ids in hidden.ids.values():
        problem(
            await outsider.patch(f"/messages/{ids[0]}", {"content": "x"}), 404, "message_not_found"
        )
        problem(await outsider.delete(f"/messages/{ids[0]}"), 404, "message_not_found")
        reply = {"content": "x", "reply_to": ids[0]}
        problem(await outsider.post("/channels/town/messages", reply), 422, "bad_reply_to")
    problem(await outsider.post("/channels/vault/messages", {"content": "x"}), 404)
    problem(await outsider.post("/channels/vault/join"), 404)
    problem(await outsider.post("/channels/vault/leave"), 404)
    problem(await outsider.post("/channels/vault/archive"), 404)
    assert hub.snapshot() == before


async def test_search_finds_only_what_the_outsider_may_read(
    outsider: AgentClient, hidden: Hidden
) -> None:
    for query in (WORD, f"{WORD[:4]}*"):
        assert [h["message"]["id"] for h in await outsider.search(query)] == [hidden.public_id]
    for query in ("reply", "dm", "ops", "vault", "srv"):
        assert await outsider.search(query) == [], query
    for author in ("lap-alpha", "lap-beta"):
        hits = await outsider.search(WORD, author=author)
        expected = [hidden.public_id] if author == "lap-alpha" else []
        assert [h["message"]["id"] for h in hits] == expected
    problem(
        await outsider.get("/search", params={"q": WORD, "channel": "ops"}), 403, "not_a_member"
    )
    for channel in ("vault", "#vault", "@lap-alpha"):
        response = await outsider.get("/search", params={"q": WORD, "channel": channel})
        problem(response, 404, "channel_not_found")


async def test_the_board_and_inbox_hold_nothing_of_them(outsider: AgentClient) -> None:
    board = await outsider.board()
    assert board["channels"] == []
    assert (board["inbox"]["items"], board["inbox"]["unacked"]) == ([], 0)
    inbox = await outsider.inbox(include_acked=True)
    assert (inbox["items"], inbox["unacked"]) == ([], 0)


async def test_leaving_a_private_channel_closes_it(hub: InProcessHub, hidden: Hidden) -> None:
    beta = await hub.agent("lap-beta")
    await beta.ok("POST", "/channels/vault/leave")
    problem(await beta.get("/channels/vault/messages"), 404, "channel_not_found")
    problem(await beta.get(f"/messages/{hidden.ids['vault'][0]}"), 404, "message_not_found")
    hits = {h["message"]["id"] for h in await beta.search(WORD)}
    assert not hits & set(hidden.ids["vault"])
    assert "vault" not in {c["channel"] for c in (await beta.board())["channels"]}
