"""``hubbub login`` writing a working private config, and ``hubbub tail -f`` following a hub
through a restart without losing or repeating a message."""

from __future__ import annotations

import signal
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.live import LiveHub, ok_json, run_cli, running_cli, running_hub

pytestmark = pytest.mark.e2e


def test_login_checks_the_key_and_writes_a_private_config(
    live_hub: LiveHub, tmp_path: Path
) -> None:
    key = live_hub.config()["key"]
    config_path = tmp_path / "elsewhere" / "config.toml"

    def cli(*args: str) -> Any:
        return ok_json(run_cli(args, home=live_hub.home, config_path=config_path))

    refused = run_cli(
        ["login", live_hub.url, "--key", "hb_wrong", "--machine", "lap"],
        home=live_hub.home,
        config_path=config_path,
    )
    assert (refused.returncode, "bad_key" in refused.stderr) == (4, True), refused.stderr
    assert not config_path.exists()

    me = cli("login", live_hub.url + "/", "--key", key, "--machine", "lap", "--json")
    assert (me["name"], me["machine"]) == ("lap-myproj", "lap")
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    with config_path.open("rb") as handle:
        written = tomllib.load(handle)
    assert written == {"url": live_hub.url, "key": key, "machine": "lap"}

    assert cli("whoami", "--json")["name"] == "lap-myproj"
    posted = cli("post", "general", "logged in and posting", "--json")
    assert posted["author"] == "lap-myproj"

    again = cli("login", live_hub.url, "--key", key, "--agent", "lap-fixed", "--json")
    assert again["name"] == "lap-fixed"  # the machine comes from the config written before
    assert cli("whoami", "--json")["name"] == "lap-fixed"


def test_tail_follows_through_a_restart_with_no_gap_or_repeat(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with running_hub(home) as first:
        key = first.config()["key"]

        def post(hub: LiveHub, content: str) -> None:
            done = hub.request(
                "POST",
                "/api/v1/channels/general/messages",
                key=key,
                agent="lap-poster",
                json={"content": content},
            )
            assert done.status_code == 201, done.text

        post(first, "before the tail")
        tail = running_cli(
            ["tail", "-f", "general", "-n", "1"], home=home, config_path=first.config_path
        )
        with tail as following:
            following.until("before the tail")
            post(first, "live while up")
            following.until("live while up")
            first.process.terminate()  # the rest of the restart happens below
            first.process.wait(timeout=15)
            with running_hub(
                home, port=first.port, config_path=first.config_path, db_path=first.db_path
            ) as second:
                post(second, "posted just after the restart")
                following.until("posted just after the restart")
                post(second, "and once reconnected")
                following.until("and once reconnected")
                following.process.send_signal(signal.SIGINT)
                lines = following.finish()
                assert following.process.returncode == 0, lines

    contents = [line.strip() for line in lines if not line.startswith("#")]
    assert [c for c in contents if c] == [
        "before the tail",
        "live while up",
        "posted just after the restart",
        "and once reconnected",
    ], lines
    headers = [line for line in lines if line.startswith("#")]
    assert len(headers) == len(set(headers)) == 4
    assert all(" lap-poster in #general " in h for h in headers), headers
    assert not any("Traceback" in line or "error" in line for line in lines), lines
