"""The argument lists the runner builds for the real harnesses from npm are accepted by them:
started as the runner starts them, in each approval mode, with no login and (where the
kernel allows an empty network namespace) no network, each ends in an authentication or
network error, never a usage error, within 30 s. Codex and OpenCode wait for a network rather
than fail, so for them the test reads how far they got (the sandbox or agent they took up,
the request they could not send) and checks every option against their ``--help``.
Without a binary the test skips, except under CI."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from hubbub.runner import harnesses
from hubbub.runner.harnesses import Harness, Mode
from hubbub.runner.runs import run
from tests.live import clean_env
from tests.test_mcp_clients import binary, search_path

pytestmark = pytest.mark.anyio

LIMIT = 30.0  # seconds each binary gets
PROMPT = "Say hello. (a test of the runner's argument list)"
USAGE = re.compile(r"unknown option|unexpected argument|Usage:|Unknown arguments|Invalid values")


def offline() -> list[str]:
    """A prefix running a command with no network (an empty network namespace), or none
    where the kernel does not allow it."""
    if shutil.which("unshare") is None:
        return []
    done = subprocess.run(["unshare", "-rn", "true"], capture_output=True, check=False)
    return ["unshare", "-rn"] if done.returncode == 0 else []


def harness_env(home: Path) -> dict[str, str]:
    """No credentials, no telemetry, no updates: a fresh home of its own."""
    (home / ".codex").mkdir(parents=True, exist_ok=True)
    return clean_env(
        home,
        PATH=search_path(),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        CODEX_HOME=str(home / ".codex"),
        DISABLE_TELEMETRY="1",
        DISABLE_AUTOUPDATER="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        OPENCODE_DISABLE_AUTOUPDATE="1",
        HUBBUB_RUNNER="1",
    )


def made(name: str, extra: tuple[str, ...] = ()) -> Harness:
    program = binary(name)
    return harnesses.harness(name, extra, which=lambda _: program)


MODES: list[Mode] = ["open", "read-only"]


@pytest.mark.parametrize("mode", MODES)
async def test_claude_takes_the_arguments_and_fails_on_the_missing_login(
    mode: Mode, tmp_path: Path
) -> None:
    harness = made("claude")
    invocation = harness.invocation(PROMPT, tmp_path, mode, tmp_path)
    assert invocation.argv[1:] == [
        "-p",
        "--output-format",
        "json",
        "--permission-mode",
        "plan" if mode == "read-only" else "acceptEdits",
    ]
    argv = [*offline(), *invocation.argv]
    started = time.monotonic()
    ended = await run(
        harnesses.Invocation(argv, invocation.stdin),
        cwd=tmp_path,
        env=harness_env(tmp_path / "home"),
        seconds=LIMIT,
    )
    assert not ended.timed_out
    assert time.monotonic() - started < LIMIT
    answer = harness.answer(ended.exit_code, ended.stdout, ended.stderr, tmp_path)
    assert not answer.ok
    assert answer.text == "claude reported an error: Not logged in · Please run /login"
    assert not USAGE.search(ended.stderr.decode())


@pytest.mark.parametrize("mode", MODES)
async def test_gemini_takes_the_arguments_and_fails_on_the_missing_login(
    mode: Mode, tmp_path: Path
) -> None:
    harness = made("gemini")
    invocation = harness.invocation(PROMPT, tmp_path, mode, tmp_path)
    approval = "plan" if mode == "read-only" else "auto_edit"
    assert invocation.argv[1:] == [
        "--skip-trust",
        "--output-format",
        "json",
        "--approval-mode",
        approval,
        "--prompt",
        PROMPT,
    ]
    assert invocation.stdin is None
    ended = await run(
        harnesses.Invocation([*offline(), *invocation.argv], None),
        cwd=tmp_path,
        env=harness_env(tmp_path / "home"),
        seconds=LIMIT,
    )
    assert not ended.timed_out
    assert ended.exit_code == 41, ended.stderr.decode()[-2000:]
    answer = harness.answer(ended.exit_code, ended.stdout, ended.stderr, tmp_path)
    assert not answer.ok
    assert answer.text.startswith("gemini exited with code 41: no authentication is set up")
    assert "GEMINI_API_KEY" in answer.text


def watch(argv: list[str], stdin: bytes, env: dict[str, str], cwd: Path, wanted: str) -> str:
    """Run ``argv`` until its output matches every pattern in ``wanted`` (one regex) or the
    time runs out; what it printed (stdout and stderr together). It is killed either way."""
    pattern = re.compile(wanted, re.DOTALL)
    log = cwd / "output.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=cwd
        )
        try:
            assert process.stdin is not None
            process.stdin.write(stdin)
            process.stdin.close()
            deadline = time.monotonic() + LIMIT
            while time.monotonic() < deadline and process.poll() is None:
                if pattern.search(log.read_text(errors="replace")):
                    break
                time.sleep(0.1)  # polling interval
        finally:
            process.kill()
            process.wait(timeout=30)
    return log.read_text(errors="replace")


def help_lists(argv: list[str], options: list[str], env: dict[str, str]) -> None:
    """``argv --help`` names every one of ``options``."""
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
    shown = done.stdout + done.stderr  # some print their help on stderr
    missing = [option for option in options if option not in shown]
    assert not missing, f"{' '.join(argv)} does not list {missing}"


@pytest.mark.parametrize("mode", MODES)
def test_codex_takes_the_arguments(mode: Mode, tmp_path: Path) -> None:
    harness = made("codex")
    invocation = harness.invocation(PROMPT, tmp_path, mode, tmp_path)
    sandbox = "read-only" if mode == "read-only" else "workspace-write"
    options = [a for a in invocation.argv[2:] if a.startswith("-") and a != "-"]
    assert options == [
        "--skip-git-repo-check",
        "--cd",
        "--sandbox",
        "--output-last-message",
    ]
    env = harness_env(tmp_path / "home")
    help_lists([invocation.argv[0], "exec", "--help"], options, env)
    prefix = offline()
    if not prefix:
        pytest.skip("no empty network namespace here: only the options were checked")
    assert invocation.stdin is not None
    printed = watch(
        [*prefix, *invocation.argv],
        invocation.stdin,
        env,
        tmp_path,
        rf"sandbox: {sandbox}.*{re.escape(PROMPT)}.*(failed to connect|[Rr]econnecting|error)",
    )
    assert not USAGE.search(printed), printed[-2000:]
    assert f"sandbox: {sandbox}" in printed, printed[-2000:]
    assert PROMPT in printed, "the prompt on stdin did not arrive"
    assert re.search(r"failed to connect|[Rr]econnecting", printed), printed[-2000:]


@pytest.mark.parametrize("mode", MODES)
def test_opencode_takes_the_arguments(mode: Mode, tmp_path: Path) -> None:
    # Its own logs (an extra argument, as --arg gives one) say which agent it took up.
    harness = made("opencode", ("--print-logs", "--log-level", "INFO"))
    invocation = harness.invocation(PROMPT, tmp_path, mode, tmp_path)
    expected = ["run", "--format", "json", "--dir", str(tmp_path)]
    expected += ["--agent", "plan"] if mode == "read-only" else []
    assert invocation.argv[1 : 1 + len(expected)] == expected
    env = harness_env(tmp_path / "home")
    options = [a for a in invocation.argv[2:] if a.startswith("--")]
    help_lists([invocation.argv[0], "run", "--help"], options, env)
    prefix = offline()
    if not prefix:
        pytest.skip("no empty network namespace here: only the options were checked")
    assert invocation.stdin is not None
    agent = "plan" if mode == "read-only" else r"\w+"
    printed = watch(
        [*prefix, *invocation.argv],
        invocation.stdin,
        env,
        tmp_path,
        rf"agent={agent}.*(Cannot connect to API|Unable to connect)",
    )
    assert not USAGE.search(printed), printed[-2000:]
    assert "not found. Falling back" not in printed, printed[-2000:]
    assert re.search(rf"agent={agent} ", printed), printed[-2000:]
    assert re.search(r"Cannot connect to API|Unable to connect", printed), printed[-2000:]
