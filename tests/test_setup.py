"""``hubbub setup`` on real files in a temporary home and project: what it writes for each
harness, that a second run changes nothing, that ``--remove`` leaves every file as it was
(keeping what the user changed since), and that a file it does not understand, a read-only
one or an unknown harness version is refused with nothing written."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

from hubbub.core.errors import Conflict, Forbidden, HubbubError, InvalidInput
from hubbub.setup import claude, codex, plugin
from hubbub.setup.harness import Scope
from hubbub.setup.harnesses import HARNESSES
from hubbub.setup.install import Options, run
from tests.live import HUBBUB, clean_env

REPOSITORY = Path(__file__).resolve().parents[1]


class Machine:
    """A home, a project and the record, all under ``tmp_path``; no harness on ``PATH``."""

    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.project = root / "project"
        self.bin = root / "bin"
        for folder in (self.home, self.project / ".git", self.bin):
            folder.mkdir(parents=True)
        self.lines: list[str] = []

    def setup(self, *names: str, **options: object) -> list[str]:
        self.lines = []
        chosen = Options(names=names, **options)  # type: ignore[arg-type]
        run(chosen, self.lines.append, home=self.home, cwd=self.project)
        return self.lines

    def snapshot(self) -> dict[str, bytes]:
        """Every file under home and project (the record aside), with its bytes."""
        found = {}
        for base in (self.home, self.project):
            for path in sorted(base.rglob("*")):
                if path.is_file() and "hubbub/setup.json" not in str(path):
                    found[str(path)] = path.read_bytes()
        return found

    def folders(self) -> list[str]:
        """Every folder but the record's."""
        found = (p for base in (self.home, self.project) for p in base.rglob("*") if p.is_dir())
        return sorted(str(p) for p in found if ".local" not in p.parts)


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Machine:
    made = Machine(tmp_path)
    monkeypatch.setenv("HOME", str(made.home))
    monkeypatch.setenv("XDG_DATA_HOME", str(made.home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(made.home / ".config"))
    monkeypatch.setenv("PATH", str(made.bin))
    monkeypatch.delenv("CODEX_HOME", raising=False)
    for name in ("HUBBUB_URL", "HUBBUB_KEY", "HUBBUB_AGENT", "HUBBUB_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return made


# A file of the user's in each place setup writes, so removal must give it back byte for byte.
USER_FILES = {
    ".claude.json": '{\n  "numStartups": 3,\n  "mcpServers": {"other": {"command": "x"}}\n}\n',
    ".claude/settings.json": (
        '{\n    "hooks": {\n        "Stop": [\n'
        '            {"hooks": [{"type": "command", "command": "say done"}]}\n'
        '        ]\n    },\n    "theme": "dark"\n}'
    ),
    ".codex/config.toml": (
        '# my settings\nmodel = "o9"\n\n[mcp_servers.other]\ncommand = "x"  # keep me\n'
    ),
    ".codex/hooks.json": '{"hooks": {}}\n',
    ".gemini/settings.json": '{\n  "general": {"vimMode": true}\n}\n',
    ".config/opencode/opencode.json": (
        '{\n  "$schema": "https://opencode.ai/config.json",\n'
        '  "mcp": {\n    "other": {"type": "remote", "url": "http://x", "enabled": true}\n  }\n}\n'
    ),
    ".cursor/mcp.json": "{}",
    ".cursor/hooks.json": (
        '{\n  "version": 1,\n  "hooks": {\n    "stop": [{"command": "say done"}]\n  }\n}\n'
    ),
}


def put(base: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_text(text)


@pytest.mark.parametrize("name", list(HARNESSES))
@pytest.mark.parametrize("scope", list(Scope))
@pytest.mark.parametrize("users_files", [False, True], ids=["fresh", "existing"])
def test_setup_twice_changes_nothing_and_remove_restores_every_byte(
    machine: Machine, name: str, scope: Scope, users_files: bool
) -> None:
    if users_files:
        put(machine.home if scope is Scope.user else machine.project, USER_FILES)
    before, folders = machine.snapshot(), machine.folders()

    machine.setup(name, scope=scope, agent="lap-api")
    written = machine.snapshot()
    assert written != before
    assert machine.lines[-1].endswith("file(s) changed")

    machine.setup(name, scope=scope, agent="lap-api")
    assert machine.snapshot() == written
    assert machine.lines[-1] == "nothing to change"

    machine.setup(name, scope=scope, remove=True)
    assert machine.snapshot() == before
    assert machine.folders() == folders


def test_what_claude_code_gets(machine: Machine) -> None:
    machine.setup("claude", agent="lap-api")
    config = json.loads((machine.home / ".claude.json").read_text())
    server = config["mcpServers"]["hubbub"]
    assert server["type"] == "stdio"
    assert server["args"] == ["mcp", "--agent", "lap-api"]
    hooks = json.loads((machine.home / ".claude" / "settings.json").read_text())["hooks"]
    assert list(hooks) == ["SessionStart", "UserPromptSubmit", "Stop", "SessionEnd"]
    commands = [h["command"].split()[1:4] for e in hooks.values() for g in e for h in g["hooks"]]
    assert commands == [
        ["hook", "session-start", "--harness"],
        ["hook", "prompt", "--harness"],
        ["hook", "stop", "--harness"],
        ["hook", "wake", "--harness"],
        ["hook", "session-end", "--harness"],
    ]
    wake = hooks["Stop"][0]["hooks"][1]
    assert wake["asyncRewake"] is True
    assert "--agent lap-api" in wake["command"]
    assert sorted(p.name for p in (machine.home / ".claude" / "commands").iterdir()) == [
        f"hubbub-{n}.md" for n in sorted(claude.COMMANDS)
    ]
    assert claude.INSTRUCTIONS in (machine.home / ".claude" / "CLAUDE.md").read_text()


def test_http_hooks_name_no_secret(machine: Machine) -> None:
    machine.setup("claude", http_hooks=True, scope=Scope.project)
    text = (machine.project / ".claude" / "settings.json").read_text()
    hooks = json.loads(text)["hooks"]
    prompt = hooks["UserPromptSubmit"][0]["hooks"][0]
    assert prompt["type"] == "http"
    assert prompt["url"].endswith("/api/v1/hooks/claude/prompt")
    assert prompt["headers"]["Authorization"] == "Bearer $HUBBUB_KEY"
    assert prompt["allowedEnvVars"] == ["HUBBUB_KEY", "HUBBUB_AGENT"]
    assert hooks["PostToolUse"][0]["hooks"][0]["url"].endswith("/hooks/claude/tool")
    assert hooks["SessionStart"][0]["hooks"][0]["type"] == "command"
    assert "hb_" not in text


def test_codex_notify_goes_before_the_first_table(machine: Machine) -> None:
    put(machine.home, {".codex/config.toml": USER_FILES[".codex/config.toml"]})
    machine.setup("codex")
    text = (machine.home / ".codex" / "config.toml").read_text()
    assert text.index("notify = [") < text.index("[mcp_servers.other]")
    assert "# keep me" in text
    config = tomllib.loads(text)
    assert config["notify"][1:] == ["hook", "notify", "--harness", "codex"]
    assert config["mcp_servers"]["hubbub"]["args"] == ["mcp"]
    assert set(json.loads((machine.home / ".codex" / "hooks.json").read_text())["hooks"]) == set(
        codex.EVENTS
    )


def test_a_notify_of_the_users_is_kept(machine: Machine) -> None:
    put(machine.home, {".codex/config.toml": 'notify = ["my-script"]\n'})
    lines = machine.setup("codex")
    assert tomllib.loads((machine.home / ".codex" / "config.toml").read_text())["notify"] == [
        "my-script"
    ]
    assert any("kept notify" in line for line in lines)
    machine.setup("codex", remove=True)
    assert (machine.home / ".codex" / "config.toml").read_text() == 'notify = ["my-script"]\n'


def test_remove_keeps_what_the_user_changed_since(machine: Machine) -> None:
    machine.setup("gemini", agent="lap-api")
    path = machine.home / ".gemini" / "settings.json"
    settings = json.loads(path.read_text())
    settings["ui"] = {"theme": "Dracula"}
    settings["mcpServers"]["hubbub"]["timeout"] = 5000  # the user tuned our entry
    path.write_text(json.dumps(settings))
    lines = machine.setup("gemini", remove=True)
    left = json.loads(path.read_text())
    assert left["ui"] == {"theme": "Dracula"}
    assert left["mcpServers"]["hubbub"]["timeout"] == 5000
    assert "hooks" not in left
    assert any("kept mcpServers.hubbub" in line for line in lines)


def test_a_second_run_keeps_the_users_own_entry(machine: Machine) -> None:
    mine = '{"mcpServers": {"hubbub": {"command": "my-hubbub", "args": ["mcp"]}}}'
    put(machine.home, {".cursor/mcp.json": mine})
    lines = machine.setup("cursor")
    assert (machine.home / ".cursor" / "mcp.json").read_text() == mine
    assert any("kept mcpServers.hubbub: already set to something else" in line for line in lines)


@pytest.mark.parametrize(
    ("name", "text", "error", "code"),
    [
        (".claude/settings.json", '{"hooks": ', InvalidInput, "setup_unreadable"),
        (".claude/settings.json", "[1, 2]", InvalidInput, "setup_unreadable"),
        (".claude/settings.json", '{"hooks": {"Stop": {}}}', InvalidInput, "setup_unknown_shape"),
        (".claude/settings.json", '{"hooks": []}', InvalidInput, "setup_unknown_shape"),
        (".claude.json", '{"mcpServers": "none"}', InvalidInput, "setup_unknown_shape"),
    ],
)
def test_a_file_setup_does_not_understand_is_refused(
    machine: Machine, name: str, text: str, error: type[HubbubError], code: str
) -> None:
    put(machine.home, {name: text})
    before = machine.snapshot()
    with pytest.raises(error) as refused:
        machine.setup("claude")
    assert refused.value.code == code
    assert str(machine.home / name) in refused.value.detail
    assert machine.snapshot() == before
    assert not (machine.home / ".local" / "share" / "hubbub" / "setup.json").exists()


def test_comments_in_json_are_refused_never_dropped(machine: Machine) -> None:
    text = '{\n  // my servers\n  "mcp": {}\n}\n'
    put(machine.home, {".config/opencode/opencode.jsonc": text})
    with pytest.raises(InvalidInput, match="comments") as refused:
        machine.setup("opencode")
    assert "opencode.jsonc" in refused.value.detail
    assert (machine.home / ".config" / "opencode" / "opencode.jsonc").read_text() == text
    assert not (machine.home / ".config" / "opencode" / "opencode.json").exists()


def test_a_jsonc_file_without_comments_is_edited(machine: Machine) -> None:
    put(machine.home, {".config/opencode/opencode.jsonc": '{\n  "theme": "x"\n}\n'})
    machine.setup("opencode")
    data = json.loads((machine.home / ".config" / "opencode" / "opencode.jsonc").read_text())
    assert data["mcp"]["hubbub"]["enabled"] is True


def test_opencode_keeps_the_servers_shape(machine: Machine) -> None:
    shaped = {"mcp": {"servers": {"other": {"type": "local", "command": ["x"]}}}}
    put(machine.project, {"opencode.json": json.dumps(shaped)})
    machine.setup("opencode", scope=Scope.project)
    servers = json.loads((machine.project / "opencode.json").read_text())["mcp"]["servers"]
    assert servers["hubbub"]["type"] == "local"
    assert "enabled" not in servers["hubbub"]
    mixed = {"mcp": {"servers": {}, "other": {"type": "local", "command": ["x"]}}}
    put(machine.project, {"opencode.json": json.dumps(mixed)})
    with pytest.raises(InvalidInput, match="mixes"):
        machine.setup("opencode", scope=Scope.project)


def test_an_unknown_cursor_hooks_version_is_refused(machine: Machine) -> None:
    put(machine.home, {".cursor/hooks.json": '{"version": 2, "hooks": {}}'})
    with pytest.raises(InvalidInput) as refused:
        machine.setup("cursor")
    assert refused.value.code == "setup_unknown_shape"
    assert not (machine.home / ".cursor" / "mcp.json").exists()


def test_a_read_only_file_is_refused_and_nothing_written(machine: Machine) -> None:
    put(machine.home, {".gemini/settings.json": "{}\n"})
    settings = machine.home / ".gemini" / "settings.json"
    settings.chmod(stat.S_IRUSR)
    before = machine.snapshot()
    with pytest.raises(Forbidden) as refused:
        machine.setup("claude", "gemini")
    assert refused.value.code == "setup_read_only"
    assert str(settings) in refused.value.detail
    assert machine.snapshot() == before  # Claude Code's files were not written either


def fake_binary(machine: Machine, name: str, answer: str) -> None:
    path = machine.bin / name
    path.write_text(f"#!/bin/sh\necho '{answer}'\n")
    path.chmod(0o755)


@pytest.mark.parametrize(
    ("name", "answer"),
    [("claude", "3.0.1 (Claude Code)"), ("codex", "codex-cli 0.99.0"), ("gemini", "nightly")],
)
def test_an_unknown_harness_version_is_refused(machine: Machine, name: str, answer: str) -> None:
    fake_binary(machine, name, answer)
    with pytest.raises(Conflict) as refused:
        machine.setup(name)
    assert refused.value.code == "setup_unknown_version"
    assert machine.snapshot() == {}


def test_a_known_version_is_accepted_and_opencode_2_gets_the_servers_shape(
    machine: Machine,
) -> None:
    fake_binary(machine, "opencode", "2.0.3")
    machine.setup("opencode")
    data = json.loads((machine.home / ".config" / "opencode" / "opencode.json").read_text())
    assert "hubbub" in data["mcp"]["servers"]


def test_a_bad_agent_name_is_refused(machine: Machine) -> None:
    with pytest.raises(InvalidInput):
        machine.setup("claude", agent="Not A Name")
    assert machine.snapshot() == {}


def test_dry_run_writes_nothing(machine: Machine) -> None:
    put(machine.home, USER_FILES)
    before = machine.snapshot()
    lines = machine.setup(*HARNESSES, dry_run=True)
    assert machine.snapshot() == before
    assert lines[-1].startswith("dry run:")
    assert any(line.strip().startswith("+") and "hubbub" in line for line in lines)


def test_without_a_harness_named_setup_takes_the_installed_ones(machine: Machine) -> None:
    (machine.home / ".cursor").mkdir()
    lines = machine.setup()
    assert lines[0].startswith("Cursor [settings only")
    assert (machine.home / ".cursor" / "mcp.json").exists()
    assert not (machine.home / ".claude.json").exists()


def test_the_plugin_is_what_setup_writes(machine: Machine) -> None:
    stale = [
        str(path)
        for path, text in plugin.files().items()
        if not (REPOSITORY / path).exists() or (REPOSITORY / path).read_text() != text
    ]
    assert stale == [], "run: python -m hubbub.setup.plugin"
    machine.setup("claude", scope=Scope.project)
    settings = json.loads((machine.project / ".claude" / "settings.json").read_text())
    bundled = json.loads((REPOSITORY / plugin.PLUGIN_DIR / "hooks" / "hooks.json").read_text())
    command = str(HUBBUB) if " " not in str(HUBBUB) else None

    def plain(hooks: dict[str, object]) -> str:
        text = json.dumps(hooks)
        return text.replace(json.dumps(command)[1:-1], "hubbub") if command else text

    assert plain(settings["hooks"]) == json.dumps(bundled["hooks"])
    for name in claude.COMMANDS:
        written = machine.project / ".claude" / "commands" / f"hubbub-{name}.md"
        assert (
            written.read_text()
            == (REPOSITORY / plugin.PLUGIN_DIR / "commands" / f"{name}.md").read_text()
        )


def test_the_command_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".cursor").mkdir(parents=True)
    env = clean_env(home, PATH=os.path.dirname(HUBBUB), XDG_DATA_HOME=str(home / "data"))

    def hubbub(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(HUBBUB), "setup", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=home,
            timeout=60,
            check=False,
        )

    assert "status" in hubbub("--help").stdout
    dry = hubbub("cursor", "--dry-run", "--agent", "lap-api")
    assert dry.returncode == 0, dry.stderr
    assert "dry run" in dry.stdout
    assert not (home / ".cursor" / "mcp.json").exists()
    assert hubbub("--project", "cursor").returncode == 0
    assert (home / ".cursor" / "mcp.json").exists()
    status = hubbub("status")
    assert status.returncode == 0, status.stderr
    assert "Cursor: settings only" in status.stdout
    assert "MCP server: configured, as {machine}-{directory}" in status.stdout
    assert "does not answer" in status.stdout or "no hub URL" in status.stdout
    (home / ".claude.json").write_text("{oops")
    refused = hubbub("claude")
    assert refused.returncode == 1
    assert "setup_unreadable" in refused.stderr
    assert ".claude.json" in refused.stderr
    assert hubbub("cursor", "--remove", "--project").returncode == 0
    assert not (home / ".cursor" / "mcp.json").exists()
