"""Agent profiles: ``HUBBUB_LABEL``, ``HUBBUB_TAGS``, ``HUBBUB_CAPS``, ``HUBBUB_CHANNELS`` and
the ``HUBBUB_PROFILE`` table of ``profiles.toml``, applied with one request by every client
when it starts acting as the agent (the SDK, the CLI, ``hubbub mcp``), and none when nothing
is set; explicit values over the environment over the file; a bad profile refused whole."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from mcp.client import Client as McpClient
from mcp.client.stdio import StdioServerParameters

from hubbub.client import AsyncClient
from hubbub.client.profiles import Profile, read_profile, resolve_profile
from hubbub.core.errors import InvalidInput, NotFound
from hubbub.paths import default_profiles_file
from tests.clients import InProcessHub
from tests.live import HUBBUB, LiveHub, clean_env, cli_of, ok_json

pytestmark = pytest.mark.anyio

PROFILES = """
[writer]
label = "test writer"
tags = ["docs", "python"]
caps = "review, write"
channels = ["#general", "project-books"]
visibility = "hidden"
status = "busy"

[quiet]
visibility = "ghost"
"""

PROFILE_VARS = ("LABEL", "TAGS", "CAPS", "CHANNELS", "PROFILE")


@pytest.fixture
def profiles_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private config home holding ``profiles.toml``, and no profile variables set."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in PROFILE_VARS:
        monkeypatch.delenv(f"HUBBUB_{name}", raising=False)
    target = default_profiles_file()
    target.parent.mkdir(parents=True)
    target.write_text(PROFILES)
    return target


# resolving


def test_the_profiles_file_lives_beside_the_config_file(profiles_home: Path) -> None:
    assert profiles_home.name == "profiles.toml"
    assert profiles_home.parent.name == "hubbub"
    assert profiles_home.parent.parent.name == "config"


def test_nothing_set_is_an_empty_profile(profiles_home: Path) -> None:
    found = resolve_profile()
    assert not found
    assert found.changes() == {}


def test_a_named_profile_comes_from_the_file(
    profiles_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBBUB_PROFILE", "writer")
    assert resolve_profile().changes() == {
        "label": "test writer",
        "tags": ["docs", "python"],
        "capabilities": ["review", "write"],
        "channels": ["general", "project-books"],
        "visibility": "hidden",
        "status": "busy",
    }


def test_explicit_values_win_over_the_environment_which_wins_over_the_file(
    profiles_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBBUB_PROFILE", "writer")
    monkeypatch.setenv("HUBBUB_LABEL", "env label")
    monkeypatch.setenv("HUBBUB_TAGS", "ops, ,night")
    monkeypatch.setenv("HUBBUB_CHANNELS", "")  # empty: unset
    found = resolve_profile(Profile(tags=("explicit",)))
    assert found.label == "env label"
    assert found.tags == ("explicit",)
    assert found.caps == ("review", "write")
    assert found.channels == ("general", "project-books")
    assert resolve_profile().tags == ("ops", "night")
    # A profile named explicitly wins over HUBBUB_PROFILE, and the variables still over it.
    quiet = resolve_profile("quiet")
    assert (quiet.visibility, quiet.label, quiet.status) == ("ghost", "env label", None)


def test_an_unknown_profile_names_the_file_and_the_known_ones(
    profiles_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBBUB_PROFILE", "editor")
    with pytest.raises(InvalidInput) as raised:
        resolve_profile()
    assert raised.value.code == "unknown_profile"
    assert str(profiles_home) in raised.value.detail
    assert "'editor'" in raised.value.detail
    assert "quiet, writer" in raised.value.detail
    profiles_home.unlink()
    with pytest.raises(InvalidInput, match="profiles there: none"):
        read_profile("writer")


@pytest.mark.parametrize(
    ("table", "wrong"),
    [
        ('label = "Bad!"', "bad label"),
        ("tags = [1, 2]", "tags must be a list of strings"),
        ('tags = ["Not A Tag"]', "bad tag"),
        ('channels = ["no such!"]', "bad channel name"),
        ('visibility = "invisible"', "bad visibility"),
        ('status = "offline"', "bad status"),
        ('colour = "blue"', "unknown field colour"),
        ("label = 3", "label must be a string"),
    ],
)
def test_a_bad_value_in_the_file_is_refused_saying_which(
    profiles_home: Path, monkeypatch: pytest.MonkeyPatch, table: str, wrong: str
) -> None:
    profiles_home.write_text(f"[broken]\n{table}\n")
    monkeypatch.setenv("HUBBUB_PROFILE", "broken")
    with pytest.raises(InvalidInput) as raised:
        resolve_profile()
    assert raised.value.code == "bad_profile"
    assert wrong in raised.value.detail
    assert "'broken'" in raised.value.detail


def test_a_bad_variable_or_file_is_refused(
    profiles_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBBUB_CAPS", "fine,Not Fine")
    with pytest.raises(InvalidInput, match=r"HUBBUB_.*bad tag 'Not Fine'"):
        resolve_profile()
    monkeypatch.delenv("HUBBUB_CAPS")
    profiles_home.write_text("[writer\n")
    monkeypatch.setenv("HUBBUB_PROFILE", "writer")
    with pytest.raises(InvalidInput, match="cannot read"):
        resolve_profile()


# the SDK


@asynccontextmanager
async def logged_sdk(
    hub: InProcessHub, agent: str, log: list[str], profile: Profile | None = None
) -> AsyncIterator[AsyncClient]:
    """The SDK as ``agent`` over the in-process hub, recording ``METHOD path`` of each
    request."""

    class Logged(httpx.ASGITransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            log.append(f"{request.method} {request.url.path}")
            return await super().handle_async_request(request)

    key = await hub.key_for(agent.split("-", 1)[0])
    transport = Logged(app=hub.app, raise_app_exceptions=False)
    async with AsyncClient(
        "http://hub", key, agent, admin_key=hub.admin_key, transport=transport, profile=profile
    ) as client:
        yield client


async def test_without_a_profile_the_sdk_sends_nothing_more(
    hub: InProcessHub, profiles_home: Path
) -> None:
    log: list[str] = []
    async with logged_sdk(hub, "lap-plain", log) as client:
        assert await client.apply_profile() is None
        me = await client.whoami()
        await client.board()
    assert log == ["GET /api/v1/me", "GET /api/v1/board"]
    assert (me.label, me.tags, me.visibility) == (None, [], "visible")


async def test_the_sdk_applies_the_profile_once_with_its_first_request(
    hub: InProcessHub, profiles_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBBUB_PROFILE", "writer")
    monkeypatch.setenv("HUBBUB_LABEL", "chief writer")
    log: list[str] = []
    async with logged_sdk(hub, "lap-writer", log) as client:
        await client.board()
        await client.board()
    assert log == ["PATCH /api/v1/me", "GET /api/v1/board", "GET /api/v1/board"]
    me = await hub.hub.agents.get("lap-writer")
    assert (me.label, me.tags, me.capabilities) == (
        "chief writer",
        ["docs", "python"],
        ["review", "write"],
    )
    assert (me.visibility, me.status) == ("hidden", "busy")
    joined = hub.query(
        "SELECT c.name FROM members m JOIN channels c ON c.id = m.channel_id "
        "JOIN agents a ON a.id = m.agent_id WHERE a.name = ? ORDER BY c.name",
        ("lap-writer",),
    )
    assert joined == [("general",), ("project-books",)]
    # A changed profile takes effect at the next start.
    monkeypatch.setenv("HUBBUB_LABEL", "editor")
    log.clear()
    async with logged_sdk(hub, "lap-writer", log) as client:
        me = await client.whoami()  # the profile rides on this request: still one
    assert log == ["PATCH /api/v1/me"]
    assert me.label == "editor"


async def test_explicit_changes_win_and_go_in_the_same_request(
    hub: InProcessHub, profiles_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBBUB_PROFILE", "writer")
    log: list[str] = []
    async with logged_sdk(hub, "lap-explicit", log, profile=Profile(status="idle")) as client:
        me = await client.update_me(label="my own")
    assert log == ["PATCH /api/v1/me"]
    assert (me.label, me.status, me.tags) == ("my own", "idle", ["docs", "python"])


async def test_admin_requests_carry_no_profile(
    hub: InProcessHub, profiles_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBBUB_LABEL", "admin side")
    log: list[str] = []
    async with logged_sdk(hub, "lap-admin", log) as client:
        await client.keys()
        assert log == ["GET /api/v1/admin/keys"]
        await client.apply_profile()
        assert await client.apply_profile() is None  # once only
    assert log == ["GET /api/v1/admin/keys", "PATCH /api/v1/me"]


async def test_a_profile_the_hub_refuses_changes_nothing(
    hub: InProcessHub, profiles_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with logged_sdk(hub, "lap-first", []) as client:
        await client.whoami()
    monkeypatch.setenv("HUBBUB_LABEL", "fine label")
    monkeypatch.setenv("HUBBUB_CHANNELS", "general,no-such-room")
    before = hub.snapshot()
    with pytest.raises(NotFound) as raised:
        async with logged_sdk(hub, "lap-first", []) as client:
            await client.board()
    assert raised.value.code == "channel_not_found"
    assert "no-such-room" in raised.value.detail
    assert hub.snapshot() == before
    assert (await hub.hub.agents.get("lap-first")).label is None
    # A value the client can check is refused before any request.
    monkeypatch.setenv("HUBBUB_CHANNELS", "Bad Room")
    with pytest.raises(InvalidInput) as bad:
        AsyncClient("http://hub", "hb_x", "lap-first")
    assert bad.value.code == "bad_profile"


async def test_joining_private_secret_or_archived_channels_is_refused(
    hub: InProcessHub, profiles_home: Path
) -> None:
    owner = await hub.agent("srv-owner")
    await owner.create_channel("inner", "private")
    await owner.create_channel("hush", "secret")
    await owner.create_channel("old", "public")
    await owner.ok("POST", "/channels/old/archive")
    joiner = await hub.agent("lap-joiner")
    before = hub.snapshot()
    for channel, status, code in (
        ("inner", 403, "not_a_member"),
        ("hush", 404, "channel_not_found"),
        ("old", 409, "channel_archived"),
        ("nowhere", 404, "channel_not_found"),
    ):
        refused = await joiner.patch("/me", {"label": "x", "channels": ["general", channel]})
        assert refused.status_code == status, refused.text
        assert refused.json()["code"] == code
    assert hub.snapshot() == before
    done = await joiner.ok("PATCH", "/me", {"channels": ["tech-books", "general"]})
    assert done["name"] == "lap-joiner"
    listed = await joiner.ok("GET", "/channels")
    assert {"general", "tech-books"} <= {c["name"] for c in listed}


# the CLI and hubbub mcp, as processes against a real hub


@pytest.fixture(scope="module")
def profiles_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An XDG config home with ``hubbub/profiles.toml``."""
    home = tmp_path_factory.mktemp("profiles")
    (home / "hubbub").mkdir()
    (home / "hubbub" / "profiles.toml").write_text(PROFILES)
    return home


