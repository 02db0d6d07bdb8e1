"""The harnesses a runner can start, each in its headless mode: the argument list for a run
(its permission flags per approval mode), how the prompt reaches it, and how its final answer
or its failure is read back from what it printed.

| harness | command | prompt | answer | read-only | open and guarded |
|---|---|---|---|---|---|
| claude | ``claude -p --output-format json`` | stdin | ``.result`` unless ``.is_error`` | ``--permission-mode plan`` | ``--permission-mode acceptEdits`` |
| codex | ``codex exec --skip-git-repo-check --cd DIR -o FILE -`` | stdin | the file | ``--sandbox read-only`` | ``--sandbox workspace-write`` |
| gemini | ``gemini --skip-trust --output-format json --prompt TEXT`` | argument | ``.response`` | ``--approval-mode plan`` | ``--approval-mode auto_edit`` |
| opencode | ``opencode run --format json --dir DIR`` | stdin | the last step's text parts | ``--agent plan`` | (its own configuration) |
| any command | as given (split like a shell would, never run by one) | stdin | stdout | none: refused | as given |
"""  # noqa: E501

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hubbub.core.errors import InvalidInput

Mode = Literal["open", "guarded", "read-only"]
MODES: tuple[Mode, ...] = ("open", "guarded", "read-only")
NAMES = ("claude", "codex", "gemini", "opencode")
TAIL = 600  # characters of a failing harness's own words kept in the reason


@dataclass(frozen=True, slots=True)
class Invocation:
    """One start of a harness: its argument list, the prompt for its stdin (``None``: none,
    stdin is empty), and the file its answer is written to, if it writes one."""

    argv: list[str]
    stdin: bytes | None
    answer_file: Path | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """What a run came to: the final answer (``ok``), or why there is none."""

    ok: bool
    text: str


def tail(data: bytes | str, limit: int = TAIL) -> str:
    """The last ``limit`` characters of a process's output, trimmed, for a reason."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = text.strip()
    return text if len(text) <= limit else "…" + text[-limit:]


def _failed(exit_code: int | None, stdout: bytes, stderr: bytes) -> Answer:
    said = tail(stderr) or tail(stdout) or "no output"
    return Answer(False, f"exited with code {exit_code}: {said}")


@dataclass(frozen=True, slots=True)
class Harness:
    """A harness the runner knows: its name, the program it runs, and the base of each run."""

    name: str
    program: str
    extra: tuple[str, ...] = ()
    read_only: bool = True
    """Whether it has a read-only mode (every named harness does; a command does not)."""

    def invocation(self, prompt: str, cwd: Path, mode: Mode, scratch: Path) -> Invocation:
        """The start of one run of ``prompt`` in ``cwd``; ``scratch`` is a private folder."""
        raise NotImplementedError

    def answer(self, exit_code: int | None, stdout: bytes, stderr: bytes, scratch: Path) -> Answer:
        """The final answer, or the reason there is none, from what the run printed."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Claude(Harness):
    """Claude Code: ``claude -p``, JSON out; ``is_error`` counts even with exit code 0."""

    def invocation(self, prompt: str, cwd: Path, mode: Mode, scratch: Path) -> Invocation:
        permission = "plan" if mode == "read-only" else "acceptEdits"
        argv = [self.program, "-p", "--output-format", "json", "--permission-mode", permission]
        return Invocation([*argv, *self.extra], prompt.encode())

    def answer(self, exit_code: int | None, stdout: bytes, stderr: bytes, scratch: Path) -> Answer:
        found = _last_json(stdout, lambda d: d.get("type") == "result")
        if found is None:
            return _failed(exit_code, stdout, stderr)
        text = str(found.get("result") or "")
        if found.get("is_error") or exit_code != 0:
            return Answer(False, f"claude reported an error: {tail(text) or 'no detail'}")
        return Answer(True, text) if text.strip() else Answer(False, "claude gave no answer")


@dataclass(frozen=True, slots=True)
class Codex(Harness):
    """Codex: ``codex exec``, the last message written to a file; progress goes to stderr."""

    def invocation(self, prompt: str, cwd: Path, mode: Mode, scratch: Path) -> Invocation:
        sandbox = "read-only" if mode == "read-only" else "workspace-write"
        answer = scratch / "answer.md"
        argv = [
            self.program,
            "exec",
            "--skip-git-repo-check",
            "--cd",
            str(cwd),
            "--sandbox",
            sandbox,
            "--output-last-message",
            str(answer),
            *self.extra,
            "-",  # the prompt comes on stdin
        ]
        return Invocation(argv, prompt.encode(), answer)

    def answer(self, exit_code: int | None, stdout: bytes, stderr: bytes, scratch: Path) -> Answer:
        if exit_code != 0:
            return _failed(exit_code, stdout, stderr)
        written = scratch / "answer.md"
        text = written.read_text("utf-8", "replace") if written.exists() else ""
        return Answer(True, text) if text.strip() else Answer(False, "codex gave no answer")


GEMINI_EXITS = {
    41: "no authentication is set up",
    42: "the input was refused",
    53: "the turn limit was reached",
    55: "the working directory is not trusted",
}


