"""The event stream (``GET /api/v1/events``) on a real server: every event of a burst in order,
replay and resume with ``Last-Event-ID``, filters, and who may see what."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import pytest

from tests.clients import API, AgentClient, Json, problem
from tests.realtime import LiveAgents, burst, unique
from tests.sse import Event, of_type, open_stream, posted

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]


def assert_in_order(events: list[Event]) -> None:
    """Strictly increasing sequence numbers (no duplicate, nothing out of order), and each
    event's SSE ``id`` and ``event`` match its envelope."""
    seqs = [event.seq for event in events]
    assert seqs == sorted(set(seqs)), seqs
    for event in events:
        assert event.body.keys() == {"seq", "type", "at", "data"}, event
        assert (event.body["seq"], event.body["type"]) == (event.seq, event.type)


def contents(events: list[Event]) -> list[str]:
    """The contents of the messages posted among ``events``."""
    return [message["content"] for message in posted(events)]


def about(agent: AgentClient) -> Callable[[Event], bool]:
    """A predicate: an ``agent.updated`` event about ``agent``."""
    return lambda event: event.type == "agent.updated" and event.payload["agent"] == agent.name


async def cursor_now(agent: AgentClient) -> int:
    """A sequence number at least as new as every event committed so far: the seq of an
    ``agent.updated`` that ``agent`` causes now."""
    async with open_stream(agent, types="agent.updated") as stream:
        await agent.patch("/me", {"label": unique("mark")})
        seen = await stream.until(lambda e: e.payload["agent"] == agent.name)
    return seen[-1].seq


# Bursts, replay and resume


async def test_a_1000_message_burst_arrives_in_order_live_and_again_in_replay(
    realtime: LiveAgents,
) -> None:
    author = await realtime.agent("lap-burster")
    reader = await realtime.agent("lap-reader")
    channel = unique("tech-burst")
    first = await author.say(channel, "before the burst")
    sent: list[Json] = []

    async def post() -> None:
        sent.extend(await burst(author, channel, 1000))

    async with open_stream(reader, channels=channel) as stream, anyio.create_task_group() as tg:
        tg.start_soon(post)
        live = await stream.take(1000, within=45)
    assert_in_order(live)
    assert contents(live) == [f"m{i:04d}" for i in range(1000)]
    assert posted(live) == sent  # the messages exactly as their posts were answered
    history = await author.messages(channel, after=first["id"], limit=500)
    history += await author.messages(channel, after=history[-1]["id"], limit=500)
    assert [m["id"] for m in posted(live)] == [m["id"] for m in history]

    # The same events again from the durable log (more than one replay page).
    async with open_stream(reader, channels=channel, after=live[0].seq - 1) as stream:
        replayed = await stream.take(1000, within=30)
    assert replayed == live


@pytest.mark.timeout(300)  # 400 posts one after another: slow on a busy machine
async def test_a_reader_cut_off_mid_burst_resumes_with_exactly_the_missing_events(
    realtime: LiveAgents,
) -> None:
    author = await realtime.agent("lap-burster")
    reader = await realtime.agent("lap-reader")
    channel = unique("tech-resume")
    await author.say(channel, "start")
    start = await cursor_now(reader)
    cut = anyio.Event()
    control: list[Event] = []
    first_part: list[Event] = []

    async def post() -> None:
        await burst(author, channel, 200, prefix="a")
        await cut.wait()  # half the burst is posted only after the reader has gone
        await burst(author, channel, 200, prefix="b")

    async def watch() -> None:
        async with open_stream(reader, channels=channel, after=start) as stream:
            control.extend(await stream.take(400, within=240))

    async with anyio.create_task_group() as tg:
        async with open_stream(reader, channels=channel, after=start) as stream:
            tg.start_soon(post)
            tg.start_soon(watch)
            first_part = await stream.take(100, within=120)
        cut.set()
    last = first_part[-1].seq
    assert contents(first_part)[-1] == "a0099"

    async with open_stream(reader, channels=channel, last_event_id=last) as stream:
        resumed = await stream.take(300, within=120)
        await author.say(channel, "end")
        after_all = await stream.expect()
    assert first_part + resumed == control
    assert_in_order(control)
    expected = [f"a{i:04d}" for i in range(200)] + [f"b{i:04d}" for i in range(200)]
    assert contents(control) == expected
    assert contents([after_all]) == ["end"]  # nothing twice, nothing more

    # ``after`` resumes the same way; ``Last-Event-ID`` wins when both are given.
    async with open_stream(reader, channels=channel, after=last) as stream:
        assert await stream.take(300, within=120) == resumed
    async with open_stream(reader, channels=channel, after=start, last_event_id=last) as stream:
        assert await stream.expect() == resumed[0]


async def test_without_a_cursor_the_stream_starts_from_now(realtime: LiveAgents) -> None:
    author = await realtime.agent("lap-author")
    reader = await realtime.agent("lap-reader")
    channel = unique("tech-now")
    await author.say(channel, "old news")
    async with open_stream(reader, channels=channel) as stream:
        await author.say(channel, "fresh")
        first = await stream.expect()
    assert (first.type, first.payload["message"]["content"]) == ("message.posted", "fresh")


