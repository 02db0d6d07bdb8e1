"""``hubbub tasks`` against a real hub, as subprocesses: create, list, show, claim (one and the
next), renew, progress, done, fail, release and cancel; ``--json`` and the human view; refusals
as one error line with their exit code."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.live import Cli, LiveHub, cli_of, ok_json

pytestmark = pytest.mark.e2e

AGENT = "lap-myproj"  # machine ``lap`` + the working directory's name


@pytest.fixture(scope="module")
def cli(live_hub: LiveHub) -> Cli:
    return cli_of(live_hub)


def register(live_hub: LiveHub, name: str, **profile: Any) -> None:
    """Make ``name`` exist (and set its profile) over HTTP."""
    key = live_hub.config()["key"]
    response = live_hub.request("PATCH", "/api/v1/me", key=key, agent=name, json=profile)
    assert response.is_success, response.text


def test_a_task_round_trip(cli: Cli, live_hub: LiveHub) -> None:
    peer = f"lap-peer-{uuid.uuid4().hex[:8]}"
    register(live_hub, peer)
    made = ok_json(
        cli(
            "tasks",
            "create",
            "ship the release",
            "--to",
            f"@{peer}",
            "--body",
            "-",
            "--priority",
            "2",
            "--label",
            "release",
            "--label",
            "q3",
            "--lease",
            "120",
            "--json",
            stdin="Tag **v1.2** and publish.",
        )
    )
    assert (made["title"], made["target"], made["created_by"]) == (
        "ship the release",
        f"@{peer}",
        AGENT,
    )
    assert (made["body"], made["labels"], made["lease_seconds"]) == (
        "Tag **v1.2** and publish.",
        ["release", "q3"],
        120,
    )
    task = str(made["id"])

    listed = ok_json(cli("tasks", "list", "--available", "--agent", peer, "--json"))
    assert task in {str(t["id"]) for t in listed["tasks"]}
    human = cli("tasks", "list", "--created-by", "me")
    assert human.returncode == 0, human.stderr
    assert "ship the release" in human.stdout

    claimed = ok_json(cli("tasks", "claim", task, "--agent", peer, "--json"))
    fence = str(claimed["fence"])
    assert (claimed["status"], claimed["holder"]) == ("claimed", peer)
    again = cli("tasks", "claim", task)
    assert again.returncode == 1
    assert "(not_open)" in again.stderr
    moved = ok_json(
        cli(
            "tasks",
            "progress",
            task,
            "60",
            "--note",
            "tagged",
            "--fence",
            fence,
            "--agent",
            peer,
            "--json",
        )
    )
    assert (moved["progress"], moved["progress_note"]) == (60, "tagged")
    renewed = cli("tasks", "renew", task, "--fence", fence, "--lease", "300", "--agent", peer)
    assert renewed.returncode == 0, renewed.stderr
    assert "claimed" in renewed.stdout
    stale = cli("tasks", "done", task, "--fence", str(int(fence) + 1), "--agent", peer)
    assert (stale.returncode, stale.stdout) == (1, "")
    assert "(stale_fence)" in stale.stderr
    bad = cli("tasks", "done", task, "--fence", fence, "--result", "{nope", "--agent", peer)
    assert bad.returncode == 2
    done = ok_json(
        cli(
            "tasks",
            "done",
            task,
            "--fence",
            fence,
            "--result",
            '{"version": "1.2"}',
            "--text",
            "published",
            "--agent",
            peer,
            "--json",
        )
    )
    assert (done["status"], done["result"], done["result_text"]) == (
        "done",
        {"version": "1.2"},
        "published",
    )

    shown = cli("tasks", "show", task)
    assert shown.returncode == 0, shown.stderr
    for expected in ("done", "ship the release", "published", "v1.2", "release, q3"):
        assert expected in shown.stdout, (expected, shown.stdout)
    history = ok_json(cli("tasks", "show", task, "--history", "--json"))
    assert [e["type"] for e in history] == [
        "task.created",
        "task.claimed",
        "task.progress",
        "task.renewed",
        "task.completed",
    ]
    told = cli("tasks", "show", task, "--history")
    assert "task.completed by " + peer in told.stdout
    missing = cli("tasks", "show", "999999")
    assert (missing.returncode, "(task_not_found)" in missing.stderr) == (3, True)


def test_claim_next_release_fail_and_cancel(cli: Cli, live_hub: LiveHub) -> None:
    cap = f"cli{uuid.uuid4().hex[:8]}"
    worker = f"lap-worker-{uuid.uuid4().hex[:8]}"
    register(live_hub, worker, capabilities=[cap])
    empty = cli("tasks", "claim", "--wait", "0.2", "--agent", worker, "--json")
    assert (empty.returncode, json.loads(empty.stdout)) == (0, None)
    nothing = cli("tasks", "claim", "--agent", worker)
    assert "No task is available" in nothing.stdout
    first = ok_json(cli("tasks", "create", "first", "--to", f"cap:{cap}", "--json"))
    second = ok_json(cli("tasks", "create", "second", "--to", f"cap:{cap}", "--no-offer", "--json"))

    claimed = cli("tasks", "claim", "--agent", worker)
    assert claimed.returncode == 0, claimed.stderr
    assert f"hubbub tasks done {first['id']} --fence 1" in claimed.stdout
    released = ok_json(
        cli("tasks", "release", str(first["id"]), "--fence", "1", "--agent", worker, "--json")
    )
    assert (released["status"], released["holder"]) == ("open", None)
    retaken = ok_json(cli("tasks", "claim", "--agent", worker, "--json"))
    assert (retaken["id"], retaken["fence"]) == (first["id"], 2)
    failed = ok_json(
        cli(
            "tasks",
            "fail",
            str(first["id"]),
            "--fence",
            "2",
            "--reason",
            "no disk",
            "--agent",
            worker,
            "--json",
        )
    )
    assert (failed["status"], failed["result_text"]) == ("failed", "no disk")

    refused = cli("tasks", "cancel", str(second["id"]), "--agent", worker)
    assert (refused.returncode, "(not_creator)" in refused.stderr) == (4, True)
    cancelled = ok_json(cli("tasks", "cancel", str(second["id"]), "--reason", "moot", "--json"))
    assert (cancelled["status"], cancelled["result_text"]) == ("cancelled", "moot")
    both = ok_json(cli("tasks", "list", "--target", f"cap:{cap}", "--json"))
    assert [(t["title"], t["status"]) for t in both["tasks"]] == [
        ("first", "failed"),
        ("second", "cancelled"),
    ]
    usage = cli("tasks", "claim", "5", "--wait", "1")
    assert usage.returncode == 2
