"""Which harnesses are installed, and their versions."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hubbub.core.errors import Conflict
from hubbub.setup.harness import Harness, Version

VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")
VERSION_TIMEOUT = 20.0


@dataclass(frozen=True, slots=True)
class Installed:
    """What was found of a harness: its program (and version) or its settings directory."""

    harness: Harness
    binary: str | None
    version: Version | None
    version_text: str | None
    home: Path | None

    @property
    def found(self) -> bool:
        """Whether there is any sign of the harness."""
        return self.binary is not None or self.home is not None

    def describe(self) -> str:
        """``2.1.330 (/usr/bin/claude)``, ``settings only (~/.cursor)`` or ``not found``."""
        if self.binary is not None:
            return f"{self.version or self.version_text or 'unknown version'} ({self.binary})"
        if self.home is not None:
            return f"settings only ({self.home})"
        return "not found"


def parse_version(text: str) -> Version | None:
    """The first ``X.Y.Z`` in a ``--version`` answer."""
    found = VERSION.search(text)
    if found is None:
        return None
    major, minor, patch = (int(part) for part in found.groups())
    return Version((major, minor, patch), text.strip())


def _ask_version(binary: str) -> str | None:
    """The last line ``BINARY --version`` prints, or None if it does not answer."""
    try:
        done = subprocess.run(
            [binary, "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (done.stdout.strip() or done.stderr.strip()).splitlines()
    return lines[-1] if lines else None


def detect(harness: Harness, home: Path) -> Installed:
    """Look for the harness's program on ``PATH`` and its directory under ``home``."""
    binary = next((found for name in harness.binaries if (found := shutil.which(name))), None)
    folder = next((home / name for name in harness.homes if (home / name).is_dir()), None)
    text = _ask_version(binary) if binary is not None and harness.supported else None
    version = parse_version(text) if text else None
    return Installed(harness, binary, version, text, folder)


def check_supported(found: Installed) -> None:
    """Refuses a harness whose version setup does not know."""
    harness, supported = found.harness, found.harness.supported
    if found.binary is None or supported is None:
        return
    low, high = supported
    if found.version is None:
        raise Conflict(
            f"{harness.title}: cannot tell its version from {found.binary} --version "
            f"({found.version_text or 'no answer'}); nothing was written",
            code="setup_unknown_version",
        )
    if not low <= found.version.parts < high:
        raise Conflict(
            f"{harness.title} {found.version} is not a version setup knows (it knows "
            f"{'.'.join(map(str, low))} up to, not including, {'.'.join(map(str, high))}); "
            "nothing was written",
            code="setup_unknown_version",
        )