def _agent() -> str:
    return f"lap-prof-{uuid.uuid4().hex[:8]}"


def _seen(live_hub: LiveHub, agent: str) -> dict[str, object]:
    key = live_hub.config()["key"]
    found = live_hub.request("GET", f"/api/v1/agents/{agent}", key=key, agent="lap-looker")
    assert found.status_code == 200, found.text
    body: dict[str, object] = found.json()
    return body


@pytest.mark.e2e
def test_the_cli_applies_the_profile_at_start(live_hub: LiveHub, profiles_dir: Path) -> None:
    cli = cli_of(live_hub)
    agent = _agent()
    env = {"XDG_CONFIG_HOME": str(profiles_dir), "HUBBUB_PROFILE": "writer"}
    me = ok_json(cli("whoami", "--agent", agent, "--json", **env))
    assert (me["label"], me["visibility"], me["status"]) == ("test writer", "hidden", "busy")
    shown = ok_json(cli("profile", "--agent", agent, "--json", **env, HUBBUB_LABEL="lead"))
    assert (shown["label"], shown["tags"]) == ("lead", ["docs", "python"])
    changed = ok_json(
        cli("profile", "--agent", agent, "--label", "head writer", "--tags", "a,b", "--json", **env)
    )
    assert (changed["label"], changed["tags"], changed["capabilities"]) == (
        "head writer",
        ["a", "b"],
        ["review", "write"],
    )
    text = cli("profile", "--agent", agent)
    assert text.returncode == 0, text.stderr
    assert "head writer" in text.stdout
    assert "review, write" in text.stdout


