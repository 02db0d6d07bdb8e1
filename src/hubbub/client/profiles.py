"""How an agent presents itself: its label, tags, capabilities, channels, visibility and status,
set by a client each time it starts acting as the agent.

Explicit values win over ``HUBBUB_LABEL``, ``HUBBUB_TAGS``, ``HUBBUB_CAPS`` and
``HUBBUB_CHANNELS``, which win over the table that ``HUBBUB_PROFILE`` names in the profiles
file (``$XDG_CONFIG_HOME/hubbub/profiles.toml``). With none of them set, nothing is read and
nothing is sent: the file is opened only when a profile is named.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from hubbub.core.errors import InvalidInput
from hubbub.paths import default_profiles_file

LISTS = ("tags", "caps", "channels")
WORDS = ("label", "visibility", "status")
# Kept here rather than imported from the models, so a client with no profile loads nothing.
VISIBILITIES = ("visible", "hidden", "ghost")
STATUSES = ("active", "idle", "busy")
PROFILE_ENV = "HUBBUB_PROFILE"


@dataclass(frozen=True, slots=True)
class Profile:
    """Profile fields to apply; ``None`` leaves a field as the hub has it."""

    label: str | None = None
    tags: tuple[str, ...] | None = None
    caps: tuple[str, ...] | None = None
    channels: tuple[str, ...] | None = None
    visibility: str | None = None
    status: str | None = None

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))

    def over(self, other: Profile) -> Profile:
        """This profile, with ``other``'s values where this one has none."""
        return Profile(
            **{
                f.name: getattr(other, f.name)
                if getattr(self, f.name) is None
                else getattr(self, f.name)
                for f in fields(self)
            }
        )

    def changes(self) -> dict[str, Any]:
        """The body of the one ``PATCH /me`` that applies it."""
        body: dict[str, Any] = {}
        if self.label is not None:
            body["label"] = self.label
        if self.tags is not None:
            body["tags"] = list(self.tags)
        if self.caps is not None:
            body["capabilities"] = list(self.caps)
        if self.channels is not None:
            body["channels"] = list(self.channels)
        if self.visibility is not None:
            body["visibility"] = self.visibility
        if self.status is not None:
            body["status"] = self.status
        return body

    def checked(self, where: str) -> Profile:
        """This profile if every value is one the hub takes; else ``bad_profile`` saying
        which value, from ``where``, is wrong."""
        from hubbub.core import names

        try:
            if self.label:
                names.check_label(self.label)
            for value in (*(self.tags or ()), *(self.caps or ())):
                names.check_tag(value)
            for channel in self.channels or ():
                names.check_channel(channel)
        except InvalidInput as error:
            raise InvalidInput(f"{where}: {error.detail}", code="bad_profile") from None
        for name, allowed in (("visibility", VISIBILITIES), ("status", STATUSES)):
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise InvalidInput(
                    f"{where}: bad {name} {value!r}: one of {', '.join(allowed)}",
                    code="bad_profile",
                )
        return self


def _split(text: str) -> tuple[str, ...]:
    """A comma-separated list, blanks dropped and a leading ``#`` off channel names."""
    return tuple(part.strip().removeprefix("#") for part in text.split(",") if part.strip())


def from_env() -> Profile:
    """``HUBBUB_LABEL``, ``HUBBUB_TAGS``, ``HUBBUB_CAPS``, ``HUBBUB_CHANNELS`` (lists
    comma-separated); an empty variable counts as unset."""
    values: dict[str, Any] = {}
    label = os.environ.get("HUBBUB_LABEL", "").strip()
    if label:
        values["label"] = label
    for name in LISTS:
        raw = os.environ.get(f"HUBBUB_{name.upper()}", "")
        if raw.strip():
            values[name] = _split(raw)
    return Profile(**values)


def _field(where: str, name: str, value: Any) -> Any:
    """One profile file value, as the profile holds it."""
    if name in WORDS:
        if not isinstance(value, str):
            raise InvalidInput(f"{where}: {name} must be a string", code="bad_profile")
        return value.strip()
    if isinstance(value, str):
        return _split(value)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(
            f"{where}: {name} must be a list of strings (or one comma-separated string)",
            code="bad_profile",
        )
    return tuple(v.strip().removeprefix("#") for v in value if v.strip())


def read_profile(name: str, path: Path | None = None) -> Profile:
    """The table ``name`` of the profiles file; ``unknown_profile`` naming the file and the
    profiles it holds if there is no such table, ``bad_profile`` for a value it cannot be."""
    import tomllib

    target = path or default_profiles_file()
    try:
        with target.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        data = {}
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise InvalidInput(f"cannot read {target}: {error}", code="bad_profile") from None
    known = sorted(k for k, v in data.items() if isinstance(v, dict))
    table = data.get(name)
    if not isinstance(table, dict):
        held = ", ".join(known) if known else "none"
        raise InvalidInput(
            f"no profile named {name!r} in {target} (profiles there: {held})",
            code="unknown_profile",
        )
    where = f"profile {name!r} in {target}"
    allowed = (*WORDS, *LISTS)
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise InvalidInput(
            f"{where}: unknown field {', '.join(unknown)}; fields are {', '.join(allowed)}",
            code="bad_profile",
        )
    found = Profile(**{key: _field(where, key, value) for key, value in table.items()})
    return found.checked(where)


def resolve_profile(explicit: Profile | str | None = None) -> Profile:
    """The profile to apply: ``explicit`` (a profile, or the name of one in the file) over the
    environment over the file's profile named by ``HUBBUB_PROFILE``, each value checked."""
    named = explicit if isinstance(explicit, str) else os.environ.get(PROFILE_ENV, "").strip()
    given = explicit if isinstance(explicit, Profile) else Profile()
    found = given.checked("the profile given").over(from_env().checked("HUBBUB_* variables"))
    if named:
        found = found.over(read_profile(named))
    return found
