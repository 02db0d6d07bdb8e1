"""What setup wrote, file by file, so ``--remove`` takes out exactly that.

The record (``$XDG_DATA_HOME/hubbub/setup.json``, mode 0600) keeps for each file it changed:
whether setup created it, the directories it made, the entries it added, the SHA-256 of the
text it wrote, and for each write the few lines it replaced (setup inserts, so that is
usually none). While a file still hashes to what setup wrote, removal replays those undo
steps and the file is byte for byte what it was; once someone else changed it, removal takes
the entries out one by one and keeps everything else.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubbub.paths import data_home
from hubbub.setup.entries import Entry, same_place

Undo = list[tuple[int, int, list[str]]]


def record_file() -> Path:
    """Where the record lives."""
    return data_home() / "setup.json"


def digest(text: str) -> str:
    """The SHA-256 of a file's text as written (UTF-8)."""
    return hashlib.sha256(text.encode()).hexdigest()


def undo_steps(old: str, new: str) -> Undo:
    """How to turn ``new`` back into ``old``: the line ranges of ``new`` to replace and the
    lines of ``old`` that go there (nothing for pure insertions)."""
    before, after = old.splitlines(keepends=True), new.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, after, before, autojunk=False)
    return [
        (i1, i2, before[j1:j2]) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
    ]


def replay(text: str, steps: Undo) -> str:
    """``text`` with the undo steps applied."""
    lines = text.splitlines(keepends=True)
    for start, end, replacement in sorted(steps, reverse=True):
        lines[start:end] = replacement
    return "".join(lines)


@dataclass(slots=True)
class FileRecord:
    """What setup did to one file."""

    harness: str
    created: bool
    digest: str
    entries: list[Entry]
    undo: list[Undo] | None = field(default_factory=list)
    directories: list[str] = field(default_factory=list)

    def original(self, text: str) -> str | None:
        """The file as it was before setup, if ``text`` is still what setup wrote."""
        if self.undo is None or digest(text) != self.digest:
            return None
        for steps in reversed(self.undo):
            text = replay(text, steps)
        return text

    def to_json(self) -> dict[str, Any]:
        """The record as JSON."""
        return {
            "harness": self.harness,
            "created": self.created,
            "digest": self.digest,
            "entries": [entry.to_json() for entry in self.entries],
            "undo": None
            if self.undo is None
            else [[[a, b, lines] for a, b, lines in steps] for steps in self.undo],
            "directories": self.directories,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileRecord:
        """A record from JSON."""
        return cls(
            harness=data["harness"],
            created=bool(data["created"]),
            digest=data["digest"],
            entries=[Entry.from_json(e) for e in data["entries"]],
            undo=None
            if data["undo"] is None
            else [[(a, b, list(lines)) for a, b, lines in steps] for steps in data["undo"]],
            directories=list(data.get("directories", [])),
        )


class Record:
    """Every file setup changed on this account, by absolute path."""

    def __init__(self, files: dict[str, FileRecord], path: Path) -> None:
        self.files = files
        self.path = path

    @classmethod
    def load(cls, path: Path | None = None) -> Record:
        """The record; an absent or unreadable one is empty (removal then goes by what setup
        would write today)."""
        target = path or record_file()
        try:
            data = json.loads(target.read_text())
            files = {name: FileRecord.from_json(item) for name, item in data["files"].items()}
        except (OSError, ValueError, KeyError, TypeError):
            files = {}
        return cls(files, target)

    def get(self, file: Path) -> FileRecord | None:
        """What setup did to ``file``, if anything."""
        return self.files.get(str(file))

    def wrote(
        self,
        file: Path,
        harness: str,
        old: str | None,
        new: str,
        entries: list[Entry],
        directories: list[Path],
    ) -> None:
        """Note a write of ``new`` over ``old`` that added ``entries``."""
        known = self.files.get(str(file))
        if known is None or old is None:
            known = FileRecord(harness, old is None, "", [], [], [str(d) for d in directories])
        elif known.original(old) is None:
            known.undo = None  # changed by someone else since: no exact way back any more
        merged = [e for e in known.entries if not any(same_place(n, e) for n in entries)]
        known.entries = merged + entries
        if known.undo is not None:
            known.undo.append(undo_steps(old or "", new))
        known.digest = digest(new)
        self.files[str(file)] = known

    def forget(self, file: Path) -> None:
        """Drop what is known about ``file``."""
        self.files.pop(str(file), None)

    def save(self) -> None:
        """Write the record atomically, mode 0600 (an empty record is no file)."""
        if not self.files:
            self.path.unlink(missing_ok=True)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"files": {name: item.to_json() for name, item in sorted(self.files.items())}}
        temp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=1)
        os.replace(temp, self.path)
