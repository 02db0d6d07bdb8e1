"""Planning, showing and writing setup's changes. A plan is data: every file's old and new
text. Every file is read and checked before anything is written, so a file setup does not
understand (or cannot write) stops the whole run with nothing changed."""

from __future__ import annotations

import contextlib
import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path

from hubbub.core.errors import Forbidden, HubbubError, InvalidInput
from hubbub.setup.entries import Entry, Outcome
from hubbub.setup.formats import Format, JsonFormat, TextFormat, TomlFormat
from hubbub.setup.harness import Context, Harness, Target
from hubbub.setup.record import Record


@dataclass(slots=True)
class Change:
    """One file's planned change (``new`` None: the file goes)."""

    harness: str
    path: Path
    what: str
    old: str | None
    new: str | None
    outcome: Outcome
    entries: list[Entry] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        """Whether anything is written."""
        return self.new != self.old

    def diff(self) -> str:
        """The change as a unified diff."""
        before = (self.old or "").splitlines(keepends=True)
        after = (self.new or "").splitlines(keepends=True)
        lines = difflib.unified_diff(
            before,
            after,
            "/dev/null" if self.old is None else str(self.path),
            "/dev/null" if self.new is None else str(self.path),
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def read(path: Path) -> str | None:
    """A file's text, None if there is none; refuses what cannot be read as UTF-8 text."""
    try:
        return path.read_bytes().decode()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise InvalidInput(f"{path} is a directory", code="setup_unreadable") from None
    except PermissionError:
        raise Forbidden(f"{path} cannot be read", code="setup_read_only") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not UTF-8 text", code="setup_unreadable") from None


def _located(path: Path, error: HubbubError) -> HubbubError:
    """``error`` with the file named first."""
    if str(path) in error.detail:
        return error
    return type(error)(f"{path}: {error.detail}", code=error.code)


def plan_add(harness: Harness, context: Context, record: Record) -> list[Change]:
    """What adding ``harness``'s entries would change."""
    found = []
    for target in harness.targets(context):
        old = read(target.path)
        known = record.get(target.path)
        try:
            edited = target.format.apply(old, target.entries, known.entries if known else [])
        except HubbubError as error:
            raise _located(target.path, error) from None
        found.append(
            Change(
                harness.name,
                target.path,
                target.what,
                old,
                edited.text,
                edited.outcome,
                edited.outcome.changed,
            )
        )
    return found


def _format_of(path: Path) -> Format:
    if path.suffix == ".toml":
        return TomlFormat()
    if path.suffix in (".json", ".jsonc"):
        return JsonFormat()
    return TextFormat(whole=path.name != "CLAUDE.md")


def plan_remove(harness: Harness, context: Context, record: Record) -> list[Change]:
    """What taking out what setup added for ``harness`` in this scope would change: every
    file it recorded (under the scope's directory), and the files it would write today."""
    targets: dict[Path, Target] = {t.path: t for t in harness.targets(context)}
    base = str(context.base)
    paths = list(targets)
    for name, item in record.files.items():
        path = Path(name)
        if item.harness == harness.name and name.startswith(base) and path not in targets:
            paths.append(path)
    found = []
    for path in paths:
        old = read(path)
        if old is None:
            continue
        known = record.get(path)
        entries = known.entries if known else targets[path].entries
        fmt = targets[path].format if path in targets else _format_of(path)
        original = known.original(old) if known else None
        if known is not None and original is not None:
            outcome = Outcome(changed=list(entries))
            new: str | None = None if known.created else original
        else:
            try:
                edited = fmt.take_out(old, entries)
            except HubbubError as error:
                raise _located(path, error) from None
            outcome, new = edited.outcome, edited.text
            if new is None and not (known and known.created):
                new = fmt.empty(old)
        what = targets[path].what if path in targets else "recorded file"
        found.append(Change(harness.name, path, what, old, new, outcome, entries))
    return found


def _locked(path: Path) -> bool:
    """Whether ``path`` may not be written: no write permission for us, or none for anyone
    (a file marked read-only stays so even for root)."""
    return not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222


def _writable(path: Path) -> None:
    """Refuses a change that could not be written."""
    if path.exists():
        if _locked(path):
            raise Forbidden(f"{path} is read-only; nothing was written", code="setup_read_only")
        folder = path.resolve().parent
    else:
        folder = path.parent
        while not folder.exists():
            folder = folder.parent
        if not folder.is_dir():
            raise InvalidInput(f"{folder} is not a directory", code="setup_unreadable")
    if _locked(folder) or not os.access(folder, os.X_OK):
        raise Forbidden(f"{folder} is read-only; nothing was written", code="setup_read_only")


def check(changes: list[Change]) -> None:
    """Refuses the whole plan if any of its files could not be written."""
    for change in changes:
        if change.changes:
            _writable(change.path)


def _atomic_write(path: Path, text: str) -> None:
    """Replace the file (the link's target, if it is a symbolic link) in one step, keeping
    its mode."""
    target = path.resolve() if path.is_symlink() else path
    mode = target.stat().st_mode & 0o7777 if target.exists() else 0o644
    temp = target.with_name(f".{target.name}.hubbub-setup")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode())
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _make_parents(path: Path) -> list[Path]:
    """Create the missing directories above ``path``; the ones made, outermost first."""
    missing = []
    folder = path.parent
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        made.mkdir()
    return list(reversed(missing))


def write(changes: list[Change], record: Record, *, removing: bool) -> None:
    """Carry out the plan and note it in the record."""
    emptied: list[str] = []
    for change in changes:
        if not change.changes:
            if removing:
                record.forget(change.path)
            continue
        if removing:
            known = record.get(change.path)
            if change.new is None:
                change.path.unlink()
            else:
                _atomic_write(change.path, change.new)
            emptied += known.directories if known else []
            record.forget(change.path)
            continue
        assert change.new is not None
        made = _make_parents(change.path)
        _atomic_write(change.path, change.new)
        record.wrote(change.path, change.harness, change.old, change.new, change.entries, made)
    for folder in sorted(set(emptied), key=lambda name: name.count(os.sep), reverse=True):
        with contextlib.suppress(OSError):  # only if nothing else is in it now
            Path(folder).rmdir()
    record.save()
