"""``hubbub hook`` as a real process, fed each harness's hook JSON, against a real hub process:
the output contract, the hub down or silent, each item told once, the stop hook that never
loops, the idle waiter, the runner standing down, bad input, and what the command imports."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from hubbub.hooks import command, contract
from tests.live import HUBBUB, LiveHub, clean_env, running_hub

pytestmark = pytest.mark.e2e

PEER = "lap-peer"
RUN_TIMEOUT = 60  # seconds: a generous bound on any one hook run
_names = count(1)

# What each harness sends its hooks on stdin (the fields that matter here, in their shapes).
START = {
    "claude": {
        "hook_event_name": "SessionStart",
        "source": "startup",
        "model": "claude-sonnet",
        "transcript_path": "/tmp/transcript.jsonl",
        "cwd": "/tmp",
    },
    "codex": {"hook_event_name": "SessionStart", "source": "startup", "cwd": "/tmp"},
    "gemini": {"hook_event_name": "SessionStart", "source": "startup", "cwd": "/tmp"},
}
CONTEXT_NAMES = {
    "claude": {"prompt": "UserPromptSubmit", "tool": "PostToolUse"},
    "codex": {"prompt": "UserPromptSubmit", "tool": "PostToolUse"},
    "gemini": {"prompt": "BeforeAgent", "tool": "AfterTool"},
}


@dataclass
class Hooks:
    """Runs ``hubbub hook`` with a hub's config."""

    hub: LiveHub

    def run(
        self,
        *args: str,
        data: dict[str, Any] | None = None,
        stdin: str | None = None,
        **env: str,
    ) -> subprocess.CompletedProcess[str]:
        text = stdin if stdin is not None else json.dumps(data or {})
        return subprocess.run(
            [str(HUBBUB), "hook", *args],
            input=text,
            capture_output=True,
            text=True,
            cwd=self.hub.home,
            env=clean_env(self.hub.home, HUBBUB_CONFIG=str(self.hub.config_path), **env),
            timeout=RUN_TIMEOUT,
            check=False,
        )

    def start(
        self, event: str, *args: str, data: dict[str, Any], **env: str
    ) -> subprocess.Popen[str]:
        """Start a hook that runs on (the waiter), its input already on its stdin."""
        given = self.hub.home / f"input-{next(_names)}.json"
        given.write_text(json.dumps(data))
        with given.open() as stdin:
            return subprocess.Popen(
                [str(HUBBUB), "hook", event, *args],
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=self.hub.home,
                env=clean_env(self.hub.home, HUBBUB_CONFIG=str(self.hub.config_path), **env),
            )

    def dm(self, to: str, content: str, sender: str = PEER) -> None:
        sent = self.hub.request(
            "POST",
            "/api/v1/send",
            key=self.hub.config()["key"],
            agent=sender,
            json={"target": f"@{to}", "content": content},
        )
        assert sent.status_code == 201, sent.text

    def profile(self, agent: str) -> dict[str, Any]:
        """The agent as another agent sees it (its own requests would touch its presence)."""
        found = self.hub.request(
            "GET", f"/api/v1/agents/{agent}", key=self.hub.config()["key"], agent=PEER
        )
        assert found.status_code == 200, found.text
        data: dict[str, Any] = found.json()
        return data


@pytest.fixture(scope="module")
def hooks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hooks]:
    with running_hub(tmp_path_factory.mktemp("hook-hub")) as hub:
        yield Hooks(hub)


def fresh(hooks: Hooks | None = None) -> tuple[str, str]:
    """A new agent name (registered on ``hooks``' hub) and session id: tests share nothing."""
    n = next(_names)
    agent = f"lap-hook{n}"
    if hooks is not None:
        me = hooks.hub.request("GET", "/api/v1/me", key=hooks.hub.config()["key"], agent=agent)
        assert me.status_code == 200, me.text
    return agent, f"session-{n}"


def context(done: subprocess.CompletedProcess[str], event_name: str) -> str:
    """The additionalContext a successful hook printed, checked for the JSON shape."""
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    assert done.stderr == ""
    answer = json.loads(done.stdout)
    assert set(answer) == {"hookSpecificOutput"}
    output = answer["hookSpecificOutput"]
    assert output["hookEventName"] == event_name
    text: str = output["additionalContext"]
    assert 0 < len(text) <= contract.TEXT_CAP
    return text


def silent(done: subprocess.CompletedProcess[str]) -> None:
    """The hook succeeded with nothing to say."""
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


@contextmanager
def listener() -> Iterator[socket.socket]:
    """A loopback socket that listens and never answers: a hub that has hung."""
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock


def closed_port() -> int:
    """A loopback port nothing listens on: a hub that is down."""
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def nobody_called(sock: socket.socket) -> bool:
    """Whether no connection reached the listener."""
    sock.setblocking(False)
    try:
        sock.accept()[0].close()
    except BlockingIOError:
        return True
    return False


