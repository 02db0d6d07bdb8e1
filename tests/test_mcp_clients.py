"""Real external MCP clients against a real hub: the MCP Inspector's CLI lists and calls
tools on ``hubbub mcp`` (stdio) and on ``/mcp`` (HTTP), and Claude Code's ``claude mcp list``
reports both connected. Both come from npm (``.ci/run`` installs them into
``build/npm``); without them the tests skip, except under CI, where that is a failure."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hubbub.tools import tools
from tests.live import HUBBUB, LiveHub, clean_env, running_hub

pytestmark = pytest.mark.e2e

NPM_BIN = Path(__file__).resolve().parents[1] / "build" / "npm" / "node_modules" / ".bin"
INSPECTOR = "mcp-inspector"
CLAUDE = "claude"
TIMEOUT = 90
EXIT_TOOL_ERROR = 5  # the Inspector's exit code for a tool result with isError
# One line per server in 'claude mcp list', e.g. "hubbub: hubbub mcp - ✔ Connected".
STATUS = re.compile(r"^([\w-]+): .* - (✔ Connected|✘ Failed to connect)", re.MULTILINE)


def search_path() -> str:
    """``PATH`` with the project's npm tools (and the Node.js they need) first."""
    return os.pathsep.join([str(NPM_BIN), os.environ.get("PATH", "")])


def binary(name: str) -> str:
    """The path of an npm tool; skips the test if it is not installed (fails under CI)."""
    found = shutil.which(name, path=search_path())
    if found is None:
        reason = f"{name} is not installed: run .ci/run, or npm install it into build/npm"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def client_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    with running_hub(tmp_path_factory.mktemp("mcp-clients")) as started:
        yield started


def run(home: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """A command with a private home, the project's npm tools on PATH and no telemetry."""
    home.mkdir(parents=True, exist_ok=True)
    env = clean_env(
        home,
        PATH=search_path(),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_STATE_HOME=str(home / "state"),
        DISABLE_TELEMETRY="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        DISABLE_AUTOUPDATER="1",
    )
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=home,
        env=env,
        timeout=TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def inspect(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(home, binary(INSPECTOR), "--cli", *args)


def stdio_target(hub: LiveHub, agent: str) -> list[str]:
    """Inspector arguments that spawn ``hubbub mcp`` as ``agent`` of ``hub``."""
    return ["-e", f"HUBBUB_CONFIG={hub.config_path}", "-e", f"HUBBUB_AGENT={agent}", str(HUBBUB)]


def http_target(hub: LiveHub, agent: str, key: str | None = None) -> list[str]:
    secret = key or hub.config()["key"]
    return [
        hub.url + "/mcp",
        "--header",
        f"Authorization: Bearer {secret}",
        "--header",
        f"X-Hubbub-Agent: {agent}",
    ]


def answer(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, (done.returncode, done.stdout, done.stderr)
    return json.loads(done.stdout)


def test_the_inspector_lists_and_calls_tools_over_stdio(
    client_hub: LiveHub, tmp_path: Path
) -> None:
    target = [*stdio_target(client_hub, "lap-inspected"), "mcp"]
    listed = answer(inspect(tmp_path, *target, "--method", "tools/list", "--strict"))
    assert [tool["name"] for tool in listed["tools"]] == [t.name for t in tools("compact")]
    assert all("outputSchema" in tool and "annotations" in tool for tool in listed["tools"])

    call = ["--method", "tools/call", "--tool-name", "hubbub_send"]
    sent = answer(inspect(tmp_path, *target, *call, "--tool-arg", "to=#general", "text=hi"))
    assert sent["isError"] is False
    assert sent["structuredContent"]["to"] == "#general"

    whoami = ["--method", "tools/call", "--tool-name", "hubbub_whoami"]
    assert answer(inspect(tmp_path, *target, *whoami))["structuredContent"]["name"] == (
        "lap-inspected"
    )

    full = answer(inspect(tmp_path, *target, "--tools", "full", "--method", "tools/list"))
    assert len(full["tools"]) == len(tools("full"))


def test_the_inspector_lists_and_calls_tools_over_http(client_hub: LiveHub, tmp_path: Path) -> None:
    target = http_target(client_hub, "lap-remote")
    listed = answer(inspect(tmp_path, *target, "--method", "tools/list", "--strict"))
    assert [tool["name"] for tool in listed["tools"]] == [t.name for t in tools("compact")]

    call = ["--method", "tools/call", "--tool-name", "hubbub_send"]
    answer(inspect(tmp_path, *target, *call, "--tool-arg", "to=#general", "text=over http"))
    read = ["--method", "tools/call", "--tool-name", "hubbub_read", "--tool-arg", "channel=general"]
    page = answer(inspect(tmp_path, *target, *read))["structuredContent"]
    assert [(m["sender"], m["text"].splitlines()[1]) for m in page["messages"]][-1] == (
        "lap-remote",
        "over http",
    )

    refused = inspect(tmp_path, *target, *read[:-1], "channel=nowhere")
    assert refused.returncode == EXIT_TOOL_ERROR, (refused.stdout, refused.stderr)
    assert "channel_not_found" in refused.stdout

    wrong_key = http_target(client_hub, "lap-remote", "hb_wrong")
    assert inspect(tmp_path, *wrong_key, "--method", "tools/list").returncode != 0


def claude_http(name: str, hub: LiveHub, key: str, agent: str) -> list[str]:
    """``claude mcp add`` arguments for ``/mcp`` with a bearer key and an agent header."""
    headers = ["--header", f"Authorization: Bearer {key}", "--header", f"X-Hubbub-Agent: {agent}"]
    return ["--transport", "http", name, hub.url + "/mcp", *headers]


def test_claude_code_reports_hubbub_connected(client_hub: LiveHub, tmp_path: Path) -> None:
    claude = binary(CLAUDE)
    home = tmp_path / "claude-home"
    config = f"HUBBUB_CONFIG={client_hub.config_path}"
    stdio = ["hubbub", "-e", config, "--", str(HUBBUB), "mcp", "--agent", "lap-claude"]
    for server in (
        stdio,
        claude_http("hubbub-http", client_hub, client_hub.config()["key"], "lap-claude-http"),
        claude_http("hubbub-bad", client_hub, "hb_wrong", "lap-claude-bad"),
    ):
        added = run(home, claude, "mcp", "add", "--scope", "user", *server)
        assert added.returncode == 0, (added.stdout, added.stderr)

    listed = run(home, claude, "mcp", "list")
    assert listed.returncode == 0, (listed.stdout, listed.stderr)
    status = {found[1]: found[2] for found in STATUS.finditer(listed.stdout)}
    assert status == {
        "hubbub": "✔ Connected",
        "hubbub-http": "✔ Connected",
        "hubbub-bad": "✘ Failed to connect",
    }, listed.stdout
