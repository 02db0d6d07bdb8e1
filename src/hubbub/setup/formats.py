"""The file formats setup edits: JSON settings, Codex's TOML, and text (a Markdown block or a
whole file). Each turns (old text, entries) into new text, or refuses, writing nothing, a file
it does not understand."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from typing import Any, Protocol

import tomli_w

from hubbub.core.errors import InvalidInput
from hubbub.setup.entries import Document, Entry, Outcome, add, remove


@dataclass(frozen=True, slots=True)
class Edited:
    """A format's answer: the new text (None: the file is left with nothing of its own, and
    goes if setup created it), and what changed."""

    text: str | None
    outcome: Outcome


class Format(Protocol):
    """How one kind of file is read, added to and taken out of."""

    def apply(self, text: str | None, entries: list[Entry], previous: list[Entry]) -> Edited:
        """``text`` (None: no file yet) with ``entries`` added."""
        ...

    def take_out(self, text: str, entries: list[Entry]) -> Edited:
        """``text`` without the ``entries`` that are still as written."""
        ...

    def has(self, text: str, entry: Entry) -> bool:
        """Whether ``entry`` is in ``text`` as setup writes it."""
        ...

    def empty(self, old: str) -> str:
        """The text of a file left with nothing in it that setup did not create."""
        ...


def _unreadable(what: str, why: str) -> InvalidInput:
    return InvalidInput(f"{what}; nothing was written", code="setup_unreadable", reason=why)


_COMMENT = re.compile(r'"(?:\\.|[^"\\])*"|(//[^\n]*|/\*.*?\*/)', re.DOTALL)


def has_comments(text: str) -> bool:
    """Whether JSON text carries ``//`` or ``/* */`` comments (outside strings)."""
    return any(match.group(1) for match in _COMMENT.finditer(text))


class JsonFormat:
    """A JSON object file, rewritten in its own indentation. Comments are refused, never
    dropped: such a file is left for the user to edit."""

    def parse(self, text: str) -> Document:
        """The document; refuses JSON with comments, malformed JSON and non-objects."""
        if has_comments(text):
            raise _unreadable(
                "it has comments, which setup would have to drop to rewrite it", "comments"
            )
        try:
            data = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as error:
            raise _unreadable(f"it is not valid JSON ({error})", "malformed") from None
        if not isinstance(data, dict):
            raise _unreadable("it does not hold a JSON object", "shape")
        return data

    def render(self, document: Document, old: str | None) -> str:
        """``document`` as JSON indented like ``old`` (two spaces for a new file)."""
        indent: str | int = 2
        if old:
            found = re.search(r"^\{\s*\n([ \t]+)\S", old)
            if found:
                indent = found.group(1)
        end = "\n" if old is None or old.endswith("\n") else ""
        return json.dumps(document, indent=indent, ensure_ascii=False) + end

    def apply(self, text: str | None, entries: list[Entry], previous: list[Entry]) -> Edited:
        """Add the entries and re-render."""
        document = self.parse(text) if text is not None else {}
        outcome = add(document, entries, previous)
        if not outcome.changed:
            return Edited(text, outcome)
        return Edited(self.render(document, text), outcome)

    def take_out(self, text: str, entries: list[Entry]) -> Edited:
        """Remove the entries and re-render; None when nothing is left."""
        document = self.parse(text)
        outcome = remove(document, entries)
        if not document:
            return Edited(None, outcome)
        return Edited(self.render(document, text) if outcome.changed else text, outcome)

    def has(self, text: str, entry: Entry) -> bool:
        """Whether the entry is there."""
        from hubbub.setup.entries import present

        return present(self.parse(text), entry)

    def empty(self, old: str) -> str:
        """An empty object."""
        return self.render({}, old)


