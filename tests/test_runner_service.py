"""``hubbub agent install|status|logs|uninstall`` and the unit writer under them: the systemd
user unit and the launchd agent a runner is installed as (checked with ``systemd-analyze
verify`` where it exists; no test enables a user unit), how commands and environments are
quoted, and that a refused install writes nothing."""

from __future__ import annotations

import json
import os
import plistlib
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hubbub.core.errors import InvalidInput
from hubbub.service import Launchd, Service, Systemd, systemd_unit, systemd_word
from tests.live import HUBBUB, LiveHub, clean_env, running_hub
from tests.runners import STANDIN_EXEC

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    with running_hub(tmp_path_factory.mktemp("service-hub")) as started:
        yield started


def hubbub(hub: LiveHub, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HUBBUB), *args],
        capture_output=True,
        text=True,
        cwd=home,
        env=clean_env(home, HUBBUB_CONFIG=str(hub.config_path), ANTHROPIC_API_KEY="sk-test"),
        timeout=60,
        check=False,
    )


def test_systemd_words_survive_its_quoting() -> None:
    assert systemd_word("/usr/bin/hubbub") == "/usr/bin/hubbub"
    assert systemd_word("--arg=--flag") == "--arg=--flag"
    assert systemd_word("two words") == '"two words"'
    assert systemd_word('say "hi"') == '"say \\"hi\\""'
    assert systemd_word("100%") == "100%%"
    assert systemd_word("$HOME") == '"$$HOME"'
    assert systemd_word("") == '""'
    assert systemd_word(";") == '";"'


def test_a_unit_refuses_what_it_cannot_carry(tmp_path: Path) -> None:
    good = Service("hubbub-agent-lap-ops", "d", ["/bin/true"], tmp_path, {"A": "b"})
    assert "ExecStart=/bin/true" in systemd_unit(good)
    for bad in (
        Service("Bad Name", "d", ["/bin/true"], tmp_path),
        Service("ok", "d", ["true"], tmp_path),
        Service("ok", "d", ["/bin/true", "line\nbreak"], tmp_path),
        Service("ok", "d", ["/bin/true"], tmp_path, {"BAD-NAME": "x"}),
        Service("ok", "d", ["/bin/true"], Path("relative")),
    ):
        with pytest.raises(InvalidInput):
            systemd_unit(bad)


def test_a_launchd_agent_runs_the_same_command(tmp_path: Path) -> None:
    service = Service(
        "hubbub-agent-lap-ops",
        "Hubbub runner",
        ["/opt/hubbub", "agent", "run", "--exec", "claude --model x"],
        tmp_path,
        {"PATH": "/usr/bin", "HUBBUB_KEY": "hb_secret"},
    )
    document = plistlib.loads(Launchd().render(service).encode())
    assert document["Label"] == "hubbub.hubbub-agent-lap-ops"
    assert document["ProgramArguments"] == list(service.argv)
    assert document["EnvironmentVariables"] == dict(service.environment)
    assert document["WorkingDirectory"] == str(tmp_path)
    assert document["KeepAlive"] is True
    assert document["RunAtLoad"] is True
    assert document["StandardErrorPath"].endswith("Library/Logs/hubbub/hubbub-agent-lap-ops.log")


def test_install_writes_a_unit_status_reads_it_uninstall_removes_it(
    hub: LiveHub, tmp_path: Path
) -> None:
    agent = "lap-always"
    work = tmp_path / "project"
    work.mkdir()
    args = ["--agent", agent, "--exec", STANDIN_EXEC, "--cwd", str(work)]
    args += ["--mode", "guarded", "--approver", "lap-boss", "--concurrency", "2"]
    args += ["--arg=--verbose", "--env", "ANTHROPIC_API_KEY"]
    printed = hubbub(hub, tmp_path, "agent", "install", *args, "--print")
    assert printed.returncode == 0, printed.stderr
    unit_path = Systemd().path("hubbub-agent-lap-always")
    assert not (tmp_path / "config" / "systemd").exists(), "--print wrote something"
    done = hubbub(hub, tmp_path, "agent", "install", *args, "--no-enable")
    assert done.returncode == 0, done.stderr
    unit = tmp_path / "config" / "systemd" / "user" / unit_path.name
    text = unit.read_text()
    assert text == printed.stdout
    assert stat.S_IMODE(unit.stat().st_mode) == 0o600, "the unit may hold a key"
    assert f"WorkingDirectory={work}" in text
    assert f'Environment="HUBBUB_CONFIG={hub.config_path}"' in text
    assert 'Environment="ANTHROPIC_API_KEY=sk-test"' in text
    assert 'Environment="PATH=' in text
    exec_line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    assert exec_line.startswith(f"ExecStart={HUBBUB} agent run --agent {agent} --exec ")
    assert f'"{STANDIN_EXEC}"' in exec_line
    assert "--mode guarded --approver lap-boss" in exec_line
    assert "--concurrency 2 --arg=--verbose" in exec_line
    assert "Restart=always" in text
    assert "systemctl --user" in done.stdout
    if shutil.which("systemd-analyze"):
        verified = subprocess.run(
            ["systemd-analyze", "verify", str(unit)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")},
        )
        assert verified.returncode == 0, verified.stderr
    assert hubbub(hub, tmp_path, "whoami", "--agent", agent).returncode == 0  # on the hub now
    shown = hubbub(hub, tmp_path, "agent", "status", "--agent", agent, "--json")
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    assert status["installed"] is True
    assert status["agent"]["name"] == agent
    assert status["agent"]["runner"] is False  # it has never run
    removed = hubbub(hub, tmp_path, "agent", "uninstall", "--agent", agent)
    assert removed.returncode == 0, removed.stderr
    assert not unit.exists()
    for command in ("uninstall", "logs"):
        gone = hubbub(hub, tmp_path, "agent", command, "--agent", agent)
        assert gone.returncode == 3, (command, gone.stderr)
        assert "error (service_not_found)" in gone.stderr


def test_a_refused_install_writes_nothing(hub: LiveHub, tmp_path: Path) -> None:
    refused = [
        (["--exec", STANDIN_EXEC, "--mode", "read-only"], "read_only_unsupported"),
        (["--exec", "claude", "--mode", "read-only", "--arg=--yolo"], "read_only_unsupported"),
        (["--exec", "no-such-harness"], "harness_not_found"),
        (["--exec", STANDIN_EXEC, "--env", "NOT_SET_ANYWHERE"], "bad_runner_option"),
    ]
    for args, code in refused:
        done = hubbub(hub, tmp_path, "agent", "install", "--agent", "lap-always", *args)
        assert done.returncode == 1, (args, done.stderr)
        assert f"error ({code})" in done.stderr, (args, done.stderr)
    assert not (tmp_path / "config" / "systemd").exists()