# Filters


async def test_channels_and_types_narrow_the_stream(realtime: LiveAgents) -> None:
    author = await realtime.agent("lap-author")
    reader = await realtime.agent("lap-reader")
    one, two, three = (unique(f"tech-{n}") for n in ("one", "two", "three"))
    for channel in (one, two, three):
        await author.say(channel, f"hello {channel}")
    await reader.ok("POST", f"/channels/{one}/join")
    async with (
        open_stream(reader, channels=f"{one},#{two}", types="message") as messages,
        open_stream(reader, types="inbox.item") as inbox,
    ):
        await author.say(three, f"@{reader.name} elsewhere")
        edited = await author.say(one, "to edit")
        await author.patch(f"/messages/{edited['id']}", {"content": "edited"})
        await author.delete(f"/messages/{edited['id']}")
        await author.ok("POST", f"/channels/{two}/join")  # already a member: no event
        await author.say(two, f"@{reader.name} last")
        seen = await messages.until(lambda e: e.type == "message.posted" and two in e.data)
        items = await inbox.take(2, kind="inbox.item")
    assert [(e.type, e.payload["message"]["content"]) for e in seen] == [
        ("message.posted", "to edit"),
        ("message.edited", "edited"),
        ("message.deleted", ""),
        ("message.posted", f"@{reader.name} last"),
    ]
    assert [e.type for e in items] == ["inbox.item", "inbox.item"]
    assert [e.payload["kind"] for e in items] == ["mention", "mention"]
    assert all(e.payload["from"] == author.name for e in items)


async def test_bad_stream_requests_are_refused_with_a_problem(realtime: LiveAgents) -> None:
    owner = await realtime.agent("lap-owner")
    outsider = await realtime.agent("srv-outsider")
    private, secret = unique("priv"), unique("secret")
    await owner.create_channel(private, "private")
    await owner.create_channel(secret, "secret")
    http = realtime.http
    url = API + "/events"
    problem(await http.get(url), 401, "unauthorized")
    cases: list[tuple[dict[str, str], dict[str, str], int, str]] = [
        ({"channels": private}, {}, 403, "not_a_member"),
        ({"channels": secret}, {}, 404, "channel_not_found"),
        ({"channels": unique("nowhere")}, {}, 404, "channel_not_found"),
        ({"types": "message posted!"}, {}, 422, "bad_filter"),
        ({"after": "-1"}, {}, 422, "invalid"),
        ({"nonsense": "1"}, {}, 422, "invalid"),
        ({}, {"Last-Event-ID": "seven"}, 422, "invalid"),
    ]
    for params, headers, status, code in cases:
        response = await http.get(url, params=params, headers={**outsider.headers, **headers})
        problem(response, status, code)


# Who sees what


async def test_non_members_never_see_private_secret_or_dm_events_and_members_do(
    realtime: LiveAgents,
) -> None:
    owner = await realtime.agent("lap-owner")
    member = await realtime.agent("lap-member")
    outsider = await realtime.agent("srv-outsider")
    private, secret, public = unique("priv"), unique("secret"), unique("pub")
    await owner.create_channel(private, "private")
    await owner.create_channel(secret, "secret")
    await owner.create_channel(public)
    for channel in (private, secret):
        await owner.ok("POST", f"/channels/{channel}/invite", {"agent": member.name})
    for agent in (member, outsider):
        await agent.ok("POST", f"/channels/{public}/join")
    start = await cursor_now(owner)
    dm = "dm:" + ":".join(sorted([owner.name, member.name]))

    def sentinel(event: Event) -> bool:
        return event.type == "message.posted" and "the end" in event.data

    async with open_stream(outsider) as outside, open_stream(member) as inside:
        note = await owner.say(private, "private plans")
        await owner.patch(f"/messages/{note['id']}", {"content": "private plans, edited"})
        hush = await owner.say(secret, f"secret plans for @{member.name}")
        await owner.delete(f"/messages/{hush['id']}")
        await owner.send(f"@{member.name}", "a direct word")
        await owner.ok("POST", f"/channels/{private}/archive")
        await owner.say(public, "the end")
        outside_seen = await outside.until(sentinel)
        inside_seen = await inside.until(sentinel)
    async with open_stream(outsider, after=start) as replay:
        replayed = await replay.until(sentinel)

    for seen in (outside_seen, replayed):
        for event in seen:
            for secret_word in (private, secret, dm, "plans", "direct word"):
                assert secret_word not in event.data, event
            assert not event.type.startswith("inbox."), event
    assert [e.type for e in of_type(replayed, "message.posted")] == ["message.posted"]

    def where(event: Event) -> str:
        payload = event.payload
        return str(payload["message"]["channel"] if "message" in payload else payload["channel"])

    inside_kinds = [
        (e.type, where(e)) for e in inside_seen if e.type.startswith(("message.", "channel."))
    ]
    assert inside_kinds == [
        ("message.posted", private),
        ("message.edited", private),
        ("message.posted", secret),
        ("message.deleted", secret),
        ("channel.created", dm),  # the first send made the DM, with both as members
        ("message.posted", dm),
        ("channel.archived", private),
        ("message.posted", public),
    ]
    items = of_type(inside_seen, "inbox.item")
    assert [(i.payload["kind"], i.payload["from"]) for i in items] == [
        ("mention", owner.name),
        ("dm", owner.name),
    ]


