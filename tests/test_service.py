"""``hubbub service``: the hub as a background service of the user. The unit is written into a
temporary home and checked with ``systemd-analyze verify`` where it exists (no test enables a
user unit); ``status`` reads the address back from the unit and asks a real hub there."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hubbub.service import Launchd, Service, Systemd
from tests.live import HUBBUB, LiveHub, clean_env, running_hub

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    with running_hub(tmp_path_factory.mktemp("service-hub")) as started:
        yield started


def hubbub(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HUBBUB), "service", *args],
        capture_output=True,
        text=True,
        cwd=home,
        env=clean_env(home, **env),
        timeout=60,
        check=False,
    )


def unit_file(home: Path) -> Path:
    return home / "config" / "systemd" / "user" / "hubbub.service"


def test_install_writes_the_unit_status_asks_the_hub_uninstall_removes_it(
    hub: LiveHub, tmp_path: Path
) -> None:
    args = ["--port", str(hub.port), "--db", "hub.db"]
    extra = {"HUBBUB_ACCESS_LOG": "false", "MY_TOKEN": "t0ken"}
    printed = hubbub(tmp_path, "install", *args, "--env", "MY_TOKEN", "--print", **extra)
    assert printed.returncode == 0, printed.stderr
    assert not unit_file(tmp_path).exists(), "--print wrote something"
    done = hubbub(tmp_path, "install", *args, "--env", "MY_TOKEN", "--no-enable", **extra)
    assert done.returncode == 0, done.stderr
    assert "systemctl --user" in done.stdout
    unit = unit_file(tmp_path)
    text = unit.read_text()
    assert text == printed.stdout
    assert stat.S_IMODE(unit.stat().st_mode) == 0o600, "the unit holds the database's address"
    exec_line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    assert exec_line == f"ExecStart={HUBBUB} serve --host 127.0.0.1 --port {hub.port}"
    # The database goes by environment, never on a command line; relative paths are resolved
    # where the install ran, since the service starts elsewhere.
    assert f'Environment="HUBBUB_DB={tmp_path / "hub.db"}"' in text
    assert 'Environment="HUBBUB_ACCESS_LOG=false"' in text  # the hub's settings set now
    assert 'Environment="MY_TOKEN=t0ken"' in text
    assert "MY_TOKEN" not in hubbub(tmp_path, "install", "--print", **extra).stdout
    assert "Restart=always" in text
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
    # status reads the address back from the unit, and asks the hub there.
    shown = hubbub(tmp_path, "status", "--json")
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    assert status["installed"] is True
    assert status["hub"].startswith(f"up at http://127.0.0.1:{hub.port}/api/v1/health")
    removed = hubbub(tmp_path, "uninstall")
    assert removed.returncode == 0, removed.stderr
    assert not unit.exists()
    assert json.loads(hubbub(tmp_path, "status", "--json").stdout)["installed"] is False
    for command in ("uninstall", "stop", "restart", "logs"):
        gone = hubbub(tmp_path, command)
        assert gone.returncode == 3, (command, gone.stderr)
        assert "error (service_not_found)" in gone.stderr


def test_a_refused_install_writes_nothing(tmp_path: Path) -> None:
    refused = [
        (["--port", "0"], 1, "bad_service"),
        (["--env", "NOT_SET_ANYWHERE", "--no-enable"], 1, "bad_service"),
        (["--port", "70000"], 2, "setting port"),
    ]
    for args, code, said in refused:
        done = hubbub(tmp_path, "install", *args)
        assert done.returncode == code, (args, done.stderr)
        assert said in done.stderr + done.stdout, (args, done.stderr)
    assert not (tmp_path / "config" / "systemd").exists()


@pytest.mark.skipif(
    Path("/run/systemd/system").is_dir(), reason="systemd runs here: install would start it"
)
def test_without_systemd_install_says_so_and_gives_the_command(tmp_path: Path) -> None:
    done = hubbub(tmp_path, "install", "--port", "7999", "--db", "hub.db")
    assert done.returncode == 1
    assert "error (service_unavailable): systemd is not running" in done.stderr
    said = " ".join(done.stderr.split())
    assert f"nohup {HUBBUB} serve --host 127.0.0.1 --port 7999 --db {tmp_path / 'hub.db'}" in said
    assert not (tmp_path / "config" / "systemd").exists()


def test_a_units_command_reads_back_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    argv = ["/opt/hub bin/hubbub", "serve", "--host", "::1", 'say "hi"', "100%", "$HOME", ""]
    service = Service("hubbub", "Hubbub", argv, tmp_path)
    for services in (Systemd(), Launchd()):
        monkeypatch.setattr(Path, "home", lambda: tmp_path)
        services.write(service)
        assert services.command("hubbub") == argv, services.kind