@pytest.mark.parametrize("harness", sorted(START))
def test_each_event_answers_in_the_harness_words(hooks: Hooks, harness: str) -> None:
    agent, session = fresh(hooks)
    args = ("--harness", harness, "--agent", agent)
    start = hooks.run("session-start", *args, data={"session_id": session, **START[harness]})
    assert f"@{agent}" in context(start, "SessionStart")

    hooks.dm(agent, f"hello {harness} prompt")
    told = context(
        hooks.run("prompt", *args, data={"session_id": session, "prompt": "go on"}),
        CONTEXT_NAMES[harness]["prompt"],
    )
    assert f"hello {harness} prompt" in told
    assert f"from={PEER}" in told  # the server-stamped sender frames the text

    hooks.dm(agent, f"hello {harness} tool")
    tool = {"session_id": session, "tool_name": "Bash", "tool_input": {"command": "ls"}}
    told = context(hooks.run("tool", *args, data=tool), CONTEXT_NAMES[harness]["tool"])
    assert f"hello {harness} tool" in told
    assert f"hello {harness} prompt" not in told
    silent(hooks.run("session-end", *args, data={"session_id": session}))


def test_a_tool_result_too_large_for_the_hub_passes_quietly(hooks: Hooks) -> None:
    agent, session = fresh(hooks)
    hooks.dm(agent, "still waiting to be told")
    huge = {"session_id": session, "tool_name": "Read", "tool_response": "x" * 400_000}
    quietly_through(hooks.run("tool", "--agent", agent, data=huge))
    told = context(
        hooks.run("tool", "--agent", agent, data={"session_id": session, "tool_name": "Read"}),
        "PostToolUse",
    )
    assert "still waiting to be told" in told


def test_each_item_is_told_once_to_each_session(hooks: Hooks) -> None:
    agent, session = fresh(hooks)
    other = session + "-other"
    hooks.dm(agent, "only once, please")
    for each in (session, other):
        told = context(
            hooks.run("prompt", "--agent", agent, data={"session_id": each, "prompt": "x"}),
            "UserPromptSubmit",
        )
        assert "only once, please" in told
        silent(hooks.run("prompt", "--agent", agent, data={"session_id": each, "prompt": "y"}))


def test_the_stop_hook_keeps_going_once_and_never_loops(hooks: Hooks) -> None:
    agent, session = fresh(hooks)
    silent(hooks.run("stop", "--agent", agent, data={"session_id": session}))
    hooks.dm(agent, "one more thing")
    stop = {"session_id": session, "stop_hook_active": False}
    done = hooks.run("stop", "--agent", agent, data=stop)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["decision"] == "block"
    assert "one more thing" in answer["reason"]
    # The turn it bought ends: Claude Code says so, and the hook lets the agent stop, even
    # with news waiting.
    hooks.dm(agent, "and another")
    again = {"session_id": session, "stop_hook_active": True}
    silent(hooks.run("stop", "--agent", agent, data=again))
    # Told once: the next stop has nothing left for a continuation.
    told = context(
        hooks.run("prompt", "--agent", agent, data={"session_id": session, "prompt": "x"}),
        "UserPromptSubmit",
    )
    assert "and another" in told
    assert "one more thing" not in told
    silent(hooks.run("stop", "--agent", agent, data=stop))


def test_presence_follows_the_session(hooks: Hooks) -> None:
    agent, session = fresh(hooks)
    steps = [
        ("session-start", "active"),
        ("prompt", "busy"),
        ("stop", "idle"),
        ("session-end", "offline"),
    ]
    for event, status in steps:
        done = hooks.run(event, "--agent", agent, data={"session_id": session, "source": "x"})
        assert done.returncode == 0, done.stderr
        assert hooks.profile(agent)["status"] == status


def test_codex_notify_takes_its_json_as_an_argument(hooks: Hooks) -> None:
    agent, session = fresh(hooks)
    hooks.run("prompt", "--harness", "codex", "--agent", agent, data={"session_id": session})
    notice = {"type": "agent-turn-complete", "thread-id": session, "turn-id": "1"}
    done = hooks.run("notify", "--harness", "codex", "--agent", agent, json.dumps(notice), stdin="")
    assert done.returncode == 0, done.stderr
    assert hooks.profile(agent)["status"] == "idle"


def test_the_text_for_the_model_stays_within_the_cap(hooks: Hooks) -> None:
    agent, session = fresh(hooks)
    for n in range(12):
        hooks.dm(agent, f"long item {n}: " + "words and more words " * 150)
    told = context(
        hooks.run("prompt", "--agent", agent, data={"session_id": session}), "UserPromptSubmit"
    )
    assert "long item 0" in told