@dataclass(frozen=True, slots=True)
class Gemini(Harness):
    """Gemini CLI: ``gemini --prompt``, JSON out; errors as JSON on stderr, with exit codes."""

    def invocation(self, prompt: str, cwd: Path, mode: Mode, scratch: Path) -> Invocation:
        approval = "plan" if mode == "read-only" else "auto_edit"
        argv = [
            self.program,
            "--skip-trust",
            "--output-format",
            "json",
            "--approval-mode",
            approval,
            *self.extra,
            "--prompt",
            prompt,  # bounded well under the 128 KiB a single argument may have
        ]
        return Invocation(argv, None)

    def answer(self, exit_code: int | None, stdout: bytes, stderr: bytes, scratch: Path) -> Answer:
        found = _last_json(stdout, lambda d: "response" in d or "error" in d)
        failure = _last_json(stderr, lambda d: "error" in d)
        if exit_code == 0 and found is not None and not found.get("error"):
            text = str(found.get("response") or "")
            return Answer(True, text) if text.strip() else Answer(False, "gemini gave no answer")
        error = (failure or found or {}).get("error")
        detail = error.get("message") if isinstance(error, dict) else None
        known = GEMINI_EXITS.get(exit_code or 0)
        if detail or known:
            why = "; ".join(part for part in (known, tail(str(detail or ""))) if part)
            return Answer(False, f"gemini exited with code {exit_code}: {why}")
        return _failed(exit_code, stdout, stderr)


@dataclass(frozen=True, slots=True)
class OpenCode(Harness):
    """OpenCode: ``opencode run --format json``: one event a line; an exit code of 0 with no
    text (a refused permission) is a failure too."""

    def invocation(self, prompt: str, cwd: Path, mode: Mode, scratch: Path) -> Invocation:
        argv = [self.program, "run", "--format", "json", "--dir", str(cwd)]
        if mode == "read-only":
            argv += ["--agent", "plan"]
        return Invocation([*argv, *self.extra], prompt.encode())

    def answer(self, exit_code: int | None, stdout: bytes, stderr: bytes, scratch: Path) -> Answer:
        texts: list[str] = []
        error = ""
        for event in _json_lines(stdout):
            kind = event.get("type")
            if kind == "step_start":
                texts = []
            elif kind == "text":
                part = event.get("part")
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    texts.append(part["text"])
            elif kind == "error":
                error = _opencode_error(event.get("error"))
        text = "".join(texts)
        if error:
            return Answer(False, f"opencode reported an error: {tail(error)}")
        if exit_code != 0:
            return _failed(exit_code, stdout, stderr)
        if not text.strip():
            return Answer(False, "opencode gave no answer (a permission it asked for is refused)")
        return Answer(True, text)


@dataclass(frozen=True, slots=True)
class Command(Harness):
    """Any command: the prompt on stdin, the answer on stdout, a non-zero exit a failure."""

    argv: tuple[str, ...] = field(default=())

    def invocation(self, prompt: str, cwd: Path, mode: Mode, scratch: Path) -> Invocation:
        return Invocation([*self.argv, *self.extra], prompt.encode())

    def answer(self, exit_code: int | None, stdout: bytes, stderr: bytes, scratch: Path) -> Answer:
        if exit_code != 0:
            return _failed(exit_code, stdout, stderr)
        text = stdout.decode("utf-8", "replace")
        return Answer(True, text) if text.strip() else Answer(False, "the command printed nothing")


KINDS: dict[str, type[Harness]] = {
    "claude": Claude,
    "codex": Codex,
    "gemini": Gemini,
    "opencode": OpenCode,
}


def harness(
    spec: str,
    extra: Sequence[str] = (),
    *,
    which: Callable[[str], str | None] | None = None,
) -> Harness:
    """The harness for ``--exec``: one of :data:`NAMES`, found on ``PATH``, or any other
    command line (its program found on ``PATH`` if it names no path)."""
    import shutil

    find = which or shutil.which
    if spec in KINDS:
        program = find(spec)
        if program is None:
            raise InvalidInput(f"{spec!r} is not on PATH", code="harness_not_found")
        return KINDS[spec](spec, program, tuple(extra))
    try:
        words = shlex.split(spec)
    except ValueError as error:
        raise InvalidInput(f"cannot read --exec {spec!r}: {error}", code="bad_exec") from None
    if not words:
        raise InvalidInput("--exec needs a harness or a command", code="bad_exec")
    program = words[0] if "/" in words[0] else find(words[0])
    if program is None or not Path(program).exists():
        raise InvalidInput(f"{words[0]!r} is not on PATH", code="harness_not_found")
    return Command("command", program, tuple(extra), read_only=False, argv=(program, *words[1:]))


def _json_lines(data: bytes) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for line in data.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def _last_json(data: bytes, wanted: Any) -> dict[str, Any] | None:
    """The last JSON object in ``data`` that ``wanted`` accepts: the whole output, or one of
    its lines."""
    text = data.decode("utf-8", "replace").strip()
    candidates: list[dict[str, Any]] = []
    try:
        whole = json.loads(text) if text else None
    except ValueError:
        whole = None
    if isinstance(whole, dict):
        candidates.append(whole)
    candidates += _json_lines(data)
    for value in reversed(candidates):
        if wanted(value):
            return value
    return None


def _opencode_error(error: Any) -> str:
    if isinstance(error, dict):
        data = error.get("data")
        if isinstance(data, dict) and data.get("message"):
            return str(data["message"])
        return str(error.get("message") or error.get("name") or error)
    return str(error or "unknown error")
