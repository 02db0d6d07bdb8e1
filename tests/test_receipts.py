"""Delivery and read receipts on a real server: an inbox item that reaches its recipient (on
its live stream, through a wait or a peek) tells the sender ``inbox.delivered`` once; the
recipient's ack tells it ``inbox.read``."""

from __future__ import annotations

import time

import anyio
import pytest

from tests.clients import AgentClient, Json
from tests.realtime import LiveAgents, unique
from tests.sse import Event, EventStream, open_stream

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


def receipt(event: Event) -> tuple[str, str, list[int]]:
    return event.type, event.payload["by"], event.payload["message_ids"]


async def dm(sender: AgentClient, recipient: AgentClient, content: str) -> int:
    """Send a DM; return the message id."""
    result = await sender.send(f"@{recipient.name}", content)
    message_id: int = result["messages"][0]["id"]
    return message_id


async def nothing_more(stream: EventStream, owner: AgentClient, other: AgentClient) -> None:
    """Assert the next event on ``owner``'s inbox stream is a fresh item from ``other`` (sent
    now): no receipt came twice or late."""
    await other.send(f"@{owner.name}", "sentinel")
    event = await stream.expect()
    assert (event.type, event.payload["from"]) == ("inbox.item", other.name), event


async def test_delivery_on_the_live_stream_then_the_ack_reach_the_sender(
    realtime: LiveAgents,
) -> None:
    sender = await realtime.agent("lap-sender")
    recipient = await realtime.agent("srv-recipient")
    async with (
        open_stream(sender, types="inbox") as outbox,
        open_stream(recipient, types="inbox") as inbox,
    ):
        message_id = await dm(sender, recipient, "did you get this?")
        item = await inbox.expect()
        assert item.type == "inbox.item"
        assert item.payload["message_id"] == message_id
        assert (item.payload["kind"], item.payload["from"]) == ("dm", sender.name)
        delivered = await outbox.expect()
        assert receipt(delivered) == ("inbox.delivered", recipient.name, [message_id])

        peeked = (await recipient.inbox())["items"]
        assert [i["id"] for i in peeked] == [item.payload["item_id"]]
        assert peeked[0]["delivered_at"] is not None  # delivered by the stream, before this peek
        assert peeked[0]["acked_at"] is None

        await recipient.ok("POST", "/inbox/ack", {"ids": [item.payload["item_id"]]})
        acked = await inbox.expect()
        assert (acked.type, acked.payload["item_ids"]) == ("inbox.acked", [peeked[0]["id"]])
        read = await outbox.expect()
        assert receipt(read) == ("inbox.read", recipient.name, [message_id])

        again = await recipient.ok("POST", "/inbox/ack", {"ids": [item.payload["item_id"]]})
        assert again["acked"] == 0
        await nothing_more(outbox, sender, recipient)


async def test_a_peek_delivers_and_each_sender_hears_about_its_own_messages(
    realtime: LiveAgents,
) -> None:
    first = await realtime.agent("lap-first")
    second = await realtime.agent("lap-second")
    recipient = await realtime.agent("srv-recipient")
    channel = unique("tech-receipts")
    await recipient.say(channel, "here")
    async with (
        open_stream(first, types="inbox") as first_box,
        open_stream(second, types="inbox") as second_box,
    ):
        ones = [
            await dm(first, recipient, "one"),
            (await first.say(channel, f"@{recipient.name} two"))["id"],
        ]
        twos = [await dm(second, recipient, "three")]
        peek = await recipient.inbox()
        assert [i["message"]["id"] for i in peek["items"]] == ones + twos
        assert all(i["delivered_at"] is not None for i in peek["items"])
        assert receipt(await first_box.expect()) == ("inbox.delivered", recipient.name, ones)
        assert receipt(await second_box.expect()) == ("inbox.delivered", recipient.name, twos)

        assert await recipient.inbox() == peek  # a second peek delivers nothing new
        await recipient.ok("POST", "/inbox/ack", {"up_to": peek["items"][-1]["id"]})
        assert receipt(await first_box.expect()) == ("inbox.read", recipient.name, ones)
        assert receipt(await second_box.expect()) == ("inbox.read", recipient.name, twos)
        await nothing_more(first_box, first, recipient)
        await nothing_more(second_box, second, recipient)


async def test_a_wait_that_returns_an_item_delivers_it(realtime: LiveAgents) -> None:
    sender = await realtime.agent("lap-sender")
    recipient = await realtime.agent("srv-recipient")
    cursor = (await recipient.inbox())["cursor"]
    answer: Json = {}

    async def wait() -> None:
        started = time.monotonic()
        answer.update(await recipient.inbox(after=cursor, wait=10))
        answer["elapsed"] = time.monotonic() - started

    async with open_stream(sender, types="inbox") as outbox:
        async with anyio.create_task_group() as tg:
            tg.start_soon(wait)
            message_id = await dm(sender, recipient, "are you there?")
        delivered = await outbox.expect()
    assert answer["elapsed"] < 2
    [item] = answer["items"]
    assert item["message"]["id"] == message_id
    assert item["delivered_at"] is not None
    assert receipt(delivered) == ("inbox.delivered", recipient.name, [message_id])
