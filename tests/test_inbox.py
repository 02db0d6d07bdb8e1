"""The inbox (peek never consumes, ack is idempotent) and read state on the board."""

from __future__ import annotations

import pytest

from tests.clients import AgentClient, InProcessHub, Json, problem

pytestmark = pytest.mark.anyio


async def mention(author: AgentClient, who: str, times: int) -> list[int]:
    """Post ``times`` mentions of ``who``; return the message ids."""
    return [(await author.say("general", f"@{who} #{i}"))["id"] for i in range(times)]


def item_ids(inbox: Json) -> list[int]:
    return [item["id"] for item in inbox["items"]]


async def test_peeking_never_consumes(alpha: AgentClient, beta: AgentClient) -> None:
    await mention(alpha, "lap-beta", 3)
    first = await beta.inbox()
    second = await beta.inbox()
    assert first == second
    assert (len(first["items"]), first["unacked"], first["cursor"]) == (
        3,
        3,
        first["items"][-1]["id"],
    )
    assert all(item["acked_at"] is None for item in first["items"])


async def test_peek_pages_with_after_and_limit(alpha: AgentClient, beta: AgentClient) -> None:
    await mention(alpha, "lap-beta", 5)
    ids = item_ids(await beta.inbox())
    page = await beta.inbox(limit=2)
    assert (item_ids(page), page["cursor"], page["unacked"]) == (ids[:2], ids[1], 5)
    rest = await beta.inbox(after=page["cursor"])
    assert item_ids(rest) == ids[2:]
    end = await beta.inbox(after=ids[-1])
    assert (end["items"], end["cursor"]) == ([], ids[-1])
    problem(await beta.get("/inbox", params={"limit": 0}), 422, "invalid")
    problem(await beta.get("/inbox", params={"after": -1}), 422, "invalid")


async def test_ack_by_ids(alpha: AgentClient, beta: AgentClient) -> None:
    await mention(alpha, "lap-beta", 3)
    ids = item_ids(await beta.inbox())
    result = await beta.ok("POST", "/inbox/ack", {"ids": [ids[0], ids[2]]})
    assert result == {"acked": 2, "unacked": 1}
    assert item_ids(await beta.inbox()) == [ids[1]]
    everything = await beta.inbox(include_acked=True)
    assert item_ids(everything) == ids
    assert [item["acked_at"] is not None for item in everything["items"]] == [True, False, True]


async def test_ack_up_to(alpha: AgentClient, beta: AgentClient) -> None:
    await mention(alpha, "lap-beta", 4)
    ids = item_ids(await beta.inbox())
    assert await beta.ok("POST", "/inbox/ack", {"up_to": ids[2]}) == {"acked": 3, "unacked": 1}
    assert item_ids(await beta.inbox()) == [ids[3]]


async def test_ack_is_idempotent(hub: InProcessHub, alpha: AgentClient, beta: AgentClient) -> None:
    await mention(alpha, "lap-beta", 2)
    ids = item_ids(await beta.inbox())
    assert await beta.ok("POST", "/inbox/ack", {"ids": ids}) == {"acked": 2, "unacked": 0}
    before = hub.snapshot()
    assert await beta.ok("POST", "/inbox/ack", {"ids": ids}) == {"acked": 0, "unacked": 0}
    assert await beta.ok("POST", "/inbox/ack", {"up_to": ids[-1]}) == {"acked": 0, "unacked": 0}
    assert hub.snapshot() == before


async def test_an_agent_cannot_ack_someone_elses_items(
    alpha: AgentClient, beta: AgentClient, gamma: AgentClient
) -> None:
    await mention(alpha, "lap-beta", 2)
    ids = item_ids(await beta.inbox())
    assert await gamma.ok("POST", "/inbox/ack", {"ids": ids}) == {"acked": 0, "unacked": 0}
    assert await gamma.ok("POST", "/inbox/ack", {"up_to": ids[-1]}) == {"acked": 0, "unacked": 0}
    assert item_ids(await beta.inbox()) == ids


