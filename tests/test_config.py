"""The client config file and its environment overrides."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from hubbub.config import ClientConfig, load, read_file, write_file
from hubbub.core.names import AGENT_RE


def test_an_absent_file_is_an_empty_config(tmp_path: Path) -> None:
    assert read_file(tmp_path / "missing.toml") == ClientConfig()


def test_the_file_is_written_private_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "config.toml"
    config = ClientConfig(url="http://127.0.0.1:7878", key="hb_k", machine="lap", admin_key=None)
    write_file(config, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_file(path) == config
    assert "admin_key" not in path.read_text()  # unset fields are left out
    path.chmod(0o644)
    write_file(config, path)  # rewriting tightens it again
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_environment_variables_override_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    write_file(ClientConfig(url="http://file", key="hb_file", machine="lap"), path)
    monkeypatch.setenv("HUBBUB_URL", "http://env")
    monkeypatch.setenv("HUBBUB_AGENT", "lap-env")
    monkeypatch.delenv("HUBBUB_KEY", raising=False)
    loaded = load(path)
    assert (loaded.url, loaded.key, loaded.agent) == ("http://env", "hb_file", "lap-env")


@pytest.mark.parametrize(
    ("directory", "expected"),
    [
        ("hubbub", "lap-hubbub"),
        ("My_Project", "lap-my-project"),
        ("---", "lap-home"),
        ("x" * 100, "lap-" + "x" * 60),
    ],
)
def test_the_default_agent_is_machine_dash_directory(directory: str, expected: str) -> None:
    assert ClientConfig(machine="lap").agent_name(Path("/work") / directory) == expected


@pytest.mark.parametrize("directory", ["Café Noir", "projet²", "日本語", "naïve-ü"])
def test_the_default_agent_name_is_always_valid(directory: str) -> None:
    name = ClientConfig(machine="lap").agent_name(Path("/work") / directory)
    assert name is not None
    assert AGENT_RE.fullmatch(name), name


def test_a_configured_agent_wins_and_no_machine_means_no_agent() -> None:
    assert ClientConfig(machine="lap", agent="lap-x").agent_name(Path("/w/y")) == "lap-x"
    assert ClientConfig().agent_name(Path("/w/y")) is None
