"""Background services of the current user: one description of a long-running command,
written as a systemd user unit on Linux or a launchd agent on macOS, and the few actions a
user needs on it (install and enable, status, logs, restart, stop, uninstall).

Nothing here knows what the command does: ``hubbub agent install`` describes a runner, and the
hub's own service can describe ``hubbub serve`` the same way. Units are written with mode 0600,
since their environment may hold a key; enabling them is left to ``systemctl --user`` and
``launchctl``, which a machine without a user session (a CI container) does not have.
"""

from __future__ import annotations

import os
import plistlib
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hubbub.core.errors import HubbubError, InvalidInput, NotFound, Unavailable

NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{0,99}$")
# Arguments systemd takes as they are: anything else is quoted.
_BARE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")
LAUNCHD_PREFIX = "hubbub."
COMMAND_TIMEOUT = 60.0  # seconds a systemctl or launchctl call may take


@dataclass(frozen=True, slots=True)
class Service:
    """A command to keep running in the background for the current user."""

    name: str
    """The unit's name without suffix (``hubbub-agent-lap-ops``): lowercase letters, digits,
    dots and hyphens."""
    description: str
    argv: Sequence[str]
    """The command, its program an absolute path."""
    working_directory: Path
    environment: Mapping[str, str] = field(default_factory=dict)

    def check(self) -> None:
        """Raise ``InvalidInput`` for a name, command or environment a unit cannot carry."""
        if not NAME.fullmatch(self.name):
            raise InvalidInput(
                f"bad service name {self.name!r}: lowercase letters, digits, dots and hyphens",
                code="bad_service",
            )
        if not self.argv or not Path(self.argv[0]).is_absolute():
            raise InvalidInput("a service's program must be an absolute path", code="bad_service")
        if not self.working_directory.is_absolute():
            raise InvalidInput(
                "a service's working directory must be an absolute path", code="bad_service"
            )
        for text in (*self.argv, *self.environment, *self.environment.values()):
            if "\n" in text or "\r" in text or "\0" in text:
                raise InvalidInput(
                    "a service's command and environment cannot hold line breaks or NUL",
                    code="bad_service",
                )
        for key in self.environment:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise InvalidInput(f"bad environment variable name {key!r}", code="bad_service")


def systemd_word(word: str) -> str:
    """``word`` as one argument of a systemd command line: ``%`` doubled (specifiers expand
    everywhere), ``$`` doubled (no variable expansion), quoted when it is not plain."""
    escaped = word.replace("%", "%%").replace("$", "$$")
    if _BARE.fullmatch(word):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_unit(service: Service) -> str:
    """The text of a systemd user unit that runs ``service`` and restarts it when it ends."""
    service.check()
    lines = [
        "[Unit]",
        f"Description={service.description.replace('%', '%%')}",
        "",
        "[Service]",
        "Type=simple",
        f"WorkingDirectory={systemd_word(str(service.working_directory))}",
    ]
    for key, value in sorted(service.environment.items()):
        assignment = f"{key}={value}".replace("%", "%%")
        lines.append('Environment="' + assignment.replace("\\", "\\\\").replace('"', '\\"') + '"')
    lines += [
        "ExecStart=" + " ".join(systemd_word(word) for word in service.argv),
        "Restart=always",
        "RestartSec=5",
        # A stop ends the whole control group: the command and anything it started.
        "KillMode=control-group",
        "TimeoutStopSec=30",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
    ]
    return "\n".join(lines)


def launchd_plist(service: Service, log: Path) -> bytes:
    """A launchd agent property list that runs ``service``, restarts it when it ends and
    appends its output to ``log``."""
    service.check()
    document = {
        "Label": LAUNCHD_PREFIX + service.name,
        "ProgramArguments": list(service.argv),
        "WorkingDirectory": str(service.working_directory),
        "EnvironmentVariables": dict(service.environment),
        "RunAtLoad": True,
        "KeepAlive": True,
        "ThrottleInterval": 5,
        "StandardOutPath": str(log),
        "StandardErrorPath": str(log),
    }
    return plistlib.dumps(document, sort_keys=True)


