"""What the docs and help texts claim holds: the README's tour, run as written (every shell
block in order, the CLI tour then the REST one with curl, against a real ``hubbub serve`` on a
fresh database and home directory, leaving out only what cannot run here: following a stream,
another machine's login, ``claude``); the wait limit the tool texts state; the size of the
compact tool surface that ``--tools`` help states; who uses ``admin_key``."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from hubbub.cli.tools import COMPACT_TOOLS
from hubbub.client import operations
from hubbub.docgen import CLIENT_FIELDS
from hubbub.settings import Settings
from hubbub.tools import get, tools
from hubbub.tools.guide import HELP
from hubbub.tools.registry import DEFAULT_MAX_WAIT, WAIT_RANGE, wait_setting
from tests.live import HUBBUB, clean_env, run_cli, running_hub

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)
# Lines that wait forever, need another machine or a program this test does not have.
SKIPPED = ("make ", "tail -f", "claude mcp", "<hub>", "curl -N")


def tour_script(scratch: Path) -> str:
    """The README's shell blocks as one script, lines that cannot run here left out."""
    lines = ["set -eu"]
    for block in BLOCK.findall(README.read_text()):
        for line in block.splitlines():
            if any(marker in line for marker in SKIPPED):
                continue
            lines.append(line.replace("/tmp/", f"{scratch}/"))
    return "\n".join(lines) + "\n"


@pytest.mark.e2e
def test_the_readme_tour_runs_and_its_ack_acknowledges_the_peeked_items(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = home / ".config" / "hubbub" / "config.toml"
    with running_hub(home, config_path=config) as hub:
        project = home / "myproj"
        project.mkdir()
        (project / "build.log").write_text("step 3 failed\n")
        env = clean_env(home, XDG_CONFIG_HOME=str(home / ".config"))
        env["PATH"] = f"{HUBBUB.parent}{os.pathsep}{env.get('PATH', '')}"
        done = subprocess.run(
            ["bash", "-c", tour_script(tmp_path)],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=50,
            check=False,
        )
        assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
        # The only problem answered is the one the tour shows on purpose.
        problems = re.findall(r'"code":"([a-z_]+)"', done.stdout)
        assert problems == ["unknown_target"], done.stdout[-3000:]
        # The REST tour's ack took the cursor from its peek: $M-web has nothing left unacked.
        key = hub.config()["key"]
        inbox = hub.request("GET", "/api/v1/inbox", key=key, agent="lap-web").json()
        assert inbox["unacked"] == 0, inbox
        acked = hub.request(
            "GET", "/api/v1/inbox", key=key, agent="lap-web", params={"include_acked": "true"}
        ).json()
        contents = [item["message"]["content"] for item in acked["items"]]
        assert contents[-2:] == ["Can you take the migration?", "@lap-web the schema changed"]
        assert (home / "build.log").exists() is False
        assert (tmp_path / "build.log").read_text() == "step 3 failed\n"


def test_the_wait_texts_state_the_settings_default_and_range() -> None:
    field = Settings.model_fields["tool_wait_seconds"]
    bounds = {type(m).__name__: m for m in field.metadata}
    low, high = float(bounds["Ge"].ge), float(bounds["Le"].le)
    assert (field.default, low, high) == (DEFAULT_MAX_WAIT, *WAIT_RANGE)
    assert wait_setting({}) == DEFAULT_MAX_WAIT
    stated = f"{DEFAULT_MAX_WAIT:g} s by default, a limit set from {low:g} to {high:g} s"
    assert stated == "30 s by default, a limit set from 1 to 50 s"
    assert stated in get("hubbub_wait").description
    assert stated in " ".join(HELP.split())
    for text in (get("hubbub_wait").description, HELP):
        assert "25" not in text


def test_the_tools_option_states_the_size_of_the_compact_surface(tmp_path: Path) -> None:
    assert len(tools("compact")) == COMPACT_TOOLS
    shown = run_cli(["mcp", "--help"], home=tmp_path, config_path=tmp_path / "none.toml")
    assert shown.returncode == 0, shown.stderr
    assert f"compact (the {COMPACT_TOOLS} everyday tools)" in " ".join(shown.stdout.split())


def test_every_command_that_sends_the_admin_key_is_named_where_it_is_documented() -> None:
    """The admin operations of the SDK and the commands built on them, against what
    ``docs/settings.md`` says of ``admin_key``."""
    import inspect

    admin_ops = sorted(
        name
        for name, function in inspect.getmembers(operations, inspect.isfunction)
        if function.__module__ == operations.__name__
        and "admin=True" in inspect.getsource(function)
    )
    assert admin_ops, "no admin operations found"
    cli = Path(__file__).resolve().parents[1] / "src" / "hubbub" / "cli"
    users = sorted(
        path.stem
        for path in cli.glob("*.py")
        if any(re.search(rf"client\.{name}\(", path.read_text()) for name in admin_ops)
    )
    assert {"dashboard", "integrations", "keys", "users"} <= set(users)
    said = CLIENT_FIELDS["admin_key"]
    assert "every command and SDK method that needs an admin" in said
    for command in ("keys", "users", "integrations", "dashboard"):
        assert f"`{command}`" in said or f"`hubbub {command}`" in said
    documented = (Path(__file__).resolve().parents[1] / "docs" / "settings.md").read_text()
    assert said in documented