@pytest.mark.e2e
def test_the_cli_refuses_an_unknown_or_bad_profile_and_writes_nothing(
    live_hub: LiveHub, profiles_dir: Path
) -> None:
    cli = cli_of(live_hub)
    agent = _agent()
    home = {"XDG_CONFIG_HOME": str(profiles_dir)}
    unknown = cli("whoami", "--agent", agent, **home, HUBBUB_PROFILE="nobody")
    assert unknown.returncode == 1, unknown.stderr
    line = unknown.stderr.strip()
    assert "'nobody'" in line
    assert str(profiles_dir / "hubbub" / "profiles.toml") in line
    assert "quiet, writer" in line
    bad = cli("post", "general", "hi", "--agent", agent, **home, HUBBUB_TAGS="Not A Tag")
    assert bad.returncode == 1, bad.stderr
    assert "bad tag 'Not A Tag'" in bad.stderr
    key = live_hub.config()["key"]
    missing = live_hub.request("GET", f"/api/v1/agents/{agent}", key=key, agent="lap-looker")
    assert missing.status_code == 404  # not even registered


@pytest.mark.e2e
def test_the_cli_sends_no_profile_request_when_none_is_set(
    live_hub: LiveHub, profiles_dir: Path
) -> None:
    cli = cli_of(live_hub)
    agent = _agent()
    me = ok_json(cli("whoami", "--agent", agent, "--json", XDG_CONFIG_HOME=str(profiles_dir)))
    assert (me["label"], me["tags"], me["visibility"]) == (None, [], "visible")


