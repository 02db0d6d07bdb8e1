"""A stand-in for a coding harness, for the runner's tests and benchmark: it reads the prompt
on stdin, finds the request in it, and answers, sleeps, fails or hangs on cue.

Cues are words in the request's text: ``cue:sleep=SECONDS`` (then answer), ``cue:fail``
(exit 3 with a reason on stderr), ``cue:hang`` (never answer), ``cue:big=BYTES`` (answer that
many bytes), ``cue:silent`` (exit 0 printing nothing). The answer is ``stand-in: `` and the
request's text. With ``STANDIN_LOG`` set, each run appends two JSON lines to that file: when
it started (the first thing it does) and, before it answers, what it was given.

Run it as ``python -I -S standin_harness.py``: without ``site`` it starts in a few ms."""

import time

STARTED = time.time()

import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402

BLOCK = re.compile(
    r"<<<hubbub (message|task) id=(\d+) from=(\S+)[^\n]*>>>\n(.*?)\n<<<end hubbub \1 id=\2>>>",
    re.DOTALL,
)


def record(entry: dict[str, object]) -> None:
    path = os.environ.get("STANDIN_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")


def main() -> int:
    record({"event": "start", "pid": os.getpid(), "at": STARTED})
    prompt = sys.stdin.read()
    found = BLOCK.search(prompt)
    request = found.group(4) if found else ""
    record(
        {
            "event": "prompt",
            "pid": os.getpid(),
            "request": request,
            "prompt": prompt,
            "cwd": os.getcwd(),
            "runner": os.environ.get("HUBBUB_RUNNER"),
            "agent": os.environ.get("HUBBUB_AGENT"),
        }
    )
    if "cue:hang" in request:
        while True:
            time.sleep(3600)
    sleep = re.search(r"cue:sleep=([0-9.]+)", request)
    if sleep:
        time.sleep(float(sleep.group(1)))
    if "cue:fail" in request:
        print("the stand-in failed on cue", file=sys.stderr)
        return 3
    if "cue:silent" in request:
        return 0
    big = re.search(r"cue:big=(\d+)", request)
    answer = "x" * int(big.group(1)) if big else f"stand-in: {request}"
    record({"event": "end", "pid": os.getpid(), "at": time.time()})
    sys.stdout.write(answer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