def test_capped_cuts_each_string_and_keeps_json() -> None:
    long = "x" * (contract.TEXT_CAP + 500)
    answer = json.dumps(
        {"hookSpecificOutput": {"hookEventName": "Stop", "additionalContext": long}}
    )
    cut = json.loads(command.capped(answer))["hookSpecificOutput"]
    assert cut["hookEventName"] == "Stop"
    assert len(cut["additionalContext"]) == contract.TEXT_CAP
    assert cut["additionalContext"].endswith("…")
    assert len(command.capped(long)) == contract.TEXT_CAP
    within = json.dumps({"reason": "short"})
    assert command.capped(within) is within


def test_the_waiter_exits_2_with_the_news_after_a_dm(hooks: Hooks) -> None:
    agent, session = fresh(hooks)
    waiter = hooks.start("wake", "--agent", agent, "--timeout", "120", data={"session_id": session})
    try:
        hooks.dm(agent, "wake up, there is work")
        out, err = waiter.communicate(timeout=RUN_TIMEOUT)
    finally:
        waiter.kill()
        waiter.wait()
    assert waiter.returncode == contract.EXIT_WAKE, err
    assert out == ""
    assert "wake up, there is work" in err
    assert f"from={PEER}" in err
    # Told: the next prompt of that session does not repeat it.
    silent(hooks.run("prompt", "--agent", agent, data={"session_id": session}))


def test_a_new_waiter_of_a_session_ends_the_one_before(hooks: Hooks) -> None:
    agent, session = fresh(hooks)
    args = ("--agent", agent, "--timeout", "120")
    first = hooks.start("wake", *args, data={"session_id": session})
    other = hooks.start("wake", *args, data={"session_id": f"{session}-other"})
    second = None
    try:
        time.sleep(1)  # the first is waiting on the hub
        second = hooks.start("wake", *args, data={"session_id": session})
        out, err = first.communicate(timeout=RUN_TIMEOUT)
        assert (first.returncode, out, err) == (contract.EXIT_OK, "", "")
        assert other.poll() is None  # another session's waiter is left alone
        hooks.dm(agent, "only once")
        out, err = second.communicate(timeout=RUN_TIMEOUT)
        assert second.returncode == contract.EXIT_WAKE, err
        assert "only once" in err
    finally:
        for waiter in (first, other, second):
            if waiter is not None:
                waiter.kill()
                waiter.communicate()


def test_the_waiter_keeps_waiting_through_a_hub_restart(tmp_path: Path) -> None:
    port = closed_port()
    home = tmp_path / "hub"
    with running_hub(home, port=port) as hub:
        hooks = Hooks(hub)
        agent, session = fresh(hooks)
    waiter = hooks.start("wake", "--agent", agent, "--timeout", "120", data={"session_id": session})
    try:
        time.sleep(1)  # let the waiter find the hub down and back off at least once
        assert waiter.poll() is None
        with running_hub(home, port=port):
            hooks.dm(agent, "back again")
            out, err = waiter.communicate(timeout=RUN_TIMEOUT)
    finally:
        waiter.kill()
        waiter.wait()
    assert waiter.returncode == contract.EXIT_WAKE
    assert out == ""
    assert err.startswith("Hubbub:")
    assert "back again" in err


