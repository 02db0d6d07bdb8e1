"""Team status: member lists carry each member's status, label, last activity and status in
that channel (``roster``, beside the names in ``members``); an agent sets its status per
channel; the board shows its channels' members, bounded. Through REST and the SDK on both
engines, the MCP tools and the CLI; bad input is refused and writes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hubbub.core.errors import Forbidden, InvalidInput
from hubbub.core.models import Member
from tests.agent_tools import acting, sdk
from tests.clients import API, AgentClient, InProcessHub, problem
from tests.live import Cli, LiveHub, cli_of, ok_json
from tests.realtime import unique

pytestmark = pytest.mark.anyio

MEMBER_FIELDS = {"name", "kind", "label", "status", "note", "channel_status", "last_seen_at"}


def roster_of(channel: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A channel's roster by member name, checked to match its ``members``."""
    roster = channel["roster"]
    assert [m["name"] for m in roster] == channel["members"]
    assert all(m.keys() == MEMBER_FIELDS for m in roster)
    return {m["name"]: m for m in roster}


async def test_join_and_get_return_members_with_their_status(
    alpha: AgentClient, beta: AgentClient
) -> None:
    channel = unique("tech-team")
    await alpha.say(channel, "hello")
    await alpha.patch("/me", {"label": "builder", "status": "busy", "status_note": "migrating"})
    joined = await beta.ok("POST", f"/channels/{channel}/join")
    assert joined["members"] == sorted([alpha.name, beta.name])
    members = roster_of(joined)
    assert members[alpha.name] | {"last_seen_at": None} == {
        "name": alpha.name,
        "kind": "agent",
        "label": "builder",
        "status": "busy",
        "note": "migrating",
        "channel_status": None,
        "last_seen_at": None,
    }
    assert members[alpha.name]["last_seen_at"] is not None
    assert roster_of(await alpha.ok("GET", f"/channels/{channel}")) == members
    listed = await alpha.ok("GET", "/channels")
    assert all(c["roster"] is None for c in listed)


