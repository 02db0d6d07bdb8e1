"""Every ``hubbub`` command against a real hub, as a subprocess: send, inbox and ack; search;
threads; channels; agents and status; the config; ``--json`` that parses everywhere, and a
human view that names what matters."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.live import Cli, LiveHub, cli_of, ok_json

pytestmark = pytest.mark.e2e

AGENT = "lap-myproj"  # machine ``lap`` + the working directory's name


@pytest.fixture(scope="module")
def cli(live_hub: LiveHub) -> Cli:
    """Run the CLI with the live hub's provisioned config."""
    return cli_of(live_hub)


Api = Callable[..., Any]


@pytest.fixture(scope="module")
def api(live_hub: LiveHub) -> Api:
    """Set the scene over HTTP, which is quicker than the CLI: ``api("POST", path, json=…)``
    as ``AGENT`` (or ``agent=``); returns the decoded answer."""
    key = live_hub.config()["key"]

    def call(method: str, path: str, *, agent: str = AGENT, **kwargs: Any) -> Any:
        response = live_hub.request(method, "/api/v1" + path, key=key, agent=agent, **kwargs)
        assert response.is_success, response.text
        return response.json()

    return call


def post(api: Api, channel: str, content: str, **fields: Any) -> Any:
    """A message posted over HTTP."""
    return api("POST", f"/channels/{channel}/messages", json={"content": content, **fields})


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def run_all(cli: Cli, jobs: dict[str, list[str]]) -> dict[str, subprocess.CompletedProcess[str]]:
    """Run independent commands side by side (each CLI start costs a fraction of a second)."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = {name: pool.submit(cli, *args) for name, args in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def test_send_inbox_and_ack_round_trip(cli: Cli, api: Api) -> None:
    peer = unique("lap-peer")
    api("GET", "/me", agent=peer)  # registered on first use
    word = unique("handoff")
    sent = ok_json(cli("send", f"@{peer}", f"take the {word}", "--json"))
    assert (sent["target"], sent["recipients"]) == (f"@{peer}", [peer])
    dm = sent["messages"][0]
    assert (dm["author"], dm["content"]) == (AGENT, f"take the {word}")
    mention = post(api, "general", f"@{peer} see the {word}")

    inbox = ok_json(cli("inbox", "--agent", peer, "--json"))
    assert [(i["kind"], i["message"]["id"]) for i in inbox["items"]] == [
        ("dm", dm["id"]),
        ("mention", mention["id"]),
    ]
    assert inbox["unacked"] == 2
    first, second = (item["id"] for item in inbox["items"])
    assert ok_json(cli("ack", str(first), "--agent", peer, "--json")) == {"acked": 1, "unacked": 1}
    runs = run_all(
        cli,
        {
            "left": ["inbox", "--agent", peer, "--json"],
            "all": ["inbox", "--all", "--agent", peer, "--json"],
            "human": ["inbox", "--all", "--agent", peer],
        },
    )
    assert [i["id"] for i in ok_json(runs["left"])["items"]] == [second]
    assert [i["acked_at"] is not None for i in ok_json(runs["all"])["items"]] == [True, False]
    human = runs["human"].stdout
    assert f"{first} dm from {AGENT}" in human
    assert f"take the {word}" in human
    assert "1 unacknowledged" in human
    assert ok_json(cli("ack", "--all", "--agent", peer, "--json")) == {"acked": 1, "unacked": 0}


def test_inbox_wait_returns_when_an_item_arrives(cli: Cli, api: Api) -> None:
    peer = unique("lap-waiter")
    api("GET", "/me", agent=peer)
    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(cli, "inbox", "--wait", "30", "--agent", peer, "--json")
        # The wait may begin before or after the send: either way the item comes back.
        api("POST", "/send", json={"target": f"@{peer}", "content": "wake up"})
        found = ok_json(waiting.result())
    assert [i["message"]["content"] for i in found["items"]] == ["wake up"]


def test_search_with_filters(cli: Cli, api: Api) -> None:
    word = unique("zebra")
    mine = post(api, "general", f"the {word} crossed")
    api("POST", "/channels/general/messages", agent="lap-spotter", json={"content": f"a {word}"})
    runs = run_all(
        cli,
        {
            "all": ["search", word, "--json"],
            "author": ["search", word, "--author", AGENT, "--json"],
            "channel": ["search", word, "--channel", "#general", "--since", "1h", "--json"],
            "later": ["search", word, "--since", "2999-01-01", "--json"],
            "human": ["search", word, "--author", AGENT],
        },
    )
    assert len(ok_json(runs["all"])["hits"]) == 2
    assert [h["message"]["id"] for h in ok_json(runs["author"])["hits"]] == [mine["id"]]
    assert len(ok_json(runs["channel"])["hits"]) == 2
    assert ok_json(runs["later"])["hits"] == []
    assert f"#{mine['id']} {AGENT} in #general" in runs["human"].stdout
    assert word in runs["human"].stdout


def test_read_pages_threads_and_markdown(cli: Cli, api: Api) -> None:
    channel = unique("cli-read")
    api("POST", "/channels", json={"name": channel})
    root = post(api, channel, "the root")
    reply = post(api, channel, "a reply", reply_to=root["id"])
    last = post(api, channel, "# Plan\n\n- **ship** it\n- `test` it")
    runs = run_all(
        cli,
        {
            "latest": ["read", channel, "--limit", "2", "--json"],
            "after": ["read", channel, "--after", str(root["id"]), "--json"],
            "before": ["read", channel, "--before", str(last["id"]), "--json"],
            "thread": ["read", channel, "--thread", str(reply["id"]), "--json"],
            "human": ["read", channel, "--limit", "2"],
        },
    )
    latest = ok_json(runs["latest"])
    assert [m["id"] for m in latest["messages"]] == [reply["id"], last["id"]]
    assert latest["has_more"] is True
    assert latest["messages"][1]["content"] == "# Plan\n\n- **ship** it\n- `test` it"
    assert [m["id"] for m in ok_json(runs["after"])["messages"]] == [reply["id"], last["id"]]
    assert [m["id"] for m in ok_json(runs["before"])["messages"]] == [root["id"], reply["id"]]
    thread = ok_json(runs["thread"])
    assert (thread["root"]["id"], [m["id"] for m in thread["replies"]]) == (
        root["id"],
        [reply["id"]],
    )
    human = runs["human"].stdout
    assert f"#{reply['id']} {AGENT}" in human
    assert f"↳ {root['id']}" in human
    assert f"--before {reply['id']}" in human  # where the older messages are
    assert "ship it" in human  # Markdown rendered: no ** left, a bullet per item
    assert "**" not in human
    assert "• " in human


def test_channel_lifecycle(cli: Cli, api: Api) -> None:
    secret, public = unique("cli-room"), unique("cli-open")
    guest = unique("lap-guest")
    api("GET", "/me", agent=guest)
    made = run_all(
        cli,
        {
            "secret": ["channels", "create", f"#{secret}", "--secret", "--topic", "plans"],
            "public": ["channels", "create", public, "--json"],
        },
    )
    assert made["secret"].stdout.strip() == f"Created secret channel #{secret}."
    assert ok_json(made["public"])["visibility"] == "public"

    added = run_all(
        cli,
        {
            "invite": ["channels", "invite", secret, guest, "--json"],
            "join": ["channels", "join", public, "--agent", guest, "--json"],
        },
    )
    assert sorted(ok_json(added["invite"])["members"]) == sorted([AGENT, guest])
    assert guest in ok_json(added["join"])["members"]

    changed = run_all(
        cli,
        {
            "leave": ["channels", "leave", secret, "--agent", guest, "--json"],
            "archive": ["channels", "archive", public, "--json"],
        },
    )
    assert ok_json(changed["leave"])["name"] == secret
    assert ok_json(changed["archive"])["archived"] is True

    lists = run_all(
        cli,
        {
            "mine": ["channels", "--json"],
            "archived": ["channels", "--archived", "--json"],
            "guest": ["channels", "--agent", guest, "--json"],
            "human": ["channels", "--archived"],
        },
    )
    mine = {c["name"]: c for c in ok_json(lists["mine"])}
    assert (mine[secret]["visibility"], mine[secret]["topic"]) == ("secret", "plans")
    assert public not in mine
    assert public in [c["name"] for c in ok_json(lists["archived"])]
    assert secret not in [c["name"] for c in ok_json(lists["guest"])]  # hidden once left
    assert f"#{public} (archived)" in lists["human"].stdout
    assert f"#{secret}" in lists["human"].stdout


def test_agents_and_status(cli: Cli, api: Api) -> None:
    worker = unique("lap-worker")
    api("GET", "/me", agent=worker)
    busy = ok_json(cli("status", "busy", "--note", "migrating", "--agent", worker, "--json"))
    assert (busy["name"], busy["status"], busy["status_note"]) == (worker, "busy", "migrating")
    runs = run_all(
        cli,
        {
            "busy": ["agents", "--status", "busy", "--machine", "lap", "--json"],
            "other machine": ["agents", "--machine", "srv", "--json"],
            "human": ["agents", "--status", "busy"],
            "status": ["status", "--agent", worker],
        },
    )
    assert worker in [a["name"] for a in ok_json(runs["busy"])]
    assert ok_json(runs["other machine"]) == []
    assert worker in runs["human"].stdout
    assert runs["status"].stdout.strip() == f"{worker}: busy migrating"
    cleared = ok_json(cli("status", "--note", "", "--agent", worker, "--json"))
    assert (cleared["status"], cleared["status_note"]) == ("busy", None)


def test_whoami_and_config_show(cli: Cli, live_hub: LiveHub) -> None:
    config = live_hub.config()
    runs = run_all(
        cli,
        {
            "me": ["whoami", "--json"],
            "me human": ["whoami"],
            "config": ["config", "show", "--json"],
            "config agent": ["config", "show", "--agent", "lap-other", "--json"],
            "config human": ["config", "show"],
        },
    )
    me = ok_json(runs["me"])
    assert (me["name"], me["machine"]) == (AGENT, "lap")
    assert AGENT in runs["me human"].stdout
    assert live_hub.url in runs["me human"].stdout

    shown = ok_json(runs["config"])
    assert shown["file"] == str(live_hub.config_path)
    settings = {name: row["value"] for name, row in shown["settings"].items()}
    assert settings == {
        "url": live_hub.url,
        "key": config["key"][:12] + "…",
        "machine": "lap",
        "agent": AGENT,
        "admin_key": config["admin_key"][:12] + "…",
    }
    assert shown["settings"]["agent"]["source"] == "machine + directory"
    assert ok_json(runs["config agent"])["settings"]["agent"] == {
        "value": "lap-other",
        "source": "--agent",
    }
    for run in runs.values():
        assert config["key"] not in run.stdout
        assert config["admin_key"] not in run.stdout
    assert "admin_key" in runs["config human"].stdout


def test_every_command_has_json_that_parses(cli: Cli, api: Api) -> None:
    """Each command's ``--json`` is the model's JSON (lists for listings, one message per
    line for ``tail``)."""
    channel = unique("cli-json")
    api("POST", "/channels", json={"name": channel})
    posted = post(api, channel, "json me")
    jobs = {
        "whoami": ["whoami", "--json"],
        "post": ["post", channel, "more json", "--json"],
        "send": ["send", f"#{channel}", "sent json", "--json"],
        "read": ["read", channel, "--json"],
        "read thread": ["read", channel, "--thread", str(posted["id"]), "--json"],
        "search": ["search", "json", "--channel", channel, "--json"],
        "inbox": ["inbox", "--json"],
        "ack": ["ack", "--all", "--json"],
        "channels": ["channels", "--json"],
        "agents": ["agents", "--json"],
        "status": ["status", "--json"],
        "config show": ["config", "show", "--json"],
        "keys list": ["keys", "list", "--json"],
        "tail": ["tail", channel, "--json"],
    }
    runs = run_all(cli, jobs)
    tail = runs.pop("tail")
    shapes: dict[str, Any] = {name: ok_json(done) for name, done in runs.items()}
    assert shapes["whoami"]["name"] == AGENT
    assert shapes["post"]["channel"] == channel
    assert shapes["send"]["messages"][0]["channel"] == channel
    assert shapes["read"]["channel"] == channel
    assert shapes["read thread"]["root"]["id"] == posted["id"]
    assert set(shapes["search"]) == {"query", "hits"}
    assert set(shapes["inbox"]) == {"items", "unacked", "cursor"}
    assert set(shapes["ack"]) == {"acked", "unacked"}
    assert channel in [c["name"] for c in shapes["channels"]]
    assert AGENT in [a["name"] for a in shapes["agents"]]
    assert shapes["status"]["name"] == AGENT
    assert set(shapes["config show"]) == {"file", "exists", "settings"}
    assert isinstance(shapes["keys list"], list)

    assert tail.returncode == 0, tail.stderr
    lines = [json.loads(line) for line in tail.stdout.splitlines()]  # one message a line
    assert lines[0]["id"] == posted["id"]
    assert {m["channel"] for m in lines} == {channel}


def test_tail_without_follow_prints_the_latest_across_channels(cli: Cli, api: Api) -> None:
    one, two = unique("cli-tail"), unique("cli-tail")
    for name in (one, two):
        api("POST", "/channels", json={"name": name})
    a = post(api, one, "first in one")
    b = post(api, two, "then in two")
    c = post(api, one, "last in one")
    runs = run_all(
        cli, {"json": ["tail", one, two, "-n", "2", "--json"], "human": ["tail", one, two]}
    )
    latest = runs["json"]
    assert latest.returncode == 0, latest.stderr
    assert [json.loads(line)["id"] for line in latest.stdout.splitlines()] == [b["id"], c["id"]]
    human = runs["human"]
    assert human.returncode == 0, human.stderr
    headers = [line for line in human.stdout.splitlines() if line.startswith("#")]
    assert [h.split()[0] for h in headers] == [f"#{a['id']}", f"#{b['id']}", f"#{c['id']}"]
    assert f"in #{two}" in headers[1]