def test_the_waiter_ends_quietly_when_its_life_is_over(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run(
        [str(HUBBUB), "hook", "wake", "--timeout", "3"],
        input=json.dumps({"session_id": "s"}),
        capture_output=True,
        text=True,
        env=clean_env(home, HUBBUB_URL=f"http://127.0.0.1:{closed_port()}", HUBBUB_KEY="hb_x"),
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def hook_against(port: int, event: str, home: Path) -> subprocess.CompletedProcess[str]:
    """``hubbub hook EVENT`` with a hub URL on this loopback port."""
    return subprocess.run(
        [str(HUBBUB), "hook", event],
        input=json.dumps({"session_id": "s", "prompt": "x"}),
        capture_output=True,
        text=True,
        env=clean_env(home, HUBBUB_URL=f"http://127.0.0.1:{port}", HUBBUB_KEY="hb_x"),
        timeout=RUN_TIMEOUT,
        check=False,
    )


def quietly_through(done: subprocess.CompletedProcess[str]) -> None:
    """Exit 0, nothing for the model, one quiet line."""
    assert (done.returncode, done.stdout) == (0, "")
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("hubbub hook: no news this time")


@pytest.mark.parametrize("event", ["session-start", "prompt", "stop", "tool", "session-end"])
def test_a_hub_down_never_blocks_the_prompt(tmp_path: Path, event: str) -> None:
    quietly_through(hook_against(closed_port(), event, tmp_path))


def test_a_hub_that_never_answers_does_not_hold_the_prompt(tmp_path: Path) -> None:
    with listener() as hung:
        quietly_through(hook_against(hung.getsockname()[1], "prompt", tmp_path))


BAD = [
    (["prompt"], "{not json"),
    (["prompt"], "[1, 2]"),
    (["prompt"], ""),
    (["bogus"], "{}"),
    ([], "{}"),
    (["prompt", "--harness", "vim"], "{}"),
    (["prompt", "--colour", "red"], "{}"),
    (["prompt", "extra"], "{}"),
    (["notify", "--harness", "codex"], "{}"),
    (["notify", "--harness", "codex", "{oops"], ""),
    (["wake", "--timeout", "0"], '{"session_id": "s"}'),
    (["wake", "--timeout", "soon"], '{"session_id": "s"}'),
    (["wake"], '{"prompt": "no session"}'),
]


@pytest.mark.parametrize(("args", "stdin"), BAD)
def test_bad_input_is_refused_and_sends_nothing(
    tmp_path: Path, args: list[str], stdin: str
) -> None:
    with listener() as hub:
        url = f"http://127.0.0.1:{hub.getsockname()[1]}"
        done = subprocess.run(
            [str(HUBBUB), "hook", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=clean_env(tmp_path, HUBBUB_URL=url, HUBBUB_KEY="hb_x"),
            timeout=RUN_TIMEOUT,
            check=False,
        )
        assert nobody_called(hub)
    assert (done.returncode, done.stdout) == (contract.EXIT_ERROR, "")
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("hubbub hook: error (")


def test_a_refusal_is_one_line_and_exit_1(hooks: Hooks) -> None:
    done = hooks.run("prompt", data={"session_id": "s"}, HUBBUB_KEY="hb_not_a_key")
    assert (done.returncode, done.stdout) == (contract.EXIT_ERROR, "")
    assert done.stderr.startswith("hubbub hook: error (bad_key)")


@pytest.mark.parametrize("event", ["prompt", "wake", "stop"])
def test_the_runner_stands_every_hook_down(tmp_path: Path, event: str) -> None:
    with listener() as hub:
        url = f"http://127.0.0.1:{hub.getsockname()[1]}"
        done = subprocess.run(
            [str(HUBBUB), "hook", event],
            input="not even JSON",
            capture_output=True,
            text=True,
            env=clean_env(tmp_path, HUBBUB_URL=url, HUBBUB_KEY="hb_x", HUBBUB_RUNNER="1"),
            timeout=RUN_TIMEOUT,
            check=False,
        )
        assert nobody_called(hub)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


HEAVY = ("pydantic", "typer", "click", "rich", "httpx", "starlette", "uvicorn", "sqlalchemy")
PROBE = """
import sys
sys.argv = ["hubbub", *sys.argv[1:]]
from hubbub.cli.app import main
try:
    main()
except SystemExit:
    pass
print(" ".join(sorted(sys.modules)), file=sys.stderr)
"""


def imported(args: list[str], env: dict[str, str], stdin: str = "") -> set[str]:
    """The modules a ``hubbub ARGS`` run imported, as the script would run it."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    return set(done.stderr.splitlines()[-1].split())


def test_the_hook_path_imports_the_standard_library_alone(hooks: Hooks) -> None:
    env = clean_env(hooks.hub.home, HUBBUB_CONFIG=str(hooks.hub.config_path))
    modules = imported(["hook", "prompt", "--agent", "lap-probe"], env, '{"session_id": "p"}')
    assert "hubbub.hooks.relay" in modules
    heavy = {m for m in modules if m.split(".")[0] in HEAVY}
    assert not heavy
    ours = {m for m in modules if m.startswith("hubbub.")}
    assert not {m for m in ours if m.startswith(("hubbub.client", "hubbub.server", "hubbub.store"))}
    assert "hubbub.core.models" not in ours


def test_whoami_imports_no_server_code(hooks: Hooks) -> None:
    env = clean_env(hooks.hub.home, HUBBUB_CONFIG=str(hooks.hub.config_path))
    modules = imported(["whoami", "--agent", "lap-probe"], env)
    assert "hubbub.cli.session" in modules
    server = {"starlette", "uvicorn", "sqlalchemy", "psycopg", "mcp"}
    assert not {m for m in modules if m.split(".")[0] in server}
    assert not {m for m in modules if m.startswith(("hubbub.server", "hubbub.store"))}
    # Only the command run is loaded, not its neighbours.
    assert not {"hubbub.cli.tasks", "hubbub.cli.moves", "hubbub.cli.serve"} & modules


def test_the_relay_knows_the_events_and_harnesses_the_hub_answers() -> None:
    from hubbub.core import hooks as hub_hooks

    assert contract.EVENTS == hub_hooks.EVENTS
    assert contract.HARNESSES == hub_hooks.HARNESSES
    assert contract.SESSION_FIELDS == hub_hooks.SESSION_FIELDS