class TomlFormat:
    """A TOML file edited as text, so the user's comments and layout stay: a top-level key
    goes before the first table, a table at the end; the result is parsed again and must be
    exactly the old document plus (or minus) the entries, or nothing is written."""

    def parse(self, text: str) -> Document:
        """The document; refuses malformed TOML."""
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise _unreadable(f"it is not valid TOML ({error})", "malformed") from None

    def block(self, entry: Entry) -> str:
        """The text of one entry."""
        value: Any = entry.value
        for name in reversed((*entry.path, entry.key or "")):
            value = {name: value}
        return tomli_w.dumps(value)

    def _insert(self, text: str, entry: Entry) -> str:
        block = self.block(entry)
        if entry.path:
            gap = (
                ""
                if not text or text.endswith("\n\n")
                else ("\n" if text.endswith("\n") else "\n\n")
            )
            return text + gap + block
        header = re.search(r"^[ \t]*\[", text, re.MULTILINE)
        if header is None:
            gap = "" if not text or text.endswith("\n") else "\n"
            return text + gap + block
        return text[: header.start()] + block + "\n" + text[header.start() :]

    def _cut(self, text: str, entry: Entry) -> str | None:
        block = self.block(entry)
        for variant in (block + "\n", "\n" + block, block):
            if variant in text:
                return text.replace(variant, "", 1)
        return None

    def _check(self, text: str, expected: Document, what: str) -> None:
        try:
            if tomllib.loads(text) == expected:
                return
        except tomllib.TOMLDecodeError:
            pass
        raise InvalidInput(
            f"setup cannot {what} without changing other settings (its tables are laid out "
            "in a way setup does not edit); nothing was written",
            code="setup_unknown_shape",
        )

    def apply(self, text: str | None, entries: list[Entry], previous: list[Entry]) -> Edited:
        """Add the entries as text blocks."""
        old = text or ""
        document = self.parse(old)
        outcome = add(document, entries, previous)
        if not outcome.changed:
            return Edited(text, outcome)
        new = old
        for entry in outcome.changed:
            stale = next((p for p in previous if p.path == entry.path and p.key == entry.key), None)
            if stale is not None:
                new = self._cut(new, stale) or new
            new = self._insert(new, entry)
        self._check(new, document, "add its settings")
        return Edited(new, outcome)

    def take_out(self, text: str, entries: list[Entry]) -> Edited:
        """Cut the entries' blocks out."""
        document = self.parse(text)
        outcome = remove(document, entries)
        new = text
        for entry in outcome.changed:
            new = self._cut(new, entry) or new
        self._check(new, document, "take its settings out")
        return Edited(None if not new.strip() else new, outcome)

    def has(self, text: str, entry: Entry) -> bool:
        """Whether the entry is there."""
        from hubbub.setup.entries import present

        return present(self.parse(text), entry)

    def empty(self, old: str) -> str:
        """An empty file."""
        return ""


class TextFormat:
    """Markdown. With ``whole``, the file is setup's alone (a slash command): it is written if
    absent and left if the user has one of that name. Otherwise the entry is a block appended
    to the file (an instructions section between markers)."""

    def __init__(self, *, whole: bool) -> None:
        self.whole = whole

    def apply(self, text: str | None, entries: list[Entry], previous: list[Entry]) -> Edited:
        """Write the file or append the block."""
        (entry,) = entries
        block: str = entry.value
        outcome = Outcome()
        if text is None:
            outcome.changed.append(entry)
            return Edited(block, outcome)
        if block in text:
            return Edited(text, outcome)
        stale = next((p.value for p in previous if p.value in text), None)
        if stale is not None:
            outcome.changed.append(entry)
            return Edited(text.replace(stale, block, 1), outcome)
        if self.whole:
            outcome.kept.append((entry, "a file of that name is already there; left as it is"))
            return Edited(text, outcome)
        gap = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        outcome.changed.append(entry)
        return Edited(text + gap + block, outcome)

    def take_out(self, text: str, entries: list[Entry]) -> Edited:
        """Delete the file or cut the block, if unchanged."""
        (entry,) = entries
        block: str = entry.value
        outcome = Outcome()
        if block not in text:
            outcome.kept.append((entry, "changed since setup wrote it; left as it is"))
            return Edited(text, outcome)
        outcome.changed.append(entry)
        for variant in ("\n" + block, block):
            if variant in text:
                new = text.replace(variant, "", 1)
                return Edited(new if new.strip() else None, outcome)
        raise AssertionError("unreachable")

    def has(self, text: str, entry: Entry) -> bool:
        """Whether the block is there."""
        return str(entry.value) in text

    def empty(self, old: str) -> str:
        """An empty file."""
        return ""
