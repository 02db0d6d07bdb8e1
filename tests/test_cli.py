"""The ``hubbub`` CLI as a subprocess against a real hub: post, read, keys, and exit codes
(0 ok, 1 error, 2 usage, 3 not found, 4 forbidden or unauthorized) for each kind of error."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.live import Cli, LiveHub, cli_of, ok_json

pytestmark = pytest.mark.e2e

AGENT = "lap-myproj"  # machine ``lap`` + the working directory's name


@pytest.fixture(scope="module")
def cli(live_hub: LiveHub) -> Cli:
    """Run the CLI with the live hub's provisioned config."""
    return cli_of(live_hub)


def test_post_and_read(cli: Cli) -> None:
    posted = cli("post", "general", "hello from the **cli**")
    assert posted.returncode == 0, posted.stderr
    assert posted.stdout.startswith("Posted #")
    assert "in #general" in posted.stdout

    page = ok_json(cli("read", "general", "--json"))
    mine = [m for m in page["messages"] if m["content"] == "hello from the **cli**"]
    assert [m["author"] for m in mine] == [AGENT]

    reply = ok_json(
        cli("post", "#general", "-", "--reply-to", str(mine[0]["id"]), "--json", stdin="via stdin")
    )
    assert (reply["content"], reply["reply_to"], reply["author"]) == (
        "via stdin",
        mine[0]["id"],
        AGENT,
    )


def test_read_a_dm_by_at_peer(cli: Cli, live_hub: LiveHub) -> None:
    key = live_hub.config()["key"]
    live_hub.request("GET", "/api/v1/me", key=key, agent=AGENT)
    sent = live_hub.request(
        "POST",
        "/api/v1/send",
        key=key,
        agent="lap-peer",
        json={"target": f"@{AGENT}", "content": "a private word"},
    )
    assert sent.status_code == 201, sent.text
    page = ok_json(cli("read", "@lap-peer", "--json"))
    assert [(m["author"], m["content"]) for m in page["messages"]] == [
        ("lap-peer", "a private word")
    ]


def test_keys_create_list_and_revoke(cli: Cli, live_hub: LiveHub) -> None:
    made = ok_json(cli("keys", "create", "--machine", "ci", "--label", "runner", "--json"))
    secret, info = made["key"], made["info"]
    assert secret.startswith("hb_")
    assert (info["kind"], info["machine"], info["label"]) == ("machine", "ci", "runner")
    works = live_hub.request("GET", "/api/v1/me", key=secret, agent="ci-bot")
    assert works.status_code == 200

    listed = ok_json(cli("keys", "list", "--json"))
    assert info["id"] in [k["id"] for k in listed]
    assert secret not in json.dumps(listed)

    revoked = ok_json(cli("keys", "revoke", str(info["id"]), "--json"))
    assert revoked["revoked_at"] is not None
    refused = live_hub.request("GET", "/api/v1/me", key=secret, agent="ci-bot")
    assert refused.status_code == 401


PRIVATE = "cli-private-room"
# (case, args, extra environment, exit code, code in the message), one or more per error class
FAILURES: list[tuple[str, list[str], dict[str, str], int, str]] = [
    ("unknown channel", ["read", "nowhere"], {}, 3, "channel_not_found"),
    ("unknown target", ["send", "@lap-nobody", "nope-target"], {}, 3, "unknown_target"),
    ("unknown agent", ["channels", "invite", PRIVATE, "lap-nobody"], {}, 3, "agent_not_found"),
    ("unknown thread", ["read", "general", "--thread", "999999"], {}, 3, "not_found"),
    ("empty content", ["post", "general", "   "], {}, 1, "empty_content"),
    ("too large", ["post", "general", "-"], {}, 1, "content_too_large"),
    ("conflict", ["channels", "create", PRIVATE], {}, 1, "channel_exists"),
    ("bad key", ["post", "general", "nope-bad-key"], {"HUBBUB_KEY": "hb_bogus"}, 4, "bad_key"),
    ("wrong machine", ["post", "general", "nope-wrong", "--agent", "srv-x"], {}, 4,
     "wrong_machine"),
    ("not a member", ["read", PRIVATE, "--agent", "lap-outsider"], {}, 4, "not_a_member"),
    ("unknown key id", ["keys", "revoke", "99999"], {}, 3, "key_not_found"),
    ("no config", ["post", "general", "nope-no-config"], {"HUBBUB_CONFIG": "/nonexistent/c.toml"},
     1, "no_config"),
    ("unreachable", ["read", "general"], {"HUBBUB_URL": "http://127.0.0.1:9"}, 1, "unreachable"),
    ("usage", ["keys", "create"], {}, 2, "--machine"),
    ("usage: ack", ["ack"], {}, 2, "--up-to"),
    ("usage: status", ["status", "asleep"], {}, 2, "asleep"),
    ("usage: since", ["search", "x", "--since", "soon"], {}, 2, "soon"),
    ("usage: option", ["tail", "--nope"], {}, 2, "--nope"),
]  # fmt: skip
STDIN = {"too large": "x" * 40_000}


@pytest.fixture(scope="module")
def failures(cli: Cli, live_hub: LiveHub) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every failing invocation, run side by side (each CLI start costs seconds)."""
    ok_json(cli("channels", "create", PRIVATE, "--private", "--json"))
    machine_key = live_hub.config()["key"]
    jobs = {case: (args, env) for case, args, env, _, _ in FAILURES}
    jobs["admin only"] = (["keys", "list"], {"HUBBUB_ADMIN_KEY": machine_key})
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = {
            case: pool.submit(cli, *args, stdin=STDIN.get(case), **env)
            for case, (args, env) in jobs.items()
        }
        return {case: future.result() for case, future in futures.items()}


@pytest.mark.parametrize(
    ("case", "exit_code", "code"),
    [(case, exit_code, code) for case, _, _, exit_code, code in FAILURES]
    + [("admin only", 4, "admin_only")],
    ids=[case for case, *_ in FAILURES] + ["admin only"],
)
def test_failures_exit_with_their_code_and_one_clear_line(
    failures: dict[str, subprocess.CompletedProcess[str]], case: str, exit_code: int, code: str
) -> None:
    done = failures[case]
    assert done.returncode == exit_code, (done.stdout, done.stderr)
    assert code in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_failed_posts_wrote_nothing(
    failures: dict[str, subprocess.CompletedProcess[str]], live_hub: LiveHub
) -> None:
    assert failures
    key = live_hub.config()["key"]
    page = live_hub.request(
        "GET", "/api/v1/channels/general/messages", key=key, agent=AGENT, params={"limit": 500}
    )
    assert page.status_code == 200
    assert not [m for m in page.json()["messages"] if m["content"].startswith("nope-")]
    assert not [m for m in page.json()["messages"] if not m["content"].strip()]