async def test_a_status_per_channel_is_set_seen_and_cleared(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    one, two = unique("tech-one"), unique("tech-two")
    for channel in (one, two):
        await alpha.say(channel, "hi")
        await beta.ok("POST", f"/channels/{channel}/join")
    start = await hub.hub.store.last_event_seq()
    set_ = await alpha.ok("PUT", f"/channels/{one}/status", {"status": "working on the parser"})
    assert (set_["name"], set_["channel_status"]) == (alpha.name, "working on the parser")
    assert roster_of(await beta.ok("GET", f"/channels/{one}"))[alpha.name]["channel_status"] == (
        "working on the parser"
    )
    assert roster_of(await beta.ok("GET", f"/channels/{two}"))[alpha.name]["channel_status"] is None
    assert (await alpha.ok("GET", "/me"))["status_note"] is None  # the global one stays
    log = await hub.hub.store.events_after(start, 100)
    changed = [e for e in log if e.type == "member.status.channel"]
    assert [e.payload for e in changed] == [
        {
            "channel": one,
            "agent": alpha.name,
            "status": "working on the parser",
            "visibility": "visible",
        }
    ]
    # Setting the same again announces nothing; blank and null clear it.
    again = await hub.hub.store.last_event_seq()
    await alpha.ok("PUT", f"/channels/{one}/status", {"status": "working on the parser"})
    assert await hub.hub.store.events_after(again, 100) == []
    cleared = await alpha.ok("PUT", f"/channels/{one}/status", {"status": "   "})
    assert cleared["channel_status"] is None
    await alpha.ok("PUT", f"/channels/{one}/status", {"status": "back"})
    assert (await alpha.ok("PUT", f"/channels/{one}/status", {"status": None}))[
        "channel_status"
    ] is None


async def test_bad_channel_statuses_are_refused_and_write_nothing(
    hub: InProcessHub, alpha: AgentClient, beta: AgentClient
) -> None:
    channel = unique("tech-bad")
    await alpha.say(channel, "hi")
    await alpha.ok("PUT", f"/channels/{channel}/status", {"status": "steady"})
    private, secret = unique("tech-private"), unique("tech-secret")
    await alpha.create_channel(private, "private")
    await alpha.create_channel(secret, "secret")
    before = hub.snapshot()
    events = await hub.hub.store.last_event_seq()
    path = f"/channels/{channel}/status"
    problem(await alpha.put(path, {"status": "x" * 201}), 422, "status_too_long")
    for text in ("line\nbreak", "tab\there", "bell\x07", "nul\x00"):
        response = await alpha.put(path, {"status": text})
        assert problem(response, 422)["code"] in ("bad_status", "invalid")
    problem(await alpha.put(path, {"status": 3}), 422)
    problem(await alpha.put(path, {}), 422)
    problem(await alpha.put(path, {"status": "x", "extra": 1}), 422)
    problem(await beta.put(path, {"status": "lurking"}), 403, "not_a_member")
    problem(await alpha.put("/channels/no-such-channel/status", {"status": "x"}), 404)
    problem(await beta.put(f"/channels/{private}/status", {"status": "x"}), 403, "not_a_member")
    problem(await beta.put(f"/channels/{secret}/status", {"status": "x"}), 404)
    assert hub.snapshot() == before
    assert await hub.hub.store.last_event_seq() == events
    assert (
        roster_of(await alpha.ok("GET", f"/channels/{channel}"))[alpha.name]["channel_status"]
        == "steady"
    )


async def test_a_ghost_is_left_out_of_others_rosters(alpha: AgentClient, beta: AgentClient) -> None:
    channel = unique("tech-ghost")
    await alpha.say(channel, "hi")
    await beta.ok("POST", f"/channels/{channel}/join")
    await beta.patch("/me", {"visibility": "ghost"})
    assert beta.name not in roster_of(await alpha.ok("GET", f"/channels/{channel}"))
    assert beta.name in roster_of(await beta.ok("GET", f"/channels/{channel}"))


async def test_the_board_lists_members_of_each_channel_bounded(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    small, big = unique("tech-small"), unique("tech-big")
    await alpha.say(small, "hi")
    await alpha.say(big, "hi")
    peer = await hub.agent("srv-peer")
    await peer.ok("POST", f"/channels/{small}/join")
    await peer.ok("PUT", f"/channels/{small}/status", {"status": "reviewing"})
    for n in range(10):
        other = await hub.agent(f"srv-crowd{n}")
        await other.ok("POST", f"/channels/{big}/join")
    board = await alpha.board()
    lines = {line["channel"]: line for line in board["channels"]}
    assert [m["name"] for m in lines[small]["roster"]] == [peer.name]
    assert lines[small]["roster"][0]["channel_status"] == "reviewing"
    assert lines[small]["roster_more"] == 0
    assert len(lines[big]["roster"]) == 8
    assert lines[big]["roster_more"] == 2
    assert alpha.name not in [m["name"] for m in lines[big]["roster"]]


async def test_the_sdk_sets_and_reads_team_status(hub: InProcessHub) -> None:
    channel = unique("tech-sdk")
    async with sdk(hub, "lap-alpha") as alpha, sdk(hub, "lap-beta") as beta:
        await alpha.post(channel, "hi")
        joined = await beta.join(channel)
        assert [m.name for m in joined.roster or []] == ["lap-alpha", "lap-beta"]
        made = await beta.set_channel_status(channel, "writing tests")
        assert isinstance(made, Member)
        assert made.channel_status == "writing tests"
        shown = await alpha.channel(channel)
        assert {m.name: m.channel_status for m in shown.roster or []} == {
            "lap-alpha": None,
            "lap-beta": "writing tests",
        }
        board = await alpha.board()
        [line] = [s for s in board.channels if s.channel == channel]
        assert [(m.name, m.channel_status) for m in line.roster] == [("lap-beta", "writing tests")]
        with pytest.raises(InvalidInput) as refused:
            await beta.set_channel_status(channel, "x" * 300)
        assert refused.value.code == "status_too_long"
        outsider = unique("tech-other")
        await alpha.post(outsider, "hi")
        with pytest.raises(Forbidden):
            await beta.set_channel_status(outsider, "sneaking")
        assert (await beta.set_channel_status(channel, None)).channel_status is None


async def test_the_tools_set_a_channel_status_and_the_board_shows_it(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    channel = unique("tech-tools")
    await alpha.say(channel, "hi")
    async with acting(hub, "lap-beta") as beta:
        await beta.ctx.client.join(channel)
        out = await beta.ok("hubbub_set_status", channel=channel, note="fixing <<<the>>> build")
        assert out["channel_status"] is not None
        assert out["status"] == "active"
        refused = await beta("hubbub_set_status", channel=channel, note="x" * 300)
        assert refused.is_error
        both = await beta("hubbub_set_status", channel=channel, status="busy", note="x")
        assert both.is_error
        global_ = await beta.ok("hubbub_set_status", status="busy", note="deep work")
        assert (global_["status"], global_["note"]) == ("busy", "deep work")
    async with acting(hub, "lap-alpha") as caller:
        board = await caller("hubbub_board")
        assert not board.is_error
        assert board.structured is not None
        [line] = [t for t in board.structured["team"] if t["channel"] == f"#{channel}"]
        assert line["members"] == ["lap-beta (busy: fixing < < <the> > > build)"]
        assert f"#{channel}: lap-beta (busy: fixing" in board.text
        assert "<<<" not in board.text.split("inbox:")[0]


async def test_the_dashboard_names_members_and_their_status_escaped(
    hub: InProcessHub, alpha: AgentClient
) -> None:
    channel = unique("tech-dash")
    await alpha.say(channel, "hi")
    await alpha.ok("PUT", f"/channels/{channel}/status", {"status": 'fixing "quotes" <b>'})
    user = {"name": "ann", "password": "correct horse battery"}
    made = await hub.http.post(f"{API}/admin/users", json=user, headers=hub.admin_headers)
    assert made.status_code == 201, made.text
    link = await hub.http.post(f"{API}/admin/users/ann/login-link", headers=hub.admin_headers)
    assert link.status_code == 201, link.text
    transport = httpx.ASGITransport(app=hub.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as browser:
        await browser.get(link.json()["path"])
        page = await browser.get(f"/c/{channel}")
    assert page.status_code == 200, page.text
    assert f"{alpha.name} (active: fixing &#34;quotes&#34; &lt;b&gt;)" in page.text
    assert "<b>)" not in page.text


@pytest.fixture(scope="module")
def cli(live_hub: LiveHub) -> Cli:
    return cli_of(live_hub)


@pytest.mark.e2e
def test_the_cli_sets_a_channel_status_and_lists_members(cli: Cli) -> None:
    channel = unique("tech-cli")
    me = ok_json(cli("post", channel, "hi", "--json"))["author"]
    member = ok_json(cli("status", "--channel", channel, "triaging bugs", "--json"))
    assert (member["name"], member["channel_status"]) == (me, "triaging bugs")
    shown = ok_json(cli("channels", "members", channel, "--json"))
    assert {m["name"]: m["channel_status"] for m in shown["roster"]} == {me: "triaging bugs"}
    table = cli("channels", "members", channel)
    assert table.returncode == 0, table.stderr
    assert "triaging bugs" in table.stdout
    assert me in table.stdout
    human = cli("status", "--channel", channel, "")
    assert human.returncode == 0, human.stderr
    assert "cleared" in human.stdout
    too_long = cli("status", "--channel", channel, "x" * 300)
    assert too_long.returncode != 0
    assert "200" in too_long.stderr
    bad = cli("status", "sleepy")
    assert bad.returncode != 0
    assert ok_json(cli("status", "busy", "--json"))["status"] == "busy"


@pytest.mark.e2e
def test_hubbub_board_shows_who_does_what_in_each_channel(cli: Cli) -> None:
    channel = unique("tech-board")
    mate = unique("lap-mate")
    assert cli("post", channel, "here", "--agent", mate).returncode == 0
    set_status = cli("status", "--channel", channel, "writing [the] parser", "--agent", mate)
    assert set_status.returncode == 0, set_status.stderr
    me = ok_json(cli("post", channel, "hello", "--json"))["author"]
    shown = ok_json(cli("board", "--json"))
    line = next(c for c in shown["channels"] if c["channel"] == channel)
    assert {m["name"]: m["channel_status"] for m in line["roster"]} == {
        mate: "writing [the] parser"
    }
    assert shown["me"]["name"] == me
    human = cli("board")
    assert human.returncode == 0, human.stderr
    assert f"#{channel}" in human.stdout
    assert f"@{mate} active  writing [the] parser" in human.stdout  # markup shown as text