async def test_an_empty_ack_is_422(hub: InProcessHub, beta: AgentClient) -> None:
    before = hub.snapshot()
    problem(await beta.post("/inbox/ack", {}), 422, "invalid")
    problem(await beta.post("/inbox/ack", {"ids": []}), 422, "invalid")
    problem(await beta.post("/inbox/ack", {"up_to": -1}), 422, "invalid")
    assert hub.snapshot() == before


def unread(board: Json) -> dict[str, tuple[int, int]]:
    """channel -> (unread, read cursor) from a board."""
    return {c["channel"]: (c["unread"], c["read_cursor"]) for c in board["channels"]}


async def test_the_board_counts_unread_per_channel(alpha: AgentClient, beta: AgentClient) -> None:
    await alpha.create_channel("design")
    await beta.ok("POST", "/channels/design/join")
    ids = [(await alpha.say("design", f"d{i}"))["id"] for i in range(3)]
    await beta.say("general", "mine")
    board = await beta.board()
    assert board["me"]["name"] == "lap-beta"
    assert unread(board)["design"] == (3, 0)
    assert unread(board)["general"] == (0, board["channels"][0]["last_message_id"])
    assert unread(await alpha.board())["design"] == (0, ids[-1])  # posting reads up to itself

    marked = await beta.ok("PUT", "/channels/design/cursor", {"seq": ids[1]})
    assert marked == {"channel": "design", "seq": ids[1]}
    assert unread(await beta.board())["design"] == (1, ids[1])

    # The cursor never goes back, and never past the channel's last message.
    assert (await beta.ok("PUT", "/channels/design/cursor", {"seq": ids[0]}))["seq"] == ids[1]
    assert (await beta.ok("PUT", "/channels/design/cursor", {"seq": 10_000}))["seq"] == ids[2]
    assert unread(await beta.board())["design"] == (0, ids[2])

    await alpha.say("design", "new")
    assert unread(await beta.board())["design"] == (1, ids[2])


async def test_marking_a_public_channel_read_joins_it(
    alpha: AgentClient, beta: AgentClient
) -> None:
    posted = await alpha.say("general", "hello")
    assert "general" not in unread(await beta.board())
    await beta.ok("PUT", "/channels/general/cursor", {"seq": posted["id"]})
    assert unread(await beta.board())["general"] == (0, posted["id"])


async def test_bad_cursor_requests(hub: InProcessHub, alpha: AgentClient) -> None:
    await alpha.create_channel("vault", "secret")
    other = await hub.agent("lap-beta")
    before = hub.snapshot()
    problem(await other.put("/channels/vault/cursor", {"seq": 1}), 404, "channel_not_found")
    problem(await other.put("/channels/nowhere/cursor", {"seq": 1}), 404, "channel_not_found")
    problem(await alpha.put("/channels/vault/cursor", {"seq": -1}), 422, "invalid")
    assert hub.snapshot() == before


async def test_the_board_shows_dms_as_at_peer_with_the_inbox_head(
    alpha: AgentClient, beta: AgentClient
) -> None:
    await alpha.send("@lap-beta", "one")
    await alpha.send("@lap-beta", "two")
    board = await beta.board()
    assert unread(board) == {"@lap-alpha": (2, 0)}
    assert [c["kind"] for c in board["channels"]] == ["dm"]
    assert [i["message"]["content"] for i in board["inbox"]["items"]] == ["one", "two"]
    assert board["inbox"]["unacked"] == 2
    assert unread(await alpha.board())["@lap-beta"][0] == 0


async def test_archived_channels_leave_the_board(alpha: AgentClient, beta: AgentClient) -> None:
    await alpha.create_channel("old")
    await beta.ok("POST", "/channels/old/join")
    await alpha.say("old", "bye")
    assert "old" in unread(await beta.board())
    await alpha.ok("POST", "/channels/old/archive")
    assert "old" not in unread(await beta.board())
