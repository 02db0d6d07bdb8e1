"""What every value the hub takes must be, whichever engine stores it: ids that fit the 64-bit
integers both engines store, and text without U+0000, which SQLite keeps but PostgreSQL
refuses (so a hub that took it could not be moved)."""

from __future__ import annotations

import re
from typing import Any

MAX_ID = 2**63 - 1
"""The largest id or cursor: SQLite's INTEGER and PostgreSQL's bigint hold no more."""

NUL = "\x00"
REPLACEMENT = "\ufffd"
"""What an import puts in place of each NUL an older hub stored."""

_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")
# A ``\u0000`` in JSON text is a NUL only where its backslash is not itself escaped: preceded
# by an even number of backslashes.

WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""The characters ``str.isspace`` (and so ``str.strip``) takes for whitespace: text made only
of these is blank (tests/test_bad_input.py checks the list)."""


def char_class(chars: str) -> str:
    """``chars`` (of the Basic Multilingual Plane) as the body of a regular-expression class
    that Python, ECMA-262 (JSON Schema) and Rust read alike: ``\\uXXXX`` escapes, runs joined
    into ranges."""
    codes = sorted(ord(c) for c in chars)
    parts: list[str] = []
    start = prev = codes[0]
    for code in [*codes[1:], -1]:
        if code == prev + 1:
            prev = code
            continue
        parts.append(f"\\u{start:04x}" + (f"-\\u{prev:04x}" if prev > start else ""))
        start = prev = code
    return "".join(parts)


TEXT_PATTERN = f"^[^{char_class(NUL)}]*$"
"""Text the hub takes: anything without NUL (as a JSON Schema ``pattern``)."""

NOT_BLANK_PATTERN = f"^[^{char_class(NUL)}]*[^{char_class(NUL + WHITESPACE)}][^{char_class(NUL)}]*$"
"""Text with at least one character that is not whitespace, and no NUL."""


def nul_at(value: Any, where: str = "") -> str | None:
    """Where in ``value`` (a string, or JSON-shaped lists and objects of them, keys included)
    the first NUL is: ``""`` for ``value`` itself, else a path like ``.a[2]``; ``None`` if
    there is none."""
    if isinstance(value, str):
        return where if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and NUL in key:
                return f"{where}.{key.replace(NUL, '␀')}"
            found = nul_at(item, f"{where}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = nul_at(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def nul_refused(what: str) -> str:
    """Why text with a NUL is refused."""
    return f"{what} holds a NUL character (U+0000), which the hub does not store"


def replace_nul(text: str, *, json: bool = False) -> tuple[str, int]:
    """``text`` with each NUL replaced by U+FFFD, and how many there were. With ``json``,
    ``text`` is JSON and its ``\\u0000`` escapes are NULs too."""
    count = text.count(NUL)
    if count:
        text = text.replace(NUL, REPLACEMENT)
    if json and "\\u0000" in text:
        text, escaped = _NUL_ESCAPE.subn(lambda m: m.group(1) + "\\ufffd", text)
        count += escaped
    return text, count
