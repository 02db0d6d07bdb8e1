"""What a runner is told to do: the harness and where it works, the approval mode, who may
ask, how much, how long a run may take. Checked once, before anything is started; the same
options rebuild the command line a background service runs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hubbub.core import names
from hubbub.core.errors import InvalidInput
from hubbub.runner import limits
from hubbub.runner.harnesses import MODES, NAMES, Harness, Mode, harness

DEFAULT_TIMEOUT = 600.0  # seconds a run may take
DEFAULT_APPROVAL_TIMEOUT = 600.0  # seconds an approval may take before it counts as denied
DEFAULT_LEASE = 120.0  # seconds of a task lease, renewed every third of it while a run goes on
DEFAULT_HISTORY = 20  # earlier messages of the conversation fetched for a prompt


@dataclass(frozen=True, slots=True)
class RunnerOptions:
    """Everything ``hubbub agent run`` takes besides the hub's address and key."""

    agent: str
    exec: str
    cwd: Path
    mode: Mode = "open"
    approvers: tuple[str, ...] = ()
    approval_timeout: float = DEFAULT_APPROVAL_TIMEOUT
    allow: tuple[str, ...] = ()
    sender_limit: int = limits.SENDER_LIMIT
    thread_limit: int = limits.THREAD_LIMIT
    hop_limit: int = limits.HOP_LIMIT
    concurrency: int = 1
    timeout: float = DEFAULT_TIMEOUT
    lease: float = DEFAULT_LEASE
    history: int = DEFAULT_HISTORY
    args: tuple[str, ...] = field(default=())
    """Extra arguments for the harness, after the runner's own."""

    def check(self) -> Harness:
        """Raise ``InvalidInput`` for options that do not fit together; the harness to run."""
        names.check_agent(self.agent)
        if self.mode not in MODES:
            raise InvalidInput(
                f"bad mode {self.mode!r}: one of {', '.join(MODES)}", code="bad_runner_option"
            )
        if not self.cwd.is_dir():
            raise InvalidInput(f"--cwd {self.cwd} is not a directory", code="bad_runner_option")
        for name in self.approvers:
            names.check_agent(name)
        if self.mode == "guarded" and not self.approvers:
            raise InvalidInput(
                "guarded mode needs at least one --approver", code="approvers_required"
            )
        if self.mode != "guarded" and self.approvers:
            raise InvalidInput(
                "--approver is for guarded mode (--mode guarded)", code="bad_runner_option"
            )
        if self.agent in self.approvers:
            raise InvalidInput("a runner cannot approve its own runs", code="bad_runner_option")
        self._check_numbers()
        if self.mode == "read-only":
            if self.exec not in NAMES:
                raise InvalidInput(
                    f"read-only mode needs a harness that has one ({', '.join(NAMES)}); "
                    "a command given to --exec cannot be held to it",
                    code="read_only_unsupported",
                )
            if self.args:
                raise InvalidInput(
                    "read-only mode takes no --arg: an extra argument could lift it",
                    code="read_only_unsupported",
                )
        return harness(self.exec, self.args)

    def _check_numbers(self) -> None:
        wanted: list[tuple[str, float, float, float]] = [
            ("--concurrency", self.concurrency, 1, 64),
            ("--timeout", self.timeout, 1, 7 * 24 * 3600),
            ("--approval-timeout", self.approval_timeout, 1, 7 * 24 * 3600),
            ("--lease", self.lease, 10, 24 * 3600),
            ("--sender-limit", self.sender_limit, 0, 100_000),
            ("--thread-limit", self.thread_limit, 0, 100_000),
            ("--hop-limit", self.hop_limit, 0, 1000),
            ("--history", self.history, 0, 200),
        ]
        for option, value, low, high in wanted:
            if not low <= value <= high:
                raise InvalidInput(
                    f"{option} must be {low:g}-{high:g}, not {value:g}", code="bad_runner_option"
                )

    def command_line(self) -> list[str]:
        """The ``hubbub agent run`` arguments that give these options."""
        argv = ["agent", "run", "--agent", self.agent, "--exec", self.exec]
        argv += ["--cwd", str(self.cwd), "--mode", self.mode]
        argv += _repeated("--approver", self.approvers) + _repeated("--allow", self.allow)
        defaults = RunnerOptions(self.agent, self.exec, self.cwd)
        for option, value, default in (
            ("--approval-timeout", self.approval_timeout, defaults.approval_timeout),
            ("--sender-limit", self.sender_limit, defaults.sender_limit),
            ("--thread-limit", self.thread_limit, defaults.thread_limit),
            ("--hop-limit", self.hop_limit, defaults.hop_limit),
            ("--concurrency", self.concurrency, defaults.concurrency),
            ("--timeout", self.timeout, defaults.timeout),
            ("--lease", self.lease, defaults.lease),
            ("--history", self.history, defaults.history),
        ):
            if value != default:
                argv += [option, f"{value:g}"]
        return argv + [f"--arg={arg}" for arg in self.args]


def _repeated(option: str, values: Sequence[str]) -> list[str]:
    return [part for value in values for part in (option, value)]