@pytest.mark.e2e
async def test_hubbub_mcp_applies_the_profile_when_it_starts(
    live_hub: LiveHub, profiles_dir: Path
) -> None:
    agent = _agent()
    env = clean_env(
        live_hub.home,
        HUBBUB_CONFIG=str(live_hub.config_path),
        XDG_CONFIG_HOME=str(profiles_dir),
        HUBBUB_PROFILE="writer",
        HUBBUB_CAPS="mcp",
    )
    params = StdioServerParameters(command=str(HUBBUB), args=["mcp", "--agent", agent], env=env)
    async with McpClient(params, mode="legacy") as client:
        # Applied at start: before any tool is called.
        seen = _seen(live_hub, agent)
        assert (seen["label"], seen["capabilities"], seen["visibility"]) == (
            "test writer",
            ["mcp"],
            "hidden",
        )
        assert client.server_capabilities is not None


@pytest.mark.e2e
def test_hubbub_mcp_refuses_an_unknown_profile_at_once(
    live_hub: LiveHub, profiles_dir: Path
) -> None:
    cli = cli_of(live_hub)
    done = cli("mcp", "--agent", _agent(), XDG_CONFIG_HOME=str(profiles_dir), HUBBUB_PROFILE="x")
    assert done.returncode == 1, done.stderr
    assert "no profile named 'x'" in done.stderr


@pytest.mark.parametrize(("variables", "loaded"), [({}, False), ({"HUBBUB_TAGS": "a"}, True)])
def test_the_profile_code_loads_only_when_a_profile_is_set(
    tmp_path: Path, variables: dict[str, str], loaded: bool
) -> None:
    code = (
        "import sys\n"
        "from hubbub.client import ClientSettings\n"
        "found = ClientSettings.resolve(url='http://hub.invalid')\n"
        "print('hubbub.client.profiles' in sys.modules, found.profile is not None)\n"
    )
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", code],
        env=clean_env(tmp_path, **variables),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert done.stdout.split() == [str(loaded), str(loaded)]
