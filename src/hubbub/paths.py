"""Where Hubbub keeps its files by default (XDG base directories)."""

from __future__ import annotations

import os
from pathlib import Path


def config_home() -> Path:
    """``$XDG_CONFIG_HOME/hubbub`` (default ``~/.config/hubbub``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hubbub"


def data_home() -> Path:
    """``$XDG_DATA_HOME/hubbub`` (default ``~/.local/share/hubbub``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "hubbub"


def default_config_file() -> Path:
    """The client config file; ``HUBBUB_CONFIG`` overrides it."""
    return Path(os.environ.get("HUBBUB_CONFIG") or config_home() / "config.toml")


def default_profiles_file() -> Path:
    """The agent profiles file (``profiles.toml`` beside the config file's default place)."""
    return config_home() / "profiles.toml"


def default_database() -> str:
    """The embedded database file."""
    return str(data_home() / "hubbub.db")
