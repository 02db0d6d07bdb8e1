"""Generate the synchronous client from the asynchronous one.

python scripts/unasync.py          # rewrite src/hubbub/client/_sync.py
python scripts/unasync.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src/hubbub/client/_async.py"
TARGET = ROOT / "src/hubbub/client/_sync.py"

# Whole-word replacements, applied in order.
RENAMES = [
    ("AsyncGenerator", "Generator"),
    ("AsyncIterator", "Iterator"),
    ("AsyncBaseTransport", "BaseTransport"),
    ("AsyncClient", "Client"),
    ("__aenter__", "__enter__"),
    ("__aexit__", "__exit__"),
    ("aclose", "close"),
    ("aiter_bytes", "iter_bytes"),
    ("aiter_lines", "iter_lines"),
    ("aread", "read"),
    ("asyncio", "time"),
]
PATTERNS = [
    (re.compile(r"\bAsyncGenerator\[(.+?), None\]"), r"Generator[\1, None, None]"),
    (re.compile(r"\basync def\b"), "def"),
    (re.compile(r"\basync for\b"), "for"),
    (re.compile(r"\basync with\b"), "with"),
    (re.compile(r"\bawait "), ""),
]
HEADER = (
    '"""The asynchronous client. ``_sync.py`` is generated from this file by\n'
    '``scripts/unasync.py`` (``make generate``); edit this one."""'
)
SYNC_HEADER = (
    '"""The synchronous client, generated from ``_async.py`` by ``scripts/unasync.py``.\n'
    'Do not edit: change ``_async.py`` and run ``make generate``."""'
)


def generate(source: str) -> str:
    """The sync twin of ``source``, formatted as the tree is (by ruff)."""
    text = source.replace(HEADER, SYNC_HEADER)
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    for old, new in RENAMES:
        text = re.sub(rf"\b{old}\b", new, text)
    for command in (["check", "--select", "I", "--fix", "--quiet"], ["format"]):
        text = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--stdin-filename", str(TARGET), "-"],
            input=text,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
    return text


def main() -> int:
    wanted = generate(SOURCE.read_text(encoding="utf-8"))
    if "--check" in sys.argv:
        if TARGET.read_text(encoding="utf-8") != wanted:
            print(f"{TARGET} is out of date: run 'make generate'", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
