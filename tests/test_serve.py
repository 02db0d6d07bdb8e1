"""``hubbub serve`` as a real process on a port-0 socket: first-start provisioning of the
client config, restarts, and the error shape over a real socket."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from hubbub import __version__
from hubbub.config import ClientConfig, write_file
from tests.clients import problem
from tests.live import HUBBUB, LiveHub, clean_env, running_hub

pytestmark = pytest.mark.e2e


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_first_start_writes_a_private_config_with_working_keys(live_hub: LiveHub) -> None:
    path = live_hub.config_path
    assert mode(path) == 0o600
    assert mode(path.parent) & 0o077 == 0
    assert mode(live_hub.db_path) == 0o600  # it holds the keys' hashes
    assert not path.with_name(path.name + ".tmp").exists()
    config = live_hub.config()
    assert config["url"] == live_hub.url
    assert config["machine"] == "lap"
    assert config["key"].startswith("hb_")
    assert not config["key"].startswith("hb_admin_")
    assert config["admin_key"].startswith("hb_admin_")
    assert any(f"{path} (written)" in line for line in live_hub.banner), live_hub.banner

    me = live_hub.request("GET", "/api/v1/me", key=config["key"], agent="lap-somewhere")
    assert me.status_code == 200
    assert me.json()["machine"] == "lap"
    other = live_hub.request("GET", "/api/v1/me", key=config["key"], agent="srv-somewhere")
    problem(other, 403, "wrong_machine")
    keys = live_hub.request("GET", "/api/v1/admin/keys", key=config["admin_key"])
    assert keys.status_code == 200
    provisioned = sorted(keys.json(), key=lambda k: k["id"])[:2]  # other tests add more
    assert sorted((k["kind"], k["machine"]) for k in provisioned) == [
        ("admin", None),
        ("machine", "lap"),
    ]


def test_errors_keep_their_shape_over_a_real_socket(live_hub: LiveHub) -> None:
    health = live_hub.request("GET", "/api/v1/health")
    assert health.status_code == 200
    assert health.json()["version"] == __version__
    problem(live_hub.request("GET", "/api/v1/board"), 401, "unauthorized")
    problem(live_hub.request("GET", "/api/v1/nope"), 404, "not_found")
    key = live_hub.config()["key"]
    headers = {"Content-Type": "application/json"}
    malformed = live_hub.request(
        "POST",
        "/api/v1/channels/general/messages",
        key=key,
        agent="lap-socket",
        content=b"{oops",
        headers=headers,
    )
    problem(malformed, 400, "bad_json")
    huge = live_hub.request(
        "POST",
        "/api/v1/channels/general/messages",
        key=key,
        agent="lap-socket",
        json={"content": "x" * 300_000},
    )
    problem(huge, 413, "too_large")
    spec = live_hub.request("GET", "/openapi.json")
    assert spec.status_code == 200
    assert "/api/v1/channels/{name}/messages" in spec.json()["paths"]


def test_a_restart_leaves_a_valid_config_alone_and_keeps_the_data(tmp_path: Path) -> None:
    with running_hub(tmp_path) as first:
        config = first.config()
        written = first.config_path.read_bytes()
        stamp = first.config_path.stat().st_mtime_ns
        posted = first.request(
            "POST",
            "/api/v1/channels/general/messages",
            key=config["key"],
            agent="lap-durable",
            json={"content": "survives a restart"},
        )
        assert posted.status_code == 201
        port = first.port

    with running_hub(tmp_path, port=port) as second:
        assert second.config_path.read_bytes() == written
        assert second.config_path.stat().st_mtime_ns == stamp
        assert mode(second.config_path) == 0o600
        assert any("(up to date)" in line for line in second.banner), second.banner
        assert not any("admin key hb_" in line for line in second.banner)
        page = second.request(
            "GET", "/api/v1/channels/general/messages", key=config["key"], agent="lap-durable"
        )
        assert page.status_code == 200
        assert [m["content"] for m in page.json()["messages"]] == ["survives a restart"]


def test_a_config_for_another_hub_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "config" / "hubbub" / "config.toml"
    theirs = ClientConfig(url="http://elsewhere.example:7878", key="hb_theirs", machine="far")
    write_file(theirs, path)
    before = path.read_bytes()
    with running_hub(tmp_path, config_path=path) as hub:
        assert path.read_bytes() == before
        assert any("left unchanged" in line for line in hub.banner), hub.banner
        admin_line = next(line for line in hub.banner if "admin key hb_" in line)
        admin_key = admin_line.split("admin key", 1)[1].split()[0]
        keys = hub.request("GET", "/api/v1/admin/keys", key=admin_key)
        assert keys.status_code == 200
        assert [k["kind"] for k in keys.json()] == ["admin"]


def test_no_provision_creates_no_keys_and_no_config(tmp_path: Path) -> None:
    with running_hub(tmp_path, args=["--no-provision"]) as hub:
        assert not hub.config_path.exists()
        assert httpx.get(hub.url + "/api/v1/health", timeout=5).status_code == 200
        conn = sqlite3.connect(f"file:{hub.db_path}?mode=ro", uri=True)
        try:
            assert conn.execute("SELECT count(*) FROM keys").fetchone() == (0,)
        finally:
            conn.close()


def test_a_start_up_error_is_one_clear_line(live_hub: LiveHub, tmp_path: Path) -> None:
    taken = subprocess.run(
        [str(HUBBUB), "serve", "--port", str(live_hub.port), "--db", str(tmp_path / "x.db")],
        capture_output=True,
        text=True,
        env=clean_env(tmp_path, HUBBUB_CONFIG=str(tmp_path / "c.toml")),
        timeout=60,
        check=False,
    )
    assert taken.returncode == 1, (taken.stdout, taken.stderr)
    assert "cannot listen" in taken.stdout + taken.stderr
    assert "Traceback" not in taken.stdout + taken.stderr