async def test_the_stream_follows_membership_changes_as_they_happen(
    realtime: LiveAgents,
) -> None:
    owner = await realtime.agent("lap-owner")
    guest = await realtime.agent("srv-guest")
    private = unique("priv")
    await owner.create_channel(private, "private")
    async with open_stream(guest) as stream:
        await owner.say(private, "before the invite")
        await owner.ok("POST", f"/channels/{private}/invite", {"agent": guest.name})
        await owner.say(private, "while a member")
        await guest.ok("POST", f"/channels/{private}/leave")
        await owner.say(private, "after leaving")
        await guest.patch("/me", {"label": "done"})
        seen = await stream.until(about(guest))
    assert [(e.type, e.payload.get("agent")) for e in seen if e.type != "message.posted"] == [
        ("member.joined", guest.name),
        ("member.left", guest.name),
        ("agent.updated", guest.name),
    ]
    assert contents(seen) == ["while a member"]


async def test_agent_updates_reach_others_only_while_the_agent_is_visible(
    realtime: LiveAgents,
) -> None:
    shy = await realtime.agent("lap-shy")
    watcher = await realtime.agent("srv-watcher")
    changes: list[Json] = [
        {"label": "seen"},
        {"visibility": "hidden"},
        {"label": "unseen"},
        {"visibility": "ghost"},
        {"visibility": "visible"},
    ]
    async with (
        open_stream(watcher, types="agent.updated") as theirs,
        open_stream(shy, types="agent.updated") as own,
    ):
        for change in changes:
            await shy.patch("/me", change)
        mine = await own.take(len(changes), kind="agent.updated")
        seen = await theirs.until(lambda e: about(shy)(e) and e.payload["label"] == "unseen")
    assert all(about(shy)(e) for e in mine)
    assert [(e.payload["label"], e.payload["visibility"]) for e in mine] == [
        ("seen", "visible"),
        ("seen", "hidden"),
        ("unseen", "hidden"),
        ("unseen", "ghost"),
        ("unseen", "visible"),
    ]
    # The watcher saw the first change, then nothing until the agent was visible again.
    assert [e for e in seen if about(shy)(e)] == [mine[0], mine[-1]]


async def test_a_creator_sees_its_new_channel_created_and_members_see_it_archived(
    realtime: LiveAgents,
) -> None:
    creator = await realtime.agent("lap-creator")
    public, private = unique("pub"), unique("priv")
    async with open_stream(creator, types="channel") as stream:
        await creator.create_channel(public)
        await creator.create_channel(private, "private")
        await creator.ok("POST", f"/channels/{public}/archive")
        seen = await stream.until(lambda e: e.type == "channel.archived")
    assert [(e.type, e.payload["channel"]) for e in seen] == [
        ("channel.created", public),
        ("channel.created", private),
        ("channel.archived", public),
    ]


async def test_streams_need_a_key_and_an_agent(realtime: LiveAgents) -> None:
    agent = await realtime.agent("lap-anyone")
    no_agent = {"Authorization": agent.headers["Authorization"]}
    problem(await realtime.http.get(API + "/events", headers=no_agent), 422, "agent_required")
    bad_key = {**agent.headers, "Authorization": "Bearer hb_nope"}
    problem(await realtime.http.get(API + "/events", headers=bad_key), 401)


async def test_revoking_a_key_ends_the_streams_opened_with_it(realtime: LiveAgents) -> None:
    admin = {"Authorization": f"Bearer {realtime.hub.config()['admin_key']}"}
    machine = unique("box").replace("-", "")
    made = await realtime.http.post(API + "/admin/keys", json={"machine": machine}, headers=admin)
    assert made.status_code == 201, made.text
    realtime.keys[machine] = made.json()["key"]
    leaked = await realtime.agent_named(f"{machine}-agent")
    author = await realtime.agent("lap-author")
    channel = unique("tech-revoke")
    await leaked.say(channel, "hello")
    async with open_stream(leaked, channels=channel) as stream:
        await author.say(channel, "before")
        assert contents(await stream.until(lambda e: e.type == "message.posted")) == ["before"]
        revoked = await realtime.http.delete(
            f"{API}/admin/keys/{made.json()['info']['id']}", headers=admin
        )
        assert revoked.status_code == 200, revoked.text
        problem(await leaked.get("/me"), 401)
        await author.say(channel, "after the revocation")
        # Within the credential cache period (5 s) plus a margin, the stream must end.
        try:
            rest = await stream.rest(within=8)
        except TimeoutError:
            pytest.fail("the stream of a revoked key was still open 8 s after the revocation")
    assert "after the revocation" not in contents(rest)
