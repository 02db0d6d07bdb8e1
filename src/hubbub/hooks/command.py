"""``hubbub hook EVENT [--harness NAME] [--agent NAME] [--timeout SECONDS] [PAYLOAD]``.

It reads the harness's JSON from stdin (from the last argument for ``notify``), relays it to
the hub and writes the hub's answer to stdout, with no text in it over :data:`TEXT_CAP`
characters. Exit codes: 0 when answered, when there is nothing to say, when the hub is down
(the prompt is never held up: one quiet line on stderr at most) and when ``HUBBUB_RUNNER`` is
set; 1 for bad input or a refusal (a non-blocking error in every harness; nothing is sent); 2
only from ``wake``, with the news on stderr. ``wake`` waits on the hub until news arrives or
its life (``--timeout``, the hook timeout the harness was given, less a margin) is over;
while the hub is down it backs off and keeps waiting, quietly. A harness starts a waiter at
every stop, so each session keeps only its newest: a new waiter ends the one before (which
exits 0, quietly).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubbub.core.errors import HubbubError, InvalidInput, RateLimited, TooLarge
from hubbub.hooks import relay
from hubbub.hooks.contract import (
    ARGUMENT_EVENT,
    DEFAULT_HARNESS,
    DEFAULT_LIFE_SECONDS,
    EVENTS,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_WAKE,
    HARNESSES,
    LIFE_MARGIN_SECONDS,
    RUNNER_ENV,
    SESSION_FIELDS,
    TEXT_CAP,
    WAIT_MAX_SECONDS,
    WAKE_EVENT,
)

USAGE = "usage: hubbub hook EVENT [--harness NAME] [--agent NAME] [--timeout SECONDS] [PAYLOAD]"
ANSWER_TIMEOUT = 5.0  # seconds a relayed hook waits for the hub before giving up, quietly
BACKOFF = (0.5, 5.0)  # the waiter's first and longest pause while the hub is down
MAX_LIFE_SECONDS = 24 * 3600
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Invocation:
    """One ``hubbub hook`` command line, checked."""

    event: str
    harness: str = DEFAULT_HARNESS
    agent: str | None = None
    timeout: float = DEFAULT_LIFE_SECONDS
    payload: str | None = None


def parse(args: Sequence[str]) -> Invocation:
    """The command line's event and options; ``InvalidInput`` for anything else."""
    options: dict[str, str] = {}
    positional: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg.startswith("--"):
            name, equals, value = arg[2:].partition("=")
            if name not in ("harness", "agent", "timeout"):
                raise InvalidInput(f"no such option: --{name}")
            if not equals:
                if not rest:
                    raise InvalidInput(f"--{name} needs a value")
                value = rest.pop(0)
            options[name] = value
        else:
            positional.append(arg)
    if not positional:
        raise InvalidInput(f"no event ({USAGE})")
    event, *extra = positional
    if len(extra) > (1 if event == ARGUMENT_EVENT else 0):
        raise InvalidInput(f"unexpected argument {extra[-1][:40]!r} ({USAGE})")
    return checked(
        event,
        harness=options.get("harness", DEFAULT_HARNESS),
        agent=options.get("agent") or None,
        timeout=_seconds(options.get("timeout")),
        payload=extra[0] if extra else None,
    )


def _seconds(value: str | None) -> float:
    if value is None:
        return DEFAULT_LIFE_SECONDS
    try:
        return float(value)
    except ValueError:
        raise InvalidInput(f"--timeout takes a number of seconds, not {value!r}") from None


def checked(
    event: str, *, harness: str, agent: str | None, timeout: float, payload: str | None
) -> Invocation:
    """An invocation whose event and harness the contract knows."""
    if event not in EVENTS:
        raise InvalidInput(f"unknown hook event {event!r}: one of {', '.join(EVENTS)}")
    if harness not in HARNESSES:
        raise InvalidInput(f"unknown harness {harness!r}: one of {', '.join(HARNESSES)}")
    if payload is not None and event != ARGUMENT_EVENT:
        raise InvalidInput(f"only {ARGUMENT_EVENT} takes its input as an argument")
    if not 1 <= timeout <= MAX_LIFE_SECONDS:
        raise InvalidInput(f"--timeout takes seconds from 1 to {MAX_LIFE_SECONDS}, not {timeout:g}")
    return Invocation(event, harness, agent, timeout, payload)


