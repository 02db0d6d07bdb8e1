"""Versioned schema migrations: numbered SQL files per engine, applied in order, once each."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

from hubbub.core.errors import Unavailable

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: its version, name, SQL and a checksum that pins the applied text."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load(package: str) -> list[Migration]:
    """The migrations shipped in ``package``'s ``migrations`` folder, in version order."""
    found: list[Migration] = []
    for entry in resources.files(package).joinpath("migrations").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations in {package} are not numbered 1..n: {versions}")
    return found


def pending(applied: dict[int, str], known: list[Migration]) -> list[Migration]:
    """The migrations still to apply to a database that has ``applied`` (version: checksum).
    Refuses a database newer than this build, or one whose applied migrations were changed."""
    if applied and max(applied) > len(known):
        raise Unavailable(
            f"the database is at schema {max(applied)}, newer than this hub ({len(known)})",
            code="schema_too_new",
        )
    for step in known:
        if step.version in applied and applied[step.version] != step.checksum:
            raise Unavailable(
                f"migration {step.version} ({step.name}) differs from the one applied",
                code="schema_mismatch",
            )
    return [step for step in known if step.version not in applied]


def require_current(applied: dict[int, str], known: list[Migration]) -> None:
    """Refuse a database whose schema is behind this build (``schema_too_old``), as well as
    those :func:`pending` refuses; for a hub told not to migrate."""
    behind = pending(applied, known)
    if not behind:
        return
    at = f"is at schema {max(applied)}" if applied else "has no schema yet"
    raise Unavailable(
        f"the database {at}, behind this hub ({len(known)}): run 'hubbub migrate' first",
        code="schema_too_old",
    )