def _run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise Unavailable(f"{argv[0]} failed: {error}", code="service_failed") from error


def _checked(argv: Sequence[str]) -> str:
    done = _run(argv)
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise Unavailable(
            f"'{' '.join(argv)}' exited {done.returncode}: {said[-1] if said else 'no output'}",
            code="service_failed",
        )
    return done.stdout


class Manager:
    """Installs, inspects and removes services with the user's service manager."""

    kind = ""

    def path(self, name: str) -> Path:
        """Where the unit of service ``name`` is written."""
        raise NotImplementedError

    def render(self, service: Service) -> str:
        """The unit's text."""
        raise NotImplementedError

    def write(self, service: Service) -> Path:
        """Write the unit (mode 0600: its environment may hold a key); return its path."""
        text = self.render(service)
        target = self.path(service.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        scratch = target.with_name(target.name + ".tmp")
        descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(scratch, 0o600)
        scratch.replace(target)
        return target

    def installed(self, name: str) -> bool:
        """True if a unit for ``name`` is written."""
        return self.path(name).exists()

    def command(self, name: str) -> list[str]:
        """The command the installed unit of ``name`` runs, read back from it."""
        raise NotImplementedError

    def _need(self, name: str) -> Path:
        found = self.path(name)
        if not found.exists():
            raise NotFound(f"no service {name!r} is installed ({found})", code="service_not_found")
        return found

    def enable(self, name: str) -> None:
        """Start the service now and at every log-in."""
        raise NotImplementedError

    def hint(self, name: str) -> str:
        """The command that does what :meth:`enable` does, for a person to run."""
        raise NotImplementedError

    def missing(self) -> str | None:
        """Why this machine's service manager cannot run services now, or ``None``."""
        return None

    def restart(self, name: str) -> None:
        """Stop the service if it runs, and start it."""
        raise NotImplementedError

    def stop(self, name: str) -> None:
        """Stop the service until the next restart or log-in (it stays installed)."""
        raise NotImplementedError

    def remove(self, name: str) -> Path:
        """Stop the service, disable it and delete its unit; the path it had."""
        raise NotImplementedError

    def status(self, name: str) -> str:
        """What the service manager says about the service."""
        raise NotImplementedError

    def logs(self, name: str, lines: int, follow: bool) -> list[str]:
        """The command that shows the service's log."""
        raise NotImplementedError


class Systemd(Manager):
    """systemd user units under ``$XDG_CONFIG_HOME/systemd/user``."""

    kind = "systemd"

    def path(self, name: str) -> Path:
        base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        return Path(base) / "systemd" / "user" / f"{name}.service"

    def render(self, service: Service) -> str:
        return systemd_unit(service)

    def command(self, name: str) -> list[str]:
        text = self._need(name).read_text(encoding="utf-8")
        line = next((x for x in text.splitlines() if x.startswith("ExecStart=")), "ExecStart=")
        words = shlex.split(line.removeprefix("ExecStart="))
        return [word.replace("%%", "%").replace("$$", "$") for word in words]

    def enable(self, name: str) -> None:
        self._need(name)
        _checked(["systemctl", "--user", "daemon-reload"])
        _checked(["systemctl", "--user", "enable", "--now", f"{name}.service"])

    def hint(self, name: str) -> str:
        return f"systemctl --user daemon-reload && systemctl --user enable --now {name}.service"

    def missing(self) -> str | None:
        # How systemd itself tells whether it runs (sd_booted): a container or WSL without it
        # still may have the systemctl program.
        if not Path("/run/systemd/system").is_dir():
            return "systemd is not running on this machine"
        if shutil.which("systemctl") is None:
            return "systemctl is not installed"
        return None

    def restart(self, name: str) -> None:
        self._need(name)
        _checked(["systemctl", "--user", "restart", f"{name}.service"])

    def stop(self, name: str) -> None:
        self._need(name)
        _checked(["systemctl", "--user", "stop", f"{name}.service"])

    def remove(self, name: str) -> Path:
        found = self._need(name)
        _run(["systemctl", "--user", "disable", "--now", f"{name}.service"])
        found.unlink()
        _run(["systemctl", "--user", "daemon-reload"])
        return found

    def status(self, name: str) -> str:
        self._need(name)
        done = _run(["systemctl", "--user", "status", "--no-pager", "--lines=0", f"{name}.service"])
        return (done.stdout or done.stderr).strip()

    def logs(self, name: str, lines: int, follow: bool) -> list[str]:
        self._need(name)
        argv = ["journalctl", "--user", "--unit", f"{name}.service", "--lines", str(lines)]
        return [*argv, "--follow"] if follow else [*argv, "--no-pager"]


class Launchd(Manager):
    """launchd agents under ``~/Library/LaunchAgents``, logging to ``~/Library/Logs/hubbub``."""

    kind = "launchd"

    def path(self, name: str) -> Path:
        return Path.home() / "Library" / "LaunchAgents" / f"{LAUNCHD_PREFIX}{name}.plist"

    def log(self, name: str) -> Path:
        """The file the service's output goes to."""
        return Path.home() / "Library" / "Logs" / "hubbub" / f"{name}.log"

    def render(self, service: Service) -> str:
        return launchd_plist(service, self.log(service.name)).decode()

    def command(self, name: str) -> list[str]:
        document = plistlib.loads(self._need(name).read_bytes())
        return [str(word) for word in document.get("ProgramArguments", [])]

    def write(self, service: Service) -> Path:
        self.log(service.name).parent.mkdir(parents=True, exist_ok=True)
        return super().write(service)

    def _domain(self) -> str:
        return f"gui/{os.getuid()}"

    def enable(self, name: str) -> None:
        found = self._need(name)
        _run(["launchctl", "bootout", f"{self._domain()}/{LAUNCHD_PREFIX}{name}"])
        _checked(["launchctl", "bootstrap", self._domain(), str(found)])

    def hint(self, name: str) -> str:
        return f"launchctl bootstrap {self._domain()} {self.path(name)}"

    def restart(self, name: str) -> None:
        # A stopped agent is unloaded, which kickstart cannot reach: load it afresh.
        self.enable(name)

    def stop(self, name: str) -> None:
        self._need(name)
        _checked(["launchctl", "bootout", f"{self._domain()}/{LAUNCHD_PREFIX}{name}"])

    def remove(self, name: str) -> Path:
        found = self._need(name)
        _run(["launchctl", "bootout", f"{self._domain()}/{LAUNCHD_PREFIX}{name}"])
        found.unlink()
        return found

    def status(self, name: str) -> str:
        self._need(name)
        done = _run(["launchctl", "print", f"{self._domain()}/{LAUNCHD_PREFIX}{name}"])
        lines = (done.stdout or done.stderr).strip().splitlines()
        wanted = ("state =", "pid =", "last exit code =", "runs =")
        return "\n".join(line.strip() for line in lines if line.strip().startswith(wanted))

    def logs(self, name: str, lines: int, follow: bool) -> list[str]:
        self._need(name)
        argv = ["tail", "-n", str(lines)]
        return [*argv, "-F", str(self.log(name))] if follow else [*argv, str(self.log(name))]


def manager() -> Manager:
    """The service manager of this platform: launchd on macOS, systemd elsewhere."""
    if sys.platform == "darwin":
        return Launchd()
    if sys.platform.startswith("linux"):
        return Systemd()
    raise HubbubError(
        f"background services are written for systemd (Linux) and launchd (macOS), "
        f"not {sys.platform}",
        code="service_unsupported",
    )


def program(name: str) -> str:
    """The absolute path of an installed command: next to this Python first, then ``PATH``."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise NotFound(f"{name!r} is not on PATH", code="program_not_found")
    return str(Path(found).resolve())