def hook_input(invocation: Invocation, stdin: Callable[[], bytes]) -> tuple[bytes, dict[str, Any]]:
    """The harness's JSON, as sent and as an object: the payload argument for ``notify``,
    else stdin."""
    if invocation.payload is not None:
        raw = invocation.payload.encode("utf-8", errors="surrogateescape")
    elif invocation.event == ARGUMENT_EVENT:
        raise InvalidInput(f"{ARGUMENT_EVENT} takes the harness's JSON as its last argument")
    else:
        raw = stdin()
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        where = "its argument" if invocation.payload is not None else "stdin"
        raise InvalidInput(f"the hook input on {where} is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise InvalidInput("the hook input is not a JSON object")
    return raw, data


def session_of(data: dict[str, Any]) -> str:
    """The session id in the hook input."""
    for name in SESSION_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and value:
            return value
    raise InvalidInput(f"the hook input names no session ({', '.join(SESSION_FIELDS)})")


def capped(answer: str, limit: int = TEXT_CAP) -> str:
    """``answer`` with no text for the model over ``limit`` characters: each string of a JSON
    answer (``additionalContext``, ``reason``…), or a plain-text answer whole, cut to end in an
    ellipsis. An answer within the limit is returned as it came."""
    try:
        data = json.loads(answer)
    except ValueError:
        data = answer
    if not isinstance(data, dict | list):
        return answer if len(answer) <= limit else _cut(answer, limit)
    long = [(holder, key, value) for holder, key, value in _strings(data) if len(value) > limit]
    if not long:
        return answer
    for holder, key, value in long:
        holder[key] = _cut(value, limit)
    return json.dumps(data, ensure_ascii=False)


def _cut(text: str, limit: int) -> str:
    return text[: limit - len(ELLIPSIS)] + ELLIPSIS


def _strings(data: Any) -> Iterator[tuple[Any, Any, str]]:
    """Every string value in a JSON value, as (container, key, value)."""
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        if isinstance(value, str):
            yield data, key, value
        elif isinstance(value, dict | list):
            yield from _strings(value)


def relay_once(invocation: Invocation, body: bytes) -> int:
    """Send the hook input to the hub unchanged; print its answer."""
    target = relay.Target.resolve(invocation.agent)
    answer = relay.post_hook(target, invocation.harness, invocation.event, body, ANSWER_TIMEOUT)
    if answer.status != 204 and answer.body:
        _write(sys.stdout, capped(answer.body))
    return EXIT_OK


def wake(invocation: Invocation, data: dict[str, Any]) -> int:
    """Wait for news until the waiter's life is over; exit 2 with it on stderr."""
    target = relay.Target.resolve(invocation.agent)
    session = session_of(data)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(EXIT_OK))
    _replace_waiter(f"{target.url} {target.agent} {invocation.harness} {session}")
    margin = min(LIFE_MARGIN_SECONDS, invocation.timeout / 10)
    deadline = time.monotonic() + invocation.timeout - margin
    parent = os.getppid()
    pause = BACKOFF[0]
    while (remaining := deadline - time.monotonic()) >= 1 and os.getppid() == parent:
        asked = time.monotonic()
        try:
            text = relay.wait(
                target, invocation.harness, session, min(WAIT_MAX_SECONDS, int(remaining))
            )
        except HubbubError as error:
            if not _hub_down(error):
                raise
            text = None
        if text:
            _write(sys.stderr, capped(text) + "\n")
            return EXIT_WAKE
        if time.monotonic() - asked < BACKOFF[0]:
            # Down, or answering at once with nothing (a hub that does not wait): pause
            # before asking again, longer each time, rather than spin.
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, BACKOFF[1])
        else:
            pause = BACKOFF[0]
    return EXIT_OK


def _replace_waiter(waiting_for: str) -> None:
    """Become the one waiter of this hub, agent, harness and session: end the one before, if
    it still runs, and leave this process's id where the next one will look."""
    folder = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    folder = folder / f"hubbub-{os.getuid()}"
    with contextlib.suppress(OSError):
        folder.mkdir(mode=0o700, exist_ok=True)
        if folder.stat().st_uid != os.getuid():
            return  # someone else's folder: wait alongside rather than trust it
        marker = folder / f"wake-{hashlib.sha256(waiting_for.encode()).hexdigest()[:24]}"
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, ValueError):
            earlier = int(marker.read_text())
            command = Path(f"/proc/{earlier}/cmdline").read_bytes().split(b"\0")
            if earlier != os.getpid() and b"hook" in command and WAKE_EVENT.encode() in command:
                os.kill(earlier, signal.SIGTERM)
        marker.write_text(str(os.getpid()))


def _hub_down(error: HubbubError) -> bool:
    """Errors that mean "not now" rather than "never": the hub unreachable or failing,
    rate limiting, or an input too large for it this time."""
    return error.status >= 500 or isinstance(error, RateLimited | TooLarge)


def _write(stream: Any, text: str) -> None:
    stream.buffer.write(text.encode("utf-8", errors="replace"))
    stream.flush()


def _read_stdin() -> bytes:
    if sys.stdin is None or sys.stdin.isatty():
        raise InvalidInput("no hook input: the harness's JSON goes on stdin")
    data: bytes = sys.stdin.buffer.read()
    return data


def standing_down() -> bool:
    """Whether the always-on runner started this harness (its hooks then do nothing)."""
    return os.environ.get(RUNNER_ENV, "") not in ("", "0")


def run(invocation: Callable[[], Invocation], stdin: Callable[[], bytes] = _read_stdin) -> int:
    """Run one hook: its exit code. An error becomes one line on stderr (exit 0 when the hub
    is down, 1 otherwise); only ``wake``'s news says more."""
    if standing_down():
        return EXIT_OK
    try:
        checked_invocation = invocation()
        body, data = hook_input(checked_invocation, stdin)
        if checked_invocation.event == WAKE_EVENT:
            return wake(checked_invocation, data)
        return relay_once(checked_invocation, body)
    except HubbubError as error:
        detail = " ".join(error.detail.split())  # one line, whatever the hub said
        if _hub_down(error):
            print(f"hubbub hook: no news this time ({detail})", file=sys.stderr)
            return EXIT_OK
        print(f"hubbub hook: error ({error.code}): {detail}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_OK


def main(args: Sequence[str]) -> int:
    """``hubbub hook ARGS`` from the ``hubbub`` script, before any command-line framework
    loads: its exit code."""
    return run(lambda: parse(args))
