"""``hubbub pair`` against a real hub, as subprocesses: invite, list, accept, send, read, end
and reject; ``--json`` and the human view; refusals as one error line with their exit code."""

from __future__ import annotations

import uuid

import pytest

from tests.live import Cli, LiveHub, cli_of, ok_json

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cli(live_hub: LiveHub) -> Cli:
    return cli_of(live_hub)


def fresh(live_hub: LiveHub, prefix: str) -> str:
    """A new agent of machine ``lap``, registered over HTTP."""
    name = f"lap-{prefix}-{uuid.uuid4().hex[:8]}"
    response = live_hub.request("GET", "/api/v1/me", key=live_hub.config()["key"], agent=name)
    assert response.is_success, response.text
    return name


def test_a_pair_round_trip(cli: Cli, live_hub: LiveHub) -> None:
    host, guest = fresh(live_hub, "host"), fresh(live_hub, "guest")
    made = ok_json(
        cli(
            "pair",
            "invite",
            f"@{guest}",
            "--topic",
            "the cli",
            "--message",
            "-",
            "--agent",
            host,
            "--json",
            stdin="shall we?",
        )
    )
    assert (made["state"], made["inviter"], made["invitee"]) == ("pending", host, guest)
    pair_id, channel = str(made["id"]), made["channel"]
    pending = ok_json(cli("pair", "list", "--state", "pending", "--agent", guest, "--json"))
    assert [str(p["id"]) for p in pending] == [pair_id]
    human = cli("pair", "list", "--agent", guest)
    assert human.returncode == 0, human.stderr
    assert "pending" in human.stdout
    assert "the cli" in human.stdout

    early = cli("pair", "send", pair_id, "too soon", "--agent", host)
    assert early.returncode == 1
    assert "(pair_not_active)" in early.stderr
    accepted = ok_json(cli("pair", "accept", pair_id, "--agent", guest, "--json"))
    assert accepted["state"] == "active"
    again = cli("pair", "accept", pair_id, "--agent", guest)
    assert again.returncode == 1
    assert "(pair_not_pending)" in again.stderr

    sent = cli("pair", "send", pair_id, "-", "--agent", host, stdin="hello **there**")
    assert sent.returncode == 0, sent.stderr
    assert f"in {channel}" in sent.stdout
    page = ok_json(cli("pair", "read", pair_id, "--agent", guest, "--json"))
    assert [m["content"] for m in page["messages"]] == ["shall we?", "hello **there**"]
    shown = cli("pair", "read", pair_id, "--agent", guest)
    assert shown.returncode == 0, shown.stderr
    assert "hello" in shown.stdout
    # The pair's channel reads as any channel does.
    assert "hello" in cli("read", channel, "--agent", guest).stdout

    ended = cli("pair", "end", pair_id, "--agent", guest)
    assert ended.returncode == 0, ended.stderr
    assert "ended (hung up)" in ended.stdout
    late = cli("pair", "send", pair_id, "late", "--agent", host)
    assert late.returncode == 1
    assert "(pair_not_active)" in late.stderr


def test_refusals_exit_with_their_codes(cli: Cli, live_hub: LiveHub) -> None:
    host, guest = fresh(live_hub, "host"), fresh(live_hub, "guest")
    made = ok_json(cli("pair", "invite", f"@{guest}", "--agent", host, "--json"))
    busy = cli("pair", "invite", f"@{guest}", "--agent", fresh(live_hub, "third"))
    assert busy.returncode == 1
    assert "(busy)" in busy.stderr
    not_mine = cli("pair", "accept", str(made["id"]), "--agent", host)
    assert not_mine.returncode == 4
    assert "(not_invitee)" in not_mine.stderr
    stranger = cli("pair", "read", str(made["id"]), "--agent", fresh(live_hub, "stranger"))
    assert stranger.returncode == 3
    assert "(pair_not_found)" in stranger.stderr
    rejected = ok_json(cli("pair", "reject", str(made["id"]), "--agent", guest, "--json"))
    assert (rejected["state"], rejected["ended_by"]) == ("rejected", guest)
    nobody = cli("pair", "invite", "@lap-nobody-here", "--agent", host)
    assert nobody.returncode == 3
    assert "(unknown_target)" in nobody.stderr
