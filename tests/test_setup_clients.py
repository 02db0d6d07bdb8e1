"""``hubbub setup`` against the real harnesses from npm and a real hub: after it runs in a
temporary home and project, Claude Code, Gemini CLI and OpenCode report the hubbub server
connected, Codex's app-server lists and calls its tools and reads its hooks, and Claude Code
accepts the plugin and its marketplace. Cursor has no command line; its files are checked
against its documented format. Without a client the test skips, except under CI."""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hubbub.setup import codex as codex_setup
from hubbub.setup import cursor as cursor_setup
from hubbub.tools import tools
from tests.live import HUBBUB, LiveHub, clean_env, running_hub
from tests.test_mcp_clients import STATUS, TIMEOUT, binary, search_path

pytestmark = pytest.mark.e2e

REPOSITORY = Path(__file__).resolve().parents[1]
APP_SERVER_TIMEOUT = 90.0


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    with running_hub(tmp_path_factory.mktemp("setup-clients")) as started:
        yield started


class Place:
    """A home with the hub's client config where ``hubbub`` looks by default, and a project."""

    def __init__(self, root: Path, hub: LiveHub) -> None:
        self.home = root / "home"
        self.project = root / "project"
        (self.project / ".git").mkdir(parents=True)
        config = self.home / ".config" / "hubbub" / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text(hub.config_path.read_text())
        self.agent = f"{hub.config()['machine']}-setup"
        self.env = clean_env(
            self.home,
            PATH=os.pathsep.join([search_path(), str(HUBBUB.parent)]),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_DATA_HOME=str(self.home / ".local" / "share"),
            XDG_CACHE_HOME=str(self.home / ".cache"),
            XDG_STATE_HOME=str(self.home / ".local" / "state"),
            DISABLE_TELEMETRY="1",
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
            DISABLE_AUTOUPDATER="1",
            GEMINI_CLI_NO_RELAUNCH="true",
            OPENCODE_DISABLE_AUTOUPDATE="1",
        )

    def run(self, *command: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=cwd or self.project,
            env=self.env,
            timeout=TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    def setup(self, *args: str) -> str:
        done = self.run(str(HUBBUB), "setup", *args, "--agent", self.agent)
        assert done.returncode == 0, (done.stdout, done.stderr)
        return done.stdout


@pytest.fixture
def place(tmp_path: Path, hub: LiveHub) -> Place:
    return Place(tmp_path, hub)


def test_claude_code_connects_after_setup(place: Place) -> None:
    claude = binary("claude")
    place.setup("claude")
    listed = place.run(claude, "mcp", "list")
    assert listed.returncode == 0, (listed.stdout, listed.stderr)
    assert {m[1]: m[2] for m in STATUS.finditer(listed.stdout)} == {"hubbub": "✔ Connected"}

    place.setup("claude", "--remove")
    assert not (place.home / ".claude" / "settings.json").exists()
    assert "hubbub" not in place.run(claude, "mcp", "list").stdout


def test_claude_code_accepts_the_plugin_and_its_marketplace(place: Place) -> None:
    claude = binary("claude")
    for path in (REPOSITORY / "plugins" / "hubbub", REPOSITORY):
        valid = place.run(claude, "plugin", "validate", str(path))
        assert valid.returncode == 0, (valid.stdout, valid.stderr)
        assert "Validation passed" in valid.stdout
    added = place.run(claude, "plugin", "marketplace", "add", str(REPOSITORY))
    assert added.returncode == 0, (added.stdout, added.stderr)
    installed = place.run(claude, "plugin", "install", "hubbub@hubbub")
    assert installed.returncode == 0, (installed.stdout, installed.stderr)
    listed = place.run(claude, "plugin", "list")
    assert "hubbub@hubbub" in listed.stdout, listed.stdout


class AppServer:
    """``codex app-server``: JSON-RPC over stdio, read by a thread."""

    def __init__(self, command: list[str], place: Place) -> None:
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=place.project,
            env=place.env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.next_id = 0

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
        self.process.stdin.flush()

    def call(self, method: str, params: dict[str, Any]) -> Any:
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        deadline = time.monotonic() + APP_SERVER_TIMEOUT
        while True:
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            answer = json.loads(line)
            if answer.get("id") == self.next_id:
                assert "error" not in answer, answer
                return answer["result"]

    def close(self) -> None:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.close()
        self.process.kill()
        self.process.wait(timeout=10)
        self.process.stdout.close()


def test_codex_app_server_lists_and_calls_the_tools_after_setup(place: Place) -> None:
    codex = binary("codex")
    place.setup("codex")
    server = AppServer([codex, "app-server"], place)
    try:
        server.call("initialize", {"clientInfo": {"name": "hubbub-tests", "version": "1"}})
        server.send({"method": "initialized"})
        deadline = time.monotonic() + APP_SERVER_TIMEOUT
        while True:
            listed = server.call("mcpServerStatus/list", {})
            found = {s["name"]: s for s in listed["data"]}
            if found.get("hubbub", {}).get("tools") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert sorted(found["hubbub"]["tools"]) == sorted(t.name for t in tools("compact"))
        thread = server.call("thread/start", {"cwd": str(place.project)})["thread"]["id"]
        called = server.call(
            "mcpServer/tool/call",
            {"threadId": thread, "server": "hubbub", "tool": "hubbub_whoami", "arguments": {}},
        )
        assert called["structuredContent"]["name"] == place.agent, called
        hooks = server.call("hooks/list", {"cwds": [str(place.project)]})["data"][0]
        assert hooks["errors"] == []
        events = {h["eventName"]: h["command"] for h in hooks["hooks"]}
        assert set(events) == {"sessionStart", "userPromptSubmit", "stop", "sessionEnd"}
        assert all(f"--agent {place.agent}" in command for command in events.values())
    finally:
        server.close()
    assert len(codex_setup.EVENTS) == len(events)


def trust(place: Place) -> None:
    """Trust the project in Gemini CLI, as its trust dialog does."""
    trusted = place.home / ".gemini" / "trustedFolders.json"
    trusted.parent.mkdir(parents=True, exist_ok=True)
    trusted.write_text(json.dumps({str(place.project): "TRUST_FOLDER"}))


def test_gemini_cli_connects_after_setup(place: Place) -> None:
    gemini = binary("gemini")
    place.setup("gemini", "--project")
    trust(place)
    listed = place.run(gemini, "mcp", "list")
    output = listed.stdout + listed.stderr
    assert listed.returncode == 0, output
    assert re.search(r"hubbub.*Connected", output), output


def test_opencode_connects_after_setup(place: Place) -> None:
    opencode = binary("opencode")
    place.setup("opencode")
    listed = place.run(opencode, "mcp", "list")
    output = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)
    assert listed.returncode == 0, output
    assert re.search(r"hubbub.*connected", output, re.IGNORECASE), output


def test_cursor_files_follow_its_documented_format(place: Place) -> None:
    place.setup("cursor", "--project")
    mcp = json.loads((place.project / ".cursor" / "mcp.json").read_text())
    server = mcp["mcpServers"]["hubbub"]
    assert set(server) <= {"type", "command", "args", "env"}
    assert server["args"] == ["mcp", "--agent", place.agent]
    hooks = json.loads((place.project / ".cursor" / "hooks.json").read_text())
    assert hooks["version"] == 1
    assert set(hooks["hooks"]) == set(cursor_setup.EVENTS)
    for entries in hooks["hooks"].values():
        assert all(
            isinstance(e["command"], str) and set(e) <= {"command", "loop_limit"} for e in entries
        )
